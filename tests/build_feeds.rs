//! Generated `sitemap.xml`, `robots.txt` and posts feeds (Atom 1.0, RSS
//! 2.0): well-formed XML with the elements the formats require, stable
//! from one build to the next, and never over a file the site provides.

mod common;
use common::Project;

fn project(extra_build: &str) -> Project {
    let p = Project::bare(&format!(
        "[site]\ntitle = \"Feeds & Co\"\nbase_url = \"https://example.test\"\nauthor = \"Ann\"\n[build]\n{extra_build}"
    ));
    p.write(
        "site/_templates/page.html",
        "<main>{{ content | safe }}</main>",
    );
    p.write(
        "site/_templates/post.html",
        "<article>{{ content | safe }}</article>",
    );
    for day in 1..=5 {
        p.write(
            &format!("site/_posts/2024-03-0{day}-post-{day}.md"),
            &format!("---\ntitle: Post {day} <&>\ntags: [t{day}]\n---\nExcerpt {day} with <em>markup</em>.\n\nMore.\n"),
        );
    }
    p.write(
        "site/about.md",
        "---\ntitle: About\npermalink: /about/\n---\nAbout\n",
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.write(
        "site/hidden.md",
        "---\ntitle: Hidden\nsitemap: false\n---\nx\n",
    );
    p.write(
        "site/404.md",
        "---\ntitle: Not found\npermalink: /404.html\n---\nGone\n",
    );
    p
}

fn children<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children()
        .filter(|c| c.tag_name().name() == name)
        .collect()
}

fn text<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    children(node, name)
        .first()
        .unwrap_or_else(|| panic!("<{}> has no <{name}>", node.tag_name().name()))
        .text()
        .unwrap_or("")
}

#[test]
fn atom_feed_sitemap_and_robots_are_valid_and_stable() {
    let p = project("[build.feed]\nlimit = 3\n");
    p.run(&["build"]).success();

    let xml = p.read("public/feed.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed Atom");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(
        feed.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    assert_eq!(text(feed, "title"), "Feeds & Co");
    assert_eq!(text(feed, "id"), "https://example.test/");
    assert_eq!(text(feed, "updated"), "2024-03-05T00:00:00+00:00");
    assert_eq!(text(children(feed, "author")[0], "name"), "Ann");
    let entries = children(feed, "entry");
    assert_eq!(entries.len(), 3, "limit");
    let first = entries[0];
    assert_eq!(text(first, "title"), "Post 5 <&>");
    assert_eq!(
        text(first, "id"),
        "https://example.test/2024/03/05/post-5.html"
    );
    assert!(!text(first, "updated").is_empty());
    assert_eq!(
        children(first, "link")[0].attribute("href"),
        Some("https://example.test/2024/03/05/post-5.html")
    );
    assert!(text(first, "summary").contains("<em>markup</em>"));
    assert_eq!(children(first, "category")[0].attribute("term"), Some("t5"));

    let xml = p.read("public/sitemap.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed sitemap");
    let urlset = doc.root_element();
    assert_eq!(
        urlset.tag_name().namespace(),
        Some("http://www.sitemaps.org/schemas/sitemap/0.9")
    );
    let mut locs: Vec<&str> = children(urlset, "url")
        .iter()
        .map(|u| text(*u, "loc"))
        .collect();
    locs.sort();
    // Home, 5 posts, about, the tags page and one page per tag.
    assert_eq!(locs.len(), 13, "{locs:?}");
    assert!(locs.contains(&"https://example.test/about/"));
    assert!(locs.contains(&"https://example.test/tags/t3/"));
    assert!(locs.contains(&"https://example.test/2024/03/01/post-1.html"));
    assert!(!locs
        .iter()
        .any(|l| l.contains("hidden") || l.contains("404")));

    let robots = p.read("public/robots.txt");
    assert!(robots.contains("User-agent: *"));
    assert!(robots.contains("Sitemap: https://example.test/sitemap.xml"));

    // The tree types them as feeds (short cache) with XML content types:
    // the Atom feed as Atom (issue 26, item 8), the sitemap as XML.
    let object = |key: &str| p.tree_object(key);
    assert_eq!(object("feed.xml")["cache_class"], "feed");
    assert_eq!(
        object("feed.xml")["content_type"],
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(
        object("sitemap.xml")["content_type"],
        "application/xml; charset=utf-8"
    );
    assert_eq!(object("robots.txt")["cache_class"], "feed");

    // Same content, same bytes: nothing to re-publish.
    // (The tree manifest alone carries the build time.)
    let files = || {
        let mut files = common::snapshot_dir(&p.path("public"));
        files.remove(".tusk-tree.json");
        files
    };
    let before = files();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    p.run(&["build"]).success();
    assert_eq!(before, files());
}

#[test]
fn rss_on_request_and_the_sites_own_files_win() {
    let p = project("robots = true\n[build.feed]\natom = \"\"\nrss = \"rss.xml\"\n");
    p.write("site/robots.txt", "User-agent: *\nDisallow: /private/\n");
    p.run(&["build"]).success();

    assert!(!p.path("public/feed.xml").exists(), "atom turned off");
    assert_eq!(
        p.read("public/robots.txt"),
        "User-agent: *\nDisallow: /private/\n"
    );
    let xml = p.read("public/rss.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed RSS");
    let rss = doc.root_element();
    assert_eq!(rss.tag_name().name(), "rss");
    assert_eq!(rss.attribute("version"), Some("2.0"));
    let channel = children(rss, "channel")[0];
    assert_eq!(text(channel, "title"), "Feeds & Co");
    assert_eq!(text(channel, "link"), "https://example.test/");
    assert!(!text(channel, "description").is_empty());
    let items = children(channel, "item");
    assert_eq!(items.len(), 5);
    assert_eq!(
        text(items[0], "link"),
        "https://example.test/2024/03/05/post-5.html"
    );
    assert!(text(items[0], "pubDate").starts_with("Tue, 5 Mar 2024"));

    let p = project("sitemap = false\nrobots = false\n");
    p.run(&["build"]).success();
    assert!(!p.path("public/sitemap.xml").exists() && !p.path("public/robots.txt").exists());
}
