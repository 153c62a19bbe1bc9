//! `tusk drill`: the game-day check. It proves, before an incident, that
//! the fallback would serve the site if the origin died now:
//!
//! 1. bucket: every object of the desired tree (build + snapshot) is in
//!    the bucket with its hash, Content-Type, Cache-Control and encoding;
//! 2. redirects: every redirect lands on an object of the tree;
//!    links: every page's stylesheets, scripts, images and fonts (CSS
//!    `url()`s too) resolve to an object the fallback serves, the way it
//!    looks keys up (the query key first, then the path alone, `dir/` ->
//!    `dir/index.html`), so an unstyled copy is a gap; links to pages not
//!    in the bucket are counted (a snapshot leaves out login pages on
//!    purpose);
//! 3. snapshot: the origin's static copy exists and is recent enough;
//! 4. the serving side, one of:
//!    - edge: fallback forced, every (or a sample of) object requested
//!      through the edge from the bucket, the previous mode restored;
//!    - CloudFront: the routed behaviours use the origin group with the
//!      bucket second, and the bucket serves each sampled key.
//!
//! Problems are gaps in the report, not errors: ops get the whole table.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Loaded;
use crate::publish::Expected;
use crate::store::Store;

#[derive(Debug, Clone, Default)]
pub struct DrillOptions {
    /// Objects to request (overrides drill.sample; 0 or none: all).
    pub sample: Option<usize>,
    /// Seed of the random sample, to repeat a drill exactly.
    pub seed: Option<u64>,
    /// Drill this edge (URL) even when CloudFront is configured.
    pub edge: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Gap,
    Skipped,
}

/// One gap: what is wrong with which object or URL.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub item: String,
    pub problem: String,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// Objects, redirects or requests looked at.
    pub checked: usize,
    pub detail: String,
    pub gaps: Vec<Gap>,
    /// Left out on purpose (a redirect to an excluded login page): not gaps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<Gap>,
}

impl Check {
    fn new(name: &'static str, checked: usize, detail: String, gaps: Vec<Gap>) -> Check {
        let status = if gaps.is_empty() {
            Status::Ok
        } else {
            Status::Gap
        };
        Check {
            name,
            status,
            checked,
            detail,
            gaps,
            excluded: Vec::new(),
        }
    }

    fn skipped(name: &'static str, detail: &str) -> Check {
        Check {
            name,
            status: Status::Skipped,
            checked: 0,
            detail: detail.to_string(),
            gaps: Vec::new(),
            excluded: Vec::new(),
        }
    }

    /// A check that could not run at all: one gap naming the cause.
    fn failed(name: &'static str, item: &str, err: &anyhow::Error) -> Check {
        Check::new(
            name,
            0,
            "could not be checked".into(),
            vec![Gap {
                item: item.to_string(),
                problem: format!("{err:#}"),
            }],
        )
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub gaps: usize,
    pub objects: usize,
    /// Objects requested through the edge or from the bucket origin.
    pub sampled: usize,
    /// Seed of the sample (`--seed` repeats it).
    pub seed: u64,
    pub checks: Vec<Check>,
    pub duration_ms: u128,
}

pub async fn drill(loaded: &Loaded, opts: &DrillOptions) -> Result<Report> {
    let started = Instant::now();
    let cfg = &loaded.config;
    let expected =
        crate::publish::expected(loaded).context("cannot work out what the bucket should hold")?;
    let concurrency = cfg.drill.concurrency.max(1);
    let seed = match opts.seed {
        Some(s) => s,
        None => {
            let mut bytes = [0u8; 8];
            getrandom::getrandom(&mut bytes)?;
            u64::from_le_bytes(bytes)
        }
    };
    let wanted = opts.sample.unwrap_or(cfg.drill.sample);
    let sample = pick(&expected, wanted, seed);

    let mut checks = Vec::new();
    let store = crate::store::open(loaded, &cfg.publish.target).await;
    match &store {
        Ok(store) => checks.push(check_bucket(store.as_ref(), &expected, concurrency).await),
        Err(e) => checks.push(Check::failed("bucket", &cfg.publish.target, e)),
    }
    checks.push(match crate::snapshot::Scope::new(&cfg.snapshot) {
        Ok(scope) => check_redirects(&expected, &scope),
        Err(e) => Check::failed("redirects", "snapshot.exclude", &e),
    });
    checks.push(check_links(&expected, &cfg.site.base_url, cfg.origin()));
    checks.push(check_snapshot(loaded));
    if crate::cdn::manages_routes(&cfg.cdn) && opts.edge.is_none() {
        checks.push(match &store {
            Ok(store) => check_cloudfront(loaded, store.as_ref(), &sample, concurrency).await,
            Err(_) => Check::skipped("cloudfront", "no bucket to read the sample from"),
        });
    } else {
        checks.push(check_edge(loaded, opts.edge.as_deref(), &sample, concurrency).await?);
    }
    let gaps = checks.iter().map(|c| c.gaps.len()).sum();
    Ok(Report {
        ok: gaps == 0,
        gaps,
        objects: expected.len(),
        sampled: sample.len(),
        seed,
        checks,
        duration_ms: started.elapsed().as_millis(),
    })
}

/// `n` objects in a random order fixed by `seed` (all of them for 0).
fn pick(expected: &[Expected], n: usize, seed: u64) -> Vec<&Expected> {
    let mut all: Vec<&Expected> = expected.iter().collect();
    if n == 0 || n >= all.len() {
        return all;
    }
    let rank = |e: &Expected| {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(e.object.key.as_bytes());
        h.finalize()
    };
    all.sort_by_cached_key(|e| rank(e));
    all.truncate(n);
    all
}

/// Every object is stored with the bytes and headers `publish` gives it.
async fn check_bucket(store: &dyn Store, expected: &[Expected], concurrency: usize) -> Check {
    let listing = match crate::publish::stored(store, expected, concurrency).await {
        Ok(l) => l,
        Err(e) => return Check::failed("bucket", &store.describe(), &e),
    };
    let stored: HashMap<&str, &str> = listing
        .iter()
        .map(|l| (l.key.as_str(), l.md5.as_str()))
        .collect();
    let mut gaps = internal_gaps(&listing);
    let mut present = Vec::new();
    for e in expected {
        match stored.get(e.object.key.as_str()) {
            None => gaps.push(Gap {
                item: e.object.key.clone(),
                problem: "missing from the bucket".into(),
            }),
            Some(md5) if *md5 != e.stored_md5 => gaps.push(Gap {
                item: e.object.key.clone(),
                problem: format!(
                    "stored bytes have MD5 {md5}, the tree says {} (run `tusk publish`)",
                    e.stored_md5
                ),
            }),
            Some(_) => present.push(e),
        }
    }
    let headers: Vec<Gap> = stream::iter(present)
        .map(|e| async move {
            let key = &e.object.key;
            match crate::store::with_retries(|| store.head(key)).await {
                Ok(Some(meta)) => header_gaps(key, &e.meta, &meta),
                Ok(None) => vec![Gap {
                    item: key.clone(),
                    problem: "listed but not found when read".into(),
                }],
                Err(err) => vec![Gap {
                    item: key.clone(),
                    problem: format!("cannot read its headers: {err:#}"),
                }],
            }
        })
        .buffer_unordered(concurrency)
        .flat_map(stream::iter)
        .collect()
        .await;
    gaps.extend(headers);
    gaps.sort_by(|a, b| a.item.cmp(&b.item));
    let detail = if gaps.is_empty() {
        format!(
            "{} objects in {} with their hash, Content-Type and Cache-Control",
            expected.len(),
            store.describe()
        )
    } else {
        format!(
            "{} of {} objects missing or different in {}",
            gaps.iter()
                .map(|g| g.item.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            expected.len(),
            store.describe()
        )
    };
    Check::new("bucket", expected.len(), detail, gaps)
}

/// tusk's own keys in the served target: S3 website hosting and the CDN
/// serve them to anyone (records name every published body).
fn internal_gaps(listing: &[crate::store::Listed]) -> Vec<Gap> {
    listing
        .iter()
        .filter(|l| l.key.starts_with(crate::store::layout::RESERVED_PREFIX))
        .map(|l| Gap {
            item: l.key.clone(),
            problem: "tusk-internal key readable through the public target (`tusk publish` moves records to publish.state)".into(),
        })
        .collect()
}

fn header_gaps(key: &str, want: &crate::store::Meta, got: &crate::store::Meta) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let mut compare = |what: &str, want: &str, got: &str| {
        if want != got {
            gaps.push(Gap {
                item: key.to_string(),
                problem: format!("{what} is {got:?}, should be {want:?}"),
            });
        }
    };
    compare("Content-Type", &want.content_type, &got.content_type);
    compare("Cache-Control", &want.cache_control, &got.cache_control);
    compare(
        "Content-Encoding",
        want.content_encoding.as_deref().unwrap_or(""),
        got.content_encoding.as_deref().unwrap_or(""),
    );
    compare(
        "the redirect",
        want.redirect.as_deref().unwrap_or(""),
        got.redirect.as_deref().unwrap_or(""),
    );
    gaps
}

/// Every redirect of the tree ends, within a few hops, on an object of
/// the tree (absolute URLs elsewhere are not followed), or on a page the
/// snapshot leaves out on purpose (`/wp-admin/` -> the login page): those
/// are listed as excluded, not gaps.
fn check_redirects(expected: &[Expected], scope: &crate::snapshot::Scope) -> Check {
    let by_key: BTreeMap<&str, &Expected> = expected
        .iter()
        .map(|e| (e.object.key.as_str(), e))
        .collect();
    let redirects: Vec<&Expected> = expected
        .iter()
        .filter(|e| e.object.redirect.is_some())
        .collect();
    let mut gaps = Vec::new();
    let mut excluded = Vec::new();
    let mut external = 0;
    for r in &redirects {
        let mut target = r.object.redirect.clone().unwrap_or_default();
        let mut hops = 0;
        loop {
            if target.contains("://") || target.starts_with("//") {
                external += 1;
                break;
            }
            let path = target.split(['?', '#']).next().unwrap_or("");
            if let Some(why) = scope.left_out(path) {
                excluded.push(Gap {
                    item: r.object.key.clone(),
                    problem: format!("redirects to {target}: {why}"),
                });
                break;
            }
            let target_only = target.split('#').next().unwrap_or("");
            let found = fallback_keys(target_only)
                .into_iter()
                .find_map(|k| by_key.get(k.as_str()));
            match found {
                None => {
                    gaps.push(Gap {
                        item: r.object.key.clone(),
                        problem: format!("redirects to {target}, which is not in the tree"),
                    });
                    break;
                }
                Some(next) => match &next.object.redirect {
                    Some(again) if hops < 8 => {
                        hops += 1;
                        target = again.clone();
                    }
                    Some(_) => {
                        gaps.push(Gap {
                            item: r.object.key.clone(),
                            problem: format!("redirect chain longer than 8 hops (at {target})"),
                        });
                        break;
                    }
                    None => break,
                },
            }
        }
    }
    let detail = format!(
        "{} redirects: {} land on objects of the tree, {external} go to other sites, {} to pages the snapshot excludes",
        redirects.len(),
        redirects.len() - gaps.len() - external - excluded.len(),
        excluded.len()
    );
    let mut check = Check::new("redirects", redirects.len(), detail, gaps);
    check.excluded = excluded;
    check
}

/// Every subresource a saved page or stylesheet loads resolves in the
/// fallback: one gap per missing target, naming how many pages use it.
/// Links to other pages that are missing are counted, not gaps.
fn check_links(expected: &[Expected], base_url: &str, origin: Option<&str>) -> Check {
    let keys: std::collections::HashSet<&str> =
        expected.iter().map(|e| e.object.key.as_str()).collect();
    let hosts: Vec<url::Url> = [Some(base_url), origin]
        .into_iter()
        .flatten()
        .filter_map(|u| url::Url::parse(u).ok())
        .collect();
    let documents: Vec<&Expected> = expected
        .iter()
        .filter(|e| e.file.is_some() && is_document(&e.object.content_type))
        .collect();
    let mut missing: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut unlinked = std::collections::HashSet::new();
    let mut checked = 0;
    for doc in &documents {
        let Some(body) = doc.file.as_ref().and_then(|f| std::fs::read(f).ok()) else {
            continue;
        };
        let page = url::Url::parse("http://fallback.invalid/")
            .and_then(|root| root.join(&path_for(&doc.object.key)))
            .expect("a key is a valid URL path");
        for (link, how) in uses(&doc.object.content_type, &body) {
            let Some(path) = internal_path(&page, &link, &hosts) else {
                continue;
            };
            checked += 1;
            if resolves(&keys, &path) {
                continue;
            }
            if how == crate::snapshot::links::Use::Subresource {
                let entry = missing.entry(path).or_insert((0, doc.object.key.clone()));
                entry.0 += 1;
            } else {
                unlinked.insert(path);
            }
        }
    }
    let gaps: Vec<Gap> = missing
        .into_iter()
        .map(|(path, (pages, first))| Gap {
            item: path,
            problem: format!(
                "not in the bucket: used by {pages} page{} (first {first})",
                if pages == 1 { "" } else { "s" }
            ),
        })
        .collect();
    let detail = format!(
        "{checked} links and subresources of {} pages and stylesheets: {} subresources missing; {} linked pages not in the bucket",
        documents.len(),
        gaps.len(),
        unlinked.len()
    );
    Check::new("links", checked, detail, gaps)
}

/// HTML pages and stylesheets: what references other objects.
fn is_document(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    matches!(mime, "text/html" | "application/xhtml+xml" | "text/css")
}

/// The URLs an HTML page or stylesheet uses (decoded), and how.
fn uses(content_type: &str, body: &[u8]) -> Vec<(String, crate::snapshot::links::Use)> {
    use crate::snapshot::links;
    let mut found = Vec::new();
    let mut collect = |raw: &str, how: links::Use| {
        if how != links::Use::Base {
            found.push((raw.trim().to_string(), how));
        }
        None
    };
    if content_type.starts_with("text/css") {
        links::rewrite_css(&String::from_utf8_lossy(body), &mut collect);
    } else {
        let _ = links::rewrite_html(body, &mut collect);
    }
    found
}

/// The path (and query, if any) on this site a link leads to, or `None`
/// for other sites, fragments and non-HTTP schemes.
fn internal_path(page: &url::Url, link: &str, hosts: &[url::Url]) -> Option<String> {
    if crate::html::fetches_nothing(link) {
        return None;
    }
    let resolved = page.join(link).ok()?;
    let same_site = resolved.host_str() == page.host_str()
        || hosts.iter().any(|h| {
            h.host_str() == resolved.host_str()
                && h.port_or_known_default() == resolved.port_or_known_default()
        });
    same_site.then(|| match resolved.query() {
        Some(query) if !query.is_empty() => format!("{}?{query}", resolved.path()),
        _ => resolved.path().to_string(),
    })
}

/// Whether the fallback answers `target` the way the edge does (and S3
/// with the viewer-request function): its query key (a page of hash mode,
/// a shortlink's redirect), else the path alone (an asset saved at its
/// plain path), or a folder's index.
fn resolves(keys: &std::collections::HashSet<&str>, target: &str) -> bool {
    fallback_keys(target)
        .iter()
        .any(|k| keys.contains(k.as_str()))
}

/// The keys the fallback tries for a path and query, in order.
fn fallback_keys(target: &str) -> Vec<String> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(key) = crate::edge::fallback::key_for(path) else {
        return Vec::new();
    };
    let mut keys = crate::edge::fallback::query_keys(&key, query);
    let folder = format!("{key}/index.html");
    keys.extend([key, folder]);
    keys
}

/// The static copy of the dynamic origin exists and is recent enough.
fn check_snapshot(loaded: &Loaded) -> Check {
    let cfg = &loaded.config;
    if cfg.snapshot.origin.is_empty() {
        return Check::skipped("snapshot", "no snapshot.origin: no snapshot expected");
    }
    let dir = loaded.root.join(&cfg.snapshot.output);
    let tree = match crate::tree::Tree::read(&dir) {
        Ok(t) => t,
        Err(_) => {
            return Check::new(
                "snapshot",
                0,
                "no snapshot".into(),
                vec![Gap {
                    item: dir.display().to_string(),
                    problem: format!(
                        "no snapshot of {}: run `tusk snapshot` and `tusk publish`",
                        cfg.snapshot.origin
                    ),
                }],
            )
        }
    };
    let age = chrono::DateTime::parse_from_rfc3339(&tree.created)
        .map(|t| chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .unwrap_or(chrono::Duration::MAX);
    let hours = age.num_minutes() as f64 / 60.0;
    let detail = format!(
        "taken {} ({hours:.1} h ago), {} objects",
        tree.created,
        tree.objects.len()
    );
    let max = cfg.drill.max_snapshot_age_hours;
    let mut gaps = Vec::new();
    if max > 0 && age > chrono::Duration::hours(max as i64) {
        gaps.push(Gap {
            item: dir.display().to_string(),
            problem: format!(
                "the snapshot is {hours:.1} h old, more than drill.max_snapshot_age_hours = {max}: run `tusk snapshot` and `tusk publish`"
            ),
        });
    }
    Check::new("snapshot", tree.objects.len(), detail, gaps)
}

/// The URL path that serves `key` (`a/index.html` -> `/a/`), percent-encoded.
fn path_for(key: &str) -> String {
    const PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'%');
    let path = if key == "index.html" {
        ""
    } else {
        key.strip_suffix("/index.html")
            .map(|dir| &key[..dir.len() + 1])
            .unwrap_or(key)
    };
    format!("/{}", percent_encoding::utf8_percent_encode(path, PATH))
}

/// What the fallback answered for one object, compared with the tree.
fn served_gap(e: &Expected, status: u16, location: Option<&str>, md5: &str) -> Option<String> {
    if let Some(target) = &e.object.redirect {
        return match (status, location) {
            (301, Some(l)) if l == target => None,
            _ => Some(format!(
                "answered {status} {}, should redirect (301) to {target}",
                location.unwrap_or("")
            )),
        };
    }
    if status != 200 {
        return Some(format!("answered {status}"));
    }
    (md5 != e.stored_md5).then(|| {
        format!(
            "served bytes with MD5 {md5}, the tree says {}",
            e.stored_md5
        )
    })
}

/// Force the edge into fallback mode, request the sample from the bucket
/// through it, and put the mode back as it was (also on Ctrl-C).
async fn check_edge(
    loaded: &Loaded,
    url: Option<&str>,
    sample: &[&Expected],
    concurrency: usize,
) -> Result<Check> {
    let admin = crate::edge::client::Admin::locate(loaded, url)?;
    let before = match admin.status().await {
        Ok(s) => s,
        Err(e) => return Ok(Check::failed("edge", admin.url(), &e)),
    };
    let pinned = before["pinned"].as_bool().unwrap_or(false);
    if !pinned {
        if let Err(e) = admin.switch(true, Some("tusk drill")).await {
            return Ok(Check::failed("edge", admin.url(), &e));
        }
    }
    let requests = request_all(admin.url(), sample, concurrency);
    let (mut gaps, interrupted) = tokio::select! {
        gaps = requests => (gaps, false),
        _ = tokio::signal::ctrl_c() => (Vec::new(), true),
    };
    let restored = if pinned {
        "it was pinned to the bucket already and stays so".to_string()
    } else {
        match admin.switch(false, Some("tusk drill done")).await {
            Ok(answer) => format!(
                "mode restored (route {})",
                answer["status"]["route"].as_str().unwrap_or("?")
            ),
            Err(e) => {
                gaps.push(Gap {
                    item: admin.url().to_string(),
                    problem: format!("could not restore the mode: {e:#}; run `tusk failback` now"),
                });
                "mode NOT restored".to_string()
            }
        }
    };
    if interrupted {
        anyhow::bail!("drill interrupted; {restored}");
    }
    let detail = format!(
        "fallback forced at {}; {} of {} objects served from the bucket; {restored}",
        admin.url(),
        sample.len() - gaps.len().min(sample.len()),
        sample.len()
    );
    Ok(Check::new("edge", sample.len(), detail, gaps))
}

async fn request_all(base: &str, sample: &[&Expected], concurrency: usize) -> Vec<Gap> {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return vec![Gap {
                item: base.to_string(),
                problem: e.to_string(),
            }]
        }
    };
    let mut gaps: Vec<Gap> = stream::iter(sample)
        .map(|e| {
            let client = client.clone();
            async move {
                let url = format!("{base}{}", path_for(&e.object.key));
                let problem = match client
                    .get(&url)
                    .header(reqwest::header::CACHE_CONTROL, "no-cache")
                    .header(crate::edge::access_log::DRILL_HEADER, "1")
                    .send()
                    .await
                {
                    Err(err) => Some(crate::diag::http_error_text(&err)),
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let header = |name: &str| {
                            response
                                .headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string)
                        };
                        let location = header("location");
                        let source = header("x-cache").unwrap_or_default();
                        match response.bytes().await {
                            Err(err) => Some(crate::diag::http_error_text(&err)),
                            Ok(body) => {
                                let md5 = crate::tree::md5_hex(&body);
                                served_gap(e, status, location.as_deref(), &md5).or_else(|| {
                                    (!source.starts_with("Fallback")).then(|| {
                                        format!("served from {source:?}, not from the bucket")
                                    })
                                })
                            }
                        }
                    }
                };
                problem.map(|problem| Gap { item: url, problem })
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|g| async move { g })
        .collect()
        .await;
    gaps.sort_by(|a, b| a.item.cmp(&b.item));
    gaps
}

/// The CDN routes the behaviours through the origin group (origin first,
/// the bucket second) as `[cdn]` asks, and the bucket the group falls
/// back to holds each sampled object.
async fn check_cloudfront(
    loaded: &Loaded,
    store: &dyn Store,
    sample: &[&Expected],
    concurrency: usize,
) -> Check {
    let (item, route_text, problems) = match crate::cdn::inspect(loaded).await {
        Ok(i) => (i.item, i.route, i.problems),
        Err(e) => return Check::failed("cloudfront", &loaded.config.cdn.distribution_id, &e),
    };
    let mut gaps: Vec<Gap> = problems
        .into_iter()
        .map(|problem| Gap {
            item: item.clone(),
            problem,
        })
        .collect();
    let served: Vec<Gap> = stream::iter(sample)
        .map(|e| async move {
            let key = &e.object.key;
            let problem = match crate::store::with_retries(|| store.get(key)).await {
                Err(err) => Some(format!("cannot read it: {err:#}")),
                Ok(None) => Some("missing from the bucket".to_string()),
                Ok(Some(found)) => {
                    let md5 = crate::tree::md5_hex(&found.body);
                    let (status, location) = match &found.meta.redirect {
                        Some(l) => (301, Some(l.as_str())),
                        None => (200, None),
                    };
                    served_gap(e, status, location, &md5)
                }
            };
            problem.map(|problem| Gap {
                item: key.clone(),
                problem,
            })
        })
        .buffer_unordered(concurrency)
        .filter_map(|g| async move { g })
        .collect()
        .await;
    let bad = served.len();
    gaps.extend(served);
    let detail = format!(
        "{item}: {route_text}; the bucket serves {} of {} sampled objects",
        sample.len() - bad,
        sample.len()
    );
    Check::new("cloudfront", sample.len(), detail, gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_for_keys() {
        assert_eq!(path_for("index.html"), "/");
        assert_eq!(path_for("blog/index.html"), "/blog/");
        assert_eq!(path_for("css/a b.css"), "/css/a%20b.css");
        assert_eq!(path_for("q/index.q-1a2b.html"), "/q/index.q-1a2b.html");
    }
}
