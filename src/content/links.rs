//! Finding the links and ids in rendered HTML, in one streaming pass per
//! page. Content does it for Markdown bodies as it renders them, the build
//! for whole pages; the link checker (`build::linkcheck`) judges them.

use std::cell::RefCell;

use lol_html::{element, HtmlRewriter, Settings};

/// The links and ids found in one HTML page.
#[derive(Debug, Default)]
pub struct PageLinks {
    pub links: Vec<String>,
    pub ids: Vec<String>,
}

/// Links (as written) and ids of an HTML page, in one streaming pass.
/// One handler for every element that reads its attributes once: cheaper
/// than a selector per attribute (the build calls this on every page).
pub fn extract(html: &[u8]) -> PageLinks {
    extract_chunks(&[html])
}

/// [`extract`] over consecutive pieces of one document.
fn extract_chunks(chunks: &[&[u8]]) -> PageLinks {
    let found = RefCell::new(PageLinks::default());
    let handler = element!("*", |el| {
        let mut found = found.borrow_mut();
        for attr in el.attributes() {
            match attr.name().as_str() {
                "id" => found.ids.push(decoded(attr.value())),
                "name" if el.tag_name() == "a" => found.ids.push(decoded(attr.value())),
                "href" if el.tag_name() != "base" => found.links.push(decoded(attr.value())),
                "src" => found.links.push(decoded(attr.value())),
                "srcset" => {
                    for candidate in decoded(attr.value()).split(',') {
                        if let Some(url) = candidate.split_whitespace().next() {
                            found.links.push(url.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    });
    let settings = Settings::new().append_element_content_handler(handler);
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // Our own rendered output: a parse problem only loses links, never data.
    let _ = chunks
        .iter()
        .try_for_each(|c| rewriter.write(c))
        .and_then(|_| rewriter.end());
    found.into_inner()
}

/// Attribute values as the browser reads them: `&amp;` is `&`.
fn decoded(value: String) -> String {
    match crate::html::decode_attribute(&value) {
        std::borrow::Cow::Owned(v) => v,
        std::borrow::Cow::Borrowed(_) => value,
    }
}

/// Links and ids of a page whose `body` (rendered Markdown, with its
/// `body_links` already known) was placed in it verbatim by the layout:
/// only the layout's part is parsed. Most of a post's bytes are its body,
/// so this keeps link checking a small share of the build.
pub fn extract_around(page: &str, body: &str, mut body_links: PageLinks) -> PageLinks {
    // Search for a short prefix and compare the rest: building a searcher
    // for a whole body costs more than the search.
    let (page_bytes, body_bytes) = (page.as_bytes(), body.as_bytes());
    let prefix = &body_bytes[..body_bytes.len().min(64)];
    let at = memchr::memmem::find_iter(page_bytes, prefix)
        .find(|&at| page_bytes[at..].starts_with(body_bytes))
        .filter(|_| !body.is_empty());
    let Some(at) = at else {
        // The layout changed or dropped the body: parse the whole page.
        return extract(page.as_bytes());
    };
    let rest = extract_chunks(&[&page_bytes[..at], &page_bytes[at + body.len()..]]);
    body_links.links.extend(rest.links);
    body_links.ids.extend(rest.ids);
    body_links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn around_a_known_body_only_the_layout_is_parsed() {
        let body = r#"<p><a href="/in-body/">x</a></p><h2 id="b">B</h2>"#;
        let page = format!(
            r#"<html><head><link href="/css/a.css"></head><body><nav><a href="/">h</a></nav><main>{body}</main><a href="?a=1&amp;b=2">q</a></body></html>"#
        );
        // The body's links as the renderer reports them.
        let known = PageLinks {
            links: vec!["/in-body/".into()],
            ids: vec!["b".into()],
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let around = extract_around(&page, body, known);
        let whole = extract(page.as_bytes());
        assert_eq!(sorted(around.links.clone()), sorted(whole.links));
        assert_eq!(around.ids, whole.ids);
        assert!(
            around.links.contains(&"?a=1&b=2".to_string()),
            "entities decoded"
        );
        // A body the layout did not place verbatim: the whole page is parsed.
        let elsewhere = extract_around(&page, "<p>not there</p>", PageLinks::default());
        assert_eq!(elsewhere.links.len(), 4);
    }
}
