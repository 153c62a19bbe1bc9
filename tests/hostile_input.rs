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
    let report = p.run(&["snapshot", "--json"]).success().json();
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
    let report = run.json();
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
