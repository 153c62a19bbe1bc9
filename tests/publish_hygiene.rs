//! Publish hygiene (issue 26), against moto's S3 server with the AWS CLI
//! reading the results back: what is unpublished is gone from the served
//! bucket, header changes reach it, and what third-party clients read is
//! right.

mod common;
use common::s3::{S3Server, SECRET};
use common::Project;
use serde_json::Value;

const BUCKET: &str = "site-bucket";
const STATE: &str = "site-bucket-tusk-state";

fn project(server: &S3Server, extra_publish: &str) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://{BUCKET}/live\"\n{extra_publish}\n\
             [publish.s3]\npath_style = true\n"
        ),
    );
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    server.aws(&["s3api", "create-bucket", "--bucket", BUCKET]);
    p
}

fn publish(p: &Project, server: &S3Server, extra: &[&str]) -> Value {
    let mut args = vec!["publish", "--json", "--no-invalidate"];
    args.extend_from_slice(extra);
    let run = p.run_env(&args, &server.env()).success();
    assert!(
        !run.stdout().contains(SECRET) && !run.stderr().contains(SECRET),
        "secret leaked"
    );
    run.result()
}

/// Every key of a bucket (all prefixes).
fn keys(server: &S3Server, bucket: &str) -> Vec<String> {
    let listing = server.aws(&["s3api", "list-objects-v2", "--bucket", bucket]);
    listing["Contents"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["Key"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn get(server: &S3Server, bucket: &str, key: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("body");
    server.aws(&[
        "s3api",
        "get-object",
        "--bucket",
        bucket,
        "--key",
        key,
        out.to_str().unwrap(),
    ]);
    std::fs::read(out).unwrap()
}

fn head(server: &S3Server, key: &str) -> Value {
    server.aws(&[
        "s3api",
        "head-object",
        "--bucket",
        BUCKET,
        "--key",
        &format!("live/{key}"),
    ])
}

/// Any object of the served bucket whose body contains `needle`.
fn served_with(server: &S3Server, needle: &str) -> Vec<String> {
    keys(server, BUCKET)
        .into_iter()
        .filter(|k| String::from_utf8_lossy(&get(server, BUCKET, k)).contains(needle))
        .collect()
}

#[test]
fn a_removed_page_leaves_the_served_bucket_and_purge_forgets_it() {
    let server = S3Server::start();
    let p = project(&server, "");
    // An older tusk kept its records in the served bucket: they move.
    p.write("legacy.json", "{\"id\": \"legacy\"}");
    server.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        BUCKET,
        "--key",
        "live/.tusk/retained.json",
        "--body",
        p.path("legacy.json").to_str().unwrap(),
    ]);
    p.write(
        "site/leak.md",
        "---\npermalink: /leak/\n---\nTOKEN-hunter2-LEAKED\n",
    );
    p.run(&["build"]).success();
    let first = publish(&p, &server, &[]);
    assert_eq!(first["migrated"], 1, "{first:#}");
    assert_eq!(first["state"], format!("s3://{STATE}/live"));

    std::fs::remove_file(p.path("site/leak.md")).unwrap();
    p.run(&["build"]).success();
    let second = publish(&p, &server, &[]);
    assert_eq!(second["deletes"][0], "leak/index.html", "{second:#}");
    assert_eq!(
        second["archived"], 2,
        "the page and the sitemap: {second:#}"
    );

    // Nothing of tusk's, and nothing of the removed page, is served.
    let served = keys(&server, BUCKET);
    assert!(
        served.iter().all(|k| !k.contains(".tusk/")),
        "tusk's records in the served bucket: {served:?}"
    );
    assert!(served_with(&server, "hunter2").is_empty());
    // The rollback archive kept it, privately.
    let state = keys(&server, STATE);
    assert!(
        state.contains(&"live/.tusk/retained.json".to_string()),
        "{state:?}"
    );
    assert!(state.iter().any(|k| k.starts_with("live/.tusk/objects/")));

    // The incident: purge the body and every record naming the page.
    let run = p
        .run_env(&["publish", "--purge", "leak/index.html"], &server.env())
        .success();
    let out = run.stdout();
    assert!(
        out.contains("removed live/.tusk/objects/") || out.contains("removed .tusk/objects/"),
        "{out}"
    );
    for key in keys(&server, STATE) {
        let body = String::from_utf8_lossy(&get(&server, STATE, &key)).into_owned();
        assert!(!body.contains("hunter2"), "{key} still holds the secret");
        assert!(
            !body.contains("leak/index.html"),
            "{key} still names the page"
        );
    }
}

#[test]
fn the_drill_reports_tusk_keys_in_the_served_folder() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.run(&["build"]).success();
    p.run(&["publish", "--no-invalidate"]).success();
    assert!(p.path("bucket-tusk-state/.tusk/publishes").is_dir());
    assert!(!p.path("bucket/.tusk").exists());
    let run = p.run(&["drill", "--json"]);
    let report = run.result();
    let bucket = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bucket")
        .unwrap()
        .clone();
    assert_eq!(bucket["status"], "ok", "{report:#}");

    // A record left in the served folder (copied by hand, an old version).
    p.write("bucket/.tusk/publishes/x.json", "{}");
    p.write(
        "bucket/.tusk-meta/.tusk/publishes/x.json.json",
        "{\"md5\":\"99914b932bd37a50b983c5e7c90ae93b\",\"size\":2,\"modified\":\"2026-01-01T00:00:00Z\",\
         \"content_type\":\"application/json\",\"cache_control\":\"no-store\"}",
    );
    let run = p.run(&["drill", "--json"]);
    assert_eq!(run.code(), Some(1), "{}", run.stdout());
    let report = run.result();
    let gaps: Vec<Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bucket")
        .unwrap()["gaps"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        gaps.iter().any(|g| g["item"] == ".tusk/publishes/x.json"
            && g["problem"].as_str().unwrap().contains("public target")),
        "{gaps:#?}"
    );
}

#[test]
fn a_header_only_change_reaches_every_object_without_a_reupload() {
    let server = S3Server::start();
    let p = project(&server, "");
    p.write("site/guide.md", "---\npermalink: /guide/\n---\nGuide\n");
    p.run(&["build"]).success();
    let first = publish(&p, &server, &[]);
    let html: Vec<String> = first["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap().to_string())
        .filter(|k| k.ends_with(".html"))
        .collect();
    assert_eq!(html.len(), 2, "{first:#}");

    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://{BUCKET}/live\"\n\
             [publish.cache_control]\nhtml = \"public, max-age=5\"\n[publish.s3]\npath_style = true\n"
        ),
    );
    let dry = p
        .run_env(&["publish", "--dry-run"], &server.env())
        .success()
        .stdout();
    assert!(
        dry.contains(&format!("{} headers changed", html.len())),
        "{dry}"
    );
    let r = publish(&p, &server, &[]);
    assert_eq!(r["uploads"].as_array().unwrap().len(), 0, "{r:#}");
    assert_eq!(r["bytes_uploaded"], 0);
    assert_eq!(
        r["headers_changed"].as_array().unwrap().len(),
        html.len(),
        "{r:#}"
    );
    for key in &html {
        let h = head(&server, key);
        assert_eq!(h["CacheControl"], "public, max-age=5", "{key}: {h:#}");
        assert_eq!(h["ContentType"], "text/html; charset=utf-8", "{key}");
        assert_eq!(h["Metadata"]["sha256"].as_str().unwrap().len(), 64, "{key}");
    }
    // Applied once: the next publish has nothing to do.
    let again = publish(&p, &server, &[]);
    assert_eq!(
        again["headers_changed"].as_array().unwrap().len(),
        0,
        "{again:#}"
    );
    assert!(again["record"].is_null());
}

#[test]
fn a_dry_run_says_how_many_bytes_it_would_upload() {
    let server = S3Server::start();
    let p = project(&server, "");
    p.write("site/big.txt", &"x".repeat(300_000));
    p.run(&["build"]).success();
    let run = p
        .run_env(&["publish", "--dry-run"], &server.env())
        .success();
    assert!(
        run.stdout().contains("would upload 305.9 kB"),
        "{}",
        run.stdout()
    );
    let dry = publish(&p, &server, &["--dry-run"]);
    let planned: u64 = dry["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["size"].as_u64().unwrap())
        .sum();
    assert!(planned > 300_000);
    assert_eq!(dry["bytes_planned"], planned, "{dry:#}");
    let real = publish(&p, &server, &[]);
    assert_eq!(real["bytes_uploaded"], planned, "{real:#}");
    assert!(keys(&server, STATE).iter().all(|k| !k.contains("lock")));
}
