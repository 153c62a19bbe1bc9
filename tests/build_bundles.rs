//! Co-located assets (Hugo's page bundles, Zola's co-located assets): a
//! post or page folder with `index.md` and its images. The images are
//! published next to the document's output, its relative links to them
//! work on its page, in its excerpt on list pages and in the feed; a
//! relative image that does not resolve says how to fix it.

mod common;
use common::Project;

/// A project whose home page lists every post's excerpt.
fn project() -> Project {
    let p = Project::new();
    p.write(
        "site/index.html",
        "---\ntitle: Home\n---\n{% for post in site.posts %}<section>{{ post.excerpt | safe }}</section>{% endfor %}",
    );
    p
}

#[test]
fn a_post_folder_publishes_its_images_beside_the_post() {
    let p = project();
    p.write(
        "site/_posts/2026-11-01-launch/index.md",
        "---\ntitle: Launch\n---\nLook: ![diagram](pic.svg) and [the notes](files/notes.txt#top).\n\nMore.\n",
    );
    p.write("site/_posts/2026-11-01-launch/pic.svg", "<svg/>");
    p.write("site/_posts/2026-11-01-launch/files/notes.txt", "notes");
    // An unpublished bundle publishes none of its files.
    p.write(
        "site/_drafts/2026-11-02-wip/index.md",
        "---\ntitle: WIP\n---\n![w](wip.svg)\n",
    );
    p.write("site/_drafts/2026-11-02-wip/wip.svg", "<svg/>");

    p.run(&["build"]).success();
    // The post keeps the URL its folder's name gives it ...
    let post = p.read("public/2026/11/01/launch.html");
    assert!(post.contains("<h1>Launch</h1>"), "{post}");
    // ... and its files go to a folder named after it.
    assert_eq!(p.read("public/2026/11/01/launch/pic.svg"), "<svg/>");
    assert_eq!(p.read("public/2026/11/01/launch/files/notes.txt"), "notes");
    assert!(!p.path("public/2026/11/01/pic.svg").exists());
    assert!(
        post.contains(r#"<img src="/2026/11/01/launch/pic.svg" alt="diagram" />"#),
        "{post}"
    );
    assert!(
        post.contains(r#"href="/2026/11/01/launch/files/notes.txt#top""#),
        "{post}"
    );
    // The excerpt on the home page leads to the same files.
    let home = p.read("public/index.html");
    assert!(
        home.contains(r#"<img src="/2026/11/01/launch/pic.svg""#),
        "{home}"
    );
    // The feed names them with the site's base URL.
    let feed = p.read("public/feed.xml");
    assert!(
        feed.contains("src=&quot;https://example.test/2026/11/01/launch/pic.svg&quot;"),
        "{feed}"
    );
    assert!(!p.path("public/2026/11/02/wip/wip.svg").exists());

    p.run(&["build", "--drafts"]).success();
    assert!(p.path("public/2026/11/02/wip/wip.svg").exists());
}

#[test]
fn a_page_folder_keeps_its_images_with_the_page_wherever_its_url_is() {
    let p = project();
    p.write(
        "site/guides/setup/index.md",
        "---\ntitle: Setup\npermalink: /setup/\n---\n![screen](shot.png)\n",
    );
    p.write("site/guides/setup/shot.png", "png");
    // A page whose URL is its folder: its files stay where they were.
    p.write(
        "site/about/index.md",
        "---\ntitle: About\n---\n![team](team.png)\n",
    );
    p.write("site/about/team.png", "team");
    p.run(&["build"]).success();
    assert_eq!(p.read("public/setup/shot.png"), "png");
    assert!(!p.path("public/guides/setup/shot.png").exists());
    assert!(p
        .read("public/setup/index.html")
        .contains(r#"src="/setup/shot.png""#));
    assert_eq!(p.read("public/about/team.png"), "team");
}

#[test]
fn a_relative_image_that_does_not_resolve_says_how_to_fix_it() {
    let p = project();
    p.write(
        "site/_posts/2026-11-03-hello.md",
        "---\ntitle: Hello\n---\nIntro.\n\nSee ![pic](images/pic.svg).\n",
    );
    p.write("site/_posts/images/pic.svg", "<svg/>");
    p.write(
        "site/docs/about.md",
        "---\ntitle: About\n---\n![logo](logo.png)\n",
    );
    p.write("site/logo.png", "png");

    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("site/_posts/2026-11-03-hello.md:6:12: broken link images/pic.svg on /2026/11/03/hello.html: no 2026/11/03/images/pic.svg in the output (site/_posts/images/pic.svg is beside the post's source, but a post's relative links resolve under its URL: to keep files with a post, make the post a folder, site/_posts/2026-11-03-hello/index.md, with images/pic.svg in it)"),
        "{err}"
    );
    assert!(
        err.contains("site/docs/about.md:4:9: broken link logo.png on /docs/about.html: no docs/logo.png in the output (did you mean /logo.png?)"),
        "{err}"
    );
    assert!(err.contains("2 problems found"), "{err}");

    // Done as the hint says, the post builds.
    std::fs::remove_file(p.path("site/_posts/2026-11-03-hello.md")).unwrap();
    std::fs::remove_file(p.path("site/_posts/images/pic.svg")).unwrap();
    p.write(
        "site/_posts/2026-11-03-hello/index.md",
        "---\ntitle: Hello\n---\nIntro.\n\nSee ![pic](images/pic.svg).\n",
    );
    p.write("site/_posts/2026-11-03-hello/images/pic.svg", "<svg/>");
    p.write(
        "site/docs/about.md",
        "---\ntitle: About\n---\n![logo](/logo.png)\n",
    );
    p.run(&["build"]).success();
    assert!(p.path("public/2026/11/03/hello/images/pic.svg").exists());
}
