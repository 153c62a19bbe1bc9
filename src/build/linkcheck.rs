//! Link checking of the rendered site: every internal `href`, `src` and
//! `srcset` must lead to an output key, and every `#anchor` to an id on the
//! target page. External links are only collected here; `tusk check
//! --external` requests them ([`check_external`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use rayon::prelude::*;
use url::Url;

pub(crate) use crate::content::links::{extract, extract_around, PageLinks};

/// A page of the site with what it links to.
pub struct Page {
    pub key: String,
    pub url: String,
    /// Source file (or generator) to name in messages.
    pub shown: String,
    pub links: PageLinks,
}

/// A link that leads nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The page the link is on.
    pub key: String,
    pub shown: String,
    pub url: String,
    pub link: String,
    pub reason: String,
}

/// What checking the internal links found.
#[derive(Debug, Default)]
pub struct Report {
    pub broken: Vec<Broken>,
    pub internal: usize,
    /// External URL -> the pages (shown) that link to it.
    pub external: BTreeMap<String, Vec<String>>,
}

/// Check the internal links of `pages` against `keys` (every output key)
/// and the ids of the target pages (`page_at`: the rendered page with that
/// key). `base_url` makes absolute links to the site itself count as
/// internal; its path (a site below `/pr-12/`) is not part of the keys.
pub fn check<'a>(
    pages: impl Iterator<Item = &'a Page>,
    page_at: &(dyn Fn(&str) -> Option<&'a Page> + Sync),
    keys: &HashSet<String>,
    base_url: &str,
) -> Report {
    let site = Url::parse(base_url)
        .ok()
        .filter(|u| u.has_host())
        .unwrap_or_else(|| Url::parse("http://site.invalid/").expect("a valid URL"));
    let base_path = super::base_path::of(site.as_str());
    let pages: Vec<&Page> = pages.collect();
    // Pages are checked in parallel; their findings are merged in order.
    let per_page: Vec<Report> = pages
        .par_iter()
        .map(|page| check_page(page, keys, page_at, &site, &base_path))
        .collect();
    let mut report = Report::default();
    for r in per_page {
        report.broken.extend(r.broken);
        report.internal += r.internal;
        for (url, shown) in r.external {
            report.external.entry(url).or_default().extend(shown);
        }
    }
    report
}

fn check_page<'a>(
    page: &Page,
    keys: &HashSet<String>,
    page_at: &dyn Fn(&str) -> Option<&'a Page>,
    site: &Url,
    base_path: &str,
) -> Report {
    let mut report = Report::default();
    let Ok(here) = site.join(&page.url) else {
        return report;
    };
    for link in &page.links.links {
        let link = link.trim();
        if link.is_empty() {
            continue;
        }
        // Most links are plain paths on the site: resolve those without a
        // full URL parse, which dominates the check otherwise.
        let (path, fragment): (Cow<str>, Option<Cow<str>>) = match plain(link, &page.url) {
            Some((path, fragment)) => (path.into(), fragment.map(Into::into)),
            None => {
                let Ok(target) = here.join(link) else {
                    report.broken.push(broken(page, link, "not a valid URL"));
                    continue;
                };
                match target.scheme() {
                    "http" | "https" => {}
                    _ => continue, // mailto:, tel:, data:, javascript: ...
                }
                let outside = !below(target.path(), base_path);
                if target.origin() != site.origin() || outside {
                    report
                        .external
                        .entry(without_fragment(&target))
                        .or_default()
                        .push(page.shown.clone());
                    continue;
                }
                let path = percent_encoding::percent_decode_str(target.path())
                    .decode_utf8_lossy()
                    .into_owned();
                let fragment = target.fragment().map(|f| {
                    percent_encoding::percent_decode_str(f)
                        .decode_utf8_lossy()
                        .into_owned()
                        .into()
                });
                (path.into(), fragment)
            }
        };
        report.internal += 1;
        let mut key = within(&path, base_path).trim_start_matches('/').to_string();
        if key.is_empty() || key.ends_with('/') {
            key.push_str("index.html");
        }
        let key = if keys.contains(&key) {
            key
        } else if keys.contains(&format!("{key}/index.html")) {
            format!("{key}/index.html")
        } else {
            report
                .broken
                .push(broken(page, link, &format!("no {key} in the output")));
            continue;
        };
        let Some(fragment) = fragment else {
            continue;
        };
        if fragment.is_empty() || fragment == "top" {
            continue;
        }
        if let Some(target) = page_at(&key) {
            if !target.links.ids.iter().any(|id| id == fragment.as_ref()) {
                report
                    .broken
                    .push(broken(page, link, &format!("no id {fragment:?} in {key}")));
            }
        }
    }
    report
}

/// Whether `path` is on the site below `base_path` ("" for a root site).
fn below(path: &str, base_path: &str) -> bool {
    path == base_path || path.starts_with(&format!("{base_path}/"))
}

/// `path` without the site's `base_path`: links written with it (absolute
/// permalinks, Jekyll's `relative_url`) and without it (the rendered pages
/// before `base_path::prefix`) name the same key.
fn within<'a>(path: &'a str, base_path: &str) -> &'a str {
    match path.strip_prefix(base_path) {
        Some("") => "/",
        Some(rest) if !base_path.is_empty() && rest.starts_with('/') => rest,
        _ => path,
    }
}

/// A link that resolves to the same path under any URL parser: `#id` on
/// this page, or an absolute path of plain characters (no dot segments,
/// escapes, backslashes or query). Returns (path, fragment).
fn plain<'a>(link: &'a str, here: &'a str) -> Option<(&'a str, Option<&'a str>)> {
    let (path, fragment) = match link.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (link, None),
    };
    let ordinary = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~/!$&'()*+,;=:@".contains(&b))
    };
    if !fragment.is_none_or(ordinary) {
        return None;
    }
    if path.is_empty() {
        return ordinary(here).then_some((here, fragment));
    }
    let dot_segment = path
        .split('/')
        .any(|segment| segment == "." || segment == "..");
    (path.starts_with('/') && !path.starts_with("//") && ordinary(path) && !dot_segment)
        .then_some((path, fragment))
}

fn broken(page: &Page, link: &str, reason: &str) -> Broken {
    Broken {
        key: page.key.clone(),
        shown: page.shown.clone(),
        url: page.url.clone(),
        link: link.to_string(),
        reason: reason.to_string(),
    }
}

fn without_fragment(u: &Url) -> String {
    let mut u = u.clone();
    u.set_fragment(None);
    u.to_string()
}

/// The answer for one external URL.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "result", content = "detail")]
pub enum External {
    Ok(u16),
    /// The server answered with an error status.
    Status(u16),
    /// No answer: DNS, connection, TLS or timeout.
    Network(String),
}

impl std::fmt::Display for External {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            External::Ok(code) => write!(f, "HTTP {code}"),
            External::Status(code) => write!(f, "HTTP {code}"),
            External::Network(why) => write!(f, "unreachable: {why}"),
        }
    }
}

/// One external link with the pages that use it and its answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    pub url: String,
    pub pages: Vec<String>,
    #[serde(flatten)]
    pub result: External,
}

impl Checked {
    pub fn is_broken(&self) -> bool {
        matches!(self.result, External::Status(_))
    }
    pub fn is_unreachable(&self) -> bool {
        matches!(self.result, External::Network(_))
    }
}

/// [`check_external`] for the links a build found, sorted by URL.
pub fn external_blocking(
    links: &BTreeMap<String, Vec<String>>,
    concurrency: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Checked>> {
    let runtime = tokio::runtime::Runtime::new()?;
    let answers = runtime.block_on(check_external(
        links.keys().cloned().collect(),
        concurrency,
        timeout,
    ));
    let mut out: Vec<Checked> = answers
        .into_iter()
        .map(|(url, result)| {
            let mut pages = links.get(&url).cloned().unwrap_or_default();
            pages.sort();
            pages.dedup();
            Checked { url, pages, result }
        })
        .collect();
    out.sort_by(|a, b| a.url.cmp(&b.url));
    Ok(out)
}

/// Request every external URL (HEAD, then GET when HEAD is refused),
/// `concurrency` at a time, each bounded by `timeout`.
pub async fn check_external(
    urls: Vec<String>,
    concurrency: usize,
    timeout: Duration,
) -> Vec<(String, External)> {
    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("tusk-linkcheck/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            let why = crate::diag::http_error_text(&e);
            return urls
                .into_iter()
                .map(|u| (u, External::Network(why.clone())))
                .collect();
        }
    };
    futures::stream::iter(urls)
        .map(|url| {
            let client = client.clone();
            async move {
                let head = client.head(&url).send().await;
                let answer = match head {
                    Ok(r) if matches!(r.status().as_u16(), 405 | 501 | 403) => {
                        client.get(&url).send().await
                    }
                    other => other,
                };
                let result = match answer {
                    Ok(r) if r.status().is_success() || r.status().is_redirection() => {
                        External::Ok(r.status().as_u16())
                    }
                    Ok(r) => External::Status(r.status().as_u16()),
                    Err(e) => External::Network(crate::diag::http_error_text(&e)),
                };
                (url, result)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(key: &str, url: &str, html: &str) -> Page {
        Page {
            key: key.into(),
            url: url.into(),
            shown: key.into(),
            links: extract(html.as_bytes()),
        }
    }

    #[test]
    fn internal_links_and_anchors() {
        let pages = [
            page(
                "index.html",
                "/",
                r##"<a href="/about/">a</a><a href="about/#team">t</a><a href="#nope">n</a>
                <img src="img/x.png" srcset="img/x.png 1x, img/missing.png 2x">
                <a href="http://127.0.0.1:8080/gone/">g</a><a href="https://example.com/x#y">e</a>
                <a href="mailto:a@b.c">m</a><a href="/about">no slash</a><h1 id="top-h">"##,
            ),
            page("about/index.html", "/about/", r#"<h2 id="team">Team</h2>"#),
        ];
        let keys: HashSet<String> = ["index.html", "about/index.html", "img/x.png"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let at = |k: &str| pages.iter().find(|p| p.key == k);
        let r = check(pages.iter(), &at, &keys, "http://127.0.0.1:8080");
        let links: Vec<&str> = r.broken.iter().map(|b| b.link.as_str()).collect();
        assert_eq!(
            links,
            ["#nope", "img/missing.png", "http://127.0.0.1:8080/gone/"]
        );
        assert!(r.broken[0].reason.contains("no id \"nope\" in index.html"));
        assert_eq!(
            r.external.keys().collect::<Vec<_>>(),
            ["https://example.com/x"]
        );
    }

    /// The shortcut agrees with a URL parser wherever it answers.
    #[test]
    fn plain_paths_resolve_as_a_url_parser_would() {
        let site = Url::parse("https://site.example/").unwrap();
        let here = "/blog/post.html";
        let base = site.join(here).unwrap();
        for link in [
            "/a/b/",
            "/a/b.html#x-1",
            "#top",
            "#",
            "/",
            "/a/./b",
            "/a/../b",
            "//cdn/x",
            "/a b",
            "/%41",
            "/a?q=1",
            "/a\\b",
            "rel/x",
            "/a:b@c;d=e",
            "/ü",
            "#é",
        ] {
            let Some((path, fragment)) = plain(link, here) else {
                continue;
            };
            let url = base.join(link).unwrap();
            assert_eq!(path, url.path(), "{link}");
            assert_eq!(fragment, url.fragment(), "{link}");
        }
        assert!(plain("/a/../b", here).is_none());
        assert!(plain("/a b", here).is_none());
        assert_eq!(plain("#x", here), Some((here, Some("x"))));
    }
}
