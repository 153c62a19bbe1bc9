//! The edge's ops page in a real browser (Debian's headless Chromium over
//! the DevTools protocol): behind the admin token (Basic auth, the token
//! as the password; 401 without it), it shows the route, the health
//! history, the switches with who made them, requests and offload per
//! minute as inline SVG charts, and the last drill. The screenshot is
//! checked for layout at desktop and phone sizes; no console message, no
//! failed request, nothing fetched but the page itself.
//!
//! Needs `chromium`; set CHROMIUM to another binary.

mod common;
use base64::Engine;
use common::browser::Browser;
use common::edge::Edge;
use common::origin::{Origin, Route};
use common::Project;
use serde_json::{json, Value};

fn project() -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[health]\nurls = [\"/healthz\"]\ninterval_ms = 200\n",
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    p
}

/// Width, height and the number of distinct colours of a PNG.
fn png_facts(bytes: &[u8]) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> =
        buf[..info.buffer_size()].chunks(channels).collect();
    (info.width, info.height, colours.len())
}

/// Events that mean something went wrong on the page.
fn problems(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| match e["method"].as_str().unwrap_or("") {
            "Runtime.consoleAPICalled" | "Runtime.exceptionThrown" | "Network.loadingFailed" => {
                true
            }
            "Log.entryAdded" => e["params"]["entry"]["level"] != "verbose",
            "Network.responseReceived" => {
                e["params"]["response"]["status"].as_u64().unwrap_or(0) >= 400
            }
            _ => false,
        })
        .map(|e| e.to_string())
        .collect()
}

fn requested(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .map(|e| {
            e["params"]["request"]["url"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn the_status_page_shows_route_health_switches_charts_and_drill_behind_the_token() {
    let p = project();
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")).header("cache-control", "max-age=60"))
    });
    // One gap for the drill: an edit built but not published.
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, edited\n",
    );
    p.run(&["build"]).success();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    edge.wait_for(20, "a health check", |s| {
        !s["health"]["last_check"].is_null()
    });
    for path in ["/", "/", "/about/", "/", "/nope"] {
        edge.get(path);
    }
    let env = [("USER", "alice".to_string())];
    p.run_env(&["failover", "--reason", "page test"], &env)
        .success();
    p.run_env(&["failback"], &env).success();
    assert_eq!(p.run(&["drill"]).code(), Some(1));

    let url = format!("{}/_tusk/status", edge.url);
    let html = [("accept", "text/html")];
    let refused = edge.http.get(&url, &html);
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .starts_with("Basic realm="),
        "{:?}",
        refused.headers
    );
    assert!(!refused.text().contains("Offload"));
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let wrong = format!("Basic {}", b64("ops:not-the-token"));
    let wrong = edge
        .http
        .get(&url, &[("accept", "text/html"), ("authorization", &wrong)]);
    assert_eq!(wrong.status, 401);
    let basic = format!("Basic {}", b64(&format!("ops:{}", edge.token)));
    let page = edge
        .http
        .get(&url, &[("accept", "text/html"), ("authorization", &basic)]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page
        .header("content-security-policy")
        .contains("default-src 'none'"));
    assert!(
        !page.text().contains(&edge.token),
        "the token is never on the page"
    );
    // The JSON API still answers the CLI's bearer token.
    assert_eq!(edge.status()["route"], "origin");

    let mut browser = Browser::start();
    for domain in [
        "Network.enable",
        "Runtime.enable",
        "Log.enable",
        "Page.enable",
    ] {
        browser.call(domain, json!({}));
    }
    browser.call(
        "Network.setExtraHTTPHeaders",
        json!({"headers": {"Authorization": basic}}),
    );
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (name, width, height, mobile) in [("desktop", 1280, 900, false), ("phone", 390, 844, true)]
    {
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        browser.events.clear();
        browser.navigate(&url);
        browser.wait_for(
            20,
            "document.readyState === 'complete' && document.querySelectorAll('figure.chart svg').length === 3",
        );
        let text = |b: &mut Browser, sel: &str| {
            b.eval(&format!(
                "(document.querySelector('{sel}') || {{}}).innerText || ''"
            ))
            .as_str()
            .unwrap_or("")
            .to_string()
        };
        let route = text(&mut browser, "#card-route");
        assert!(route.contains("origin"), "{name}: {route}");
        assert!(
            text(&mut browser, "#card-health").contains("up for"),
            "{name}"
        );
        let switches = text(&mut browser, "#switches");
        assert!(
            switches.contains("alice@") && switches.contains("page test"),
            "{name}: {switches}"
        );
        let drill = text(&mut browser, "#drill");
        assert!(
            drill.contains("FAILED") && drill.contains(", 2 gaps,"),
            "{name}: {drill}"
        );
        assert!(drill.contains("bucket"), "{name}: {drill}");
        let bars = browser.eval("document.querySelectorAll('#chart-requests rect').length");
        assert!(
            bars.as_u64().unwrap_or(0) >= 2,
            "{name}: request bars {bars}"
        );
        let line = browser.eval(
            "document.querySelectorAll('#chart-health polyline, #chart-health circle').length",
        );
        assert!(
            line.as_u64().unwrap_or(0) >= 1,
            "{name}: health line {line}"
        );
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth");
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{name}: {overflow} px of horizontal overflow"
        );
        // Every chart fits the viewport and no two cards overlap.
        let fits = browser.eval(
            "[...document.querySelectorAll('.chart, .card')].every(e => { const r = e.getBoundingClientRect(); return r.width > 100 && r.left >= 0 && r.right <= window.innerWidth; })",
        );
        assert_eq!(
            fits,
            Value::Bool(true),
            "{name}: a chart or card leaves the viewport"
        );

        let png = browser.screenshot();
        std::fs::write(shots.join(format!("status-page-{name}.png")), &png).unwrap();
        let (w, h, colours) = png_facts(&png);
        assert_eq!((w, h), (width, height), "{name}");
        assert!(
            colours > 20,
            "{name}: a blank screenshot ({colours} colours)"
        );

        let bad = problems(&browser.events);
        assert!(bad.is_empty(), "{name}: {bad:#?}");
        let fetched = requested(&browser.events);
        assert!(
            fetched.iter().all(|u| u == &url),
            "{name}: the page fetched more than itself: {fetched:?}"
        );
    }
}
