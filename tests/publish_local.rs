//! `tusk publish` to a local folder laid out like a bucket: incremental by
//! content hash, assets before pages, deletions last and guarded, removed
//! fingerprinted assets retained, a record written last.

mod common;
use common::Project;
use serde_json::Value;

fn project() -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    p.write("site/_posts/2024-01-01-a.md", "---\ntitle: A\n---\nA\n");
    p.write("site/_posts/2024-01-02-b.md", "---\ntitle: B\n---\nB\n");
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.write("site/css/site.0123abcd.css", "body{}");
    p.write("site/img/logo.svg", "<svg/>");
    p.write("site/feed.xml", "---\n---\n<feed/>\n");
    p.run(&["build"]).success();
    p
}

fn publish(p: &Project, extra: &[&str]) -> Value {
    let mut args = vec!["publish", "--json"];
    args.extend_from_slice(extra);
    p.run(&args).success().result()
}

fn count(report: &Value, reason: &str) -> usize {
    report["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"] == reason)
        .count()
}

fn sidecar(p: &Project, key: &str) -> Value {
    serde_json::from_str(&p.read(&format!("bucket/.tusk-meta/{key}.json"))).unwrap()
}

#[test]
fn first_publish_uploads_everything_with_headers() {
    // The site's 6 files, sitemap.xml, robots.txt, the theme's css and favicon.
    let p = project();
    let r = publish(&p, &[]);
    assert_eq!(count(&r, "new"), 10, "{r:#}");
    assert_eq!(r["unchanged"], 0);
    for key in [
        "2024/01/01/a.html",
        "about/index.html",
        "css/site.0123abcd.css",
        "feed.xml",
    ] {
        assert_eq!(
            p.read(&format!("bucket/{key}")),
            p.read(&format!("public/{key}")),
            "{key}"
        );
    }
    let html = sidecar(&p, "about/index.html");
    assert_eq!(html["content_type"], "text/html; charset=utf-8");
    assert!(html["cache_control"]
        .as_str()
        .unwrap()
        .contains("stale-if-error"));
    // Named like a fingerprint, but the tree says asset: publish trusts
    // the tree (issue 26, item 7).
    let css = sidecar(&p, "css/site.0123abcd.css");
    assert_eq!(
        css["cache_control"],
        "public, max-age=3600, stale-if-error=86400"
    );
    assert_eq!(css["content_type"], "text/css; charset=utf-8");
    assert_eq!(
        sidecar(&p, "img/logo.svg")["content_type"],
        "image/svg+xml; charset=utf-8"
    );
    assert!(sidecar(&p, "feed.xml")["cache_control"]
        .as_str()
        .unwrap()
        .contains("max-age=300"));
    assert_eq!(
        sidecar(&p, "feed.xml")["user"]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );

    // A record of the publish, with its tree, is written last (in the
    // state folder beside the served one).
    let record_key = r["record"].as_str().unwrap();
    let record: Value =
        serde_json::from_str(&p.read(&format!("bucket-tusk-state/{record_key}"))).unwrap();
    assert_eq!(record["tree"]["objects"].as_array().unwrap().len(), 10);
}

#[test]
fn republish_and_fresh_clone_upload_nothing_and_one_change_uploads_one() {
    let p = project();
    publish(&p, &[]);
    let again = publish(&p, &[]);
    assert_eq!(again["uploads"].as_array().unwrap().len(), 0, "{again:#}");
    assert_eq!(again["unchanged"], 10);
    assert!(again["record"].is_null(), "a no-op publish writes nothing");

    // Like a fresh CI clone: every file rewritten with a new mtime.
    std::fs::remove_dir_all(p.path("public")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    p.run(&["build"]).success();
    let fresh = publish(&p, &[]);
    assert_eq!(fresh["uploads"].as_array().unwrap().len(), 0, "{fresh:#}");

    p.write(
        "site/_posts/2024-01-02-b.md",
        "---\ntitle: B\n---\nB, edited\n",
    );
    p.run(&["build"]).success();
    let one = publish(&p, &[]);
    let uploads = one["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 1, "{one:#}");
    assert_eq!(uploads[0]["key"], "2024/01/02/b.html");
    assert_eq!(uploads[0]["reason"], "changed");
    assert!(p.read("bucket/2024/01/02/b.html").contains("B, edited"));
}

#[test]
fn assets_go_up_before_pages() {
    let p = project();
    publish(&p, &[]);
    let modified = |key: &str| sidecar(&p, key)["modified"].as_str().unwrap().to_string();
    let last_asset = ["css/site.0123abcd.css", "img/logo.svg", "feed.xml"]
        .iter()
        .map(|k| modified(k))
        .max()
        .unwrap();
    let first_page = ["2024/01/01/a.html", "2024/01/02/b.html", "about/index.html"]
        .iter()
        .map(|k| modified(k))
        .min()
        .unwrap();
    assert!(
        last_asset <= first_page,
        "asset at {last_asset} after page at {first_page}"
    );
}

#[test]
fn deletions_are_guarded_and_fingerprinted_assets_retained() {
    let p = project();
    // Pages use a stylesheet the build fingerprints (names by its hash).
    p.write(
        "site/_templates/page.html",
        "<link rel=\"stylesheet\" href=\"{{ asset_url(path='css/theme.css') }}\"><main>{{ content | safe }}</main>",
    );
    p.write("site/css/theme.css", "main{}");
    p.run(&["build"]).success();
    let old_css = p.tree()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["cache_class"] == "fingerprinted")
        .map(|o| o["key"].as_str().unwrap().to_string())
        .expect("a fingerprinted stylesheet");
    publish(&p, &[]);
    assert_eq!(
        sidecar(&p, &old_css)["cache_control"],
        "public, max-age=31536000, immutable"
    );
    std::fs::remove_file(p.path("site/_posts/2024-01-01-a.md")).unwrap();
    std::fs::remove_file(p.path("site/img/logo.svg")).unwrap();
    std::fs::remove_file(p.path("site/css/site.0123abcd.css")).unwrap();
    p.write("site/css/theme.css", "main{color:red}");
    p.run(&["build"]).success();

    // Over the guard: refused, nothing changed.
    let refused = p.run(&["publish", "--max-deletes", "1"]);
    assert_eq!(refused.code(), Some(1));
    assert!(
        refused.stderr().contains("refusing to delete 3"),
        "{}",
        refused.stderr()
    );
    assert!(p.path("bucket/2024/01/01/a.html").exists());

    // Dry run: the plan, nothing written.
    let plan = publish(&p, &["--dry-run"]);
    assert_eq!(plan["deletes"].as_array().unwrap().len(), 3, "{plan:#}");
    assert_eq!(plan["retained"][0], old_css.as_str());
    assert!(p.path("bucket/2024/01/01/a.html").exists());

    let r = publish(&p, &[]);
    let mut deleted: Vec<&str> = r["deletes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    deleted.sort();
    // The file merely named like a fingerprint is an asset: gone at once.
    assert_eq!(
        deleted,
        ["2024/01/01/a.html", "css/site.0123abcd.css", "img/logo.svg"]
    );
    assert!(!p.path("bucket/2024/01/01/a.html").exists());
    assert!(!p.path("bucket/.tusk-meta/img/logo.svg.json").exists());
    // The fingerprinted copy stays: cached pages may still use it.
    assert!(p.path(&format!("bucket/{old_css}")).exists());
    assert_eq!(r["retained"][0], old_css.as_str());

    // With no retention window it goes on the next publish.
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\nretain_days = 0\n",
    );
    let r = publish(&p, &[]);
    assert_eq!(r["deletes"][0], old_css.as_str(), "{r:#}");
    assert!(!p.path(&format!("bucket/{old_css}")).exists());
}

#[test]
fn publishing_without_a_build_is_a_clear_error() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[publish]\ntarget = \"file://bucket\"\n",
    );
    let run = p.run(&["publish"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("run `tusk build` first"),
        "{}",
        run.stderr()
    );

    let run = p.run(&["publish", "--target", "ftp://x"]);
    assert_eq!(run.code(), Some(1));
}

#[test]
fn a_tree_that_no_longer_matches_its_files_is_refused() {
    let p = project();
    p.write("public/about/index.html", "tampered");
    let run = p.run(&["publish"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("changed since its tree was written"),
        "{}",
        run.stderr()
    );
}

#[test]
fn precompressed_objects_are_stored_gzipped_and_stay_incremental() {
    use std::io::Read;
    let p = project();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\ncompress = \"gzip\"\n",
    );
    p.write("site/big.txt", &"some text worth compressing\n".repeat(200));
    p.write(
        "site/_posts/2024-01-01-a.md",
        &format!("---\ntitle: A\n---\n{}\n", "A long post. ".repeat(100)),
    );
    p.run(&["build"]).success();
    publish(&p, &[]);

    for key in ["2024/01/01/a.html", "big.txt"] {
        assert_eq!(sidecar(&p, key)["content_encoding"], "gzip", "{key}");
        let stored = std::fs::read(p.path(&format!("bucket/{key}"))).unwrap();
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&stored[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, p.read(&format!("public/{key}")), "{key}");
    }
    // Too small to gain anything, and images are left alone.
    assert!(sidecar(&p, "img/logo.svg")["content_encoding"].is_null());
    assert!(sidecar(&p, "css/site.0123abcd.css")["content_encoding"].is_null());

    // Incremental without the cache, as in a fresh CI clone.
    std::fs::remove_dir_all(p.path(".tusk/cache")).unwrap();
    let again = publish(&p, &[]);
    assert_eq!(again["uploads"].as_array().unwrap().len(), 0, "{again:#}");

    // Switching the encoding re-uploads what it applies to.
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\ncompress = \"br\"\n",
    );
    let br = publish(&p, &[]);
    assert!(count(&br, "changed") >= 2, "{br:#}");
    assert_eq!(sidecar(&p, "big.txt")["content_encoding"], "br");

    p.write(
        "config/tusk.toml",
        "[publish]\ntarget = \"file://bucket\"\ncompress = \"zip\"\n",
    );
    let run = p.run(&["publish"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("publish.compress"),
        "{}",
        run.stderr()
    );
}
