//! A site served below a path (`base_url = "https://example.org/pr-12/"`,
//! a preview or a project page): every root-relative URL in the written
//! HTML (`/about/`, `/css/site.css`) gets the path in front, so the theme
//! and Markdown links written for the root keep working there. Hugo and
//! Zola leave this to the theme's URL functions; doing it once on the
//! output also covers links staff write by hand.
//!
//! Links are checked before this step, against the keys (which never carry
//! the path), so the check is the same for a root site and a preview.

use std::borrow::Cow;

use lol_html::{element, HtmlRewriter, Settings};

/// The path of `base_url` without its trailing slash: `""` for a site at
/// the root of its host, `"/pr-12"` for one below it.
pub fn of(base_url: &str) -> String {
    url::Url::parse(base_url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default()
}

/// Attributes holding one URL.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "action", "poster", "data", "formaction"];

/// `html` with `base_path` before every root-relative URL in a URL
/// attribute or `srcset`; unchanged (borrowed) when there is no path.
pub fn prefix<'a>(html: &'a str, base_path: &str) -> Cow<'a, str> {
    if base_path.is_empty() {
        return Cow::Borrowed(html);
    }
    let handler = element!("*", |el| {
        for name in URL_ATTRIBUTES {
            if let Some(value) = el.get_attribute(name) {
                if let Some(new) = prefixed(&value, base_path) {
                    el.set_attribute(name, &new)?;
                }
            }
        }
        if let Some(value) = el.get_attribute("srcset") {
            let candidates: Vec<String> = value
                .split(',')
                .map(|c| {
                    let c = c.trim();
                    let (url, rest) = c.split_once(char::is_whitespace).unwrap_or((c, ""));
                    let url = prefixed(url, base_path).unwrap_or_else(|| url.to_string());
                    format!("{url} {rest}").trim_end().to_string()
                })
                .collect();
            el.set_attribute("srcset", &candidates.join(", "))?;
        }
        Ok(())
    });
    let mut out = Vec::with_capacity(html.len() + 256);
    let settings = Settings::new().append_element_content_handler(handler);
    let mut rewriter = HtmlRewriter::new(settings, |c: &[u8]| out.extend_from_slice(c));
    // Our own rendered output: lol_html only fails on memory limits, which
    // the default settings don't set; keep the page as rendered then.
    if rewriter
        .write(html.as_bytes())
        .and_then(|_| rewriter.end())
        .is_err()
    {
        return Cow::Borrowed(html);
    }
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| html.to_string()))
}

/// A redirect target: `base_path` before it when it is root-relative.
pub fn prefix_url<'a>(url: &'a str, base_path: &str) -> Cow<'a, str> {
    match prefixed(url, base_path) {
        Some(new) if !base_path.is_empty() => Cow::Owned(new),
        _ => Cow::Borrowed(url),
    }
}

/// `path + url` for a root-relative `url` not already below the path;
/// `//host/` (scheme-relative) and relative URLs are left alone.
fn prefixed(url: &str, base_path: &str) -> Option<String> {
    let root_relative = url.starts_with('/') && !url.starts_with("//");
    let below = url == base_path || url.starts_with(&format!("{base_path}/"));
    (root_relative && !below).then(|| format!("{base_path}{url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_of_a_base_url() {
        assert_eq!(of("https://example.org"), "");
        assert_eq!(of("https://example.org/"), "");
        assert_eq!(of("https://example.org/pr-12/"), "/pr-12");
        assert_eq!(of("https://example.org/a/b"), "/a/b");
    }

    #[test]
    fn root_relative_urls_get_the_path() {
        let html = r#"<a href="/about/">a</a><img src="/i.png" srcset="/i.png 1x, /j.png 2x"><a href="//cdn.example/x">c</a><a href="rel/">r</a><a href="https://x.example/">x</a><link href="/pr-12/done.css">"#;
        let out = prefix(html, "/pr-12");
        assert!(out.contains(r#"href="/pr-12/about/""#), "{out}");
        assert!(out.contains(r#"src="/pr-12/i.png""#), "{out}");
        assert!(
            out.contains(r#"srcset="/pr-12/i.png 1x, /pr-12/j.png 2x""#),
            "{out}"
        );
        assert!(out.contains(r#"href="//cdn.example/x""#), "{out}");
        assert!(out.contains(r#"href="rel/""#), "{out}");
        assert!(out.contains(r#"href="https://x.example/""#), "{out}");
        assert!(out.contains(r#"href="/pr-12/done.css""#), "{out}");
        assert!(matches!(prefix(html, ""), Cow::Borrowed(_)));
    }
}
