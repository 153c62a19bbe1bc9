//! URL parity with Jekyll 4.3: every page, post and collection document of
//! `tests/fixtures/parity/content` gets the URL Jekyll gives it, under each
//! permalink style in `tests/fixtures/parity/styles/`.
//!
//! `expected-urls.json` files were recorded from real Jekyll with
//! `scripts/jekyll-urls`; when `jekyll` is installed (CI installs it), the
//! test also runs it live and checks the recording is still what it says.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn styles() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity/styles");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    assert!(v.len() >= 7, "parity styles missing");
    v
}

fn read_map(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn tusk_urls(style: &Path) -> BTreeMap<String, String> {
    let out = common::tusk()
        .args(["--root", style.to_str().unwrap(), "list", "--json"])
        .env_remove("TUSK_ENV")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let envelope: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list: Vec<serde_json::Value> = serde_json::from_value(envelope["result"].clone()).unwrap();
    list.into_iter()
        .filter(|d| !d["output"].is_null())
        .map(|d| {
            (
                d["source"].as_str().unwrap().to_string(),
                d["url"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        if a.get(k) != b.get(k) {
            out.push_str(&format!(
                "  {k}: jekyll {:?} tusk {:?}\n",
                a.get(k),
                b.get(k)
            ));
        }
    }
    out
}

#[test]
fn urls_match_jekyll_for_every_permalink_style() {
    let mut failures = String::new();
    for style in styles() {
        let expected = read_map(&style.join("expected-urls.json"));
        assert!(
            expected.len() > 30,
            "{}: too few recorded URLs",
            style.display()
        );
        let actual = tusk_urls(&style);
        if expected != actual {
            failures.push_str(&format!(
                "{}:\n{}",
                style.display(),
                diff(&expected, &actual)
            ));
        }
    }
    assert!(failures.is_empty(), "URL differences:\n{failures}");
}

#[test]
fn recorded_urls_are_what_jekyll_gives_today() {
    let have_jekyll = Command::new("jekyll")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have_jekyll {
        eprintln!("jekyll not installed: comparing against the recorded URLs only");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/jekyll-urls");
    for style in styles() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("urls.json");
        let status = Command::new(&script)
            .arg(&style)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "jekyll failed on {}", style.display());
        let live = read_map(&out);
        let recorded = read_map(&style.join("expected-urls.json"));
        assert_eq!(
            live,
            recorded,
            "{}: re-record with scripts/jekyll-urls",
            style.display()
        );
    }
}
