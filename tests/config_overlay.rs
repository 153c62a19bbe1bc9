//! Configuration: base file plus environment overlays; unknown keys are
//! errors that name the key and the file.

mod common;
use common::Project;

fn project() -> Project {
    let p = Project::new();
    p.write("config/tusk.toml", "[site]\ntitle = \"Base\"\nauthor = \"Ann\"\nbase_url = \"http://base.test\"\n[build]\npermalink = \"date\"\n");
    p.write(
        "config/staging.toml",
        "[site]\ntitle = \"Staging\"\n[build]\npermalink = \"pretty\"\n",
    );
    p.write(
        "site/_templates/page.html",
        "{{ site.title }}|{{ site.author }}|{{ page.permalink }}",
    );
    p.write("site/about.md", "---\n---\nx\n");
    p
}

#[test]
fn overlay_is_deep_merged_from_flag_or_env_var() {
    let p = project();
    p.run(&["build"]).success();
    assert_eq!(
        p.read("public/about.html"),
        "Base|Ann|http://base.test/about.html"
    );

    p.run(&["--env", "staging", "build"]).success();
    assert_eq!(
        p.read("public/about/index.html"),
        "Staging|Ann|http://base.test/about/"
    );
    assert!(!p.path("public/about.html").exists(), "old output replaced");

    let out = common::tusk()
        .args(["--root", p.root().to_str().unwrap(), "list"])
        .env("TUSK_ENV", "staging")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("/about/"));
}

#[test]
fn unknown_keys_name_key_and_file() {
    let p = project();
    p.write("config/staging.toml", "[site]\ntitel = \"typo\"\n");
    let run = p.run(&["--env", "staging", "build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(err.contains("staging.toml:2"), "{err}");
    assert!(err.contains("titel"), "{err}");

    p.write("config/tusk.toml", "[publish]\nbucket = \"x\"\n");
    let err = p.run(&["build"]).stderr();
    assert!(err.contains("tusk.toml") && err.contains("bucket"), "{err}");

    p.write("config/tusk.toml", "[nonsense]\n");
    let err = p.run(&["build"]).stderr();
    assert!(
        err.contains("tusk.toml") && err.contains("nonsense"),
        "{err}"
    );
}

#[test]
fn missing_overlay_and_missing_config_are_clear_errors() {
    let p = project();
    let err = p.run(&["--env", "prod", "build"]).stderr();
    assert!(
        err.contains("prod.toml") && err.contains("does not exist"),
        "{err}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = common::tusk()
        .args(["--root", empty.path().to_str().unwrap(), "build"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config/tusk.toml not found"));
}

#[test]
fn empty_sections_are_accepted() {
    let p = project();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"x\"\n[snapshot]\n[publish]\n[cdn]\n[health]\n[edge]\n",
    );
    p.run(&["build"]).success();
}

#[test]
fn a_bad_enum_setting_names_the_file_the_line_and_the_key() {
    let p = project();
    p.write(
        "config/staging.toml",
        "[site]\ntitle = \"S\"\n\n[snapshot]\nquery = \"keep\"\n",
    );
    let run = p.run(&["--env", "staging", "build"]);
    assert_eq!(run.code(), Some(1));
    let err = run.stderr();
    assert!(err.contains("staging.toml:5"), "{err}");
    assert!(err.contains("snapshot.query"), "{err}");
    assert!(err.contains("keep") && err.contains("hash"), "{err}");

    p.write("config/staging.toml", "[publish]\ncompress = \"zip\"\n");
    let err = p.run(&["--env", "staging", "build"]).stderr();
    assert!(
        err.contains("staging.toml:2") && err.contains("publish.compress"),
        "{err}"
    );
    assert!(err.contains("gzip"), "{err}");

    p.write(
        "config/staging.toml",
        "[cdn]\nprovider = \"cloudfront\"\norigin_protocol = \"https\"\n",
    );
    let err = p.run(&["--env", "staging", "build"]).stderr();
    assert!(
        err.contains("staging.toml:3") && err.contains("cdn.origin_protocol"),
        "{err}"
    );
    assert!(err.contains("match-viewer"), "{err}");
}
