//! jekyll-paginate, as the gem (1.1) does it: with `paginate: N` in
//! `_config.yml` and the plugin listed, the posts (newest first, without
//! `hidden: true`) are split N to a page. The first page is the template
//! page itself: the `index.html` (that exact name, not `index.md`) in the
//! deepest folder between the site and `paginate_path`'s folder. Pages 2..
//! render that same file at `paginate_path` (default `/page:num`, so
//! `/page2/`), each with its `paginator`.

use serde_json::Value;

use crate::build::listing::Pager;
use crate::config::Loaded;
use crate::content::{Document, Kind, Site};
use crate::diag::Diagnostic;
use crate::jekyll::Plugin;

/// What the gem paginates: the template page and the pages it makes.
#[derive(Debug, Clone)]
pub struct Pagination {
    /// The template page's index in `site.documents`.
    pub doc: usize,
    /// Page 1 (the template's own URL) to the last.
    pub pagers: Vec<Pager>,
}

/// `paginate_path` when `_config.yml` leaves it out (Jekyll's default).
const DEFAULT_PATH: &str = "/page:num";

/// Whether a post counts for the paginator (`hidden: true` does not).
pub fn listed(doc: &Document) -> bool {
    doc.kind == Kind::Post && doc.front.get("hidden") != Some(&Value::Bool(true))
}

/// The pagination of a Jekyll site; None when the plugin or `paginate`
/// is off. Ok(None) with a warning when no template page exists, as the
/// gem warns and skips.
pub fn plan(loaded: &Loaded, site: &Site) -> Result<Option<Pagination>, Diagnostic> {
    let Some(jekyll) = &loaded.config.jekyll else {
        return Ok(None);
    };
    if !jekyll.plugins.contains(&Plugin::Paginate) {
        return Ok(None);
    }
    let per_page = match jekyll.config.get("paginate") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| *n > 0)
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                Diagnostic::new(
                    "_config.yml",
                    format!(
                        "paginate must be a whole number of posts per page, at least 1 (got {v})"
                    ),
                )
            })? as usize,
    };
    let path = jekyll
        .config
        .get("paginate_path")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    let Some(doc) = template(site, &path) else {
        tracing::warn!("Pagination: pagination is enabled, but there is no index.html page to use as the pagination template (index.md is not one, as in Jekyll); skipping pagination");
        return Ok(None);
    };
    let total = site.documents.iter().filter(|d| listed(d)).count();
    let pagers = Pager::jekyll(total, per_page, &site.documents[doc].url, &path);
    Ok(Some(Pagination { doc, pagers }))
}

/// `Pagination#template_page`: among the pages named `index.html` whose
/// folder is `paginate_path`'s folder or above it, the one with the
/// longest path.
fn template(site: &Site, paginate_path: &str) -> Option<usize> {
    let parts: Vec<&str> = paginate_path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let folder = &parts[..parts.len().saturating_sub(1)];
    site.documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == Kind::Page && d.output.is_some())
        .filter(|(_, d)| {
            let mut dir: Vec<&str> = d.source.split('/').collect();
            dir.pop() == Some("index.html") && folder.starts_with(&dir)
        })
        .max_by_key(|(i, d)| (d.source.len(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

/// `paginator` for page `pager`: the gem's `Pager#to_liquid`, its posts
/// taken from `posts` (the listed posts, newest first).
pub fn paginator(pager: &Pager, posts: &[liquid::model::Value]) -> liquid::model::Value {
    use liquid::model::Value as L;
    let number = |n: usize| L::scalar(n as i64);
    let mut o = liquid::model::Object::new();
    let previous = (pager.number > 1).then(|| pager.number - 1);
    let next = (pager.number < pager.pages).then(|| pager.number + 1);
    let path = |n: Option<usize>| n.map_or(L::Nil, |n| L::scalar(pager.url_of(n)));
    o.insert("page".into(), number(pager.number));
    o.insert("per_page".into(), number(pager.per_page));
    o.insert("posts".into(), L::Array(posts[pager.range()].to_vec()));
    o.insert("total_posts".into(), number(pager.total));
    o.insert("total_pages".into(), number(pager.pages));
    o.insert("previous_page".into(), previous.map_or(L::Nil, number));
    o.insert("previous_page_path".into(), path(previous));
    o.insert("next_page".into(), next.map_or(L::Nil, number));
    o.insert("next_page_path".into(), path(next));
    L::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(source: &str) -> Document {
        Document {
            kind: Kind::Page,
            collection: None,
            source: source.to_string(),
            path: source.into(),
            front: Default::default(),
            body: String::new(),
            body_line: 1,
            excerpt: String::new(),
            word_count: 0,
            markdown: false,
            title: String::new(),
            slug: String::new(),
            date: None,
            categories: Vec::new(),
            tags: Vec::new(),
            layout: None,
            layout_explicit: false,
            url: format!("/{source}"),
            output: Some(source.to_string()),
            draft: false,
            bundle: None,
        }
    }

    #[test]
    fn the_deepest_index_html_above_paginate_path_is_the_template() {
        let site = Site {
            documents: vec![
                page("index.html"),
                page("blog/index.html"),
                page("blog/index.md"),
                page("other/index.html"),
            ],
            ..Default::default()
        };
        assert_eq!(template(&site, "/blog/page:num/"), Some(1));
        assert_eq!(template(&site, "/page:num"), Some(0));
        assert_eq!(template(&site, "/other/deep/p:num"), Some(3));
        let only_md = Site {
            documents: vec![page("index.md")],
            ..Default::default()
        };
        assert_eq!(template(&only_md, "/page:num"), None);
    }
}
