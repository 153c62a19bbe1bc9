//! One function per command: turn the parsed arguments into the options of
//! a stage, run it, and hand its report to [`super::report`] (or print its
//! JSON). Async commands run on the one runtime [`block_on`] makes.

use std::future::Future;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use super::report::{self, plural, Output, Problem, Reported};
use super::*;
use crate::build::{self, BuildOptions};
use crate::config::Loaded;

/// What a command needs besides its own arguments.
pub(super) struct Ctx {
    pub loaded: Loaded,
    pub env: Option<String>,
    pub quiet: bool,
    pub out: Output,
}

impl Ctx {
    /// The `--json` output of a command that succeeded.
    fn print_json<T: Serialize>(&self, result: &T) -> Result<()> {
        report::print_envelope(self.out, Some(result), &[]);
        Ok(())
    }
}

/// The runtime of every async command, made in this one place.
pub(super) fn block_on<F: Future>(f: F) -> Result<F::Output> {
    Ok(tokio::runtime::Runtime::new()?.block_on(f))
}

impl ContentArgs {
    fn options(&self, dry_run: bool) -> BuildOptions {
        BuildOptions {
            drafts: self.drafts,
            future: self.future,
            dry_run,
        }
    }
}

/// `tusk init [DIR]`: the starter project, then the next steps.
pub(super) fn init(root: &Path, args: &InitArgs, out: Output, quiet: bool) -> Result<()> {
    let dir = args.dir.as_deref().unwrap_or(root);
    if args.from_jekyll {
        let done = crate::content::from_jekyll::convert(dir)?;
        if args.json {
            report::print_envelope(out, Some(&done), &[]);
        } else if !quiet {
            report::print_converted(&done);
        }
        return Ok(());
    }
    let today = chrono::Local::now().date_naive();
    let made = crate::content::new::init(dir, args.force, today)?;
    if args.json {
        report::print_envelope(out, Some(&made), &[]);
    } else if !quiet {
        report::print_init(&made);
    }
    Ok(())
}

/// `tusk completions SHELL`: the script on stdout.
pub(super) fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "tusk", &mut script);
    report::print_raw(&script);
    Ok(())
}

pub(super) fn build(ctx: &mut Ctx, args: &BuildArgs) -> Result<()> {
    if let Some(out) = &args.output {
        ctx.loaded.config.build.output = out.clone();
    }
    if let Some(url) = &args.base_url {
        ctx.loaded.set_base_url(url)?;
    }
    if !ctx.loaded.base_url_set {
        report::warn_base_url_unset(&ctx.loaded);
    }
    let report = build::build(&ctx.loaded, &args.content.options(false))?;
    if args.content.json {
        ctx.print_json(&report)?;
    } else if !ctx.quiet {
        report::print_build(&report);
    }
    Ok(())
}

/// `tusk check --json`'s result: the build's numbers and the external links.
#[derive(Serialize)]
struct CheckResult<'a> {
    #[serde(flatten)]
    report: &'a build::Report,
    external: &'a [build::linkcheck::Checked],
}

pub(super) fn check(ctx: &Ctx, args: &CheckArgs) -> Result<()> {
    let report = build::build(&ctx.loaded, &args.content.options(true))?;
    let external = if args.external {
        build::linkcheck::external_blocking(
            &report.external_links,
            args.concurrency,
            Duration::from_secs(args.timeout),
        )?
    } else {
        Vec::new()
    };
    let failed =
        |e: &build::linkcheck::Checked| e.is_broken() || (args.strict && e.is_unreachable());
    let failures = external.iter().filter(|e| failed(e)).count();
    if args.content.json {
        let problems: Vec<Problem> = external
            .iter()
            .filter(|e| failed(e))
            .map(|e| Problem {
                file: e.pages.first().cloned(),
                line: None,
                column: None,
                message: format!("external link {}: {}", e.url, e.result),
            })
            .collect();
        let result = CheckResult {
            report: &report,
            external: &external,
        };
        report::print_envelope(ctx.out, Some(&result), &problems);
    } else if !ctx.quiet {
        report::print_check(&report, &external, args.external, failed);
    }
    if failures > 0 {
        let message = format!("{failures} external link{} failed", plural(failures));
        return Err(Reported(message).into());
    }
    Ok(())
}

pub(super) fn list(ctx: &Ctx, args: &ContentArgs) -> Result<()> {
    let docs = build::list(&ctx.loaded, &args.options(true))?;
    if args.json {
        return ctx.print_json(&docs);
    }
    report::print_list(&docs);
    Ok(())
}

pub(super) fn serve(ctx: &Ctx, args: &ServeArgs) -> Result<()> {
    if let Some(url) = &args.base_url {
        // Checked here, so a bad URL fails before anything is served.
        ctx.loaded.clone().set_base_url(url)?;
    }
    let listen = match &args.listen {
        Some(listen) => listen.clone(),
        None if args.bind.contains(':') => format!("[{}]:{}", args.bind, args.port),
        None => format!("{}:{}", args.bind, args.port),
    };
    let opts = build::serve::ServeOptions {
        listen,
        drafts: args.drafts,
        future: args.future,
        base_url: args.base_url.clone(),
        open: args.open,
    };
    block_on(build::serve::run(
        &ctx.loaded.root,
        ctx.env.as_deref(),
        &opts,
    ))?
}

pub(super) fn new(ctx: &Ctx, what: &NewCommand) -> Result<()> {
    use crate::content::new::{self, New};
    let (kind, opts) = match what {
        NewCommand::Post { title, draft, opts } => (
            New::Post {
                title,
                draft: *draft,
            },
            opts,
        ),
        NewCommand::Page { path, opts } => (New::Page { path }, opts),
    };
    let now = new::date(&ctx.loaded, opts.date.as_deref())?;
    let path = new::create(&ctx.loaded, kind, now)?;
    if opts.json {
        return ctx.print_json(&json!({ "path": path }));
    }
    report::print_path(&path);
    Ok(())
}

pub(super) fn snapshot(ctx: &mut Ctx, args: &SnapshotArgs) -> Result<()> {
    if let Some(n) = args.concurrency {
        ctx.loaded.config.snapshot.concurrency = n;
    }
    let opts = crate::snapshot::SnapshotOptions {
        origin: args.origin.clone(),
        full: args.full,
    };
    let report = block_on(crate::snapshot::snapshot(&ctx.loaded, &opts))??;
    if args.json {
        ctx.print_json(&report)?;
    } else if !ctx.quiet {
        report::print_snapshot(&report);
    }
    Ok(())
}

/// The publish report with the CDN invalidation made after it.
#[derive(Serialize)]
struct Published {
    #[serde(flatten)]
    report: crate::publish::Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    invalidation: Option<crate::cdn::Invalidated>,
}

pub(super) fn publish(ctx: &Ctx, args: &PublishArgs) -> Result<()> {
    if args.history {
        return history(ctx, args);
    }
    if let Some(what) = purge_of(args) {
        return purge(ctx, args, &what);
    }
    let target = args
        .target
        .as_deref()
        .unwrap_or(&ctx.loaded.config.publish.target);
    if target.starts_with("s3://") && !ctx.loaded.base_url_set && args.rollback.is_none() {
        return Err(report::base_url_needed(&ctx.loaded, target));
    }
    let opts = crate::publish::PublishOptions {
        dry_run: args.dry_run,
        force: args.force,
        max_deletes: args.max_deletes,
        allow_mass_delete: args.allow_mass_delete,
        target: args.target.clone(),
        rollback: args.rollback.clone(),
        progress_bar: std::io::stderr().is_terminal(),
        // Progress lines are text: none among JSON log lines.
        quiet: ctx.quiet || ctx.out.log_json,
    };
    let published = block_on(async {
        let report = crate::publish::publish(&ctx.loaded, &opts).await?;
        let invalidation = if args.no_invalidate || report.dry_run {
            None
        } else {
            crate::cdn::invalidate(&ctx.loaded.config.cdn, &report.stale, &report.plan_hash)
                .await
                .context("the publish succeeded but the CDN invalidation failed; re-run `tusk publish` to retry it")?
        };
        anyhow::Ok(Published {
            report,
            invalidation,
        })
    })??;
    if args.json {
        ctx.print_json(&published)?;
    } else if !ctx.quiet {
        report::print_publish(&published.report, published.invalidation.as_ref());
    }
    Ok(())
}

fn purge_of(args: &PublishArgs) -> Option<crate::publish::Purge> {
    use crate::publish::Purge;
    (args.purge.clone().map(Purge::Key)).or(args.purge_md5.clone().map(Purge::Md5))
}

/// `--purge KEY` / `--purge-md5 MD5`: forget a body in the state location.
fn purge(ctx: &Ctx, args: &PublishArgs, what: &crate::publish::Purge) -> Result<()> {
    let purged = block_on(crate::publish::purge(
        &ctx.loaded,
        args.target.as_deref(),
        what,
    ))??;
    if args.json {
        return ctx.print_json(&purged);
    }
    report::print_purge(&purged);
    Ok(())
}

fn history(ctx: &Ctx, args: &PublishArgs) -> Result<()> {
    let ids = block_on(crate::publish::history(&ctx.loaded, args.target.as_deref()))??;
    if args.json {
        return ctx.print_json(&ids);
    }
    report::print_history(&ids);
    Ok(())
}

pub(super) fn edge(ctx: &Ctx, args: &EdgeArgs) -> Result<()> {
    let signal = block_on(crate::edge::run(
        &ctx.loaded,
        &edge_options(args),
        |state, addr| {
            report::print_edge_started(addr, state.origin(), &state.fallback());
            if let Some(pin) = state.pinned() {
                report::print_restored_pin(&pin);
            }
        },
    ))??;
    report::print_edge_stopped(signal);
    Ok(())
}

pub(super) fn up(ctx: &Ctx, args: &EdgeArgs) -> Result<()> {
    block_on(super::up::up(&ctx.loaded, &edge_options(args), ctx.quiet))?
}

fn edge_options(args: &EdgeArgs) -> crate::edge::EdgeOptions {
    crate::edge::EdgeOptions {
        listen: args.listen.clone(),
        origin: args.origin.clone(),
    }
}

/// Ops commands talk to the CDN when one is configured, unless `--edge`
/// names an edge.
fn on_cdn(ctx: &Ctx, ops: &OpsArgs) -> bool {
    ops.edge.is_none() && crate::cdn::manages_routes(&ctx.loaded.config.cdn)
}

pub(super) fn status(ctx: &Ctx, args: &StatusArgs) -> Result<()> {
    let Some(every) = args.watch else {
        return status_once(ctx, &args.ops);
    };
    let terminal = std::io::stdout().is_terminal();
    loop {
        if terminal {
            report::clear_screen();
        }
        status_once(ctx, &args.ops)?;
        if !terminal {
            // Updates in a pipe or a log stay apart, and each says when.
            report::print_watch_separator(every);
        }
        std::thread::sleep(Duration::from_secs(every.max(1)));
    }
}

fn status_once(ctx: &Ctx, args: &OpsArgs) -> Result<()> {
    let cdn = on_cdn(ctx, args);
    let status = if cdn {
        block_on(crate::cdn::status(&ctx.loaded))??
    } else {
        let admin = crate::edge::client::Admin::locate(&ctx.loaded, args.edge.as_deref())?;
        block_on(admin.status())??
    };
    if args.json {
        ctx.print_json(&status)?;
    } else if cdn {
        report::print_cdn_status(&status);
    } else {
        report::print_status(&status);
    }
    Ok(())
}

/// `tusk failover` (`failover`) and `tusk failback`.
pub(super) fn switch(
    ctx: &Ctx,
    ops: &OpsArgs,
    failover: bool,
    pin: bool,
    reason: Option<&str>,
) -> Result<()> {
    let cdn = on_cdn(ctx, ops);
    let answer = if cdn {
        let default = if failover {
            "manual failover"
        } else {
            "manual failback"
        };
        let reason = reason.unwrap_or(default);
        block_on(crate::cdn::switch(&ctx.loaded, failover, pin, reason))??
    } else {
        if pin {
            anyhow::bail!("--pin applies to the CDN (cdn.provider = \"cloudfront\"), not the edge");
        }
        let admin = crate::edge::client::Admin::locate(&ctx.loaded, ops.edge.as_deref())?;
        block_on(admin.switch(failover, reason))??
    };
    if ops.json {
        return ctx.print_json(&answer);
    }
    if !ctx.quiet {
        let changed = answer["changed"].as_bool().unwrap_or(false);
        report::print_switch(failover, changed, pin);
        if cdn {
            report::print_cdn_status(&answer["status"]);
        } else {
            report::print_status(&answer["status"]);
        }
    }
    Ok(())
}

pub(super) fn cdn(ctx: &Ctx, what: &CdnCommand) -> Result<()> {
    let (apply, args) = match what {
        CdnCommand::Plan(a) => (false, a),
        CdnCommand::Apply(a) => (true, a),
        CdnCommand::Function => return cdn_function(ctx),
    };
    let report = block_on(crate::cdn::plan(&ctx.loaded, apply))??;
    if args.json {
        ctx.print_json(&report)?;
    } else if !ctx.quiet {
        report::print_plan(&report, apply);
    }
    Ok(())
}

/// `tusk cdn function`: the published tree's query keys, embedded in the
/// viewer-request function printed on stdout.
fn cdn_function(ctx: &Ctx) -> Result<()> {
    let keys: Vec<String> = crate::publish::expected(&ctx.loaded)?
        .into_iter()
        .map(|e| e.object.key)
        .filter(|k| crate::tree::key::is_query_key(k))
        .collect();
    let (code, runtime) = crate::cdn::viewer_function(&ctx.loaded, &keys)?;
    report::print_function(&code, runtime, keys.len());
    Ok(())
}

pub(super) fn watch(ctx: &Ctx, args: &WatchArgs) -> Result<()> {
    let opts = crate::cdn::WatchOptions {
        metrics_listen: Some(args.metrics.clone()).filter(|m| m != "off"),
        rounds: args.rounds,
    };
    block_on(crate::cdn::watch(&ctx.loaded, &opts))?
}

pub(super) fn drill(ctx: &Ctx, args: &DrillArgs) -> Result<()> {
    let opts = crate::gameday::drill::DrillOptions {
        sample: args.sample,
        seed: args.seed,
        edge: args.edge.clone(),
    };
    let report = block_on(crate::gameday::drill::drill(&ctx.loaded, &opts))??;
    keep_drill(ctx, &report);
    if args.json {
        ctx.print_json(&report)?;
    } else if !ctx.quiet {
        report::print_drill(&report);
    }
    if !report.ok {
        let message = format!(
            "the drill found {} gap{}: the fallback would not serve everything",
            report.gaps,
            plural(report.gaps)
        );
        return Err(Reported(message).into());
    }
    Ok(())
}

/// The drill's result in `.tusk/drill.json`, for the edge's status page:
/// when it ran and each check's outcome (gaps counted, not listed).
fn keep_drill(ctx: &Ctx, report: &crate::gameday::drill::Report) {
    let mut summary = serde_json::to_value(report).unwrap_or_default();
    summary["at"] = json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    if let Some(checks) = summary["checks"].as_array_mut() {
        for check in checks {
            for list in ["gaps", "excluded"] {
                let n = check[list].as_array().map_or(0, Vec::len);
                check[list] = json!(n);
            }
        }
    }
    let path = crate::edge::drill_file(&ctx.loaded);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, summary.to_string()));
    if let Err(e) = written {
        tracing::warn!("drill: cannot keep the result in {}: {e}", path.display());
    }
}

pub(super) fn offload(ctx: &Ctx, args: &OffloadArgs) -> Result<()> {
    let opts = crate::gameday::offload::OffloadOptions {
        sources: args.sources.clone(),
        top: args.top,
    };
    let report = block_on(crate::gameday::offload::offload(&ctx.loaded, &opts))??;
    if args.json {
        ctx.print_json(&report)?;
    } else if !ctx.quiet {
        report::print_offload(&report);
    }
    Ok(())
}
