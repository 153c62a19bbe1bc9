//! Redirects from front matter (`redirect_from`, `redirect_to`): tree
//! entries carrying the target (S3 website redirects), a meta-refresh page
//! for hosts that serve the body, publish keeping both, and clear errors.

mod common;
use common::Project;
use serde_json::Value;

fn site() -> Project {
    let p = Project::new();
    p.write("site/index.md", "---\ntitle: Home\n---\n[new](/guide/)\n");
    p.write(
        "site/guide.md",
        "---\ntitle: Guide\npermalink: /guide/\nredirect_from:\n  - /old-guide/\n  - /docs/guide.html\n---\nThe guide.\n",
    );
    p.write(
        "site/chat.md",
        "---\ntitle: Chat\npermalink: /chat/\nredirect_to: https://chat.example.test/room\n---\nignored\n",
    );
    p
}

#[test]
fn redirect_from_and_redirect_to_become_redirect_objects_with_a_fallback_page() {
    let p = site();
    p.run(&["build"]).success();
    for key in ["old-guide/index.html", "docs/guide.html"] {
        let o = p.tree_object(key);
        assert_eq!(o["redirect"], "/guide/", "{o}");
        assert_eq!(o["cache_class"], "redirect");
        assert_eq!(o["content_type"], "text/html; charset=utf-8");
        let body = p.read(&format!("public/{key}"));
        assert!(
            body.contains("<meta http-equiv=\"refresh\" content=\"0; url=/guide/\">"),
            "{body}"
        );
        assert!(
            body.contains("<link rel=\"canonical\" href=\"/guide/\">"),
            "{body}"
        );
    }
    let chat = p.tree_object("chat/index.html");
    assert_eq!(chat["redirect"], "https://chat.example.test/room");
    assert!(!p.read("public/chat/index.html").contains("ignored"));
    // The target page itself is an ordinary page.
    assert!(p.tree_object("guide/index.html")["redirect"].is_null());

    // Publish keeps the redirect and the body (local bucket sidecars).
    p.run(&["publish"]).success();
    let meta: Value =
        serde_json::from_str(&p.read(".tusk/bucket/.tusk-meta/old-guide/index.html.json")).unwrap();
    assert_eq!(meta["redirect"], "/guide/", "{meta}");
    let stored = p.read(".tusk/bucket/old-guide/index.html");
    assert!(stored.contains("url=/guide/"), "{stored}");
}

#[test]
fn redirects_over_pages_or_outside_the_site_are_refused() {
    let p = site();
    p.write(
        "site/about.md",
        "---\ntitle: About\npermalink: /about/\nredirect_from: [/guide/, ../../etc/passwd, /ok/]\n---\nx\n",
    );
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(err.contains("site/about.md: redirect_from /guide/ writes guide/index.html, which site/guide.md also writes"), "{err}");
    assert!(err.contains("site/about.md: redirect_from \"../../etc/passwd\" must be a path starting with / inside the site"), "{err}");
    assert!(!p.path("public").exists());
}

/// jekyll-redirect-from writes both redirect pages to the same file, so
/// the later document wins; tusk does the same and says so, naming both.
#[test]
fn two_documents_with_the_same_redirect_from_the_later_wins_with_a_warning() {
    let p = Project::new();
    p.write(
        "site/a.md",
        "---\npermalink: /a/\nredirect_from: /old/\n---\nA\n",
    );
    p.write(
        "site/b.md",
        "---\npermalink: /b/\nredirect_from: [/old/]\n---\nB\n",
    );
    let run = p.run(&["build"]).success();
    let redirect = p.tree_object("old/index.html")["redirect"].clone();
    let (winner, loser) = if redirect == "/b/" {
        ("b", "a")
    } else {
        ("a", "b")
    };
    assert!(redirect == "/a/" || redirect == "/b/", "{redirect}");
    let err = run.stderr();
    assert!(
        err.contains(&format!(
            "warning: site/{winner}.md:4: redirect_from /old/ is also in site/{loser}.md: this later one wins"
        )) || err.contains(&format!(
            "warning: site/{winner}.md: redirect_from /old/ is also in site/{loser}.md: this later one wins"
        )),
        "{err}"
    );
}
