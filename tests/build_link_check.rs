//! Link checking: every internal href/src/srcset and `#anchor` of the
//! rendered site must lead somewhere, or `tusk build` and `tusk check`
//! fail with a numbered list of page -> link. External links are checked
//! only with `tusk check --external`, against real HTTP servers on
//! 127.0.0.1; unreachable hosts warn unless `--strict`.

mod common;
use common::origin::{Origin, Route};
use common::Project;

fn site() -> Project {
    let p = Project::new();
    p.write("site/index.md", "---\ntitle: Home\n---\n## Start here\n\n[About](/about/) · [team](/about/#the-team) · [top](#start-here)\n");
    p.write(
        "site/about.md",
        "---\ntitle: About\npermalink: /about/\n---\n## The team\n\n![logo](img/logo.png)\n",
    );
    p.write("site/about/img/logo.png", "png");
    p
}

#[test]
fn broken_internal_links_and_anchors_fail_build_and_check() {
    let p = site();
    p.run(&["build"]).success();
    let ok = p.run(&["check"]).success();
    assert!(
        ok.stdout().contains("internal links checked"),
        "{}",
        ok.stdout()
    );

    p.write(
        "site/post.md",
        "---\ntitle: P\npermalink: /p/\n---\n[gone](/nowhere/) [bad anchor](/about/#nobody) [rel](../about/#the-team)\n\n<img srcset=\"/about/img/logo.png 1x, /about/img/missing.png 2x\" alt=\"x\">\n",
    );
    for cmd in ["build", "check"] {
        let run = p.run(&[cmd]);
        assert_eq!(run.code(), Some(1), "{cmd}");
        let err = run.stderr();
        assert!(err.contains("error: 1. site/post.md: broken link /nowhere/ on /p/: no nowhere/index.html in the output"), "{err}");
        assert!(err.contains("site/post.md: broken link /about/#nobody on /p/: no id \"nobody\" in about/index.html"), "{err}");
        assert!(
            err.contains("site/post.md: broken link /about/img/missing.png on /p/"),
            "{err}"
        );
        assert!(!err.contains("../about/#the-team"), "{err}");
        assert!(err.contains("3 problems found"), "{err}");
    }
    // The previous build is untouched.
    assert!(!p.path("public/p").exists());
    assert!(p.path("public/about/index.html").exists());

    // JSON for CI.
    let json = p.run(&["check", "--json"]).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"].as_array().unwrap().len(), 3);
}

#[test]
fn external_links_are_checked_only_on_request() {
    let origin = Origin::start(
        vec![
            ("/fine", Route::html("ok")),
            ("/moved", Route::redirect(301, "/fine")),
        ],
        |_| None,
    );
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = site();
    p.write(
        "site/links.md",
        &format!(
            "---\ntitle: L\npermalink: /links/\n---\n[a]({o}/fine) [b]({o}/moved) [c]({o}/gone#x) [d](http://127.0.0.1:{closed}/)\n",
            o = origin.url
        ),
    );
    // The build never requests external links.
    p.run(&["build"]).success();
    assert!(origin.log().is_empty());

    let run = p.run(&["check", "--external", "--timeout", "3"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains(&format!(
            "error: site/links.md -> {}/gone: HTTP 404",
            origin.url
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: site/links.md -> http://127.0.0.1:{closed}/: unreachable"
        )),
        "{err}"
    );
    assert!(
        run.stdout()
            .contains("4 external links checked: 1 broken, 1 unreachable"),
        "{}",
        run.stdout()
    );

    // Only the unreachable one left: a warning, exit 0, unless --strict.
    p.write(
        "site/links.md",
        &format!("---\ntitle: L\npermalink: /links/\n---\n[a]({o}/fine) [d](http://127.0.0.1:{closed}/)\n", o = origin.url),
    );
    p.run(&["check", "--external", "--timeout", "3"]).success();
    let strict = p.run(&[
        "check",
        "--external",
        "--strict",
        "--timeout",
        "3",
        "--json",
    ]);
    assert_eq!(strict.code(), Some(1));
    let json = strict.json();
    assert_eq!(json["ok"], false);
    let results = json["result"]["external"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().any(|r| r["result"] == "network"), "{json}");
}
