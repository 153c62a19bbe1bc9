//! Everything the commands print for people (and the JSON of a failure):
//! one module, so the wording of tusk stays consistent and is changed in
//! one place.

use serde_json::json;

use crate::build::linkcheck::Checked;
use crate::diag::Problems;

pub(super) fn print_build(report: &crate::build::Report) {
    print_warnings(&report.warnings);
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
        println!(
            "{} external link{} checked: {} broken, {} unreachable",
            external.len(),
            plural(external.len()),
            external.iter().filter(|e| e.is_broken()).count(),
            external.iter().filter(|e| e.is_unreachable()).count()
        );
    }
    let failures = external.iter().filter(|e| failed(e)).count();
    println!(
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
    println!("{line}");
}

/// `edge.cache_mb` is in MiB: sizes of the cache are shown the same way.
const MIB: f64 = 1024.0 * 1024.0;

/// "s" for every count but one.
pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(super) fn print_plan(r: &crate::cdn::PlanReport, apply: bool) {
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
            plural(r.changes.len())
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

pub(super) fn print_cdn_status(s: &serde_json::Value) {
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

pub(super) fn print_status(s: &serde_json::Value) {
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
        "Cache:    {} entries, {:.1} of {:.0} MiB",
        c["entries"],
        c["bytes"].as_f64().unwrap_or(0.0) / MIB,
        c["capacity"].as_f64().unwrap_or(0.0) / MIB
    );
}

pub(super) fn print_offload(r: &crate::gameday::offload::Report) {
    println!(
        "Offload from {} file{} ({} records, {} to {}):",
        r.files,
        plural(r.files),
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
            plural(r.malformed as usize)
        );
        for e in &r.malformed_examples {
            println!("  {e}");
        }
    }
}

pub(super) fn print_drill(r: &crate::gameday::drill::Report) {
    use crate::gameday::drill::Status;
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

/// The edge stopped on a signal.
pub(super) fn print_edge_stopped(signal: &str) {
    println!("edge: stopped ({signal})");
}

/// A started edge that restored an operator's pin from an earlier run.
pub(super) fn print_restored_pin(pin: &crate::edge::Switch) {
    println!(
        "      pinned to the bucket since {} by {}: {} (kept from the last run in .tusk/edge-route.json; `tusk failback` unpins)",
        pin.at,
        pin.operator.as_deref().unwrap_or("an operator"),
        pin.reason
    );
}

pub(super) fn print_snapshot(r: &crate::snapshot::Report) {
    println!(
        "Snapshot of {} in {}: {} pages, {} assets, {} feeds, {} objects ({:.1} MB), {} redirects, {} unchanged, {} removed, {} skipped, {} broken links, {} errors; {} requests in {} ms",
        r.origin,
        r.output,
        r.pages,
        r.assets,
        r.feeds,
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
    if let Some(why) = &r.truncated_by {
        println!(
            "  warning: the crawl is incomplete ({why}): {} links not fetched; {} objects of the previous snapshot kept so publishing deletes nothing the crawl did not reach",
            r.dropped, r.kept
        );
    }
    if r.soft_404 {
        println!("  note: the origin answers 200 for unknown paths (a soft 404): no 404 page kept, and broken links look like pages");
    } else if !r.not_found_page {
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
        println!("Rolling back to {id}");
    }
    let bytes = if r.dry_run {
        format!("would upload {:.1} MB", r.bytes_planned as f64 / 1e6)
    } else {
        format!("{:.1} MB uploaded", r.bytes_uploaded as f64 / 1e6)
    };
    println!(
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
            println!("  upload ({:?}) {}", u.reason, u.key);
        }
        for k in &r.headers_changed {
            println!("  headers {k}");
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
    if r.migrated > 0 {
        println!(
            "{} {} tusk record(s) and archived bodies out of the served {} into {} (visitors could read them there)",
            if r.dry_run { "Would move" } else { "Moved" },
            r.migrated,
            r.target,
            r.state
        );
    }
    if let Some(record) = &r.record {
        println!("Record: {record} in {}", r.state);
    }
    if let Some(inv) = invalidation {
        println!(
            "CDN invalidation {} for {} path(s)",
            inv.id,
            inv.paths.len()
        );
    }
}

/// `tusk publish --purge`: what left the archive and the records.
pub(super) fn print_purge(p: &crate::publish::Purged) {
    for key in &p.archive {
        println!("  removed {key}");
    }
    for (record, n) in &p.records {
        println!(
            "  removed {n} entr{} from {record}",
            if *n == 1 { "y" } else { "ies" }
        );
    }
    println!(
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

/// Errors go to stderr as text; with `--json` a JSON object goes to stdout
/// too, so CI can parse the failure.
pub(super) fn report_error(err: &anyhow::Error, json: bool) {
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
                plural(p.0.len())
            );
        }
        None => eprintln!("error: {err:#}"),
    }
}
