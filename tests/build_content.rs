//! What `tusk build` makes of content: Jekyll's folders and front matter
//! keys, Markdown features, templates and data, static files, and the tree
//! manifest that later stages consume.

mod common;
use common::Project;
use md5::Digest;

#[test]
fn drafts_future_and_unpublished_follow_jekyll() {
    let p = Project::new();
    p.write(
        "site/_posts/2024-01-01-live.md",
        "---\ntitle: Live\n---\nx\n",
    );
    p.write(
        "site/_posts/2999-01-01-future.md",
        "---\ntitle: Future\n---\nx\n",
    );
    p.write(
        "site/_posts/2024-01-02-hidden.md",
        "---\npublished: false\n---\nx\n",
    );
    p.write(
        "site/_drafts/wip.md",
        "---\ntitle: WIP\ndate: 2024-02-03\n---\nx\n",
    );
    p.write("site/_posts/notdated.md", "---\n---\nx\n");

    p.run(&["build"]).success();
    assert!(p.path("public/2024/01/01/live.html").exists());
    assert!(!p.path("public/2999/01/01/future.html").exists());
    assert!(!p.path("public/2024/01/02/hidden.html").exists());
    assert!(!p.path("public/2024/02/03/wip.html").exists());

    p.run(&["build", "--drafts", "--future"]).success();
    assert!(p.path("public/2999/01/01/future.html").exists());
    assert!(p.path("public/2024/02/03/wip.html").exists());
    assert!(!p.path("public/2024/01/02/hidden.html").exists());
}

#[test]
fn markdown_features_and_excerpts_reach_templates() {
    let p = Project::new();
    p.write(
        "site/_templates/post.html",
        "<h1>{{ page.title }}</h1><p class=ex>{{ page.excerpt | safe }}</p>{{ content | safe }}<nav>{% for h in page.toc %}{{ h.id }};{% endfor %}</nav>",
    );
    p.write(
        "site/_posts/2024-03-04-features.md",
        "---\ntitle: Features & more\n---\nIntro *paragraph*.\n\n## Table\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ and [^n]\n\n- [x] done\n\n```rust\nfn main() {}\n```\n\n[^n]: A note.\n",
    );
    p.write(
        "site/_posts/2024-03-05-sep.md",
        "---\nexcerpt_separator: <!--more-->\n---\nOne.\n\nTwo.\n<!--more-->\nThree.\n",
    );
    p.run(&["build"]).success();
    let html = p.read("public/2024/03/04/features.html");
    assert!(html.contains("<h1>Features &amp; more</h1>"), "{html}");
    assert!(
        html.contains("<p class=ex><p>Intro <em>paragraph</em>.</p>"),
        "{html}"
    );
    assert!(html.contains("<table>"));
    assert!(html.contains("<del>old</del>"));
    assert!(html.contains("checkbox"));
    assert!(html.contains("class=\"language-rust\""));
    assert!(html.contains("<h2 id=\"table\">"));
    assert!(html.contains("<nav>table;</nav>"));
    let sep = p.read("public/2024/03/05/sep.html");
    assert!(
        sep.contains("<p class=ex><p>One.</p>\n<p>Two.</p>"),
        "{sep}"
    );
    assert!(
        !sep.contains("<p class=ex><p>One.</p>\n<p>Two.</p>\n<p>Three"),
        "{sep}"
    );
}

#[test]
fn site_lists_data_and_collections_in_templates() {
    let p = Project::bare(
        "[site]\ntitle = \"T\"\n[build.collections.recipes]\noutput = true\n[build.collections.notes]\noutput = false\n",
    );
    p.write("site/_templates/page.html", "{{ content | safe }}");
    p.write("site/_templates/post.html", "{{ content | safe }}");
    p.write(
        "site/_templates/recipes.html",
        "RECIPE {{ page.title }} {{ content | safe }}",
    );
    p.write("site/_data/nav.yml", "- title: Home\n  url: /\n");
    p.write("site/_data/team/people.toml", "[ann]\nrole = \"editor\"\n");
    p.write("site/_data/meta.json", "{\"version\": 3}");
    p.write(
        "site/_posts/2024-01-01-a.md",
        "---\ntitle: A\ntags: [x, y]\n---\nA\n",
    );
    p.write(
        "site/_posts/2024-02-01-b.md",
        "---\ntitle: B\ntags: y\ncategories: [C1]\n---\nB\n",
    );
    p.write("site/_recipes/bread.md", "---\ntitle: Bread\n---\nFlour.\n");
    p.write(
        "site/_recipes/sub/cake.md",
        "---\ntitle: Cake\n---\nSugar.\n",
    );
    p.write("site/_notes/private.md", "---\ntitle: Note\n---\nsecret\n");
    p.write(
        "site/index.html",
        "---\nlayout: none\n---\n{% for post in site.posts %}{{ post.title }},{% endfor %}|{{ site.data.nav[0].title }}|{{ site.data.team.people.ann.role }}|{{ site.data.meta.version }}|{% for d in site.collections.recipes.docs %}{{ d.url }},{% endfor %}|{{ site.collections.notes.docs | length }}|{{ site.tags.y | length }}|{{ site.categories.C1[0].title }}",
    );
    p.run(&["build"]).success();
    assert_eq!(
        p.read("public/index.html"),
        "B,A,|Home|editor|3|/recipes/bread.html,/recipes/sub/cake.html,|1|2|B"
    );
    assert!(p
        .read("public/recipes/bread.html")
        .starts_with("RECIPE Bread"));
    assert!(p.path("public/recipes/sub/cake.html").exists());
    assert!(!p.path("public/notes/private.html").exists());
    let all = serde_json::to_string(&p.tree()).unwrap();
    assert!(
        !all.contains("private"),
        "output:false documents are not published"
    );
}

#[test]
fn static_files_hidden_files_and_underscore_folders() {
    let p = Project::new();
    p.write("site/css/site.css", "body{}");
    p.write("site/img/logo.svg", "<svg/>");
    p.write("site/.secret", "x");
    p.write("site/_private/notes.txt", "x");
    p.write("site/drafts.txt", "no front matter: copied as is\n---\n");
    p.write(
        "site/feed.xml",
        "---\n---\n<feed>{{ site.posts | length }}</feed>\n",
    );
    p.run(&["build"]).success();
    assert_eq!(p.read("public/css/site.css"), "body{}");
    assert!(p.path("public/img/logo.svg").exists());
    assert!(!p.path("public/.secret").exists());
    assert!(!p.path("public/_private").exists());
    assert_eq!(
        p.read("public/drafts.txt"),
        "no front matter: copied as is\n---\n"
    );
    assert_eq!(p.read("public/feed.xml").trim(), "<feed>0</feed>");
}

#[test]
fn site_templates_override_the_theme_and_toml_front_matter_works() {
    let p = Project::bare("[site]\ntitle = \"T\"\n");
    p.write(
        "site/_templates/post.html",
        "OVERRIDE {{ page.title }} {{ page.date | date(format=\"%Y\") }}",
    );
    p.write(
        "site/_posts/2024-05-06-t.md",
        "+++\ntitle = \"Toml\"\ndate = 2023-07-08T09:10:11Z\n+++\nx\n",
    );
    p.write("site/about.md", "---\ntitle: About\n---\nHello\n");
    // The theme links every page home.
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.run(&["build"]).success();
    assert_eq!(p.read("public/2023/07/08/t.html"), "OVERRIDE Toml 2023");
    // The page uses the built-in default theme (no themes/ folder here).
    let about = p.read("public/about.html");
    assert!(
        about.contains("<html") && about.contains("Hello"),
        "{about}"
    );
}

#[test]
fn tree_manifest_describes_every_output_file() {
    let p = Project::new();
    p.write("site/_posts/2024-01-01-a.md", "---\n---\nA\n");
    p.write("site/about.md", "---\npermalink: /about/\n---\nB\n");
    p.write("site/data.json", "{}");
    p.write("site/app.wasm", "\0asm");
    p.run(&["build"]).success();
    let t = p.tree();
    assert_eq!(t["version"], 1);
    assert_eq!(t["producer"], "build");
    let objects = t["objects"].as_array().unwrap();
    let on_disk = common::snapshot_dir(&p.path("public"));
    assert_eq!(
        objects.len(),
        on_disk.len() - 1,
        "every file but the manifest"
    );
    for o in objects {
        let key = o["key"].as_str().unwrap();
        let bytes = &on_disk[key];
        assert_eq!(o["size"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(
            o["md5"].as_str().unwrap(),
            hex::encode(md5::Md5::digest(bytes))
        );
        assert_eq!(o["sha256"].as_str().unwrap().len(), 64);
    }
    let get = |k: &str| objects.iter().find(|o| o["key"] == k).unwrap().clone();
    assert_eq!(get("about/index.html")["cache_class"], "html");
    assert_eq!(
        get("about/index.html")["content_type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(get("app.wasm")["content_type"], "application/wasm");
    assert_eq!(
        get("data.json")["content_type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(get("app.wasm")["cache_class"], "asset");
    // Sorted by key.
    let keys: Vec<&str> = objects.iter().map(|o| o["key"].as_str().unwrap()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn layouts_reading_site_lists_through_includes_see_every_post() {
    let p = Project::new();
    p.write(
        "site/_templates/count.html",
        "{{ site.posts | length }} posts",
    );
    p.write(
        "site/_templates/post.html",
        "{{ site.title }}: {% include \"count.html\" %}",
    );
    p.write(
        "site/_templates/page.html",
        "{{ site.title }} {{ site.posts | default(value=\"lite\") }}",
    );
    p.write("site/_posts/2024-01-01-a.md", "---\n---\nA\n");
    p.write("site/_posts/2024-01-02-b.md", "---\n---\nB\n");
    p.write("site/about.md", "---\n---\nx\n");
    p.run(&["build"]).success();
    assert_eq!(p.read("public/2024/01/01/a.html"), "Test: 2 posts");
    // The page template mentions site.posts too, so it gets the full site.
    assert!(!p.read("public/about.html").contains("lite"));
}

#[test]
fn code_is_highlighted_with_classes_and_headings_get_anchors_and_a_toc() {
    let p = Project::bare("[site]\ntitle = \"T\"\n");
    p.write("site/index.md", "---\ntitle: Home\n---\nHi\n");
    p.write(
        "site/_posts/2024-05-06-code.md",
        "---\ntitle: Code\n---\n## Install\n\n```rust\nfn main() { println!(\"<hi>\"); }\n```\n\n## Configure\n\n```\nplain < text\n```\n\n## Run\n\nDone.\n",
    );
    p.run(&["build"]).success();
    let html = p.read("public/2024/05/06/code.html");
    assert!(
        html.contains("<pre class=\"code\" data-lang=\"rust\"><code class=\"language-rust\">"),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"hl-storage hl-type hl-function\">fn</span>"),
        "{html}"
    );
    assert!(
        html.contains("&lt;hi&gt;") && !html.contains("<hi>"),
        "{html}"
    );
    assert!(
        html.contains("<pre><code>plain &lt; text\n</code></pre>"),
        "{html}"
    );
    assert!(
        !html.contains("style=\"color"),
        "colours come from the theme's CSS"
    );
    assert!(
        html.contains("<h2 id=\"install\">Install <a class=\"anchor\" href=\"#install\""),
        "{html}"
    );
    // The default theme shows the table of contents (3 headings).
    assert!(
        html.contains("<nav class=\"toc\" aria-label=\"Contents\">"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"#configure\">Configure</a>"),
        "{html}"
    );
    let css = std::fs::read_dir(p.path("public/css"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(css.contains(".hl-keyword"), "the theme colours the classes");

    // Both can be turned off.
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[build]\nhighlight = false\nheading_anchors = false\n",
    );
    p.run(&["build"]).success();
    let html = p.read("public/2024/05/06/code.html");
    assert!(
        html.contains("<code class=\"language-rust\">fn main()"),
        "{html}"
    );
    assert!(!html.contains("class=\"anchor\""), "{html}");
}

/// Jekyll reads front matter dates with Ruby's `Time.parse`: the lenient
/// forms real sites carry are read the same way (what Ruby ignores is
/// ignored, with a warning); a date Ruby refuses is a problem at its line.
#[test]
fn post_dates_ruby_accepts_are_read_as_jekyll_reads_them() {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\ntimezone = \"UTC\"\n[build]\npermalink = \"/:year/:month/:day/:hour:minute/:title/\"\n",
    );
    let cases = [
        ("2023-01-29 18:30:22 2023 -0800", "2023/01/29/1830"),
        ("2023-01-29 18:30:22 -0800", "2023/01/30/0230"),
        ("2023-01-29T18:30", "2023/01/29/1830"),
        ("2023/01/29 6:30 PM", "2023/01/29/1830"),
        ("2023-01-29 18:30:22 PST", "2023/01/30/0230"),
        ("2023-01-29 18:30:22 +08:00", "2023/01/29/1030"),
    ];
    for (i, (date, _)) in cases.iter().enumerate() {
        p.write(
            &format!("site/_posts/2023-01-01-p{i}.md"),
            &format!("---\ntitle: P\ndate: {date}\n---\nx\n"),
        );
    }
    let run = p.run(&["build"]).success();
    for (i, (date, path)) in cases.iter().enumerate() {
        let file = p.path(&format!("public/{path}/p{i}/index.html"));
        assert!(file.exists(), "{date}: expected {}", file.display());
    }
    assert!(
        run.stderr().contains(
            "warning: site/_posts/2023-01-01-p0.md:3: date \"2023-01-29 18:30:22 2023 -0800\" read as 2023-01-29 18:30:22 +0000"
        ),
        "{}",
        run.stderr()
    );
    p.write(
        "site/_posts/2023-01-01-bad.md",
        "---\ntitle: P\ndate: 2023-13-45 10:00\n---\nx\n",
    );
    let err = p.run(&["build"]).stderr();
    assert!(
        err.contains("site/_posts/2023-01-01-bad.md:3: invalid date \"2023-13-45 10:00\""),
        "{err}"
    );
}

/// Only a valid attribute block ends a heading as attributes:
/// `{% include %}` (Liquid) stays text instead of `%-="" include=""`.
#[test]
fn headings_ending_in_liquid_keep_their_text() {
    let p = Project::new();
    p.write(
        "site/page.md",
        "---\npermalink: /page/\n---\n## Setup {% include anchor.html %}\n\n## Real {#real .big}\n\n```sh\n# a comment {x}\n```\n",
    );
    p.run(&["build"]).success();
    let html = p.read("public/page/index.html");
    assert!(html.contains("Setup {% include anchor.html %}"), "{html}");
    assert!(!html.contains("include=\"\""), "{html}");
    assert!(html.contains("<h2 id=\"real\" class=\"big\">"), "{html}");
    // Code is not touched.
    assert!(html.contains(" a comment {x}</span>"), "{html}");
    assert!(!html.contains("&amp;#123;"), "{html}");
}
