//! A site whose `base_url` has a path (`https://preview.example.test/pr-12/`,
//! the preview build docs/ci.md publishes to a prefix of its own, or a
//! project page): it builds, and every root-relative link and asset URL in
//! the output points below the path at a file that exists there.

mod common;
use common::Project;

/// Root-relative URLs in `href`/`src` attributes of `html`.
fn root_relative(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for (at, _) in html.match_indices(attr) {
            let value = &html[at + attr.len()..];
            let value = &value[..value.find('"').unwrap_or(value.len())];
            if value.starts_with('/') && !value.starts_with("//") {
                found.push(value.to_string());
            }
        }
    }
    found
}

#[test]
fn a_site_below_a_path_links_every_page_and_asset_below_it() {
    let p = Project::bare("[site]\ntitle = \"T\"\n");
    p.write(
        "site/index.md",
        "---\ntitle: Home\nlayout: home\n---\nSee [about](/about/).\n",
    );
    p.write(
        "site/about.md",
        "---\ntitle: About\npermalink: /about/\nredirect_from: [/team/]\n---\nBack [home](/).\n",
    );
    p.write(
        "site/_posts/2026-11-30-hello.md",
        "---\ntitle: Hello\ntags: [news]\n---\nRead [about](/about/#top).\n",
    );
    p.write(
        "site/_data/navigation.yml",
        "- title: About\n  url: /about/\n",
    );

    let built = p.run(&["build", "--base-url", "https://preview.example.test/pr-12/"]);
    let built = built.success();
    assert!(
        !built.stderr().contains("broken link"),
        "{}",
        built.stderr()
    );

    let public = p.path("public");
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(&public) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = std::fs::read_to_string(entry.path()).unwrap();
        let shown = entry
            .path()
            .strip_prefix(&public)
            .unwrap()
            .display()
            .to_string();
        for url in root_relative(&html) {
            if url.starts_with("/_tusk/") {
                continue;
            }
            let rest = url
                .strip_prefix("/pr-12/")
                .unwrap_or_else(|| panic!("{shown}: {url} is not below /pr-12/"));
            let rest = rest.split(['#', '?']).next().unwrap();
            let file = if rest.is_empty() || rest.ends_with('/') {
                public.join(rest).join("index.html")
            } else {
                public.join(rest)
            };
            assert!(
                file.is_file(),
                "{shown}: {url} -> {} missing",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} links checked");

    let home = p.read("public/index.html");
    assert!(
        home.contains("href=\"https://preview.example.test/pr-12/\""),
        "canonical link below the path: {home}"
    );
    let redirect = p.read("public/team/index.html");
    assert!(redirect.contains("url=/pr-12/about/"), "{redirect}");
}
