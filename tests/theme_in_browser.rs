//! The default theme in a real browser: the example site is built and
//! served over HTTP on 127.0.0.1, and Debian's headless Chromium loads the
//! home page, a post and a tag page. No console message (errors, uncaught
//! exceptions) and no failed request (the server sees every one) is
//! allowed. A deliberately broken page first proves the probe catches both.
//!
//! Needs `chromium` (`.ci/run` installs it); set CHROMIUM to another binary.

mod common;
use common::origin::{Origin, Route};
use common::Project;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("xml") => "application/xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Serve `public` like a static host; record every path that is not there.
fn serve(public: PathBuf) -> (Origin, Arc<Mutex<Vec<String>>>) {
    let misses = Arc::new(Mutex::new(Vec::new()));
    let seen = misses.clone();
    let origin = Origin::start(vec![], move |path| {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let rel = path.trim_start_matches('/');
        let mut file = public.join(rel);
        if path.ends_with('/') {
            file = file.join("index.html");
        }
        match std::fs::read(&file) {
            Ok(body) if !rel.contains("..") => Some(Route::new(200, content_type(&file), body)),
            _ => {
                seen.lock().unwrap().push(path.to_string());
                None
            }
        }
    });
    (origin, misses)
}

struct Loaded {
    dom: String,
    console: Vec<String>,
}

/// Run headless Chromium on `url` with `extra` flags and a profile of its
/// own; panics (with its stderr) when it fails.
fn chromium(url: &str, profile: &Path, extra: &[String]) -> std::process::Output {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let out = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args(extra)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {chromium} (apt-get install chromium): {e}"));
    assert!(
        out.status.success(),
        "{chromium} failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn load(url: &str, profile: &Path) -> Loaded {
    let flags = [
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
        "--dump-dom",
    ];
    let out = chromium(url, profile, &flags.map(String::from));
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
    }
}

/// The landmarks and text alternatives the theme promises, read from the
/// DOM as the browser built it.
fn assert_accessible(path: &str, dom: &str) {
    for landmark in [
        "<html lang=\"",
        "role=\"banner\"",
        "<nav aria-label=",
        "<main id=\"main\"",
        "role=\"contentinfo\"",
        "href=\"#main\"",
    ] {
        assert!(dom.contains(landmark), "{path}: no {landmark}");
    }
    for img in dom.split("<img").skip(1) {
        let tag = &img[..img.find('>').unwrap_or(img.len())];
        assert!(tag.contains("alt="), "{path}: <img{tag}> has no alt");
    }
    assert_eq!(dom.matches("<h1").count(), 1, "{path}: one <h1> per page");
}

/// A phone-sized screenshot: the page renders to a non-trivial image.
fn screenshot(url: &str, profile: &Path, png: &Path) {
    let flags = [
        "--hide-scrollbars".to_string(),
        "--window-size=390,844".to_string(),
        format!("--screenshot={}", png.display()),
    ];
    chromium(url, profile, &flags);
    let bytes = std::fs::read(png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    assert!(
        bytes.len() > 5_000,
        "a blank screenshot ({} bytes)",
        bytes.len()
    );
}

#[test]
fn home_post_and_tag_page_load_without_console_errors_or_failed_requests() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = Project::bare("");
    for dir in ["site", "themes", "config"] {
        copy_dir(&repo.join(dir), &p.path(dir));
    }
    p.run(&["build"]).success();
    let public = p.path("public");
    let (origin, misses) = serve(public.clone());
    let profile = tempfile::tempdir().unwrap();

    // The probe itself: a script error and a missing image are caught.
    std::fs::write(
        public.join("probe.html"),
        "<!doctype html><title>probe</title><img src=\"/no-such.png\" alt=\"\"><script>notDefined()</script>",
    )
    .unwrap();
    let probe = load(&format!("{}/probe.html", origin.url), profile.path());
    assert!(
        probe.console.iter().any(|l| l.contains("notDefined")),
        "{:?}",
        probe.console
    );
    assert!(misses.lock().unwrap().contains(&"/no-such.png".to_string()));
    misses.lock().unwrap().clear();

    let post = p.tree()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["key"].as_str())
        .find(|k| k.ends_with("game-day.html"))
        .expect("the example post")
        .to_string();
    for (path, expect) in [
        ("/".to_string(), "Recent posts"),
        (format!("/{post}"), "Game day"),
        ("/tags/operations/".to_string(), "<h1>operations</h1>"),
        ("/page/2/".to_string(), "Posts, page 2"),
    ] {
        let page = load(&format!("{}{path}", origin.url), profile.path());
        assert!(page.dom.contains(expect), "{path}: {}", page.dom);
        assert_accessible(&path, &page.dom);
        assert!(
            page.console.is_empty(),
            "{path}: console: {:?}",
            page.console
        );
        let failed = misses.lock().unwrap().clone();
        assert!(failed.is_empty(), "{path}: failed requests {failed:?}");
    }
    screenshot(
        &format!("{}/", origin.url),
        profile.path(),
        &p.path("home-390.png"),
    );
    // The stylesheet and icon were really requested (and found).
    let log: Vec<String> = origin.log().into_iter().map(|l| l.path).collect();
    assert!(
        log.iter()
            .any(|p| p.starts_with("/css/site.") && p.ends_with(".css")),
        "{log:?}"
    );
}

/// Width, height and distinct colours of a PNG.
fn png_facts(bytes: &[u8]) -> (u32, u32, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> =
        buf[..info.buffer_size()].chunks(channels).collect();
    (info.width, info.height, colours.len())
}

#[test]
fn home_and_post_fit_desktop_and_phone_with_cards_chips_and_card_tags() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = Project::bare("");
    for dir in ["site", "themes", "config"] {
        copy_dir(&repo.join(dir), &p.path(dir));
    }
    p.write(
        "site/_posts/2026-01-02-checklist.md",
        "---\ntitle: Checklist\ntags: [operations]\n---\nA first paragraph\nthat wraps over lines and goes on for long enough to need cutting at a word boundary because it is much longer than any search result snippet would ever show to a reader.\n\n- [x] snapshot taken\n- [ ] drill run\n\nA claim.[^1]\n\n[^1]: The source of the claim.\n",
    );
    p.run(&["build"]).success();
    let (origin, misses) = serve(p.path("public"));
    let post = p.read("public/2026/01/02/checklist.html");
    // Card tags and a one-line description cut at a word.
    for tag in [
        "og:title",
        "og:description",
        "og:url",
        "og:type\" content=\"article",
        "twitter:card",
    ] {
        assert!(post.contains(tag), "no {tag} in the post's head");
    }
    let description = post
        .split("<meta name=\"description\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a meta description");
    assert!(!description.contains('\n'), "{description:?}");
    assert!(
        description.ends_with(" much longer than…"),
        "cut at a word: {description:?}"
    );

    let mut browser = common::browser::Browser::start();
    for domain in [
        "Network.enable",
        "Runtime.enable",
        "Log.enable",
        "Page.enable",
    ] {
        browser.call(domain, serde_json::json!({}));
    }
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (size, width, height, mobile) in [("desktop", 1280, 900, false), ("phone", 390, 844, true)]
    {
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        for (name, path) in [
            ("home", "/"),
            ("post", "/2026/01/02/checklist.html"),
            ("guides", "/guides/"),
        ] {
            browser.events.clear();
            browser.navigate(&format!("{}{path}", origin.url));
            browser.wait_for(
                20,
                "document.readyState === 'complete' && !!document.querySelector('footer')",
            );
            let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth");
            assert!(
                overflow.as_i64().unwrap_or(1) <= 0,
                "{name} {size}: {overflow} px of horizontal overflow"
            );
            let png = browser.screenshot();
            std::fs::write(shots.join(format!("theme-{name}-{size}.png")), &png).unwrap();
            let (w, h, colours) = png_facts(&png);
            assert_eq!((w, h), (width, height), "{name} {size}");
            assert!(colours > 20, "{name} {size}: a blank screenshot");
            let bad: Vec<String> = browser
                .events
                .iter()
                .filter(|e| {
                    matches!(
                        e["method"].as_str(),
                        Some(
                            "Runtime.consoleAPICalled"
                                | "Runtime.exceptionThrown"
                                | "Network.loadingFailed"
                                | "Log.entryAdded"
                        )
                    ) || e["params"]["response"]["status"].as_u64().unwrap_or(0) >= 400
                })
                .map(|e| e.to_string())
                .collect();
            assert!(bad.is_empty(), "{name} {size}: {bad:#?}");
            let failed = misses.lock().unwrap().clone();
            assert!(
                failed.is_empty(),
                "{name} {size}: failed requests {failed:?}"
            );
        }
        let cards = browser.eval("document.querySelectorAll('.post-list li.card').length");
        assert!(cards.as_u64().unwrap_or(0) >= 1, "guides listed as cards");
    }
    browser.navigate(&format!("{}/", origin.url));
    browser.wait_for(20, "document.readyState === 'complete'");
    let facts = browser.eval(
        "({hero: !!document.querySelector('.hero h1'), cards: document.querySelectorAll('.recent .card').length, dated: document.querySelectorAll('.recent .card time').length, chips: document.querySelectorAll('.recent .chip').length})",
    );
    assert_eq!(facts["hero"], true, "{facts}");
    assert!(facts["cards"].as_u64().unwrap() >= 2, "{facts}");
    assert_eq!(facts["cards"], facts["dated"], "every card dated: {facts}");
    assert!(facts["chips"].as_u64().unwrap() >= 1, "{facts}");
    browser.navigate(&format!("{}/2026/01/02/checklist.html", origin.url));
    browser.wait_for(20, "document.readyState === 'complete'");
    let facts = browser.eval(
        "(() => { const li = document.querySelector('li > input[type=checkbox]').parentElement; const d = document.querySelector('.footnote-definition'); const label = d.firstElementChild.getBoundingClientRect(), text = d.querySelector('p').getBoundingClientRect(); return {bullet: getComputedStyle(li).listStyleType, oneLine: Math.abs(label.top - text.top) < 12}; })()",
    );
    assert_eq!(
        facts["bullet"], "none",
        "task list items have no bullet: {facts}"
    );
    assert_eq!(
        facts["oneLine"], true,
        "footnote label and text on one line: {facts}"
    );
}
