//! Everything the commands print for people, and the one JSON envelope of
//! every `--json` output (success or failure): one module, so the wording
//! of tusk stays consistent and is changed in one place.
//!
//! Lines go through [`say!`], which ends the process quietly (exit 0) when
//! stdout is a closed pipe (`tusk list | head -1`), as ripgrep does,
//! instead of panicking like `println!`.

use std::io::Write;

use serde::Serialize;

use crate::build::linkcheck::Checked;
use crate::diag::{Diagnostic, Problems};

/// `println!` for command output; see the module comment.
macro_rules! say {
    () => { $crate::cli::report::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::report::write_line(format_args!($($arg)*)) };
}

/// One line on stdout; a closed pipe ends the process quietly.
pub(crate) fn write_line(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Whether stdout is coloured, decided once from `--color`, NO_COLOR and
/// the terminal (see `ColorChoice::on`).
static COLOR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(super) fn set_color(on: bool) {
    COLOR.store(on, std::sync::atomic::Ordering::Relaxed);
}

fn color() -> bool {
    COLOR.load(std::sync::atomic::Ordering::Relaxed)
}

/// What a coloured word says at a glance.
#[derive(Clone, Copy)]
enum Tone {
    /// Healthy, passed: green.
    Good,
    /// Serving from the bucket, pinned: yellow.
    Warn,
    /// Down, a gap, failed: bold red.
    Bad,
}

/// `text` in the colour of `tone` when colour is on (pad before painting:
/// the escape codes have no width).
fn paint(text: &str, tone: Tone) -> String {
    if !color() {
        return text.to_string();
    }
    let code = match tone {
        Tone::Good => "32",
        Tone::Warn => "33",
        Tone::Bad => "1;31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Clear a terminal between two `status --watch` updates.
pub(super) fn clear_screen() {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"\x1b[2J\x1b[H").and_then(|()| out.flush());
}

/// Between two `status --watch` updates written to a pipe.
pub(super) fn print_watch_separator(every: u64) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    say!("-- {now}, next update in {every} s");
}

/// How long ago an RFC 3339 time was: "just now", "3 min ago", "2 h ago".
fn ago(at: &str) -> String {
    let Ok(then) = chrono::DateTime::parse_from_rfc3339(at) else {
        return at.to_string();
    };
    let secs = (chrono::Utc::now() - then.with_timezone(&chrono::Utc)).num_seconds();
    match secs {
        s if s < 10 => "just now".into(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 48 * 3600 => format!("{} h ago", s / 3600),
        s => format!("{} ago", count((s / 86400) as usize, "day", "days")),
    }
}

/// "1 gap", "2 gaps": `one` for exactly one, else `many`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How a command's output goes out, decided from the command line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Output {
    /// The command's name in the envelope (`"cdn plan"`).
    pub command: &'static str,
    /// `--json`: the envelope on stdout.
    pub json: bool,
    /// `--log-format json`: errors as JSON log lines on stderr.
    pub log_json: bool,
}

/// One problem that made a command fail; the file and position when the
/// problem is in a file (see `docs/json-schema/envelope.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn message(message: impl Into<String>) -> Problem {
        Problem {
            file: None,
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Problem {
        Problem {
            file: Some(d.file.clone()),
            line: d.line,
            column: d.column,
            message: d.message.clone(),
        }
    }
}

/// The `--json` output of every command: `ok` (no problems), the command,
/// its result (null when it failed before having one) and the problems.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    ok: bool,
    command: &'a str,
    result: Option<&'a T>,
    problems: &'a [Problem],
}

/// Print the envelope, pretty, on stdout.
pub(super) fn print_envelope<T: Serialize>(out: Output, result: Option<&T>, problems: &[Problem]) {
    let envelope = Envelope {
        ok: problems.is_empty(),
        command: out.command,
        result,
        problems,
    };
    match serde_json::to_string_pretty(&envelope) {
        Ok(text) => say!("{text}"),
        // Only a Serialize impl returning an error gets here.
        Err(e) => eprintln!("error: cannot write the JSON output: {e}"),
    }
}

/// `tusk init`: what was made and what to do next.
pub(super) fn print_init(made: &crate::content::new::Initialized) {
    let dir = made.dir.display();
    say!(
        "Created a tusk project in {dir}: {} file{}",
        made.created.len(),
        plural(made.created.len())
    );
    for rel in &made.created {
        say!("  {rel}");
    }
    for rel in &made.kept {
        say!("  {rel} (exists, kept)");
    }
    say!("\nNext:");
    if made.dir != std::path::Path::new(".") {
        say!("  cd {dir}");
    }
    say!(
        "  tusk serve                 # preview on http://127.0.0.1:1111/, reloaded on every save"
    );
    say!("  tusk new post \"My first post\"   # a post in site/_posts/, dated today");
    say!("  tusk up                    # build, publish to the local bucket .tusk/bucket, serve on http://127.0.0.1:8080/");
    say!("Before publishing to production, set site.base_url in config/tusk.toml.");
}

/// `tusk init --from-jekyll`: what moved, what stayed, what was written.
pub(super) fn print_converted(done: &crate::content::from_jekyll::Converted) {
    let dir = done.dir.display();
    say!(
        "Made {dir} a tusk project: {} entr{} moved into site/, config/tusk.toml written",
        done.moved.len(),
        if done.moved.len() == 1 { "y" } else { "ies" }
    );
    for name in &done.moved {
        say!("  site/{name}");
    }
    for name in &done.kept {
        say!("  {name} (not read by Jekyll, left in place)");
    }
    say!("\nsite/_config.yml keeps every Jekyll setting; `jekyll build -s site` builds the same site.");
    say!("Next:");
    if done.dir != std::path::Path::new(".") {
        say!("  cd {dir}");
    }
    say!("  tusk serve                 # preview on http://127.0.0.1:1111/");
    say!("  tusk build                 # the site into public/");
}

/// Bytes as they are (a completion script).
pub(super) fn print_raw(bytes: &[u8]) {
    say!("{}", String::from_utf8_lossy(bytes).trim_end());
}

/// `tusk build` without `site.base_url`: the links it writes are local.
pub(super) fn warn_base_url_unset(loaded: &crate::config::Loaded) {
    let (at, home) = base_url_unset(loaded);
    tracing::warn!(
        "site.base_url is not set: canonical links, the sitemap and the feed point at {at}; set it in {home} (or pass --base-url) before publishing"
    );
}

/// `tusk publish` to S3 refuses a build whose links are local.
pub(super) fn base_url_needed(loaded: &crate::config::Loaded, target: &str) -> anyhow::Error {
    let (at, home) = base_url_unset(loaded);
    anyhow::anyhow!(
        "site.base_url is not set, so the build's canonical links, sitemap and feed point at {at}: set it in {home} and build again before publishing to {target}"
    )
}

/// What links point at without a base URL, and where to set one: a
/// Jekyll site's is `url` in its `_config.yml` (where Jekyll's default is
/// empty: links without a host).
fn base_url_unset(loaded: &crate::config::Loaded) -> (String, &'static str) {
    let default = &loaded.config.site.base_url;
    let at = match default.is_empty() {
        true => "paths without a host".to_string(),
        false => default.clone(),
    };
    let home = match loaded.config.jekyll.is_some() {
        true => "_config.yml as `url`",
        false => "config/tusk.toml (or config/<env>.toml with --env)",
    };
    (at, home)
}

/// `tusk list`: source, URL and a draft mark, one document a line.
pub(super) fn print_list(docs: &[crate::build::Listed]) {
    for d in docs {
        let draft = if d.draft { "\tdraft" } else { "" };
        say!("{}\t{}{draft}", d.source, d.url);
    }
}

/// A created file's path (`tusk new`).
pub(super) fn print_path(path: &std::path::Path) {
    say!("{}", path.display());
}

/// `tusk publish --history`: the record ids, oldest first.
pub(super) fn print_history(ids: &[String]) {
    for id in ids {
        say!("{id}");
    }
}

/// `tusk edge` is listening.
pub(super) fn print_edge_started(addr: std::net::SocketAddr, origin: Option<&str>, fallback: &str) {
    say!(
        "edge: http://{addr}/ (origin {}; fallback {fallback})",
        origin.unwrap_or("none")
    );
}

pub(super) fn print_build(report: &crate::build::Report) {
    print_warnings(&report.warnings);
    say!(
        "Built {} pages, {} posts, {} documents and {} static files ({} objects, {}) into {} in {} ms",
        report.pages,
        report.posts,
        report.documents,
        report.static_files,
        report.objects,
        size(report.bytes),
        report.output.as_deref().unwrap_or("-"),
        report.duration_ms
    );
}

/// Warnings of a build, on stderr.
fn print_warnings(warnings: &[crate::diag::Diagnostic]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// `tusk check`: the external links that failed or were unreachable (on
/// stderr), then the totals.
pub(super) fn print_check(
    report: &crate::build::Report,
    external: &[Checked],
    checked_external: bool,
    failed: impl Fn(&Checked) -> bool,
) {
    print_warnings(&report.warnings);
    let mut n = 0;
    for e in external {
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
    if checked_external {
        say!(
            "{} external link{} checked: {} broken, {} unreachable",
            external.len(),
            plural(external.len()),
            external.iter().filter(|e| e.is_broken()).count(),
            external.iter().filter(|e| e.is_unreachable()).count()
        );
    }
    let failures = external.iter().filter(|e| failed(e)).count();
    say!(
        "{}: {} pages, {} posts, {} documents, {} static files, {} internal links checked in {} ms",
        if failures == 0 {
            "No problems"
        } else {
            "Problems"
        },
        report.pages,
        report.posts,
        report.documents,
        report.static_files,
        report.links_checked,
        report.duration_ms
    );
}

/// The first line after `tusk failover` / `tusk failback`.
pub(super) fn print_switch(failover: bool, changed: bool, pin: bool) {
    let line = match (failover, changed, pin) {
        (true, true, _) => "Failed over: all traffic goes to the bucket copy (pinned until `tusk failback`)",
        (true, false, _) => "Already failed over: traffic already pinned to the bucket copy",
        (false, true, false) => "Failed back: unpinned, traffic follows the origin's health checks",
        (false, false, false) => "Already failed back: nothing was pinned",
        (false, true, true) => "Failed back and pinned: traffic goes to the origin (bucket per request on errors); the watcher will not fail over",
        (false, false, true) => "Already pinned to the origin group",
    };
    say!("{line}");
}

/// `edge.cache_mb` is in MiB: sizes of the cache are shown the same way.
const MIB: f64 = 1024.0 * 1024.0;

/// A size in the unit that does not round it away: 1,880 bytes are
/// "1.9 kB", not "0.0 MB".
pub(super) fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} bytes"),
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

/// "s" for every count but one.
pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `tusk cdn function`: the code on stdout (to save as a file), what it
/// is on stderr.
pub(super) fn print_function(code: &str, runtime: &str, keys: usize) {
    print!("{code}");
    eprintln!(
        "viewer-request function ({runtime}, {} bytes) for {keys} query key{}; associate it with the cache behaviours that read the bucket",
        code.len(),
        plural(keys)
    );
}

pub(super) fn print_plan(r: &crate::cdn::PlanReport, apply: bool) {
    if r.changes.is_empty() {
        say!(
            "Distribution {}: up to date, nothing to change",
            r.distribution
        );
    } else {
        say!(
            "Distribution {}: {} change{}",
            r.distribution,
            r.changes.len(),
            plural(r.changes.len())
        );
        for c in &r.changes {
            match &c.from {
                Some(from) => say!("  ~ {}\n      from {from}\n      to   {}", c.what, c.to),
                None => say!("  + {}: {}", c.what, c.to),
            }
        }
    }
    for n in &r.notes {
        say!("  note: {n}");
    }
    if r.applied {
        say!("Applied. CloudFront deploys it in a few minutes; `tusk status` shows when it is Deployed.");
    } else if apply {
        say!("Nothing applied.");
    } else if !r.changes.is_empty() {
        say!("Run `tusk cdn apply` to make these changes.");
    }
}

pub(super) fn print_cdn_status(s: &serde_json::Value) {
    let route = match s["route"].as_str().unwrap_or("?") {
        "origin-group" => paint(
            "origin group (origin first, the bucket on errors)",
            Tone::Good,
        ),
        "bucket" => paint(
            "bucket only (failed over; the origin is not asked)",
            Tone::Warn,
        ),
        "origin" => paint("origin only (no fallback to the bucket)", Tone::Warn),
        _ => "not managed by tusk (run `tusk cdn plan`)".to_string(),
    };
    let pinned = if s["pinned"].as_bool() == Some(true) {
        " (pinned by an operator; `tusk failback` unpins)"
    } else {
        ""
    };
    say!("Route:    {route}{pinned}");
    say!(
        "CDN:      CloudFront {} {} (last modified {})",
        s["distribution"].as_str().unwrap_or("?"),
        s["deployment"]["status"].as_str().unwrap_or("?"),
        s["deployment"]["last_modified"].as_str().unwrap_or("?")
    );
    say!("Origin:   {}", s["origin"].as_str().unwrap_or("?"));
    say!("Fallback: {}", s["fallback"].as_str().unwrap_or("?"));
    let now = &s["health"]["now"];
    match now["error"].as_str() {
        Some(err) => say!("Health:   {}: {err}", paint("failing now", Tone::Bad)),
        None => say!(
            "Health:   {} ({} ms)",
            paint("ok now", Tone::Good),
            now["latency_ms"]
        ),
    }
    let w = &s["health"]["watcher"];
    if w.is_object() {
        say!(
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
        say!("Watcher:  no report (is `tusk watch` running?)");
    }
    let sw = &s["last_switch"];
    if sw.is_object() {
        say!(
            "Switched: {} -> {} at {} by {}: {}",
            sw["from"].as_str().unwrap_or("?"),
            sw["to"].as_str().unwrap_or("?"),
            sw["at"].as_str().unwrap_or("?"),
            sw["actor"].as_str().unwrap_or("?"),
            sw["reason"].as_str().unwrap_or("")
        );
    }
}

pub(super) fn print_status(s: &serde_json::Value) {
    let route = match s["route"].as_str().unwrap_or("?") {
        "origin" => paint("origin", Tone::Good),
        other => paint(other, Tone::Warn),
    };
    let pinned = if s["pinned"].as_bool() == Some(true) {
        " (pinned by an operator; `tusk failback` unpins)"
    } else {
        ""
    };
    say!("Route:    {route}{pinned}");
    say!("Origin:   {}", s["origin"].as_str().unwrap_or("none"));
    say!("Fallback: {}", s["fallback"].as_str().unwrap_or("-"));
    print_health(&s["health"]);
    let sw = &s["last_switch"];
    if sw.is_object() {
        say!(
            "Switched: to {} {} ({}) by {}: {}",
            sw["to"].as_str().unwrap_or("?"),
            ago(sw["at"].as_str().unwrap_or("?")),
            sw["at"].as_str().unwrap_or("?"),
            switched_by(sw),
            sw["reason"].as_str().unwrap_or("")
        );
    }
    print_ages(s);
    let r = &s["requests"];
    let n = |name: &str| r[name].as_u64().unwrap_or(0) as usize;
    say!(
        "Requests: {} ({}, {}, {} stale, {} from the bucket); offload {:.1}%",
        n("total"),
        count(n("hits"), "hit", "hits"),
        count(n("misses"), "miss", "misses"),
        n("stale"),
        n("fallback"),
        s["offload_ratio"].as_f64().unwrap_or(0.0) * 100.0
    );
    let built = |name: &str| s["built"][name].as_u64().unwrap_or(0) as usize;
    if built("folders") + built("keys") > 0 {
        say!(
            "Built:    {} and {} answered from the bucket, never the origin ({})",
            count(built("folders"), "folder", "folders"),
            count(built("keys"), "key", "keys"),
            count(n("bucket_primary"), "answer", "answers")
        );
    }
    if n("drill") > 0 {
        say!(
            "          {} not counted",
            count(n("drill"), "drill request", "drill requests")
        );
    }
    let c = &s["cache"];
    let configured = match s["cache_mb"].as_u64() {
        Some(mb) => format!("{mb} MiB (edge.cache_mb)"),
        None => format!("{:.0} MiB", c["capacity"].as_f64().unwrap_or(0.0) / MIB),
    };
    say!(
        "Cache:    {}, {:.1} MiB of {configured}",
        count(
            c["entries"].as_u64().unwrap_or(0) as usize,
            "entry",
            "entries"
        ),
        c["bytes"].as_f64().unwrap_or(0.0) / MIB,
    );
}

/// The edge's health line: up or down, for how long, the last check.
fn print_health(health: &serde_json::Value) {
    let Some(up) = health["up"].as_bool() else {
        say!("Health:   not checked (no origin)");
        return;
    };
    let check = &health["last_check"];
    let detail = match check["round"]["error"].as_str() {
        Some(err) => format!("last check failed: {err}"),
        None if check.is_null() => "no check yet".to_string(),
        None => format!("last check ok in {} ms", check["round"]["latency_ms"]),
    };
    let state = match up {
        true => paint("up", Tone::Good),
        false => paint("down", Tone::Bad),
    };
    say!(
        "Health:   {state} for {}; {detail}",
        duration(health["since_secs"].as_u64().unwrap_or(0))
    );
}

/// Who made a switch: the operator (user@host), else the health checks.
fn switched_by(sw: &serde_json::Value) -> String {
    match (sw["by"].as_str(), sw["operator"].as_str()) {
        (Some("health"), _) => "the health checks".into(),
        (_, Some(who)) => who.to_string(),
        (Some(by), None) => by.to_string(),
        (None, None) => "?".into(),
    }
}

/// When the bucket copy was last published and the snapshot last taken.
fn print_ages(s: &serde_json::Value) {
    match s["published"]["at"].as_str() {
        Some(at) => say!(
            "Publish:  published {} ({at}, record {})",
            ago(at),
            s["published"]["id"].as_str().unwrap_or("?")
        ),
        None => say!("Publish:  no publish recorded in the fallback's state location"),
    }
    if let Some(at) = s["snapshot"]["at"].as_str() {
        say!("Snapshot: taken {} ({at})", ago(at));
    }
}

/// Seconds as people read them: "42 s", "3 min", "2 h 5 min".
fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

pub(super) fn print_offload(r: &crate::gameday::offload::Report) {
    say!(
        "Offload from {} file{} ({} records, {} to {}):",
        r.files,
        plural(r.files),
        r.records,
        r.first.as_deref().unwrap_or("?"),
        r.last.as_deref().unwrap_or("?")
    );
    say!(
        "  requests  {:6.2}% not sent to the origin ({} of {} went to it)",
        r.request_offload * 100.0,
        r.origin_requests,
        r.records
    );
    if r.drill_records > 0 {
        say!("  ({} tusk drill requests not counted)", r.drill_records);
    }
    say!(
        "  bytes     {:6.2}% not sent to the origin ({} of {} came from it)",
        r.byte_offload * 100.0,
        size(r.origin_bytes),
        size(r.bytes)
    );
    say!(
        "\n  {:<18} {:>10} {:>7} {:>12}",
        "RESULT TYPE",
        "REQUESTS",
        "SHARE",
        "BYTES"
    );
    for row in &r.by_result {
        say!(
            "  {:<18} {:>10} {:>6.2}% {:>12}",
            row.result_type,
            row.requests,
            row.share * 100.0,
            row.bytes
        );
    }
    if !r.top_missed.is_empty() {
        say!("\nMost-missed URLs:");
        for m in &r.top_missed {
            say!(
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
        say!(
            "\n{} line{} skipped (not log records):",
            r.malformed,
            plural(r.malformed as usize)
        );
        for e in &r.malformed_examples {
            say!("  {e}");
        }
    }
}

pub(super) fn print_drill(r: &crate::gameday::drill::Report) {
    use crate::gameday::drill::Status;
    say!("{:<11} {:<7} {:>7}  DETAIL", "CHECK", "RESULT", "CHECKED");
    for c in &r.checks {
        let result = match c.status {
            Status::Ok => paint(&format!("{:<7}", "ok"), Tone::Good),
            Status::Gap => paint(&format!("{:<7}", "GAP"), Tone::Bad),
            Status::Skipped => format!("{:<7}", "skipped"),
        };
        say!("{:<11} {result} {:>7}  {}", c.name, c.checked, c.detail);
    }
    const SHOWN: usize = 20;
    for c in r.checks.iter().filter(|c| !c.gaps.is_empty()) {
        say!("\n{} in {}:", count(c.gaps.len(), "gap", "gaps"), c.name);
        for g in c.gaps.iter().take(SHOWN) {
            say!("  {}: {}", g.item, g.problem);
        }
        if c.gaps.len() > SHOWN {
            say!("  ... and {} more (--json lists all)", c.gaps.len() - SHOWN);
        }
    }
    for c in r.checks.iter().filter(|c| !c.excluded.is_empty()) {
        say!("\n{} excluded in {} (not gaps):", c.excluded.len(), c.name);
        for g in c.excluded.iter().take(SHOWN) {
            say!("  {}: {}", g.item, g.problem);
        }
        if c.excluded.len() > SHOWN {
            say!(
                "  ... and {} more (--json lists all)",
                c.excluded.len() - SHOWN
            );
        }
    }
    say!(
        "\n{} in {} ms ({} objects, {} requested; --seed {} repeats this sample)",
        if r.ok {
            paint(
                "Drill passed: the fallback would serve the site",
                Tone::Good,
            )
        } else {
            paint("Drill FAILED", Tone::Bad)
        },
        r.duration_ms,
        r.objects,
        r.sampled,
        r.seed
    );
}

/// The edge stopped on a signal.
pub(super) fn print_edge_stopped(signal: &str) {
    say!("edge: stopped ({signal})");
}

/// A started edge that restored an operator's pin from an earlier run.
pub(super) fn print_restored_pin(pin: &crate::edge::Switch) {
    say!(
        "      pinned to the bucket since {} by {}: {} (kept from the last run in .tusk/edge-route.json; `tusk failback` unpins)",
        pin.at,
        pin.operator.as_deref().unwrap_or("an operator"),
        pin.reason
    );
}

pub(super) fn print_snapshot(r: &crate::snapshot::Report) {
    say!(
        "Snapshot of {} in {}: {} pages, {} assets, {} feeds, {} objects ({}), {} redirects, {} unchanged, {} removed, {} skipped, {} broken links, {} errors; {} requests in {} ms",
        r.origin,
        r.output,
        r.pages,
        r.assets,
        r.feeds,
        r.objects,
        size(r.bytes),
        r.redirects,
        r.unchanged,
        r.removed.len(),
        r.skipped_total,
        r.broken.len(),
        r.errors.len(),
        r.requests,
        r.duration_ms
    );
    if let Some(why) = &r.truncated_by {
        say!(
            "  warning: the crawl is incomplete ({why}): {} links not fetched; {} objects of the previous snapshot kept so publishing deletes nothing the crawl did not reach",
            r.dropped, r.kept
        );
    }
    if r.soft_404 {
        say!("  note: the origin answers 200 for unknown paths (a soft 404): no 404 page kept, and broken links look like pages");
    } else if !r.not_found_page {
        say!("  note: the origin's 404 page was not captured (no HTML 404 answer)");
    }
    for (reason, n) in &r.skipped_by_reason {
        say!("  skipped {n}: {reason}");
    }
    for b in &r.broken {
        match &b.linked_from {
            Some(from) => say!("  broken: {} ({}) linked from {from}", b.url, b.status),
            None => say!("  broken: {} ({})", b.url, b.status),
        }
    }
    for e in &r.errors {
        say!("  error: {}: {}", e.url, e.error);
    }
    for k in r.removed.iter().take(20) {
        say!("  removed: {k}");
    }
}

pub(super) fn print_publish(
    r: &crate::publish::Report,
    invalidation: Option<&crate::cdn::Invalidated>,
) {
    use crate::publish::Reason;
    let count = |reason: Reason| r.uploads.iter().filter(|u| u.reason == reason).count();
    let verb = if r.dry_run {
        "Would publish"
    } else {
        "Published"
    };
    if let Some(id) = &r.rollback_of {
        say!("Rolling back to {id}");
    }
    let bytes = if r.dry_run {
        format!("would upload {}", size(r.bytes_planned))
    } else {
        format!("{} uploaded", size(r.bytes_uploaded))
    };
    say!(
        "{verb} to {}: {} new, {} changed, {} forced, {} headers changed, {} unchanged, {} deleted, {} retained ({bytes}) in {} ms",
        r.target,
        count(Reason::New),
        count(Reason::Changed),
        count(Reason::Forced),
        r.headers_changed.len(),
        r.unchanged,
        r.deletes.len(),
        r.retained.len(),
        r.duration_ms
    );
    if r.dry_run {
        for u in &r.uploads {
            say!("  upload ({:?}) {}", u.reason, u.key);
        }
        for k in &r.headers_changed {
            say!("  headers {k}");
        }
        for d in &r.deletes {
            say!("  delete {d}");
        }
        for k in &r.retained {
            say!("  retain {k}");
        }
    }
    for c in &r.conflicts {
        say!(
            "  conflict: {} from the {} ({}), {} left out",
            c.key,
            c.owner.name(),
            c.by,
            c.dropped
        );
    }
    if r.migrated > 0 {
        say!(
            "{} {} tusk record(s) and archived bodies out of the served {} into {} (visitors could read them there)",
            if r.dry_run { "Would move" } else { "Moved" },
            r.migrated,
            r.target,
            r.state
        );
    }
    if let Some(record) = &r.record {
        say!("Record: {record} in {}", r.state);
    }
    if let Some(inv) = invalidation {
        say!(
            "CDN invalidation {} for {} path(s)",
            inv.id,
            inv.paths.len()
        );
    }
}

/// `tusk publish --purge`: what left the archive and the records.
pub(super) fn print_purge(p: &crate::publish::Purged) {
    for key in &p.archive {
        say!("  removed {key}");
    }
    for (record, n) in &p.records {
        say!(
            "  removed {n} entr{} from {record}",
            if *n == 1 { "y" } else { "ies" }
        );
    }
    say!(
        "Purged from {}: {} archived bod{}, entries in {} record(s)",
        p.state,
        p.archive.len(),
        if p.archive.len() == 1 { "y" } else { "ies" },
        p.records.len()
    );
}

/// A failure whose details the command already printed (its JSON too).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct Reported(pub String);

/// The problems of a failed command: one per content problem, else its
/// error (with its causes) as one.
fn problems_of(err: &anyhow::Error) -> Vec<Problem> {
    match err.downcast_ref::<Problems>() {
        Some(p) => p.0.iter().map(Problem::from).collect(),
        None => vec![Problem::message(format!("{err:#}"))],
    }
}

/// Errors go to stderr as text (as JSON log lines with `--log-format
/// json`); with `--json` the envelope goes to stdout too, so CI can parse
/// the failure.
pub(super) fn report_error(err: &anyhow::Error, out: Output) {
    let problems = problems_of(err);
    if out.json && err.downcast_ref::<Reported>().is_none() {
        print_envelope::<()>(out, None, &problems);
    }
    if out.log_json {
        for p in &problems {
            tracing::error!(
                command = out.command,
                file = p.file.as_deref(),
                line = p.line,
                column = p.column,
                "{}",
                p.message
            );
        }
        return;
    }
    match err.downcast_ref::<Problems>() {
        Some(p) => {
            for (i, d) in p.0.iter().enumerate() {
                eprintln!("error: {}. {d}", i + 1);
            }
            eprintln!(
                "error: {} problem{} found; nothing was written",
                p.0.len(),
                plural(p.0.len())
            );
        }
        None => eprintln!("error: {err:#}"),
    }
}
