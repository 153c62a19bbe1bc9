//! `tusk new post` / `tusk new page`: files created where the build finds
//! them, with front matter filled in; never overwriting; never outside the
//! content folder.

mod common;
use common::Project;

#[test]
fn new_post_is_dated_slugged_and_built() {
    let p = Project::new();
    let run = p
        .run(&[
            "new",
            "post",
            "Launch day: what's new?",
            "--date",
            "2026-11-23",
        ])
        .success();
    let path = run.stdout().trim().to_string();
    assert_eq!(path, "site/_posts/2026-11-23-launch-day-what-s-new.md");
    let text = p.read(&path);
    assert!(text.starts_with("---\n"), "{text}");
    assert!(text.contains("title: 'Launch day: what''s new?'"), "{text}");
    assert!(text.contains("date: 2026-11-23 12:00:00 +0000"), "{text}");
    assert!(text.contains("slug: launch-day-what-s-new"), "{text}");

    let list = p.run(&["list", "--json"]).success().result();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["source"]
                .as_str()
                .unwrap_or("")
                .ends_with("launch-day-what-s-new.md")
        })
        .unwrap_or_else(|| panic!("{list:#}"));
    assert_eq!(entry["url"], "/2026/11/23/launch-day-what-s-new.html");
    assert_eq!(entry["title"], "Launch day: what's new?");
}

#[test]
fn existing_files_are_never_overwritten() {
    let p = Project::new();
    p.run(&["new", "post", "Same", "--date", "2026-01-02"])
        .success();
    let path = "site/_posts/2026-01-02-same.md";
    p.write(path, "---\ntitle: Edited\n---\nMy words.\n");
    let again = p.run(&["new", "post", "Same", "--date", "2026-01-02"]);
    assert_eq!(again.code(), Some(1));
    assert!(
        again.stderr().contains(&format!("{path} already exists")),
        "{}",
        again.stderr()
    );
    assert_eq!(p.read(path), "---\ntitle: Edited\n---\nMy words.\n");
}

#[test]
fn pages_and_drafts_go_where_the_build_looks() {
    let p = Project::new();
    let page = p
        .run(&["new", "page", "about/team-news", "--json"])
        .success()
        .result();
    assert_eq!(page["path"], "site/about/team-news.md");
    assert!(p
        .read("site/about/team-news.md")
        .contains("title: Team News"));
    let draft = p.run(&["new", "post", "Not yet", "--draft"]).success();
    assert_eq!(draft.stdout().trim(), "site/_drafts/not-yet.md");
    p.run(&["build", "--drafts"]).success();
    assert!(p.path("public/about/team-news.html").exists());
}

#[test]
fn paths_outside_the_content_folder_are_refused() {
    let p = Project::new();
    for bad in ["../escape.md", "/tmp/escape.md", "a/../../escape.md"] {
        let run = p.run(&["new", "page", bad]);
        assert_eq!(run.code(), Some(1), "{bad}");
        assert!(
            run.stderr().contains("inside the content folder"),
            "{}",
            run.stderr()
        );
    }
    assert!(!p.path("escape.md").exists());
    let bad_date = p.run(&["new", "post", "X", "--date", "23/11/2026"]);
    assert!(
        bad_date.stderr().contains("expected YYYY-MM-DD"),
        "{}",
        bad_date.stderr()
    );
}
