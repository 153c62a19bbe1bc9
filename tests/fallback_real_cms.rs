//! The fallback of a real third-party CMS looks and works like the live
//! site. The origin is DokuWiki from Debian's package, run by PHP's
//! built-in server (one request at a time, like a small origin): its pages
//! load their stylesheet and scripts through cache-busting query URLs
//! (`/lib/exe/css.php?t=dokuwiki&amp;tseed=...`) and link with
//! character references, as real CMSs do. With the default query setting
//! the snapshot must keep those subresources, the bucket must serve every
//! one of them with the origin stopped, `tusk drill` must say so (and say
//! when one is missing), and headless Chromium must render the fallback
//! like the live site.
//!
//! Needs `php-cli` and `dokuwiki` (installed by `.ci/run`) and Chromium.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::edge::{Edge, Http};
use common::Project;
use serde_json::{json, Value};

/// A private copy of Debian's DokuWiki (code, config, data) served by
/// `php -S` on a free port, with a few pages of our own.
struct DokuWiki {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl DokuWiki {
    fn start() -> DokuWiki {
        assert!(
            Path::new("/usr/share/dokuwiki/doku.php").is_file(),
            "this test needs Debian's dokuwiki and php-cli (apt-get install php-cli dokuwiki; .ci/run does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Resolve the package's symlinks so nothing outside is written.
        for (from, to) in [
            ("/usr/share/dokuwiki", "app"),
            ("/etc/dokuwiki", "conf"),
            ("/var/lib/dokuwiki/data", "data"),
        ] {
            let ok = Command::new("cp")
                .args(["-rL", from])
                .arg(root.join(to))
                .status()
                .unwrap()
                .success();
            assert!(ok, "cannot copy {from}");
        }
        let conf = root.join("conf");
        std::fs::write(
            root.join("app/inc/preload.php"),
            format!("<?php\ndefine('DOKU_CONF', '{}/');\n", conf.display()),
        )
        .unwrap();
        let mut local = std::fs::read_to_string(conf.join("local.php")).unwrap();
        local.push_str(&format!(
            "\n$conf['savedir'] = '{}';\n$conf['userewrite'] = 2;\n$conf['useacl'] = 0;\n$conf['title'] = 'Fallback test wiki';\n",
            root.join("data").display()
        ));
        std::fs::write(conf.join("local.php"), local).unwrap();
        let pages = root.join("data/pages");
        // The syntax page shows an external image through
        // `/lib/exe/fetch.php?media=https://...`, a redirect whose key
        // (`lib/exe/fetch.php`) is also the folder of the wiki's own media
        // (`lib/exe/fetch.php/wiki:x.png`): S3 could hold both, a folder or
        // local bucket cannot (a known limit, reported by the snapshot).
        // Show a local image there instead.
        let syntax = pages.join("wiki/syntax.txt");
        let text = std::fs::read_to_string(&syntax).unwrap();
        let text = text.replace(
            "https://secure.php.net/images/php.gif",
            "wiki:dokuwiki-128.png",
        );
        std::fs::write(&syntax, text).unwrap();
        std::fs::write(
            pages.join("start.txt"),
            "====== Welcome ======\n\nThe origin of a tusk test. See [[wiki:syntax|the syntax]], \
             [[wiki:dokuwiki|about DokuWiki]], [[playground:playground|the playground]] and \
             [[news:launch|the launch]].\n\n{{wiki:dokuwiki-128.png|The logo}}\n\n\
             ===== Section =====\n\n  * [[wiki:syntax#links|a section link]]\n",
        )
        .unwrap();
        std::fs::create_dir_all(pages.join("news")).unwrap();
        std::fs::write(
            pages.join("news/launch.txt"),
            "====== Launch ======\n\n**Bold** news with a [[start|link home]] and a table:\n\n^ a ^ b ^\n| 1 | 2 |\n",
        )
        .unwrap();
        let port = common::free_port();
        let child = Command::new("php")
            .args(["-S", &format!("127.0.0.1:{port}"), "-t"])
            .arg(root.join("app"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("php -S (apt-get install php-cli)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "php -S never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        let start = Http::new().get(&format!("{url}/doku.php/start"), &[]);
        assert_eq!(start.status, 200, "DokuWiki: {}", start.text());
        DokuWiki {
            child,
            url,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DokuWiki {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The stylesheets, scripts and images a page loads, as the browser
/// resolves them (absolute URLs).
const SUBRESOURCES: &str = "JSON.stringify([...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.href).concat([...document.querySelectorAll('script[src]')].map(s => s.src), [...document.images].map(i => i.src)))";

/// What a visitor sees: the page loaded, styled, with its images.
const LOOK: &str = "JSON.stringify({title: document.title, sheets: document.styleSheets.length, rules: [...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0), font: getComputedStyle(document.body).fontFamily, background: getComputedStyle(document.querySelector('#dokuwiki__header') || document.body).backgroundColor, images: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length, width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight})";

fn look(browser: &mut Browser, url: &str) -> Value {
    browser.navigate(url);
    browser.wait_for(20, "document.readyState === 'complete'");
    serde_json::from_str(browser.eval(LOOK).as_str().unwrap()).unwrap()
}

/// One viewport for every look and screenshot, live or fallback.
fn fix_viewport(browser: &mut Browser) {
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1000, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
    );
}

fn screenshot(browser: &mut Browser) -> Vec<u8> {
    let shot = browser.call("Page.captureScreenshot", json!({"format": "png"}));
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap()
}

/// Share of pixels that differ between two PNG screenshots of one size.
fn pixel_difference(a: &[u8], b: &[u8]) -> f64 {
    let decode = |bytes: &[u8]| {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, info.color_type.samples(), buf)
    };
    let (wa, ha, sa, pa) = decode(a);
    let (wb, hb, sb, pb) = decode(b);
    assert_eq!((wa, ha, sa), (wb, hb, sb), "screenshots differ in size");
    let differing = pa
        .chunks(sa)
        .zip(pb.chunks(sb))
        .filter(|(x, y)| x != y)
        .count();
    differing as f64 / (wa as f64 * ha as f64)
}

fn drill(p: &Project, edge: &Edge) -> Value {
    let run = p.run(&["drill", "--edge", &edge.url, "--json"]);
    let envelope: Value =
        serde_json::from_str(&run.stdout()).unwrap_or_else(|_| panic!("{}", run.stderr()));
    envelope["result"].clone()
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report:#}"))
}

#[test]
fn the_fallback_of_a_real_cms_is_styled_complete_and_proven_by_the_drill() {
    let mut wiki = DokuWiki::start();
    let p = Project::bare(&format!(
        "[snapshot]\norigin = \"{url}\"\nseeds = [\"/doku.php/start\"]\n\
         # DokuWiki starts an anonymous session on every page (Set-Cookie,\n\
         # no-store); tusk never sends or stores cookies, so the copy is public.\n\
         allow_private = [\"/**\"]\n\n[edge]\norigin = \"{url}\"\n",
        url = wiki.url
    ));
    let run = p.run(&["snapshot", "--json"]);
    assert!(run.ok(), "{}", run.stderr());
    let report = run.result();
    let manifest: Value = serde_json::from_str(&p.read(".tusk/snapshot/.tusk-tree.json")).unwrap();
    let keys: Vec<String> = manifest["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_string())
        .collect();
    for key in ["lib/exe/css.php", "lib/exe/js.php", "lib/exe/jquery.php"] {
        assert!(
            keys.contains(&key.to_string()),
            "{key} not saved: {report:#}"
        );
    }
    assert!(
        keys.iter()
            .all(|k| !k.contains("&amp;") && !k.contains("&#")),
        "character references in keys: {keys:?}"
    );
    assert!(report["pages"].as_u64().unwrap() >= 5, "{report:#}");
    assert_eq!(
        report["pages"].as_u64().unwrap(),
        keys.iter().filter(|k| k.ends_with(".html")).count() as u64
            - report["feeds"].as_u64().unwrap(),
        "pages counts HTML documents only"
    );
    // `tusk snapshot && tusk publish`: no build needed.
    let run = p.run(&["publish", "--json"]);
    assert!(run.ok(), "{}", run.stderr());

    // The live site, as a visitor sees it.
    let mut browser = Browser::start();
    fix_viewport(&mut browser);
    let pages = [
        "/doku.php/start",
        "/doku.php/news:launch",
        "/doku.php/wiki:syntax",
    ];
    let live: Vec<(Value, Vec<u8>)> = pages
        .iter()
        .map(|page| {
            let seen = look(&mut browser, &format!("{}{page}", wiki.url));
            (seen, screenshot(&mut browser))
        })
        .collect();
    // DokuWiki's one stylesheet (css.php) groups its rules in @media blocks.
    assert!(
        live[0].0["sheets"] == 1 && live[0].0["rules"].as_u64().unwrap() > 10,
        "the live site is styled: {:#}",
        live[0].0
    );

    // The origin dies; the edge serves the bucket.
    wiki.stop();
    let edge = Edge::start(&p, "edge", &[]);
    for page in pages {
        // `/doku.php/start` is stored as `doku.php/start/index.html`: the
        // fallback answers like S3 website hosting, with a redirect to the
        // folder, which serves the page.
        let answer = edge.get(page);
        assert_eq!(answer.status, 302, "{page}");
        assert_eq!(answer.header("location"), format!("{page}/"));
        assert_eq!(edge.get(&format!("{page}/")).status, 200, "{page}/");
    }
    for (page, (seen_live, shot_live)) in pages.iter().zip(&live) {
        let seen = look(&mut browser, &format!("{}{page}", edge.url));
        assert_eq!(&seen, seen_live, "{page} looks different from the fallback");
        let used: Vec<String> =
            serde_json::from_str(browser.eval(SUBRESOURCES).as_str().unwrap()).unwrap();
        assert!(used.len() >= 4, "{page}: {used:?}");
        for url in &used {
            let path = url
                .strip_prefix(&edge.url)
                .unwrap_or_else(|| panic!("{url} is off-site"));
            let answer = edge.get(path);
            assert_eq!(answer.status, 200, "{page} uses {url}");
        }
        let difference = pixel_difference(shot_live, &screenshot(&mut browser));
        eprintln!(
            "{page}: {:.3}% of pixels differ from the live site",
            difference * 100.0
        );
        assert!(
            difference < 0.01,
            "{page}: {:.2}% of pixels differ",
            difference * 100.0
        );
    }

    let report = drill(&p, &edge);
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(check(&report, "links")["status"], "ok", "{report:#}");
    assert!(
        check(&report, "links")["checked"].as_u64().unwrap() > 50,
        "{report:#}"
    );

    // The unstyled copy of before: without its stylesheet the drill fails
    // and names it.
    let tree = p.path(".tusk/snapshot/.tusk-tree.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&tree).unwrap()).unwrap();
    manifest["objects"]
        .as_array_mut()
        .unwrap()
        .retain(|o| o["key"] != "lib/exe/css.php");
    std::fs::write(&tree, serde_json::to_vec(&manifest).unwrap()).unwrap();
    std::fs::remove_file(p.path(".tusk/snapshot/lib/exe/css.php")).unwrap();
    let run = p.run(&["publish"]);
    assert!(run.ok(), "{}", run.stderr());
    let report = drill(&p, &edge);
    assert_eq!(report["ok"], false, "{report:#}");
    let gaps = check(&report, "links")["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{report:#}");
    // Named as the page links it, with its query (DokuWiki's cache-busting seed).
    let item = gaps[0]["item"].as_str().unwrap();
    assert!(item.starts_with("/lib/exe/css.php?"), "{report:#}");
}
