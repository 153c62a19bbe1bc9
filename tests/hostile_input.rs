//! Hostile input and faults (issue 22): templates reading the environment,
//! origins answering what they should not (private or non-HTTP redirects,
//! overflowing freshness, unrequested 304s), tampered state files and
//! output folders, credentials in URLs, open redirects and reserved keys.
//! Each test runs the real `tusk` binary and proves one refusal.

mod common;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::edge::{Edge, Http};
use common::origin::{Origin, Route};
use common::serve::Serve;
use common::Project;
use serde_json::Value;

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    common::snapshot_dir(dir)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(rel, _)| rel)
        .collect()
}

/// Run tusk with a deadline: a command that should refuse to start must
/// not hang the test when it starts anyway.
fn run_briefly(p: &Project, args: &[&str], secs: u64) -> (Option<i32>, String, String) {
    let mut child = common::tusk()
        .arg("--root")
        .arg(p.root())
        .args(args)
        .env_remove("TUSK_ENV")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tusk");
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still_running = child.try_wait().unwrap().is_none();
    if still_running {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let code = if still_running {
        None
    } else {
        out.status.code()
    };
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn edge_project() -> Project {
    Project::bare(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n",
    )
}

fn edge_origin() -> Origin {
    Origin::start(vec![("/healthz", Route::html("ok"))], |_| None)
}

fn tree_objects(p: &Project, rel: &str) -> BTreeMap<String, Value> {
    let tree: Value = serde_json::from_str(&p.read(rel)).unwrap();
    tree["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["key"].as_str().unwrap().to_string(), o.clone()))
        .collect()
}

#[test]
fn templates_cannot_read_the_environment() {
    let secret = "s3cr3t-AKIA-never-published";
    let p = Project::new();
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.write(
        "site/leak.html",
        "---\ntitle: Leak\n---\n<p>{{ get_env(name=\"TUSK_TEST_SECRET\", default=\"none\") }}</p>\n",
    );
    let run = p.run_env(&["build"], &[("TUSK_TEST_SECRET", secret.to_string())]);
    assert_eq!(run.code(), Some(1), "{}\n{}", run.stdout(), run.stderr());
    let err = run.stderr();
    assert!(err.contains("site/leak.html"), "{err}");
    assert!(err.contains("get_env is disabled"), "{err}");
    assert!(!err.contains(secret) && !run.stdout().contains(secret));
    assert!(
        files_containing(p.root(), secret).is_empty(),
        "the secret was written to {:?}",
        files_containing(p.root(), secret)
    );
}

#[test]
fn private_and_non_http_redirects_are_not_snapshotted_and_temporary_ones_stay_temporary() {
    let origin = Origin::start(Vec::new(), |_| None);
    let links = [
        "/cookie.html",
        "/private.html",
        "/nostore.html",
        "/js.html",
        "/data.html",
        "/temp.html",
        "/temp307.html",
        "/perm.html",
    ];
    let home: String = links
        .iter()
        .map(|l| format!("<a href=\"{l}\">x</a>"))
        .collect();
    origin.set("/", Route::html(&home));
    origin.set("/about", Route::html("<h1>About</h1>"));
    origin.set(
        "/cookie.html",
        Route::redirect(302, "/about").header("set-cookie", "session=abc"),
    );
    origin.set(
        "/private.html",
        Route::redirect(302, "/about").header("cache-control", "private"),
    );
    origin.set(
        "/nostore.html",
        Route::redirect(301, "/about").header("cache-control", "no-store"),
    );
    origin.set("/js.html", Route::redirect(302, "javascript:alert(1)"));
    origin.set(
        "/data.html",
        Route::redirect(301, "data:text/html,<script>alert(1)</script>"),
    );
    origin.set("/temp.html", Route::redirect(302, "/about"));
    origin.set("/temp307.html", Route::redirect(307, "/about"));
    origin.set("/perm.html", Route::redirect(301, "/about"));

    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"{}\"\n",
            origin.url
        ),
    );
    let report = p.run(&["snapshot", "--json"]).success().result();
    let tree = tree_objects(&p, ".tusk/snapshot/.tusk-tree.json");
    for refused in [
        "cookie.html",
        "private.html",
        "nostore.html",
        "js.html",
        "data.html",
    ] {
        assert!(
            !tree.contains_key(refused),
            "{refused} was stored: {:#}",
            tree[refused]
        );
        let url = format!("{}/{refused}", origin.url);
        assert!(
            report["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["url"] == url.as_str()),
            "{url} not reported as skipped: {report:#}"
        );
    }
    assert_eq!(tree["temp.html"]["redirect"], "/about");
    assert_eq!(tree["temp.html"]["redirect_status"], 302);
    assert_eq!(tree["temp307.html"]["redirect_status"], 307);
    assert!(tree["perm.html"].get("redirect_status").is_none());

    // Published to the local bucket and served by the edge's fallback.
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    let edge = Edge::start(&p, "edge", &[]);
    for (path, status) in [
        ("/temp.html", 302),
        ("/temp307.html", 307),
        ("/perm.html", 301),
    ] {
        let a = edge.get(path);
        assert_eq!(
            (a.status, a.header("location")),
            (status, "/about"),
            "{path}"
        );
    }
    for path in ["/js.html", "/data.html", "/cookie.html"] {
        assert_eq!(edge.get(path).status, 404, "{path}");
    }
}

#[test]
fn overflowing_freshness_values_never_crash_the_edge() {
    let origin = edge_origin();
    let huge = "18446744073709551615";
    origin.set(
        "/swr",
        Route::html("swr body").header(
            "cache-control",
            &format!("max-age=1, stale-while-revalidate={huge}"),
        ),
    );
    origin.set(
        "/sie",
        Route::html("sie body").header(
            "cache-control",
            &format!("max-age=1, stale-if-error={huge}"),
        ),
    );
    origin.set(
        "/both",
        Route::html("both body").header(
            "cache-control",
            &format!("max-age={huge}, s-maxage={huge}, stale-while-revalidate={huge}, stale-if-error={huge}"),
        ),
    );
    let p = edge_project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    for path in ["/swr", "/sie", "/both"] {
        assert_eq!(edge.get(path).status, 200, "{path}");
    }
    origin.set("/sie", Route::new(500, "text/plain", "down"));
    std::thread::sleep(Duration::from_millis(1100));
    for (path, body) in [
        ("/swr", "swr body"),
        ("/sie", "sie body"),
        ("/both", "both body"),
    ] {
        for _ in 0..2 {
            let a = edge.get(path);
            assert_eq!((a.status, a.text().as_str()), (200, body), "{path}");
        }
    }
    // Still alive and answering its admin API.
    assert!(edge.status()["requests"]["total"].as_u64().unwrap() >= 9);
}

#[test]
fn clients_without_validators_never_get_a_304() {
    let origin = edge_origin();
    let p = edge_project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    let variants = [
        ("/cookie", ("set-cookie", "session=abc")),
        ("/private", ("cache-control", "private")),
        ("/vary", ("vary", "Cookie")),
    ];
    for (path, _) in variants {
        origin.set(
            path,
            Route::html(&format!("body of {path}"))
                .header("cache-control", "max-age=1")
                .header("etag", "\"v1\""),
        );
        assert_eq!(edge.get(path).status, 200);
    }
    // The origin answers the edge's own revalidation with a 304 that makes
    // the response uncacheable.
    for (path, (name, value)) in variants {
        origin.set(
            path,
            Route {
                status: 304,
                headers: vec![
                    ("etag".into(), "\"v1\"".into()),
                    (name.into(), value.into()),
                ],
                body: Vec::new(),
            },
        );
    }
    // And one that answers 304 to requests that were never conditional.
    origin.set(
        "/always304",
        Route {
            status: 304,
            headers: vec![("etag".into(), "\"x\"".into())],
            body: Vec::new(),
        },
    );
    std::thread::sleep(Duration::from_millis(1100));
    for (path, _) in variants {
        let a = edge.get(path);
        assert_eq!(a.status, 200, "{path}: {:?}", a.headers);
        assert_eq!(a.text(), format!("body of {path}"));
    }
    let a = edge.get("/always304");
    assert_ne!(a.status, 304, "{:?}", a.headers);
    // A client's own validator still gets its 304 from a cached copy.
    origin.set(
        "/fine",
        Route::html("fine")
            .header("cache-control", "max-age=60")
            .header("etag", "\"f\""),
    );
    assert_eq!(edge.get("/fine").status, 200);
    let conditional = edge
        .http
        .get(&format!("{}/fine", edge.url), &[("if-none-match", "\"f\"")]);
    assert_eq!(conditional.status, 304);
}

#[test]
fn tampered_snapshot_state_cannot_write_outside_the_project() {
    let origin = Origin::start(Vec::new(), |_| None);
    origin.set(
        "/",
        Route::html("<a href=\"/page.html\">p</a>").header("etag", "\"home\""),
    );
    origin.set(
        "/page.html",
        Route::html("<p>page</p>").header("etag", "\"page\""),
    );
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[snapshot]\norigin = \"{}\"\n",
            origin.url
        ),
    );
    p.run(&["snapshot"]).success();

    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    // From .tusk/snapshot/ up to the common temporary folder, then down.
    let evil = format!(
        "../../../{}/victim.txt",
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    assert!(p.path(".tusk/snapshot").join(&evil).is_file(), "{evil}");
    let state_path = ".tusk/snapshot/.tusk-snapshot.json";
    let mut state: Value = serde_json::from_str(&p.read(state_path)).unwrap();
    for (_, v) in state["entries"].as_object_mut().unwrap() {
        v["key"] = Value::String(evil.clone());
    }
    p.write(state_path, &serde_json::to_string(&state).unwrap());
    let tree_path = ".tusk/snapshot/.tusk-tree.json";
    let mut tree: Value = serde_json::from_str(&p.read(tree_path)).unwrap();
    tree["objects"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "key": evil, "size": 8, "md5": "x", "sha256": "x",
            "content_type": "text/html", "cache_class": "html"
        }));
    p.write(tree_path, &serde_json::to_string(&tree).unwrap());

    let run = p.run(&["snapshot", "--json"]);
    assert!(run.ok(), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    let keys = tree_objects(&p, tree_path);
    assert!(
        keys.contains_key("index.html") && keys.contains_key("page.html"),
        "{keys:?}"
    );
    assert!(keys.keys().all(|k| !k.contains("..")), "{keys:?}");
    assert!(run.stderr().contains("invalid key"), "{}", run.stderr());
}

#[test]
fn an_unsolicited_304_is_a_failed_fetch_not_a_crash() {
    let origin = Origin::start(Vec::new(), |_| None);
    origin.set("/", Route::html("<a href=\"/odd.html\">odd</a>"));
    origin.set(
        "/odd.html",
        Route {
            status: 304,
            headers: Vec::new(),
            body: Vec::new(),
        },
    );
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[snapshot]\norigin = \"{}\"\n",
            origin.url
        ),
    );
    let run = p.run(&["snapshot", "--json"]);
    assert!(run.ok(), "{:?}: {}", run.code(), run.stderr());
    let report = run.result();
    let url = format!("{}/odd.html", origin.url);
    let error = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == url.as_str())
        .unwrap_or_else(|| panic!("{url} not reported: {report:#}"));
    assert!(error["error"].as_str().unwrap().contains("304"), "{error}");

    // A seed answering so fails the run, naming the URL, without a panic.
    origin.set(
        "/",
        Route {
            status: 304,
            headers: Vec::new(),
            body: Vec::new(),
        },
    );
    let run = p.run(&["snapshot", "--full"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains(&format!("{}/", origin.url)) && run.stderr().contains("304"),
        "{}",
        run.stderr()
    );
}

#[test]
fn edge_origins_with_credentials_are_refused() {
    let password = "hunter2-pw";
    let p = edge_project();
    let (code, out, err) = run_briefly(
        &p,
        &[
            "edge",
            "--listen",
            "127.0.0.1:0",
            "--origin",
            &format!("http://user:{password}@127.0.0.1:9"),
        ],
        20,
    );
    assert_eq!(code, Some(1), "the edge started:\n{out}\n{err}");
    assert!(err.contains("credentials"), "{err}");
    assert!(!err.contains(password) && !out.contains(password), "{err}");

    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[edge]\norigin = \"https://admin:{password}@origin.example\"\n"
        ),
    );
    let (code, out, err) = run_briefly(&p, &["edge", "--listen", "127.0.0.1:0"], 20);
    assert_eq!(code, Some(1), "the edge started:\n{out}\n{err}");
    assert!(
        err.contains("edge.origin") && err.contains("credentials"),
        "{err}"
    );
    assert!(!err.contains(password) && !out.contains(password), "{err}");
}

#[test]
fn folder_redirects_never_point_to_another_host() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    p.write("site/tags.md", "---\npermalink: /tags/\n---\nTags\n");
    p.run(&["build"]).success();
    p.run(&["publish"]).success();

    let edge = Edge::start(&p, "edge", &[]);
    let normal = edge.get("/tags");
    assert_eq!((normal.status, normal.header("location")), (302, "/tags/"));
    for path in ["//tags", "///tags", "//tags?x=1"] {
        let a = edge.get(path);
        let location = a.header("location");
        assert!(
            !location.starts_with("//") && !location.starts_with("/\\"),
            "edge: {path} -> {} {location}",
            a.status
        );
    }

    let serve = Serve::start(&p, &[]);
    let http = Http::new();
    let normal = http.get(&format!("{}/tags", serve.url), &[]);
    assert_eq!(normal.status, 301);
    assert_eq!(normal.header("location"), "/tags/");
    for path in ["//tags", "///tags"] {
        let a = http.get(&format!("{}{path}", serve.url), &[]);
        let location = a.header("location");
        assert!(
            !location.starts_with("//") && !location.starts_with("/\\"),
            "serve: {path} -> {} {location}",
            a.status
        );
    }
}

#[cfg(unix)]
#[test]
fn publish_refuses_symlinks_in_the_output() {
    use md5::Digest as _;
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.run(&["build"]).success();

    let outside = tempfile::tempdir().unwrap();
    let secret = b"outside-secret-bytes";
    std::fs::write(outside.path().join("secret.txt"), secret).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), p.path("public/leak.txt"))
        .unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path("public/leakdir")).unwrap();
    // A manifest that matches the link targets, as a tampered one would.
    let mut tree = p.tree();
    for key in ["leak.txt", "leakdir/secret.txt"] {
        tree["objects"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "key": key,
                "size": secret.len(),
                "md5": hex::encode(md5::Md5::digest(secret)),
                "sha256": hex::encode(sha2::Sha256::digest(secret)),
                "content_type": "text/plain; charset=utf-8",
                "cache_class": "asset"
            }));
    }
    p.write(
        "public/.tusk-tree.json",
        &serde_json::to_string(&tree).unwrap(),
    );

    let run = p.run(&["publish"]);
    assert_eq!(run.code(), Some(1), "{}\n{}", run.stdout(), run.stderr());
    let err = run.stderr();
    assert!(err.contains("symlink") && err.contains("leak"), "{err}");
    assert!(
        !p.path("bucket").exists() || common::snapshot_dir(&p.path("bucket")).is_empty(),
        "something was uploaded: {:?}",
        common::snapshot_dir(&p.path("bucket"))
            .keys()
            .collect::<Vec<_>>()
    );
}

#[test]
fn reserved_permalinks_are_refused_at_build_time() {
    let p = Project::new();
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.write(
        "site/manifest.md",
        "---\npermalink: /.tusk-tree.json\nlayout: none\n---\n{}\n",
    );
    p.write(
        "site/records.md",
        "---\npermalink: /.tusk/publishes/x.html\n---\nx\n",
    );
    p.write(
        "site/meta.md",
        "---\npermalink: /.tusk-meta/x.html\n---\nx\n",
    );
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    let err = run.stderr();
    for file in ["site/manifest.md", "site/records.md", "site/meta.md"] {
        assert!(err.contains(file), "{file} not named in:\n{err}");
    }
    assert!(err.contains("reserved"), "{err}");
}

#[test]
fn admin_auth_scheme_is_case_insensitive_and_options_star_is_answered() {
    let origin = edge_origin();
    let p = edge_project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let a = edge.http.get(
            &format!("{}/_tusk/status", edge.url),
            &[("authorization", &format!("{scheme} {}", edge.token))],
        );
        assert_eq!(a.status, 200, "{scheme}: {}", a.text());
    }
    let wrong = edge.http.get(
        &format!("{}/_tusk/status", edge.url),
        &[("authorization", "bearer nope")],
    );
    assert_eq!(wrong.status, 401);

    // `OPTIONS *` asks about the server itself, not a resource.
    use std::io::{Read, Write};
    let addr = edge.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status_line = answer.lines().next().unwrap_or_default();
    assert!(
        status_line.contains(" 200 ") || status_line.contains(" 204 "),
        "{answer}"
    );
    assert!(!answer.contains("origin is down"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("allow:"), "{answer}");
}

fn snapshot_project(origin: &Origin, extra: &str) -> Project {
    Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [snapshot]\norigin = \"{}\"\nsitemap = false\n{extra}",
        origin.url
    ))
}

fn links(paths: impl Iterator<Item = String>) -> String {
    paths.map(|l| format!("<a href=\"{l}\">x</a>\n")).collect()
}

#[test]
fn urls_never_fetched_do_not_use_up_max_pages() {
    let origin = Origin::start(Vec::new(), |path| {
        path.starts_with("/p/").then(|| Route::html("<p>page</p>"))
    });
    let home = links((0..60).map(|n| format!("/list?x={n}")))
        + &links((0..5).map(|n| format!("/p/{n}.html")));
    origin.set("/", Route::html(&home));
    let p = snapshot_project(&origin, "max_pages = 50\n");
    let report = p.run(&["snapshot", "--json"]).success().result();
    let keys = tree_objects(&p, ".tusk/snapshot/.tusk-tree.json");
    for n in 0..5 {
        assert!(keys.contains_key(&format!("p/{n}.html")), "{keys:?}");
    }
    assert_eq!(report["truncated"], false, "{report:#}");
}

#[test]
fn a_truncated_snapshot_keeps_the_previous_pages_and_says_so() {
    let origin = Origin::start(Vec::new(), |path| {
        path.starts_with("/p/").then(|| Route::html("<p>page</p>"))
    });
    origin.set(
        "/",
        Route::html(&links((0..5).map(|n| format!("/p/old-{n}.html")))),
    );
    let p = snapshot_project(&origin, "max_pages = 20\n");
    p.run(&["snapshot"]).success();
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    assert!(p.path("bucket/p/old-4.html").is_file());

    // The site grew past max_pages: the old pages come after the new ones.
    let home = links((0..60).map(|n| format!("/p/new-{n}.html")))
        + &links((0..5).map(|n| format!("/p/old-{n}.html")));
    origin.set("/", Route::html(&home));
    let run = p.run(&["snapshot", "--json"]).success();
    let report = run.result();
    assert_eq!(report["truncated"], true, "{report:#}");
    assert!(
        report["removed"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert!(report["requests"].as_u64().unwrap() <= 20, "{report:#}");
    let keys = tree_objects(&p, ".tusk/snapshot/.tusk-tree.json");
    for n in 0..5 {
        assert!(keys.contains_key(&format!("p/old-{n}.html")), "{keys:?}");
    }
    let text = p.run(&["snapshot"]).success().stdout();
    assert!(
        text.contains("warning:") && text.contains("max_pages"),
        "{text}"
    );
    p.run(&["publish"]).success();
    for n in 0..5 {
        assert!(p.path(&format!("bucket/p/old-{n}.html")).is_file());
    }
}

/// Peak resident memory (VmHWM, KiB) of a tusk run, read from /proc while
/// it runs; the exit status with it.
fn peak_memory_kib(p: &Project, args: &[&str]) -> (u64, std::process::ExitStatus) {
    let mut child = common::tusk()
        .arg("--root")
        .arg(p.root())
        .args(args)
        .env_remove("TUSK_ENV")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tusk");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (peak, status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_crawl_frontier_is_bounded() {
    const LINKS: usize = 200_000;
    // Short relative links on a page with a long path: each costs a few
    // bytes of HTML but a long absolute URL once discovered.
    let deep = format!("/d/{}/", "long-folder-name-".repeat(12));
    let origin = Origin::start(Vec::new(), |path| {
        path.starts_with("/d/").then(|| Route::html("<p>page</p>"))
    });
    origin.set(
        &deep,
        Route::html(&links((0..LINKS).map(|n| n.to_string()))),
    );
    let p = snapshot_project(
        &origin,
        &format!("max_pages = 50\nconcurrency = 4\nseeds = [\"{deep}\"]\n"),
    );
    let (peak, status) = peak_memory_kib(&p, &["snapshot", "--json"]);
    assert!(status.success(), "{status:?}");
    eprintln!("peak memory of the snapshot: {peak} KiB");
    // The page is ~4 MB; 200,000 remembered URLs of ~250 bytes (and a
    // parsed URL each, waiting to be queued) used to add over 100 MB.
    assert!(peak < 100 * 1024, "peak {peak} KiB");
    let report = p.run(&["snapshot", "--json"]).success().result();
    assert_eq!(report["truncated"], true, "{report:#}");
    assert!(report["dropped"].as_u64().unwrap() > 0, "{report:#}");
    assert!(report["requests"].as_u64().unwrap() <= 50, "{report:#}");
    let leftovers: Vec<_> = std::fs::read_dir(p.path(".tusk"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tusk-new") || n.contains("tusk-old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn large_snapshot_downloads_stream_to_disk_in_bounded_memory() {
    use std::io::Write;
    const MIB: usize = 1024 * 1024;
    let big = vec![b'7'; 160 * MIB];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&big).unwrap();
    let gz = gz.finish().unwrap();
    let origin = Origin::start(Vec::new(), |_| None);
    origin.set(
        "/",
        Route::html(r#"<a href="/big.bin">b</a> <img src="/packed.bin">"#),
    );
    origin.set(
        "/big.bin",
        Route::new(200, "application/octet-stream", big.clone()),
    );
    // An origin that compresses anyway: decoded on disk, not in memory.
    origin.set(
        "/packed.bin",
        Route::new(200, "application/octet-stream", gz).header("content-encoding", "gzip"),
    );
    let p = snapshot_project(&origin, "max_response_mb = 200\nconcurrency = 2\n");
    let (peak, status) = peak_memory_kib(&p, &["snapshot"]);
    assert!(status.success(), "{status:?}");
    eprintln!("peak memory of the snapshot of two 160 MiB files: {peak} KiB");
    assert!(peak < 64 * 1024, "peak {peak} KiB");
    let keys = tree_objects(&p, ".tusk/snapshot/.tusk-tree.json");
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&big));
    for key in ["big.bin", "packed.bin"] {
        assert_eq!(keys[key]["md5"], md5.as_str(), "{key}");
        let len = std::fs::metadata(p.path(&format!(".tusk/snapshot/{key}")))
            .unwrap()
            .len();
        assert_eq!(len, big.len() as u64, "{key}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(p.path(".tusk/snapshot"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // max_response_mb still applies, compressed or not.
    let p = snapshot_project(&origin, "max_response_mb = 100\n");
    let report = p.run(&["snapshot", "--json"]).success().result();
    let keys = tree_objects(&p, ".tusk/snapshot/.tusk-tree.json");
    assert!(
        !keys.contains_key("big.bin") && !keys.contains_key("packed.bin"),
        "{keys:?}"
    );
    assert!(
        report
            .to_string()
            .contains("larger than snapshot.max_response_mb"),
        "{report:#}"
    );
}

#[test]
fn an_aborted_snapshot_leaves_no_staging_folder_behind() {
    let origin = Origin::start_with_latency(
        vec![(
            "/",
            Route::html(&links((0..20).map(|n| format!("/p/{n}.html")))),
        )],
        |path| path.starts_with("/p/").then(|| Route::html("<p>page</p>")),
        Duration::from_millis(300),
    );
    let p = snapshot_project(&origin, "concurrency = 1\n");
    let mut child = common::tusk()
        .arg("--root")
        .arg(p.root())
        .arg("snapshot")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staged = |p: &Project| -> Vec<String> {
        std::fs::read_dir(p.path(".tusk"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains("tusk-new") || n.contains("tusk-old"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while staged(&p).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(700));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!staged(&p).is_empty(), "the run was not caught mid-crawl");
    origin.set("/", Route::html("<p>small now</p>"));
    p.run(&["snapshot"]).success();
    assert!(staged(&p).is_empty(), "{:?}", staged(&p));
}

#[test]
fn a_mass_delete_is_refused_relative_to_the_bucket() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    for n in 0..25 {
        p.write(
            &format!("site/page-{n}.md"),
            &format!("---\ntitle: P{n}\n---\n{n}\n"),
        );
    }
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let before = common::snapshot_dir(&p.path("bucket"));
    for n in 1..25 {
        std::fs::remove_file(p.path(&format!("site/page-{n}.md"))).unwrap();
    }
    p.run(&["build"]).success();
    let refused = p.run(&["publish"]);
    assert_eq!(refused.code(), Some(1), "{}", refused.stdout());
    let err = refused.stderr();
    assert!(err.contains("refusing to delete 24 of"), "{err}");
    assert!(
        err.contains("--allow-mass-delete") && err.contains("max_delete_share"),
        "{err}"
    );
    assert_eq!(common::snapshot_dir(&p.path("bucket")), before);
    p.run(&["publish", "--allow-mass-delete"]).success();
    assert!(!p.path("bucket/page-3.html").exists());
}

#[test]
fn tera_range_and_get_random_are_bounded() {
    for (body, expected) in [
        (
            "{% for i in range(end=5, step_by=0) %}{{ i }}{% endfor %}",
            "step_by",
        ),
        ("{% for i in range(end=4000000000) %}{% endfor %}", "100000"),
        ("{{ get_random(start=5, end=5) }}", "get_random"),
    ] {
        let p = Project::new();
        p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
        p.write("site/t.html", &format!("---\ntitle: T\n---\n{body}\n"));
        let (code, out, err) = run_briefly(&p, &["build"], 20);
        assert_eq!(code, Some(1), "{body}\n{out}\n{err}");
        assert!(
            err.contains("site/t.html") && err.contains(expected),
            "{body}: {err}"
        );
    }
}

#[test]
fn an_operators_pin_survives_an_edge_restart() {
    let origin = edge_origin();
    let p = edge_project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    p.run(&["failover", "--reason", "db migration"]).success();
    assert_eq!(edge.status()["route"], "fallback");
    drop(edge);

    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    let status = p.run(&["status", "--json"]).success().result();
    assert_eq!(
        (status["route"].as_str(), status["pinned"].as_bool()),
        (Some("fallback"), Some(true)),
        "{status:#}"
    );
    assert_eq!(status["last_switch"]["reason"], "db migration");
    assert_eq!(status["last_switch"]["by"], "manual");
    let text = p.run(&["status"]).success().stdout();
    assert!(text.contains("Route:    fallback"), "{text}");
    // Health checks that pass do not undo it either.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(edge.status()["route"], "fallback");

    p.run(&["failback"]).success();
    assert_eq!(edge.status()["route"], "origin");
    drop(edge);
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    assert_eq!(edge.status()["route"], "origin");
    drop(edge);

    // A corrupt or hand-edited file is ignored, never a crash.
    for junk in ["{not json", "{\"to\": \"fallback\"}", "[1,2]", ""] {
        p.write(".tusk/edge-route.json", junk);
        let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
        assert_eq!(edge.status()["route"], "origin", "{junk}");
    }
}

#[test]
fn the_restarted_edge_says_it_is_pinned() {
    let origin = edge_origin();
    let p = edge_project();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    p.run(&["failover", "--reason", "game day"]).success();
    drop(edge);
    // The banner line comes right after the `edge:` line the helper waits for.
    let mut child = common::tusk()
        .arg("--root")
        .arg(p.root())
        .args(["edge", "--listen", "127.0.0.1:0", "--origin", &origin.url])
        .env_remove("TUSK_EDGE_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let second = rx.recv_timeout(Duration::from_secs(3)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.starts_with("edge: "), "{first}");
    assert!(
        second.contains("pinned") && second.contains("game day"),
        "{second}"
    );
}

/// `tusk edge` started by `sh -c '<prefix> exec tusk edge ...'`; returns
/// the child and its `edge:` URL.
fn spawn_edge(
    p: &Project,
    prefix: &str,
    listen: &str,
    origin: &Origin,
) -> (std::process::Child, String) {
    let script = format!(
        "{prefix} exec \"$0\" --root \"$1\" edge --listen {listen} --origin {}",
        origin.url
    );
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_tusk"))
        .arg(p.root())
        .env_remove("TUSK_EDGE_TOKEN")
        .env_remove("TUSK_ENV")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let first = lines.next().expect("a banner").unwrap();
    let url = first
        .strip_prefix("edge: ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{first}"))
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

#[test]
fn the_edge_stops_on_sigint_even_as_a_background_job() {
    let origin = edge_origin();
    let p = edge_project();
    // A non-interactive shell starts background jobs with SIGINT ignored.
    let (mut child, _) = spawn_edge(&p, "trap '' INT;", "127.0.0.1:0", &origin);
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped = child.try_wait().unwrap();
    if stopped.is_none() {
        let _ = child.kill();
    }
    assert!(stopped.is_some_and(|s| s.success()), "{stopped:?}");
}

#[test]
fn loopback_admin_clients_are_recognised_on_ipv6_listeners() {
    let origin = edge_origin();
    for listen in ["[::1]:0", "[::]:0"] {
        let p = edge_project();
        let (mut child, url) = spawn_edge(&p, "", listen, &origin);
        let runtime: Value = serde_json::from_str(&p.read(".tusk/edge.json")).unwrap();
        let token = runtime["token"].as_str().unwrap().to_string();
        let port = url.rsplit(':').next().unwrap().to_string();
        let http = Http::new();
        let mut targets = vec![format!("http://[::1]:{port}")];
        if listen.starts_with("[::]") {
            targets.push(format!("http://127.0.0.1:{port}"));
        }
        for base in targets {
            let a = http.get(
                &format!("{base}/_tusk/status"),
                &[("authorization", &format!("Bearer {token}"))],
            );
            assert_eq!(a.status, 200, "{listen} via {base}: {}", a.text());
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn slow_request_bodies_time_out_and_cached_pages_keep_being_served() {
    use std::io::{Read, Write};
    let origin = Origin::start(
        vec![
            ("/healthz", Route::html("ok")),
            (
                "/",
                Route::html("home").header("cache-control", "max-age=300"),
            ),
        ],
        |_| None,
    );
    let p = Project::bare(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n\
         [edge]\nmax_connections = 20\nbody_timeout_ms = 1500\n",
    );
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    assert_eq!(edge.get("/").text(), "home");
    assert_eq!(edge.get("/").cache(), "Hit");
    let addr = edge.url.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let mut drips: Vec<Option<std::net::TcpStream>> = (0..50)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nx")
                .unwrap();
            s.set_nonblocking(true).unwrap();
            Some(s)
        })
        .collect();
    let mut checked_get = false;
    while drips.iter().any(Option::is_some) && started.elapsed() < Duration::from_secs(10) {
        for slot in drips.iter_mut() {
            let Some(s) = slot else { continue };
            let mut buf = [0u8; 512];
            let closed = match s.read(&mut buf) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => s.write_all(b"x").is_err(),
                Err(_) => true,
            };
            if closed {
                *slot = None;
            }
        }
        if !checked_get && started.elapsed() > Duration::from_millis(500) {
            let asked = Instant::now();
            let a = edge.get("/");
            assert_eq!(a.text(), "home");
            assert!(
                asked.elapsed() < Duration::from_secs(1),
                "{:?}",
                asked.elapsed()
            );
            checked_get = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(checked_get);
    let open = drips.iter().filter(|d| d.is_some()).count();
    assert_eq!(
        open,
        0,
        "{open} dripping connections still open after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn keys_differing_only_in_unicode_normalization_collide() {
    let p = Project::new();
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.write("site/caf\u{e9}.txt", "nfc");
    p.write("site/cafe\u{301}.txt", "nfd");
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1), "{}", run.stdout());
    let err = run.stderr();
    assert!(err.contains("Unicode normalization"), "{err}");
    assert!(
        err.contains("caf\u{e9}.txt") && err.contains("cafe\u{301}.txt"),
        "{err}"
    );

    let origin = Origin::start(Vec::new(), |_| None);
    origin.set(
        "/",
        Route::html("<a href=\"/caf%C3%A9.html\">a</a><a href=\"/cafe%CC%81.html\">b</a>"),
    );
    origin.set("/caf%C3%A9.html", Route::html("nfc"));
    origin.set("/cafe%CC%81.html", Route::html("nfd"));
    let p = snapshot_project(&origin, "");
    let report = p.run(&["snapshot", "--json"]).success().result();
    let keys = tree_objects(&p, ".tusk/snapshot/.tusk-tree.json");
    assert_eq!(
        keys.keys().filter(|k| k.starts_with("caf")).count(),
        1,
        "{keys:?}"
    );
    let skipped = report["skipped"].to_string();
    assert!(skipped.contains("Unicode normalization"), "{skipped}");
}

#[test]
fn an_expired_snapshot_deadline_is_a_truncated_crawl() {
    let origin = Origin::start_with_latency(
        vec![(
            "/",
            Route::html(&links((0..30).map(|n| format!("/p/{n}.html")))),
        )],
        |path| path.starts_with("/p/").then(|| Route::html("<p>page</p>")),
        Duration::from_millis(200),
    );
    // 0.02 minutes: 1.2 s, about six of the thirty pages.
    let p = snapshot_project(&origin, "max_minutes = 0.02\nconcurrency = 1\n");
    let started = Instant::now();
    let report = p.run(&["snapshot", "--json"]).success().result();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report["truncated"], true, "{report:#}");
    assert!(
        report["truncated_by"]
            .as_str()
            .unwrap()
            .contains("max_minutes"),
        "{report:#}"
    );
    assert!(report["dropped"].as_u64().unwrap() > 0, "{report:#}");
    let bad = snapshot_project(&origin, "max_minutes = -1\n");
    let run = bad.run(&["snapshot"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("snapshot.max_minutes"),
        "{}",
        run.stderr()
    );
}
