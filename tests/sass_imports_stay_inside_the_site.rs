//! A Jekyll site's Sass reads only the site folder, its Sass load paths
//! and the theme: an `@import` that climbs out (`../../..`), names an
//! absolute path or follows a symlink out is an error naming the
//! importing file and line, and nothing of the file reaches the output.

mod common;

use std::path::Path;

const SECRET: &str = ".leak { content: \"the-secret-value\"; }\n";

fn site_with(dir: &Path, page: &str, partial: Option<&str>) {
    std::fs::write(dir.join("_config.yml"), "title: t\n").unwrap();
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::create_dir_all(dir.join("_sass")).unwrap();
    std::fs::write(dir.join("assets/style.scss"), page).unwrap();
    if let Some(p) = partial {
        std::fs::write(dir.join("_sass/_part.scss"), p).unwrap();
    }
}

fn build(dir: &Path) -> (bool, String) {
    let o = common::tusk()
        .arg("--root")
        .arg(dir)
        .arg("build")
        .env_remove("TUSK_ENV")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// Every byte tusk wrote under `dir`.
fn written(dir: &Path) -> String {
    common::output_files(dir)
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect()
}

#[test]
fn sass_imports_outside_the_site_are_refused_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    // A secret beside the site, and one at an absolute path.
    std::fs::write(tmp.path().join("secret.scss"), SECRET).unwrap();
    let absolute = tmp.path().join("secret").display().to_string();
    let cases = [
        // From the page, climbing out of the site and of `_sass`.
        (
            "---\n---\n.a { color: red; }\n@import \"../../secret\";\n".to_string(),
            None,
            "assets/style.scss:4:",
        ),
        // Two levels down from a load path, from the page's fourth line.
        (
            "---\n---\n.a { color: red; }\n@import \"../../secret\";\n".to_string(),
            Some(".p { color: blue; }\n".to_string()),
            "assets/style.scss:4:",
        ),
        // An absolute path, from a partial.
        (
            "---\n---\n@import \"part\";\n".to_string(),
            Some(format!(".p {{ color: blue; }}\n@import \"{absolute}\";\n")),
            "_sass/_part.scss:2:",
        ),
    ];
    for (page, partial, at) in cases {
        let site = tmp.path().join("site");
        let _ = std::fs::remove_dir_all(&site);
        std::fs::create_dir(&site).unwrap();
        site_with(&site, &page, partial.as_deref());
        let (ok, out) = build(&site);
        assert!(!ok, "{out}");
        assert!(out.contains(at), "expected {at} in: {out}");
        assert!(out.contains("outside the site"), "{out}");
        assert!(!out.contains("the-secret-value"), "{out}");
        assert!(!site.join("_site").exists(), "{out}");
    }
}

#[test]
fn a_system_file_is_never_imported() {
    // Not a Sass file, so grass finds no stylesheet of that name at all;
    // the error still names the line and nothing of it is written.
    let tmp = tempfile::tempdir().unwrap();
    site_with(
        tmp.path(),
        "---\n---\n@import \"../../../../../../../../etc/passwd\";\n",
        None,
    );
    let (ok, out) = build(tmp.path());
    assert!(!ok, "{out}");
    assert!(out.contains("assets/style.scss:3:"), "{out}");
    assert!(!out.contains("root:"), "{out}");
    assert!(!tmp.path().join("_site").exists());
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_sass_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("secret.scss"), SECRET).unwrap();
    let site = tmp.path().join("site");
    std::fs::create_dir(&site).unwrap();
    site_with(&site, "---\n---\n@import \"link\";\n", None);
    std::os::unix::fs::symlink(
        tmp.path().join("secret.scss"),
        site.join("_sass/_link.scss"),
    )
    .unwrap();
    let (ok, out) = build(&site);
    assert!(!ok, "{out}");
    assert!(out.contains("assets/style.scss:3:"), "{out}");
    assert!(!out.contains("the-secret-value"), "{out}");
    assert!(!written(&site).contains("the-secret-value"));
}

#[test]
fn imports_from_the_site_its_load_paths_and_the_sass_dir_still_work() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    std::fs::create_dir(&site).unwrap();
    site_with(
        &site,
        "---\n---\n@import \"part\";\n@import \"shared\";\n",
        Some(".p { color: blue; }\n"),
    );
    std::fs::write(
        site.join("_config.yml"),
        "title: t\nsass:\n  load_paths:\n    - vendor/styles\n",
    )
    .unwrap();
    std::fs::create_dir_all(site.join("vendor/styles")).unwrap();
    std::fs::write(
        site.join("vendor/styles/_shared.scss"),
        ".s { color: green; }\n",
    )
    .unwrap();
    let (ok, out) = build(&site);
    assert!(ok, "{out}");
    let css = std::fs::read_to_string(site.join("_site/assets/style.css")).unwrap();
    assert!(css.contains(".p") && css.contains(".s"), "{css}");
}
