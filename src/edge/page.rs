//! The edge's ops page (`GET /_tusk/` in a browser, behind the admin
//! token): the route, the origin's health over the last hour, the
//! switches, requests and offload per minute as inline SVG charts, the
//! last publish and snapshot, and the last drill. One self-contained HTML
//! document: no script, no external request (its Content-Security-Policy
//! forbids both), refreshed by the browser every 10 s.

use std::fmt::Write;

use serde_json::Value;

use super::history::{Check, Minute, Seen, WINDOW_SECS};

/// Chart size in SVG units (scaled to the page's width).
const W: f64 = 600.0;
const H: f64 = 170.0;
/// Room for the axis labels on the left.
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 24.0;

/// The page for `status` (the admin API's JSON), `seen` and the last drill.
pub fn render(status: &Value, seen: &Seen, drill: Option<&Value>, now: i64) -> String {
    let mut html = String::with_capacity(32 * 1024);
    let route = status["route"].as_str().unwrap_or("?");
    let _ = write!(
        html,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<title>tusk edge: {route}</title>
<link rel="icon" href="data:,">
<style>{STYLE}</style>
</head>
<body>
<header><h1>tusk edge</h1><p class="sub">{} &middot; up {} &middot; page refreshes every 10 s</p></header>
<main>
"#,
        esc(status["origin"].as_str().unwrap_or("no origin")),
        duration(status["uptime_secs"].as_u64().unwrap_or(0)),
    );
    cards(&mut html, status, now);
    html.push_str("<section class=\"charts\">\n");
    requests_chart(&mut html, &seen.minutes, now);
    offload_chart(&mut html, &seen.minutes, now);
    health_chart(&mut html, &seen.checks, now);
    html.push_str("</section>\n");
    switches(&mut html, &seen.switches);
    drill_section(&mut html, drill, now);
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--muted:#5b6570;--line:#d9dde3;--good:#1a7f37;--warn:#9a6700;--bad:#cf222e;--a:#0969da;--b:#bf8700}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#9aa5b1;--line:#30363d;--good:#3fb950;--warn:#d29922;--bad:#f85149;--a:#58a6ff;--b:#d29922}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{padding:1.2rem 1.5rem .4rem}
h1{margin:0;font-size:1.5rem}
h2{font-size:1.05rem;margin:0 0 .6rem}
.sub{margin:.2rem 0 0;color:var(--muted)}
main{padding:0 1.5rem 2rem;max-width:1200px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:.8rem;margin:1rem 0}
.card,.chart,section.box{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.9rem 1rem}
.card .k{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:1.35rem;font-weight:600;margin:.15rem 0}
.card .d{color:var(--muted);font-size:.85rem;overflow-wrap:anywhere}
.good{color:var(--good)}.warn{color:var(--warn)}.bad{color:var(--bad)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:.8rem}
.chart svg{width:100%;height:auto;display:block}
.chart .axis{stroke:var(--line)}.chart text{fill:var(--muted);font-size:17px}
.legend{font-size:.8rem;color:var(--muted);margin:.3rem 0 0}
.sw{display:inline-block;width:.7em;height:.7em;border-radius:2px;margin:0 .25em 0 .6em}
section.box{margin-top:.8rem;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
.empty{color:var(--muted)}
"#;

fn cards(html: &mut String, s: &Value, now: i64) {
    html.push_str("<section class=\"cards\" aria-label=\"Now\">\n");
    let route = s["route"].as_str().unwrap_or("?");
    let (route_text, tone) = match route {
        "origin" => ("origin", "good"),
        _ => ("bucket (fallback)", "warn"),
    };
    let pinned = if s["pinned"].as_bool() == Some(true) {
        "pinned by an operator"
    } else {
        "follows the health checks"
    };
    card(html, "Route", route_text, tone, pinned, "route");
    let health = &s["health"];
    match health["up"].as_bool() {
        Some(up) => {
            let last = &health["last_check"]["round"];
            let detail = match last["error"].as_str() {
                Some(e) => format!("last check failed: {e}"),
                None if last.is_null() => "no check yet".into(),
                None => format!("last check ok in {} ms", last["latency_ms"]),
            };
            let since = duration(health["since_secs"].as_u64().unwrap_or(0));
            let (text, tone) = if up { ("up", "good") } else { ("down", "bad") };
            card(
                html,
                "Origin health",
                &format!("{text} for {since}"),
                tone,
                &detail,
                "health",
            );
        }
        None => card(html, "Origin health", "no origin", "warn", "", "health"),
    }
    let requests = &s["requests"];
    card(
        html,
        "Offload",
        &format!("{:.1}%", s["offload_ratio"].as_f64().unwrap_or(0.0) * 100.0),
        "",
        &format!(
            "{} requests, {} to the origin",
            requests["total"], requests["origin_requests"]
        ),
        "offload",
    );
    let published = match s["published"]["at"].as_str() {
        Some(at) => (
            ago(at, now),
            format!("record {}", s["published"]["id"].as_str().unwrap_or("?")),
        ),
        None => ("never".into(), "no publish record".into()),
    };
    card(
        html,
        "Published",
        &published.0,
        "",
        &published.1,
        "published",
    );
    if let Some(at) = s["snapshot"]["at"].as_str() {
        card(html, "Snapshot", &ago(at, now), "", at, "snapshot");
    }
    let cache = &s["cache"];
    card(
        html,
        "Cache",
        &format!(
            "{:.1} MiB",
            cache["bytes"].as_f64().unwrap_or(0.0) / (1024.0 * 1024.0)
        ),
        "",
        &format!(
            "{} entries of {} MiB (edge.cache_mb)",
            cache["entries"], s["cache_mb"]
        ),
        "cache",
    );
    html.push_str("</section>\n");
}

fn card(html: &mut String, key: &str, value: &str, tone: &str, detail: &str, id: &str) {
    let _ = writeln!(
        html,
        "<div class=\"card\" id=\"card-{id}\"><div class=\"k\">{}</div><div class=\"v {tone}\">{}</div><div class=\"d\">{}</div></div>",
        esc(key),
        esc(value),
        esc(detail)
    );
}

/// X of a time within the window ending `now`.
fn x_of(t: i64, now: i64) -> f64 {
    let from = (now - WINDOW_SECS) as f64;
    LEFT + ((t as f64 - from) / WINDOW_SECS as f64).clamp(0.0, 1.0) * (W - LEFT - 4.0)
}

fn y_of(value: f64, max: f64) -> f64 {
    let plot = H - BOTTOM - 8.0;
    8.0 + plot - (value / max.max(f64::MIN_POSITIVE)).clamp(0.0, 1.0) * plot
}

/// The frame of a chart: axes, the max label, the time labels.
fn frame(svg: &mut String, max_label: &str, zero_label: &str) {
    let base = H - BOTTOM;
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"8\" x2=\"{LEFT}\" y2=\"{base}\"/>\
<line class=\"axis\" x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>\
<text x=\"{}\" y=\"22\" text-anchor=\"end\">{}</text>\
<text x=\"{}\" y=\"{base}\" text-anchor=\"end\">{}</text>\
<text x=\"{LEFT}\" y=\"{}\">-60 min</text>\
<text x=\"{}\" y=\"{}\" text-anchor=\"end\">now</text>",
        W - 4.0,
        LEFT - 4.0,
        esc(max_label),
        LEFT - 4.0,
        esc(zero_label),
        H - 4.0,
        W - 4.0,
        H - 4.0
    );
}

fn chart_open(html: &mut String, id: &str, title: &str, label: &str) {
    let _ = write!(
        html,
        "<figure class=\"chart\" id=\"chart-{id}\" style=\"margin:0\"><h2>{}</h2>\
<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(label)
    );
}

fn requests_chart(html: &mut String, minutes: &[Minute], now: i64) {
    let max = minutes.iter().map(|m| m.requests).max().unwrap_or(0);
    chart_open(
        html,
        "requests",
        "Requests per minute",
        &format!("requests per minute over the last hour, at most {max}"),
    );
    frame(html, &max.to_string(), "0");
    let width = (W - LEFT - 4.0) / 60.0 - 1.0;
    for m in minutes {
        let x = x_of(m.start, now);
        let top = y_of(m.requests as f64, max as f64);
        let split = y_of(m.origin as f64, max as f64);
        let base = H - BOTTOM;
        // Kept from the origin (cache, bucket) above the origin's share.
        let _ = write!(
            html,
            "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{:.1}\" style=\"fill:var(--a)\"><title>{} requests, {} to the origin</title></rect>\
<rect x=\"{x:.1}\" y=\"{split:.1}\" width=\"{width:.1}\" height=\"{:.1}\" style=\"fill:var(--b)\"/>",
            (split - top).max(0.0),
            m.requests,
            m.origin,
            (base - split).max(0.0),
        );
    }
    html.push_str("</svg><p class=\"legend\"><span class=\"sw\" style=\"background:var(--a)\"></span>kept from the origin<span class=\"sw\" style=\"background:var(--b)\"></span>sent to the origin</p></figure>\n");
}

fn offload_chart(html: &mut String, minutes: &[Minute], now: i64) {
    chart_open(
        html,
        "offload",
        "Offload per minute",
        "share of requests kept from the origin, per minute",
    );
    frame(html, "100%", "0%");
    let points: Vec<String> = minutes
        .iter()
        .filter(|m| m.requests > 0)
        .map(|m| {
            let share = 1.0 - m.origin as f64 / m.requests as f64;
            format!("{:.1},{:.1}", x_of(m.start + 30, now), y_of(share, 1.0))
        })
        .collect();
    polyline(html, &points, "var(--good)");
    html.push_str("<p class=\"legend\">requests not sent to the origin (cache hits, stale and bucket answers)</p></figure>\n");
}

fn health_chart(html: &mut String, checks: &[Check], now: i64) {
    let max = checks
        .iter()
        .map(|c| c.latency_ms)
        .max()
        .unwrap_or(0)
        .max(1);
    let failed = checks.iter().filter(|c| !c.ok).count();
    chart_open(
        html,
        "health",
        "Origin health checks",
        &format!(
            "check latency over the last hour, {} checks, {failed} failed",
            checks.len()
        ),
    );
    frame(html, &format!("{max} ms"), "0");
    let points: Vec<String> = checks
        .iter()
        .filter(|c| c.ok)
        .map(|c| {
            format!(
                "{:.1},{:.1}",
                x_of(c.at, now),
                y_of(c.latency_ms as f64, max as f64)
            )
        })
        .collect();
    polyline(html, &points, "var(--a)");
    for c in checks.iter().filter(|c| !c.ok) {
        let x = x_of(c.at, now);
        let _ = write!(
            html,
            "<line x1=\"{x:.1}\" y1=\"8\" x2=\"{x:.1}\" y2=\"{}\" style=\"stroke:var(--bad)\" stroke-width=\"1.5\"/>",
            H - BOTTOM
        );
    }
    let _ = writeln!(
        html,
        "</svg><p class=\"legend\"><span class=\"sw\" style=\"background:var(--a)\"></span>latency of good checks<span class=\"sw\" style=\"background:var(--bad)\"></span>failed checks ({failed} of {})</p></figure>",
        checks.len()
    );
}

fn polyline(html: &mut String, points: &[String], color: &str) {
    if points.len() == 1 {
        let (x, y) = points[0].split_once(',').unwrap_or(("0", "0"));
        let _ = write!(
            html,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" style=\"fill:{color}\"/>"
        );
    } else if !points.is_empty() {
        let _ = write!(
            html,
            "<polyline points=\"{}\" fill=\"none\" style=\"stroke:{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
            points.join(" ")
        );
    }
}

fn switches(html: &mut String, switches: &[super::Switch]) {
    html.push_str("<section class=\"box\" id=\"switches\"><h2>Switches</h2>\n");
    if switches.is_empty() {
        html.push_str("<p class=\"empty\">No switch since the edge started.</p></section>\n");
        return;
    }
    html.push_str(
        "<table><thead><tr><th>When</th><th>To</th><th>By</th><th>Why</th></tr></thead><tbody>\n",
    );
    for s in switches {
        let to = match s.to {
            super::Route::Origin => "origin",
            super::Route::Fallback => "bucket",
        };
        let by = match (s.by.as_str(), &s.operator) {
            ("health", _) => "health checks".to_string(),
            (_, Some(who)) => who.clone(),
            (by, None) => by.to_string(),
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{to}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.at),
            esc(&by),
            esc(&s.reason)
        );
    }
    html.push_str("</tbody></table></section>\n");
}

fn drill_section(html: &mut String, drill: Option<&Value>, now: i64) {
    html.push_str("<section class=\"box\" id=\"drill\"><h2>Last drill</h2>\n");
    let Some(d) = drill else {
        html.push_str("<p class=\"empty\">No drill run in this project yet (<code>tusk drill</code>).</p></section>\n");
        return;
    };
    let at = d["at"].as_str().unwrap_or("?");
    let (verdict, tone) = if d["ok"].as_bool() == Some(true) {
        ("passed: the fallback would serve the site", "good")
    } else {
        ("FAILED", "bad")
    };
    let _ = writeln!(
        html,
        "<p><strong class=\"{tone}\">{verdict}</strong> {} ({}), {}, {} objects, {} requested, seed {}</p>",
        esc(&ago(at, now)),
        esc(at),
        match d["gaps"].as_u64().unwrap_or(0) {
            1 => "1 gap".to_string(),
            n => format!("{n} gaps"),
        },
        d["objects"],
        d["sampled"],
        d["seed"]
    );
    html.push_str("<table><thead><tr><th>Check</th><th>Result</th><th>Checked</th><th>Detail</th></tr></thead><tbody>\n");
    for c in d["checks"].as_array().into_iter().flatten() {
        let status = c["status"].as_str().unwrap_or("?");
        let tone = match status {
            "ok" => "good",
            "gap" => "bad",
            _ => "",
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td class=\"{tone}\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(c["name"].as_str().unwrap_or("?")),
            esc(status),
            c["checked"],
            esc(c["detail"].as_str().unwrap_or(""))
        );
    }
    html.push_str("</tbody></table></section>\n");
}

/// "3 min ago" from an RFC 3339 time.
fn ago(at: &str, now: i64) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => format!("{} ago", duration((now - t.timestamp()).max(0) as u64)),
        Err(_) => at.to_string(),
    }
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} days", s / 86400),
    }
}

/// Text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
