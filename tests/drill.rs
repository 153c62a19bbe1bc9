//! `tusk drill`: the game-day check that the bucket copy would serve the
//! site if the origin died now. On the edge it forces fallback mode,
//! requests every object through the edge from the bucket and restores
//! the mode; on CloudFront it checks the origin group and reads the sample
//! from the bucket (moto's S3). Every kind of gap makes it exit 1.

mod common;

use common::cloudfront::{CloudFront, DIST, SEED};
use common::edge::Edge;
use common::origin::{Origin, Route};
use common::s3::{S3Server, SECRET};
use common::Project;
use serde_json::{json, Value};

/// The snapshot tree: one captured page and one captured redirect.
fn write_snapshot(p: &Project, created: &str, redirect_to: &str) {
    let page = "<html><body>Live donations page</body></html>";
    p.write(".tusk/snapshot/donate/index.html", page);
    let object = |key: &str, body: &str| {
        let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(body.as_bytes()));
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
        json!({"key": key, "size": body.len(), "md5": md5, "sha256": sha,
               "content_type": "text/html; charset=utf-8", "cache_class": "html"})
    };
    let mut redirect = object("old-donate/index.html", "");
    redirect["cache_class"] = "redirect".into();
    redirect["redirect"] = redirect_to.into();
    p.write(".tusk/snapshot/old-donate/index.html", "");
    let tree = json!({"version": 1, "producer": "snapshot", "created": created,
                      "objects": [object("donate/index.html", page), redirect]});
    p.write(".tusk/snapshot/.tusk-tree.json", &tree.to_string());
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn site(p: &Project) {
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout from the bucket\n",
    );
    p.write("site/css/site.css", "body{}");
    p.write(
        "site/_posts/2024-05-01-hello.md",
        "---\ntitle: Hello\nredirect_from: [/hello/]\n---\nHi\n",
    );
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report:#}"))
}

fn gap_items(report: &Value, name: &str) -> Vec<String> {
    check(report, name)["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["item"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_edge_drill_serves_every_object_from_the_bucket_and_restores_the_mode() {
    // The origin answers everything with cacheable copies that differ from
    // the bucket's: a drill that read the edge's cache would notice nothing.
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")).header("cache-control", "max-age=600"))
    });
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"{}\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n[edge]\nbuilt_from_bucket = false\n",
        origin.url
    ));
    site(&p);
    write_snapshot(&p, &now(), "/donate/");
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    for path in ["/", "/about/", "/donate/"] {
        assert!(edge.get(path).text().starts_with("origin "), "{path}");
        assert_eq!(edge.get(path).cache(), "Hit", "{path} is cached");
    }

    let run = p.run(&["drill", "--json"]).success();
    let report = run.result();
    assert_eq!(report["ok"], true, "{report:#}");
    let objects = p.tree()["objects"].as_array().unwrap().len() + 2;
    assert_eq!(report["objects"], objects);
    assert_eq!(check(&report, "bucket")["checked"], objects);
    assert_eq!(check(&report, "redirects")["checked"], 2, "{report:#}");
    assert_eq!(check(&report, "snapshot")["status"], "ok");
    let edge_check = check(&report, "edge");
    assert_eq!(edge_check["status"], "ok", "{report:#}");
    assert_eq!(edge_check["checked"], objects);
    assert!(
        edge_check["detail"]
            .as_str()
            .unwrap()
            .contains("mode restored (route origin)"),
        "{edge_check:#}"
    );
    // Back to normal: unpinned, the origin's cached copies still served.
    let status = edge.status();
    assert_eq!(
        (status["route"].clone(), status["pinned"].clone()),
        (json!("origin"), json!(false))
    );
    assert_eq!(status["last_switch"]["reason"], "tusk drill done");
    assert!(status["requests"]["fallback"].as_u64().unwrap() >= objects as u64);
    assert_eq!(edge.get("/about/").cache(), "Hit");

    // A sample, repeatable by its seed; the text table for people.
    let a = p
        .run(&["drill", "--json", "--sample", "3", "--seed", "7"])
        .success()
        .result();
    let b = p
        .run(&["drill", "--json", "--sample", "3", "--seed", "7"])
        .success()
        .result();
    assert_eq!(
        (a["sampled"].clone(), a["seed"].clone()),
        (json!(3), json!(7))
    );
    assert_eq!(check(&a, "edge")["checked"], 3);
    assert_eq!(a["sampled"], b["sampled"]);
    let text = p.run(&["drill", "--sample", "2"]).success().stdout();
    assert!(
        text.contains("CHECK") && text.contains("edge") && text.contains("Drill passed"),
        "{text}"
    );

    // An operator's failover is left in place.
    p.run(&["failover", "--reason", "incident 42"]).success();
    let pinned = p.run(&["drill", "--json"]).success().result();
    assert!(check(&pinned, "edge")["detail"]
        .as_str()
        .unwrap()
        .contains("stays"));
    let status = edge.status();
    assert_eq!(status["pinned"], true);
    assert_eq!(status["last_switch"]["reason"], "incident 42");
    p.run(&["failback"]).success();
}

#[test]
fn every_kind_of_gap_fails_the_drill_and_is_named() {
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")))
    });
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"{}\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n[drill]\nmax_snapshot_age_hours = 6\n",
        origin.url
    ));
    site(&p);
    // Taken 7 hours ago, and its redirect leads nowhere.
    let old = (chrono::Utc::now() - chrono::Duration::hours(7))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    write_snapshot(&p, &old, "/gone/");
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    // A content edit built but not published.
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, edited\n",
    );
    p.run(&["build"]).success();
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    let run = p.run(&["drill", "--json"]);
    assert_eq!(run.code(), Some(1));
    let report = run.result();
    assert_eq!(report["ok"], false);
    assert_eq!(
        gap_items(&report, "bucket"),
        ["about/index.html"],
        "{report:#}"
    );
    assert_eq!(gap_items(&report, "redirects"), ["old-donate/index.html"]);
    assert!(check(&report, "snapshot")["gaps"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("7.0 h old"));
    let url = format!("{}/about/", edge.url);
    assert_eq!(gap_items(&report, "edge"), [url]);
    assert!(
        run.stderr().contains("the drill found 4 gaps"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        edge.status()["pinned"],
        false,
        "restored after a failed drill too"
    );

    let text = p.run(&["drill"]);
    assert_eq!(text.code(), Some(1));
    let out = text.stdout();
    assert!(out.contains("GAP") && out.contains("Drill FAILED"), "{out}");
    assert!(
        out.contains("about/index.html: stored bytes have MD5"),
        "{out}"
    );
    assert!(
        out.contains("redirects to /gone/, which is not in the tree"),
        "{out}"
    );

    // No edge running: a gap, not a crash.
    drop(edge);
    let run = p.run(&["drill", "--json", "--edge", "http://127.0.0.1:9"]);
    assert_eq!(run.code(), Some(1));
    assert!(check(&run.result(), "edge")["gaps"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("no edge answering"));
}

#[test]
fn redirects_to_pages_the_snapshot_excludes_are_reported_as_excluded_not_gaps() {
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")))
    });
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"{}\"\n\
         exclude = [\"/wp-login.php\", \"/wp-admin/**\"]\n[health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n",
        origin.url
    ));
    site(&p);
    // `/old-donate/` -> the login page, which the snapshot leaves out.
    write_snapshot(&p, &now(), "/wp-login.php?redirect_to=%2Fwp-admin%2F");
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let _edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    let run = p.run(&["drill", "--json"]);
    let report = run.result();
    assert_eq!(report["ok"], true, "{report:#}");
    let redirects = check(&report, "redirects");
    assert_eq!(redirects["status"], "ok", "{redirects:#}");
    assert_eq!(redirects["excluded"][0]["item"], "old-donate/index.html");
    assert!(redirects["excluded"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("excluded by snapshot.exclude"));
    let out = p.run(&["drill"]).success().stdout();
    assert!(out.contains("1 excluded in redirects (not gaps)"), "{out}");
}

#[test]
fn the_cloudfront_drill_checks_the_origin_group_and_reads_the_sample_from_s3() {
    let s3 = S3Server::start();
    s3.aws(&["s3api", "create-bucket", "--bucket", "site-bucket"]);
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |_| None);
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket\"\n[publish.s3]\npath_style = true\n\
         [snapshot]\norigin = \"{}\"\n[health]\nurls = [\"/healthz\"]\n{}",
        origin.url,
        cf.cdn_config("")
    ));
    site(&p);
    write_snapshot(&p, &now(), "/donate/");
    let mut env = s3.env();
    env.extend(cf.env());
    p.run(&["build"]).success();
    p.run_env(&["publish", "--no-invalidate"], &env).success();

    // Before `tusk cdn apply` there is no origin group: gaps, named.
    let run = p.run_env(&["drill", "--json"], &env);
    assert_eq!(run.code(), Some(1));
    let report = run.result();
    let cloudfront = check(&report, "cloudfront");
    let problems: Vec<&str> = cloudfront["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["problem"].as_str().unwrap())
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("origin group tusk-failover is missing")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("no fallback to the bucket")),
        "{problems:#?}"
    );
    assert_eq!(check(&report, "bucket")["status"], "ok", "{report:#}");

    p.run_env(&["cdn", "apply"], &env).success();
    let run = p
        .run_env(&["drill", "--json", "--sample", "4"], &env)
        .success();
    let report = run.result();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(check(&report, "cloudfront")["checked"], 4);
    assert!(report.get("edge").is_none());

    // Failed over is still a working fallback; an object deleted behind
    // tusk's back is a gap in the bucket check and, when sampled, here.
    p.run_env(&["failover"], &env).success();
    s3.aws(&[
        "s3api",
        "delete-object",
        "--bucket",
        "site-bucket",
        "--key",
        "about/index.html",
    ]);
    let run = p.run_env(&["drill", "--json"], &env);
    assert_eq!(run.code(), Some(1));
    let report = run.result();
    assert_eq!(gap_items(&report, "bucket"), ["about/index.html"]);
    assert_eq!(gap_items(&report, "cloudfront"), ["about/index.html"]);
    assert!(!run.stdout().contains(SECRET) && !run.stderr().contains(SECRET));
}

/// `index.html` + `p=1` -> `index.q-<first 4 bytes of SHA-256 of the query>.html`.
fn query_key(key: &str, query: &str) -> String {
    let hash = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(query.as_bytes())[..4]);
    let (stem, ext) = key.rsplit_once('.').unwrap();
    format!("{stem}.q-{hash}.{ext}")
}

#[test]
fn links_and_redirects_with_a_query_resolve_through_their_query_keys() {
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")))
    });
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"{}\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n",
        origin.url
    ));
    site(&p);
    let page = "<html><head><link rel=\"stylesheet\" href=\"/style.php?ver=2\">\
                <script src=\"/app.php?v=9\"></script></head><body>Shop</body></html>";
    let css = "body { color: red }";
    let go = "<html><body>Item 7</body></html>";
    let style_key = query_key("style.php", "ver=2");
    let go_key = query_key("go/index.html", "id=7");
    let object = |key: &str, body: &str, content_type: &str| {
        let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(body.as_bytes()));
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
        p.write(&format!(".tusk/snapshot/{key}"), body);
        json!({"key": key, "size": body.len(), "md5": md5, "sha256": sha,
               "content_type": content_type, "cache_class": "html"})
    };
    let mut redirect = object("old-item/index.html", "", "text/html; charset=utf-8");
    redirect["cache_class"] = "redirect".into();
    redirect["redirect"] = "/go?id=7".into();
    let objects = vec![
        object("shop/index.html", page, "text/html; charset=utf-8"),
        object(&style_key, css, "text/css; charset=utf-8"),
        object(&go_key, go, "text/html; charset=utf-8"),
        redirect,
    ];
    let tree = json!({"version": 1, "producer": "snapshot", "created": now(), "objects": objects});
    p.write(".tusk/snapshot/.tusk-tree.json", &tree.to_string());
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let _edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    let run = p.run(&["drill", "--json"]);
    assert_eq!(run.code(), Some(1));
    let report = run.result();
    // The stylesheet saved under its query key resolves; the script saved
    // under no key is the one gap.
    assert_eq!(gap_items(&report, "links"), ["/app.php?v=9"], "{report:#}");
    assert_eq!(check(&report, "redirects")["status"], "ok", "{report:#}");
    assert!(gap_items(&report, "redirects").is_empty());
}
