//! jekyll-paginate, jekyll-redirect-from, `where_exp` with `and`/`or` and
//! related posts behave in tusk as in Jekyll 4.3 with the gems Debian
//! ships (jekyll-paginate 1.1, jekyll-redirect-from 0.16).
//!
//! `tests/fixtures/jekyll-plugins/site` uses all of them; `expected/` is
//! what real Jekyll made of it (`jekyll build -s site -d expected`). tusk's
//! build is compared with the recording file by file, so the test keeps
//! its meaning where Jekyll is not installed; where it is (CI installs
//! it), a second test checks the recording is still what Jekyll makes.
//!
//! Compared after collapsing whitespace between and around tags (Liquid's
//! blank lines differ) and masking the build time (`site.time`, which
//! Jekyll gives collection documents without a date: the sitemap's
//! `<lastmod>` of the recipes; the fixture's own dates are all in 2024).
//! No other difference is allowed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-plugins")
}

/// Every file under `dir`, by `/` path (tusk's own bookkeeping left out).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::output_files(dir)
}

fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = regex::Regex::new(r"<lastmod>20(2[5-9]|[3-9]\d)-[^<]*</lastmod>")
        .unwrap()
        .replace_all(&text, "<lastmod>(build time)</lastmod>");
    let collapsed = regex::Regex::new(r"\s+").unwrap().replace_all(&text, " ");
    regex::Regex::new(r">\s+<")
        .unwrap()
        .replace_all(&collapsed, "><")
        .trim()
        .to_string()
}

/// The differences between two outputs, one line each.
fn differences(expected: &Path, actual: &Path) -> Vec<String> {
    let (want, got) = (files(expected), files(actual));
    let mut problems = Vec::new();
    for key in want.keys().filter(|k| !got.contains_key(*k)) {
        problems.push(format!("{key}: made by Jekyll, missing from tusk's output"));
    }
    for key in got.keys().filter(|k| !want.contains_key(*k)) {
        problems.push(format!("{key}: made by tusk only"));
    }
    for (key, w) in &want {
        let Some(g) = got.get(key) else { continue };
        let (a, b) = (normalise(w), normalise(g));
        if a != b {
            let at = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            let show = |s: &str| {
                s.chars()
                    .skip(at.saturating_sub(60))
                    .take(200)
                    .collect::<String>()
            };
            problems.push(format!(
                "{key} differs:\n  jekyll: {}\n  tusk:   {}",
                show(&a),
                show(&b)
            ));
        }
    }
    problems
}

fn copy_site(to: &Path) {
    for (rel, bytes) in files(&fixture().join("site")) {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

fn tusk_build(site: &Path) -> std::process::Output {
    common::tusk()
        .arg("--root")
        .arg(site)
        .arg("build")
        .env_remove("TUSK_ENV")
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

#[test]
fn paginate_redirect_from_where_exp_and_related_posts_match_jekyll() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_site(&site);
    let o = tusk_build(&site);
    assert!(
        o.status.success(),
        "tusk build failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let expected = fixture().join("expected");
    // The recording holds what the test is about.
    for key in [
        "blog/page6/index.html",
        "old/leek/index.html",
        "redirects.json",
        "where/index.html",
    ] {
        assert!(expected.join(key).is_file(), "recording lacks {key}");
    }
    let problems = differences(&expected, &site.join("_site"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn without_the_plugins_listed_there_is_no_pagination_and_no_redirect() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_site(&site);
    let config = std::fs::read_to_string(site.join("_config.yml")).unwrap();
    let config = config
        .replace("  - jekyll-paginate\n", "")
        .replace("  - jekyll-redirect-from\n", "");
    std::fs::write(site.join("_config.yml"), config).unwrap();
    let o = tusk_build(&site);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = site.join("_site");
    assert!(out.join("blog/index.html").is_file());
    assert!(!out.join("blog/page2").exists());
    assert!(!out.join("redirects.json").exists());
    assert!(!out.join("old/leek").exists());
    // redirect_to is front matter like any other: the page renders.
    let moved = std::fs::read_to_string(out.join("moved/index.html")).unwrap();
    assert!(moved.contains("This text is never shown."), "{moved}");
}

#[test]
fn a_zero_paginate_is_an_error_naming_config_yml() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_site(&site);
    let config = std::fs::read_to_string(site.join("_config.yml")).unwrap();
    std::fs::write(
        site.join("_config.yml"),
        config.replace("paginate: 2", "paginate: 0"),
    )
    .unwrap();
    let o = tusk_build(&site);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("_config.yml") && err.contains("paginate"),
        "{err}"
    );
    assert!(!site.join("_site").exists());
}

#[test]
fn the_recording_is_what_jekyll_makes_today() {
    let have = Command::new("jekyll")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let paginate = Command::new("ruby")
        .args([
            "-e",
            "require 'jekyll'; require 'jekyll-paginate'; require 'jekyll-redirect-from'",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have || !paginate {
        eprintln!(
            "jekyll or jekyll-paginate not installed: tusk is compared with the recording only"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A copy: Jekyll writes its cache into the source folder.
    let site = tmp.path().join("site");
    copy_site(&site);
    let o = Command::new("jekyll")
        .args(["build", "--quiet", "-s"])
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .env("JEKYLL_ENV", "development")
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let problems = differences(&fixture().join("expected"), &out);
    assert!(
        problems.is_empty(),
        "re-record with: jekyll build -s tests/fixtures/jekyll-plugins/site -d tests/fixtures/jekyll-plugins/expected\n{}",
        problems.join("\n")
    );
}
