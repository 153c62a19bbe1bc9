//! Broken links as build problems. Each is reported once, at the line of
//! the source that wrote it: a link in a post is one problem in the post's
//! Markdown, however many list pages show it in the post's excerpt, with
//! those pages counted. A link from a layout is one problem for all the
//! pages that have it. A relative link meant for a file beside the source
//! gets a hint on how to write it.

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;

use super::linkcheck::{self, Broken};
use super::listing::Job;
use super::Prepared;
use crate::content::{self, refs, Document, Kind};
use crate::diag::{Collector, Diagnostic};

/// Push one problem per broken link as written.
pub(super) fn report(report: &linkcheck::Report, prepared: &Prepared, diags: &Collector) {
    if report.broken.is_empty() {
        return;
    }
    let finder = Finder::new(prepared);
    let mut problems: Vec<Problem> = Vec::new();
    let mut index: HashMap<(String, Option<usize>, Option<usize>, String), usize> = HashMap::new();
    // Pages come from a map: sorted, the first page named is stable.
    let mut broken: Vec<&Broken> = report.broken.iter().collect();
    broken.sort_by(|a, b| (&a.url, &a.link).cmp(&(&b.url, &b.link)));
    for b in broken {
        let origin = finder.origin(b);
        let key = match origin.doc {
            Some(d) if origin.line.is_some() => {
                (finder.shown(d), origin.line, origin.column, String::new())
            }
            Some(d) => (finder.shown(d), None, None, b.link.clone()),
            None => (
                String::new(),
                None,
                None,
                format!("{}\0{}", b.link, b.reason),
            ),
        };
        match index.get(&key) {
            Some(&i) => problems[i].add(b, &origin),
            None => {
                index.insert(key, problems.len());
                problems.push(Problem::new(b, origin));
            }
        }
    }
    for p in problems {
        diags.push(p.diagnostic(&finder));
    }
}

/// Where a broken link was written.
struct Origin {
    /// The document whose source has it (None: the page's layout).
    doc: Option<usize>,
    line: Option<usize>,
    column: Option<usize>,
    /// Found on the document's own page (not in its excerpt elsewhere).
    own: bool,
}

/// One broken link as written, with the pages showing it.
struct Problem {
    origin: Origin,
    /// Of the first occurrence on the document's own page, else the first.
    first: Broken,
    own_url: Option<String>,
    pages: BTreeSet<String>,
}

impl Problem {
    fn new(b: &Broken, origin: Origin) -> Problem {
        let own_url = origin.own.then(|| b.url.clone());
        Problem {
            origin,
            first: b.clone(),
            own_url,
            pages: BTreeSet::from([b.url.clone()]),
        }
    }

    fn add(&mut self, b: &Broken, origin: &Origin) {
        self.pages.insert(b.url.clone());
        if origin.own && self.own_url.is_none() {
            self.own_url = Some(b.url.clone());
            self.first = b.clone();
            self.origin.line = origin.line;
            self.origin.column = origin.column;
        }
    }

    fn diagnostic(&self, finder: &Finder) -> Diagnostic {
        let b = &self.first;
        let file = match self.origin.doc {
            Some(d) => finder.shown(d),
            None => b.shown.clone(),
        };
        let hint = self.origin.doc.map_or(String::new(), |d| finder.hint(d, b));
        let mut message = format!("broken link {} on {}: {}{hint}", b.link, b.url, b.reason);
        let others = self.pages.len() - 1;
        if others > 0 {
            let what = match (self.origin.doc, &self.own_url) {
                (Some(_), Some(_)) => "list page",
                _ => "other page",
            };
            let s = if others == 1 { "" } else { "s" };
            message.push_str(&format!(" (also on {others} {what}{s})"));
        }
        let d = Diagnostic::new(file, message);
        match self.origin.line {
            Some(line) => d.at(line, self.origin.column),
            None => d,
        }
    }
}

/// Finds the source of a link, reading each source file once.
struct Finder<'a> {
    prepared: &'a Prepared,
    /// Page key -> the document rendered on it.
    doc_of_page: HashMap<&'a str, usize>,
    /// Document -> its body text and the line it starts on.
    texts: RefCell<HashMap<usize, Option<String>>>,
    /// Link (as in the HTML) -> the documents whose excerpt has it.
    excerpts: OnceCell<HashMap<String, Vec<usize>>>,
}

impl<'a> Finder<'a> {
    fn new(prepared: &'a Prepared) -> Finder<'a> {
        let doc_of_page = prepared
            .planned
            .iter()
            .filter_map(|p| match p.job {
                Job::Doc { doc, .. } => Some((p.key.as_str(), doc)),
                _ => None,
            })
            .collect();
        Finder {
            prepared,
            doc_of_page,
            texts: RefCell::default(),
            excerpts: OnceCell::new(),
        }
    }

    fn doc(&self, d: usize) -> &Document {
        &self.prepared.site.documents[d]
    }

    fn shown(&self, d: usize) -> String {
        content::shown_source(&self.prepared.loaded, self.doc(d))
    }

    fn origin(&self, b: &Broken) -> Origin {
        let page_doc = self.doc_of_page.get(b.key.as_str()).copied();
        if let Some(d) = page_doc {
            if let Some((line, column)) = self.find(d, &b.link) {
                return Origin {
                    doc: Some(d),
                    line: Some(line),
                    column: Some(column),
                    own: true,
                };
            }
        }
        let from_excerpt = self.excerpts().get(&b.link).and_then(|docs| docs.first());
        if let Some(&e) = from_excerpt {
            let found = self
                .written_forms(e, &b.link)
                .find_map(|l| self.find(e, &l));
            return Origin {
                doc: Some(e),
                line: found.map(|f| f.0),
                column: found.map(|f| f.1),
                own: page_doc == Some(e),
            };
        }
        Origin {
            doc: None,
            line: None,
            column: None,
            own: false,
        }
    }

    /// How a link in `e`'s excerpt may be written in its source: as it is,
    /// or relative to the document's URL or bundle folder (excerpts get
    /// their relative links made absolute).
    fn written_forms(&self, e: usize, link: &str) -> impl Iterator<Item = String> {
        let url = &self.doc(e).url;
        let folder = &url[..url.rfind('/').map_or(0, |i| i + 1)];
        let bundle = format!("/{}", content::bundle_dir_key(url));
        let forms = [
            Some(link.to_string()),
            link.strip_prefix(folder).map(str::to_string),
            link.strip_prefix(bundle.as_str()).map(str::to_string),
        ];
        forms.into_iter().flatten().filter(|l| !l.is_empty())
    }

    /// Line and column of `link` in document `d`'s source (after its front
    /// matter).
    fn find(&self, d: usize, link: &str) -> Option<(usize, usize)> {
        let doc = self.doc(d);
        let mut texts = self.texts.borrow_mut();
        let text = texts
            .entry(d)
            .or_insert_with(|| std::fs::read_to_string(&doc.path).ok());
        let text = text.as_deref()?;
        let body_start = text
            .split_inclusive('\n')
            .take(doc.body_line.saturating_sub(1))
            .map(str::len)
            .sum::<usize>();
        let (line, column) = refs::locate(&text[body_start..], link)?;
        Some((doc.body_line + line - 1, column))
    }

    fn excerpts(&self) -> &HashMap<String, Vec<usize>> {
        self.excerpts.get_or_init(|| {
            let found: Vec<(usize, Vec<String>)> = self
                .prepared
                .site
                .documents
                .par_iter()
                .enumerate()
                .filter(|(_, d)| d.excerpt.contains('='))
                .map(|(i, d)| (i, linkcheck::extract(d.excerpt.as_bytes()).links))
                .collect();
            let mut map: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, links) in found {
                for link in links {
                    let docs = map.entry(link).or_default();
                    if docs.last() != Some(&i) {
                        docs.push(i);
                    }
                }
            }
            map
        })
    }

    /// How to write a relative link that does not resolve, when the
    /// intent can be guessed from the files beside the source.
    fn hint(&self, d: usize, b: &Broken) -> String {
        let doc = self.doc(d);
        let link = b.link.trim();
        if link.is_empty() || link.starts_with(['/', '#', '?']) || link.contains("://") {
            return String::new();
        }
        let path = &link[..link.find(['?', '#']).unwrap_or(link.len())];
        let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
        let loaded = &self.prepared.loaded;
        let source_dir = loaded.source_dir();
        let shown = |rel: &str| content::display_path(&loaded.root, &source_dir.join(rel));
        let url_of = |rel: &str| self.prepared.refs.as_ref()?.url_of(rel).map(str::to_string);
        if let Some(bundle) = &doc.bundle {
            return format!(" (no {path} in the folder {})", shown(bundle));
        }
        let beside = refs::normalize(refs::folder_of(&doc.source), &path);
        if let Some(beside) = beside.filter(|t| source_dir.join(t).is_file()) {
            if doc.kind == Kind::Post {
                let folder = doc.source.rsplit_once('.').map_or(&*doc.source, |(s, _)| s);
                return format!(
                    " ({} is beside the post's source, but a post's relative links resolve under its URL: to keep files with a post, make the post a folder, {}/index.md, with {path} in it)",
                    shown(&beside),
                    shown(folder)
                );
            }
            if let Some(url) = url_of(&beside) {
                return format!(" ({} is published at {url}: link to that)", shown(&beside));
            }
        }
        if let Some(url) = url_of(&path) {
            return format!(" (did you mean {url}?)");
        }
        format!(
            " (relative links resolve against the page's URL, {})",
            b.url
        )
    }
}
