//! Redirects from front matter, as jekyll-redirect-from does them:
//! `redirect_from: [/old/, /2019/old.html]` adds a redirect from each old
//! URL to the document; `redirect_to: URL` makes the document itself one.
//!
//! Each becomes a tree object with both a `redirect` (served as an S3
//! website redirect, or a 301 by the edge) and a small HTML body with a
//! meta refresh, for hosts that serve the body instead.

use serde_json::Value;

use crate::config::Loaded;
use crate::content::permalink::output_path;
use crate::content::{Document, Kind, Site};
use crate::diag::{Collector, Diagnostic};
use crate::jekyll::Plugin;
use crate::tree::key::safe_output_key;

/// A redirect from an old URL to a document.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub key: String,
    pub from: String,
    pub to: String,
    /// The document that asked for it, for messages.
    pub shown: String,
}

/// Every `redirect_from` of every rendered document. Two documents with
/// the same old URL: the later one wins, as with jekyll-redirect-from
/// (whose pages overwrite each other), with a warning naming both.
///
/// In a Jekyll site they exist only with jekyll-redirect-from in
/// `plugins:`, and point at the absolute URL as the gem's pages do.
pub fn from_front_matter(loaded: &Loaded, site: &Site, diags: &Collector) -> Vec<Redirect> {
    let mut out: Vec<Redirect> = Vec::new();
    let jekyll = loaded.config.jekyll.as_deref();
    if jekyll.is_some_and(|j| !j.plugins.contains(&Plugin::RedirectFrom)) {
        return out;
    }
    let mut by_key: std::collections::HashMap<String, usize> = Default::default();
    for doc in &site.documents {
        if doc.output.is_none() {
            continue;
        }
        let shown =
            crate::content::display_path(&loaded.root, &loaded.source_dir().join(&doc.source));
        let list = match doc.front.get("redirect_from") {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(_) => {
                diags.push(Diagnostic::new(
                    shown,
                    "redirect_from must be a URL path or a list of them",
                ));
                continue;
            }
        };
        for from in list {
            let mut from = from.trim().to_string();
            // The gem adds the leading slash itself.
            if jekyll.is_some() && !from.starts_with('/') {
                from.insert(0, '/');
            }
            let key = output_path(&from, ".html");
            if !from.starts_with('/')
                || !safe_output_key(&key)
                || crate::tree::key::reserved_key(&key)
            {
                diags.push(Diagnostic::new(
                    shown.clone(),
                    format!(
                        "redirect_from {from:?} must be a path starting with / inside the site"
                    ),
                ));
                continue;
            }
            let redirect = Redirect {
                key: key.clone(),
                from,
                to: match jekyll {
                    Some(_) => absolute_url(loaded, &doc.url),
                    None => doc.url.clone(),
                },
                shown: shown.clone(),
            };
            match by_key.get(&key) {
                Some(&earlier) => {
                    diags.warn(Diagnostic::new(
                        shown.clone(),
                        format!(
                            "redirect_from {} is also in {}: this later one wins (as in Jekyll), so it redirects to {}",
                            redirect.from, out[earlier].shown, redirect.to
                        ),
                    ));
                    out[earlier] = redirect;
                }
                None => {
                    by_key.insert(key, out.len());
                    out.push(redirect);
                }
            }
        }
    }
    out
}

/// `redirect_to` of a document, when it has one (the first of a list, as
/// jekyll-redirect-from reads it).
pub fn target(doc: &crate::content::Document) -> Option<&str> {
    let to = match doc.front.get("redirect_to")? {
        Value::Array(list) => list.iter().find(|v| !v.is_null())?,
        v => v,
    };
    to.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// jekyll-redirect-from's `absolute_url`: `url` + `baseurl` + the path
/// (only `baseurl` when `url` is unset), the path percent-encoded as
/// Jekyll's filter normalises it (`/naïve/` is `/na%C3%AFve/`); http(s)
/// URLs stay exactly as written, as the gem keeps them.
pub fn absolute_url(loaded: &Loaded, to: &str) -> String {
    if to.starts_with("http://") || to.starts_with("https://") {
        return to.to_string();
    }
    let path = crate::build::liquid::normalize_uri(&format!("/{}", to.trim_start_matches('/')));
    format!(
        "{}{path}",
        loaded.config.site.base_url.trim_end_matches('/'),
    )
}

/// One entry of jekyll-redirect-from's `redirects.json`.
#[derive(Debug, Clone)]
pub struct JekyllRedirect {
    pub from: String,
    /// Absolute, as the gem writes it.
    pub to: String,
    /// A `redirect_from` (a page of its own), not a `redirect_to`.
    pub own_page: bool,
}

/// Every redirect of a Jekyll site, in the order the gem
/// meets them (`redirects.json`): the documents of output collections
/// (posts oldest first, then the others by collection and path), then the
/// pages by file name; for each its `redirect_from` entries, then its
/// `redirect_to`. Empty without the plugin.
pub fn jekyll_order(loaded: &Loaded, site: &Site) -> Vec<JekyllRedirect> {
    let on = loaded
        .config
        .jekyll
        .as_deref()
        .is_some_and(|j| j.plugins.contains(&Plugin::RedirectFrom));
    if !on {
        return Vec::new();
    }
    let mut docs: Vec<&Document> = site
        .documents
        .iter()
        .filter(|d| d.output.is_some())
        .collect();
    let name = |d: &Document| d.source.rsplit('/').next().unwrap_or_default().to_string();
    docs.sort_by_cached_key(|d| match d.kind {
        Kind::Post => (0, String::new(), d.date, d.source.clone()),
        Kind::Document => (
            1,
            d.collection.clone().unwrap_or_default(),
            None,
            d.source.clone(),
        ),
        Kind::Page => (2, name(d), None, d.source.clone()),
    });
    let mut out = Vec::new();
    for d in docs {
        let list = match d.front.get("redirect_from") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        for from in list {
            let from = from.trim();
            out.push(JekyllRedirect {
                from: format!("/{}", from.trim_start_matches('/')),
                to: absolute_url(loaded, &d.url),
                own_page: true,
            });
        }
        if let Some(to) = target(d) {
            out.push(JekyllRedirect {
                from: d.url.clone(),
                to: absolute_url(loaded, to),
                own_page: false,
            });
        }
    }
    out
}

/// The HTML body of a redirect: meta refresh plus a plain link.
pub fn page(to: &str, language: &str) -> String {
    let to = quick_xml::escape::escape(to);
    format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>Redirecting…</title>\n<link rel=\"canonical\" href=\"{to}\">\n<meta http-equiv=\"refresh\" content=\"0; url={to}\">\n<meta name=\"robots\" content=\"noindex\">\n</head>\n<body>\n<p>This page has moved to <a href=\"{to}\">{to}</a>.</p>\n</body>\n</html>\n",
        quick_xml::escape::escape(language)
    )
}
