//! `tusk publish` to S3 over the real S3 protocol, against moto's S3 server
//! on 127.0.0.1, with headers and redirects read back by the AWS CLI.

mod common;
use common::s3::{S3Server, SECRET};
use common::Project;
use serde_json::Value;

/// The build and the snapshot both have about/index.html: the build owns it.
const OWNER: &str = "owner = { \"/about/\" = \"build\" }\n";

fn project(server: &S3Server) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!("[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket/live\"\n{OWNER}[publish.s3]\npath_style = true\n"),
    );
    p.write("site/_posts/2024-01-01-a.md", "---\ntitle: A\n---\nA\n");
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.write("site/css/site.0123abcd.css", "body{}");
    p.write("site/app.wasm", "\0asm");
    p.run(&["build"]).success();
    // A snapshot tree with a page of the dynamic origin, a redirect, and a
    // key the build also has (the config says who owns it).
    let snap = |key: &str, body: &str| {
        p.write(&format!(".tusk/snapshot/{key}"), body);
    };
    snap("donate/index.html", "<p>donate</p>");
    snap("about/index.html", "<p>origin about</p>");
    let obj = |key: &str, body: &str| {
        use md5::Digest;
        serde_json::json!({
            "key": key, "size": body.len(), "md5": hex::encode(md5::Md5::digest(body.as_bytes())),
            "sha256": hex::encode(sha2::Sha256::digest(body.as_bytes())),
            "content_type": "text/html; charset=utf-8", "cache_class": "html"
        })
    };
    let mut redirect = obj("old-page/index.html", "");
    redirect["cache_class"] = "redirect".into();
    redirect["redirect"] = "/about/".into();
    let tree = serde_json::json!({
        "version": 1, "producer": "snapshot", "created": "2026-11-22T00:00:00Z",
        "objects": [obj("about/index.html", "<p>origin about</p>"), obj("donate/index.html", "<p>donate</p>"), redirect]
    });
    p.write(".tusk/snapshot/.tusk-tree.json", &tree.to_string());
    server.aws(&["s3api", "create-bucket", "--bucket", "site-bucket"]);
    p
}

fn publish(p: &Project, server: &S3Server, extra: &[&str]) -> Value {
    let mut args = vec!["-vvv", "publish", "--json"];
    args.extend_from_slice(extra);
    let run = p.run_env(&args, &server.env()).success();
    assert!(
        !run.stdout().contains(SECRET) && !run.stderr().contains(SECRET),
        "secret leaked"
    );
    run.result()
}

fn head(server: &S3Server, key: &str) -> Value {
    server.aws(&[
        "s3api",
        "head-object",
        "--bucket",
        "site-bucket",
        "--key",
        &format!("live/{key}"),
    ])
}

#[test]
fn publishes_to_s3_with_headers_redirects_and_incrementally() {
    let server = S3Server::start();
    let p = project(&server);

    // Both sources produce about/index.html and the config does not say
    // which owns it: an error naming the key, nothing uploaded.
    let config = p.read("config/tusk.toml");
    p.write("config/tusk.toml", &config.replace(OWNER, ""));
    let refused = p.run_env(&["publish"], &server.env());
    assert_eq!(refused.code(), Some(1));
    let err = refused.stderr();
    assert!(
        err.contains("produced by both the build")
            && err.contains("about/index.html")
            && err.contains("publish.owner"),
        "{err}"
    );
    let listed = server.aws(&["s3api", "list-objects-v2", "--bucket", "site-bucket"]);
    assert!(listed.get("Contents").is_none(), "{listed:#}");

    p.write("config/tusk.toml", &config);
    let first = publish(&p, &server, &[]);
    // Counts include the theme's static files (css, favicon).
    assert_eq!(first["uploads"].as_array().unwrap().len(), 11, "{first:#}");
    assert_eq!(first["conflicts"][0]["key"], "about/index.html");
    assert_eq!(first["conflicts"][0]["owner"], "build");
    assert_eq!(first["conflicts"][0]["by"], "publish.owner \"/about/\"");

    let page = head(&server, "2024/01/01/a.html");
    assert_eq!(page["ContentType"], "text/html; charset=utf-8");
    assert!(page["CacheControl"]
        .as_str()
        .unwrap()
        .contains("stale-if-error"));
    assert_eq!(page["Metadata"]["sha256"].as_str().unwrap().len(), 64);
    // Publish trusts the tree's cache class: a file merely named like a
    // fingerprint is an asset (issue 26, item 7; the build's asset_url
    // copies are `fingerprinted`, see tests/publish_local.rs).
    assert_eq!(
        head(&server, "css/site.0123abcd.css")["CacheControl"],
        "public, max-age=3600, stale-if-error=86400"
    );
    assert_eq!(head(&server, "app.wasm")["ContentType"], "application/wasm");
    let redirect = head(&server, "old-page/index.html");
    assert_eq!(redirect["WebsiteRedirectLocation"], "/about/");
    assert_eq!(redirect["ContentLength"], 0);

    // The build's about page, as the config says, not the snapshot's.
    assert_eq!(
        String::from_utf8(get(&server, "about/index.html")).unwrap(),
        p.read("public/about/index.html")
    );

    // No-op re-publish and a fresh-clone rebuild upload nothing.
    let again = publish(&p, &server, &[]);
    assert_eq!(again["uploads"].as_array().unwrap().len(), 0, "{again:#}");
    std::fs::remove_dir_all(p.path("public")).unwrap();
    p.run(&["build"]).success();
    assert_eq!(
        publish(&p, &server, &[])["uploads"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // One edited page and a removed post: the page, the feed and the
    // sitemap are uploaded, the post deleted after them.
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, edited\n",
    );
    std::fs::remove_file(p.path("site/_posts/2024-01-01-a.md")).unwrap();
    p.run(&["build"]).success();
    let r = publish(&p, &server, &[]);
    let keys: Vec<&str> = r["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3, "{r:#}");
    for key in ["about/index.html", "feed.xml", "sitemap.xml"] {
        assert!(keys.contains(&key), "{keys:?}");
    }
    assert_eq!(r["deletes"][0], "2024/01/01/a.html");
    let listing = server.aws(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        "site-bucket",
        "--prefix",
        "live/",
    ]);
    let keys: Vec<&str> = listing["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert!(!keys.contains(&"live/2024/01/01/a.html"));
    // The records live in the private state bucket beside the site's.
    let listing = server.aws(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        "site-bucket-tusk-state",
        "--prefix",
        "live/",
    ]);
    let keys: Vec<&str> = listing["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert!(
        keys.iter().any(|k| k.starts_with("live/.tusk/publishes/")),
        "{keys:?}"
    );
}

#[test]
fn unreachable_s3_fails_clearly_without_leaking_credentials() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://b\"\n[publish.s3]\npath_style = true\nendpoint = \"http://127.0.0.1:9\"\n",
    );
    p.write("site/a.md", "---\n---\nx\n");
    p.run(&["build"]).success();
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_MAX_ATTEMPTS", "1".to_string()),
    ];
    let run = p.run_env(&["-vvv", "publish"], &env);
    assert_eq!(run.code(), Some(1));
    assert!(
        // The lock in the state location is the first thing a publish takes.
        run.stderr()
            .contains("cannot reach the state location s3://b-tusk-state")
            && run.stderr().contains("Connection refused"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains(SECRET) && !run.stdout().contains(SECRET));
}

#[test]
fn changed_and_deleted_pages_are_invalidated_on_cloudfront() {
    let server = S3Server::start();
    let p = project(&server);
    let created = server.aws(&[
        "cloudfront",
        "create-distribution",
        "--origin-domain-name",
        "site-bucket.s3.amazonaws.com",
    ]);
    let id = created["Distribution"]["Id"].as_str().unwrap().to_string();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket/live\"\n{OWNER}[publish.s3]\npath_style = true\n\
             [cdn]\nprovider = \"cloudfront\"\ndistribution_id = \"{id}\"\n"
        ),
    );
    let invalidations = |server: &S3Server| -> Vec<Value> {
        let list = server.aws(&["cloudfront", "list-invalidations", "--distribution-id", &id]);
        list["InvalidationList"]["Items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    // Everything is new: nothing was cached, nothing to invalidate.
    let first = publish(&p, &server, &[]);
    assert!(first["invalidation"].is_null(), "{first:#}");
    assert!(invalidations(&server).is_empty());

    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, edited\n",
    );
    p.write("site/css/site.0123abcd.css", "body{color:red}");
    std::fs::remove_file(p.path("site/_posts/2024-01-01-a.md")).unwrap();
    p.run(&["build"]).success();
    let r = publish(&p, &server, &[]);
    let mut paths: Vec<&str> = r["invalidation"]["paths"]
        .as_array()
        .unwrap_or_else(|| panic!("no invalidation: {r:#}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/2024/01/01/a.html", "/about/", "/about/index.html"]
    );
    let items = invalidations(&server);
    assert_eq!(items.len(), 1, "{items:?}");
    let inv = server.aws(&[
        "cloudfront",
        "get-invalidation",
        "--distribution-id",
        &id,
        "--id",
        items[0]["Id"].as_str().unwrap(),
    ]);
    let batch = &inv["Invalidation"]["InvalidationBatch"];
    assert_eq!(batch["Paths"]["Quantity"], 3);
    assert!(batch["CallerReference"]
        .as_str()
        .unwrap()
        .starts_with("tusk-"));

    // A no-op publish invalidates nothing; --no-invalidate skips it.
    assert!(publish(&p, &server, &[])["invalidation"].is_null());
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, again\n",
    );
    p.run(&["build"]).success();
    assert!(publish(&p, &server, &["--no-invalidate"])["invalidation"].is_null());
    assert_eq!(invalidations(&server).len(), 1);
}

/// Bytes that do not compress, deterministic across runs.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn get(server: &S3Server, key: &str) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("body");
    server.aws(&[
        "s3api",
        "get-object",
        "--bucket",
        "site-bucket",
        "--key",
        &format!("live/{key}"),
        out.to_str().unwrap(),
    ]);
    std::fs::read(out).unwrap()
}

#[test]
fn multipart_precompressed_and_rolled_back_on_s3() {
    use std::io::Read;
    let server = S3Server::start();
    let p = project(&server);
    p.write(
        "config/tusk.toml",
        &format!("[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket/live\"\ncompress = \"gzip\"\n{OWNER}\
         [publish.s3]\npath_style = true\nmultipart_threshold_mb = 5\nmultipart_part_mb = 5\n"),
    );
    p.write_bytes("site/video.bin", &noise(12 * 1024 * 1024));
    p.write(
        "site/notes.txt",
        &"plain text compresses well\n".repeat(100),
    );
    p.run(&["build"]).success();
    let first = publish(&p, &server, &[]);
    let first_id = first["record"].as_str().unwrap()[".tusk/publishes/".len()..]
        .trim_end_matches(".json")
        .to_string();

    // Uploaded in parts: the ETag is not an MD5, the MD5 is in metadata.
    let video = head(&server, "video.bin");
    assert!(video["ETag"].as_str().unwrap().contains('-'), "{video:#}");
    use md5::Digest;
    let md5 = hex::encode(md5::Md5::digest(noise(12 * 1024 * 1024)));
    assert_eq!(video["Metadata"]["md5"], md5.as_str());
    assert_eq!(get(&server, "video.bin"), noise(12 * 1024 * 1024));

    // Stored gzipped, with Content-Encoding.
    let notes = head(&server, "notes.txt");
    assert_eq!(notes["ContentEncoding"], "gzip");
    assert_eq!(notes["ContentType"], "text/plain; charset=utf-8");
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&get(&server, "notes.txt")[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, p.read("public/notes.txt"));

    // Nothing changed: nothing uploaded, multipart object included.
    let again = publish(&p, &server, &[]);
    assert_eq!(again["uploads"].as_array().unwrap().len(), 0, "{again:#}");

    // Edit a file, publish, then roll back with server-side copies.
    let v1 = get(&server, "notes.txt");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    p.write(
        "site/notes.txt",
        &"edited text compresses too\n".repeat(100),
    );
    p.run(&["build"]).success();
    let second = publish(&p, &server, &[]);
    assert_eq!(second["archived"], 1, "{second:#}");
    assert_ne!(get(&server, "notes.txt"), v1);
    let back = publish(&p, &server, &["--rollback", &first_id]);
    assert_eq!(back["uploads"].as_array().unwrap().len(), 1, "{back:#}");
    assert_eq!(get(&server, "notes.txt"), v1);
    let notes = head(&server, "notes.txt");
    assert_eq!(notes["ContentEncoding"], "gzip");
    assert_eq!(notes["ContentType"], "text/plain; charset=utf-8");
}

/// Put `.tusk/lock.json` into the state bucket as another publish would.
fn hold_lock(server: &S3Server, holder: &str, expires: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let body = tmp.path().join("lock.json");
    let lock = serde_json::json!({
        "holder": holder, "token": "someone-else",
        "started": "2026-01-01T00:00:00Z", "expires": expires,
    });
    std::fs::write(&body, lock.to_string()).unwrap();
    server.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "site-bucket-tusk-state",
        "--key",
        "live/.tusk/lock.json",
        "--body",
        body.to_str().unwrap(),
    ]);
}

fn lock_exists(server: &S3Server) -> bool {
    let listed = server.aws(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        "site-bucket-tusk-state",
        "--prefix",
        "live/.tusk/lock.json",
    ]);
    listed["KeyCount"].as_u64().unwrap_or(0) > 0
}

#[test]
fn a_second_publish_is_refused_while_the_lock_is_held_and_an_expired_lock_is_taken() {
    let server = S3Server::start();
    let p = project(&server);
    publish(&p, &server, &[]);
    assert!(!lock_exists(&server), "the lock outlived its publish");

    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, edited\n",
    );
    p.run(&["build"]).success();
    hold_lock(&server, "ci@runner-7, pid 4242", "2999-01-01T00:00:00Z");
    let run = p.run_env(&["publish"], &server.env());
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    assert!(
        stderr.contains("another publish holds the lock: ci@runner-7, pid 4242")
            && stderr.contains(".tusk/lock.json"),
        "{stderr}"
    );
    assert!(!String::from_utf8(get(&server, "about/index.html"))
        .unwrap()
        .contains("edited"));

    // Its holder died an hour ago: the lock expired and is taken over.
    hold_lock(&server, "ci@runner-7, pid 4242", "2026-01-01T01:00:00Z");
    let report = publish(&p, &server, &[]);
    assert!(
        report["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["key"] == "about/index.html"),
        "{report:#}"
    );
    assert!(String::from_utf8(get(&server, "about/index.html"))
        .unwrap()
        .contains("edited"));
    assert!(!lock_exists(&server));
}
