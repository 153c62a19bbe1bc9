//! Markdown parity with Jekyll: every snippet of `tests/fixtures/kramdown/`
//! rendered by the real kramdown, through Jekyll's own Markdown converter
//! (so with Jekyll's options: GFM input, `auto_ids`, rouge), and by tusk
//! with `build.markdown = "kramdown"`, compared after normalising
//! whitespace between and inside tags.
//!
//! Allowed differences, and only these: the token spans inside code
//! (rouge's classes against syntect's; tusk is run with highlighting off
//! and the spans are removed from both sides).
//!
//! Runs Ruby live; skips, saying so, when Jekyll's Ruby library is absent.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::Project;

const CONVERT: &str = r#"
require "jekyll"
require "json"
site = Jekyll::Site.new(Jekyll.configuration({"quiet" => true, "source" => ARGV[0], "destination" => File.join(ARGV[0], "_site")}))
md = site.find_converter_instance(Jekyll::Converters::Markdown)
out = {}
Dir[File.join(ARGV[1], "*.md")].sort.each { |f| out[File.basename(f, ".md")] = md.convert(File.read(f)) }
puts JSON.generate(out)
"#;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kramdown"
    ))
}

/// Jekyll's rendering of every fixture, or `None` without Jekyll.
fn jekyll_renders() -> Option<BTreeMap<String, String>> {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new("ruby")
        .args(["-e", CONVERT])
        .arg(empty.path())
        .arg(fixtures())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "SKIPPED: ruby with jekyll/kramdown is not available: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn tusk_renders(names: &[&String]) -> BTreeMap<String, String> {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\n[build]\nmarkdown = \"kramdown\"\nhighlight = false\nheading_anchors = false\ncheck_links = false\n",
    );
    for name in names {
        let md = std::fs::read_to_string(fixtures().join(format!("{name}.md"))).unwrap();
        p.write(
            &format!("site/{name}.md"),
            &format!("---\npermalink: /{name}/\n---\n{md}"),
        );
    }
    p.run(&["build"]).success();
    names
        .iter()
        .map(|name| {
            let html = p.read(&format!("public/{name}/index.html"));
            let body = html
                .strip_prefix("<main>")
                .and_then(|h| h.strip_suffix("</main>"))
                .unwrap_or_else(|| panic!("{name}: not the test layout: {html}"));
            (name.to_string(), body.to_string())
        })
        .collect()
}

/// Whitespace between tags dropped, other runs of whitespace as one
/// space, and no token spans inside `<code>`.
fn normalise(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_code = 0usize;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            let tag = &rest[..end];
            if tag.starts_with("<code") {
                in_code += 1;
            } else if tag == "</code>" {
                in_code = in_code.saturating_sub(1);
            }
            let token_span = in_code > 0 && (tag.starts_with("<span") || tag == "</span>");
            if !token_span {
                out.push_str(tag);
            }
            rest = &rest[end..];
        } else if c.is_whitespace() {
            let end = rest
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len());
            let between_tags = out.ends_with('>') && rest[end..].starts_with('<');
            if !between_tags && !out.is_empty() && end < rest.len() {
                out.push(' ');
            }
            rest = &rest[end..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The `id` of every heading, in order.
fn heading_ids(html: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, _) in html.match_indices("<h") {
        let tag = &html[i..html[i..].find('>').map_or(html.len(), |e| i + e)];
        if !tag[2..].starts_with(|c: char| ('1'..='6').contains(&c)) {
            continue;
        }
        ids.push(
            tag.split(" id=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or("")
                .to_string(),
        );
    }
    ids
}

#[test]
fn kramdown_snippets_render_as_jekyll_renders_them() {
    let Some(jekyll) = jekyll_renders() else {
        return;
    };
    assert!(jekyll.len() >= 15, "fixtures missing: {:?}", jekyll.keys());
    let names: Vec<&String> = jekyll.keys().collect();
    let tusk = tusk_renders(&names);
    let (mut same, mut ids_same, mut ids_total) = (0, 0, 0);
    let mut report = String::new();
    for (name, expected) in &jekyll {
        let (want, got) = (normalise(expected), normalise(&tusk[name]));
        let (want_ids, got_ids) = (heading_ids(&want), heading_ids(&got));
        ids_total += want_ids.len();
        ids_same += want_ids
            .iter()
            .zip(&got_ids)
            .filter(|(a, b)| a == b)
            .count();
        if want == got {
            same += 1;
        } else {
            report.push_str(&format!("--- {name}\n  jekyll: {want}\n  tusk:   {got}\n"));
        }
    }
    eprintln!(
        "kramdown parity: snippets identical {same}/{}, heading ids matched {ids_same}/{ids_total}",
        jekyll.len()
    );
    assert!(report.is_empty(), "differences from Jekyll:\n{report}");
    assert_eq!(ids_same, ids_total);
}

/// The normaliser keeps what matters: text, attributes, element order.
#[test]
fn normalising_keeps_differences_in_content() {
    assert_eq!(
        normalise("<p>a\n  b</p>\n\n<ul>\n  <li>x</li>\n</ul>\n"),
        "<p>a b</p><ul><li>x</li></ul>"
    );
    assert_ne!(normalise("<p class=\"a\">x</p>"), normalise("<p>x</p>"));
    assert_ne!(normalise("<p>a b</p>"), normalise("<p>ab</p>"));
    assert_eq!(
        normalise("<code><span class=\"k\">def</span> x</code>"),
        "<code>def x</code>"
    );
}
