//! Fingerprinted assets: `asset_url` gives a content-hashed name and the
//! build writes that copy, `asset_sri` its integrity value; the tree marks
//! the copy `fingerprinted` and publish caches it forever.

mod common;
use base64::Engine;
use common::Project;
use sha2::Digest;

fn project() -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n",
    );
    p.write(
        "site/_templates/page.html",
        "<link rel=\"stylesheet\" href=\"{{ asset_url(path='css/site.css') }}\" integrity=\"{{ asset_sri(path='/css/site.css') }}\">\
         <script src=\"{{ asset_url(path='js/app.js') }}\"></script><main>{{ content | safe }}</main>",
    );
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.write("site/css/site.css", "body { color: #222 }\n");
    p.write("site/js/app.js", "console.log(1)\n");
    p
}

fn hashed(path: &str, bytes: &[u8]) -> String {
    let hash = hex::encode(sha2::Sha256::digest(bytes));
    let (stem, ext) = path.rsplit_once('.').unwrap();
    format!("{stem}.{}.{ext}", &hash[..8])
}

#[test]
fn asset_url_writes_a_hashed_copy_with_integrity_and_immutable_caching() {
    let p = project();
    p.run(&["build"]).success();
    let css = b"body { color: #222 }\n";
    let css_key = hashed("css/site.css", css);
    let js_key = hashed("js/app.js", b"console.log(1)\n");
    let html = p.read("public/about/index.html");
    let sri = format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(css))
    );
    assert!(
        html.contains(&format!("href=\"/{css_key}\" integrity=\"{sri}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("src=\"/{js_key}\"")), "{html}");
    assert_eq!(p.read(&format!("public/{css_key}")).as_bytes(), css);
    assert!(p.path("public/css/site.css").exists(), "the original stays");
    assert_eq!(p.tree_object(&css_key)["cache_class"], "fingerprinted");
    assert_eq!(p.tree_object("css/site.css")["cache_class"], "asset");

    let report = p.run(&["publish", "--json"]).success().result();
    assert_eq!(report["deletes"].as_array().unwrap().len(), 0);
    let meta: serde_json::Value =
        serde_json::from_str(&p.read(&format!("bucket/.tusk-meta/{css_key}.json"))).unwrap();
    assert_eq!(meta["cache_control"], "public, max-age=31536000, immutable");

    // New bytes, new name; the page follows; publish keeps the old copy
    // for the pages still cached with it.
    p.write("site/css/site.css", "body { color: #000 }\n");
    p.run(&["build"]).success();
    let new_key = hashed("css/site.css", b"body { color: #000 }\n");
    assert_ne!(new_key, css_key);
    assert!(p.read("public/about/index.html").contains(&new_key));
    assert!(!p.path(&format!("public/{css_key}")).exists());
    let report = p.run(&["publish", "--json"]).success().result();
    assert_eq!(report["retained"][0], css_key.as_str(), "{report:#}");
    assert!(p.path(&format!("bucket/{css_key}")).exists());
}

#[test]
fn an_unknown_asset_fails_the_build_naming_the_page_and_the_path() {
    let p = project();
    p.write(
        "site/_templates/page.html",
        "{{ asset_url(path='css/missing.css') }}",
    );
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(
        err.contains("site/about.md") && err.contains("css/missing.css"),
        "{err}"
    );
    assert!(!p.path("public").exists(), "nothing written");
}
