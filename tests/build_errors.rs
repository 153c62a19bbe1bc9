//! Broken content: every problem is reported in one run with its file and
//! line, the exit code is 1, and the previous output stays as it was.

mod common;
use common::{snapshot_dir, Project};

#[test]
fn every_problem_is_reported_with_file_and_line_and_output_is_kept() {
    let p = Project::new();
    p.write(
        "site/_posts/2024-01-01-good.md",
        "---\ntitle: Good\n---\nFine.\n",
    );
    p.run(&["build"]).success();
    let before = snapshot_dir(&p.path("public"));
    assert!(before.contains_key("2024/01/01/good.html"));

    p.write(
        "site/_posts/2024-01-02-yaml.md",
        "---\ntitle: ok\ntags: [unclosed\n---\nx\n",
    );
    p.write("site/toml.md", "+++\ntitle = \n+++\nx\n");
    p.write(
        "site/_posts/2024-01-03-baddate.md",
        "---\ntitle: d\ndate: not-a-date\n---\nx\n",
    );
    p.write(
        "site/_posts/2024-13-45-impossible.md",
        "---\ntitle: x\n---\nx\n",
    );
    p.write("site/layout.md", "---\nlayout: nowhere\n---\nx\n");
    p.write_bytes(
        "site/utf8.md",
        b"---\ntitle: u\n---\nline one\nbad \xff byte\n",
    );
    p.write("site/tera.html", "---\ntitle: t\n---\n{% for x in %}\n");
    p.write(
        "site/render.html",
        "---\ntitle: r\n---\n{{ page.missing.deeper }}\n",
    );

    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1), "stderr: {}", run.stderr());
    let err = run.stderr();
    for expected in [
        "site/_posts/2024-01-02-yaml.md:",
        "site/toml.md:2",
        "site/_posts/2024-01-03-baddate.md:3",
        "site/_posts/2024-13-45-impossible.md",
        "site/layout.md",
        "nowhere",
        "site/utf8.md:5:5",
        "UTF-8",
        "site/tera.html",
        "site/render.html",
        "8 problems found",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // The previous output is untouched and no staging folder is left behind.
    assert_eq!(snapshot_dir(&p.path("public")), before);
    let leftovers: Vec<_> = std::fs::read_dir(p.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tusk-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn check_reports_problems_as_json_and_writes_nothing() {
    let p = Project::new();
    p.write("site/a.md", "---\ntitle: [\n---\n");
    let run = p.run(&["check", "--json"]);
    assert_eq!(run.code(), Some(1));
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["file"], "site/a.md");
    assert!(v["problems"][0]["line"].as_u64().is_some());
    assert!(!p.path("public").exists());

    p.write("site/a.md", "---\ntitle: fine\n---\nok\n");
    let run = p.run(&["check", "--json"]).success();
    assert_eq!(run.json()["ok"], true);
    assert!(!p.path("public").exists(), "check must not write");
}

#[test]
fn two_documents_on_one_url_is_an_error_naming_both() {
    let p = Project::new();
    p.write("site/one.md", "---\npermalink: /same/\n---\n1\n");
    p.write("site/two.md", "---\npermalink: /same/\n---\n2\n");
    p.write("site/same/index.html", "static copy\n");
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(
        err.contains("site/one.md") && err.contains("site/two.md"),
        "{err}"
    );
    assert!(err.contains("same/index.html"), "{err}");
    assert!(err.contains("site/same/index.html"), "{err}");
}

#[test]
fn permalinks_cannot_write_outside_the_output() {
    let p = Project::new();
    p.write(
        "site/evil.md",
        "---\npermalink: /%2e%2e/%2e%2e/escaped.html\n---\nx\n",
    );
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains("outside the output folder"),
        "{}",
        run.stderr()
    );
    assert!(!p.root().join("escaped.html").exists());
    assert!(!p.root().parent().unwrap().join("escaped.html").exists());
}

#[cfg(unix)]
#[test]
fn symlinks_leaving_the_content_folder_are_refused() {
    let p = Project::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), p.path("site/leak.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path("site/leakdir")).unwrap();
    std::fs::write(p.path("site/inside.txt"), "ok").unwrap();
    std::os::unix::fs::symlink(p.path("site/inside.txt"), p.path("site/alias.txt")).unwrap();
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(
        err.contains("site/leak.txt") && err.contains("outside"),
        "{err}"
    );
    assert!(err.contains("site/leakdir"), "{err}");
    assert!(!p.path("public").exists());
}

#[test]
fn output_folder_that_would_replace_the_project_is_refused() {
    let p = Project::new();
    p.write("site/a.md", "---\n---\nx\n");
    for bad in [".", "site", "..", "config"] {
        let run = p.run(&["build", "--output", bad]);
        assert_eq!(run.code(), Some(1), "{bad}");
        assert!(
            run.stderr().contains("build.output"),
            "{bad}: {}",
            run.stderr()
        );
    }
    assert!(p.path("site/a.md").exists());
}
