//! Publish hygiene (issue 26), against moto's S3 server with the AWS CLI
//! reading the results back: what is unpublished is gone from the served
//! bucket, header changes reach it, and what third-party clients read is
//! right.

mod common;
use common::faults::{self, Fault, FaultProxy, Plan};
use common::s3::{env_via, publish_via, s3_config, s3_project, S3Server};
use common::Project;
use serde_json::Value;

const BUCKET: &str = "site-bucket";
const STATE: &str = "site-bucket-tusk-state";
const TARGET: &str = "site-bucket/live";

fn project(server: &S3Server, extra_publish: &str) -> Project {
    let p = s3_project(server, TARGET, extra_publish);
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p
}

fn publish(p: &Project, server: &S3Server, extra: &[&str]) -> Value {
    publish_via(p, server, &server.endpoint, extra)
}

/// Every key of a bucket (all prefixes).
fn keys(server: &S3Server, bucket: &str) -> Vec<String> {
    server.keys(bucket)
}

fn get(server: &S3Server, bucket: &str, key: &str) -> Vec<u8> {
    server.get(bucket, key)
}

fn head(server: &S3Server, key: &str) -> Value {
    server.head(BUCKET, &format!("live/{key}"))
}

/// Any object of the served bucket whose body contains `needle`.
fn served_with(server: &S3Server, needle: &str) -> Vec<String> {
    keys(server, BUCKET)
        .into_iter()
        .filter(|k| String::from_utf8_lossy(&get(server, BUCKET, k)).contains(needle))
        .collect()
}

/// The keys of a publish report's `uploads`.
fn uploaded(report: &Value) -> Vec<String> {
    report["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap().to_string())
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
        &s3_config(
            TARGET,
            "[publish.cache_control]\nhtml = \"public, max-age=5\"",
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
    let dry = publish(&p, &server, &["--dry-run"]);
    let planned: u64 = dry["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["size"].as_u64().unwrap())
        .sum();
    assert!(planned > 300_000);
    // The text says the same sum (the theme's size is not this test's).
    let run = p
        .run_env(&["publish", "--dry-run"], &server.env())
        .success();
    let shown = format!("would upload {:.1} kB", planned as f64 / 1e3);
    assert!(run.stdout().contains(&shown), "{shown}: {}", run.stdout());
    assert_eq!(dry["bytes_planned"], planned, "{dry:#}");
    let real = publish(&p, &server, &[]);
    assert_eq!(real["bytes_uploaded"], planned, "{real:#}");
    assert!(keys(&server, STATE).iter().all(|k| !k.contains("lock")));
}

#[test]
fn text_is_labelled_by_its_bytes_feeds_and_maps_by_kind_and_well_known_is_published() {
    let server = S3Server::start();
    let p = project(&server, "");
    // The README's own example: the glob alone, without ".well-known".
    let config = s3_config(TARGET, "") + "[build]\ninclude = [\".well-known/**\"]\n";
    p.write("config/tusk.toml", &config);
    p.write_bytes("site/notes/latin1.txt", b"caf\xe9 cr\xe8me\n");
    p.write("site/notes/utf8.txt", "caf\u{e9} cr\u{e8}me\n");
    p.write("site/js/app.js.map", "{\"version\":3,\"mappings\":\"\"}");
    p.write("site/_posts/2024-01-01-a.md", "---\ntitle: A\n---\nA\n");
    p.write(
        "site/.well-known/security.txt",
        "Contact: mailto:security@example.test\n",
    );
    p.write("site/.hidden/notes.txt", "not for the public\n");
    p.run(&["build"]).success();
    publish(&p, &server, &[]);

    let content_type = |key: &str| head(&server, key)["ContentType"].clone();
    // Latin-1 bytes are no UTF-8: no charset, so the browser's default
    // (windows-1252) shows the accents instead of U+FFFD.
    assert_eq!(content_type("notes/latin1.txt"), "text/plain");
    assert_eq!(content_type("notes/utf8.txt"), "text/plain; charset=utf-8");
    assert_eq!(
        content_type("js/app.js.map"),
        "application/json; charset=utf-8"
    );
    assert_eq!(
        content_type("feed.xml"),
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(
        content_type("sitemap.xml"),
        "application/xml; charset=utf-8"
    );
    assert_eq!(
        content_type(".well-known/security.txt"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        get(&server, BUCKET, "live/.well-known/security.txt"),
        b"Contact: mailto:security@example.test\n"
    );
    let served = keys(&server, BUCKET);
    assert!(
        !served.iter().any(|k| k.contains(".hidden")),
        "a hidden folder no glob names was published: {served:?}"
    );
}

#[test]
fn etags_that_are_not_md5s_are_never_taken_for_them() {
    let server = S3Server::start();
    let p = project(&server, "");
    p.write("site/notes.txt", "v1\n");
    p.write("site/_posts/2024-01-01-a.md", "---\ntitle: A\n---\nA\n");
    p.run(&["build"]).success();
    // Between tusk and moto, ETags become what SSE-KMS makes of them.
    let proxy = FaultProxy::editing(
        &server.endpoint,
        Plan {
            methods: vec![],
            every: 0,
            faults: vec![],
        },
        faults::sse_kms_etags,
    );
    let first = publish_via(&p, &server, &proxy.endpoint, &[]);
    let all = uploaded(&first);
    assert!(all.len() > 3, "{first:#}");
    let md5 = p.tree_object("notes.txt")["md5"].clone();
    let etag = |endpoint: &str| {
        let h = server.aws_via(
            endpoint,
            &[
                "s3api",
                "head-object",
                "--bucket",
                BUCKET,
                "--key",
                "live/notes.txt",
            ],
        );
        Value::from(h["ETag"].as_str().unwrap().trim_matches('"'))
    };
    assert_eq!(etag(&server.endpoint), md5, "moto's ETag is the MD5");
    let hidden = etag(&proxy.endpoint);
    assert!(hidden != md5 && hidden.as_str().unwrap().len() == 32);
    // The drill's bucket check reads the same listing: those ETags are
    // not changed bytes (each is settled by the md5 metadata).
    let drill = p.run_env(&["drill", "--json"], &env_via(&server, &proxy.endpoint));
    let report = drill.result();
    let bucket = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bucket")
        .unwrap()
        .clone();
    assert_eq!(bucket["status"], "ok", "{report:#}");

    // The ETags recorded at upload match the listing: nothing to send.
    let again = publish_via(&p, &server, &proxy.endpoint, &[]);
    assert_eq!(uploaded(&again), Vec::<String>::new(), "{again:#}");
    assert!(again["record"].is_null(), "{again:#}");
    // One change sends that one object.
    p.write("site/notes.txt", "v2\n");
    p.run(&["build"]).success();
    let edit = publish_via(&p, &server, &proxy.endpoint, &[]);
    assert_eq!(uploaded(&edit), ["notes.txt"], "{edit:#}");
    assert_eq!(edit["archived"], 1, "{edit:#}");
    // The archive is named by the MD5 of the replaced bytes, not the ETag.
    let v1 = format!("live/.tusk/objects/{}", md5.as_str().unwrap());
    assert_eq!(get(&server, STATE, &v1), b"v1\n");

    // Records lost (a new state bucket): the md5 metadata decides, one
    // HEAD per object, and still nothing is sent again.
    for key in keys(&server, STATE) {
        server.aws(&["s3api", "delete-object", "--bucket", STATE, "--key", &key]);
    }
    let seen = proxy.requests().len();
    let lost = publish_via(&p, &server, &proxy.endpoint, &[]);
    assert_eq!(uploaded(&lost), Vec::<String>::new(), "{lost:#}");
    let heads = proxy.requests()[seen..]
        .iter()
        .filter(|r| r.starts_with("HEAD /site-bucket/live/"))
        .count();
    assert_eq!(heads, all.len(), "{:#?}", proxy.requests());
}

/// Whether the publish lock is in the state bucket (asked of moto).
fn lock_held(server: &S3Server) -> bool {
    std::process::Command::new("aws")
        .args(["--endpoint-url", &server.endpoint, "s3api", "head-object"])
        .args(["--bucket", STATE, "--key", "live/.tusk/lock.json"])
        .envs(server.env())
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn a_long_publish_keeps_its_lock_and_purge_takes_it_too() {
    let server = S3Server::start();
    let p = project(&server, "concurrency = 1\nlock_secs = 6");
    for i in 0..16 {
        p.write(&format!("site/img/{i}.svg"), &format!("<svg>{i}</svg>"));
    }
    p.run(&["build"]).success();
    // Every PUT takes a second: the publish outlives the lock's 6 s.
    let slow = FaultProxy::start(
        &server.endpoint,
        Plan {
            methods: vec!["PUT"],
            every: 1,
            faults: vec![Fault::Slow],
        },
    );
    let long = common::tusk()
        .arg("--root")
        .arg(p.root())
        .args(["publish", "--json", "--no-invalidate"])
        .env_remove("TUSK_ENV")
        .envs(common::s3::env_via(&server, &slow.endpoint))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lock_held(&server) {
        assert!(std::time::Instant::now() < deadline, "no lock taken");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Past the lock's first expiry: only its renewals keep it.
    std::thread::sleep(std::time::Duration::from_secs(9));
    for args in [
        &["publish", "--no-invalidate"][..],
        &["publish", "--purge", "about/index.html"][..],
    ] {
        let refused = p.run_env(args, &server.env());
        assert_eq!(refused.code(), Some(1), "{args:?}: {}", refused.stdout());
        assert!(
            refused.stderr().contains("another publish holds the lock"),
            "{args:?}: {}",
            refused.stderr()
        );
    }
    let out = long.wait_with_output().unwrap();
    let run = common::Run(out).success();
    assert_eq!(
        uploaded(&run.result()).len(),
        p.tree()["objects"].as_array().unwrap().len()
    );
    assert!(!lock_held(&server));
    // Free now: the purge runs, and gives the lock back.
    p.run_env(&["publish", "--purge", "about/index.html"], &server.env())
        .success();
    assert!(!lock_held(&server));
}

#[test]
fn a_header_update_keeps_the_md5_rclone_reads_on_a_multipart_object() {
    use base64::Engine;
    use md5::Digest;
    let server = S3Server::start();
    let p = project(&server, "");
    let multipart = "multipart_threshold_mb = 5\nmultipart_part_mb = 5\n";
    p.write("config/tusk.toml", &(s3_config(TARGET, "") + multipart));
    let body: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    p.write_bytes("site/big.bin", &body);
    p.run(&["build"]).success();
    publish(&p, &server, &[]);
    let md5chksum = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&body));
    let h = head(&server, "big.bin");
    assert!(h["ETag"].as_str().unwrap().ends_with("-2\""), "{h:#}");
    assert_eq!(h["Metadata"]["md5chksum"], md5chksum.as_str(), "{h:#}");

    let config = s3_config(
        TARGET,
        "[publish.cache_control]\nasset = \"public, max-age=60\"",
    ) + multipart;
    p.write("config/tusk.toml", &config);
    let r = publish(&p, &server, &[]);
    assert_eq!(uploaded(&r), Vec::<String>::new(), "{r:#}");
    assert!(
        r["headers_changed"]
            .as_array()
            .unwrap()
            .contains(&Value::from("big.bin")),
        "{r:#}"
    );
    let h = head(&server, "big.bin");
    assert_eq!(h["CacheControl"], "public, max-age=60", "{h:#}");
    assert_eq!(h["Metadata"]["md5chksum"], md5chksum.as_str(), "{h:#}");
    assert_eq!(
        h["Metadata"]["md5"],
        hex::encode(md5::Md5::digest(&body)).as_str()
    );
    let again = publish(&p, &server, &[]);
    assert_eq!(uploaded(&again), Vec::<String>::new(), "{again:#}");
    assert!(again["record"].is_null(), "{again:#}");
}

#[test]
fn a_site_wide_restyle_leaves_the_served_listing_as_it_was() {
    let server = S3Server::start();
    let p = project(&server, "");
    const POSTS: usize = 60;
    for i in 0..POSTS {
        p.write(
            &format!("site/_posts/2024-01-{:02}-post-{i}.md", i % 28 + 1),
            &format!("---\ntitle: Post {i}\n---\nBody {i}\n"),
        );
    }
    p.run(&["build"]).success();
    let proxy = FaultProxy::start(
        &server.endpoint,
        Plan {
            methods: vec![],
            every: 0,
            faults: vec![],
        },
    );
    publish_via(&p, &server, &proxy.endpoint, &[]);
    let mut before = keys(&server, BUCKET);
    before.sort();

    // The restyle: every page changes.
    p.write(
        "site/_templates/post.html",
        "<article class=\"v2\"><h1>{{ page.title }}</h1>{{ content | safe }}</article>",
    );
    p.write(
        "site/_templates/page.html",
        "<main class=\"v2\">{{ content | safe }}</main>",
    );
    p.run(&["build"]).success();
    let (requests, copies) = (proxy.requests().len(), proxy.copies());
    let r = publish_via(&p, &server, &proxy.endpoint, &[]);
    let copies = proxy.copies() - copies;
    let requests = proxy.requests().len() - requests;
    let changed = r["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"] == "changed")
        .count();
    assert!(changed > POSTS, "every post and listing page: {r:#}");
    let mut after = keys(&server, BUCKET);
    after.sort();
    // The served bucket holds the site and nothing else: the same keys,
    // so its listing (what a no-op publish costs) keeps its size.
    assert_eq!(after, before);
    assert!(after.iter().all(|k| !k.contains(".tusk")), "{after:?}");
    // The archive is one server-side copy per replaced body, into the
    // private state bucket.
    let archived = keys(&server, STATE)
        .iter()
        .filter(|k| k.starts_with("live/.tusk/objects/"))
        .count();
    assert_eq!(r["archived"], changed, "{r:#}");
    assert_eq!(archived, changed);
    assert_eq!(copies, changed);
    eprintln!(
        "restyle of {} objects: {changed} changed, {copies} CopyObject (all into {STATE}), \
         {requests} requests; served keys {} before, {} after",
        before.len(),
        before.len(),
        after.len()
    );
}
