//! Command line: argument parsing and dispatch only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::build::{self, BuildOptions};
use crate::config;
use crate::diag::Problems;

#[derive(Parser, Debug)]
#[command(name = "tusk", version, about = "A resilient static-site publisher")]
pub struct Cli {
    /// Project root: the folder holding config/, site/ and themes/.
    #[arg(long, global = true, default_value = ".")]
    pub root: PathBuf,
    /// Configuration overlay: config/<ENV>.toml over config/tusk.toml.
    #[arg(long, global = true, env = "TUSK_ENV")]
    pub env: Option<String>,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build the site into the output folder (default public/) and write its tree manifest.
    Build(BuildArgs),
    /// Build without writing anything and report every problem, broken links included.
    Check(CheckArgs),
    /// List every page, post and collection document with its URL.
    List(BuildArgs),
    /// Build drafts and all, serve on 127.0.0.1:1111, rebuild on every change and reload open tabs.
    Serve(ServeArgs),
    /// Create a post or page with its front matter filled in and print its path.
    #[command(subcommand)]
    New(NewCommand),
    /// Crawl the dynamic origin and save a static, servable copy of it.
    Snapshot(SnapshotArgs),
    /// Mirror the build (and the snapshot, when present) to the publish target.
    Publish(PublishArgs),
    /// Run the caching edge: origin first, the published bucket when it fails.
    Edge(EdgeArgs),
    /// Build, snapshot (if the origin answers), publish to the bucket and run the edge.
    Up(EdgeArgs),
    /// Where traffic goes now, the origin's health and the last switch
    /// (CloudFront when cdn.provider says so, else the running edge).
    Status(OpsArgs),
    /// Send all traffic to the bucket copy and pin it there (the health checks won't undo it).
    Failover(FailoverArgs),
    /// Unpin: traffic goes to the origin again while its health checks pass.
    Failback(FailbackArgs),
    /// Set up CloudFront's failover to the bucket from [cdn]: plan shows, apply writes.
    #[command(subcommand)]
    Cdn(CdnCommand),
    /// Health-check the origin; route CloudFront to the bucket while it is down, back when it recovers.
    Watch(WatchArgs),
    /// Game day: prove the bucket copy would serve the site if the origin died now (exit 1 on any gap).
    Drill(DrillArgs),
    /// Report how much traffic the cache kept from the origin, from CloudFront or edge access logs.
    Offload(OffloadArgs),
}

#[derive(Args, Debug)]
pub struct OffloadArgs {
    /// CloudFront standard log files (gzip or plain), folders of them, or
    /// s3://bucket/prefix; default: the edge's access log (edge.access_log).
    pub sources: Vec<String>,
    /// How many of the most-missed URLs to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DrillArgs {
    /// Request this many random objects through the fallback (default drill.sample; 0: all).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Seed of the random sample (printed by every drill), to repeat one.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Drill the edge at this URL, even when CloudFront is configured.
    #[arg(long, value_name = "URL")]
    pub edge: Option<String>,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum CdnCommand {
    /// Show how the live distribution differs from [cdn]; change nothing.
    Plan(JsonArg),
    /// Write the difference (conditional on the config read, re-planned on conflict).
    Apply(JsonArg),
}

#[derive(Args, Debug)]
pub struct JsonArg {
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Address for the Prometheus /metrics endpoint; "off" for none.
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub metrics: String,
    /// Stop after this many health-check rounds (default: run until stopped).
    #[arg(long, hide = true)]
    pub rounds: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum NewCommand {
    /// A post: site/_posts/YYYY-MM-DD-<slug>.md dated now (never overwrites).
    Post {
        /// The post's title; the file name's slug is made from it.
        title: String,
        /// Create it in site/_drafts/ instead (built with --drafts).
        #[arg(long)]
        draft: bool,
        #[command(flatten)]
        opts: NewOptions,
    },
    /// A page at a path inside site/, e.g. about/team.md (never overwrites).
    Page {
        /// Path inside the content folder; .md is added without an extension.
        path: PathBuf,
        #[command(flatten)]
        opts: NewOptions,
    },
}

#[derive(Args, Debug)]
pub struct NewOptions {
    /// Date for the front matter (and a post's file name): YYYY-MM-DD or
    /// RFC 3339; default now, in site.timezone.
    #[arg(long)]
    pub date: Option<String>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct EdgeArgs {
    /// Address to listen on (overrides edge.listen, default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Origin base URL (overrides edge.origin and snapshot.origin).
    #[arg(long)]
    pub origin: Option<String>,
}

#[derive(Args, Debug)]
pub struct OpsArgs {
    /// The edge's URL (default: the one in .tusk/edge.json, else edge.listen).
    #[arg(long, value_name = "URL")]
    pub edge: Option<String>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FailoverArgs {
    /// Why: recorded with the switch and shown by `tusk status`.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:1111")]
    pub listen: String,
    /// Leave drafts (_drafts/, `draft: true`) out.
    #[arg(long)]
    pub no_drafts: bool,
    /// Leave posts dated in the future out.
    #[arg(long)]
    pub no_future: bool,
}

#[derive(Args, Debug)]
pub struct FailbackArgs {
    /// Also pin the route to the origin group (CloudFront): the watcher
    /// will not fail over until the next `tusk failback`.
    #[arg(long)]
    pub pin: bool,
    /// Why: recorded with the switch.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// Origin base URL (overrides snapshot.origin).
    #[arg(long)]
    pub origin: Option<String>,
    /// Fetch everything again: no conditional requests.
    #[arg(long)]
    pub full: bool,
    /// Requests in flight (overrides snapshot.concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// Print the plan (uploads by reason, deletes, retained) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Upload every object, changed or not.
    #[arg(long)]
    pub force: bool,
    /// Refuse to delete more objects than this (default: publish.max_deletes, 256).
    #[arg(long)]
    pub max_deletes: Option<usize>,
    /// Do not invalidate the CDN after publishing.
    #[arg(long)]
    pub no_invalidate: bool,
    /// Target URL (overrides publish.target): file://<folder> or s3://<bucket>/<prefix>.
    #[arg(long)]
    pub target: Option<String>,
    /// Restore the tree of an earlier publish (its record id, or a unique prefix of it).
    #[arg(long, value_name = "ID", conflicts_with = "history")]
    pub rollback: Option<String>,
    /// List the publish records in the target (oldest first) and exit.
    #[arg(long)]
    pub history: bool,
    /// Machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Include drafts from _drafts/.
    #[arg(long)]
    pub drafts: bool,
    /// Include documents dated in the future.
    #[arg(long)]
    pub future: bool,
    /// Output folder (overrides build.output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Also request every external link (HEAD, then GET); HTTP errors fail the check.
    #[arg(long)]
    pub external: bool,
    /// With --external: unreachable hosts and timeouts fail the check too (default: warnings).
    #[arg(long, requires = "external")]
    pub strict: bool,
    /// With --external: seconds to wait for each link.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// With --external: links requested at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

impl BuildArgs {
    fn options(&self, dry_run: bool) -> BuildOptions {
        BuildOptions {
            drafts: self.drafts,
            future: self.future,
            dry_run,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let json = match &cli.command {
        Command::Build(a) | Command::List(a) => a.json,
        Command::Check(a) => a.build.json,
        Command::Publish(a) => a.json,
        Command::Snapshot(a) => a.json,
        Command::Status(a) => a.json,
        Command::Failover(a) => a.ops.json,
        Command::Failback(a) => a.ops.json,
        Command::Cdn(CdnCommand::Plan(a) | CdnCommand::Apply(a)) => a.json,
        Command::Drill(a) => a.json,
        Command::Offload(a) => a.json,
        Command::Edge(_) | Command::Up(_) | Command::Watch(_) | Command::Serve(_) => false,
        Command::New(NewCommand::Post { opts, .. } | NewCommand::Page { opts, .. }) => opts.json,
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report_error(&err, json);
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cli: &Cli) {
    let level = if cli.quiet {
        "error"
    } else {
        match cli.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TUSK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("tusk={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match cli.log_format {
        LogFormat::Text => builder.without_time().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let env = config::selected_env(cli.env.clone());
    let mut loaded = config::load(&cli.root, env.as_deref())?;
    match &cli.command {
        Command::Build(args) => {
            if let Some(out) = &args.output {
                loaded.config.build.output = out.clone();
            }
            let report = build::build(&loaded, &args.options(false))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if !cli.quiet {
                println!(
                    "Built {} pages, {} posts, {} documents and {} static files ({} objects, {:.1} MB) into {} in {} ms",
                    report.pages,
                    report.posts,
                    report.documents,
                    report.static_files,
                    report.objects,
                    report.bytes as f64 / 1e6,
                    report.output.as_deref().unwrap_or("-"),
                    report.duration_ms
                );
            }
        }
        Command::Check(args) => {
            let report = build::build(&loaded, &args.build.options(true))?;
            let external = if args.external {
                crate::linkcheck::external_blocking(
                    &report.external_links,
                    args.concurrency,
                    std::time::Duration::from_secs(args.timeout),
                )?
            } else {
                Vec::new()
            };
            let failed = |e: &crate::linkcheck::Checked| {
                e.is_broken() || (args.strict && e.is_unreachable())
            };
            let failures = external.iter().filter(|e| failed(e)).count();
            if args.build.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "ok": failures == 0,
                        "report": report,
                        "external": external,
                    }))?
                );
            } else if !cli.quiet {
                let mut n = 0;
                for e in &external {
                    let kind = if failed(e) { "error" } else { "warning" };
                    if e.is_broken() || e.is_unreachable() {
                        n += 1;
                        eprintln!(
                            "  {n}. {kind}: {} -> {}: {}",
                            e.pages.join(", "),
                            e.url,
                            e.result
                        );
                    }
                }
                if args.external {
                    println!(
                        "{} external link{} checked: {} broken, {} unreachable",
                        external.len(),
                        if external.len() == 1 { "" } else { "s" },
                        external.iter().filter(|e| e.is_broken()).count(),
                        external.iter().filter(|e| e.is_unreachable()).count()
                    );
                }
                println!(
                    "{}: {} pages, {} posts, {} documents, {} static files, {} internal links checked in {} ms",
                    if failures == 0 { "No problems" } else { "Problems" },
                    report.pages,
                    report.posts,
                    report.documents,
                    report.static_files,
                    report.links_checked,
                    report.duration_ms
                );
            }
            if failures > 0 {
                return Err(Reported(format!(
                    "{failures} external link{} failed",
                    if failures == 1 { "" } else { "s" }
                ))
                .into());
            }
        }
        Command::Snapshot(args) => {
            if let Some(n) = args.concurrency {
                loaded.config.snapshot.concurrency = n;
            }
            let opts = crate::snapshot::SnapshotOptions {
                origin: args.origin.clone(),
                full: args.full,
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(crate::snapshot::snapshot(&loaded, &opts))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if !cli.quiet {
                print_snapshot(&report);
            }
        }
        Command::Publish(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            if args.history {
                let ids =
                    runtime.block_on(crate::publish::history(&loaded, args.target.as_deref()))?;
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&ids)?);
                } else {
                    for id in ids {
                        println!("{id}");
                    }
                }
                return Ok(());
            }
            let opts = crate::publish::PublishOptions {
                dry_run: args.dry_run,
                force: args.force,
                max_deletes: args.max_deletes,
                target: args.target.clone(),
                no_invalidate: args.no_invalidate,
                rollback: args.rollback.clone(),
                progress_bar: std::io::IsTerminal::is_terminal(&std::io::stderr()),
                quiet: cli.quiet,
            };
            let report = runtime.block_on(crate::publish::publish(&loaded, &opts))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if !cli.quiet {
                print_publish(&report);
            }
        }
        Command::Edge(args) | Command::Up(args) => {
            let opts = crate::edge::EdgeOptions {
                listen: args.listen.clone(),
                origin: args.origin.clone(),
            };
            let runtime = tokio::runtime::Runtime::new()?;
            if matches!(cli.command, Command::Up(_)) {
                runtime.block_on(crate::up::up(&loaded, &opts, cli.quiet))?;
            } else {
                runtime.block_on(crate::edge::run(&loaded, &opts, |state, addr| {
                    println!(
                        "edge: http://{addr}/ (origin {}; fallback {})",
                        state.origin().unwrap_or("none"),
                        state.fallback()
                    );
                }))?;
            }
        }
        Command::Status(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            if on_cdn(&loaded, args) {
                let status = runtime.block_on(crate::cdn::ops::status(&loaded))?;
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&status)?);
                } else {
                    print_cdn_status(&status);
                }
                return Ok(());
            }
            let admin = crate::edge::client::Admin::locate(&loaded, args.edge.as_deref())?;
            let status = runtime.block_on(admin.status())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
        }
        Command::Failover(FailoverArgs { ops, reason })
        | Command::Failback(FailbackArgs { ops, reason, .. }) => {
            let failover = matches!(cli.command, Command::Failover(_));
            let pin = matches!(
                cli.command,
                Command::Failback(FailbackArgs { pin: true, .. })
            );
            let runtime = tokio::runtime::Runtime::new()?;
            let cdn = on_cdn(&loaded, ops);
            let answer = if cdn {
                let reason = reason.clone().unwrap_or_else(|| {
                    if failover {
                        "manual failover"
                    } else {
                        "manual failback"
                    }
                    .to_string()
                });
                runtime.block_on(crate::cdn::ops::switch(&loaded, failover, pin, &reason))?
            } else {
                if pin {
                    anyhow::bail!(
                        "--pin applies to the CDN (cdn.provider = \"cloudfront\"), not the edge"
                    );
                }
                let admin = crate::edge::client::Admin::locate(&loaded, ops.edge.as_deref())?;
                runtime.block_on(admin.switch(failover, reason.as_deref()))?
            };
            if ops.json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else if !cli.quiet {
                let changed = answer["changed"].as_bool().unwrap_or(false);
                let line = match (failover, changed, pin) {
                    (true, true, _) => "Failed over: all traffic goes to the bucket copy (pinned until `tusk failback`)",
                    (true, false, _) => "Already failed over: traffic already pinned to the bucket copy",
                    (false, true, false) => "Failed back: unpinned, traffic follows the origin's health checks",
                    (false, false, false) => "Already failed back: nothing was pinned",
                    (false, true, true) => "Failed back and pinned: traffic goes to the origin (bucket per request on errors); the watcher will not fail over",
                    (false, false, true) => "Already pinned to the origin group",
                };
                println!("{line}");
                if cdn {
                    print_cdn_status(&answer["status"]);
                } else {
                    print_status(&answer["status"]);
                }
            }
        }
        Command::Cdn(what) => {
            let (apply, args) = match what {
                CdnCommand::Plan(a) => (false, a),
                CdnCommand::Apply(a) => (true, a),
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(crate::cdn::ops::plan(&loaded, apply))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if !cli.quiet {
                print_plan(&report, apply);
            }
        }
        Command::Serve(args) => {
            let opts = crate::serve::ServeOptions {
                listen: args.listen.clone(),
                drafts: !args.no_drafts,
                future: !args.no_future,
            };
            tokio::runtime::Runtime::new()?.block_on(crate::serve::run(
                &loaded.root,
                env.as_deref(),
                &opts,
            ))?;
        }
        Command::Watch(args) => {
            let opts = crate::watch::WatchOptions {
                metrics_listen: Some(args.metrics.clone()).filter(|m| m != "off"),
                rounds: args.rounds,
            };
            tokio::runtime::Runtime::new()?.block_on(crate::watch::run(&loaded, &opts))?;
        }
        Command::Offload(args) => {
            let opts = crate::offload::OffloadOptions {
                sources: args.sources.clone(),
                top: args.top,
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(crate::offload::offload(&loaded, &opts))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if !cli.quiet {
                print_offload(&report);
            }
        }
        Command::Drill(args) => {
            let opts = crate::drill::DrillOptions {
                sample: args.sample,
                seed: args.seed,
                edge: args.edge.clone(),
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(crate::drill::drill(&loaded, &opts))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if !cli.quiet {
                print_drill(&report);
            }
            if !report.ok {
                return Err(Reported(format!(
                    "the drill found {} gap{}: the fallback would not serve everything",
                    report.gaps,
                    if report.gaps == 1 { "" } else { "s" }
                ))
                .into());
            }
        }
        Command::New(what) => {
            let (new, opts) = match what {
                NewCommand::Post { title, draft, opts } => (
                    crate::scaffold::New::Post {
                        title,
                        draft: *draft,
                    },
                    opts,
                ),
                NewCommand::Page { path, opts } => (crate::scaffold::New::Page { path }, opts),
            };
            let now = crate::scaffold::date(&loaded, opts.date.as_deref())?;
            let path = crate::scaffold::create(&loaded, new, now)?;
            if opts.json {
                println!("{}", json!({ "path": path }));
            } else {
                println!("{}", path.display());
            }
        }
        Command::List(args) => {
            let docs = build::list(&loaded, &args.options(true))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in docs {
                    println!("{}\t{}", d.source, d.url);
                }
            }
        }
    }
    Ok(())
}

/// Ops commands talk to CloudFront when it is configured, unless `--edge`
/// names an edge.
fn on_cdn(loaded: &config::Loaded, ops: &OpsArgs) -> bool {
    ops.edge.is_none() && loaded.config.cdn.provider == "cloudfront"
}

fn print_plan(r: &crate::cdn::ops::PlanReport, apply: bool) {
    if r.changes.is_empty() {
        println!(
            "Distribution {}: up to date, nothing to change",
            r.distribution
        );
    } else {
        println!(
            "Distribution {}: {} change{}",
            r.distribution,
            r.changes.len(),
            if r.changes.len() == 1 { "" } else { "s" }
        );
        for c in &r.changes {
            match &c.from {
                Some(from) => println!("  ~ {}\n      from {from}\n      to   {}", c.what, c.to),
                None => println!("  + {}: {}", c.what, c.to),
            }
        }
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    if r.applied {
        println!("Applied. CloudFront deploys it in a few minutes; `tusk status` shows when it is Deployed.");
    } else if apply {
        println!("Nothing applied.");
    } else if !r.changes.is_empty() {
        println!("Run `tusk cdn apply` to make these changes.");
    }
}

fn print_cdn_status(s: &serde_json::Value) {
    let route = match s["route"].as_str().unwrap_or("?") {
        "origin-group" => "origin group (origin first, the bucket on errors)",
        "bucket" => "bucket only (failed over; the origin is not asked)",
        "origin" => "origin only (no fallback to the bucket)",
        _ => "not managed by tusk (run `tusk cdn plan`)",
    };
    let pinned = if s["pinned"].as_bool() == Some(true) {
        " (pinned by an operator; `tusk failback` unpins)"
    } else {
        ""
    };
    println!("Route:    {route}{pinned}");
    println!(
        "CDN:      CloudFront {} {} (last modified {})",
        s["distribution"].as_str().unwrap_or("?"),
        s["deployment"]["status"].as_str().unwrap_or("?"),
        s["deployment"]["last_modified"].as_str().unwrap_or("?")
    );
    println!("Origin:   {}", s["origin"].as_str().unwrap_or("?"));
    println!("Fallback: {}", s["fallback"].as_str().unwrap_or("?"));
    let now = &s["health"]["now"];
    match now["error"].as_str() {
        Some(err) => println!("Health:   failing now: {err}"),
        None => println!("Health:   ok now ({} ms)", now["latency_ms"]),
    }
    let w = &s["health"]["watcher"];
    if w.is_object() {
        println!(
            "Watcher:  {} at {}: origin {}, route {}",
            w["actor"].as_str().unwrap_or("?"),
            w["at"].as_str().unwrap_or("?"),
            if w["up"].as_bool() == Some(true) {
                "up"
            } else {
                "down"
            },
            w["route"].as_str().unwrap_or("?")
        );
    } else {
        println!("Watcher:  no report (is `tusk watch` running?)");
    }
    let sw = &s["last_switch"];
    if sw.is_object() {
        println!(
            "Switched: {} -> {} at {} by {}: {}",
            sw["from"].as_str().unwrap_or("?"),
            sw["to"].as_str().unwrap_or("?"),
            sw["at"].as_str().unwrap_or("?"),
            sw["actor"].as_str().unwrap_or("?"),
            sw["reason"].as_str().unwrap_or("")
        );
    }
}

fn print_status(s: &serde_json::Value) {
    let route = s["route"].as_str().unwrap_or("?");
    let pinned = if s["pinned"].as_bool() == Some(true) {
        " (pinned by an operator)"
    } else {
        ""
    };
    println!("Route:    {route}{pinned}");
    println!("Origin:   {}", s["origin"].as_str().unwrap_or("none"));
    println!("Fallback: {}", s["fallback"].as_str().unwrap_or("-"));
    let health = &s["health"];
    match health["up"].as_bool() {
        Some(up) => {
            let check = &health["last_check"];
            let detail = match check["round"]["error"].as_str() {
                Some(err) => format!("last check failed: {err}"),
                None if check.is_null() => "no check yet".to_string(),
                None => format!("last check ok in {} ms", check["round"]["latency_ms"]),
            };
            println!(
                "Health:   {} for {} s; {detail}",
                if up { "up" } else { "down" },
                health["since_secs"]
            );
        }
        None => println!("Health:   not checked (no origin)"),
    }
    let sw = &s["last_switch"];
    if sw.is_object() {
        println!(
            "Switched: to {} at {} by {}: {}",
            sw["to"].as_str().unwrap_or("?"),
            sw["at"].as_str().unwrap_or("?"),
            sw["by"].as_str().unwrap_or("?"),
            sw["reason"].as_str().unwrap_or("")
        );
    }
    let r = &s["requests"];
    println!(
        "Requests: {} ({} hits, {} misses, {} stale, {} from the bucket); offload {:.1}%",
        r["total"],
        r["hits"],
        r["misses"],
        r["stale"],
        r["fallback"],
        s["offload_ratio"].as_f64().unwrap_or(0.0) * 100.0
    );
    let c = &s["cache"];
    println!(
        "Cache:    {} entries, {:.1} of {:.0} MB",
        c["entries"],
        c["bytes"].as_f64().unwrap_or(0.0) / 1e6,
        c["capacity"].as_f64().unwrap_or(0.0) / 1e6
    );
}

fn print_offload(r: &crate::offload::Report) {
    println!(
        "Offload from {} file{} ({} records, {} to {}):",
        r.files,
        if r.files == 1 { "" } else { "s" },
        r.records,
        r.first.as_deref().unwrap_or("?"),
        r.last.as_deref().unwrap_or("?")
    );
    println!(
        "  requests  {:6.2}% not sent to the origin ({} of {} went to it)",
        r.request_offload * 100.0,
        r.origin_requests,
        r.records
    );
    println!(
        "  bytes     {:6.2}% not sent to the origin ({:.1} of {:.1} MB came from it)",
        r.byte_offload * 100.0,
        r.origin_bytes as f64 / 1e6,
        r.bytes as f64 / 1e6
    );
    println!(
        "\n  {:<18} {:>10} {:>7} {:>12}",
        "RESULT TYPE", "REQUESTS", "SHARE", "BYTES"
    );
    for row in &r.by_result {
        println!(
            "  {:<18} {:>10} {:>6.2}% {:>12}",
            row.result_type,
            row.requests,
            row.share * 100.0,
            row.bytes
        );
    }
    if !r.top_missed.is_empty() {
        println!("\nMost-missed URLs:");
        for m in &r.top_missed {
            println!(
                "  {:>7} misses of {:>7} ({:5.1}% hits)  {}\n          {}",
                m.misses,
                m.requests,
                m.hit_ratio * 100.0,
                m.url,
                m.reasons.join("; ")
            );
        }
    }
    if r.malformed > 0 {
        println!(
            "\n{} line{} skipped (not log records):",
            r.malformed,
            if r.malformed == 1 { "" } else { "s" }
        );
        for e in &r.malformed_examples {
            println!("  {e}");
        }
    }
}

fn print_drill(r: &crate::drill::Report) {
    use crate::drill::Status;
    println!("{:<11} {:<7} {:>7}  DETAIL", "CHECK", "RESULT", "CHECKED");
    for c in &r.checks {
        let result = match c.status {
            Status::Ok => "ok",
            Status::Gap => "GAP",
            Status::Skipped => "skipped",
        };
        println!(
            "{:<11} {:<7} {:>7}  {}",
            c.name, result, c.checked, c.detail
        );
    }
    const SHOWN: usize = 20;
    for c in r.checks.iter().filter(|c| !c.gaps.is_empty()) {
        println!("\n{} gaps in {}:", c.gaps.len(), c.name);
        for g in c.gaps.iter().take(SHOWN) {
            println!("  {}: {}", g.item, g.problem);
        }
        if c.gaps.len() > SHOWN {
            println!("  ... and {} more (--json lists all)", c.gaps.len() - SHOWN);
        }
    }
    println!(
        "\n{} in {} ms ({} objects, {} requested; --seed {} repeats this sample)",
        if r.ok {
            "Drill passed: the fallback would serve the site"
        } else {
            "Drill FAILED"
        },
        r.duration_ms,
        r.objects,
        r.sampled,
        r.seed
    );
}

fn print_snapshot(r: &crate::snapshot::Report) {
    println!(
        "Snapshot of {} in {}: {} pages, {} objects ({:.1} MB), {} redirects, {} unchanged, {} removed, {} skipped, {} broken links, {} errors; {} requests in {} ms",
        r.origin,
        r.output,
        r.pages,
        r.objects,
        r.bytes as f64 / 1e6,
        r.redirects,
        r.unchanged,
        r.removed.len(),
        r.skipped_total,
        r.broken.len(),
        r.errors.len(),
        r.requests,
        r.duration_ms
    );
    if !r.not_found_page {
        println!("  note: the origin's 404 page was not captured (no HTML 404 answer)");
    }
    let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &r.skipped {
        *reasons.entry(s.reason.as_str()).or_default() += 1;
    }
    for (reason, n) in reasons {
        println!("  skipped {n}: {reason}");
    }
    for b in &r.broken {
        match &b.linked_from {
            Some(from) => println!("  broken: {} ({}) linked from {from}", b.url, b.status),
            None => println!("  broken: {} ({})", b.url, b.status),
        }
    }
    for e in &r.errors {
        println!("  error: {}: {}", e.url, e.error);
    }
    for k in r.removed.iter().take(20) {
        println!("  removed: {k}");
    }
}

fn print_publish(r: &crate::publish::Report) {
    use crate::publish::Reason;
    let count = |reason: Reason| r.uploads.iter().filter(|u| u.reason == reason).count();
    let verb = if r.dry_run {
        "Would publish"
    } else {
        "Published"
    };
    if let Some(id) = &r.rollback_of {
        println!("Rolling back to {id}");
    }
    println!(
        "{verb} to {}: {} new, {} changed, {} forced, {} unchanged, {} deleted, {} retained ({:.1} MB uploaded) in {} ms",
        r.target,
        count(Reason::New),
        count(Reason::Changed),
        count(Reason::Forced),
        r.unchanged,
        r.deletes.len(),
        r.retained.len(),
        r.bytes_uploaded as f64 / 1e6,
        r.duration_ms
    );
    if r.dry_run {
        for u in &r.uploads {
            println!("  upload ({:?}) {}", u.reason, u.key);
        }
        for d in &r.deletes {
            println!("  delete {d}");
        }
        for k in &r.retained {
            println!("  retain {k}");
        }
    }
    for c in &r.conflicts {
        println!(
            "  conflict: {} from the build replaces {}",
            c.key, c.dropped
        );
    }
    if let Some(record) = &r.record {
        println!("Record: {record}");
    }
    if let Some(inv) = &r.invalidation {
        println!(
            "CDN invalidation {} for {} path(s)",
            inv.id,
            inv.paths.len()
        );
    }
}

/// A failure whose details the command already printed (its JSON too).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Reported(String);

/// Errors go to stderr as text; with `--json` a JSON object goes to stdout
/// too, so CI can parse the failure.
fn report_error(err: &anyhow::Error, json: bool) {
    let problems = err.downcast_ref::<Problems>();
    if json && err.downcast_ref::<Reported>().is_none() {
        let value = match problems {
            Some(p) => json!({"ok": false, "problems": p.0}),
            None => json!({"ok": false, "error": format!("{err:#}")}),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    }
    match problems {
        Some(p) => {
            for (i, d) in p.0.iter().enumerate() {
                eprintln!("error: {}. {d}", i + 1);
            }
            eprintln!(
                "error: {} problem{} found; nothing was written",
                p.0.len(),
                if p.0.len() == 1 { "" } else { "s" }
            );
        }
        None => eprintln!("error: {err:#}"),
    }
}
