//! Markdown to HTML with pulldown-cmark: GitHub-style extensions,
//! automatic heading ids with optional anchor links (so every heading can
//! be linked to), and class-based highlighting of fenced code.
//!
//! Two flavors ([`Flavor`]): tusk's own, and kramdown's (Jekyll sites),
//! which lives in `content::kramdown`.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use pulldown_cmark::{html, CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::highlight;
use super::links::PageLinks;

/// Which Markdown a site is written in (`build.markdown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// CommonMark with GitHub's extensions and `{#id .class}` heading
    /// attributes; heading ids as GitHub makes them.
    #[default]
    Tusk,
    /// What Jekyll makes of Markdown (kramdown with its GFM parser): IALs,
    /// `markdown="1"`, kramdown's heading ids, footnotes and code markup.
    Kramdown,
}

/// What the Markdown renderer adds beyond CommonMark.
#[derive(Debug, Clone, Copy)]
pub struct Extras {
    pub flavor: Flavor,
    /// Highlight fenced code blocks (`build.highlight`).
    pub highlight: bool,
    /// Append a `#` link to every heading (`build.heading_anchors`).
    pub anchors: bool,
    /// Collect the body's links and ids for the link checker.
    pub links: bool,
}

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
    /// The links and ids of `html` (when [`Extras::links`]), read from the
    /// Markdown events, so the link checker need not parse the body again.
    pub links: Option<PageLinks>,
}

/// Render Markdown to HTML, giving every heading without an explicit
/// `{#id}` an id derived from its text (unique within the document).
pub fn render(markdown: &str, extras: Extras) -> Rendered {
    if extras.flavor == Flavor::Kramdown {
        return super::kramdown::render(markdown, extras);
    }
    let markdown = guard_heading_attributes(markdown);
    let mut events: Vec<Event> = Parser::new_ext(&markdown, options()).collect();
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

    let links = extras.links.then(|| links_of(&events));
    let events = with_footnote_backlinks(events);
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut out, with_extras(events, extras));
    Rendered {
        html: out,
        headings,
        links,
    }
}

/// What pulldown-cmark's HTML writer will turn into `href`, `src` and `id`
/// attributes; raw HTML in the Markdown is parsed for its own. Read before
/// [`with_extras`]: highlighted code and heading anchors (a heading's link to
/// itself) carry nothing to check.
fn links_of(events: &[Event]) -> PageLinks {
    let mut found = PageLinks::default();
    let mut raw = String::new();
    // Footnotes: the first reference's id, and each referenced note's
    // back-link (`with_footnote_backlinks`).
    let mut referenced = std::collections::HashSet::new();
    let mut defined = Vec::new();
    for event in events {
        match event {
            Event::Start(Tag::Link {
                link_type: LinkType::Email,
                dest_url,
                ..
            }) => found.links.push(format!("mailto:{dest_url}")),
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                found.links.push(dest_url.to_string())
            }
            Event::Start(Tag::Heading { id: Some(id), .. }) => found.ids.push(id.to_string()),
            Event::Start(Tag::FootnoteDefinition(name)) => {
                found.ids.push(name.to_string());
                defined.push(name.to_string());
            }
            Event::FootnoteReference(name) => {
                found.links.push(format!("#{name}"));
                if referenced.insert(name.to_string()) {
                    found.ids.push(format!("fnref-{name}"));
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => raw.push_str(html),
            _ => {}
        }
    }
    for name in defined.iter().filter(|n| referenced.contains(*n)) {
        found.links.push(format!("#fnref-{name}"));
    }
    if !raw.is_empty() {
        let more = super::links::extract(raw.as_bytes());
        found.links.extend(more.links);
        found.ids.extend(more.ids);
    }
    found
}

/// Footnotes as pulldown-cmark writes them (numbered by first reference),
/// plus what readers of current themes expect: the first reference to a
/// note has an id, and the note ends with a link back to it (`↩`) inside
/// its last paragraph, so label, text and back-link share one line.
fn with_footnote_backlinks(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    if !events
        .iter()
        .any(|e| matches!(e, Event::FootnoteReference(_)))
    {
        return events;
    }
    let mut numbers: HashMap<String, usize> = HashMap::new();
    let mut number = |name: &str| {
        let next = numbers.len() + 1;
        *numbers.entry(name.to_string()).or_insert(next)
    };
    let mut referenced = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(events.len() + 8);
    // (name, index in `out` of the note's last paragraph end)
    let mut open: Option<(String, Option<usize>)> = None;
    for event in events {
        match event {
            Event::FootnoteReference(name) => {
                let n = number(&name);
                let escaped = quick_xml::escape::escape(name.as_ref()).into_owned();
                let id = if referenced.insert(name.to_string()) {
                    format!(" id=\"fnref-{escaped}\"")
                } else {
                    String::new()
                };
                out.push(Event::InlineHtml(
                    format!("<sup class=\"footnote-reference\"{id}><a href=\"#{escaped}\">{n}</a></sup>")
                        .into(),
                ));
            }
            Event::Start(Tag::FootnoteDefinition(name)) => {
                let n = number(&name);
                let escaped = quick_xml::escape::escape(name.as_ref()).into_owned();
                out.push(Event::Html(
                    format!("<div class=\"footnote-definition\" id=\"{escaped}\"><sup class=\"footnote-definition-label\">{n}</sup>\n")
                        .into(),
                ));
                open = Some((name.to_string(), None));
            }
            Event::End(TagEnd::Paragraph) if open.is_some() => {
                if let Some((_, last)) = open.as_mut() {
                    *last = Some(out.len());
                }
                out.push(Event::End(TagEnd::Paragraph));
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                let (name, last) = open.take().expect("inside a footnote definition");
                if referenced.contains(&name) {
                    let escaped = quick_xml::escape::escape(name.as_str()).into_owned();
                    let back = Event::InlineHtml(
                        format!(" <a href=\"#fnref-{escaped}\" class=\"footnote-backref\" aria-label=\"Back to the text\">↩</a>")
                            .into(),
                    );
                    match last {
                        Some(at) => out.insert(at, back),
                        None => out.push(back),
                    }
                }
                out.push(Event::Html("</div>\n".into()));
            }
            event => out.push(event),
        }
    }
    out
}

/// Replace fenced code with highlighted HTML and add heading anchors.
fn with_extras(events: Vec<Event<'_>>, extras: Extras) -> impl Iterator<Item = Event<'_>> {
    let mut out = Vec::with_capacity(events.len());
    let mut code: Option<(String, String)> = None;
    let mut anchor: Option<String> = None;
    for event in events {
        match (&mut code, event) {
            (None, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang)))) => {
                code = Some((lang.to_string(), String::new()));
            }
            (Some((_, text)), Event::Text(t)) => text.push_str(&t),
            (Some(_), Event::End(TagEnd::CodeBlock)) => {
                let (lang, text) = code.take().expect("inside a code block");
                out.push(Event::Html(
                    highlight::code_block(&lang, &text, extras.highlight).into(),
                ));
            }
            (
                None,
                Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                }),
            ) => {
                anchor = extras
                    .anchors
                    .then(|| id.as_deref().unwrap_or("").to_string());
                out.push(Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                }));
            }
            (None, Event::End(TagEnd::Heading(level))) => {
                if let Some(id) = anchor.take() {
                    out.push(Event::InlineHtml(
                        format!(
                            " <a class=\"anchor\" href=\"#{}\" aria-label=\"Link to this section\">#</a>",
                            quick_xml::escape::escape(&id)
                        )
                        .into(),
                    ));
                }
                out.push(Event::End(TagEnd::Heading(level)));
            }
            (_, event) => out.push(event),
        }
    }
    out.into_iter()
}

/// Render a short fragment (an excerpt) without collecting headings.
pub fn render_fragment(markdown: &str, flavor: Flavor) -> String {
    if flavor == Flavor::Kramdown {
        let extras = Extras {
            flavor,
            highlight: false,
            anchors: false,
            links: false,
        };
        return super::kramdown::render(markdown, extras).html;
    }
    let markdown = guard_heading_attributes(markdown);
    let mut out = String::with_capacity(markdown.len() + 64);
    html::push_html(&mut out, Parser::new_ext(&markdown, options()));
    out
}

/// Write the `{` of a heading's trailing `{...}` as `&#123;` (pulldown-cmark
/// reads attributes before escapes, so `\{` would not do) unless it is a valid
/// attribute block (`{#id .class key=value}`), so `## Setup {% include x %}`
/// keeps its text instead of becoming attributes (`%-="" include=""`).
fn guard_heading_attributes(markdown: &str) -> Cow<'_, str> {
    if !markdown.contains('#') || !markdown.contains('{') {
        return Cow::Borrowed(markdown);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut fence: Option<(u8, usize)> = None;
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start_matches(' ');
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let run = |b: u8| trimmed.bytes().take_while(|x| *x == b).count();
        match fence {
            Some((b, n)) => {
                if run(b) >= n && trimmed[run(b)..].trim().is_empty() {
                    fence = None;
                }
                continue;
            }
            None => {
                for b in [b'`', b'~'] {
                    if run(b) >= 3 {
                        fence = Some((b, run(b)));
                    }
                }
                if fence.is_some() {
                    continue;
                }
            }
        }
        let hashes = run(b'#');
        let text = trimmed.trim_end();
        if !(1..=6).contains(&hashes) || !text.ends_with('}') {
            continue;
        }
        let Some(open) = text.rfind('{') else {
            continue;
        };
        if valid_attribute_block(&text[open + 1..text.len() - 1]) {
            continue;
        }
        let at = start + (line.len() - trimmed.len()) + open;
        out.push_str(&markdown[copied..at]);
        out.push_str("&#123;");
        copied = at + 1;
    }
    if copied == 0 {
        return Cow::Borrowed(markdown);
    }
    out.push_str(&markdown[copied..]);
    Cow::Owned(out)
}

/// `#id`, `.class` and `key=value` words only.
fn valid_attribute_block(inner: &str) -> bool {
    let name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
    };
    let mut words = inner.split_whitespace().peekable();
    words.peek().is_some()
        && words.all(|w| match w.as_bytes()[0] {
            b'#' | b'.' => name(&w[1..]),
            _ => w
                .split_once('=')
                .is_some_and(|(k, v)| name(k) && !v.is_empty() && !v.contains(['{', '}', '%'])),
        })
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

    const PLAIN: Extras = Extras {
        flavor: Flavor::Tusk,
        highlight: false,
        anchors: false,
        links: true,
    };

    #[test]
    fn fenced_code_is_highlighted_and_headings_get_anchors() {
        let extras = Extras {
            flavor: Flavor::Tusk,
            highlight: true,
            anchors: true,
            links: false,
        };
        let r = render(
            "## Setup guide\n\n```python\ntitle = \"x\"\n```\n\n    indented\n",
            extras,
        );
        assert!(
            r.html.contains("<pre class=\"code\" data-lang=\"python\">"),
            "{}",
            r.html
        );
        assert!(r.html.contains("hl-string"), "{}", r.html);
        assert!(
            r.html.contains("<pre><code>indented\n</code></pre>"),
            "{}",
            r.html
        );
        assert!(
            r.html.contains("<a class=\"anchor\" href=\"#setup-guide\" aria-label=\"Link to this section\">#</a></h2>"),
            "{}",
            r.html
        );
        assert_eq!(r.headings[0].2, "Setup guide");
    }

    #[test]
    fn extensions_render() {
        let r = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~x~~\n\n- [x] done\n\nNote[^1]\n\n[^1]: Foot\n",
            PLAIN,
        );
        assert!(r.html.contains("<table>"));
        assert!(r.html.contains("<del>x</del>"));
        assert!(r.html.contains("type=\"checkbox\""));
        assert!(r.html.contains("footnote-definition"));
    }

    #[test]
    fn a_footnote_links_back_to_its_reference_on_the_same_line() {
        let md = "Text[^note] and again[^note].\n\n[^note]: The note.\n";
        let html = render(md, PLAIN).html;
        assert!(
            html.contains(
                r##"<sup class="footnote-reference" id="fnref-note"><a href="#note">1</a></sup>"##
            ),
            "{html}"
        );
        assert_eq!(html.matches("id=\"fnref-note\"").count(), 1, "{html}");
        assert!(
            html.contains(r##"The note. <a href="#fnref-note" class="footnote-backref" aria-label="Back to the text">↩</a></p>"##),
            "{html}"
        );
        assert!(html.contains(r#"<div class="footnote-definition" id="note"><sup class="footnote-definition-label">1</sup>"#), "{html}");
    }

    #[test]
    fn headings_get_unique_ids() {
        let r = render(
            "# Hello World\n\n## Hello World\n\n## Custom {#mine}\n",
            PLAIN,
        );
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

    /// The links read from the Markdown events are the links a parser finds
    /// in the rendered HTML (anchors to the heading itself aside).
    #[test]
    fn links_from_events_match_the_rendered_html() {
        let md = "# Intro {#start}\n\nSee [a](/a/ \"t\"), [b](../b.html#x), <https://example.com/?q=1&r=2>,\n\
                  <me@example.com>, ![img](/i.png) and [ref][r].\n\n[r]: /ref/\n\n\
                  Inline <a href=\"/raw/\" id=\"raw-id\">raw</a>.\n\n\
                  <div id=\"block\"><img src=\"/b.png\" srcset=\"/b1.png 1x, /b2.png 2x\"></div>\n\n\
                  Code:\n\n    <a href=\"/not-a-link/\">in code</a>\n\n\
                  Note[^n].\n\n[^n]: Foot [f](/f/).\n";
        let r = render(md, PLAIN);
        let parsed = crate::content::links::extract(r.html.as_bytes());
        let links = r.links.expect("links were asked for");
        let mut from_events = links.links.clone();
        let mut from_html = parsed.links.clone();
        from_events.sort();
        from_html.sort();
        assert_eq!(from_events, from_html);
        assert!(from_events.contains(&"https://example.com/?q=1&r=2".to_string()));
        assert!(from_events.contains(&"mailto:me@example.com".to_string()));
        assert!(!from_events.iter().any(|l| l.contains("not-a-link")));
        let (mut a, mut b) = (links.ids.clone(), parsed.ids.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert!(a.contains(&"start".to_string()) && a.contains(&"raw-id".to_string()));
    }
}
