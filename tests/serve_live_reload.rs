//! `tusk serve`: a real server process, a real browser (headless Chromium
//! over the DevTools protocol) that keeps the page open while the test
//! edits the Markdown, breaks it and fixes it.

mod common;

use common::browser::Browser;
use common::edge::Http;
use common::serve::Serve;
use common::Project;

fn project() -> Project {
    let p = Project::bare("[site]\ntitle = \"Live\"\n");
    let layout = |main: &str| {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{{{{ page.title }}}}</title>\
             <link rel=\"stylesheet\" href=\"/css/site.css\"></head><body>{main}</body></html>"
        )
    };
    p.write(
        "site/_templates/page.html",
        &layout("<main>{{ content | safe }}</main>"),
    );
    p.write(
        "site/_templates/post.html",
        &layout("<article><h1>{{ page.title }}</h1>{{ content | safe }}</article>"),
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write(
        "site/404.md",
        "---\npermalink: /404.html\n---\nNothing here\n",
    );
    p.write("site/css/site.css", "body { font-family: sans-serif }\n");
    p.write(
        "site/_posts/2024-05-01-news.md",
        "---\ntitle: News\n---\nOriginal text of the post.\n",
    );
    p.write(
        "site/_drafts/plans.md",
        "---\ntitle: Plans\n---\nA draft.\n",
    );
    p
}

#[test]
fn an_edit_shows_in_the_open_tab_and_a_broken_file_shows_an_overlay_until_fixed() {
    let p = project();
    let serve = Serve::start(&p, &[]);
    let mut browser = Browser::start();
    let post = format!("{}/2024/05/01/news.html", serve.url);
    browser.navigate(&post);
    browser.wait_for(20, "document.body.innerText.includes('Original text')");
    // The live-reload connection is open before the edit.
    browser.wait_for(
        10,
        "!!window.tuskLiveReload && window.tuskLiveReload.readyState === 1",
    );

    p.write(
        "site/_posts/2024-05-01-news.md",
        "---\ntitle: News\n---\nEdited text, saved in the editor.\n",
    );
    let took = browser.wait_for(20, "document.body.innerText.includes('Edited text')");
    eprintln!("edit -> visible in the open tab: {took:?}");

    // Broken front matter: the server keeps running and says where.
    p.write(
        "site/_posts/2024-05-01-news.md",
        "---\ntitle: [unclosed\n---\nBroken.\n",
    );
    browser.wait_for(
        20,
        "!!document.getElementById('tusk-overlay') && document.getElementById('tusk-overlay').textContent.includes('2024-05-01-news.md')",
    );
    let overlay = browser.eval("document.getElementById('tusk-overlay').textContent");
    let overlay = overlay.as_str().unwrap();
    let at = overlay.find("2024-05-01-news.md:").unwrap() + "2024-05-01-news.md:".len();
    assert!(
        overlay[at..].starts_with(|c: char| c.is_ascii_digit())
            && overlay.contains("invalid YAML front matter"),
        "file, line and message: {overlay}"
    );
    assert!(
        serve.log().contains("2024-05-01-news.md"),
        "{}",
        serve.log()
    );
    // A tab opened while it is broken gets the overlay too (the last good
    // page underneath).
    browser.navigate(&post);
    browser.wait_for(20, "!!document.getElementById('tusk-overlay')");
    assert!(browser
        .eval("document.body.innerText.includes('Edited text')")
        .as_bool()
        .unwrap());

    // Fixed: the page comes back by itself.
    p.write(
        "site/_posts/2024-05-01-news.md",
        "---\ntitle: News\n---\nFixed text.\n",
    );
    browser.wait_for(
        20,
        "document.body.innerText.includes('Fixed text') && !document.getElementById('tusk-overlay')",
    );

    // A template edit re-renders the pages that use it.
    p.write(
        "site/_templates/post.html",
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>x</title></head><body><article class=\"v2\">{{ content | safe }}</article></body></html>",
    );
    browser.wait_for(20, "!!document.querySelector('article.v2')");
}

#[test]
fn serves_drafts_directories_types_and_404s_but_nothing_outside_the_output() {
    let p = project();
    p.write("secret.txt", "not for the web");
    let serve = Serve::start(&p, &[]);
    let http = Http::new();
    let get = |path: &str| http.get(&format!("{}{path}", serve.url), &[]);

    let home = get("/");
    assert_eq!(home.status, 200);
    assert_eq!(home.header("content-type"), "text/html; charset=utf-8");
    assert!(
        home.text().contains("/_tusk/live"),
        "the client is injected"
    );
    assert_eq!(
        get("/css/site.css").header("content-type"),
        "text/css; charset=utf-8"
    );
    assert_eq!(get("/2024/05/01/news.html").status, 200);
    let missing = get("/no/such/page/");
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("Nothing here"),
        "the site's 404 page"
    );
    let dir = get("/2024");
    assert_eq!(dir.status, 301);
    assert_eq!(dir.header("location"), "/2024/");
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
    ] {
        let r = get(path);
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text().contains("not for the web"), "{path}");
    }
    // Never into the publishable output: serve builds into .tusk/serve.
    assert!(!p.path("public").exists());
}

#[test]
fn drafts_are_served_only_with_drafts_flag() {
    let p = project();
    let http = Http::new();
    let listed = p.run(&["list", "--drafts", "--json"]).success().result();
    let draft_url = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"].as_str().unwrap().contains("_drafts"))
        .map(|d| d["url"].as_str().unwrap().to_string())
        .expect("the draft is listed");
    let serve = Serve::start(&p, &["--drafts"]);
    assert_eq!(
        http.get(&format!("{}{draft_url}", serve.url), &[]).status,
        200
    );
    drop(serve);
    // Hidden by default, as `tusk build` (and Hugo's and Zola's servers) do.
    let serve = Serve::start(&p, &[]);
    assert_eq!(
        http.get(&format!("{}{draft_url}", serve.url), &[]).status,
        404
    );
}
