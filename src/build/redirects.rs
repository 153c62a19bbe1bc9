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
use crate::content::Site;
use crate::diag::{Collector, Diagnostic};
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
pub fn from_front_matter(loaded: &Loaded, site: &Site, diags: &Collector) -> Vec<Redirect> {
    let mut out: Vec<Redirect> = Vec::new();
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
            let from = from.trim().to_string();
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
                to: doc.url.clone(),
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

/// `redirect_to` of a document, when it has one.
pub fn target(doc: &crate::content::Document) -> Option<&str> {
    doc.front
        .get("redirect_to")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The HTML body of a redirect: meta refresh plus a plain link.
pub fn page(to: &str, language: &str) -> String {
    let to = quick_xml::escape::escape(to);
    format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>Redirecting…</title>\n<link rel=\"canonical\" href=\"{to}\">\n<meta http-equiv=\"refresh\" content=\"0; url={to}\">\n<meta name=\"robots\" content=\"noindex\">\n</head>\n<body>\n<p>This page has moved to <a href=\"{to}\">{to}</a>.</p>\n</body>\n</html>\n",
        quick_xml::escape::escape(language)
    )
}
