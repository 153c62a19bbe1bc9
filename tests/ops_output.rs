//! What the ops commands print for a person at 3 a.m.: colour on a
//! terminal only (NO_COLOR and `--color` honoured), one-line causes, who
//! switched, the ages of the last publish and snapshot, `status --watch`,
//! `--edge URL` outside a project, recovery logged at INFO, "1 gap", and
//! the cache size as configured. Terminals are real pseudo-terminals
//! (`script` from util-linux).

mod common;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::edge::Edge;
use common::origin::{Origin, Route};
use common::{free_port, Project};

/// A built and published site (with a snapshot taken 2026-11-22) and the
/// `[health]` and `[edge]` lines given.
fn published(health: &str, edge: &str) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[health]\nurls = [\"/healthz\"]\n{health}\n[edge]\n{edge}\n"
        ),
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome page\n");
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout from the bucket\n",
    );
    let snapshot = serde_json::json!({
        "version": 1, "producer": "snapshot", "created": "2026-11-22T00:00:00Z", "objects": []
    });
    p.write(".tusk/snapshot/.tusk-tree.json", &snapshot.to_string());
    p.run(&["build"]).success();
    p.run(&["publish"]).success();
    p
}

/// `tusk --root <p> <args>` on a pseudo-terminal: what the terminal showed.
fn on_terminal(p: &Project, args: &str, env: &[(&str, &str)]) -> String {
    let command = format!(
        "{} --root {} {args}",
        env!("CARGO_BIN_EXE_tusk"),
        p.root().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn status_reads_at_a_glance_colour_causes_ages_who_and_cache_size() {
    let p = published(
        "interval_ms = 100\nfall = 1\nrise = 1\nmin_hold_secs = 0\ntimeout_ms = 500",
        "cache_mb = 64",
    );
    let port = free_port();
    let edge = Edge::start(
        &p,
        "edge",
        &["--origin", &format!("http://127.0.0.1:{port}")],
    );
    edge.wait_for(20, "the origin down", |s| s["health"]["up"] == false);

    let out = p.run(&["status"]).success().stdout();
    assert!(
        out.contains(&format!(
            "last check failed: origin refused the connection (127.0.0.1:{port})\n"
        )),
        "{out}"
    );
    for chain in [
        "error sending request",
        "tcp connect",
        "os error",
        "client error",
    ] {
        assert!(!out.contains(chain), "{chain}: {out}");
    }
    assert!(out.contains("Switched: to fallback "), "{out}");
    assert!(out.contains("by the health checks"), "{out}");
    let publish = out
        .lines()
        .find(|l| l.starts_with("Publish:"))
        .unwrap_or("");
    assert!(
        publish.starts_with("Publish:  published just now (") || publish.contains(" s ago ("),
        "{out}"
    );
    assert!(
        out.contains("Snapshot: taken ") && out.contains(" days ago (2026-11-22T00:00:00Z)"),
        "{out}"
    );
    assert!(out.contains(" MiB of 64 MiB (edge.cache_mb)"), "{out}");
    assert!(out.contains("Cache:    0 entries"), "{out}");
    assert!(!out.contains('\x1b'), "no colour into a pipe: {out:?}");

    // Who switched: user@host, in the answer and in the next status.
    let env = [("USER", "alice".to_string())];
    let run = p.run_env(&["failover", "--reason", "db migration"], &env);
    let out = run.success().stdout();
    assert!(out.contains("by alice@"), "{out}");
    assert!(out.contains(": db migration"), "{out}");
    let out = p.run(&["status"]).success().stdout();
    assert!(
        out.contains("by alice@") && out.contains("(pinned by an operator"),
        "{out}"
    );

    // Colour: on a terminal, unless NO_COLOR; --color decides over both.
    let tty = on_terminal(&p, "status", &[]);
    assert!(tty.contains("Route:    \x1b[33mfallback\x1b[0m"), "{tty:?}");
    assert!(tty.contains("\x1b[1;31mdown\x1b[0m"), "{tty:?}");
    let no_color = on_terminal(&p, "status", &[("NO_COLOR", "1")]);
    assert!(no_color.contains("Route:    fallback"), "{no_color:?}");
    assert!(!no_color.contains("\x1b["), "{no_color:?}");
    let never = on_terminal(&p, "status --color=never", &[]);
    assert!(
        !never.contains("\x1b[") && never.contains("Route:"),
        "{never:?}"
    );
    let always = p.run(&["status", "--color=always"]).success().stdout();
    assert!(always.contains("\x1b[33mfallback"), "{always:?}");
}

#[test]
fn status_watch_refreshes_and_clears_the_screen_only_on_a_terminal() {
    let p = published("interval_ms = 60000", "");
    let _edge = Edge::start(&p, "edge", &[]);

    let mut child = common::tusk()
        .arg("--root")
        .arg(p.root())
        .args(["status", "--watch", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut seen = Vec::new();
    for line in lines.map_while(Result::ok) {
        seen.push(line);
        let updates = seen.iter().filter(|l| l.starts_with("Route:")).count();
        if updates == 3 || started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert_eq!(text.matches("Route:").count(), 3, "{text}");
    assert!(
        text.contains("\n-- ") && text.contains("next update in 1 s"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no screen clearing in a pipe: {text:?}"
    );

    // On a terminal: `script` ends when tusk does, stopped by timeout(1).
    let tty = {
        let command = format!(
            "timeout 2.5 {} --root {} status --watch 1",
            env!("CARGO_BIN_EXE_tusk"),
            p.root().display()
        );
        let out = Command::new("script")
            .args(["-qc", &command, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(tty.matches("\x1b[2J\x1b[H").count() >= 2, "{tty:?}");
    assert!(!tty.contains("next update"), "{tty:?}");
}

#[test]
fn an_edge_url_is_enough_outside_a_project() {
    let p = published("interval_ms = 60000", "");
    let edge = Edge::start(&p, "edge", &[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        common::tusk()
            .arg("--root")
            .arg(elsewhere.path())
            .args(args)
            .args(["--edge", &edge.url])
            .env("TUSK_EDGE_TOKEN", &edge.token)
            .env("USER", "bob")
            .output()
            .unwrap()
    };
    let status = run(&["status"]);
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        out.contains("Route:    fallback") && out.contains("Fallback: "),
        "{out}"
    );
    let failover = run(&["failover"]);
    assert!(failover.status.success());
    assert!(String::from_utf8_lossy(&failover.stdout).contains("by bob@"));
    // Without --edge the missing config is still an error.
    let plain = common::tusk()
        .arg("--root")
        .arg(elsewhere.path())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("config/tusk.toml not found"));
}

#[test]
fn recovery_is_logged_at_info_and_losing_the_origin_at_warn() {
    let p = published(
        "interval_ms = 100\nfall = 1\nrise = 1\nmin_hold_secs = 0\ntimeout_ms = 500",
        "",
    );
    let port = free_port();
    let log = p.path("edge.log");
    let mut child = common::tusk()
        .arg("--root")
        .arg(p.root())
        .args([
            "-v",
            "--log-format",
            "json",
            "edge",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--origin", &format!("http://127.0.0.1:{port}")])
        .env_remove("TUSK_EDGE_TOKEN")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains(what)) {
                return line.to_string();
            }
            assert!(Instant::now() < deadline, "no {what:?} in:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let down = wait_for("switching to the bucket");
    let origin = Origin::start_on(
        port,
        vec![("/healthz", Route::html("ok"))],
        |_| None,
        Duration::ZERO,
    );
    let up = wait_for("switching to the origin");
    let _ = child.kill();
    let _ = child.wait();
    drop(origin);
    let level =
        |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap()["level"].clone();
    assert_eq!(level(&down), "WARN", "{down}");
    assert_eq!(level(&up), "INFO", "{up}");
    assert!(down.contains("origin refused the connection"), "{down}");
}

#[test]
fn one_gap_is_one_gap_and_failures_are_red_on_request() {
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        Some(Route::html(&format!("origin {path}")))
    });
    let p = published("interval_ms = 60000", "");
    // A content edit built but not published: one gap in the bucket.
    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, edited\n",
    );
    p.run(&["build"]).success();
    let _edge = Edge::start(&p, "edge", &["--origin", &origin.url]);

    let run = p.run(&["drill"]);
    assert_eq!(run.code(), Some(1));
    let out = run.stdout();
    assert!(out.contains("\n1 gap in bucket:\n"), "{out}");
    assert!(!out.contains("1 gaps"), "{out}");
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(
        run.stderr().contains("found 2 gaps") || run.stderr().contains("found 1 gap:"),
        "{}",
        run.stderr()
    );
    let red = p.run(&["drill", "--color=always"]).stdout();
    assert!(red.contains("\x1b[1;31mGAP    \x1b[0m"), "{red:?}");
    assert!(red.contains("\x1b[1;31mDrill FAILED\x1b[0m"), "{red:?}");
}
