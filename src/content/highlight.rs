//! Syntax highlighting of fenced code blocks with syntect (Sublime Text
//! grammars). The output carries classes, not colours, so the theme's CSS
//! decides the palette: scope `keyword.control.rust` becomes
//! `<span class="hl-keyword hl-control">`.
//!
//! Spans are written here rather than by syntect's `ClassedHTMLGenerator`,
//! which wraps every token in a span per enclosing scope: structural
//! `meta.*` scopes and the file's `source.*` scope, which themes do not
//! colour, made two thirds of a highlighted block's markup (and a fifth of
//! a typical post page). Those get no span here, and the language atom
//! every scope repeats (`.rust`) is left out; the code block already says
//! `language-rust`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use syntect::parsing::{BasicScopeStackOp, ParseState, Scope, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

/// Class prefix of highlighted spans (`hl-keyword`, `hl-string`, ...).
const PREFIX: &str = "hl-";

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// A fenced code block as HTML. `lang` is the fence's info string (its first
/// word); unknown or empty languages are escaped without highlighting but
/// keep their `language-*` class for client-side tools.
pub fn code_block(lang: &str, code: &str, highlight: bool) -> String {
    let lang = lang.split([' ', ',', '{']).next().unwrap_or("").trim();
    let mut out = String::with_capacity(code.len() * 3 + 64);
    if lang.is_empty() {
        out.push_str("<pre><code>");
    } else {
        let lang = quick_xml::escape::escape(lang);
        out.push_str(&format!(
            "<pre class=\"code\" data-lang=\"{lang}\"><code class=\"language-{lang}\">"
        ));
    }
    match highlight.then(|| memoised(lang, code)).flatten() {
        Some(html) => out.push_str(&html),
        None => out.push_str(&escape(code)),
    }
    out.push_str("</code></pre>\n");
    out
}

/// The highlighted spans of `code` alone (no `<pre>`), for writers with
/// markup of their own (kramdown's); `None` for an unknown language.
pub fn spans(lang: &str, code: &str) -> Option<Arc<str>> {
    memoised(lang, code)
}

/// Highlighted blocks by (language, code), kept for the life of the process
/// (a build, or every rebuild of `tusk serve`). Sites repeat snippets (install
/// commands, config examples) and syntect is the slowest stage of a build
/// (about 30 µs a line), so one highlighting per distinct block is worth a
/// lookup. Bounded: cleared when it holds more than [`MEMO_BYTES`].
type Memo = HashMap<(String, String), Option<Arc<str>>>;
const MEMO_BYTES: usize = 64 << 20;

fn memoised(lang: &str, code: &str) -> Option<Arc<str>> {
    static MEMO: OnceLock<Mutex<(Memo, usize)>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let key = (lang.to_string(), code.to_string());
    if let Some(hit) = memo.lock().expect("memo lock").0.get(&key) {
        return hit.clone();
    }
    let html: Option<Arc<str>> = highlighted(lang, code).map(Into::into);
    let mut guard = memo.lock().expect("memo lock");
    let (map, bytes) = &mut *guard;
    let size = key.0.len() + key.1.len() + html.as_deref().map_or(0, str::len);
    if *bytes + size > MEMO_BYTES {
        map.clear();
        *bytes = 0;
    }
    *bytes += size;
    map.insert(key, html.clone());
    html
}

fn highlighted(lang: &str, code: &str) -> Option<String> {
    if lang.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax = set.find_syntax_by_token(lang)?;
    // `source.rust` -> `rust`.
    let base = syntax.scope.build_string();
    let language = base.rsplit('.').next().unwrap_or_default();
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    // Per scope on the stack: whether it opened a span.
    let mut open: Vec<bool> = Vec::new();
    let mut classes: HashMap<Scope, Option<String>> = HashMap::new();
    let mut out = String::with_capacity(code.len() * 3);
    for line in LinesWithEndings::from(code) {
        // Errors come from malformed grammars, not from the code: fall back.
        let ops = state.parse_line(line, set).ok()?;
        let mut done = 0;
        for (at, op) in ops {
            out.push_str(&escape(&line[done..at]));
            done = at;
            stack
                .apply_with_hook(&op, |basic, _| match basic {
                    BasicScopeStackOp::Push(scope) => {
                        let class = classes
                            .entry(scope)
                            .or_insert_with(|| class_of(scope, language));
                        if let Some(class) = class {
                            out.push_str("<span class=\"");
                            out.push_str(class);
                            out.push_str("\">");
                        }
                        open.push(class.is_some());
                    }
                    BasicScopeStackOp::Pop => {
                        if open.pop() == Some(true) {
                            out.push_str("</span>");
                        }
                    }
                })
                .ok()?;
        }
        out.push_str(&escape(&line[done..]));
    }
    out.extend(open.into_iter().filter(|&o| o).map(|_| "</span>"));
    Some(out)
}

/// `keyword.control.rust` -> `hl-keyword hl-control`; None for the scopes
/// that only give structure (`meta.*`) or name the whole file (`source.*`,
/// `text.*`).
fn class_of(scope: Scope, language: &str) -> Option<String> {
    let name = scope.build_string();
    let mut atoms = name.split('.');
    let first = atoms
        .next()
        .filter(|a| !matches!(*a, "meta" | "source" | "text"))?;
    let rest = atoms.filter(|a| *a != language);
    let classes: Vec<String> = std::iter::once(first)
        .chain(rest)
        .map(|a| format!("{PREFIX}{a}"))
        .collect();
    Some(classes.join(" "))
}

/// Code is element text: only `&`, `<` and `>` need escaping (quotes stay
/// as written, as Rouge and kramdown leave them).
fn escape(s: &str) -> String {
    quick_xml::escape::partial_escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_language_gets_classes() {
        let html = code_block("rust", "fn main() { let s = \"<hi>\"; }\n", true);
        assert!(html
            .starts_with("<pre class=\"code\" data-lang=\"rust\"><code class=\"language-rust\">"));
        assert!(html.contains("hl-keyword"), "{html}");
        assert!(html.contains("hl-string"), "{html}");
        assert!(html.contains("&lt;hi&gt;"), "{html}");
        assert!(!html.contains("style="), "{html}");
        // Structure and language atoms carry no colour and get no class.
        assert!(
            !html.contains("hl-meta") && !html.contains("hl-source"),
            "{html}"
        );
        assert!(!html.contains("hl-rust"), "{html}");
        assert_eq!(
            html.matches("<span").count(),
            html.matches("</span>").count(),
            "{html}"
        );
        // The text is all there, in order, once the tags are removed.
        let text = regex::Regex::new("<[^>]*>").unwrap().replace_all(&html, "");
        assert_eq!(text, "fn main() { let s = \"&lt;hi&gt;\"; }\n\n", "{html}");
    }

    #[test]
    fn spans_stay_open_across_lines() {
        // A block comment spans three lines: one span, closed at its end.
        let html = code_block("rust", "/* one\ntwo\nthree */\nfn x() {}\n", true);
        let delimiter = "<span class=\"hl-punctuation hl-definition hl-comment\">";
        let comment = format!(
            "<span class=\"hl-comment hl-block\">{delimiter}/*</span> one\ntwo\n\
             three {delimiter}*/</span></span>\n<span class=\"hl-storage"
        );
        assert!(html.contains(&comment), "{html}");
    }

    #[test]
    fn unknown_or_off_is_escaped_only() {
        let html = code_block("nosuchlang", "a < b\n", true);
        assert!(html.contains("language-nosuchlang"));
        assert!(html.contains("a &lt; b"));
        assert!(!html.contains("hl-"));
        let html = code_block("rust", "fn x() {}\n", false);
        assert!(!html.contains("hl-"));
        assert_eq!(code_block("", "x\n", true), "<pre><code>x\n</code></pre>\n");
        let html = code_block("\"><script>", "x\n", true);
        assert!(!html.contains("<script>"), "{html}");
    }
}
