//! kramdown, the Markdown of Jekyll sites, on top of pulldown-cmark: what
//! `jekyll build` makes of a page (kramdown 2.4 with its GFM parser and
//! Jekyll's options: `auto_ids`, `hard_wrap: false`, rouge's markup).
//!
//! [`prepare`] turns the kramdown-only syntax into markers; pulldown-cmark
//! parses the result; [`Doc::level`] attaches the markers' attributes to
//! their elements and writes the elements kramdown writes differently
//! (code, tables, task lists, footnotes, headings) as HTML events.

mod ial;
mod prepare;
mod rouge;

use std::collections::HashMap;

use pulldown_cmark::{
    html, Alignment, CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd,
};

use self::ial::{Attrs, Ial};
use self::prepare::{Block, BLOCK_MARKER, SPAN_MARKER};
use super::highlight;
use super::markdown::{Extras, Rendered};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_DEFINITION_LIST
}

/// Stands for a footnote's back-links until every reference is known.
const BACKLINKS: &str = "\u{E002}";

/// Stands for the `{:toc}` list until every heading is known.
const TOC_PLACEHOLDER: &str = "\u{E001}toc\u{E001}";

/// Render a document as kramdown does.
pub(super) fn render(markdown: &str, extras: Extras) -> Rendered {
    let mut doc = Doc::new(extras);
    let mut html = doc.level(markdown, false);
    doc.push_footnotes(&mut html);
    if let Some(ordered) = doc.toc {
        html = html.replacen(TOC_PLACEHOLDER, &doc.toc_html(ordered), 1);
    }
    let links = extras.links.then(|| super::links::extract(html.as_bytes()));
    Rendered {
        html,
        headings: doc
            .headings
            .into_iter()
            .map(|h| (h.level, h.id, h.text))
            .collect(),
        links,
    }
}

/// A heading, for `page.toc` and kramdown's `{:toc}`.
struct Heading {
    level: u8,
    id: String,
    text: String,
    in_toc: bool,
    /// An id to give when it is written (inside `markdown="1"` elements).
    needs_id: bool,
}

/// What one document's rendering shares across its levels (the Markdown
/// inside `markdown="1"` elements is a level of its own).
struct Doc {
    extras: Extras,
    alds: HashMap<String, Ial>,
    abbrs: Vec<(String, String)>,
    /// kramdown-parser-gfm's counter: a second `a` is `a-1`.
    gfm_ids: HashMap<String, usize>,
    /// kramdown's own scheme, used inside HTML elements.
    basic_ids: HashMap<String, usize>,
    headings: Vec<Heading>,
    /// `Some(ordered)` when the document has a `{:toc}` list.
    toc: Option<bool>,
    /// Footnotes in the order of their first reference.
    /// With how many times each is referenced.
    footnotes: Vec<(String, usize)>,
    definitions: HashMap<String, String>,
}

/// Where a level's markers are, for its writing.
#[derive(Clone, Copy)]
struct Marks<'a> {
    pairs: &'a [usize],
    skip: &'a [bool],
    toc_list: Option<usize>,
    prep: &'a prepare::Prepared,
}

/// The state of a table being written.
#[derive(Default)]
struct Table {
    alignments: Vec<Alignment>,
    in_head: bool,
    cell: usize,
    body_open: bool,
}

impl Doc {
    fn new(extras: Extras) -> Doc {
        Doc {
            extras,
            alds: HashMap::new(),
            abbrs: Vec::new(),
            gfm_ids: HashMap::new(),
            basic_ids: HashMap::new(),
            headings: Vec::new(),
            toc: None,
            footnotes: Vec::new(),
            definitions: HashMap::new(),
        }
    }

    /// Render Markdown that is the whole document (`in_html` false) or the
    /// inside of a `markdown="1"` element.
    fn level(&mut self, src: &str, in_html: bool) -> String {
        let prep = prepare::prepare(src);
        self.alds
            .extend(prep.alds.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.abbrs.extend(prep.abbrs.iter().cloned());
        let mut events = coalesce(Parser::new_ext(&prep.text, options()));
        let pairs = pairs(&events);
        let mut attrs: HashMap<usize, Attrs> = HashMap::new();
        let mut skip = vec![false; events.len()];
        let mut toc_list = None;
        self.attach_block_ials(&events, &pairs, &prep, &mut attrs, &mut skip, &mut toc_list);
        attach_span_ials(&mut events, &pairs, &prep, &self.alds, &mut attrs);
        mark_task_lists(&events, &mut attrs);
        let headings = self.heading_ids(&mut events, &pairs, &skip, &mut attrs, in_html);
        let marks = Marks {
            pairs: &pairs,
            skip: &skip,
            toc_list,
            prep: &prep,
        };
        self.write(events, attrs, headings, &marks)
    }

    /// Give each block IAL's attributes to its block: the one it follows
    /// directly, else the next one.
    fn attach_block_ials(
        &mut self,
        events: &[Event],
        pairs: &[usize],
        prep: &prepare::Prepared,
        attrs: &mut HashMap<usize, Attrs>,
        skip: &mut [bool],
        toc_list: &mut Option<usize>,
    ) {
        for i in 0..events.len() {
            let Some(Block::Ial { ial, after }) = block_marker(&events[i]).map(|n| &prep.blocks[n])
            else {
                continue;
            };
            let (start, end) = if i > 0
                && matches!(events[i - 1], Event::Start(Tag::HtmlBlock))
                && matches!(events.get(i + 1), Some(Event::End(TagEnd::HtmlBlock)))
            {
                (i - 1, i + 1)
            } else {
                (i, i)
            };
            skip[start..=end].iter_mut().for_each(|s| *s = true);
            let previous = (start > 0)
                .then(|| start - 1)
                .filter(|&p| *after && matches!(events[p], Event::End(_)))
                .map(|p| pairs[p]);
            let is_ial_at = |k: usize| {
                matches!(events.get(k), Some(Event::Start(Tag::HtmlBlock)))
                    && events
                        .get(k + 1)
                        .and_then(block_marker)
                        .is_some_and(|n| matches!(prep.blocks[n], Block::Ial { .. }))
            };
            let next = || {
                let mut k = end + 1;
                while is_ial_at(k) {
                    k += 3;
                }
                matches!(events.get(k), Some(Event::Start(_))).then_some(k)
            };
            let Some(target) = previous.or_else(next) else {
                continue;
            };
            if ial.refs.iter().any(|r| r == "toc")
                && matches!(events[target], Event::Start(Tag::List(_)))
            {
                *toc_list = Some(target);
                self.toc = Some(matches!(events[target], Event::Start(Tag::List(Some(_)))));
                continue;
            }
            attrs
                .entry(target)
                .or_default()
                .merge(&ial.resolve(&self.alds));
        }
    }

    /// Heading ids: `{#id}` after the text or an IAL's `#id`, else
    /// kramdown-parser-gfm's scheme (kramdown's own inside HTML elements).
    fn heading_ids(
        &mut self,
        events: &mut [Event],
        pairs: &[usize],
        skip: &[bool],
        attrs: &mut HashMap<usize, Attrs>,
        in_html: bool,
    ) -> HashMap<usize, Heading> {
        let mut pending = HashMap::new();
        for i in 0..events.len() {
            let Event::Start(Tag::Heading { level, .. }) = events[i] else {
                continue;
            };
            if skip[i] {
                continue;
            }
            let end = pairs[i];
            let mut explicit = None;
            if let Event::Text(t) = &events[end - 1] {
                if let Some((cut, id)) = header_id_suffix(t) {
                    explicit = Some(id.to_string());
                    let kept = t[..cut].to_string();
                    events[end - 1] = Event::Text(kept.into());
                }
            }
            let text: String = events[i + 1..end]
                .iter()
                .filter_map(|e| match e {
                    Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                    _ => None,
                })
                .collect();
            let a = attrs.entry(i).or_default();
            let id = match (a.get("id"), explicit) {
                (Some(id), _) => id.to_string(),
                (None, Some(id)) => {
                    a.0.insert(0, ("id".to_string(), id.clone()));
                    id
                }
                // kramdown's converter numbers these as it writes them.
                (None, None) if in_html => String::new(),
                (None, None) => {
                    let id = gfm_id(&text, &mut self.gfm_ids);
                    if !id.is_empty() {
                        a.set("id", &id);
                    }
                    id
                }
            };
            let in_toc = !a.has_class("no_toc");
            pending.insert(
                i,
                Heading {
                    level: level as u8,
                    needs_id: id.is_empty() && in_html,
                    id,
                    text,
                    in_toc,
                },
            );
        }
        pending
    }

    /// The events as pulldown-cmark's writer should see them, then HTML.
    fn write(
        &mut self,
        events: Vec<Event<'_>>,
        mut attrs: HashMap<usize, Attrs>,
        mut headings: HashMap<usize, Heading>,
        marks: &Marks,
    ) -> String {
        let Marks {
            pairs,
            skip,
            toc_list,
            prep,
        } = *marks;
        let mut out: Vec<Event> = Vec::with_capacity(events.len());
        let mut closers: Vec<Option<String>> = Vec::new();
        let mut table = Table::default();
        let mut footnote_from: Option<(String, usize)> = None;
        let mut events: Vec<Option<Event>> = events.into_iter().map(Some).collect();
        let mut i = 0;
        while i < events.len() {
            if skip[i] {
                i += 1;
                continue;
            }
            let event = events[i].take().expect("each event is written once");
            let mut a = attrs.remove(&i).unwrap_or_default();
            match event {
                Event::Start(_) if toc_list == Some(i) => {
                    out.push(Event::Html(TOC_PLACEHOLDER.into()));
                    i = pairs[i];
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    let lang = match kind {
                        CodeBlockKind::Fenced(info) => info
                            .split(|c: char| c.is_whitespace() || c == '?')
                            .next()
                            .unwrap_or("")
                            .to_string(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    let mut code = String::new();
                    for e in events.iter_mut().take(pairs[i]).skip(i + 1) {
                        if let Some(Event::Text(t)) = e.take() {
                            code.push_str(&t);
                        }
                    }
                    out.push(Event::Html(self.code_block(&lang, &code, a).into()));
                    i = pairs[i];
                }
                Event::Start(Tag::Image {
                    dest_url, title, ..
                }) if !a.0.is_empty() => {
                    let mut alt = String::new();
                    for e in events.iter_mut().take(pairs[i]).skip(i + 1) {
                        if let Some(Event::Text(t) | Event::Code(t)) = e.take() {
                            alt.push_str(&t);
                        }
                    }
                    let mut tag = Attrs::default();
                    tag.set("src", &dest_url);
                    tag.set("alt", &alt);
                    if !title.is_empty() {
                        tag.set("title", &title);
                    }
                    tag.merge(&a);
                    let mut html = String::from("<img");
                    tag.write(&mut html);
                    html.push_str(" />");
                    out.push(Event::InlineHtml(html.into()));
                    i = pairs[i];
                }
                Event::Start(Tag::FootnoteDefinition(name)) => {
                    footnote_from = Some((name.to_string(), out.len()));
                    closers.push(None);
                }
                Event::End(TagEnd::FootnoteDefinition) => {
                    closers.pop();
                    if let Some((name, from)) = footnote_from.take() {
                        let mut body: Vec<Event> = out.drain(from..).collect();
                        // Filled in by `push_footnotes`, when every reference is known.
                        let backlink = BACKLINKS;
                        match body.last() {
                            Some(Event::End(TagEnd::Paragraph)) => {
                                body.insert(body.len() - 1, Event::InlineHtml(backlink.into()))
                            }
                            _ => body.push(Event::Html(format!("<p>{backlink}</p>\n").into())),
                        }
                        let mut html = String::new();
                        html::push_html(&mut html, body.into_iter());
                        self.definitions.insert(name, html);
                    }
                }
                Event::Start(tag) => {
                    // In document order, `markdown="1"` elements included.
                    if let Some(mut h) = headings.remove(&i) {
                        if h.needs_id {
                            h.id = basic_id(&h.text, &mut self.basic_ids);
                            a.set("id", &h.id);
                        }
                        self.headings.push(h);
                    }
                    match self.open(&tag, &mut a, &mut table) {
                        Some((open, close)) => {
                            out.push(Event::Html(open.into()));
                            closers.push(Some(close));
                        }
                        None => {
                            out.push(Event::Start(tag));
                            closers.push(None);
                        }
                    }
                }
                Event::End(end) => {
                    if let TagEnd::TableHead = end {
                        table.in_head = false;
                    }
                    match closers.pop().flatten() {
                        Some(_) if end == TagEnd::Table && !table.body_open => {
                            out.push(Event::Html("</table>\n".into()))
                        }
                        Some(close) => out.push(Event::Html(close.into())),
                        None => out.push(Event::End(end)),
                    }
                }
                Event::Code(code) => {
                    let mut classes = Attrs::default();
                    let class = a.take("class").unwrap_or_default();
                    if !class.split(' ').any(|c| c.starts_with("language-")) {
                        classes.set("class", "language-plaintext");
                    }
                    for c in class.split(' ').filter(|c| !c.is_empty()) {
                        classes.set("class", c);
                    }
                    classes.set("class", "highlighter-rouge");
                    classes.merge(&a);
                    let mut html = String::from("<code");
                    classes.write(&mut html);
                    html.push('>');
                    escape_into(&mut html, &code, false);
                    html.push_str("</code>");
                    out.push(Event::InlineHtml(html.into()));
                }
                Event::Html(h) | Event::InlineHtml(h) if block_marker_text(&h).is_some() => {
                    let n = block_marker_text(&h).expect("checked");
                    let html = self.block(&prep.blocks[n]);
                    out.push(Event::Html(html.into()));
                }
                Event::InlineHtml(h) => out.push(Event::InlineHtml(strip_markdown_attr(h))),
                Event::TaskListMarker(checked) => out.push(Event::InlineHtml(
                    if checked {
                        "<input type=\"checkbox\" class=\"task-list-item-checkbox\" disabled=\"disabled\" checked=\"checked\" />"
                    } else {
                        "<input type=\"checkbox\" class=\"task-list-item-checkbox\" disabled=\"disabled\" />"
                    }
                    .into(),
                )),
                Event::FootnoteReference(name) => {
                    let (n, repeat) = match self.footnotes.iter().position(|f| *f.0 == *name) {
                        Some(k) => {
                            self.footnotes[k].1 += 1;
                            (k + 1, self.footnotes[k].1 - 1)
                        }
                        None => {
                            self.footnotes.push((name.to_string(), 1));
                            (self.footnotes.len(), 0)
                        }
                    };
                    let name = escape(&name, true);
                    let id = match repeat {
                        0 => format!("fnref:{name}"),
                        r => format!("fnref:{name}:{r}"),
                    };
                    out.push(Event::InlineHtml(
                        format!("<sup id=\"{id}\" role=\"doc-noteref\"><a href=\"#fn:{name}\" class=\"footnote\" rel=\"footnote\">{n}</a></sup>")
                            .into(),
                    ));
                }
                Event::Text(t) if !self.abbrs.is_empty() => match with_abbreviations(&t, &self.abbrs) {
                    Some(html) => out.push(Event::InlineHtml(html.into())),
                    None => out.push(Event::Text(t)),
                },
                other => out.push(other),
            }
            i += 1;
        }
        let mut html = String::with_capacity(prep.text.len() * 5 / 4);
        html::push_html(&mut html, out.into_iter());
        html
    }

    /// The open and close HTML of an element kramdown writes differently
    /// from pulldown-cmark, or that has attributes; `None` leaves it to
    /// pulldown-cmark.
    fn open(&mut self, tag: &Tag, a: &mut Attrs, table: &mut Table) -> Option<(String, String)> {
        let mut attrs = String::new();
        a.write(&mut attrs);
        let plain = a.0.is_empty();
        Some(match tag {
            Tag::Heading { level, .. } => {
                let anchor = match a.get("id").filter(|_| self.extras.anchors) {
                    Some(id) => format!(
                        " <a class=\"anchor\" href=\"#{}\" aria-label=\"Link to this section\">#</a>",
                        escape(id, true)
                    ),
                    None => String::new(),
                };
                (format!("<{level}{attrs}>"), format!("{anchor}</{level}>\n"))
            }
            Tag::Table(alignments) => {
                *table = Table {
                    alignments: alignments.clone(),
                    ..Table::default()
                };
                (format!("<table{attrs}>\n"), "</tbody>\n</table>\n".into())
            }
            Tag::TableHead => {
                table.in_head = true;
                table.cell = 0;
                ("<thead>\n<tr>\n".into(), "</tr>\n</thead>\n".into())
            }
            Tag::TableRow => {
                table.cell = 0;
                let open = if table.body_open {
                    "<tr>\n"
                } else {
                    "<tbody>\n<tr>\n"
                };
                table.body_open = true;
                (open.into(), "</tr>\n".into())
            }
            Tag::TableCell => {
                let cell = if table.in_head { "th" } else { "td" };
                let align = match table.alignments.get(table.cell) {
                    Some(Alignment::Left) => " style=\"text-align: left\"",
                    Some(Alignment::Center) => " style=\"text-align: center\"",
                    Some(Alignment::Right) => " style=\"text-align: right\"",
                    _ => "",
                };
                table.cell += 1;
                (format!("<{cell}{align}{attrs}>"), format!("</{cell}>\n"))
            }
            _ if plain => return None,
            Tag::Paragraph => (format!("<p{attrs}>"), "</p>\n".into()),
            Tag::BlockQuote(_) => (format!("<blockquote{attrs}>\n"), "</blockquote>\n".into()),
            Tag::List(None) => (format!("<ul{attrs}>\n"), "</ul>\n".into()),
            Tag::List(Some(1)) => (format!("<ol{attrs}>\n"), "</ol>\n".into()),
            Tag::List(Some(n)) => (format!("<ol start=\"{n}\"{attrs}>\n"), "</ol>\n".into()),
            Tag::Item => (format!("<li{attrs}>"), "</li>\n".into()),
            Tag::Emphasis => (format!("<em{attrs}>"), "</em>".into()),
            Tag::Strong => (format!("<strong{attrs}>"), "</strong>".into()),
            Tag::Strikethrough => (format!("<del{attrs}>"), "</del>".into()),
            Tag::DefinitionList => (format!("<dl{attrs}>\n"), "</dl>\n".into()),
            Tag::DefinitionListTitle => (format!("<dt{attrs}>"), "</dt>\n".into()),
            Tag::DefinitionListDefinition => (format!("<dd{attrs}>"), "</dd>\n".into()),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                let mut tag = Attrs::default();
                let href = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.to_string(),
                };
                tag.set("href", &href);
                if !title.is_empty() {
                    tag.set("title", title);
                }
                tag.merge(a);
                let mut html = String::from("<a");
                tag.write(&mut html);
                html.push('>');
                (html, "</a>".into())
            }
            _ => return None,
        })
    }

    /// A fenced or indented code block as Jekyll writes it with rouge.
    fn code_block(&self, lang: &str, code: &str, mut a: Attrs) -> String {
        let lang = if lang.is_empty() { "plaintext" } else { lang };
        if !rouge::knows(lang) {
            // What kramdown writes when the highlighter declines.
            let mut html = String::from("<pre");
            a.write(&mut html);
            html.push_str("><code class=\"language-");
            escape_into(&mut html, lang, true);
            html.push_str("\">");
            escape_into(&mut html, code, false);
            html.push_str("</code></pre>\n");
            return html;
        }
        let mut outer = Attrs::default();
        outer.set("class", &format!("language-{lang}"));
        if let Some(c) = a.take("class") {
            outer.set("class", &c);
        }
        outer.set("class", "highlighter-rouge");
        outer.merge(&a);
        let mut html = String::with_capacity(code.len() * 2 + 128);
        html.push_str("<div");
        outer.write(&mut html);
        html.push_str("><div class=\"highlight\"><pre class=\"highlight\"><code>");
        match self
            .extras
            .highlight
            .then(|| highlight::spans(lang, code))
            .flatten()
        {
            Some(spans) => html.push_str(&spans),
            None => escape_into(&mut html, code, false),
        }
        html.push_str("</code></pre></div></div>\n");
        html
    }

    /// The HTML a block marker stands for.
    fn block(&mut self, block: &Block) -> String {
        match block {
            Block::Ial { .. } => String::new(),
            Block::Raw(html) => format!("{html}\n"),
            Block::Element {
                open,
                markdown,
                close,
                span,
            } => {
                let inner = self.level(markdown, true);
                let inner = if *span {
                    let t = inner.trim();
                    t.strip_prefix("<p>")
                        .and_then(|t| t.strip_suffix("</p>"))
                        .unwrap_or(t)
                        .to_string()
                } else {
                    format!("\n{inner}")
                };
                format!("{open}{inner}{close}\n")
            }
        }
    }

    /// kramdown's footnotes: a list after the document, in reference order.
    fn push_footnotes(&mut self, html: &mut String) {
        let listed: Vec<(&String, usize, &String)> = self
            .footnotes
            .iter()
            .filter_map(|(name, refs)| self.definitions.get(name).map(|d| (name, *refs, d)))
            .collect();
        if listed.is_empty() {
            return;
        }
        html.push_str("<div class=\"footnotes\" role=\"doc-endnotes\">\n<ol>\n");
        for (name, refs, body) in listed {
            let name = escape(name, true);
            let mut backlinks = String::new();
            for r in 0..refs {
                let (id, mark) = match r {
                    0 => (name.clone(), String::new()),
                    r => (format!("{name}:{r}"), format!("<sup>{}</sup>", r + 1)),
                };
                backlinks.push_str(&format!(
                    " <a href=\"#fnref:{id}\" class=\"reversefootnote\" role=\"doc-backlink\">&#8617;{mark}</a>"
                ));
            }
            let body = body.replacen(BACKLINKS, &backlinks, 1);
            html.push_str(&format!(
                "<li id=\"fn:{name}\" role=\"doc-endnote\">\n{body}</li>\n"
            ));
        }
        html.push_str("</ol>\n</div>\n");
    }

    /// The `{:toc}` list: nested by heading level, as kramdown nests it.
    fn toc_html(&self, ordered: bool) -> String {
        struct Node<'a> {
            heading: &'a Heading,
            children: Vec<usize>,
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut roots = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        for heading in self
            .headings
            .iter()
            .filter(|h| h.in_toc && !h.id.is_empty())
        {
            while stack
                .last()
                .is_some_and(|&s| nodes[s].heading.level >= heading.level)
            {
                stack.pop();
            }
            let n = nodes.len();
            nodes.push(Node {
                heading,
                children: Vec::new(),
            });
            match stack.last() {
                Some(&parent) => nodes[parent].children.push(n),
                None => roots.push(n),
            }
            stack.push(n);
        }
        let list = if ordered { "ol" } else { "ul" };
        fn write(nodes: &[Node], items: &[usize], list: &str, out: &mut String) {
            for &n in items {
                let h = nodes[n].heading;
                let id = escape(&h.id, true);
                out.push_str(&format!(
                    "<li><a href=\"#{id}\" id=\"markdown-toc-{id}\">{}</a>",
                    escape(&h.text, false)
                ));
                if !nodes[n].children.is_empty() {
                    out.push_str(&format!("<{list}>\n"));
                    write(nodes, &nodes[n].children, list, out);
                    out.push_str(&format!("</{list}>\n"));
                }
                out.push_str("</li>\n");
            }
        }
        let mut out = format!("<{list} id=\"markdown-toc\">\n");
        write(&nodes, &roots, list, &mut out);
        out.push_str(&format!("</{list}>\n"));
        out
    }
}

/// The index of a block marker event.
fn block_marker(event: &Event) -> Option<usize> {
    match event {
        Event::Html(h) | Event::InlineHtml(h) => block_marker_text(h),
        _ => None,
    }
}

fn block_marker_text(html: &str) -> Option<usize> {
    html.trim()
        .strip_prefix(BLOCK_MARKER)?
        .strip_suffix("-->")?
        .parse()
        .ok()
}

/// Span IALs go to the element they directly follow (a link, image,
/// emphasis or code span); others are put back as the text they were.
fn attach_span_ials(
    events: &mut [Event],
    pairs: &[usize],
    prep: &prepare::Prepared,
    alds: &HashMap<String, Ial>,
    attrs: &mut HashMap<usize, Attrs>,
) {
    let opener: String = ['{', SPAN_MARKER].iter().collect();
    for i in 0..events.len() {
        let Event::Text(t) = &events[i] else {
            continue;
        };
        if !t.contains(&opener) {
            continue;
        }
        let mut text = t.to_string();
        if let Some((n, len)) = span_marker_at(&text, 0) {
            let target = match i.checked_sub(1).map(|p| &events[p]) {
                Some(Event::End(
                    TagEnd::Link
                    | TagEnd::Image
                    | TagEnd::Emphasis
                    | TagEnd::Strong
                    | TagEnd::Strikethrough,
                )) => Some(pairs[i - 1]),
                Some(Event::Code(_)) => Some(i - 1),
                _ => None,
            };
            if let (Some(target), Some((ial, _))) = (target, prep.spans.get(n)) {
                attrs.entry(target).or_default().merge(&ial.resolve(alds));
                text.replace_range(..len, "");
            }
        }
        let mut at = 0;
        while let Some(found) = text[at..].find(&opener) {
            let start = at + found;
            match span_marker_at(&text, start) {
                Some((n, len)) => {
                    let original = prep
                        .spans
                        .get(n)
                        .map_or("", |(_, s)| s.as_str())
                        .to_string();
                    text.replace_range(start..start + len, &original);
                    at = start + original.len();
                }
                None => at = start + 1,
            }
        }
        events[i] = Event::Text(text.into());
    }
}

/// `{\u{E000}N}` at `at`: (N, its length in bytes).
fn span_marker_at(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = text[at..].strip_prefix('{')?.strip_prefix(SPAN_MARKER)?;
    let digits = rest.find('}')?;
    let n = rest[..digits].parse().ok()?;
    Some((n, 1 + SPAN_MARKER.len_utf8() + digits + 1))
}

/// kramdown-parser-gfm's task lists: `task-list-item` on each item with a
/// box, `task-list` on its list.
fn mark_task_lists(events: &[Event], attrs: &mut HashMap<usize, Attrs>) {
    let mut open: Vec<usize> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Start(_) => open.push(i),
            Event::End(_) => {
                open.pop();
            }
            Event::TaskListMarker(_) => {
                let item = open
                    .iter()
                    .rev()
                    .find(|&&s| matches!(events[s], Event::Start(Tag::Item)));
                if let Some(&item) = item {
                    attrs
                        .entry(item)
                        .or_default()
                        .set("class", "task-list-item");
                    let list = open[..open.iter().position(|&s| s == item).unwrap_or(0)]
                        .iter()
                        .rev()
                        .find(|&&s| matches!(events[s], Event::Start(Tag::List(_))));
                    if let Some(&list) = list {
                        attrs.entry(list).or_default().set("class", "task-list");
                    }
                }
            }
            _ => {}
        }
    }
}

/// `Heading {#id}`: where the text ends without it, and the id.
fn header_id_suffix(text: &str) -> Option<(usize, &str)> {
    let t = text.trim_end();
    let open = t.strip_suffix('}')?.rfind("{#")?;
    let id = &t[open + 2..t.len() - 1];
    let before = &t[..open];
    let valid = id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ':');
    (valid && before.ends_with([' ', '\t'])).then(|| (before.trim_end().len(), id))
}

/// kramdown-parser-gfm's heading ids: lowercase, only letters, digits,
/// `_`, `-` and spaces kept, spaces to hyphens; the n-th repeat gets `-n`.
pub(crate) fn gfm_id(text: &str, used: &mut HashMap<String, usize>) -> String {
    let mut id = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            id.push(c);
        } else if c == ' ' || c == '\t' {
            id.push('-');
        }
    }
    let n = used.entry(id.clone()).or_insert(0);
    *n += 1;
    if *n > 1 {
        id.push_str(&format!("-{}", *n - 1));
    }
    id
}

/// kramdown's own scheme: leading non-letters dropped, only ASCII letters,
/// digits, spaces and hyphens kept, spaces to hyphens, `section` if
/// nothing is left.
pub(crate) fn basic_id(text: &str, used: &mut HashMap<String, usize>) -> String {
    let start = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let mut id: String = text[start..]
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
        .map(|c| {
            if c == ' ' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if id.is_empty() {
        id.push_str("section");
    }
    match used.get_mut(&id) {
        Some(n) => {
            *n += 1;
            format!("{id}-{n}")
        }
        None => {
            used.insert(id.clone(), 0);
            id
        }
    }
}

/// `*[HTML]: ...` definitions applied to a text: `None` when none occurs.
fn with_abbreviations(text: &str, abbrs: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    let mut found = false;
    while i < text.len() {
        let hit = abbrs.iter().find(|(a, _)| {
            text[i..].starts_with(a.as_str())
                && !text[..i].chars().next_back().is_some_and(is_word)
                && !text[i + a.len()..].chars().next().is_some_and(is_word)
        });
        match hit {
            Some((abbr, title)) => {
                escape_into(&mut out, &text[copied..i], false);
                out.push_str("<abbr");
                if !title.is_empty() {
                    out.push_str(" title=\"");
                    escape_into(&mut out, title, true);
                    out.push('"');
                }
                out.push('>');
                escape_into(&mut out, abbr, false);
                out.push_str("</abbr>");
                i += abbr.len();
                copied = i;
                found = true;
            }
            None => i += text[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if !found {
        return None;
    }
    escape_into(&mut out, &text[copied..], false);
    Some(out)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Inline HTML keeps its element; the `markdown` attribute is kramdown's.
fn strip_markdown_attr(html: CowStr<'_>) -> CowStr<'_> {
    for attr in [
        " markdown=\"1\"",
        " markdown=\"span\"",
        " markdown=\"block\"",
        " markdown='1'",
    ] {
        if html.contains(attr) {
            return html.replacen(attr, "", 1).into();
        }
    }
    html
}

/// For each Start or End event, the index of its partner.
fn pairs(events: &[Event]) -> Vec<usize> {
    let mut out = vec![usize::MAX; events.len()];
    let mut open = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::Start(_) => open.push(i),
            Event::End(_) => {
                if let Some(s) = open.pop() {
                    out[s] = i;
                    out[i] = s;
                }
            }
            _ => {}
        }
    }
    out
}

/// Adjacent text events as one (smart punctuation splits them).
fn coalesce<'a>(events: impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut out: Vec<Event> = Vec::new();
    for e in events {
        if let (Event::Text(t), Some(Event::Text(prev))) = (&e, out.last_mut()) {
            let mut joined = prev.to_string();
            joined.push_str(t);
            *prev = joined.into();
            continue;
        }
        out.push(e);
    }
    out
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, attribute);
    out
}

/// `&`, `<`, `>` (and `"` in attributes) as character references, as
/// kramdown escapes them.
pub(crate) fn escape_into(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}
