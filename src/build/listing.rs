//! Generated list pages: taxonomies (a page listing each taxonomy's terms,
//! a page per term), pagination of any list (Jekyll-style `/page/2/`), and
//! the theme's 404 page when the site has none.
//!
//! Planning happens before rendering so every generated key takes part in
//! the build's key-conflict check and in link checking, like documents.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::Loaded;
use crate::content::permalink::{output_path, slugify, SlugMode};
use crate::content::{Document, Kind, Site};
use crate::diag::{Collector, Diagnostic};

/// One taxonomy (`tags`, `categories`, or a custom one from config).
#[derive(Debug)]
pub struct Taxonomy {
    pub name: String,
    /// `/tags/`
    pub url: String,
    pub paginate_by: usize,
    pub feed: bool,
    pub terms: Vec<Term>,
}

#[derive(Debug)]
pub struct Term {
    pub name: String,
    pub slug: String,
    /// `/tags/edge-cache/`
    pub url: String,
    /// Positions in the site's post list (newest first).
    pub posts: Vec<usize>,
}

impl Term {
    /// Root-relative URL of the term's Atom feed.
    pub fn feed_url(&self) -> String {
        format!("{}feed.xml", self.url)
    }
}

/// Page `number` (1-based) of a list of `total` items.
#[derive(Debug, Clone)]
pub struct Pager {
    pub number: usize,
    pub pages: usize,
    pub per_page: usize,
    pub total: usize,
    /// URL of page 1; later pages live below it (`/blog/page/2/`).
    pub base_url: String,
    /// `page/:num/`
    pub path: String,
    /// jekyll-paginate's pages: `path` is from the site's root
    /// (`/page:num`), and the paths it names are the gem's (`/page2`).
    pub rooted: bool,
}

impl Pager {
    /// Every page of a list of `total` items; at least one, even when empty.
    pub fn all(total: usize, per_page: usize, base_url: &str, path: &str) -> Vec<Pager> {
        let per_page = per_page.max(1);
        let pages = total.div_ceil(per_page).max(1);
        (1..=pages)
            .map(|number| Pager {
                number,
                pages,
                per_page,
                total,
                base_url: base_url.to_string(),
                path: path.to_string(),
                rooted: false,
            })
            .collect()
    }

    /// jekyll-paginate's pages of `total` posts: none without posts (the
    /// template page then has no paginator); page 1 at `first_url`.
    pub fn jekyll(total: usize, per_page: usize, first_url: &str, path: &str) -> Vec<Pager> {
        if total == 0 {
            return Vec::new();
        }
        Pager::all(total, per_page, first_url, path)
            .into_iter()
            .map(|p| Pager { rooted: true, ..p })
            .collect()
    }

    /// The URL page `number` is served at (a folder for the gem's pages:
    /// `/page2` is `/page2/`).
    pub fn page_url(&self, number: usize) -> String {
        let url = self.url_of(number);
        if self.rooted && number > 1 && !url.ends_with('/') {
            format!("{url}/")
        } else {
            url
        }
    }

    pub fn url_of(&self, number: usize) -> String {
        if number <= 1 {
            self.base_url.clone()
        } else if self.rooted {
            // The gem's `Pager.paginate_path`: the first `:num` replaced.
            let path = self.path.replacen(":num", &number.to_string(), 1);
            format!("/{}", path.trim_start_matches('/'))
        } else {
            let dir = if self.base_url.ends_with('/') {
                self.base_url.clone()
            } else {
                // `/archive.html` paginates into `/page/2/` beside it.
                match self.base_url.rfind('/') {
                    Some(i) => self.base_url[..=i].to_string(),
                    None => "/".to_string(),
                }
            };
            let rel = self
                .path
                .trim_start_matches('/')
                .replace(":num", &number.to_string());
            format!("{dir}{rel}")
        }
    }

    /// The pages worth a link from this one, as Hugo's default pager shows
    /// them: the first, the last and [`WINDOW`] either side of this one,
    /// each with whether pages were skipped before it. Bounded, so a list
    /// of 600 pages does not put 600 links on each of them.
    pub fn window(&self) -> Vec<(usize, bool)> {
        let near =
            self.number.saturating_sub(WINDOW).max(1)..=(self.number + WINDOW).min(self.pages);
        let mut shown: Vec<usize> = std::iter::once(1)
            .chain(near)
            .chain(std::iter::once(self.pages))
            .collect();
        shown.dedup();
        let mut previous = 0;
        shown
            .into_iter()
            .map(|n| {
                let gap = n > previous + 1;
                previous = n;
                (n, gap)
            })
            .collect()
    }

    /// The items of this page.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = ((self.number - 1) * self.per_page).min(self.total);
        start..(start + self.per_page).min(self.total)
    }

    /// `paginator` for templates, with this page's `items`.
    pub fn value(&self, items: Vec<Value>) -> Value {
        let link = |n: usize| json!(self.url_of(n));
        json!({
            "items": items,
            "number": self.number,
            "pages": self.pages,
            "per_page": self.per_page,
            "total": self.total,
            "current_url": self.url_of(self.number),
            "first": link(1),
            "last": link(self.pages),
            "previous": if self.number > 1 { link(self.number - 1) } else { Value::Null },
            "next": if self.number < self.pages { link(self.number + 1) } else { Value::Null },
            "links": self.window().into_iter().map(|(n, gap_before)| {
                json!({"number": n, "url": self.url_of(n), "gap_before": gap_before})
            }).collect::<Vec<_>>(),
        })
    }
}

/// Pages linked on either side of the current one.
const WINDOW: usize = 2;

/// What a generated page renders.
#[derive(Debug)]
pub enum Job {
    /// A document; `pager` when it paginates a list (`paginate:` in its
    /// front matter), page 1 being the document's own URL.
    Doc { doc: usize, pager: Option<Pager> },
    /// `/tags/`: every term of a taxonomy.
    TaxonomyList { taxonomy: usize },
    /// `/tags/rust/`, `/tags/rust/page/2/`.
    Term {
        taxonomy: usize,
        term: usize,
        pager: Pager,
    },
    /// The theme's `404.html`, when the site has no 404 page.
    NotFound,
}

/// A planned output: its key, what renders it, and who to name in errors.
#[derive(Debug)]
pub struct Planned {
    pub key: String,
    pub url: String,
    pub job: Job,
    pub shown: String,
}

/// The taxonomies from config, with their terms gathered from the posts.
/// Terms whose names slugify alike are reported: they would share a page.
pub fn taxonomies(loaded: &Loaded, site: &Site, diags: &Collector) -> Vec<Taxonomy> {
    let build = &loaded.config.build;
    let posts: Vec<&Document> = site
        .documents
        .iter()
        .filter(|d| d.kind == Kind::Post)
        .collect();
    let mut out = Vec::new();
    for (name, cfg) in &build.taxonomies {
        let slug = slugify(name, SlugMode::Default, false);
        let url = format!("/{slug}/");
        let mut terms: BTreeMap<String, Term> = BTreeMap::new();
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        let mut reported = std::collections::HashSet::new();
        for (i, post) in posts.iter().enumerate() {
            for term in terms_of(post, name) {
                let term_slug = slugify(&term, SlugMode::Default, false);
                if term_slug.is_empty() {
                    continue;
                }
                if let Some(first) = names.get(&term_slug) {
                    if *first != term {
                        if !reported.insert(term.clone()) {
                            continue;
                        }
                        diags.push(Diagnostic::new(
                            crate::content::shown_source(loaded, post),
                            format!(
                                "{name} {term:?} and {first:?} would share the page {url}{term_slug}/; use one spelling"
                            ),
                        ));
                        continue;
                    }
                } else {
                    names.insert(term_slug.clone(), term.clone());
                }
                let entry = terms.entry(term_slug.clone()).or_insert_with(|| Term {
                    name: term.clone(),
                    slug: term_slug.clone(),
                    url: format!("{url}{term_slug}/"),
                    posts: Vec::new(),
                });
                if entry.posts.last() != Some(&i) {
                    entry.posts.push(i);
                }
            }
        }
        out.push(Taxonomy {
            name: name.clone(),
            url,
            paginate_by: if cfg.paginate_by == 0 {
                build.paginate_by
            } else {
                cfg.paginate_by
            },
            feed: cfg.feed,
            terms: terms.into_values().collect(),
        });
    }
    out
}

/// A document's terms in one taxonomy: `tags` and `categories` as the
/// loader parsed them, others from the front matter (a string or a list).
pub fn terms_of(doc: &Document, taxonomy: &str) -> Vec<String> {
    match taxonomy {
        "tags" => doc.tags.clone(),
        "categories" => doc.categories.clone(),
        other => match doc.front.get(other) {
            Some(Value::String(s)) => vec![s.trim().to_string()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect(),
            _ => Vec::new(),
        },
    }
}

/// Every page to render, in a stable order. `has_template` says which
/// theme templates exist: without `taxonomy_term.html` there are no term
/// pages, without `404.html` no generated 404.
pub fn plan(
    loaded: &Loaded,
    site: &Site,
    taxonomies: &[Taxonomy],
    list_len: &dyn Fn(&str) -> Option<usize>,
    has_template: &dyn Fn(&str) -> bool,
    diags: &Collector,
) -> Vec<Planned> {
    let build = &loaded.config.build;
    let ext = ".html";
    let mut out = Vec::new();
    let jekyll_pages = crate::build::liquid::paginate::plan(loaded, site).unwrap_or_else(|d| {
        diags.push(d);
        None
    });
    for (i, doc) in site.documents.iter().enumerate() {
        let Some(key) = &doc.output else { continue };
        let shown = crate::content::shown_source(loaded, doc);
        if let Some(p) = jekyll_pages.as_ref().filter(|p| p.doc == i) {
            for pager in &p.pagers {
                let url = pager.page_url(pager.number);
                let key = if pager.number == 1 {
                    key.clone()
                } else {
                    output_path(&url, ext)
                };
                out.push(Planned {
                    key,
                    url,
                    job: Job::Doc {
                        doc: i,
                        pager: Some(pager.clone()),
                    },
                    shown: shown.clone(),
                });
            }
            if !p.pagers.is_empty() {
                continue;
            }
        }
        // In a Jekyll site `paginate:` is just front matter.
        let front_paginate = doc
            .front
            .get("paginate")
            .filter(|_| loaded.config.jekyll.is_none());
        let Some(list) = front_paginate else {
            out.push(Planned {
                key: key.clone(),
                url: doc.url.clone(),
                job: Job::Doc {
                    doc: i,
                    pager: None,
                },
                shown,
            });
            continue;
        };
        let per_page = doc
            .front
            .get("paginate_by")
            .and_then(Value::as_u64)
            .map_or(build.paginate_by, |n| n as usize);
        let total = list.as_str().and_then(list_len);
        let Some(total) = total else {
            diags.push(Diagnostic::new(
                shown,
                format!(
                    "paginate: {list} is not a list of the site (posts, pages, collections.NAME, tags.TERM, categories.TERM)"
                ),
            ));
            continue;
        };
        for pager in Pager::all(total, per_page, &doc.url, &build.paginate_path) {
            let url = pager.url_of(pager.number);
            let key = if pager.number == 1 {
                key.clone()
            } else {
                output_path(&url, ext)
            };
            out.push(Planned {
                key,
                url,
                job: Job::Doc {
                    doc: i,
                    pager: Some(pager),
                },
                shown: shown.clone(),
            });
        }
    }
    // A taxonomy no post uses gets no pages (no empty `/categories/`).
    for (t, taxonomy) in taxonomies.iter().enumerate() {
        if taxonomy.terms.is_empty() {
            continue;
        }
        let generated = format!("{} (taxonomy)", taxonomy.name);
        if has_template("taxonomy_list.html") {
            out.push(Planned {
                key: output_path(&taxonomy.url, ext),
                url: taxonomy.url.clone(),
                job: Job::TaxonomyList { taxonomy: t },
                shown: generated.clone(),
            });
        }
        if !has_template("taxonomy_term.html") {
            continue;
        }
        for (n, term) in taxonomy.terms.iter().enumerate() {
            for pager in Pager::all(
                term.posts.len(),
                taxonomy.paginate_by,
                &term.url,
                &build.paginate_path,
            ) {
                let url = pager.url_of(pager.number);
                out.push(Planned {
                    key: output_path(&url, ext),
                    url,
                    job: Job::Term {
                        taxonomy: t,
                        term: n,
                        pager,
                    },
                    shown: format!("{} {:?} (taxonomy term)", taxonomy.name, term.name),
                });
            }
        }
    }
    // The theme's 404 page sends readers home, so it needs a home page.
    let has = |key: &str| {
        out.iter().any(|p| p.key == key) || site.static_files.iter().any(|f| f.key == key)
    };
    if !has("404.html") && has("index.html") && has_template("404.html") {
        out.push(Planned {
            key: "404.html".into(),
            url: "/404.html".into(),
            job: Job::NotFound,
            shown: "404.html (theme)".into(),
        });
    }
    out
}

/// `taxonomy` for templates: the name, URL and every term with its count.
pub fn taxonomy_value(t: &Taxonomy) -> Value {
    json!({
        "name": t.name,
        "url": t.url,
        "terms": t.terms.iter().map(|term| term_value(t, term)).collect::<Vec<_>>(),
    })
}

/// `term` for templates.
pub fn term_value(t: &Taxonomy, term: &Term) -> Value {
    json!({
        "name": term.name,
        "slug": term.slug,
        "url": term.url,
        "count": term.posts.len(),
        "taxonomy": t.name,
        "feed": if t.feed { json!(term.feed_url()) } else { Value::Null },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_urls_and_ranges() {
        let pages = Pager::all(25, 10, "/blog/", "page/:num/");
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[0].url_of(1), "/blog/");
        assert_eq!(pages[0].url_of(3), "/blog/page/3/");
        assert_eq!(pages[2].range(), 20..25);
        let many = Pager::all(600, 10, "/tags/x/", "page/:num/");
        assert_eq!(
            many[29].window(),
            [
                (1, false),
                (28, true),
                (29, false),
                (30, false),
                (31, false),
                (32, false),
                (60, true)
            ]
        );
        assert_eq!(
            many[0].window(),
            [(1, false), (2, false), (3, false), (60, true)]
        );
        assert_eq!(pages[1].window(), [(1, false), (2, false), (3, false)]);
        let v = pages[1].value(vec![]);
        assert_eq!(v["previous"], "/blog/");
        assert_eq!(v["next"], "/blog/page/3/");
        assert_eq!(pages[2].value(vec![])["next"], Value::Null);
        let flat = Pager::all(0, 10, "/archive.html", "page/:num/");
        assert_eq!(flat.len(), 1);
        assert_eq!(flat[0].url_of(2), "/page/2/");
        assert_eq!(flat[0].range(), 0..0);
    }

    #[test]
    fn jekyll_pager_paths_are_from_the_root() {
        let pages = Pager::jekyll(5, 2, "/blog/", "/blog/page:num");
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[0].url_of(1), "/blog/");
        assert_eq!(pages[0].url_of(2), "/blog/page2");
        assert_eq!(pages[0].page_url(2), "/blog/page2/");
        assert_eq!(
            Pager::jekyll(1, 2, "/", "page-:num/")[0].url_of(3),
            "/page-3/"
        );
        assert!(Pager::jekyll(0, 2, "/", "/page:num").is_empty());
    }
}
