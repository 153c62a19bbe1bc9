//! Shipping a site to the public: a build without `site.base_url` warns
//! (its canonical links, sitemap and feed would point at 127.0.0.1), a
//! publish to s3:// refuses, `--base-url` sets it for one build (preview
//! builds); and with no AWS credentials anywhere the error says where it
//! looked, in one line.

mod common;
use common::s3::S3Server;
use common::Project;

fn s3_project(server: &S3Server, site: &str) -> Project {
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n{site}[publish]\ntarget = \"s3://site-bucket/live\"\n[publish.s3]\npath_style = true\nendpoint = \"{}\"\n",
        server.endpoint
    ));
    p.write("site/index.md", "---\ntitle: Home\n---\nHi.\n");
    p
}

#[test]
fn a_build_without_base_url_warns_and_an_s3_publish_refuses() {
    let server = S3Server::start();
    server.aws(&["s3api", "create-bucket", "--bucket", "site-bucket"]);
    let p = s3_project(&server, "");
    let built = p.run(&["build"]).success();
    assert!(
        built.stderr().contains("site.base_url is not set")
            && built.stderr().contains("http://127.0.0.1:8080"),
        "{}",
        built.stderr()
    );
    for args in [&["publish"][..], &["publish", "--dry-run"]] {
        let refused = p.run_env(args, &server.env());
        assert_eq!(refused.code(), Some(1), "{}", refused.stderr());
        assert!(
            refused.stderr().contains("site.base_url is not set")
                && refused.stderr().contains("s3://site-bucket/live"),
            "{}",
            refused.stderr()
        );
    }
    let listed = server.aws(&["s3api", "list-objects-v2", "--bucket", "site-bucket"]);
    assert!(listed["Contents"].is_null(), "nothing uploaded: {listed:#}");

    // A local publish (tusk up's bucket) needs none.
    p.run(&["publish", "--target", "file://.tusk/bucket"])
        .success();

    // Set: no warning, and the publish goes through.
    let set = s3_project(&server, "base_url = \"https://www.example.test\"\n");
    let built = set.run(&["build"]).success();
    assert!(!built.stderr().contains("base_url"), "{}", built.stderr());
    set.run_env(&["publish"], &server.env()).success();
}

#[test]
fn base_url_flag_builds_a_preview() {
    let p = Project::bare("[site]\ntitle = \"T\"\nbase_url = \"https://www.example.test\"\n");
    p.write(
        "site/index.md",
        "---\ntitle: Home\n---\nHi {{ page.permalink }}.\n",
    );
    p.run(&["build", "--base-url", "https://pr-12.preview.example.test"])
        .success();
    let sitemap = p.read("public/sitemap.xml");
    assert!(
        sitemap.contains("<loc>https://pr-12.preview.example.test/</loc>"),
        "{sitemap}"
    );
    assert!(!sitemap.contains("www.example.test"), "{sitemap}");
    let bad = p.run(&["build", "--base-url", "pr-12.preview"]);
    assert_eq!(bad.code(), Some(1));
    assert!(bad.stderr().contains("--base-url"), "{}", bad.stderr());
}

#[test]
fn no_credentials_anywhere_says_where_it_looked() {
    let server = S3Server::start();
    let p = s3_project(&server, "base_url = \"https://www.example.test\"\n");
    p.run(&["build"]).success();
    let home = tempfile::tempdir().unwrap();
    let mut command = common::tusk();
    command
        .arg("--root")
        .arg(p.root())
        .arg("publish")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_REGION", "us-east-1")
        // No instance metadata service here: the chain's last resort.
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let run = common::Run(command.output().unwrap());
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(
        err.contains(
            "no AWS credentials found for s3://site-bucket/live (looked in: env AWS_ACCESS_KEY_ID"
        ),
        "{err}"
    );
    assert!(err.contains("profile default"), "{err}");
    assert!(
        !err.contains("IMDS"),
        "the SDK's last cause is not the message: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
