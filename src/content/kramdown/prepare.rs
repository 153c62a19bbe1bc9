//! The kramdown syntax pulldown-cmark does not know, found in the source
//! before it is parsed and replaced by markers it passes through unchanged:
//!
//! - a block IAL line (`{: .note}`) or an extension block (`{::comment}`,
//!   `{::nomarkdown}`, a `markdown="1"` HTML element) becomes an HTML
//!   comment line, `<!--tusk-kd:N-->`, which CommonMark makes an HTML block
//!   of its own (it even ends a paragraph or a list), so the block it
//!   belongs to is its neighbour in the event stream;
//! - a span IAL (`[x](y){: .btn}`) becomes `{\u{E000}N}`: plain text to
//!   the parser, still punctuation so `_em_{: .x}` closes its emphasis;
//! - ALD (`{:ref: .x}`) and abbreviation (`*[HTML]: ...`) definitions are
//!   taken out.
//!
//! Fenced and indented code is copied untouched.

use std::collections::HashMap;

use super::ial::{parse_ial, Ial};

/// What a block marker stands for.
#[derive(Debug)]
pub(super) enum Block {
    /// An IAL line; `after` when it directly follows a block (no blank line
    /// between), which it then applies to; otherwise to the next block.
    Ial { ial: Ial, after: bool },
    /// HTML to copy as is (`{::nomarkdown}`, `{::comment}`).
    Raw(String),
    /// An HTML element with `markdown="1"`: its tags and the Markdown inside.
    Element {
        open: String,
        markdown: String,
        close: String,
        span: bool,
    },
}

/// The source as given to pulldown-cmark, and what its markers stand for.
#[derive(Debug, Default)]
pub(super) struct Prepared {
    pub text: String,
    pub blocks: Vec<Block>,
    /// Span IALs and the text they were written as (put back when they
    /// follow no span element, as kramdown leaves them).
    pub spans: Vec<(Ial, String)>,
    pub alds: HashMap<String, Ial>,
    pub abbrs: Vec<(String, String)>,
}

/// The marker prefix of block markers.
pub(super) const BLOCK_MARKER: &str = "<!--tusk-kd:";
/// The character that opens a span marker `{\u{E000}N}`.
pub(super) const SPAN_MARKER: char = '\u{E000}';

pub(super) fn prepare(src: &str) -> Prepared {
    let mut p = Prepared::default();
    let lines: Vec<&str> = src.split_inclusive('\n').collect();
    let mut fence: Option<(char, usize)> = None;
    let mut previous_blank = true;
    let mut in_indented_code = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        let indent = body.len() - trimmed.len();
        i += 1;
        if let Some((c, n)) = fence {
            p.text.push_str(line);
            if indent < 4 && closes_fence(trimmed, c, n) {
                fence = None;
            }
            continue;
        }
        let blank = trimmed.is_empty();
        in_indented_code = !blank && indent >= 4 && (previous_blank || in_indented_code);
        if in_indented_code {
            p.text.push_str(line);
            continue;
        }
        if let Some(f) = opens_fence(trimmed).filter(|_| indent < 4) {
            fence = Some(f);
            p.text.push_str(line);
            previous_blank = false;
            continue;
        }
        let prefix = &body[..indent];
        if let Some((name, ial)) = ald_line(trimmed) {
            p.alds.insert(name, ial);
            p.text.push('\n');
            previous_blank = true;
            continue;
        }
        if let Some(ial) = ial_line(trimmed) {
            let n = p.blocks.len();
            p.blocks.push(Block::Ial {
                ial,
                after: !previous_blank,
            });
            push_marker(&mut p.text, prefix, n);
            // An IAL after a blank line belongs to the next block: it stays
            // "blank" for the one after it.
            continue;
        }
        if let Some((abbr, title)) = abbreviation_line(trimmed).filter(|_| indent < 4) {
            p.abbrs.push((abbr, title));
            p.text.push('\n');
            previous_blank = true;
            continue;
        }
        if let Some(consumed) = extension(trimmed, &lines[i..], &mut p, prefix) {
            i += consumed;
            previous_blank = false;
            continue;
        }
        if let Some(consumed) = markdown_element(trimmed, &lines[i..], &mut p, prefix) {
            i += consumed;
            previous_blank = false;
            continue;
        }
        if let Some(consumed) = raw_element(trimmed, &lines[i..], &mut p, prefix)
            .filter(|_| previous_blank && indent < 4)
        {
            i += consumed;
            previous_blank = false;
            continue;
        }
        mark_spans(line, &mut p);
        previous_blank = blank;
    }
    p
}

fn push_marker(text: &mut String, prefix: &str, n: usize) {
    text.push_str(prefix);
    text.push_str(BLOCK_MARKER);
    text.push_str(&n.to_string());
    text.push_str("-->\n");
}

fn opens_fence(trimmed: &str) -> Option<(char, usize)> {
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = trimmed.chars().take_while(|x| *x == c).count();
    (n >= 3 && !(c == '`' && trimmed[n..].contains('`'))).then_some((c, n))
}

fn closes_fence(trimmed: &str, c: char, n: usize) -> bool {
    let run = trimmed.chars().take_while(|x| *x == c).count();
    run >= n && trimmed[run..].trim().is_empty()
}

/// `{: ...}` alone on a line (not an ALD, not an extension `{::`).
fn ial_line(trimmed: &str) -> Option<Ial> {
    let inner = trimmed.trim_end().strip_prefix("{:")?.strip_suffix('}')?;
    if inner.starts_with(':') || inner.starts_with('/') {
        return None;
    }
    parse_ial(inner)
}

/// `{:name: attributes}`: an attribute list definition.
fn ald_line(trimmed: &str) -> Option<(String, Ial)> {
    let inner = trimmed.trim_end().strip_prefix("{:")?.strip_suffix('}')?;
    let colon = inner.find(':')?;
    let name = &inner[..colon];
    let word = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if !word {
        return None;
    }
    Some((name.to_string(), parse_ial(&inner[colon + 1..])?))
}

/// `*[ABBR]: definition`.
fn abbreviation_line(trimmed: &str) -> Option<(String, String)> {
    let rest = trimmed.strip_prefix("*[")?;
    let close = rest.find("]:")?;
    let abbr = &rest[..close];
    (!abbr.is_empty()).then(|| (abbr.to_string(), rest[close + 2..].trim().to_string()))
}

/// `{::comment}` and `{::nomarkdown}` up to their end tag (`{:/comment}`,
/// `{:/}`), on one line or several; `{::options ...}` is dropped. Returns
/// how many lines after the first it took.
fn extension(trimmed: &str, rest: &[&str], p: &mut Prepared, prefix: &str) -> Option<usize> {
    if trimmed.starts_with("{::options") && trimmed.trim_end().ends_with("/}") {
        p.text.push('\n');
        return Some(0);
    }
    let (name, after) = ["comment", "nomarkdown"].iter().find_map(|name| {
        let open = format!("{{::{name}}}");
        trimmed
            .strip_prefix(open.as_str())
            .map(|after| (*name, after))
    })?;
    let ends = [format!("{{:/{name}}}"), "{:/}".to_string()];
    let find_end = |s: &str| ends.iter().filter_map(|e| s.find(e.as_str())).min();
    let mut content = String::new();
    let mut consumed = 0;
    if let Some(at) = find_end(after) {
        content.push_str(&after[..at]);
    } else {
        content.push_str(after);
        for line in rest {
            consumed += 1;
            if let Some(at) = find_end(line) {
                content.push_str(&line[..at]);
                break;
            }
            content.push_str(line);
        }
    }
    let html = match name {
        "comment" => format!("<!-- {} -->", content.trim()),
        _ => content.trim_matches('\n').to_string(),
    };
    let n = p.blocks.len();
    p.blocks.push(Block::Raw(html));
    push_marker(&mut p.text, prefix, n);
    Some(consumed)
}

/// An HTML element opened at the start of a line with `markdown="1"` (or
/// `"block"`, `"span"`) up to its matching end tag.
fn markdown_element(trimmed: &str, rest: &[&str], p: &mut Prepared, prefix: &str) -> Option<usize> {
    let tag_end = trimmed.find('>')?;
    let open_tag = &trimmed[..=tag_end];
    let name: String = open_tag
        .strip_prefix('<')?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    if name.is_empty() {
        return None;
    }
    let (attr, mode) = ["1", "block", "span"].iter().find_map(|mode| {
        [
            format!(" markdown=\"{mode}\""),
            format!(" markdown='{mode}'"),
        ]
        .into_iter()
        .find(|a| open_tag.contains(a.as_str()))
        .map(|a| (a, *mode))
    })?;
    let open = open_tag.replacen(attr.as_str(), "", 1);
    let close_tag = format!("</{name}>");
    let mut depth = 1usize;
    let mut inner = String::new();
    let mut consumed = 0;
    let mut close = String::new();
    let mut pending = trimmed[tag_end + 1..].to_string();
    loop {
        if let Some(at) = matching_close(&pending, &name, &close_tag, &mut depth) {
            inner.push_str(&pending[..at]);
            close = close_tag.clone();
            let after = pending[at + close_tag.len()..].trim();
            if !after.is_empty() {
                close.push_str(after);
            }
            break;
        }
        inner.push_str(&pending);
        let Some(line) = rest.get(consumed) else {
            break;
        };
        consumed += 1;
        pending = line.to_string();
    }
    let n = p.blocks.len();
    p.blocks.push(Block::Element {
        open,
        markdown: inner.trim_start_matches(['\n', '\r']).to_string(),
        close,
        span: mode == "span",
    });
    push_marker(&mut p.text, prefix, n);
    Some(consumed)
}

/// Elements kramdown reads as a block of HTML (its `HTML_BLOCK_ELEMENTS`).
const BLOCK_ELEMENTS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "html",
    "iframe",
    "legend",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "optgroup",
    "option",
    "p",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// A block HTML element without `markdown="1"` that has blank lines
/// inside: kramdown keeps all of it as HTML, where CommonMark would end
/// the HTML at the first blank line and read the rest as Markdown.
fn raw_element(trimmed: &str, rest: &[&str], p: &mut Prepared, prefix: &str) -> Option<usize> {
    let name: String = trimmed
        .strip_prefix('<')?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let name = name.to_ascii_lowercase();
    if !BLOCK_ELEMENTS.contains(&name.as_str()) || trimmed.contains(" markdown=") {
        return None;
    }
    let close_tag = format!("</{name}>");
    let mut depth = 0usize;
    let mut html = String::new();
    let mut blank_inside = false;
    for (k, line) in std::iter::once(&trimmed).chain(rest.iter()).enumerate() {
        if let Some(at) = matching_close(line, &name, &close_tag, &mut depth) {
            if !line[at + close_tag.len()..].trim().is_empty() || !blank_inside {
                return None;
            }
            html.push_str(line[..at + close_tag.len()].trim_end());
            let n = p.blocks.len();
            p.blocks.push(Block::Raw(html));
            push_marker(&mut p.text, prefix, n);
            return Some(k);
        }
        blank_inside |= line.trim().is_empty();
        html.push_str(line);
        if k == 0 && !line.ends_with('\n') {
            html.push('\n');
        }
    }
    None
}

/// Where the end tag that brings `depth` to zero is in `s`, counting the
/// element's own nested opens.
fn matching_close(s: &str, name: &str, close_tag: &str, depth: &mut usize) -> Option<usize> {
    let open = format!("<{name}");
    let mut at = 0;
    while at < s.len() {
        let next_open = s[at..].find(open.as_str()).map(|i| at + i).filter(|&i| {
            s[i + open.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == '>' || c.is_whitespace())
        });
        let next_close = s[at..].find(close_tag).map(|i| at + i);
        match (next_open, next_close) {
            (Some(o), Some(c)) if o < c => {
                *depth += 1;
                at = o + open.len();
            }
            (Some(o), None) => {
                *depth += 1;
                at = o + open.len();
            }
            (_, Some(c)) => {
                *depth = depth.saturating_sub(1);
                if *depth == 0 {
                    return Some(c);
                }
                at = c + close_tag.len();
            }
            (None, None) => return None,
        }
    }
    None
}

/// Replace each valid `{: ...}` outside code spans with a span marker.
fn mark_spans(line: &str, p: &mut Prepared) {
    if !line.contains("{:") {
        p.text.push_str(line);
        return;
    }
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'`' => {
                // Skip a code span: up to the same run of backticks.
                let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
                let ticks = &line[i..i + run];
                i += run;
                if let Some(end) = line[i..].find(ticks) {
                    i += end + run;
                }
            }
            b'\\' => i += 2,
            b'{' if bytes.get(i + 1) == Some(&b':') => {
                let Some(len) = line[i..].find('}') else {
                    break;
                };
                let written = &line[i..=i + len];
                match parse_ial(&written[2..written.len() - 1])
                    .filter(|_| !written[2..].starts_with(':') && !written[2..].starts_with('/'))
                {
                    Some(ial) => {
                        p.text.push_str(&line[copied..i]);
                        p.text.push('{');
                        p.text.push(SPAN_MARKER);
                        p.text.push_str(&p.spans.len().to_string());
                        p.text.push('}');
                        p.spans.push((ial, written.to_string()));
                        i += len + 1;
                        copied = i;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    p.text.push_str(&line[copied.min(line.len())..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ial_lines_become_markers_and_code_is_untouched() {
        let p = prepare("Para\n{: .note}\n\n```\n{: .x}\n```\n\n    {: .y}\n");
        assert_eq!(
            p.text,
            "Para\n<!--tusk-kd:0-->\n\n```\n{: .x}\n```\n\n    {: .y}\n"
        );
        assert!(matches!(&p.blocks[0], Block::Ial { after: true, .. }));
    }

    #[test]
    fn span_ials_outside_code_spans_are_marked() {
        let p = prepare("[a](b){: .btn} and `{: .no}`\n");
        assert_eq!(p.text, "[a](b){\u{E000}0} and `{: .no}`\n");
        assert_eq!(p.spans[0].1, "{: .btn}");
    }

    #[test]
    fn markdown_elements_take_their_content_to_the_matching_end_tag() {
        let p = prepare("<div markdown=\"1\" class=\"n\">\n<div>x</div>\n*y*\n</div>\nafter\n");
        assert_eq!(p.text, "<!--tusk-kd:0-->\nafter\n");
        match &p.blocks[0] {
            Block::Element {
                open,
                markdown,
                close,
                ..
            } => {
                assert_eq!(open, "<div class=\"n\">");
                assert_eq!(markdown, "<div>x</div>\n*y*\n");
                assert_eq!(close, "</div>");
            }
            other => panic!("{other:?}"),
        }
    }
}
