//! Built pages never need the origin (issue 21, item 3): `tusk publish`
//! records which keys the build owns, and `tusk edge` answers those from
//! the bucket without asking the origin, on `file://` and on `s3://`
//! (moto). Every other path still goes to the origin first. The origin
//! here passes its health check and answers 500 to everything else, so a
//! built page that reached it would show in its log.

mod common;

use common::edge::Edge;
use common::origin::{Origin, Route};
use common::s3::S3Server;
use common::Project;

const HEALTH: &str = "[health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n";

fn site(p: &Project) {
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, as built\n",
    );
    p.write("site/css/site.css", "body{color:red}");
    p.write(
        "site/404.md",
        "---\npermalink: /404.html\n---\nNothing here\n",
    );
}

/// Healthy at `/healthz`, 500 everywhere else; every request logged.
fn failing_origin() -> Origin {
    Origin::start(vec![("/healthz", Route::html("ok"))], |_| {
        Some(Route::new(500, "text/plain", "the origin is broken"))
    })
}

fn origin_asked(origin: &Origin) -> Vec<String> {
    origin
        .log()
        .into_iter()
        .map(|l| l.path)
        .filter(|p| p != "/healthz")
        .collect()
}

/// The built pages come from the bucket, byte for byte, and the origin
/// is never asked for them; a path the build does not own is.
fn built_pages_come_from_the_bucket(p: &Project, env: &[(&str, String)]) {
    let origin = failing_origin();
    let edge = Edge::start_env(p, "edge", &["--origin", &origin.url], env);
    assert_eq!(edge.status()["route"], "origin");
    for (path, built) in [
        ("/", "public/index.html"),
        ("/about/", "public/about/index.html"),
        ("/css/site.css", "public/css/site.css"),
    ] {
        for _ in 0..2 {
            let answer = edge.get(path);
            assert_eq!((answer.status, answer.cache()), (200, "Bucket"), "{path}");
            assert_eq!(answer.body, p.read(built).as_bytes(), "{path}");
        }
    }
    // A visitor's cookie changes nothing on a built page.
    let url = format!("{}/about/", edge.url);
    let with_cookie = edge.http.get(&url, &[("cookie", "session=abc")]);
    assert_eq!((with_cookie.status, with_cookie.cache()), (200, "Bucket"));
    assert_eq!(origin_asked(&origin), Vec::<String>::new());

    // Not the build's: the origin first (its 500 then falls back).
    let other = edge.get("/shop/cart");
    assert_eq!(other.status, 404);
    assert_eq!(origin_asked(&origin), ["/shop/cart"]);
    let status = edge.status();
    assert_eq!(status["requests"]["bucket_primary"], 7, "{status:#}");
    assert_eq!(status["built"]["folders"], 2, "{status:#}");
    let text = p.run_env(&["status"], env).success().stdout();
    assert!(
        text.contains(
            "Built:    2 folders and 6 keys answered from the bucket, never the origin (7 answers)"
        ),
        "{text}"
    );
    // The access log agrees: `tusk offload` has a row of bucket answers.
    let bucket_row = |report: &serde_json::Value| {
        report["by_result"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["result_type"] == "Bucket"))
            .map(|r| r["requests"].clone())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let report = p.run_env(&["offload", "--json"], env).success().result();
        if bucket_row(&report) == Some(serde_json::json!(7)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{report:#}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn built_pages_on_a_file_target_are_served_from_the_bucket_without_the_origin() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!("[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n{HEALTH}"),
    );
    site(&p);
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let built: serde_json::Value =
        serde_json::from_str(&p.read("bucket-tusk-state/.tusk/built.json")).unwrap();
    assert_eq!(built["version"], 1);
    assert_eq!(built["folders"], serde_json::json!(["about/", "css/"]));
    assert_eq!(
        built["keys"],
        serde_json::json!([
            "404.html",
            "favicon.svg",
            "feed.xml",
            "index.html",
            "robots.txt",
            "sitemap.xml"
        ])
    );
    assert!(
        !p.path("bucket/.tusk/built.json").exists(),
        "the list stays out of the served target"
    );
    built_pages_come_from_the_bucket(&p, &[]);
}

#[test]
fn built_pages_on_an_s3_target_are_served_from_the_bucket_without_the_origin() {
    let s3 = S3Server::start();
    let p = common::s3::s3_project(&s3, "site-bucket", "");
    p.write(
        "config/tusk.toml",
        &format!("{}{HEALTH}", p.read("config/tusk.toml")),
    );
    site(&p);
    p.run(&["build"]).success();
    p.run_env(&["publish"], &s3.env()).success();
    let built = s3.get("site-bucket-tusk-state", ".tusk/built.json");
    let built: serde_json::Value = serde_json::from_slice(&built).unwrap();
    assert_eq!(built["folders"], serde_json::json!(["about/", "css/"]));
    built_pages_come_from_the_bucket(&p, &s3.env());
}

/// A list naming a key the bucket lacks (stale) never breaks the page:
/// the origin answers it, as before there was a list.
#[test]
fn a_built_key_missing_from_the_bucket_is_asked_of_the_origin() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!("[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n{HEALTH}"),
    );
    site(&p);
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    std::fs::remove_file(p.path("bucket/about/index.html")).unwrap();
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")))
    });
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    let about = edge.get("/about/");
    assert_eq!((about.status, about.text()), (200, "origin /about/".into()));
    assert_eq!(about.cache(), "Miss");
    assert_eq!(origin_asked(&origin), ["/about/"]);
}

/// A rollback puts back the list of the publish it restores; a purge
/// takes the key out of the list in every record.
#[test]
fn a_rollback_restores_the_list_of_built_keys_and_a_purge_leaves_the_key_out_of_every_record() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    site(&p);
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let first = p.read("bucket-tusk-state/.tusk/built.json");
    let ids = |p: &Project| {
        let mut ids: Vec<String> = std::fs::read_dir(p.path("bucket-tusk-state/.tusk/publishes"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .replace(".json", "")
            })
            .collect();
        ids.sort();
        ids
    };
    let before = ids(&p);
    p.write("site/shop/index.md", "---\ntitle: Shop\n---\nShop\n");
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    let second = p.read("bucket-tusk-state/.tusk/built.json");
    assert_ne!(first, second);
    assert!(second.contains("shop/"), "{second}");
    p.run(&["publish", "--rollback", &before[0]]).success();
    assert_eq!(p.read("bucket-tusk-state/.tusk/built.json"), first);

    // A purged key leaves every record's list with the body it named.
    p.run(&["publish", "--purge", "robots.txt"]).success();
    for id in ids(&p) {
        let record = p.read(&format!("bucket-tusk-state/.tusk/publishes/{id}.json"));
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        let keys = record["built"]["keys"].as_array().unwrap();
        assert!(!keys.contains(&"robots.txt".into()), "{id}: {keys:?}");
        assert!(keys.contains(&"index.html".into()), "{id}: {keys:?}");
    }
}
