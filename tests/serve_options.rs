//! `tusk serve` as Hugo's and Zola's servers: drafts hidden unless
//! `--drafts`/`-D` (and marked as drafts when shown; `tusk list` marks
//! them too), `--port`/`-p`, `--bind`, `--base-url`, `--open`. And `tusk up`
//! checks its port before building and publishing.

mod common;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::edge::Http;
use common::Project;

fn project() -> Project {
    let p = Project::bare("[site]\ntitle = \"T\"\nbase_url = \"https://www.example.test\"\n");
    p.write(
        "site/index.md",
        "---\ntitle: Home\nlayout: home\n---\nHi.\n",
    );
    p.write(
        "site/_posts/2026-01-02-out.md",
        "---\ntitle: Out already\n---\nPublished.\n",
    );
    p.write(
        "site/_drafts/idea.md",
        "---\ntitle: An idea\n---\nNot yet.\n",
    );
    p
}

/// `tusk serve <args>` until dropped; waits for "Serving on".
struct Served {
    child: Child,
    log: tempfile::NamedTempFile,
}

impl Served {
    fn start(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Served {
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = common::tusk()
            .arg("--root")
            .arg(p.root())
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let s = Served { child, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !s.log().contains("Serving on") {
            assert!(
                Instant::now() < deadline,
                "serve did not start: {}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn drafts_are_hidden_unless_asked_for_and_marked_when_shown() {
    let p = project();
    let http = Http::new();
    let port = common::free_port();
    let port_arg = port.to_string();
    let url = format!("http://127.0.0.1:{port}");

    let served = Served::start(&p, &["--port", &port_arg], &[]);
    assert!(
        served
            .log()
            .contains("drafts hidden: --drafts/-D shows them"),
        "{}",
        served.log()
    );
    assert_eq!(http.get(&format!("{url}/"), &[]).status, 200);
    assert!(!http.get(&format!("{url}/"), &[]).text().contains("An idea"));
    drop(served);

    let served = Served::start(&p, &["-p", &port_arg, "-D"], &[]);
    assert!(served.log().contains("drafts shown"), "{}", served.log());
    let home = http.get(&format!("{url}/"), &[]).text();
    assert!(
        home.contains("An idea</a><span class=\"draft-mark\">Draft</span>"),
        "the list marks the draft: {home}"
    );
    let listed = p.run(&["list", "--drafts", "--json"]).success().json();
    let draft = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["draft"] == true)
        .unwrap_or_else(|| panic!("{listed:#}"));
    let page = http
        .get(&format!("{url}{}", draft["url"].as_str().unwrap()), &[])
        .text();
    assert!(page.contains("class=\"draft-note\""), "{page}");
    let published = http.get(&format!("{url}/2026/01/02/out.html"), &[]).text();
    assert!(!published.contains("draft-note"), "{published}");

    let text = p.run(&["list", "--drafts"]).success().stdout();
    let marks: Vec<&str> = text.lines().filter(|l| l.ends_with("\tdraft")).collect();
    assert_eq!(marks.len(), 1, "{text}");
    assert!(marks[0].starts_with("_drafts/idea.md\t"), "{text}");
}

#[test]
fn bind_base_url_and_open() {
    let p = project();
    let port = common::free_port().to_string();
    let opened = p.path("opened.txt");
    let browser = p.path("browser.sh");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\necho \"$1\" > {}\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let browser = browser.to_str().unwrap().to_string();
    let _served = Served::start(
        &p,
        &[
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--base-url",
            "https://preview.example.test",
            "--open",
        ],
        &[("BROWSER", browser.as_str())],
    );
    let home = Http::new()
        .get(&format!("http://127.0.0.1:{port}/"), &[])
        .text();
    assert!(
        home.contains("<link rel=\"canonical\" href=\"https://preview.example.test/\">"),
        "{home}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !opened.exists() {
        assert!(Instant::now() < deadline, "--open ran no browser");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        std::fs::read_to_string(&opened).unwrap().trim(),
        format!("http://127.0.0.1:{port}/")
    );
}

#[test]
fn a_second_up_fails_on_its_port_before_building() {
    let p = project();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = busy.local_addr().unwrap().to_string();
    let run = p.run(&["up", "--listen", &listen]);
    assert_eq!(run.code(), Some(1), "{}", run.stdout());
    assert!(
        run.stderr().contains(&format!("cannot listen on {listen}"))
            && run.stderr().contains("another `tusk up`"),
        "{}",
        run.stderr()
    );
    assert!(!p.path("public").exists(), "nothing built");
    assert!(!p.path(".tusk/bucket").exists(), "nothing published");
}
