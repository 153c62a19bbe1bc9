//! `tusk serve` rebuilds incrementally: an edit to one post rewrites only
//! the files that show it, tabs are told which pages changed, and the
//! served folder always ends up identical to a full build of the same
//! files. Anything that moves a post (its date, a new file) builds it all.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use common::serve::{Event, Events, Serve};
use common::{snapshot_dir, Project};

const WAIT: Duration = Duration::from_secs(20);

fn post(n: usize, title: &str, body: &str) -> String {
    let tag = if n.is_multiple_of(2) { "even" } else { "odd" };
    format!("---\ntitle: \"{title}\"\ntags: [{tag}, all]\n---\n{body}\n\n## Notes\n\nSee [the archive](/archive/).\n")
}

fn post_path(n: usize) -> String {
    format!("site/_posts/2024-01-{:02}-post-{n}.md", n + 1)
}

/// 25 posts with tags on the default theme: a paginated home page, an
/// archive, term pages, feeds and a sitemap.
fn project() -> Project {
    let p = Project::bare("[site]\ntitle = \"Incremental\"\n");
    p.write(
        "site/index.md",
        "---\ntitle: Home\nlayout: home\npaginate: posts\n---\nWelcome.\n",
    );
    p.write(
        "site/archive.md",
        "---\ntitle: Archive\nlayout: archive\npermalink: /archive/\n---\n",
    );
    for n in 0..25 {
        p.write(
            &post_path(n),
            &post(n, &format!("Post {n}"), "Original body."),
        );
    }
    p
}

/// Output files with their modification times.
fn mtimes(p: &Project) -> BTreeMap<String, SystemTime> {
    walkdir::WalkDir::new(p.path(".tusk/serve"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let key = e
                .path()
                .strip_prefix(p.path(".tusk/serve"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (key, e.metadata().unwrap().modified().unwrap())
        })
        .collect()
}

fn changed_since(p: &Project, before: &BTreeMap<String, SystemTime>) -> Vec<String> {
    mtimes(p)
        .into_iter()
        .filter(|(k, t)| before.get(k) != Some(t) && k != ".tusk-tree.json")
        .map(|(k, _)| k)
        .collect()
}

/// The served folder equals a full build of the same files (same base URL,
/// drafts and future posts on), manifest objects included.
fn assert_same_as_full_build(p: &Project, serve: &Serve) {
    // Built in a copy: the served project's config/ is watched.
    let copy = tempfile::tempdir().unwrap();
    for e in walkdir::WalkDir::new(p.root()) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(p.root()).unwrap();
        if rel.starts_with(".tusk") {
            continue;
        }
        if e.file_type().is_dir() {
            std::fs::create_dir_all(copy.path().join(rel)).unwrap();
        } else {
            std::fs::copy(e.path(), copy.path().join(rel)).unwrap();
        }
    }
    std::fs::write(
        copy.path().join("config/fullcheck.toml"),
        format!(
            "[site]\nbase_url = \"{}\"\n[build]\ndrafts = true\nfuture = true\n",
            serve.url
        ),
    )
    .unwrap();
    let built = common::tusk()
        .arg("--root")
        .arg(copy.path())
        .args(["--env", "fullcheck", "build"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut served = snapshot_dir(&p.path(".tusk/serve"));
    let mut full = snapshot_dir(&copy.path().join("public"));
    let objects = |files: &mut BTreeMap<String, Vec<u8>>| {
        let tree: serde_json::Value =
            serde_json::from_slice(&files.remove(".tusk-tree.json").unwrap()).unwrap();
        tree["objects"].clone()
    };
    assert_eq!(objects(&mut served), objects(&mut full), "tree manifests");
    let keys = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&served), keys(&full));
    for (key, body) in &full {
        assert!(
            served[key] == *body,
            "{key} differs from a full build:\n--- served\n{}\n--- full build\n{}",
            String::from_utf8_lossy(&served[key]),
            String::from_utf8_lossy(body)
        );
    }
}

fn reload_urls(events: &[Event]) -> Vec<Option<Vec<String>>> {
    events
        .iter()
        .filter(|e| e.name == "reload")
        .map(|e| {
            e.data["urls"].as_array().map(|list| {
                list.iter()
                    .map(|u| u.as_str().unwrap().to_string())
                    .collect()
            })
        })
        .collect()
}

/// Wait for a rebuild to finish and settle; the reload events it sent.
fn settle(events: &mut Events) -> Vec<Option<Vec<String>>> {
    let mut seen = events.until("reload", WAIT);
    seen.extend(events.drain(Duration::from_millis(700)));
    reload_urls(&seen)
}

#[test]
fn a_body_edit_rewrites_only_that_post_and_an_excerpt_edit_its_lists() {
    let p = project();
    let serve = Serve::start(&p, &[]);
    let mut events = serve.events();
    let before = mtimes(&p);
    std::thread::sleep(Duration::from_millis(20));

    // Below the excerpt (the first paragraph), which lists show.
    let text = post(12, "Post 12", "Original body.").replace(
        "See [the archive](/archive/).",
        "See [the archive](/archive/). A new body sentence.",
    );
    p.write(&post_path(12), &text);
    let reloads = settle(&mut events);
    assert_eq!(
        reloads,
        [Some(vec!["/2024/01/13/post-12.html".to_string()])],
        "one reload, for the edited page only"
    );
    assert_eq!(changed_since(&p, &before), ["2024/01/13/post-12.html"]);
    assert!(p
        .read(".tusk/serve/2024/01/13/post-12.html")
        .contains("A new body sentence."));
    assert!(
        serve.log().contains("Updated /2024/01/13/post-12.html"),
        "{}",
        serve.log()
    );
    assert_same_as_full_build(&p, &serve);

    // The first paragraph is the excerpt: the lists that show it follow.
    let before = mtimes(&p);
    p.write(
        &post_path(12),
        &post(12, "Post 12", "A new first paragraph."),
    );
    let reloads = settle(&mut events);
    assert_eq!(reloads.len(), 2, "{reloads:?}");
    assert!(reloads[1]
        .as_ref()
        .unwrap()
        .contains(&"/page/2/".to_string()));
    assert!(changed_since(&p, &before).contains(&"page/2/index.html".to_string()));
    assert_same_as_full_build(&p, &serve);
}

#[test]
fn a_title_edit_shows_the_post_first_then_every_list_that_shows_it() {
    let p = project();
    let serve = Serve::start(&p, &[]);
    let mut events = serve.events();
    let before = mtimes(&p);
    std::thread::sleep(Duration::from_millis(20));

    // Post 3 is on home page 3 (newest first, 10 per page), on the odd
    // and all term pages, in the archive, the feeds and its neighbours.
    p.write(&post_path(3), &post(3, "Renamed three", "Original body."));
    let reloads = settle(&mut events);
    assert_eq!(reloads.len(), 2, "{reloads:?}");
    assert_eq!(
        reloads[0].as_deref(),
        Some(&["/2024/01/04/post-3.html".to_string()][..]),
        "the edited page first"
    );
    let listing = reloads[1].clone().expect("listed URLs");
    for url in [
        "/page/3/",
        "/archive/",
        "/tags/odd/page/2/",
        "/2024/01/03/post-2.html",
        "/2024/01/05/post-4.html",
    ] {
        assert!(listing.contains(&url.to_string()), "{url} in {listing:?}");
    }
    let changed = changed_since(&p, &before);
    for key in [
        "2024/01/04/post-3.html",
        "page/3/index.html",
        "tags/odd/page/2/index.html",
        "tags/all/page/3/index.html",
        "archive/index.html",
    ] {
        assert!(
            changed.contains(&key.to_string()),
            "{key} rewritten: {changed:?}"
        );
    }
    for untouched in [
        "2024/01/10/post-9.html",
        "page/2/index.html",
        "tags/even/index.html",
    ] {
        assert!(
            !changed.contains(&untouched.to_string()),
            "{untouched} not rewritten: {changed:?}"
        );
    }
    assert!(p
        .read(".tusk/serve/tags/odd/page/2/index.html")
        .contains("Renamed three"));
    assert!(p
        .read(".tusk/serve/archive/index.html")
        .contains("Renamed three"));
    assert_same_as_full_build(&p, &serve);
}

#[test]
fn moving_a_post_adding_one_or_breaking_one_is_handled_whole() {
    let p = project();
    let serve = Serve::start(&p, &[]);
    let mut events = serve.events();

    // A new date moves the post: a full build, every tab reloads.
    let text =
        post(5, "Post 5", "Original body.").replace("---\ntitle", "---\ndate: 2023-06-01\ntitle");
    p.write(&post_path(5), &text);
    assert_eq!(settle(&mut events), [None]);
    assert!(p.path(".tusk/serve/2023/06/01/post-5.html").is_file());
    assert!(!p.path(".tusk/serve/2024/01/06/post-5.html").exists());
    assert!(serve.log().contains("full rebuild"), "{}", serve.log());

    // A new post: a full build too.
    p.write(&post_path(26), &post(26, "Post 26", "Brand new."));
    assert_eq!(settle(&mut events), [None]);
    assert!(p.path(".tusk/serve/2024/01/27/post-26.html").is_file());

    // An editor's swap file: nothing to do.
    p.write("site/_posts/.2024-01-02-post-1.md.swp", "binary junk");
    assert!(
        reload_urls(&events.drain(Duration::from_millis(700))).is_empty(),
        "no rebuild for a swap file"
    );

    // Broken front matter: a problem, nothing written; other edits wait.
    let before = mtimes(&p);
    p.write(&post_path(7), "---\ntitle: [unclosed\n---\nBroken.\n");
    let seen = events.until("problem", WAIT);
    assert!(seen.last().unwrap().data["message"]
        .as_str()
        .unwrap()
        .contains("2024-01-08-post-7.md"));
    p.write(
        &post_path(8),
        &post(8, "Post 8", "Edited while 7 is broken."),
    );
    let seen = events.until("problem", WAIT);
    assert!(reload_urls(&seen).is_empty(), "still broken: {seen:?}");
    assert!(
        changed_since(&p, &before).is_empty(),
        "nothing written while broken"
    );

    // Fixed: both edits land.
    p.write(&post_path(7), &post(7, "Post 7", "Fixed body."));
    let reloads = settle(&mut events);
    let first = reloads[0].clone().unwrap();
    assert!(
        first.contains(&"/2024/01/08/post-7.html".to_string()),
        "{reloads:?}"
    );
    assert!(
        first.contains(&"/2024/01/09/post-8.html".to_string()),
        "{reloads:?}"
    );
    assert!(p
        .read(".tusk/serve/2024/01/09/post-8.html")
        .contains("Edited while 7 is broken."));
    assert_same_as_full_build(&p, &serve);
}

#[test]
fn a_template_edit_re_renders_the_pages_that_use_it() {
    let p = project();
    p.write(
        "site/_templates/post.html",
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{{ page.title }}</title></head>\
         <body><article>{{ content | safe }}</article>{% include \"byline.html\" %}</body></html>",
    );
    p.write("site/_templates/byline.html", "<p>By the team</p>");
    p.write("site/css/extra.css", "p { color: #222 }\n");
    let serve = Serve::start(&p, &[]);
    let mut events = serve.events();
    let before = mtimes(&p);
    std::thread::sleep(Duration::from_millis(20));

    // Included by post.html: every post, and nothing else.
    p.write("site/_templates/byline.html", "<p>By the new team</p>");
    let reloads = settle(&mut events);
    let urls = reloads[0].clone().expect("the pages named");
    assert_eq!(urls.len(), 25, "{urls:?}");
    assert!(urls.iter().all(|u| u.starts_with("/2024/01/")), "{urls:?}");
    let changed = changed_since(&p, &before);
    assert_eq!(changed.len(), 25, "{changed:?}");
    assert!(p
        .read(".tusk/serve/2024/01/02/post-1.html")
        .contains("By the new team"));
    assert!(serve.log().contains("Updated "), "{}", serve.log());
    assert!(!serve.log().contains("full rebuild"), "{}", serve.log());
    assert_same_as_full_build(&p, &serve);

    // A syntax error: the file and line, nothing written, then fixed.
    let before = mtimes(&p);
    p.write("site/_templates/byline.html", "<p>\n{{ oops </p>");
    let seen = events.until("problem", WAIT);
    let message = seen.last().unwrap().data["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("byline.html"), "{message}");
    assert!(changed_since(&p, &before).is_empty());

    // Fixed, and fingerprinting a file no template used before.
    p.write(
        "site/_templates/byline.html",
        "<p>By us</p><link rel=\"stylesheet\" href=\"{{ asset_url(path='css/extra.css') }}\">",
    );
    let reloads = settle(&mut events);
    assert_eq!(reloads[0].as_ref().map(Vec::len), Some(25), "{reloads:?}");
    let page = p.read(".tusk/serve/2024/01/02/post-1.html");
    let at = page.find("/css/extra.").expect("a fingerprinted URL");
    let key = &page[at + 1..page[at..].find('"').unwrap() + at];
    assert!(p.path(&format!(".tusk/serve/{key}")).is_file(), "{key}");
    assert_same_as_full_build(&p, &serve);
}
