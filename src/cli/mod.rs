//! Command line: the arguments (clap types) and the dispatch to one
//! function per command in [`commands`]; what they print is in [`report`].

#[macro_use]
mod report;
mod commands;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config;

/// `tusk --version`: the crate's version, the commit and its date (from
/// build.rs; "unknown" when built from a tarball without .git).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TUSK_GIT_COMMIT"),
    " ",
    env!("TUSK_GIT_DATE"),
    ")"
);

/// Heading of the options every command takes, so a command's own
/// options come first in its help.
const GLOBAL: &str = "Global options";

#[derive(Parser, Debug)]
#[command(name = "tusk", version = VERSION, about = "A resilient static-site publisher")]
pub struct Cli {
    /// Project root: the folder holding config/, site/ and themes/.
    #[arg(long, global = true, default_value = ".", help_heading = GLOBAL)]
    pub root: PathBuf,
    /// Configuration overlay: config/<ENV>.toml over config/tusk.toml.
    #[arg(long, global = true, env = "TUSK_ENV", help_heading = GLOBAL)]
    pub env: Option<String>,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    /// Log line format on stderr (json: one object a line, errors included).
    #[arg(long, global = true, value_enum, default_value = "text", help_heading = GLOBAL)]
    pub log_format: LogFormat,
    /// Colour the output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value = "auto", value_name = "WHEN", help_heading = GLOBAL)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--color`: when output is coloured.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Colour on a stream that is (or is not) a terminal: `auto` follows
    /// the terminal and <https://no-color.org> (a non-empty NO_COLOR).
    fn on(self, terminal: bool) -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a project in DIR: config, home, about page, a post, the menu; ready to serve and publish.
    Init(InitArgs),
    /// Build the site into the output folder (default public/) and write its tree manifest.
    Build(BuildArgs),
    /// Build without writing anything and report every problem, broken links included.
    Check(CheckArgs),
    /// List every page, post and collection document with its URL (drafts marked).
    List(ContentArgs),
    /// Serve on 127.0.0.1:1111, rebuild on every change and reload open tabs.
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
    Status(StatusArgs),
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
    /// Print a shell completion script: `tusk completions bash > ~/.local/share/bash-completion/completions/tusk`.
    Completions(CompletionsArgs),
}

impl Command {
    /// The command's name in its JSON envelope (`"command": "cdn plan"`).
    fn name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::Build(_) => "build",
            Command::Check(_) => "check",
            Command::List(_) => "list",
            Command::Serve(_) => "serve",
            Command::New(NewCommand::Post { .. }) => "new post",
            Command::New(NewCommand::Page { .. }) => "new page",
            Command::Snapshot(_) => "snapshot",
            Command::Publish(_) => "publish",
            Command::Edge(_) => "edge",
            Command::Up(_) => "up",
            Command::Status(_) => "status",
            Command::Failover(_) => "failover",
            Command::Failback(_) => "failback",
            Command::Cdn(CdnCommand::Plan(_)) => "cdn plan",
            Command::Cdn(CdnCommand::Apply(_)) => "cdn apply",
            Command::Cdn(CdnCommand::Function) => "cdn function",
            Command::Watch(_) => "watch",
            Command::Drill(_) => "drill",
            Command::Offload(_) => "offload",
            Command::Completions(_) => "completions",
        }
    }

    /// Whether `--json` was given: the output, errors included, is then
    /// one JSON envelope on stdout.
    fn json(&self) -> bool {
        match self {
            Command::Init(a) => a.json,
            Command::Build(a) => a.content.json,
            Command::List(a) => a.json,
            Command::Check(a) => a.content.json,
            Command::Publish(a) => a.json,
            Command::Snapshot(a) => a.json,
            Command::Status(a) => a.ops.json,
            Command::Failover(a) => a.ops.json,
            Command::Failback(a) => a.ops.json,
            Command::Cdn(CdnCommand::Plan(a) | CdnCommand::Apply(a)) => a.json,
            Command::Cdn(CdnCommand::Function) => false,
            Command::Drill(a) => a.json,
            Command::Offload(a) => a.json,
            Command::New(NewCommand::Post { opts, .. } | NewCommand::Page { opts, .. }) => {
                opts.json
            }
            Command::Edge(_)
            | Command::Up(_)
            | Command::Watch(_)
            | Command::Serve(_)
            | Command::Completions(_) => false,
        }
    }
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The project folder (created when missing; default: --root, the current folder).
    pub dir: Option<PathBuf>,
    /// Add the starter files to a folder that is not empty (existing files are kept).
    #[arg(long, conflicts_with = "from_jekyll")]
    pub force: bool,
    /// Turn the Jekyll site in the folder into a tusk project: its sources
    /// (with _config.yml) move into site/, config/tusk.toml reads them as
    /// Jekyll does.
    #[arg(long)]
    pub from_jekyll: bool,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    pub shell: clap_complete::Shell,
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
    /// Print the viewer-request CloudFront Function that answers URLs with a query from their query keys.
    Function,
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
pub struct StatusArgs {
    #[command(flatten)]
    pub ops: OpsArgs,
    /// Show the status again every SECS seconds (default 2) until stopped;
    /// the screen is cleared between updates only on a terminal.
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2")]
    pub watch: Option<u64>,
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
    /// Include drafts (_drafts/, `draft: true`), marked as drafts on the page.
    #[arg(long, short = 'D')]
    pub drafts: bool,
    /// Include posts dated in the future.
    #[arg(long, short = 'F')]
    pub future: bool,
    /// Port to serve on.
    #[arg(long, short, default_value_t = 1111)]
    pub port: u16,
    /// Address to serve on (0.0.0.0 for other devices on the network).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Address and port together (overrides --bind and --port).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Open the site in the browser once it is served ($BROWSER, else the system's opener).
    #[arg(long)]
    pub open: bool,
    /// Base URL the pages are built for (default: the address served on).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
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
    /// Delete even more than publish.max_delete_share (default 0.5) of the
    /// target's objects (an intended mass removal).
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// Do not invalidate the CDN after publishing.
    #[arg(long)]
    pub no_invalidate: bool,
    /// Target URL (overrides publish.target): file://<folder> or s3://<bucket>/<prefix>.
    #[arg(long)]
    pub target: Option<String>,
    /// Restore the tree of an earlier publish (its record id, or a unique prefix of it).
    #[arg(long, value_name = "ID", conflicts_with = "history")]
    pub rollback: Option<String>,
    /// Remove every body KEY had from the rollback archive and KEY from every
    /// publish record (a secret published by mistake), print what went, exit.
    #[arg(long, value_name = "KEY", conflicts_with_all = ["rollback", "history", "purge_md5"])]
    pub purge: Option<String>,
    /// Remove the body with this MD5 from the archive and from every record.
    #[arg(long, value_name = "MD5", conflicts_with_all = ["rollback", "history"])]
    pub purge_md5: Option<String>,
    /// List the publish records in the target (oldest first) and exit.
    #[arg(long)]
    pub history: bool,
    /// Machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What is read: the options of build, check and list.
#[derive(Args, Debug)]
pub struct ContentArgs {
    /// Include drafts (_drafts/, `draft: true`).
    #[arg(long, short = 'D')]
    pub drafts: bool,
    /// Include documents dated in the future.
    #[arg(long, short = 'F')]
    pub future: bool,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    pub content: ContentArgs,
    /// Output folder (overrides build.output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Base URL of the site (overrides site.base_url), e.g. for a preview build.
    #[arg(long, short, value_name = "URL")]
    pub base_url: Option<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub content: ContentArgs,
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

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    report::set_color(
        cli.color
            .on(std::io::IsTerminal::is_terminal(&std::io::stdout())),
    );
    let out = report::Output {
        command: cli.command.name(),
        json: cli.command.json(),
        log_json: cli.log_format == LogFormat::Json,
    };
    match run(cli, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report::report_error(&err, out);
            ExitCode::FAILURE
        }
    }
}

/// An ops command given `--edge URL`.
fn names_an_edge(command: &Command) -> bool {
    let ops = match command {
        Command::Status(a) => &a.ops,
        Command::Failover(a) => &a.ops,
        Command::Failback(a) => &a.ops,
        _ => return false,
    };
    ops.edge.is_some()
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
        .with_ansi(
            cli.color
                .on(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with_target(false);
    let _ = match cli.log_format {
        // Timestamps, so an incident's switch lines can be timed.
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Load the configuration once, then run the command (init and
/// completions need none).
fn run(cli: Cli, out: report::Output) -> anyhow::Result<()> {
    match &cli.command {
        Command::Init(a) => return commands::init(&cli.root, a, out, cli.quiet),
        Command::Completions(a) => return commands::completions(a),
        _ => {}
    }
    let env = config::selected_env(cli.env.clone());
    let loaded = match config::load(&cli.root, env.as_deref()) {
        // `tusk status --edge URL` on a machine without the project: the
        // edge is all it needs (its token from TUSK_EDGE_TOKEN).
        Err(_) if names_an_edge(&cli.command) && !config::present(&cli.root) => {
            config::defaults(&cli.root)
        }
        loaded => loaded?,
    };
    let mut ctx = commands::Ctx {
        loaded,
        env,
        quiet: cli.quiet,
        out,
    };
    let ctx = &mut ctx;
    match &cli.command {
        Command::Build(a) => commands::build(ctx, a),
        Command::Check(a) => commands::check(ctx, a),
        Command::List(a) => commands::list(ctx, a),
        Command::Serve(a) => commands::serve(ctx, a),
        Command::New(a) => commands::new(ctx, a),
        Command::Snapshot(a) => commands::snapshot(ctx, a),
        Command::Publish(a) => commands::publish(ctx, a),
        Command::Edge(a) => commands::edge(ctx, a),
        Command::Up(a) => commands::up(ctx, a),
        Command::Status(a) => commands::status(ctx, a),
        Command::Failover(a) => commands::switch(ctx, &a.ops, true, false, a.reason.as_deref()),
        Command::Failback(a) => commands::switch(ctx, &a.ops, false, a.pin, a.reason.as_deref()),
        Command::Cdn(a) => commands::cdn(ctx, a),
        Command::Watch(a) => commands::watch(ctx, a),
        Command::Drill(a) => commands::drill(ctx, a),
        Command::Offload(a) => commands::offload(ctx, a),
        Command::Init(_) | Command::Completions(_) => unreachable!("run without a config"),
    }
}
