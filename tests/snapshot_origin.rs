//! `tusk snapshot` against a real HTTP origin on 127.0.0.1: what is saved
//! (and under which key), what is refused (private, hostile, traps), how
//! links are rewritten, incremental re-runs, failure safety, and that the
//! result publishes unchanged.

mod common;
use common::edge::Edge;
use common::origin::{Origin, Route};
use common::Project;
use serde_json::Value;
use std::collections::BTreeMap;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake";

fn site_origin() -> Origin {
    let origin = Origin::start(Vec::new(), |path| {
        if path.starts_with("/tusk-404-probe") {
            return Some(Route::new(
                404,
                "text/html; charset=utf-8",
                "<h1>Not here</h1><a href=\"/\">home</a>",
            ));
        }
        // An endless calendar: every page links to the next one.
        if let Some(n) = path.strip_prefix("/calendar/") {
            let n: u32 = n.trim_end_matches('/').parse().ok()?;
            return Some(Route::html(&format!(
                "<a href=\"/calendar/{}/\">next</a>",
                n + 1
            )));
        }
        None
    });
    let o = origin.url.clone();
    let routes = vec![
        ("/", Route::html(&format!(
            r#"<!doctype html><html><head><link rel="stylesheet" href="{o}/css/site.css"></head><body>
<a href="/about">About</a> <a href="{o}/blog/">Blog</a> <a href="/old">Old</a>
<img src="/img/a.png" srcset="{o}/img/a-2x.png 2x" alt="">
<div style="background: url({o}/img/bg.png)"></div>
<a href="/account">Account</a> <a href="/dashboard">Dashboard</a> <a href="/members">Members</a>
<a href="/missing">Missing</a> <a href="/search?q=tusk">Search</a> <a href="https://external.example/x">Ext</a>
<a href="/a%5c..%5c..%5cescape">x</a> <a href="/nul%00byte">x</a> <a href="/..%2f..%2fescape">x</a>
<a href="/a/a/a/a/a/">loop</a> <a href="/calendar/1/">Calendar</a> <a href="/Case.html">c1</a> <a href="/case.html">c2</a>
</body></html>"#
        ))),
        ("/about", Route::html("<h1>About</h1>")),
        ("/blog/", Route::html("<a href=\"post-1\">Post 1</a>")),
        ("/blog/post-1", Route::html("<p>Post one</p>")),
        ("/css/site.css", Route::new(200, "text/css", "@import \"/css/extra.css\"; body{background:url('/img/bg.png')}")),
        ("/css/extra.css", Route::new(200, "text/css", "p{color:red}")),
        ("/img/a.png", Route::new(200, "image/png", PNG)),
        ("/img/a-2x.png", Route::new(200, "image/png", PNG)),
        ("/img/bg.png", Route::new(200, "image/png", PNG)),
        ("/old", Route::redirect(301, "/about")),
        ("/account", Route::html("secret account page").header("set-cookie", "session=abc; HttpOnly")),
        ("/dashboard", Route::html("private dashboard").header("cache-control", "private, max-age=0")),
        ("/members", Route::new(401, "text/html", "log in").header("www-authenticate", "Basic")),
        ("/sitemap.xml", Route::new(200, "application/xml", format!(
            "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url><loc>{o}/from-sitemap</loc></url></urlset>"
        ))),
        ("/from-sitemap", Route::html("<p>Only in the sitemap</p>")),
        ("/Case.html", Route::html("upper")),
        ("/case.html", Route::html("lower")),
    ];
    for (path, route) in routes {
        origin.set(path, route);
    }
    origin
}

fn project(origin: &Origin, extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"{}\"\nmax_depth = 6\n{extra}",
            origin.url
        ),
    );
    p
}

fn snapshot(p: &Project, extra: &[&str]) -> Value {
    let mut args = vec!["snapshot", "--json"];
    args.extend_from_slice(extra);
    p.run(&args).success().result()
}

fn tree(p: &Project) -> BTreeMap<String, Value> {
    let tree: Value = serde_json::from_str(&p.read(".tusk/snapshot/.tusk-tree.json")).unwrap();
    tree["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["key"].as_str().unwrap().to_string(), o.clone()))
        .collect()
}

fn reasons(report: &Value) -> Vec<(String, String)> {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["url"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn saves_a_servable_copy_and_refuses_what_is_private_or_hostile() {
    let origin = site_origin();
    let p = project(&origin, "");
    let report = snapshot(&p, &[]);
    let tree = tree(&p);
    let keys: Vec<&str> = tree.keys().map(String::as_str).collect();
    for expected in [
        "index.html",
        "about/index.html",
        "blog/index.html",
        "blog/post-1/index.html",
        "css/site.css",
        "css/extra.css",
        "img/a.png",
        "img/a-2x.png",
        "img/bg.png",
        "sitemap.xml",
        "from-sitemap/index.html",
        "404.html",
        "old/index.html",
    ] {
        assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
    }
    // The origin's content types, a redirect entry instead of a body.
    assert_eq!(tree["css/site.css"]["content_type"], "text/css");
    assert_eq!(tree["img/a.png"]["content_type"], "image/png");
    assert_eq!(tree["index.html"]["cache_class"], "html");
    assert_eq!(tree["old/index.html"]["redirect"], "/about");
    assert!(!p.path(".tusk/snapshot/old/index.html").exists());
    assert!(report["not_found_page"].as_bool().unwrap());
    assert!(p.read(".tusk/snapshot/404.html").contains("Not here"));

    // Links to the origin became root-relative; the copy works anywhere.
    let home = p.read(".tusk/snapshot/index.html");
    assert!(!home.contains(&origin.url), "{home}");
    assert!(home.contains(r#"href="/blog/""#) && home.contains(r#"href="/css/site.css""#));
    assert!(home.contains(r#"srcset="/img/a-2x.png 2x""#));
    assert!(
        home.contains("https://external.example/x"),
        "external links stay"
    );

    // Nothing private, nothing behind auth, no query URLs.
    for private in ["account", "dashboard", "members", "search"] {
        assert!(
            !keys.iter().any(|k| k.contains(private)),
            "{private} saved: {keys:?}"
        );
    }
    let reasons = reasons(&report);
    let reason_for = |path: &str| {
        reasons
            .iter()
            .find(|(u, _)| u.ends_with(path))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{path} not reported: {reasons:?}"))
    };
    assert!(reason_for("/account").contains("Set-Cookie"));
    assert!(reason_for("/dashboard").contains("private"));
    assert!(reason_for("/members").contains("401"));
    assert!(reason_for("/search?q=tusk").contains("query string"));
    assert!(reason_for("/a/a/a/a/a/").contains("trap"));
    assert!(reason_for("/case.html").contains("case"), "{reasons:?}");
    let broken = report["broken"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["url"].as_str().unwrap().ends_with("/missing"))
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(broken["status"], 404);
    assert!(broken["linked_from"].as_str().unwrap().ends_with('/'));

    // The endless calendar ended at max_depth.
    let calendar = origin
        .log()
        .iter()
        .filter(|l| l.path.starts_with("/calendar/"))
        .count();
    assert!(
        (1..=7).contains(&calendar),
        "{calendar} calendar pages fetched"
    );

    // Requests carried no cookies or credentials.
    for l in origin.log() {
        for (k, _) in &l.headers {
            assert!(k != "cookie" && k != "authorization", "{} sent {k}", l.path);
        }
    }
    // Nothing outside the snapshot folder; every file in it is in the tree.
    let files = common::snapshot_dir(&p.path(".tusk/snapshot"));
    for key in files.keys() {
        assert!(
            key.starts_with(".tusk-") || tree.contains_key(key),
            "{key} is not in the tree"
        );
    }
    assert!(!p.path("escape").exists() && !p.path(".tusk/escape").exists());

    // The snapshot publishes as it is, beside a build: keys both produce
    // need an owner named in the config.
    p.run(&["build"]).success();
    let refused = p.run(&["publish"]);
    assert_eq!(refused.code(), Some(1));
    assert!(
        refused.stderr().contains("css/site.css") && refused.stderr().contains("publish.prefer"),
        "{}",
        refused.stderr()
    );
    assert!(!p.path("bucket/blog/post-1/index.html").exists());
    let config = p
        .read("config/tusk.toml")
        .replace("[publish]\n", "[publish]\nprefer = \"snapshot\"\n");
    p.write("config/tusk.toml", &config);
    p.run(&["publish"]).success();
    assert_eq!(p.read("bucket/blog/post-1/index.html"), "<p>Post one</p>");
    assert_eq!(
        p.read("bucket/css/site.css"),
        p.read(".tusk/snapshot/css/site.css")
    );
    let meta: Value =
        serde_json::from_str(&p.read("bucket/.tusk-meta/old/index.html.json")).unwrap();
    assert_eq!(meta["redirect"], "/about");
}

#[test]
fn reruns_are_conditional_keep_unchanged_files_and_report_removed_pages() {
    let origin = site_origin();
    for (path, body) in [
        ("/about", "<h1>About</h1>"),
        ("/from-sitemap", "<p>Only in the sitemap</p>"),
    ] {
        origin.set(
            path,
            Route::html(body).header("etag", &format!("\"{}\"", body.len())),
        );
    }
    let p = project(&origin, "");
    snapshot(&p, &[]);
    let about = p.path(".tusk/snapshot/about/index.html");
    let mtime = std::fs::metadata(&about).unwrap().modified().unwrap();

    origin.clear_log();
    origin.remove("/from-sitemap");
    origin.set(
        "/sitemap.xml",
        Route::new(200, "application/xml", "<urlset></urlset>"),
    );
    let again = snapshot(&p, &[]);
    let sent = origin
        .log()
        .into_iter()
        .find(|l| l.path == "/about")
        .unwrap();
    assert!(
        sent.headers
            .iter()
            .any(|(k, v)| k == "if-none-match" && v == "\"14\""),
        "{:?}",
        sent.headers
    );
    assert_eq!(again["unchanged"], 1, "{again:#}");
    assert_eq!(
        std::fs::metadata(&about).unwrap().modified().unwrap(),
        mtime
    );
    assert!(tree(&p).contains_key("about/index.html"));
    assert_eq!(
        again["removed"],
        serde_json::json!(["from-sitemap/index.html"])
    );

    // --full ignores the validators.
    origin.clear_log();
    snapshot(&p, &["--full"]);
    assert!(origin
        .log()
        .iter()
        .all(|l| l.headers.iter().all(|(k, _)| k != "if-none-match")));
}

#[test]
fn a_failed_snapshot_leaves_the_previous_one_intact() {
    let origin = site_origin();
    let p = project(&origin, "retries = 1\n");
    snapshot(&p, &[]);
    let before = common::snapshot_dir(&p.path(".tusk/snapshot"));

    origin.set("/", Route::new(503, "text/html", "down"));
    let run = p.run(&["snapshot"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("answered 503")
            && run.stderr().contains("previous snapshot is unchanged"),
        "{}",
        run.stderr()
    );
    assert_eq!(before, common::snapshot_dir(&p.path(".tusk/snapshot")));

    // An origin that is not there at all.
    let run = p.run(&["snapshot", "--origin", "http://127.0.0.1:9"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("cannot fetch http://127.0.0.1:9/"),
        "{}",
        run.stderr()
    );
    assert_eq!(before, common::snapshot_dir(&p.path(".tusk/snapshot")));

    let run = p.run(&["snapshot", "--origin", "http://user:pw@127.0.0.1:9"]);
    assert_eq!(run.code(), Some(1));
    assert!(run.stderr().contains("must not carry credentials") && !run.stderr().contains("pw@"));
}

#[test]
fn query_urls_can_be_stored_under_hashed_keys() {
    let origin = site_origin();
    origin.set("/search?q=tusk", Route::html("<p>results</p>"));
    let p = project(&origin, "query = \"hash\"\n");
    snapshot(&p, &[]);
    let tree = tree(&p);
    let key = tree
        .keys()
        .find(|k| k.starts_with("search/index.q-"))
        .unwrap_or_else(|| panic!("{:?}", tree.keys()));
    let home = p.read(".tusk/snapshot/index.html");
    assert!(home.contains(&format!("href=\"/{key}\"")), "{home}");
}

/// Every `href`/`src` of an HTML page (no character references in these tests).
fn references(html: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_string()).collect()
}

#[test]
fn hash_mode_pages_one_folder_deeper_keep_every_link_working() {
    let origin = Origin::start(Vec::new(), |_| None);
    let topic = r##"<link rel="stylesheet" href="style.css"><a href="other/">other</a>
<img src="img/a.png"><a href="?key=Y">next</a><a href="#top">top</a><a href="/about/">about</a>"##;
    for (path, route) in [
        ("/", Route::html(r#"<a href="/topic?key=X">topic</a>"#)),
        ("/topic?key=X", Route::html(topic)),
        ("/topic?key=Y", Route::html("<p>Y</p>")),
        ("/style.css", Route::new(200, "text/css", "p{}")),
        ("/other/", Route::html("<p>other</p>")),
        ("/about/", Route::html("<p>about</p>")),
        ("/img/a.png", Route::new(200, "image/png", PNG)),
    ] {
        origin.set(path, route);
    }
    let p = project(&origin, "query = \"hash\"\nsitemap = false\n");
    snapshot(&p, &[]);
    let tree = tree(&p);
    let key = tree
        .keys()
        .find(|k| k.starts_with("topic/index.q-"))
        .unwrap_or_else(|| panic!("{:?}", tree.keys()))
        .clone();
    let page = p.read(&format!(".tusk/snapshot/{key}"));
    // Served from its key, one folder deeper than `/topic?key=X`: every
    // reference still names a saved object, as it did on the origin.
    let served_at = url::Url::parse(&format!("http://fallback.test/{key}")).unwrap();
    let refs = references(&page);
    assert_eq!(refs.len(), 6, "{page}");
    for r in refs.iter().filter(|r| !r.starts_with('#')) {
        let path = served_at.join(r).unwrap().path().to_string();
        let rel = path.trim_start_matches('/');
        let found = tree.contains_key(rel) || tree.contains_key(&format!("{rel}index.html"));
        assert!(
            found,
            "{r} -> {path} is not in the snapshot: {:?}",
            tree.keys()
        );
    }
    for expected in [
        r#"href="/style.css""#,
        r#"href="/other/""#,
        r#"src="/img/a.png""#,
        r##"href="#top""##,
    ] {
        assert!(page.contains(expected), "{expected} not in {page}");
    }
}

#[test]
fn shortlinks_come_back_as_redirects_and_the_plain_page_stays() {
    let origin = Origin::start(Vec::new(), |_| None);
    let home = r#"<link rel="shortlink" href="/?p=123"><h1>Home</h1>
<a href="/?p=7">draft</a> <a href="/list?page=2">page 2</a>"#;
    for (path, route) in [
        ("/", Route::html(home)),
        ("/?p=123", Route::redirect(301, "/2024/hello/")),
        ("/?p=7", Route::redirect(302, "/2024/draft/")),
        ("/2024/hello/", Route::html("<h1>Hello</h1>")),
        ("/2024/draft/", Route::html("<h1>Draft</h1>")),
        ("/list?page=2", Route::html("<h1>Page 2</h1>")),
    ] {
        origin.set(path, route);
    }
    let p = project(&origin, "sitemap = false\n");
    let report = snapshot(&p, &[]);
    assert_eq!(report["redirects"], 2, "{report:#}");
    let reasons = reasons(&report);
    assert!(
        reasons.iter().any(|(u, r)| u.ends_with("/list?page=2")
            && r.contains("query string")
            && r.contains("not a redirect")),
        "{reasons:?}"
    );
    assert!(
        report["skipped_by_reason"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains("not a redirect")),
        "{report:#}"
    );
    p.run(&["publish"]).success();

    // The origin is gone: the bucket answers the shortlinks as the origin did.
    let edge = Edge::start(&p, "edge", &["--origin", "http://127.0.0.1:9"]);
    let short = edge.get("/?p=123");
    assert_eq!(
        (short.status, short.header("location")),
        (301, "/2024/hello/")
    );
    let draft = edge.get("/?p=7");
    assert_eq!(
        (draft.status, draft.header("location")),
        (302, "/2024/draft/")
    );
    for path in ["/", "/?utm_source=x"] {
        let page = edge.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.text().contains("<h1>Home</h1>"),
            "{path}: {}",
            page.text()
        );
    }
    assert!(edge.get("/2024/hello/").text().contains("Hello"));
}

#[test]
fn transient_origin_errors_are_retried_and_persistent_ones_reported() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let origin = Origin::start(
        vec![(
            "/",
            Route::html("<a href=\"/flaky\">flaky</a> <a href=\"/broken-server\">down</a>"),
        )],
        move |path| match path {
            // Fails twice, then answers.
            "/flaky" if counter.fetch_add(1, Ordering::SeqCst) < 2 => {
                Some(Route::new(503, "text/plain", "busy"))
            }
            "/flaky" => Some(Route::html("<p>finally</p>")),
            "/broken-server" => Some(Route::new(500, "text/plain", "boom")),
            _ => None,
        },
    );
    let p = project(&origin, "retries = 2\n");
    let report = snapshot(&p, &[]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(p.read(".tusk/snapshot/flaky/index.html"), "<p>finally</p>");
    assert_eq!(report["errors"].as_array().unwrap().len(), 1, "{report:#}");
    assert!(report["errors"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/broken-server"));
    let tries = origin
        .log()
        .iter()
        .filter(|l| l.path == "/broken-server")
        .count();
    assert_eq!(tries, 3, "one attempt and two retries");

    // More failures than max_errors: the run fails, nothing is replaced.
    let before = common::snapshot_dir(&p.path(".tusk/snapshot"));
    p.write(
        "config/tusk.toml",
        &format!(
            "[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"{}\"\nretries = 0\nmax_errors = 0\n",
            origin.url
        ),
    );
    let run = p.run(&["snapshot"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("snapshot.max_errors"),
        "{}",
        run.stderr()
    );
    assert_eq!(before, common::snapshot_dir(&p.path(".tusk/snapshot")));
}
