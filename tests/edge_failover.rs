//! `tusk edge` when the origin fails: per request (connect error, 5xx) the
//! published bucket answers the way S3 website hosting does; health checks
//! switch all traffic to the bucket and back; an operator's failover pins
//! it; `tusk up` serves the site with no origin at all.

mod common;
use std::time::Duration;

use common::edge::Edge;
use common::origin::{Origin, Route};
use common::Project;

/// A built and published site, with a redirect from the snapshot.
/// These tests stand the built pages in for the origin's: the origin is
/// asked first for every path (built pages served from the bucket are
/// tests/built_pages_never_need_the_origin.rs). The last table, so a test
/// may add `[edge]` keys after it.
const ORIGIN_FIRST: &str = "[edge]\nbuilt_from_bucket = false\n";

fn published(health: &str) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[health]\nurls = [\"/healthz\"]\n{health}{ORIGIN_FIRST}"
        ),
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout from the bucket\n",
    );
    p.write(
        "site/404.md",
        "---\npermalink: /404.html\n---\nNothing here\n",
    );
    p.write("site/css/site.css", "body{}");
    let redirect = serde_json::json!({
        "version": 1, "producer": "snapshot", "created": "2026-11-22T00:00:00Z",
        "objects": [{
            "key": "old-page/index.html", "size": 0,
            "md5": "d41d8cd98f00b204e9800998ecf8427e",
            "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "content_type": "text/html; charset=utf-8", "cache_class": "redirect",
            "redirect": "/about/"
        }]
    });
    p.write(".tusk/snapshot/old-page/index.html", "");
    p.write(".tusk/snapshot/.tusk-tree.json", &redirect.to_string());
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    p
}

fn healthy_origin() -> Origin {
    Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")).header("cache-control", "no-store"))
    })
}

#[test]
fn a_dead_origin_is_answered_from_the_bucket_like_s3_website_hosting() {
    let p = published("interval_ms = 60000\n");
    // Nothing listens on port 9 (discard): every connection is refused.
    let edge = Edge::start(&p, "edge", &["--origin", "http://127.0.0.1:9"]);

    let home = edge.get("/");
    assert_eq!((home.status, home.cache()), (200, "Fallback"));
    assert!(home.text().contains("Home page"));
    assert_eq!(home.header("content-type"), "text/html; charset=utf-8");
    assert!(home.header("cache-control").contains("stale-if-error"));
    let css = edge.get("/css/site.css");
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(css.text(), "body{}");

    let dir = edge.get("/about");
    assert_eq!((dir.status, dir.header("location")), (302, "/about/"));
    assert!(edge.get("/about/").text().contains("About from the bucket"));
    let moved = edge.get("/old-page/");
    assert_eq!((moved.status, moved.header("location")), (301, "/about/"));
    let missing = edge.get("/no/such/page");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("Nothing here"), "the 404 document");
    for hidden in [
        "/.tusk/publishes/",
        "/.tusk-meta/index.html.json",
        "/%2e%2e/config/tusk.toml",
    ] {
        assert_eq!(edge.get(hidden).status, 404, "{hidden}");
    }

    // Writes cannot be served from a static copy: a clear 503.
    let post = edge
        .http
        .request("POST", &format!("{}/donate", edge.url), &[]);
    assert_eq!(post.status, 503);
    assert!(post.text().contains("origin is down"));
    assert_eq!(post.header("retry-after"), "30");
}

#[test]
fn origin_5xx_and_timeouts_fall_back_per_request() {
    let p = published("interval_ms = 60000\n");
    p.write(
        "config/tusk.toml",
        &format!("{}origin_timeout_ms = 300\n", p.read("config/tusk.toml")),
    );
    let origin = healthy_origin();
    origin.set("/about/", Route::new(502, "text/plain", "bad gateway"));
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    assert_eq!(edge.get("/elsewhere").text(), "origin /elsewhere");
    let about = edge.get("/about/");
    assert_eq!((about.status, about.cache()), (200, "Fallback"));
    assert!(about.text().contains("About from the bucket"));

    // A slow origin costs the configured timeout, not more.
    let slow = Origin::start_with_latency(
        vec![],
        |_| Some(Route::html("late")),
        Duration::from_secs(5),
    );
    drop(edge);
    let edge = Edge::start(&p, "edge", &["--origin", &slow.url]);
    let started = std::time::Instant::now();
    let home = edge.get("/");
    assert_eq!(home.cache(), "Fallback");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn health_checks_switch_to_the_bucket_and_back() {
    let p = published("interval_ms = 100\nfall = 2\nrise = 2\nmin_hold_secs = 0\n");
    let origin = healthy_origin();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    edge.wait_for(10, "a good health check", |s| {
        s["health"]["last_check"]["round"]["ok"] == true
    });
    assert_eq!(edge.status()["route"], "origin");
    assert_eq!(edge.get("/about/").text(), "origin /about/");

    origin.set("/healthz", Route::new(503, "text/plain", "sick"));
    edge.wait_for(10, "the switch to the bucket", |s| s["route"] == "fallback");
    let status = edge.status();
    assert_eq!(status["pinned"], false);
    assert_eq!(status["last_switch"]["by"], "health");
    assert!(
        status["last_switch"]["reason"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{status:#}"
    );

    // Requests no longer wait on the origin at all.
    origin.clear_log();
    let about = edge.get("/about/");
    assert_eq!(about.cache(), "Fallback");
    assert!(about.text().contains("About from the bucket"));
    assert!(
        origin.log().iter().all(|l| l.path == "/healthz"),
        "{:?}",
        origin.log()
    );

    origin.set("/healthz", Route::html("ok"));
    edge.wait_for(10, "the switch back", |s| s["route"] == "origin");
    assert_eq!(edge.status()["last_switch"]["to"], "origin");
    assert_eq!(edge.get("/about/").text(), "origin /about/");

    let metrics = edge.http.get(
        &format!("{}/_tusk/metrics", edge.url),
        &[("authorization", &format!("Bearer {}", edge.token))],
    );
    assert!(
        metrics.text().contains("tusk_edge_switches_total 2"),
        "{}",
        metrics.text()
    );
    assert!(metrics.text().contains("tusk_edge_origin_up 1"));
}

#[test]
fn manual_failover_pins_until_failback_and_the_admin_api_needs_its_token() {
    let p = published("interval_ms = 100\nfall = 1\nrise = 1\nmin_hold_secs = 0\n");
    let origin = healthy_origin();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    let status_url = format!("{}/_tusk/status", edge.url);
    assert_eq!(edge.http.get(&status_url, &[]).status, 401);
    assert_eq!(
        edge.http
            .get(&status_url, &[("authorization", "Bearer wrong")])
            .status,
        401
    );
    let post = edge
        .http
        .request("POST", &format!("{}/_tusk/failover", edge.url), &[]);
    assert_eq!(post.status, 401);
    assert_eq!(edge.status()["route"], "origin");

    // The ops commands find the edge and its token in .tusk/edge.json.
    let out = p
        .run(&["failover", "--reason", "game day"])
        .success()
        .stdout();
    assert!(out.contains("Failed over"), "{out}");
    let again = p.run(&["failover", "--json"]).success().result();
    assert_eq!(again["changed"], false, "idempotent");
    let status = p.run(&["status", "--json"]).success().result();
    assert_eq!(
        (status["route"].as_str(), status["pinned"].as_bool()),
        (Some("fallback"), Some(true))
    );
    assert_eq!(status["last_switch"]["reason"], "game day");
    assert_eq!(status["last_switch"]["by"], "manual");
    assert_eq!(edge.get("/about/").cache(), "Fallback");

    // Healthy checks keep coming; the operator's decision stands.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(edge.status()["route"], "fallback");

    let out = p.run(&["failback"]).success().stdout();
    assert!(out.contains("Failed back"), "{out}");
    assert!(p
        .run(&["failback"])
        .success()
        .stdout()
        .contains("Already failed back"));
    assert_eq!(edge.status()["route"], "origin");
    assert_eq!(edge.get("/about/").text(), "origin /about/");

    // A wrong token from the environment is refused with a clear error
    // that does not print it.
    let run = p.run_env(
        &["status"],
        &[("TUSK_EDGE_TOKEN", "not-the-token".to_string())],
    );
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("refused the admin token") && !run.stderr().contains("not-the-token")
    );
    drop(edge);
    let run = p.run(&["status"]);
    assert!(
        run.stderr().contains("no edge answering"),
        "{}",
        run.stderr()
    );
}

#[test]
fn tusk_up_builds_publishes_and_serves_without_an_origin() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[snapshot]\norigin = \"http://127.0.0.1:9\"\n[health]\ninterval_ms = 100\nfall = 1\n",
    );
    p.write(
        "site/index.md",
        "---\ntitle: Home\n---\nServed from the bucket\n",
    );
    let edge = Edge::start(&p, "up", &[]);
    assert!(
        edge.banner
            .contains("snapshot: skipped, the origin http://127.0.0.1:9 does not answer"),
        "{}",
        edge.banner
    );
    assert!(edge.banner.contains("publish:"), "{}", edge.banner);
    assert!(
        edge.banner.contains("is down: pages come from the bucket"),
        "{}",
        edge.banner
    );
    assert!(
        p.path(".tusk/bucket/index.html").exists(),
        "the embedded default bucket"
    );
    // Before the switch the built page is the bucket's anyway (`Bucket`).
    edge.wait_for(10, "the health switch", |s| s["route"] == "fallback");
    let home = edge.get("/");
    assert_eq!((home.status, home.cache()), (200, "Fallback"));
    assert!(home.text().contains("Served from the bucket"));
}

#[test]
fn the_edge_under_a_flapping_then_empty_answering_origin() {
    let p = published(
        "interval_ms = 100\nfall = 3\nrise = 2\nmin_hold_secs = 0\nexpect_body = \"ok\"\n",
    );
    let probes = std::sync::atomic::AtomicUsize::new(0);
    let origin = Origin::start(vec![], move |path| {
        if path != "/healthz" {
            return Some(
                Route::html(&format!("origin {path}")).header("cache-control", "no-store"),
            );
        }
        // Every other probe fails: never 3 failures in a row.
        let n = probes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(if n.is_multiple_of(2) {
            Route::new(503, "text/plain", "sick")
        } else {
            Route::html("ok")
        })
    });
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    std::thread::sleep(Duration::from_millis(1500));
    let status = edge.status();
    assert_eq!(status["route"], "origin", "{status:#}");
    assert!(
        status["last_switch"].is_null(),
        "flapping must not switch: {status:#}"
    );
    assert_eq!(edge.get("/about/").text(), "origin /about/");

    // The probe path is switched to empty 200s: the origin counts as down.
    origin.set("/healthz", Route::html(""));
    edge.wait_for(10, "the switch to the bucket", |s| s["route"] == "fallback");
    let status = edge.status();
    assert!(
        status["last_switch"]["reason"]
            .as_str()
            .unwrap()
            .contains("body lacks"),
        "{status:#}"
    );
    assert!(edge.get("/about/").text().contains("About from the bucket"));
}
