//! `tusk offload` on CloudFront standard access logs written to the
//! documented format (gzip and plain, a local folder and an S3 prefix on
//! moto) and on the access log a real `tusk edge` writes under traffic.

mod common;

use std::io::Write;

use common::edge::Edge;
use common::origin::{Origin, Route};
use common::s3::S3Server;
use common::Project;
use serde_json::Value;

const HEADER: &str = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n";

/// One record in CloudFront's standard log format (33 tab-separated fields).
fn record(
    second: u32,
    stem: &str,
    query: &str,
    cookie: &str,
    result: &str,
    detailed: &str,
) -> String {
    let (status, bytes) = match result {
        "Hit" => (200, 1000),
        "Miss" => (200, 2000),
        "RefreshHit" => (200, 500),
        "Redirect" => (301, 300),
        _ => (502, 100),
    };
    let time = format!(
        "{:02}:{:02}:{:02}",
        second / 3600,
        second / 60 % 60,
        second % 60
    );
    [
        "2026-11-20",
        &time,
        "IAD89-C1",
        &bytes.to_string(),
        "192.0.2.10",
        "GET",
        "d111111abcdef8.cloudfront.net",
        stem,
        &status.to_string(),
        "-",
        "Mozilla/5.0%20(X11)",
        query,
        cookie,
        result,
        "SOX4xwn4XV6Q4rgb7XiVGOHms",
        "www.example.org",
        "https",
        "140",
        "0.003",
        "-",
        "TLSv1.3",
        "TLS_AES_128_GCM_SHA256",
        result,
        "HTTP/2.0",
        "-",
        "-",
        "11040",
        "0.003",
        detailed,
        "text/html",
        &bytes.to_string(),
        "-",
        "-",
    ]
    .join("\t")
}

/// Two log files: 361 requests over an hour.
fn cloudfront_logs() -> (String, String) {
    let mut a = String::from(HEADER);
    let mut b = String::from(HEADER);
    let mut line = |to_a: bool, r: String| {
        let out = if to_a { &mut a } else { &mut b };
        out.push_str(&r);
        out.push('\n');
    };
    for i in 0..100 {
        // The home page misses every 60 s (a 60 s TTL), hits in between.
        let result = if i % 10 == 0 { "Miss" } else { "Hit" };
        line(true, record(i * 6, "/", "-", "-", result, result));
    }
    for i in 0..20 {
        line(
            true,
            record(i, "/search", &format!("q=term{i}"), "-", "Miss", "Miss"),
        );
    }
    for i in 0..15 {
        line(
            false,
            record(i, "/account", "-", "session=abc", "Miss", "Miss"),
        );
    }
    for i in 0..12 {
        line(false, record(i * 30, "/live", "-", "-", "Miss", "Miss"));
    }
    for i in 0..200 {
        line(
            i % 2 == 0,
            record(i, "/css/site.3f2a1b9c.css", "-", "-", "Hit", "Hit"),
        );
    }
    for i in 0..5 {
        line(false, record(i, "/old", "-", "-", "Redirect", "Redirect"));
    }
    for i in 0..3 {
        line(
            false,
            record(i, "/api", "-", "-", "Error", "OriginCommError"),
        );
    }
    for i in 0..2 {
        line(
            false,
            record(i, "/big", "-", "-", "Error", "ClientHungUpRequest"),
        );
    }
    for i in 0..4 {
        line(
            false,
            record(i * 100, "/about/", "-", "-", "RefreshHit", "RefreshHit"),
        );
    }
    b.push_str("this line is not a log record\n");
    (a, b)
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn assert_cloudfront_report(r: &Value) {
    assert_eq!(r["records"], 361, "{r:#}");
    assert_eq!(r["malformed"], 1);
    assert!(
        r["malformed_examples"][0]
            .as_str()
            .unwrap()
            .contains(":144: too few"),
        "{r:#}"
    );
    assert_eq!(r["origin_requests"], 10 + 20 + 15 + 12 + 3 + 4);
    assert_eq!(r["bytes"], 408_000);
    assert_eq!(r["origin_bytes"], 57 * 2000 + 3 * 100);
    let offload = r["request_offload"].as_f64().unwrap();
    assert!((offload - (1.0 - 64.0 / 361.0)).abs() < 1e-9, "{offload}");
    let bytes = r["byte_offload"].as_f64().unwrap();
    assert!(
        (bytes - (1.0 - 114_300.0 / 408_000.0)).abs() < 1e-9,
        "{bytes}"
    );
    let rows: Vec<(String, u64)> = r["by_result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["result_type"].as_str().unwrap().to_string(),
                row["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Hit", 290),
            ("Miss", 57),
            ("Error", 5),
            ("Redirect", 5),
            ("RefreshHit", 4)
        ]
        .map(|(t, n)| (t.to_string(), n))
    );
    let top: Vec<(&str, u64, &str)> = r["top_missed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["url"].as_str().unwrap(),
                m["misses"].as_u64().unwrap(),
                m["reasons"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(top.len(), 5, "{top:#?}");
    assert_eq!(
        top[0],
        (
            "/search",
            20,
            "query-string variety: 20 distinct query strings"
        )
    );
    assert_eq!(
        top[1],
        ("/account", 15, "cookies: 15 of 15 misses carried a cookie")
    );
    assert_eq!((top[2].0, top[2].1), ("/live", 12));
    assert!(
        top[2].2.starts_with("never served from the cache"),
        "{top:#?}"
    );
    assert_eq!(
        top[3],
        ("/", 10, "short TTL: cached, but missed again every ~60 s")
    );
    assert_eq!((top[4].0, top[4].1), ("/api", 3));
}

#[test]
fn cloudfront_logs_from_a_folder_and_an_s3_prefix() {
    let p = Project::bare("[site]\ntitle = \"T\"\n[publish]\ntarget = \"s3://logs\"\n[publish.s3]\npath_style = true\n");
    let (a, b) = cloudfront_logs();
    let name_a = "cf-logs/E2TUSK.2026-11-20-00.a1b2c3d4.gz";
    let name_b = "cf-logs/E2TUSK.2026-11-20-00.e5f6a7b8";
    p.write_bytes(name_a, &gzip(&a));
    p.write(name_b, &b);

    let folder = p.path("cf-logs");
    let run = p
        .run(&["offload", "--json", folder.to_str().unwrap()])
        .success();
    let report = run.result();
    assert_eq!(report["files"], 2);
    assert_cloudfront_report(&report);

    let text = p
        .run(&["offload", "--top", "3", folder.to_str().unwrap()])
        .success()
        .stdout();
    assert!(text.contains("82.27% not sent to the origin"), "{text}");
    // Sizes in a unit that does not round them away ("0.1 of 0.4 MB").
    assert!(
        text.contains("(114.3 kB of 408.0 kB came from it)"),
        "{text}"
    );
    assert!(text.contains("/search") && !text.contains("/api"), "{text}");
    assert!(text.contains("1 line skipped"), "{text}");

    // The same files under an S3 prefix, as CloudFront delivers them.
    let s3 = S3Server::start();
    s3.aws(&["s3api", "create-bucket", "--bucket", "logs"]);
    for name in [name_a, name_b] {
        let key = name.replace("cf-logs/", "cloudfront/");
        let file = p.path(name);
        s3.aws(&[
            "s3api",
            "put-object",
            "--bucket",
            "logs",
            "--key",
            &key,
            "--body",
            file.to_str().unwrap(),
        ]);
    }
    let run = p
        .run_env(&["offload", "--json", "s3://logs/cloudfront/"], &s3.env())
        .success();
    let report = run.result();
    assert_eq!(report["files"], 2);
    assert_cloudfront_report(&report);

    // Bad input: a clear error naming the file, exit 1.
    p.write("junk.log", "not\ta\tlog\n");
    let run = p.run(&["offload", p.path("junk.log").to_str().unwrap()]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr()
            .contains("junk.log:1: too few tab-separated fields"),
        "{}",
        run.stderr()
    );
    p.write_bytes("broken.gz", &gzip(&a)[..40]);
    let run = p.run(&["offload", p.path("broken.gz").to_str().unwrap()]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("broken.gz: not a valid gzip file"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_edge_access_log_explains_its_misses() {
    let origin = Origin::start(
        vec![
            (
                "/private",
                Route::html("yours").header("cache-control", "private"),
            ),
            (
                "/account",
                Route::html("account").header("cache-control", "max-age=600"),
            ),
        ],
        |_| Some(Route::html("page").header("cache-control", "max-age=600")),
    );
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[health]\ninterval_ms = 60000\n\
         [snapshot]\norigin = \"{}\"\n",
        origin.url
    ));
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    for _ in 0..10 {
        edge.get("/");
    }
    for _ in 0..5 {
        edge.get("/private");
    }
    for i in 0..6 {
        edge.get(&format!("/search?q={i}"));
    }
    for _ in 0..4 {
        let url = format!("{}/account", edge.url);
        edge.http.get(&url, &[("cookie", "session=SECRETCOOKIE")]);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = p.read(".tusk/edge-access.log");
    assert!(
        log.starts_with("#Version: 1.0\n#Fields: date time"),
        "{log}"
    );
    assert!(
        !log.contains("SECRETCOOKIE"),
        "cookie values are never logged"
    );

    let report = p.run(&["offload", "--json"]).success().result();
    assert_eq!(report["records"], 25, "{report:#}");
    assert_eq!(report["malformed"], 0);
    assert_eq!(report["origin_requests"], 1 + 5 + 6 + 4);
    let top: Vec<(&str, u64, &str)> = report["top_missed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["url"].as_str().unwrap(),
                m["misses"].as_u64().unwrap(),
                m["reasons"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top[0],
        (
            "/search",
            6,
            "query-string variety: 6 distinct query strings"
        )
    );
    assert_eq!(top[1].0, "/private");
    assert!(
        top[1]
            .2
            .starts_with("the response says Cache-Control: private"),
        "{top:#?}"
    );
    assert_eq!(
        top[2],
        ("/account", 4, "cookies: 4 of 4 misses carried a cookie")
    );
    assert_eq!(top[3], ("/", 1, "cold cache: missed once"));
    drop(edge);
}

/// A value of a command's `--json` answer, at the top or inside the
/// `result` of an envelope.
fn answer<'a>(v: &'a Value, name: &str) -> &'a Value {
    match &v[name] {
        Value::Null => &v["result"][name],
        found => found,
    }
}

#[test]
fn status_and_offload_agree_on_the_same_edge() {
    // Too big for the edge to cache (edge.max_object_mb = 1), though its
    // header says cache it forever: the diagnosis must not blame headers.
    let big = Route::new(200, "application/javascript", vec![b'x'; 1_500_000])
        .header("cache-control", "public, max-age=31536000, immutable");
    let origin = Origin::start(
        vec![("/healthz", Route::html("ok")), ("/big.js", big)],
        |path| Some(Route::html(&format!("origin {path}")).header("cache-control", "max-age=600")),
    );
    let p = Project::bare(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n[edge]\nmax_object_mb = 1\nbuilt_from_bucket = false\n",
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let css = p.tree()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["cache_class"] == "fingerprinted")
        .map(|o| format!("/{}", o["key"].as_str().unwrap()))
        .expect("the default theme fingerprints its stylesheet");
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    // Through the origin: 2 + 3 misses, 6 hits.
    for _ in 0..5 {
        edge.get("/");
    }
    for _ in 0..3 {
        edge.get("/about/");
    }
    for _ in 0..3 {
        assert_eq!(edge.get("/big.js").cache(), "Miss");
    }
    // From the bucket: 6 requests for the immutable stylesheet, none of
    // which the origin sees.
    p.run(&["failover", "--reason", "test"]).success();
    for _ in 0..6 {
        assert_eq!(edge.get(&css).cache(), "Fallback");
    }
    p.run(&["failback"]).success();
    // The drill's own requests are no client traffic.
    p.run(&["drill"]).success();
    std::thread::sleep(std::time::Duration::from_millis(300));

    let status = p.run(&["status", "--json"]).success().json();
    let report = p.run(&["offload", "--json"]).success().json();
    let expected = 1.0 - 5.0 / 17.0;
    let edge_says = answer(&status, "offload_ratio").as_f64().unwrap();
    let log_says = answer(&report, "request_offload").as_f64().unwrap();
    assert!((edge_says - expected).abs() < 1e-9, "status: {status:#}");
    assert!((log_says - expected).abs() < 1e-9, "offload: {report:#}");
    assert_eq!(answer(&status, "requests")["total"], 17, "{status:#}");
    assert_eq!(answer(&report, "records"), 17, "{report:#}");
    assert!(
        answer(&report, "drill_records").as_u64().unwrap() > 0,
        "{report:#}"
    );
    let log = p.read(".tusk/edge-access.log");
    assert!(log.contains("x-tusk-drill"), "{log}");
    // Nothing the edge served from the bucket or the cache is a miss.
    let missed: Vec<(&str, &str)> = answer(&report, "top_missed")
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["url"].as_str().unwrap(),
                m["reasons"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        missed,
        [
            (
                "/big.js",
                "never served from the cache although Cache-Control: public, max-age=31536000, \
                 immutable allows it: evicted (edge.cache_mb too small) or larger than \
                 edge.max_object_mb"
            ),
            ("/", "cold cache: missed once"),
            ("/about/", "cold cache: missed once")
        ],
        "{report:#}"
    );
    drop(edge);
}
