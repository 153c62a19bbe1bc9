//! The Jekyll differences of issue 23, each built by tusk and compared
//! with what real Jekyll 4.3 made of the same site
//! (`tests/fixtures/jekyll-differences/<case>/expected`, recorded with
//! `jekyll build -s site -d expected`): Liquid's math filters on nil and
//! text, jekyll-seo-tag's description from the rendered excerpt,
//! `csv_reader:`/`tsv_reader:` and quoted empty CSV fields, non-ASCII
//! redirect targets and two documents sharing a `redirect_from`. Compared file by file after collapsing whitespace
//! between tags (Liquid's blank lines differ); nothing else may differ.
//! Where `jekyll` is installed, the last test checks each recording is
//! still what Jekyll makes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jekyll-differences")
        .join(name)
}

fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let collapsed = regex::Regex::new(r"\s+").unwrap().replace_all(&text, " ");
    regex::Regex::new(r">\s+<")
        .unwrap()
        .replace_all(&collapsed, "><")
        .trim()
        .to_string()
}

/// The differences between two outputs, one entry each.
fn differences(expected: &Path, actual: &Path) -> Vec<String> {
    let (want, got) = (common::output_files(expected), common::output_files(actual));
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
            problems.push(format!("{key} differs:\n  jekyll: {a}\n  tusk:   {b}"));
        }
    }
    problems
}

fn copy_site(from: &Path, to: &Path) {
    for (rel, bytes) in common::output_files(from) {
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

/// tusk's build of `name`'s site, compared with Jekyll's recording; what
/// tusk printed.
fn assert_builds_as_jekyll(name: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_site(&case(name).join("site"), &site);
    let o = tusk_build(&site);
    assert!(
        o.status.success(),
        "tusk build failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let problems = differences(&case(name).join("expected"), &site.join("_site"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The line of `printed` that mentions `needle`.
fn line_with<'a>(printed: &'a str, needle: &str) -> &'a str {
    printed
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in: {printed}"))
}

#[test]
fn math_filters_read_nil_a_missing_variable_and_text_as_jekyll_does() {
    assert_builds_as_jekyll("math");
}

#[test]
fn a_jekyll_site_without_url_is_told_to_set_it_in_config_yml_not_tusk_toml() {
    // The math case's _config.yml has no `url`: Jekyll's links then have
    // no host, and the place to set one is _config.yml.
    let printed = assert_builds_as_jekyll("math");
    let warning = line_with(&printed, "site.base_url is not set");
    assert!(
        warning.contains("_config.yml as `url`") && warning.contains("paths without a host"),
        "{warning}"
    );
    assert!(!warning.contains("tusk.toml"), "{warning}");
}

#[test]
fn seo_descriptions_are_the_rendered_excerpt_formatted_as_jekyll_seo_tag_does() {
    assert_builds_as_jekyll("seo");
}

#[test]
fn csv_reader_options_and_quoted_empty_fields_are_read_as_jekyll_reads_them() {
    assert_builds_as_jekyll("csv");
}

#[test]
fn non_ascii_redirect_targets_are_percent_encoded_as_jekyll_redirect_from_writes_them() {
    assert_builds_as_jekyll("redirects");
}

#[test]
fn of_two_documents_sharing_a_redirect_from_the_later_wins_as_in_jekyll_with_a_warning() {
    // The recording has /shared/ pointing at second.html, as Jekyll made it.
    let printed = assert_builds_as_jekyll("redirects");
    let warning = line_with(&printed, "/shared/");
    assert!(
        warning.contains("second.md") && warning.contains("first.md"),
        "{warning}"
    );
}

#[test]
fn dividing_by_zero_is_an_error_naming_the_file_and_line_and_nothing_is_written() {
    for (template, filter) in [
        ("{{ 3 | divided_by: 0 }}", "divided_by"),
        ("{{ page.n | modulo: 0 }}", "modulo"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path();
        std::fs::write(site.join("_config.yml"), "title: t\n").unwrap();
        std::fs::write(
            site.join("index.md"),
            format!("---\nn: 3\n---\n\nfine\n\n{template}\n"),
        )
        .unwrap();
        let o = tusk_build(site);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{err}");
        // Line 7 of the file: the body starts on line 4.
        assert!(
            err.contains("index.md:7:") && err.contains("divided by 0") && err.contains(filter),
            "{err}"
        );
        assert!(!site.join("_site").exists());
    }
}

#[test]
fn a_csv_converter_ruby_does_not_have_is_an_error_naming_config_yml() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    std::fs::write(
        site.join("_config.yml"),
        "title: t\ncsv_reader:\n  csv_converters: [numeric, money]\n",
    )
    .unwrap();
    std::fs::write(site.join("index.md"), "---\n---\nx\n").unwrap();
    let o = tusk_build(site);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("_config.yml") && err.contains("csv_converters") && err.contains("money"),
        "{err}"
    );
    assert!(!site.join("_site").exists());
}

#[test]
fn a_malformed_csv_file_is_an_error_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    std::fs::write(site.join("_config.yml"), "title: t\n").unwrap();
    std::fs::create_dir(site.join("_data")).unwrap();
    std::fs::write(site.join("_data/people.csv"), "a,b\n1,2\n3,\"open\n4,5\n").unwrap();
    std::fs::write(site.join("index.md"), "---\n---\nx\n").unwrap();
    let o = tusk_build(site);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("_data/people.csv:3") && err.contains("Unclosed quoted field"),
        "{err}"
    );
}

#[test]
fn the_recordings_are_what_jekyll_makes_today() {
    let have = Command::new("jekyll")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("jekyll not installed: tusk is compared with the recordings only");
        return;
    }
    for name in ["math", "seo", "csv", "redirects"] {
        let tmp = tempfile::tempdir().unwrap();
        // A copy: Jekyll writes its cache into the source folder.
        let site = tmp.path().join("site");
        copy_site(&case(name).join("site"), &site);
        let out = tmp.path().join("out");
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
        let problems = differences(&case(name).join("expected"), &out);
        assert!(
            problems.is_empty(),
            "{name}: re-record with: jekyll build -s tests/fixtures/jekyll-differences/{name}/site -d tests/fixtures/jekyll-differences/{name}/expected\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn an_objects_keys_come_out_in_the_same_order_on_every_build() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    std::fs::write(site.join("_config.yml"), "title: t\n").unwrap();
    std::fs::create_dir(site.join("_data")).unwrap();
    std::fs::write(
        site.join("_data/wide.csv"),
        "a,b,c,d,e,f,g,h\n1,2,3,4,5,6,7,8\n9,10,11,12,13,14,15,16\n",
    )
    .unwrap();
    std::fs::write(
        site.join("index.html"),
        "---\n---\n{{ site.data.wide | jsonify }}\n{% for pair in site.data.wide[0] %}{{ pair[0] }}={{ pair[1] }};{% endfor %}\n",
    )
    .unwrap();
    let mut outputs = Vec::new();
    for _ in 0..3 {
        let o = tusk_build(site);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outputs.push(std::fs::read_to_string(site.join("_site/index.html")).unwrap());
    }
    assert!(outputs[0].contains("\"h\":\"8\""), "{}", outputs[0]);
    assert!(
        outputs[0].contains("a=1;") && outputs[0].contains("h=8;"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs.iter().all(|o| *o == outputs[0]),
        "builds differ: {outputs:?}"
    );
}
