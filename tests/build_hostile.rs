//! Hostile content for `tusk build`: front matter bombs, deep nesting and
//! huge files fail fast with errors naming the file and line, writing
//! nothing; deeply nested Markdown still builds. Every build runs under a
//! 1.5 GiB address-space limit and a 60 s watchdog.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Project;

/// `tusk build` in `p` with bounded memory; (exit code, stderr).
fn bounded_build(p: &Project) -> (Option<i32>, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 1572864 && exec {} --root {} build",
            env!("CARGO_BIN_EXE_tusk"),
            p.root().display()
        ))
        .env_remove("TUSK_ENV")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("tusk build still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn front_matter_bombs_deep_nesting_and_huge_files_fail_fast_and_clearly() {
    let p = Project::bare("[site]\ntitle = \"T\"\n");
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    // Billion laughs: 9^10 strings from 400 bytes of aliases.
    let mut bomb = String::from(
        "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10u8 {
        let (n, prev) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        bomb.push_str(&format!(
            "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    bomb.push_str("title: bomb\n---\nbody\n");
    p.write("site/_posts/2024-01-01-bomb.md", &bomb);
    // Flow nesting 100,000 deep (YAML's scanner is quadratic on it).
    p.write(
        "site/_posts/2024-01-02-flow.md",
        &format!(
            "---\ntitle: flow\nx: {}{}\n---\nbody\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    // Block nesting 2,000 deep.
    let block: String = (0..2000)
        .map(|i| format!("{}- a:\n", "  ".repeat(i)))
        .collect();
    p.write(
        "site/_posts/2024-01-03-block.md",
        &format!("---\ntitle: block\nx:\n{block}---\nbody\n"),
    );
    // 9 MB of Markdown, over the 8 MiB default.
    p.write(
        "site/_posts/2024-01-04-huge.md",
        &format!("---\ntitle: huge\n---\n{}", "word ".repeat(1_800_000)),
    );

    let (code, stderr) = bounded_build(&p);
    assert_eq!(code, Some(1), "{stderr}");
    for expected in [
        "site/_posts/2024-01-01-bomb.md: invalid YAML front matter: repetition limit exceeded",
        "site/_posts/2024-01-02-flow.md:3:68: invalid YAML front matter: lists or maps nested deeper than 64 levels",
        "site/_posts/2024-01-03-block.md:",
        "recursion limit exceeded",
        "site/_posts/2024-01-04-huge.md: 9.0 MB is larger than build.max_document_mb = 8",
        "4 problems found; nothing was written",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in\n{stderr}");
    }
    assert!(!p.path("public").exists(), "nothing is written");
}

#[test]
fn deeply_nested_markdown_builds_within_bounds() {
    let p = Project::bare("[site]\ntitle = \"T\"\n");
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    let lists: String = (0..1500)
        .map(|i| format!("{}- x\n", "  ".repeat(i)))
        .collect();
    p.write(
        "site/_posts/2024-01-01-deep.md",
        &format!(
            "---\ntitle: deep\n---\n{lists}\n{} quoted\n\n{}\n\n{}\n",
            ">".repeat(100_000),
            "*a ".repeat(100_000),
            "[x](".repeat(50_000)
        ),
    );
    let (code, stderr) = bounded_build(&p);
    assert_eq!(code, Some(0), "{stderr}");
    let page = p.read("public/2024/01/01/deep.html");
    assert!(page.contains("<blockquote>") && page.contains("quoted"));
}
