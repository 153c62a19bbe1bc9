//! `tusk edge` as a cache in front of a real origin on 127.0.0.1: hits and
//! misses, revalidation with conditional requests, one origin request for
//! many concurrent misses, stale-while-revalidate and stale-if-error, and
//! nothing private ever stored.

mod common;
use std::time::Duration;

use common::edge::{fetch, Edge};
use common::origin::{Origin, Route};
use common::Project;

fn project() -> Project {
    Project::bare(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n",
    )
}

fn origin(latency: Duration) -> Origin {
    Origin::start_with_latency(
        vec![("/healthz", Route::html("ok"))],
        |path| {
            path.starts_with("/gen/").then(|| {
                Route::html(&format!("generated {path}")).header("cache-control", "max-age=60")
            })
        },
        latency,
    )
}

fn origin_hits(origin: &Origin, path: &str) -> Vec<common::origin::Logged> {
    origin
        .log()
        .into_iter()
        .filter(|l| l.path == path)
        .collect()
}

#[test]
fn hit_miss_and_conditional_revalidation() {
    let origin = origin(Duration::ZERO);
    origin.set(
        "/page",
        Route::html("<p>v1</p>")
            .header("cache-control", "max-age=1")
            .header("etag", "\"v1\""),
    );
    let p = project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    let first = edge.get("/page");
    assert_eq!((first.status, first.cache()), (200, "Miss"));
    assert_eq!(first.text(), "<p>v1</p>");
    assert_eq!(first.header("content-type"), "text/html; charset=utf-8");
    let second = edge.get("/page");
    assert_eq!((second.status, second.cache()), (200, "Hit"));
    assert_eq!(second.text(), "<p>v1</p>");
    assert_eq!(
        origin_hits(&origin, "/page").len(),
        1,
        "the hit never reached the origin"
    );

    // The client's own validator: 304 from the cache.
    let conditional = edge.http.get(
        &format!("{}/page", edge.url),
        &[("if-none-match", "\"v1\"")],
    );
    assert_eq!(conditional.status, 304);
    assert!(conditional.body.is_empty());

    // Expired: revalidated with If-None-Match, answered 304, body kept.
    std::thread::sleep(Duration::from_millis(1100));
    let third = edge.get("/page");
    assert_eq!((third.status, third.cache()), (200, "RefreshHit"));
    assert_eq!(third.text(), "<p>v1</p>");
    let hits = origin_hits(&origin, "/page");
    assert_eq!(hits.len(), 2);
    assert!(
        hits[1]
            .headers
            .iter()
            .any(|(k, v)| k == "if-none-match" && v == "\"v1\""),
        "{:?}",
        hits[1].headers
    );
    assert!(!hits[1].headers.iter().any(|(k, _)| k == "cookie"));

    // A changed page after expiry: the new body replaces the old one.
    origin.set(
        "/page",
        Route::html("<p>v2</p>")
            .header("cache-control", "max-age=60")
            .header("etag", "\"v2\""),
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(edge.get("/page").text(), "<p>v2</p>");
    assert_eq!(edge.get("/page").cache(), "Hit");

    // HEAD is answered from the same entry, with the GET's length.
    let head = edge
        .http
        .request("HEAD", &format!("{}/page", edge.url), &[]);
    assert_eq!((head.status, head.cache()), (200, "Hit"));
    assert_eq!(head.header("content-length"), "9");

    let status = edge.status();
    assert_eq!(status["requests"]["hits"], 4, "{status:#}");
    assert!(status["cache"]["entries"].as_u64().unwrap() >= 1);
}

#[test]
fn concurrent_misses_make_one_origin_request() {
    let origin = origin(Duration::from_millis(300));
    let p = project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    origin.clear_log();

    let url = format!("{}/gen/popular", edge.url);
    let answers = edge.http.runtime.block_on(async {
        let requests = (0..50).map(|_| fetch(&edge.http.client, "GET", &url, &[]));
        futures::future::join_all(requests).await
    });
    assert!(answers
        .iter()
        .all(|a| a.status == 200 && a.text() == "generated /gen/popular"));
    assert_eq!(
        origin_hits(&origin, "/gen/popular").len(),
        1,
        "50 misses, one origin request"
    );
    let status = edge.status();
    assert_eq!(status["requests"]["coalesced"], 49, "{status:#}");
}

#[test]
fn stale_while_revalidate_and_stale_if_error() {
    let origin = origin(Duration::ZERO);
    origin.set(
        "/swr",
        Route::html("old").header("cache-control", "max-age=1, stale-while-revalidate=30"),
    );
    origin.set(
        "/sie",
        Route::html("kept").header("cache-control", "max-age=1, stale-if-error=60"),
    );
    let p = project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    assert_eq!(edge.get("/swr").cache(), "Miss");
    assert_eq!(edge.get("/sie").cache(), "Miss");

    origin.set(
        "/swr",
        Route::html("new").header("cache-control", "max-age=60, stale-while-revalidate=30"),
    );
    origin.set(
        "/sie",
        Route::new(503, "text/plain", "down for maintenance"),
    );
    std::thread::sleep(Duration::from_millis(1100));

    // Served stale at once while one background request refreshes it.
    let stale = edge.get("/swr");
    assert_eq!((stale.cache(), stale.text().as_str()), ("Stale", "old"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while edge.get("/swr").text() != "new" {
        assert!(std::time::Instant::now() < deadline, "never revalidated");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(origin_hits(&origin, "/swr").len(), 2);

    // The origin fails: the stale copy, not the 503.
    let kept = edge.get("/sie");
    assert_eq!(
        (kept.status, kept.cache(), kept.text().as_str()),
        (200, "Stale", "kept")
    );
    assert_eq!(edge.status()["requests"]["origin_errors"], 1);
}

#[test]
fn private_responses_and_requests_are_never_cached() {
    let origin = origin(Duration::ZERO);
    origin.set(
        "/cookie",
        Route::html("mine").header("set-cookie", "session=abc"),
    );
    origin.set(
        "/private",
        Route::html("private").header("cache-control", "private, max-age=600"),
    );
    origin.set(
        "/nostore",
        Route::html("x").header("cache-control", "no-store"),
    );
    origin.set(
        "/vary",
        Route::html("x")
            .header("cache-control", "max-age=600")
            .header("vary", "Cookie"),
    );
    origin.set(
        "/public",
        Route::html("public").header("cache-control", "max-age=600"),
    );
    let p = project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    for path in ["/cookie", "/private", "/nostore", "/vary"] {
        assert_eq!(edge.get(path).status, 200);
        let again = edge.get(path);
        assert_eq!(again.cache(), "Miss", "{path} was cached");
        assert_eq!(origin_hits(&origin, path).len(), 2, "{path}");
    }
    assert_eq!(edge.get("/cookie").header("set-cookie"), "session=abc");

    // A request with a cookie or credentials passes to the origin, with
    // them, and neither reads nor fills the cache.
    edge.get("/public");
    let with_cookie = edge
        .http
        .get(&format!("{}/public", edge.url), &[("cookie", "user=1")]);
    assert_eq!(with_cookie.cache(), "Pass");
    let last = origin_hits(&origin, "/public").pop().unwrap();
    assert!(last
        .headers
        .iter()
        .any(|(k, v)| k == "cookie" && v == "user=1"));
    assert_eq!(origin_hits(&origin, "/public").len(), 2);
    assert_eq!(edge.get("/public").cache(), "Hit");

    // Other methods go to the origin too.
    let post = edge
        .http
        .request("POST", &format!("{}/public", edge.url), &[]);
    assert_eq!(post.cache(), "Pass");
}

#[test]
fn memory_bound_evicts() {
    let origin = origin(Duration::ZERO);
    let big = "x".repeat(300 * 1024);
    for i in 0..8 {
        origin.set(
            &format!("/big/{i}"),
            Route::html(&big).header("cache-control", "max-age=600"),
        );
    }
    let p = project();
    p.write(
        "config/tusk.toml",
        &format!("{}[edge]\ncache_mb = 1\n", p.read("config/tusk.toml")),
    );
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    for i in 0..8 {
        assert_eq!(edge.get(&format!("/big/{i}")).status, 200);
    }
    let cache = &edge.status()["cache"];
    assert!(cache["bytes"].as_u64().unwrap() <= 1024 * 1024, "{cache:#}");
    assert!(cache["evictions"].as_u64().unwrap() >= 5, "{cache:#}");
    assert_eq!(edge.get("/big/7").cache(), "Hit", "the newest stays");
    assert_eq!(edge.get("/big/0").cache(), "Miss", "the oldest went");
}
