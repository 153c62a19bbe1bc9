//! Markdown to HTML with pulldown-cmark: GitHub-style extensions and
//! automatic heading ids (so every heading can be linked to).

use std::collections::HashMap;

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
}

/// A rendered document body.
pub struct Rendered {
    pub html: String,
    /// Headings in order: (level, id, text), for tables of contents.
    pub headings: Vec<(u8, String, String)>,
}

/// Render Markdown to HTML, giving every heading without an explicit
/// `{#id}` an id derived from its text (unique within the document).
pub fn render(markdown: &str) -> Rendered {
    let mut events: Vec<Event> = Parser::new_ext(markdown, options()).collect();
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut headings = Vec::new();

    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, id, .. }) = &events[i] {
            let level = *level as u8;
            let explicit = id.as_ref().map(|s| s.to_string());
            // Collect the heading's plain text up to its end tag.
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            let base = explicit.unwrap_or_else(|| heading_id(&text));
            let id = unique(&mut used, base);
            if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[i] {
                *slot = Some(CowStr::from(id.clone()));
            }
            headings.push((level, id, text));
            i = j;
        }
        i += 1;
    }

    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut out, events.into_iter());
    Rendered {
        html: out,
        headings,
    }
}

/// Render a short fragment (an excerpt) without collecting headings.
pub fn render_fragment(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + 64);
    html::push_html(&mut out, Parser::new_ext(markdown, options()));
    out
}

/// Id from heading text, like GitHub and kramdown: lowercase, spaces to
/// hyphens, punctuation dropped.
pub fn heading_id(text: &str) -> String {
    let mut id = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            id.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            id.push('-');
        }
    }
    if id.is_empty() {
        id.push_str("section");
    }
    id
}

fn unique(used: &mut HashMap<String, usize>, base: String) -> String {
    let n = used.entry(base.clone()).or_insert(0);
    *n += 1;
    if *n == 1 {
        base
    } else {
        format!("{base}-{}", *n - 1)
    }
}

/// The raw Markdown of the excerpt: everything before the separator
/// (Jekyll's default separator, a blank line, gives the first paragraph).
pub fn excerpt_source<'a>(body: &'a str, separator: &str) -> &'a str {
    let trimmed = body.trim_start_matches(['\n', '\r']);
    if separator.is_empty() {
        return trimmed;
    }
    match trimmed.find(separator) {
        Some(i) => &trimmed[..i],
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_render() {
        let r = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~x~~\n\n- [x] done\n\nNote[^1]\n\n[^1]: Foot\n",
        );
        assert!(r.html.contains("<table>"));
        assert!(r.html.contains("<del>x</del>"));
        assert!(r.html.contains("type=\"checkbox\""));
        assert!(r.html.contains("footnote-definition"));
    }

    #[test]
    fn headings_get_unique_ids() {
        let r = render("# Hello World\n\n## Hello World\n\n## Custom {#mine}\n");
        assert!(r.html.contains("<h1 id=\"hello-world\">"), "{}", r.html);
        assert!(r.html.contains("<h2 id=\"hello-world-1\">"), "{}", r.html);
        assert!(r.html.contains("<h2 id=\"mine\">"), "{}", r.html);
        assert_eq!(r.headings.len(), 3);
    }

    #[test]
    fn excerpt_is_first_paragraph_or_separator() {
        assert_eq!(excerpt_source("\nOne two.\n\nThree.", "\n\n"), "One two.");
        assert_eq!(
            excerpt_source("A\n\nB\n<!--more-->\nC", "<!--more-->"),
            "A\n\nB\n"
        );
    }
}
