//! Finding and rewriting the URLs in HTML and CSS.
//!
//! One pass per document: every URL reference is handed to a callback
//! that records it (to crawl it) and may return a replacement (to make
//! absolute links to the origin root-relative). HTML goes through
//! lol_html, Cloudflare's streaming rewriter, so the markup is left exactly
//! as the origin wrote it apart from the rewritten attributes.

use std::cell::RefCell;
use std::sync::OnceLock;

use anyhow::Result;
use lol_html::html_content::ContentType;
use lol_html::{element, text, HtmlRewriter, Settings};
use regex::Regex;

/// How a page uses a URL: the crawler fetches subresources even when they
/// carry a cache-busting query (`style.css?ver=6.1`), since a page without
/// them is broken, while query links to other pages are often endless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A link to another page (`a`, `area`, `iframe`, `link rel=canonical`, a refresh).
    Navigation,
    /// Something the page loads to render: stylesheets, scripts, images, fonts.
    Subresource,
    /// The document's `<base href>`: later relative URLs resolve against it.
    Base,
}

/// Called with each URL reference (character references decoded) and how
/// the page uses it; returns its replacement, or `None` to leave it.
pub type OnLink<'a> = dyn FnMut(&str, Use) -> Option<String> + 'a;

/// Attributes holding one URL, by element, with how the page uses it.
const URL_ATTRIBUTES: &[(&str, &str, Use)] = &[
    ("a[href]", "href", Use::Navigation),
    ("area[href]", "href", Use::Navigation),
    ("link[href]", "href", Use::Navigation),
    ("script[src]", "src", Use::Subresource),
    ("img[src]", "src", Use::Subresource),
    ("input[src]", "src", Use::Subresource),
    ("source[src]", "src", Use::Subresource),
    ("track[src]", "src", Use::Subresource),
    ("video[src]", "src", Use::Subresource),
    ("video[poster]", "poster", Use::Subresource),
    ("audio[src]", "src", Use::Subresource),
    ("iframe[src]", "src", Use::Navigation),
    ("embed[src]", "src", Use::Subresource),
    ("object[data]", "data", Use::Subresource),
    ("base[href]", "href", Use::Base),
];

/// `<link rel=...>` values that load something the page renders with.
const SUBRESOURCE_RELS: &[&str] = &[
    "stylesheet",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "preload",
    "modulepreload",
    "manifest",
    "mask-icon",
];

/// How an element's URL attribute is used (a `link`'s depends on its `rel`).
fn use_of(el: &lol_html::html_content::Element, default: Use) -> Use {
    if el.tag_name() != "link" {
        return default;
    }
    let rel = el
        .get_attribute("rel")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match rel
        .split_whitespace()
        .any(|r| SUBRESOURCE_RELS.contains(&r))
    {
        true => Use::Subresource,
        false => Use::Navigation,
    }
}

/// Rewrite an HTML document, calling `on_link` for every URL in it.
pub fn rewrite_html(body: &[u8], on_link: &mut OnLink) -> Result<Vec<u8>> {
    let on_link = RefCell::new(on_link);
    let map =
        |raw: &str, how: Use| (on_link.borrow_mut())(&crate::html::decode_attribute(raw), how);
    let map_css = |css: &str| {
        rewrite_css(css, &mut |raw: &str, how: Use| {
            (on_link.borrow_mut())(raw, how)
        })
    };
    let style_text = RefCell::new(String::new());

    let mut handlers = Vec::new();
    for &(selector, attribute, how) in URL_ATTRIBUTES {
        let map = &map;
        handlers.push(element!(selector, move |el| {
            if let Some(value) = el.get_attribute(attribute) {
                if let Some(new) = map(&value, use_of(el, how)) {
                    el.set_attribute(attribute, &new)?;
                }
            }
            Ok(())
        }));
    }
    for selector in ["img[srcset]", "source[srcset]"] {
        let map = &map;
        handlers.push(element!(selector, move |el| {
            if let Some(value) = el.get_attribute("srcset") {
                let new = rewrite_srcset(&value, &mut |raw: &str, how: Use| map(raw, how));
                if new != value {
                    el.set_attribute("srcset", &new)?;
                }
            }
            Ok(())
        }));
    }
    handlers.push(element!("[style]", |el| {
        if let Some(value) = el.get_attribute("style") {
            let new = map_css(&value);
            if new != value {
                el.set_attribute("style", &new)?;
            }
        }
        Ok(())
    }));
    handlers.push(element!("meta[http-equiv][content]", |el| {
        let refresh = el
            .get_attribute("http-equiv")
            .is_some_and(|v| v.eq_ignore_ascii_case("refresh"));
        if let (true, Some(content)) = (refresh, el.get_attribute("content")) {
            if let Some(new) =
                rewrite_refresh(&content, &mut |raw: &str, _| map(raw, Use::Navigation))
            {
                el.set_attribute("content", &new)?;
            }
        }
        Ok(())
    }));
    // A <style> element's text can arrive in several chunks: gather them
    // and write the rewritten CSS in place of the last one.
    handlers.push(text!("style", |chunk| {
        style_text.borrow_mut().push_str(chunk.as_str());
        if chunk.last_in_text_node() {
            let css = std::mem::take(&mut *style_text.borrow_mut());
            chunk.replace(&map_css(&css), ContentType::Html);
        } else {
            chunk.remove();
        }
        Ok(())
    }));

    let mut settings = Settings::new();
    for h in handlers {
        settings = settings.append_element_content_handler(h);
    }
    let mut out = Vec::with_capacity(body.len() + 256);
    let mut rewriter = HtmlRewriter::new(settings, |c: &[u8]| out.extend_from_slice(c));
    rewriter.write(body)?;
    rewriter.end()?;
    Ok(out)
}

/// Rewrite `url(...)` and `@import "..."` references in CSS.
pub fn rewrite_css(css: &str, on_link: &mut OnLink) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"(?i)url\(\s*(?:"([^"]*)"|'([^']*)'|([^'")\s][^)\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')"#,
        )
        .unwrap()
    });
    let mut out = String::with_capacity(css.len());
    let mut last = 0;
    for caps in re.captures_iter(css) {
        let Some(m) = (1..=5).find_map(|i| caps.get(i)) else {
            continue;
        };
        if let Some(new) = on_link(m.as_str(), Use::Subresource) {
            out.push_str(&css[last..m.start()]);
            out.push_str(&new);
            last = m.end();
        }
    }
    out.push_str(&css[last..]);
    out
}

/// Rewrite the URLs of a `srcset` (`a.png 1x, b.png 2x`).
fn rewrite_srcset(srcset: &str, on_link: &mut OnLink) -> String {
    let mut parts = Vec::new();
    for candidate in srcset.split(',') {
        let candidate = candidate.trim();
        if candidate.is_empty() {
            continue;
        }
        let (url, descriptor) = candidate
            .split_once(char::is_whitespace)
            .map_or((candidate, ""), |(u, d)| (u, d.trim()));
        let url = on_link(url, Use::Subresource).unwrap_or_else(|| url.to_string());
        parts.push(if descriptor.is_empty() {
            url
        } else {
            format!("{url} {descriptor}")
        });
    }
    parts.join(", ")
}

/// Rewrite the URL of a meta refresh (`5; url=/next`).
fn rewrite_refresh(content: &str, on_link: &mut OnLink) -> Option<String> {
    let lower = content.to_ascii_lowercase();
    let at = lower.find("url=")? + 4;
    let raw = content[at..].trim().trim_matches(['\'', '"']);
    let new = on_link(raw, Use::Navigation)?;
    Some(format!("{}{new}", &content[..at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_html(html: &str) -> (Vec<String>, String) {
        let mut seen = Vec::new();
        let out = rewrite_html(html.as_bytes(), &mut |raw: &str, _| {
            seen.push(raw.to_string());
            raw.strip_prefix("http://origin.test").map(str::to_string)
        })
        .unwrap();
        (seen, String::from_utf8(out).unwrap())
    }

    #[test]
    fn finds_every_kind_of_reference_and_rewrites_absolute_ones() {
        let (seen, out) = collect_html(
            r#"<html><head><link rel="stylesheet" href="http://origin.test/s.css">
<meta http-equiv="refresh" content="5; url=http://origin.test/next">
<style>body { background: url("http://origin.test/bg.png") } @import 'x.css';</style></head>
<body><a href="/a/">a</a><img src="i.png" srcset="http://origin.test/i-2x.png 2x, i-3x.png 3x">
<div style="background-image: url(http://origin.test/d.png)"></div>
<script src="/app.js"></script><video poster="p.jpg"><source src="v.mp4"></video>
<iframe src="/embed/"></iframe><audio src="a.mp3"></audio></body></html>"#,
        );
        for expected in [
            "http://origin.test/s.css",
            "http://origin.test/next",
            "http://origin.test/bg.png",
            "x.css",
            "/a/",
            "i.png",
            "http://origin.test/i-2x.png",
            "i-3x.png",
            "http://origin.test/d.png",
            "/app.js",
            "p.jpg",
            "v.mp4",
            "/embed/",
            "a.mp3",
        ] {
            assert!(
                seen.iter().any(|s| s == expected),
                "{expected} not in {seen:?}"
            );
        }
        assert!(!out.contains("http://origin.test"), "{out}");
        assert!(out.contains(r#"href="/s.css""#), "{out}");
        assert!(out.contains("url=/next"), "{out}");
        assert!(out.contains(r#"url("/bg.png")"#), "{out}");
        assert!(
            out.contains(r#"srcset="/i-2x.png 2x, i-3x.png 3x""#),
            "{out}"
        );
        assert!(out.contains("url(/d.png)"), "{out}");
    }

    #[test]
    fn how_pages_use_urls_with_references_decoded() {
        let mut seen = Vec::new();
        let html = r#"<base href="/docs/"><link rel="stylesheet" href="/s.css?ver=1&amp;x=2">
<link rel="alternate" href="/feed/?a=1&#038;b=2"><a href="/caf&#233;/">c</a><img src="i.png">"#;
        rewrite_html(html.as_bytes(), &mut |raw: &str, how| {
            seen.push((raw.to_string(), how));
            None
        })
        .unwrap();
        let expected = [
            ("/docs/", Use::Base),
            ("/s.css?ver=1&x=2", Use::Subresource),
            ("/feed/?a=1&b=2", Use::Navigation),
            ("/café/", Use::Navigation),
            ("i.png", Use::Subresource),
        ];
        let expected: Vec<(String, Use)> =
            expected.iter().map(|(u, h)| (u.to_string(), *h)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn css_references() {
        let mut seen = Vec::new();
        let out = rewrite_css(
            "@import url(a.css); @import \"b.css\"; .x{background:url( 'c.png' )} .y{src:url(data:font/woff2;base64,AAA)}",
            &mut |raw: &str, _| {
                seen.push(raw.to_string());
                (raw == "c.png").then(|| "/c.png".to_string())
            },
        );
        assert_eq!(
            seen,
            ["a.css", "b.css", "c.png", "data:font/woff2;base64,AAA"]
        );
        assert!(out.contains("url( '/c.png' )"), "{out}");
    }
}
