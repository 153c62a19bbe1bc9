//! Existing Jekyll sites build unchanged: a site made by the real
//! `jekyll new` (minima, a post, jekyll-feed), and a richer fixture
//! (`tests/fixtures/jekyll-site`: collections, defaults, includes with
//! parameters, data, `link`/`post_url`, `highlight`, `raw`, Sass), are built
//! by real Jekyll 4.3 and by `tusk build` with no tusk configuration, and
//! every output file is compared after normalising whitespace.
//!
//! The allowed differences, each applied to both outputs by [`normalise`]:
//! - CSS is compared without comments and whitespace: sassc (Debian's
//!   jekyll-sass-converter 2) writes the `compact` style, grass only
//!   `expanded` and `compressed`;
//! - an attribute selector's value that is an identifier may lose its
//!   quotes (`[for="nav-trigger"]` and `[for=nav-trigger]`, the same
//!   selector): grass writes selectors as dart-sass, Sass's reference
//!   compiler, does (and so Jekyll with jekyll-sass-converter 3); sassc
//!   copies the source;
//! - a source map's `mappings`: grass keeps no positions in its output, so
//!   tusk's maps list the sources and their text, as sassc's do, with no
//!   line mappings;
//! - inside `<figure class="highlight">`: tusk highlights with syntect,
//!   Jekyll with Rouge, so the token `<span>`s are compared as text;
//! - the build time (`site.time`: the feed's top `<updated>`);
//! - kramdown's typography: curly quotes and its inline `<code>` classes
//!   (the Markdown side of kramdown compatibility is a separate item).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn jekyll_available() -> bool {
    Command::new("jekyll")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every file under `dir`, by `/` path (tusk's own bookkeeping left out).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::output_files(dir)
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

fn jekyll_build(site: &Path, out: &Path) {
    let o = Command::new("jekyll")
        .args(["build", "--quiet", "-s"])
        .arg(site)
        .arg("-d")
        .arg(out)
        .env("JEKYLL_ENV", "development")
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "jekyll build failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn tusk_build(site: &Path) -> PathBuf {
    let o = common::tusk()
        .arg("--root")
        .arg(site)
        .arg("build")
        .env_remove("TUSK_ENV")
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "tusk build failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    site.join("_site")
}

/// The text compared: whitespace collapsed, the allowed differences
/// (see the module comment) removed from both sides.
fn normalise(key: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes).to_string();
    let re = |p: &str| regex::Regex::new(p).unwrap();
    if key.ends_with(".css") {
        let no_comments = re(r"(?s)/\*.*?\*/").replace_all(&text, "");
        let unquoted =
            re(r#"\[([-\w]+[~|^$*]?=)"(-?[A-Za-z_][-\w]*)"\]"#).replace_all(&no_comments, "[$1$2]");
        return unquoted
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .replace(";}", "}");
    }
    if key.ends_with(".css.map") {
        let mut map: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(m) = map.get_mut("mappings") {
            *m = serde_json::Value::String(String::new());
        }
        return map.to_string();
    }
    let text = re(r"(?s)<figure class=.highlight.>.*?</figure>")
        .replace_all(&text, |c: &regex::Captures| {
            re(r"<span[^>]*>|</span>")
                .replace_all(&c[0], "")
                .to_string()
        })
        .to_string();
    let text = re(r#" class="language-plaintext highlighter-rouge""#).replace_all(&text, "");
    let text = text.replace(['’', '‘'], "'").replace(['“', '”'], "\"");
    let text = re(r"^(?s)(.*?<feed.*?)<updated>[^<]*</updated>")
        .replace(&text, "$1<updated/>")
        .to_string();
    let collapsed = re(r"\s+").replace_all(&text, " ");
    re(r">\s+<")
        .replace_all(&collapsed, "><")
        .trim()
        .to_string()
}

/// Both builds of `site`, compared file by file; the differences found.
fn compare(site: &Path) -> (usize, Vec<String>) {
    let jekyll_out = site.parent().unwrap().join("jekyll-out");
    jekyll_build(site, &jekyll_out);
    let tusk_out = tusk_build(site);
    let jekyll = files(&jekyll_out);
    let tusk = files(&tusk_out);
    let mut problems = Vec::new();
    for key in jekyll.keys().filter(|k| !tusk.contains_key(*k)) {
        problems.push(format!("{key}: made by Jekyll, missing from tusk's output"));
    }
    for key in tusk.keys().filter(|k| !jekyll.contains_key(*k)) {
        problems.push(format!("{key}: made by tusk only"));
    }
    for (key, j) in &jekyll {
        let Some(t) = tusk.get(key) else { continue };
        let (a, b) = (normalise(key, j), normalise(key, t));
        if a != b {
            let at = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            let show = |s: &str| {
                s.chars()
                    .skip(at.saturating_sub(80))
                    .take(240)
                    .collect::<String>()
            };
            problems.push(format!(
                "{key} differs:\n  jekyll: {}\n  tusk:   {}",
                show(&a),
                show(&b)
            ));
        }
    }
    (jekyll.len(), problems)
}

#[test]
fn a_site_from_jekyll_new_builds_as_jekyll_builds_it() {
    assert!(
        jekyll_available(),
        "jekyll 4.3 must be installed (.ci/run installs it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let o = Command::new("jekyll")
        .args(["new", "--skip-bundle"])
        .arg(&site)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // `jekyll new` dates its post "now". Jekyll drops a front-matter date
    // equal to `site.time` to the second (it takes it for its own default:
    // `Document#modify_date`) and uses the file name's midnight instead, so
    // a `jekyll build` in that same second dates the post differently.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (compared, problems) = compare(&site);
    assert!(compared >= 7, "jekyll made only {compared} files");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_jekyll_site_with_collections_includes_data_and_defaults_builds_as_jekyll_builds_it() {
    assert!(
        jekyll_available(),
        "jekyll 4.3 must be installed (.ci/run installs it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-site"),
        &site,
    );
    let (compared, problems) = compare(&site);
    assert!(compared >= 8, "jekyll made only {compared} files");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn liquid_errors_name_the_file_and_line_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    std::fs::write(site.join("_config.yml"), "title: t\n").unwrap();
    std::fs::write(
        site.join("index.md"),
        "---\ntitle: x\n---\n\nfine\n\n{{ page.title | no_such_filter }}\n",
    )
    .unwrap();
    std::fs::write(site.join("other.html"), "---\n---\n{% no_such_tag %}\n").unwrap();
    let o = common::tusk()
        .arg("--root")
        .arg(site)
        .arg("check")
        .env_remove("TUSK_ENV")
        .output()
        .unwrap();
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("index.md:7:") && err.contains("no_such_filter"),
        "{err}"
    );
    assert!(err.contains("other.html:3"), "{err}");
    assert!(!site.join("_site").exists());
}
