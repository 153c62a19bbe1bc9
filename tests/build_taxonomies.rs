//! Taxonomies and pagination with the default theme: a page per taxonomy
//! and per term, Jekyll-style `/page/N/` paths for paginated documents and
//! term pages, custom taxonomies and per-term feeds from config, and clear
//! errors for bad input.

mod common;
use common::Project;

fn blog(config_extra: &str) -> Project {
    let p = Project::bare(&format!(
        "[site]\ntitle = \"Blog\"\nbase_url = \"https://example.test\"\n[build]\npermalink = \"/posts/:title/\"\n{config_extra}"
    ));
    p.write(
        "site/index.md",
        "---\nlayout: home\ntitle: Home\npaginate: posts\npaginate_by: 4\n---\nWelcome.\n",
    );
    for day in 1..=9 {
        let tags = if day % 2 == 0 {
            "[Edge Cache, even]"
        } else {
            "[Edge Cache]"
        };
        p.write(
            &format!("site/_posts/2024-03-0{day}-post-{day}.md"),
            &format!("---\ntitle: Post {day}\ntags: {tags}\ncategories: ops\nauthors: [ann]\n---\nBody {day}.\n"),
        );
    }
    p
}

#[test]
fn term_pages_list_pages_and_pagination_use_jekyll_paths() {
    let p = blog("paginate_by = 3\n");
    p.run(&["build"]).success();

    // The home page paginates posts 4 at a time, newest first: 3 pages.
    let home = p.read("public/index.html");
    assert!(
        home.contains("Post 9") && home.contains("Post 6") && !home.contains("Post 5<"),
        "{home}"
    );
    assert!(home.contains("href=\"/page/2/\""), "{home}");
    let two = p.read("public/page/2/index.html");
    assert!(
        two.contains("Post 5") && two.contains("Post 2") && !two.contains("Post 6<"),
        "{two}"
    );
    assert!(
        two.contains("rel=\"prev\" href=\"/\"") && two.contains("rel=\"next\" href=\"/page/3/\""),
        "{two}"
    );
    let three = p.read("public/page/3/index.html");
    assert!(
        three.contains("Post 1") && !three.contains("rel=\"next\""),
        "{three}"
    );
    assert!(!p.path("public/page/4").exists());

    // Tags list page with counts; term slugs are URL-safe.
    let tags = p.read("public/tags/index.html");
    assert!(
        tags.contains("<a href=\"/tags/edge-cache/\">Edge Cache</a>"),
        "{tags}"
    );
    assert!(tags.contains("(9)") && tags.contains("(4)"), "{tags}");
    // Term pages: 9 posts, 3 per page (build.paginate_by).
    let term = p.read("public/tags/edge-cache/index.html");
    assert!(
        term.contains("<h1>Edge Cache</h1>") && term.contains("9 posts"),
        "{term}"
    );
    assert!(
        term.contains("Post 9") && term.contains("Post 7") && !term.contains("Post 6<"),
        "{term}"
    );
    assert!(p
        .read("public/tags/edge-cache/page/3/index.html")
        .contains("Post 1"));
    assert!(!p.path("public/tags/edge-cache/page/4").exists());
    assert!(p
        .read("public/tags/even/page/2/index.html")
        .contains("Post 2"));
    assert!(p
        .read("public/categories/ops/index.html")
        .contains("Post 9"));
    // Posts link to their terms.
    let post = p.read("public/posts/post-4/index.html");
    // As tag chips, in the post's order.
    assert!(post.contains("<li><a class=\"chip\" href=\"/tags/edge-cache/\" rel=\"tag\">Edge Cache</a></li><li><a class=\"chip\" href=\"/tags/even/\" rel=\"tag\">even</a></li>"), "{post}");
    assert!(
        post.contains("<a href=\"/categories/ops/\">ops</a>"),
        "{post}"
    );
    // Custom taxonomies only when configured: `authors` is not one yet.
    assert!(!p.path("public/authors").exists());
    // Term pages are in the sitemap and the tree.
    let sitemap = p.read("public/sitemap.xml");
    assert!(
        sitemap.contains("<loc>https://example.test/tags/edge-cache/page/2/</loc>"),
        "{sitemap}"
    );
    let tree = p.read("public/.tusk-tree.json");
    assert!(tree.contains("\"tags/even/index.html\""));
}

#[test]
fn custom_taxonomies_and_term_feeds_from_config() {
    let p = blog("paginate_by = 5\n[build.taxonomies.tags]\nfeed = true\npaginate_by = 5\n[build.taxonomies.authors]\n");
    p.run(&["build"]).success();
    // Configuring taxonomies replaces the defaults: no categories pages.
    assert!(!p.path("public/categories").exists());
    let ann = p.read("public/authors/ann/index.html");
    assert!(
        ann.contains("9 posts") && ann.contains("href=\"/authors/ann/page/2/\""),
        "{ann}"
    );
    assert!(p.path("public/authors/ann/page/2/index.html").exists());
    assert!(!p.path("public/authors/ann/page/3").exists());

    // A valid Atom feed per tag, with only that tag's posts.
    let xml = p.read("public/tags/even/feed.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed feed");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    let entries: Vec<_> = feed
        .children()
        .filter(|c| c.has_tag_name("entry"))
        .collect();
    assert_eq!(entries.len(), 4, "{xml}");
    for e in &entries {
        for required in ["id", "title", "updated"] {
            assert!(
                e.children().any(|c| c.has_tag_name(required)),
                "entry without <{required}>"
            );
        }
    }
    assert!(xml.contains("<title>Blog · even</title>"), "{xml}");
    assert!(
        xml.contains("<id>https://example.test/tags/even/feed.xml</id>"),
        "{xml}"
    );
    let term = p.read("public/tags/even/index.html");
    assert!(term.contains("href=\"/tags/even/feed.xml\""), "{term}");
    assert!(!p.path("public/authors/ann/feed.xml").exists());
}

#[test]
fn bad_pagination_and_clashing_terms_are_reported() {
    let p = blog("");
    p.write(
        "site/archive.md",
        "---\ntitle: A\npaginate: nothing.here\n---\nx\n",
    );
    p.write(
        "site/_posts/2024-04-01-clash.md",
        "---\ntitle: Clash\ntags: [edge cache]\n---\nx\n",
    );
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(
        err.contains("site/archive.md: paginate: \"nothing.here\" is not a list"),
        "{err}"
    );
    // Once, at the first (newest) post with the second spelling.
    let clash = "site/_posts/2024-03-09-post-9.md: tags \"Edge Cache\" and \"edge cache\" would share the page /tags/edge-cache/";
    assert!(err.contains(clash), "{err}");
    assert_eq!(err.matches("would share").count(), 1, "{err}");
    assert!(!p.path("public").exists(), "nothing is written");
}
