//! `tusk init --from-jekyll` turns a Jekyll folder into a tusk project
//! (sources in `site/`, `config/tusk.toml`) that builds the very same site
//! as the folder did, losing no file.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

/// Every file under `dir` with its bytes, by `/` path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::snapshot_dir(dir)
}

/// The Jekyll fixture, plus what real Jekyll folders hold beside the site.
fn jekyll_folder(dir: &Path) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-plugins/site");
    for (rel, bytes) in files(&fixture) {
        let dest = dir.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
    let mut config = std::fs::read_to_string(dir.join("_config.yml")).unwrap();
    // `time:` pins `site.time` (the date of the dateless recipes), so two
    // builds a second apart write the same sitemap.
    config.push_str(
        "exclude: [README.md, \"*.sh\"]\ninclude: [.htaccess]\ntime: 2024-06-01 12:00:00 +0000\n",
    );
    std::fs::write(dir.join("_config.yml"), config).unwrap();
    for (rel, text) in [
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".gitignore", "_site\n"),
        (".htaccess", "Options -Indexes\n"),
        ("README.md", "# My blog\n"),
        ("deploy.sh", "#!/bin/sh\n"),
        ("Gemfile", "source \"https://rubygems.org\"\n"),
        (
            "assets/logo.svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
        ),
    ] {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn tusk(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = common::tusk()
        .arg("--root")
        .arg(dir)
        .args(args)
        .env_remove("TUSK_ENV")
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "tusk {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn a_jekyll_folder_becomes_a_tusk_project_that_builds_the_same_site() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("blog");
    jekyll_folder(&dir);
    // Zero steps first: the folder as Jekyll has it.
    tusk(&dir, &["build"]);
    let before_build = files(&dir.join("_site"));
    assert!(before_build.contains_key("blog/page2/index.html"));
    let before = files(&dir);

    tusk(&dir, &["init", "--from-jekyll"]);

    // Nothing lost: every file is where it was or under site/, unchanged.
    let after = files(&dir);
    for (rel, bytes) in &before {
        let moved = after.get(&format!("site/{rel}"));
        let stayed = after.get(rel);
        assert!(
            moved == Some(bytes) || stayed == Some(bytes),
            "{rel} is gone or changed"
        );
    }
    // What Jekyll reads moved; what it never reads stayed.
    for rel in [
        "site/_config.yml",
        "site/_posts/2024-01-17-leek-soup.md",
        "site/.htaccess",
        "site/assets/logo.svg",
        "site/index.html",
    ] {
        assert!(after.contains_key(rel), "{rel} not moved");
    }
    for rel in [
        ".git/HEAD",
        ".gitignore",
        "README.md",
        "deploy.sh",
        "Gemfile",
        "_site/index.html",
    ] {
        assert!(after.contains_key(rel), "{rel} should stay at the top");
    }
    let toml = String::from_utf8(after["config/tusk.toml"].clone()).unwrap();
    assert!(toml.contains("engine = \"jekyll\""), "{toml}");

    // The project builds into public/ exactly what the folder built.
    tusk(&dir, &["build"]);
    let built = files(&dir.join("public"));
    let keys = |m: &BTreeMap<String, Vec<u8>>| {
        m.keys()
            .filter(|k| !k.starts_with(".tusk") && *k != "_tusk_manifest.json")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&before_build), keys(&built));
    for (key, bytes) in &before_build {
        if key.starts_with(".tusk") || key == "_tusk_manifest.json" {
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&built[key]),
            "{key} differs"
        );
    }
    let sitemap = String::from_utf8_lossy(&built["sitemap.xml"]);
    assert!(
        sitemap.contains("<lastmod>2024-06-01T12:00:00+00:00</lastmod>"),
        "the dateless recipes carry the pinned site.time: {sitemap}"
    );
}

#[test]
fn a_folder_with_site_already_is_refused_and_left_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("blog");
    jekyll_folder(&dir);
    std::fs::create_dir_all(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/notes.md"), "mine\n").unwrap();
    let before = files(&dir);
    let o = common::tusk()
        .arg("--root")
        .arg(&dir)
        .args(["init", "--from-jekyll"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("site"), "{err}");
    assert_eq!(before, files(&dir));
    assert!(!dir.join("config").exists());
}

#[test]
fn tusk_settings_under_tusk_in_config_yml_move_to_tusk_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("blog");
    jekyll_folder(&dir);
    let mut config = std::fs::read_to_string(dir.join("_config.yml")).unwrap();
    config.push_str("tusk:\n  publish:\n    target: \"file://../bucket\"\n");
    std::fs::write(dir.join("_config.yml"), config).unwrap();
    tusk(&dir, &["init", "--from-jekyll"]);
    let toml = std::fs::read_to_string(dir.join("config/tusk.toml")).unwrap();
    assert!(toml.contains("file://../bucket"), "{toml}");
    assert!(toml.contains("engine = \"jekyll\""), "{toml}");
    tusk(&dir, &["build"]);
    assert!(dir.join("public/blog/page2/index.html").is_file());
}
