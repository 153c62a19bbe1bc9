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
        assert!(err.contains("error: 1. site/post.md:5:8: broken link /nowhere/ on /p/: no nowhere/index.html in the output"), "{err}");
        assert!(err.contains("site/post.md:5:32: broken link /about/#nobody on /p/: no id \"nobody\" in about/index.html"), "{err}");
        assert!(
            err.contains("site/post.md:7:38: broken link /about/img/missing.png on /p/"),
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

#[test]
fn links_to_source_files_resolve_to_their_urls_and_missing_ones_fail_at_their_line() {
    let p = Project::new();
    p.write(
        "site/_posts/2026-11-01-hello-world.md",
        "---\ntitle: Hello\n---\n## Top\n\nHello.\n",
    );
    p.write(
        "site/about.md",
        "---\ntitle: About\npermalink: /about/\n---\nUs.\n",
    );
    let next = "---\ntitle: Next\n---\nSee [hello](2026-11-01-hello-world.md#top), [about](../about.md),\n[zola](@/posts/2026-11-01-hello-world.md) and [us](@/about.md).\n";
    p.write("site/_posts/2026-11-02-next.md", next);
    p.run(&["build"]).success();
    let html = p.read("public/2026/11/02/next.html");
    assert!(
        html.contains(r#"<a href="/2026/11/01/hello-world.html#top">hello</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/about/">about</a>"#), "{html}");
    assert!(
        html.contains(r#"<a href="/2026/11/01/hello-world.html">zola</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/about/">us</a>"#), "{html}");

    // A source that is not there (or not published) fails the build at the
    // link's line and column, whatever command checks it.
    p.write(
        "site/_posts/2026-11-02-next.md",
        &format!("{next}\nAnd [gone](2026-10-30-gone.md), [later](@/_drafts/later.md).\n"),
    );
    p.write("site/_drafts/later.md", "---\ntitle: Later\n---\nSoon.\n");
    for cmd in ["build", "check"] {
        let run = p.run(&[cmd]);
        assert_eq!(run.code(), Some(1), "{cmd}");
        let err = run.stderr();
        assert!(err.contains("site/_posts/2026-11-02-next.md:7:12: link 2026-10-30-gone.md names a source file that does not exist (site/_posts/2026-10-30-gone.md)"), "{err}");
        assert!(err.contains("site/_posts/2026-11-02-next.md:7:41: link @/_drafts/later.md: site/_drafts/later.md is not published (a draft, a future post or published: false)"), "{err}");
        assert!(err.contains("2 problems found"), "{err}");
    }
    // With drafts, the draft is there to link to.
    p.write(
        "site/_posts/2026-11-02-next.md",
        &format!("{next}\nAnd [later](@/_drafts/later.md).\n"),
    );
    p.run(&["build", "--drafts"]).success();
}

#[test]
fn a_broken_link_in_an_excerpt_is_one_problem_at_its_source_line() {
    let p = Project::new();
    // Three list pages show every excerpt; the layout of posts has a link
    // of its own.
    for list in ["index", "archive", "latest"] {
        p.write(
            &format!("site/{list}.html"),
            "---\ntitle: List\n---\n{% for post in site.posts %}<section>{{ post.excerpt | safe }}</section>{% endfor %}",
        );
    }
    p.write(
        "site/_templates/post.html",
        "<article>{{ content | safe }}</article><a href=\"/guides/\">Guides</a>",
    );
    p.write(
        "site/_posts/2026-11-01-a.md",
        "---\ntitle: A\n---\nIntro [old](/2020/01/01/deleted.html) text.\n\nBody.\n",
    );
    p.write(
        "site/_posts/2026-11-02-b.md",
        "---\ntitle: B\n---\nIntro.\n\nBody [gone](/gone/).\n",
    );
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(err.contains("site/_posts/2026-11-01-a.md:4:13: broken link /2020/01/01/deleted.html on /2026/11/01/a.html: no 2020/01/01/deleted.html in the output (also on 3 list pages)"), "{err}");
    assert!(err.contains("site/_posts/2026-11-02-b.md:6:13: broken link /gone/ on /2026/11/02/b.html: no gone/index.html in the output\n"), "{err}");
    assert!(err.contains("broken link /guides/ on /2026/11/01/a.html: no guides/index.html in the output (also on 1 other page)"), "{err}");
    assert!(err.contains("3 problems found"), "{err}");

    let json = p.run(&["check", "--json"]).json();
    let problems = json["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 3, "{json}");
    let excerpt = problems
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("deleted.html"))
        .unwrap();
    assert_eq!(
        (excerpt["line"].as_u64(), excerpt["column"].as_u64()),
        (Some(4), Some(13))
    );
}
