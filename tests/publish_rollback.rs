//! `tusk publish --history` and `--rollback <id>`: an earlier publish's tree
//! comes back with server-side copies of the bodies the bucket kept, and a
//! rollback that cannot be complete changes nothing.

mod common;
use common::Project;
use serde_json::Value;

fn project(extra_publish: &str) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        // No sitemap or feed: they would change with every post too.
        &format!("[site]\ntitle = \"T\"\n[build]\nsitemap = false\n[build.feed]\natom = \"\"\n[publish]\ntarget = \"file://bucket\"\n{extra_publish}"),
    );
    p.write(
        "site/_posts/2024-01-01-a.md",
        "---\ntitle: A\n---\nFirst A\n",
    );
    p.write("site/_posts/2024-01-02-b.md", "---\ntitle: B\n---\nB\n");
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout one\n");
    p.write("site/img/logo.svg", "<svg/>");
    p.run(&["build"]).success();
    p
}

fn publish(p: &Project, extra: &[&str]) -> Value {
    let mut args = vec!["publish", "--json"];
    args.extend_from_slice(extra);
    p.run(&args).success().result()
}

/// Edit one page and delete one post, then build and publish.
fn second_version(p: &Project) -> Value {
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout two\n");
    std::fs::remove_file(p.path("site/_posts/2024-01-02-b.md")).unwrap();
    p.run(&["build"]).success();
    publish(p, &[])
}

fn record_id(report: &Value) -> String {
    let key = report["record"].as_str().unwrap();
    key.trim_start_matches(".tusk/publishes/")
        .trim_end_matches(".json")
        .to_string()
}

#[test]
fn rollback_restores_changed_and_deleted_objects_from_the_bucket() {
    let p = project("");
    let first = publish(&p, &[]);
    let first_id = record_id(&first);
    let v1_about = p.read("bucket/about/index.html");
    assert!(v1_about.contains("About one"));

    // Replaced and deleted bodies are kept for rollback.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = second_version(&p);
    assert_eq!(second["archived"], 2, "{second:#}");
    assert!(!p.path("bucket/2024/01/02/b.html").exists());
    assert!(p.read("bucket/about/index.html").contains("About two"));

    let history = p
        .run(&["publish", "--history", "--json"])
        .success()
        .result();
    let ids: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids, [first_id.as_str(), record_id(&second).as_str()]);

    // The local build is now the second version: the first one's bytes can
    // only come from the bucket.
    let plan = publish(&p, &["--rollback", &first_id[..20], "--dry-run"]);
    assert_eq!(plan["rollback_of"], first_id.as_str());
    assert_eq!(plan["uploads"].as_array().unwrap().len(), 2, "{plan:#}");
    assert!(p.read("bucket/about/index.html").contains("About two"));

    let back = publish(&p, &["--rollback", &first_id]);
    assert_eq!(back["rollback_of"], first_id.as_str());
    assert_eq!(p.read("bucket/about/index.html"), v1_about);
    assert!(p.read("bucket/2024/01/02/b.html").contains("<p>B</p>"));
    let meta: Value =
        serde_json::from_str(&p.read("bucket/.tusk-meta/2024/01/02/b.html.json")).unwrap();
    assert_eq!(meta["content_type"], "text/html; charset=utf-8");
    assert!(meta["cache_control"].as_str().unwrap().contains("max-age"));
    assert!(back["record"].is_string(), "a rollback is a publish too");

    // Rolling back to where the bucket already is changes nothing.
    let again = publish(&p, &["--rollback", &first_id]);
    assert_eq!(again["uploads"].as_array().unwrap().len(), 0, "{again:#}");
}

#[test]
fn unknown_or_unrestorable_rollbacks_change_nothing() {
    let p = project("rollback_days = 0\n");
    let first = record_id(&publish(&p, &[]));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = second_version(&p);
    assert_eq!(second["archived"], 0);

    let run = p.run(&["publish", "--rollback", "19990101"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("no publish record"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains(&first),
        "lists the records: {}",
        run.stderr()
    );

    // Nothing archived: the first version of the edited page is gone.
    let before = common::snapshot_dir(&p.path("bucket"));
    let run = p.run(&["publish", "--rollback", &first]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("cannot roll back") && run.stderr().contains("about/index.html"),
        "{}",
        run.stderr()
    );
    assert_eq!(before, common::snapshot_dir(&p.path("bucket")));
}
