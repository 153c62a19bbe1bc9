//! With the origin down, `tusk edge` caches what the bucket answered (for
//! as long as the object's stored Cache-Control says) and makes one bucket
//! read for many concurrent requests of one URL, as it does for origin
//! misses (issue 25, item 2). On `s3://` the GETs are counted on the wire,
//! by a proxy between the edge and a real S3 server (moto).

mod common;

use common::big;
use common::edge::{fetch, Edge};
use common::faults::{FaultProxy, Plan};
use common::s3::S3Server;
use common::Project;

fn site(p: &Project) {
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write(
        "site/page.md",
        "---\npermalink: /page/\n---\nA page from the bucket\n",
    );
    p.write(
        "site/404.md",
        "---\npermalink: /404.html\n---\nNothing here\n",
    );
}

/// `n` concurrent GETs of `path`: (status, x-cache, body) of each.
fn concurrent(edge: &Edge, path: &str, n: usize) -> Vec<(u16, String, String)> {
    let url = format!("{}{path}", edge.url);
    edge.http
        .runtime
        .block_on(futures::future::join_all((0..n).map(|_| async {
            let a = fetch(&edge.http.client, "GET", &url, &[]).await;
            (a.status, a.cache().to_string(), a.text())
        })))
}

#[test]
fn bucket_answers_on_s3_are_cached_and_concurrent_reads_coalesced() {
    let s3 = S3Server::start();
    s3.aws(&["s3api", "create-bucket", "--bucket", "site-bucket"]);
    let proxy = FaultProxy::start(
        &s3.endpoint,
        Plan {
            methods: vec![],
            every: 0,
            faults: vec![],
        },
    );
    let env: Vec<(&str, String)> = s3
        .env()
        .into_iter()
        .map(|(k, v)| match k {
            "AWS_ENDPOINT_URL" => (k, proxy.endpoint.clone()),
            _ => (k, v),
        })
        .collect();
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket\"\n[publish.s3]\npath_style = true\n\
         [edge]\nmax_object_mb = 1\nbuilt_from_bucket = false\n[health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n",
    );
    site(&p);
    p.run(&["build"]).success();
    p.run_env(&["publish"], &env).success();
    // A 3 MiB object: over max_object_mb, so streamed and never cached.
    let big_file = p.path("big.bin");
    std::fs::write(&big_file, big::pattern(0, 3 << 20)).unwrap();
    s3.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "site-bucket",
        "--key",
        "big.bin",
        "--body",
        big_file.to_str().unwrap(),
    ]);

    // The origin is dead (nothing listens on port 9).
    let edge = Edge::start_env(&p, "edge", &["--origin", "http://127.0.0.1:9"], &env);
    let gets = |key: &str| {
        // The SDK adds `?x-id=GetObject`.
        let line = format!("GET /site-bucket/{key}");
        let query = format!("{line}?");
        proxy
            .requests()
            .iter()
            .filter(|r| **r == line || r.starts_with(&query))
            .count()
    };
    let before = gets("page/index.html");
    let answers = concurrent(&edge, "/page/", 100);
    for (status, how, body) in &answers {
        assert_eq!((*status, how.as_str()), (200, "Fallback"), "{body}");
        assert!(body.contains("A page from the bucket"), "{body}");
    }
    assert_eq!(
        gets("page/index.html") - before,
        1,
        "100 requests, one bucket GET"
    );
    // Cached by its stored Cache-Control: no more GETs.
    for _ in 0..20 {
        assert_eq!(edge.get("/page/").status, 200);
    }
    assert_eq!(gets("page/index.html") - before, 1);
    let status = edge.status();
    assert_eq!(status["requests"]["bucket_reads"], 1, "{status:#}");
    assert!(status["requests"]["bucket_hits"].as_u64().unwrap() >= 20);

    // Misses are answered by the bucket's 404.html, read once too.
    let misses = concurrent(&edge, "/missing/", 20);
    assert!(misses
        .iter()
        .all(|(s, _, b)| *s == 404 && b.contains("Nothing here")));

    // HEAD is a HeadObject, never a GET of the body.
    let before_big = gets("big.bin");
    let head = edge
        .http
        .request("HEAD", &format!("{}/big.bin", edge.url), &[]);
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, "3145728")
    );
    assert_eq!(gets("big.bin"), before_big, "HEAD read no body");
    // Over max_object_mb: streamed, every byte, and a range is a ranged GET.
    let whole = edge.get("/big.bin");
    assert_eq!(whole.body, big::pattern(0, 3 << 20));
    let part = edge.http.get(
        &format!("{}/big.bin", edge.url),
        &[("range", "bytes=2000000-2000009")],
    );
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        "bytes 2000000-2000009/3145728"
    );
    assert_eq!(part.body, big::pattern(2_000_000, 10));
}

#[test]
fn bucket_answers_on_a_local_bucket_are_cached_and_concurrent_reads_coalesced() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    site(&p);
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    // No origin: the bucket answers everything.
    let edge = Edge::start(&p, "edge", &[]);
    let answers = concurrent(&edge, "/page/", 100);
    assert!(answers
        .iter()
        .all(|(s, h, b)| *s == 200 && h == "Fallback" && b.contains("A page from the bucket")));
    for _ in 0..20 {
        edge.get("/page/");
    }
    let requests = &edge.status()["requests"];
    assert_eq!(requests["bucket_reads"], 1, "{requests:#}");
    // Every other request joined that read or was served its cached copy.
    let joined = requests["coalesced"].as_u64().unwrap();
    assert_eq!(requests["bucket_hits"].as_u64().unwrap() + joined, 119);

    // `Cache-Control: no-cache` (what `tusk drill` sends) reads the bucket
    // itself: a republished page is seen at once.
    p.write(
        "site/page.md",
        "---\npermalink: /page/\n---\nRepublished page\n",
    );
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let fresh = edge.http.get(
        &format!("{}/page/", edge.url),
        &[("cache-control", "no-cache")],
    );
    assert!(
        fresh.text().contains("Republished page"),
        "{}",
        fresh.text()
    );
    assert_eq!(edge.status()["requests"]["bucket_reads"], 2);
}
