//! Links in content that name source files, checked at build time (tusk's
//! own sites; Jekyll sites keep `{% link %}` and `{% post_url %}`):
//!
//! - `[x](2026-12-01-hello.md)`, `[x](../about.md)`: a Markdown source,
//!   relative to the linking file; Zola's `@/_posts/x.md` (or `@/posts/x.md`),
//!   relative to the content folder. Both become the target's URL; a target
//!   that does not exist is a problem.
//! - In a bundle (a folder with `index.md` and its images), `pic.svg` is the
//!   file beside the index, wherever the document's URL puts it.
//!
//! Content shown on other pages (excerpts on list pages, feed summaries)
//! gets its relative links made absolute, so they lead where they lead on
//! the document's own page, as Hugo and Zola do.

use std::collections::HashMap;
use std::path::PathBuf;

use lol_html::{element, HtmlRewriter, Settings};
use percent_encoding::percent_decode_str;

use super::{display_path, Document, Site, MARKDOWN_EXTS};
use crate::config::Loaded;
use crate::diag::line_col;
use crate::tree::key::escape_path;

/// Every source file that has a URL, for resolving links by source path.
pub struct Resolver {
    /// Source path (relative to the content folder) -> URL.
    urls: HashMap<String, String>,
    source_dir: PathBuf,
    root: PathBuf,
}

/// What a link in content becomes.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Not a link by source path: left as written.
    Keep,
    /// The URL of the source file it names.
    To(String),
    /// It names a source file that is not there (the message says why).
    Missing(String),
}

/// A body after [`Resolver::fix_body`].
#[derive(Debug, Default)]
pub struct Fixed {
    /// The rewritten HTML, when a link changed.
    pub html: Option<String>,
    /// Links naming missing sources: (the link as written, the message).
    pub missing: Vec<(String, String)>,
}

impl Resolver {
    pub fn new(loaded: &Loaded, site: &Site) -> Resolver {
        let mut urls = HashMap::new();
        for doc in site.documents.iter().filter(|d| d.output.is_some()) {
            urls.insert(doc.source.clone(), doc.url.clone());
        }
        for file in &site.static_files {
            urls.entry(file.source.clone())
                .or_insert_with(|| format!("/{}", escape_path(&file.key)));
        }
        Resolver {
            urls,
            source_dir: loaded.source_dir(),
            root: loaded.root.clone(),
        }
    }

    /// The URL of the file `path` (relative to the content folder) is
    /// published at, if any.
    pub fn url_of(&self, path: &str) -> Option<&str> {
        self.urls.get(path).map(String::as_str)
    }

    /// What `link`, written in `doc`, leads to.
    pub fn resolve(&self, link: &str, doc: &Document) -> Resolved {
        let link = link.trim();
        let zola = link.starts_with("@/");
        if !zola && !relative(link) {
            return Resolved::Keep;
        }
        let (path, suffix) = link.split_at(link.find(['?', '#']).unwrap_or(link.len()));
        let decoded = percent_decode_str(path).decode_utf8_lossy();
        let target = match zola {
            true => normalize("", &decoded[2..]),
            false => normalize(folder_of(&doc.source), &decoded),
        };
        let Some(target) = target.filter(|t| !t.is_empty()) else {
            return match zola {
                true => Resolved::Missing(format!("{link} leaves the content folder")),
                false => Resolved::Keep,
            };
        };
        let in_bundle = doc
            .bundle
            .as_deref()
            .is_some_and(|b| target.strip_prefix(b).is_some_and(|r| r.starts_with('/')));
        let markdown = has_markdown_ext(&target);
        if !(zola || markdown || in_bundle) {
            return Resolved::Keep;
        }
        if let Some(url) = self.lookup(&target, zola) {
            return Resolved::To(format!("{url}{suffix}"));
        }
        if !markdown && !zola {
            // A missing file of the bundle: the link checker reports it.
            return Resolved::Keep;
        }
        let shown = display_path(&self.root, &self.source_dir.join(&target));
        Resolved::Missing(match self.source_dir.join(&target).is_file() {
            true => format!(
                "link {link}: {shown} is not published (a draft, a future post or published: false)"
            ),
            false => format!("link {link} names a source file that does not exist ({shown})"),
        })
    }

    /// The URL of `target`; Zola's `@/posts/x.md` also finds `_posts/x.md`.
    fn lookup(&self, target: &str, zola: bool) -> Option<&str> {
        self.url_of(target)
            .or_else(|| zola.then(|| self.url_of(&format!("_{target}"))).flatten())
    }

    /// Rewrite the links by source path in a rendered body (`markdown` is
    /// its source, to skip the work when it cannot hold one).
    pub fn fix_body(&self, markdown: &str, html: &str, doc: &Document) -> Fixed {
        if !may_name_sources(markdown, doc) {
            return Fixed::default();
        }
        let mut missing = Vec::new();
        let html = rewrite(html, &mut |link| match self.resolve(link, doc) {
            Resolved::Keep => None,
            Resolved::To(url) => Some(url),
            Resolved::Missing(why) => {
                missing.push((link.to_string(), why));
                None
            }
        });
        Fixed { html, missing }
    }

    /// Make the links of `doc`'s excerpt absolute: it is shown on list
    /// pages, where a relative link would lead somewhere else.
    pub fn fix_excerpt(&self, doc: &mut Document) {
        if !(doc.excerpt.contains("href=") || doc.excerpt.contains("src=")) {
            return;
        }
        let fixed = rewrite(&doc.excerpt, &mut |link| match self.resolve(link, doc) {
            Resolved::To(url) => Some(url),
            _ => absolute(link, &doc.url),
        });
        if let Some(html) = fixed {
            doc.excerpt = html;
        }
    }
}

/// Whether a body may hold a link by source path: the check that keeps
/// ordinary bodies from being parsed twice.
fn may_name_sources(markdown: &str, doc: &Document) -> bool {
    doc.bundle.is_some()
        || markdown.contains("@/")
        || MARKDOWN_EXTS
            .iter()
            .any(|ext| markdown.contains(&format!(".{ext}")))
}

/// A path relative to the page: not `/x`, `#x`, `?x`, `//host` or `scheme:`.
fn relative(link: &str) -> bool {
    !link.is_empty() && !link.starts_with(['/', '#', '?']) && !has_scheme(link)
}

fn has_scheme(link: &str) -> bool {
    let Some((scheme, _)) = link.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn has_markdown_ext(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| MARKDOWN_EXTS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// The folder of a source path (`_posts/a.md` -> `_posts`).
pub fn folder_of(source: &str) -> &str {
    source.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `path` joined to `folder` with `.` and `..` applied; None when it
/// leaves the content folder.
pub fn normalize(folder: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// A link relative to the page at `url`, as an absolute path (what a
/// browser on that page would request).
fn absolute(link: &str, url: &str) -> Option<String> {
    if link.is_empty() || link.starts_with('/') || has_scheme(link) {
        return None;
    }
    let site = url::Url::parse("http://site.invalid/").ok()?;
    let target = site.join(url).ok()?.join(link).ok()?;
    let mut out = target.path().to_string();
    if let Some(q) = target.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = target.fragment() {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

/// Feed summaries: root-relative links with the site's base URL in front,
/// since a feed reader shows them away from the site.
pub fn absolute_in_feed<'h>(html: &'h str, base: &str) -> std::borrow::Cow<'h, str> {
    if !html.contains("=\"/") {
        return html.into();
    }
    let base = base.trim_end_matches('/');
    rewrite(html, &mut |link| {
        (link.starts_with('/') && !link.starts_with("//")).then(|| format!("{base}{link}"))
    })
    .map_or(html.into(), Into::into)
}

/// Replace `href` and `src` values for which `f` answers; None when none
/// changed. `f` sees values as a browser reads them (`&amp;` is `&`).
fn rewrite(html: &str, f: &mut dyn FnMut(&str) -> Option<String>) -> Option<String> {
    let changed = std::cell::Cell::new(false);
    let f = std::cell::RefCell::new(f);
    let handler = element!("[href], [src]", |el| {
        for name in ["href", "src"] {
            let Some(raw) = el.get_attribute(name) else {
                continue;
            };
            let value = crate::html::decode_attribute(&raw);
            if let Some(new) = (f.borrow_mut())(&value) {
                // lol_html escapes `"` but not `&`.
                el.set_attribute(name, &new.replace('&', "&amp;"))?;
                changed.set(true);
            }
        }
        Ok(())
    });
    let mut out = Vec::with_capacity(html.len() + 64);
    let settings = Settings::new().append_element_content_handler(handler);
    let mut rewriter = HtmlRewriter::new(settings, |c: &[u8]| out.extend_from_slice(c));
    // Our own rendered HTML: a parse problem keeps the original.
    rewriter.write(html.as_bytes()).ok()?;
    rewriter.end().ok()?;
    if !changed.get() {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Line and column (1-based) where `link` is written in `text`: the first
/// place it stands as a link (after `(`, `<`, `=` or a quote), else after a
/// space or comma (a reference definition, a `srcset`), else anywhere.
pub fn locate(text: &str, link: &str) -> Option<(usize, usize)> {
    if link.is_empty() {
        return None;
    }
    let rank = |before: Option<char>, after: Option<char>| {
        let closes =
            after.is_none_or(|c| matches!(c, ')' | '>' | '"' | '\'' | ',') || c.is_whitespace());
        match before {
            Some('(' | '<' | '"' | '\'' | '=') if closes => 0,
            Some(c) if (c.is_whitespace() || c == ',') && closes => 1,
            None if closes => 1,
            _ => 2,
        }
    };
    let escaped = link.replace('&', "&amp;");
    let mut best: Option<(u8, usize)> = None;
    for pattern in [link, escaped.as_str()] {
        for (at, _) in text.match_indices(pattern) {
            let before = text[..at].chars().next_back();
            let after = text[at + pattern.len()..].chars().next();
            let r = rank(before, after);
            if best.is_none_or(|(b, _)| r < b) {
                best = Some((r, at));
            }
        }
    }
    best.map(|(_, at)| line_col(text, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_the_content_folder() {
        assert_eq!(
            normalize("_posts", "../about.md").as_deref(),
            Some("about.md")
        );
        assert_eq!(normalize("a/b", "./c/../d.md").as_deref(), Some("a/b/d.md"));
        assert_eq!(normalize("", "../x.md"), None);
        assert!(relative("x.md") && relative("../x.md"));
        assert!(!relative("/x.md") && !relative("#x") && !relative("mailto:a@b"));
        assert!(!relative("https://e.test/x.md"));
    }

    #[test]
    fn relative_links_become_what_the_page_requests() {
        assert_eq!(
            absolute("pic.svg", "/2026/12/01/launch/").as_deref(),
            Some("/2026/12/01/launch/pic.svg")
        );
        assert_eq!(
            absolute("#note", "/a/b.html").as_deref(),
            Some("/a/b.html#note")
        );
        assert_eq!(
            absolute("../c/?q=1&r", "/a/b/").as_deref(),
            Some("/a/c/?q=1&r")
        );
        assert_eq!(absolute("/abs", "/a/"), None);
    }

    #[test]
    fn rewriting_keeps_everything_else_and_escapes_ampersands() {
        let html = r#"<p><a href="x.md" class="k">x</a> <img src="/i.png" alt="&amp;"></p>"#;
        let out = rewrite(html, &mut |l| {
            (l == "x.md").then(|| "/x/?a=1&b=2".to_string())
        });
        assert_eq!(
            out.as_deref(),
            Some(
                r#"<p><a href="/x/?a=1&amp;b=2" class="k">x</a> <img src="/i.png" alt="&amp;"></p>"#
            )
        );
        assert_eq!(rewrite(html, &mut |_| None), None);
        assert_eq!(
            absolute_in_feed(r#"<img src="/i.png"><a href="//cdn/x">"#, "https://e.test/"),
            r#"<img src="https://e.test/i.png"><a href="//cdn/x">"#
        );
    }

    #[test]
    fn links_are_located_where_they_are_written() {
        let text =
            "Intro /gone/ in prose.\n\nSee [gone](/gone/) and <a href=\"/q?a=1&amp;b\">q</a>.\n";
        assert_eq!(locate(text, "/gone/"), Some((3, 12)));
        assert_eq!(locate(text, "/q?a=1&b"), Some((3, 33)));
        assert_eq!(locate(text, "/nowhere/"), None);
    }
}
