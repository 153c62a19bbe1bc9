//! Snapshot: a static, servable copy of the dynamic origin, so the CDN's
//! fallback (S3 or the edge) can serve the site when the origin is down.
//!
//! 1. start from the seeds, `/robots.txt` and the sitemaps;
//! 2. fetch concurrently (no cookies, no credentials, rate-limited,
//!    retried), conditionally when the previous snapshot has validators;
//! 3. refuse anything private (`Set-Cookie`, `Cache-Control: private` or
//!    `no-store`, `Vary: Cookie`) and any URL without a safe key;
//! 4. rewrite absolute links to the origin into root-relative ones and
//!    follow the links found in HTML, CSS and sitemaps;
//! 5. write everything to a staging folder with its tree manifest and swap
//!    it in only when the whole run succeeded.

mod keys;
pub(crate) mod links;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::stream::{FuturesUnordered, StreamExt};
use globset::{Glob, GlobSet, GlobSetBuilder};
use reqwest::header::{self, HeaderMap};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{Loaded, SnapshotConfig};
use crate::tree::key::folded;
use crate::tree::write::{Sink, Staging};
use crate::tree::{CacheClass, Object, Tree};

/// Validators of the previous run, beside the manifest in the snapshot.
const STATE_NAME: &str = ".tusk-snapshot.json";
/// At most this many skipped URLs are listed (all are counted).
const MAX_LISTED: usize = 1000;
/// Why a link with a query is not saved in `skip` mode.
const QUERY_SKIPPED: &str = "query string (snapshot.query = \"skip\")";

#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    /// Overrides `snapshot.origin`.
    pub origin: Option<String>,
    /// Ignore the previous snapshot: no conditional requests.
    pub full: bool,
}

#[derive(Debug, Serialize)]
pub struct Skipped {
    pub url: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Broken {
    pub url: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_from: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub url: String,
    pub error: String,
}

/// What a snapshot saved, skipped and could not fetch.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub origin: String,
    pub output: String,
    /// HTML documents saved.
    pub pages: usize,
    /// Stylesheets, scripts, images, fonts and other files.
    pub assets: usize,
    /// Feeds, sitemaps, JSON and other short-lived documents.
    pub feeds: usize,
    /// The origin answers 200 for unknown paths (a "soft 404"): its error
    /// page cannot be told from a page, and none was kept as `404.html`.
    pub soft_404: bool,
    /// Objects in the tree (pages, other files, redirects).
    pub objects: usize,
    pub redirects: usize,
    pub bytes: u64,
    pub requests: usize,
    /// Answered `304 Not Modified`: the previous copy was kept.
    pub unchanged: usize,
    /// Keys of the previous snapshot that are gone.
    pub removed: Vec<String>,
    /// Whether the origin's 404 page was captured as `404.html`.
    pub not_found_page: bool,
    pub skipped_total: usize,
    /// Every skipped URL counted by why (the list below stops at 1000).
    pub skipped_by_reason: BTreeMap<String, usize>,
    pub skipped: Vec<Skipped>,
    pub broken: Vec<Broken>,
    pub errors: Vec<Failure>,
    /// The crawl stopped early (`snapshot.max_pages`, `max_total_mb` or
    /// `max_minutes`): objects of the previous snapshot that were not
    /// fetched again are kept, so a publish deletes nothing for it.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_by: Option<String>,
    /// Links not queued (or queued and not fetched) because the crawl
    /// stopped early.
    pub dropped: usize,
    /// Objects kept from the previous snapshot because the crawl stopped early.
    pub kept: usize,
    pub duration_ms: u128,
}

/// Conditional-request validators per URL, from the previous run.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    origin: String,
    entries: BTreeMap<String, Validators>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Validators {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
}

/// Why a URL is fetched: a failed seed fails the run, an optional one
/// (robots.txt, sitemap.xml) may be missing, the probe captures the 404 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Seed,
    Optional,
    NotFoundProbe,
    Link,
    /// A link with a query in `skip` mode: kept only if it redirects (a
    /// shortlink, `/?p=123` -> the post), stored under its query key
    /// (`tree::key::with_query`) so the page at the plain path stays.
    QueryLink,
}

#[derive(Debug, Clone)]
struct Job {
    url: Url,
    depth: usize,
    kind: Kind,
    referrer: Option<String>,
    /// Loaded by a page to render (stylesheet, script, image): fetched even
    /// with a query and stored under the key of its path alone, which is
    /// what the edge and S3 website hosting answer whatever the query.
    subresource: bool,
}

impl Job {
    /// The URL whose key the answer is stored under.
    fn key_url(&self, hashed_query: bool) -> Url {
        let mut url = self.url.clone();
        if self.subresource && !hashed_query {
            url.set_query(None);
        }
        url
    }
}

enum Fetched {
    Response {
        status: u16,
        headers: HeaderMap,
        body: Body,
    },
    TooLarge,
    Failed(String),
}

/// An answer's body. Bodies the crawl reads for links (HTML, CSS,
/// sitemaps, robots.txt) are held in memory, at most
/// `snapshot.max_response_mb`; every other one goes straight to a file in
/// the staging folder, so a large asset costs no memory whatever its size.
enum Body {
    Memory(Vec<u8>),
    File(tempfile::NamedTempFile),
}

impl Body {
    fn size(&self) -> u64 {
        match self {
            Body::Memory(bytes) => bytes.len() as u64,
            Body::File(file) => file.as_file().metadata().map_or(0, |m| m.len()),
        }
    }
}

/// Whether the crawl reads a body of this type for links, which needs it
/// whole in memory. No Content-Type: the key's guess decides later, so
/// the body is kept in memory too.
fn read_for_links(path: &str, content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let mime = mime_of(content_type);
    is_html_type(&mime) || mime == "text/css" || mime.contains("xml") || path == "/robots.txt"
}

/// The paths the snapshot leaves out on purpose (`snapshot.exclude`, or
/// outside `snapshot.include`): the crawl never fetches them, and the
/// drill counts a redirect to one (a login page) as excluded, not a gap.
pub struct Scope {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Scope {
    pub fn new(cfg: &SnapshotConfig) -> Result<Scope> {
        Ok(Scope {
            include: (!cfg.include.is_empty())
                .then(|| globs("include", &cfg.include))
                .transpose()?,
            exclude: globs("exclude", &cfg.exclude)?,
        })
    }

    /// Why `path` is left out, if it is.
    pub fn left_out(&self, path: &str) -> Option<&'static str> {
        if self.exclude.is_match(path) {
            return Some("excluded by snapshot.exclude");
        }
        if self.include.as_ref().is_some_and(|i| !i.is_match(path)) {
            return Some("not in snapshot.include");
        }
        None
    }
}

fn globs(name: &str, list: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for g in list {
        b.add(Glob::new(g).with_context(|| format!("snapshot.{name}: invalid glob {g:?}"))?);
    }
    Ok(b.build()?)
}

/// The site being copied: which URLs belong to it and which may be saved.
struct Site {
    origin: Url,
    hosts: HashSet<String>,
    scope: Scope,
    allow_private: GlobSet,
    hashed_query: bool,
}

impl Site {
    fn new(origin: &str, cfg: &SnapshotConfig) -> Result<Site> {
        let origin = crate::config::check_origin("snapshot.origin", origin)?;
        let mut hosts: HashSet<String> = cfg.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        hosts.insert(origin.host_str().unwrap_or_default().to_ascii_lowercase());
        Ok(Site {
            hosts,
            scope: Scope::new(cfg)?,
            allow_private: globs("allow_private", &cfg.allow_private)?,
            hashed_query: cfg.query == crate::config::QueryMode::Hash,
            origin,
        })
    }

    /// The URL on the origin for a link of this site, or `None` when the
    /// link leaves the site. Alias hosts map to the origin.
    fn canonical(&self, url: &Url) -> Option<Url> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let host = url.host_str()?.to_ascii_lowercase();
        if !self.hosts.contains(&host) {
            return None;
        }
        let origin_host = self.origin.host_str().unwrap_or_default();
        if host == origin_host && url.port_or_known_default() != self.origin.port_or_known_default()
        {
            return None;
        }
        let mut out = self.origin.clone();
        out.set_path(url.path());
        out.set_query(url.query());
        out.set_fragment(None);
        Some(out)
    }

    fn wanted(&self, path: &str) -> Option<&'static str> {
        self.scope.left_out(path)
    }
}

pub async fn snapshot(loaded: &Loaded, opts: &SnapshotOptions) -> Result<Report> {
    let started = Instant::now();
    let cfg = &loaded.config.snapshot;
    let origin = opts.origin.clone().unwrap_or_else(|| cfg.origin.clone());
    if origin.is_empty() {
        bail!("no origin to snapshot: set snapshot.origin in config/tusk.toml or pass --origin");
    }
    let site = Site::new(&origin, cfg)?;
    let output = loaded.root.join(&cfg.output);

    // The previous snapshot: its tree and validators make the run incremental.
    let previous = if opts.full {
        None
    } else {
        Previous::load(&output, &site)
    };
    let staging = Staging::new(&output)?;
    let spool = staging.path().to_path_buf();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
        .connect_timeout(Duration::from_secs(cfg.timeout_secs.clamp(1, 10)))
        .user_agent(&cfg.user_agent)
        .pool_max_idle_per_host(cfg.concurrency.max(1))
        .build()?;
    let limiter = Limiter::new(cfg.rate_limit);
    let fetcher = Fetcher {
        client: &client,
        limiter: &limiter,
        max_bytes: cfg.max_response_mb.saturating_mul(1024 * 1024),
        retries: cfg.retries,
        spool: &spool,
    };

    let mut crawl = Crawl {
        site: &site,
        cfg,
        staging: staging.path().to_path_buf(),
        sink: Sink::dir(staging.path().to_path_buf()),
        previous: previous.as_ref(),
        queue: VecDeque::new(),
        seen: HashSet::new(),
        objects: BTreeMap::new(),
        claimed_by: HashMap::new(),
        lower_keys: HashMap::new(),
        folders: HashMap::new(),
        state: State {
            origin: site.origin.to_string(),
            entries: BTreeMap::new(),
        },
        report: Report {
            origin: site.origin.to_string(),
            output: output.display().to_string(),
            ..Report::default()
        },
        total_bytes: 0,
        accepted: 0,
        seen_cap: cfg.max_pages.saturating_mul(4).saturating_add(10_000),
        fetched: HashSet::new(),
        probes: 0,
        stopped: None,
    };
    for seed in &cfg.seeds {
        let url = site
            .origin
            .join(seed)
            .with_context(|| format!("snapshot.seeds: invalid path {seed:?}"))?;
        crawl.enqueue(url, 0, Kind::Seed, None);
    }
    if cfg.sitemap {
        for path in ["/robots.txt", "/sitemap.xml"] {
            crawl.enqueue(site.origin.join(path)?, 0, Kind::Optional, None);
        }
    }
    let probe = format!("/tusk-404-probe-{:08x}", rand_u32());
    crawl.enqueue(site.origin.join(&probe)?, 0, Kind::NotFoundProbe, None);

    let mut window = Window::new(cfg.concurrency);
    let deadline = (cfg.max_minutes > 0.0)
        .then(|| started + Duration::from_secs_f64((cfg.max_minutes * 60.0).min(1e9)));
    let mut inflight = FuturesUnordered::new();
    loop {
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if expired {
            crawl.stop("snapshot.max_minutes reached");
        }
        while inflight.len() < window.limit() && !expired {
            let Some(job) = crawl.queue.pop_front() else {
                break;
            };
            let validators = crawl.validators_for(&job.url);
            inflight.push(fetcher.fetch(job, validators));
        }
        let Some((job, fetched, answer)) = inflight.next().await else {
            break;
        };
        window.record(&answer);
        crawl.report.requests += 1;
        crawl.fetched.insert(job.url.to_string());
        crawl.handle(job, fetched)?;
        if crawl.report.errors.len() > cfg.max_errors {
            bail!(
                "snapshot of {} stopped: more than snapshot.max_errors ({}) failed fetches, first: {} ({}); the previous snapshot is unchanged",
                site.origin,
                cfg.max_errors,
                crawl.report.errors[0].url,
                crawl.report.errors[0].error
            );
        }
    }

    crawl.report.dropped += std::mem::take(&mut crawl.queue).len();
    if crawl.stopped.is_some() {
        crawl.keep_unfetched();
    }
    let Crawl {
        objects,
        state,
        mut report,
        stopped,
        ..
    } = crawl;
    report.truncated = stopped.is_some();
    report.truncated_by = stopped.map(str::to_string);
    if let Some(prev) = &previous {
        report.removed = prev
            .tree
            .keys()
            .filter(|k| !objects.contains_key(*k))
            .cloned()
            .collect();
    }
    report.objects = objects.len();
    report.feeds = objects
        .values()
        .filter(|o| o.cache_class == CacheClass::Feed)
        .count();
    report.assets = report.objects - report.pages - report.feeds - report.redirects;
    report.skipped.sort_by(|a, b| a.url.cmp(&b.url));
    report.broken.sort_by(|a, b| a.url.cmp(&b.url));
    report.errors.sort_by(|a, b| a.url.cmp(&b.url));
    let tree = Tree::new("snapshot", objects.into_values().collect());
    tree.write(staging.path())?;
    std::fs::write(
        staging.path().join(STATE_NAME),
        serde_json::to_vec_pretty(&state)?,
    )?;
    staging.commit()?;
    report.duration_ms = started.elapsed().as_millis();
    Ok(report)
}

/// The previous snapshot, for conditional requests and unchanged files.
struct Previous {
    dir: PathBuf,
    tree: BTreeMap<String, Object>,
    state: State,
}

impl Previous {
    fn load(dir: &Path, site: &Site) -> Option<Previous> {
        let tree = Tree::read(dir).ok()?;
        let state: State =
            serde_json::from_slice(&std::fs::read(dir.join(STATE_NAME)).ok()?).ok()?;
        // Validators of another origin mean nothing here.
        if state.origin != site.origin.as_str() {
            return None;
        }
        let mut state = state;
        let shown = dir.join(STATE_NAME);
        state
            .entries
            .retain(|url, v| valid_previous_key(&shown, &v.key, url));
        let shown = dir.join(crate::tree::MANIFEST_NAME);
        Some(Previous {
            dir: dir.to_path_buf(),
            tree: tree
                .objects
                .into_iter()
                .filter(|o| valid_previous_key(&shown, &o.key, "an object"))
                .map(|o| (o.key.clone(), o))
                .collect(),
            state,
        })
    }
}

/// Keys read back from disk obey the rules new keys do: a tampered file
/// must not make a 304 read or write outside the snapshot.
fn valid_previous_key(file: &Path, key: &str, what: &str) -> bool {
    let valid = crate::tree::key::valid_key(key);
    if !valid {
        tracing::warn!("{}: invalid key {key:?} for {what} ignored", file.display());
    }
    valid
}

/// The crawl's state, owned by the loop that handles each response.
struct Crawl<'a> {
    site: &'a Site,
    cfg: &'a SnapshotConfig,
    staging: PathBuf,
    /// Writes into `staging`, making each folder once.
    sink: Sink,
    previous: Option<&'a Previous>,
    queue: VecDeque<Job>,
    seen: HashSet<String>,
    objects: BTreeMap<String, Object>,
    /// Which URL a key was saved from (pages win over redirects).
    claimed_by: HashMap<String, String>,
    /// Folded key (NFC, lower case) -> key: case- or normalization-only
    /// collisions break case-insensitive and macOS file systems and are
    /// refused.
    lower_keys: HashMap<String, String>,
    /// Folders the claimed keys need, with how many keys need each: a key
    /// cannot also be a file (`a` beside `a/b`) in a folder or local bucket.
    folders: HashMap<String, usize>,
    state: State,
    report: Report,
    total_bytes: u64,
    /// URLs queued so far (fetched or waiting): what `max_pages` bounds.
    accepted: usize,
    /// `seen` remembers refused URLs only up to this many entries, so a
    /// page of millions of links cannot exhaust memory.
    seen_cap: usize,
    /// URLs answered in this run (at most `max_pages`).
    fetched: HashSet<String>,
    /// Links with a query queued to see whether they redirect.
    probes: usize,
    /// Why the crawl stopped early, if it did.
    stopped: Option<&'static str>,
}

impl Crawl<'_> {
    fn skip(&mut self, url: &Url, reason: impl Into<String>) {
        let reason = reason.into();
        self.report.skipped_total += 1;
        let kind = reason_kind(&reason);
        if let Some(n) = self.report.skipped_by_reason.get_mut(kind) {
            *n += 1;
        } else if self.report.skipped_by_reason.len() < MAX_LISTED {
            self.report.skipped_by_reason.insert(kind.to_string(), 1);
        }
        if self.report.skipped.len() < MAX_LISTED {
            self.report.skipped.push(Skipped {
                url: url.to_string(),
                reason,
            });
        }
    }

    /// Queue `url` unless it was seen or a limit or rule refuses it. Only
    /// queued URLs count toward `max_pages`; refused ones are remembered
    /// while `seen` has room.
    fn enqueue(&mut self, url: Url, depth: usize, kind: Kind, referrer: Option<String>) {
        self.enqueue_as(url, depth, kind, referrer, false)
    }

    /// [`Self::enqueue`], saying whether a page loads it to render.
    fn enqueue_as(
        &mut self,
        mut url: Url,
        depth: usize,
        kind: Kind,
        referrer: Option<String>,
        subresource: bool,
    ) {
        url.set_fragment(None);
        let text = url.to_string();
        if self.seen.contains(&text) {
            return;
        }
        if kind == Kind::Link {
            if let Some(reason) = self.refusal(&url, depth) {
                self.remember(text);
                return self.skip(&url, reason);
            }
            if url.query().is_some() && !self.site.hashed_query && !subresource {
                return self.enqueue_probe(url, depth, referrer);
            }
            if self.accepted >= self.cfg.max_pages {
                self.stop("snapshot.max_pages reached");
            }
            if let Some(reason) = self.stopped {
                self.remember(text);
                self.report.dropped += 1;
                return self.skip(&url, reason);
            }
        }
        self.seen.insert(text);
        self.accepted += 1;
        self.queue.push_back(Job {
            url,
            depth,
            kind,
            referrer,
            subresource,
        });
    }

    /// Queue a link with a query (`skip` mode) to see whether it is a
    /// redirect, within `snapshot.max_query_probes`; it does not count
    /// toward `max_pages`, since no page of it is kept.
    fn enqueue_probe(&mut self, url: Url, depth: usize, referrer: Option<String>) {
        let text = url.to_string();
        if self.probes >= self.cfg.max_query_probes || self.stopped.is_some() {
            self.remember(text);
            return self.skip(&url, QUERY_SKIPPED);
        }
        self.probes += 1;
        self.seen.insert(text);
        self.queue.push_back(Job {
            url,
            depth,
            kind: Kind::QueryLink,
            referrer,
            subresource: false,
        });
    }

    /// Why a link is not followed by the site's rules, if it is not.
    fn refusal(&self, url: &Url, depth: usize) -> Option<&'static str> {
        if let Some(reason) = self.site.wanted(url.path()) {
            return Some(reason);
        }
        if depth > self.cfg.max_depth {
            return Some("deeper than snapshot.max_depth");
        }
        repeats_segments(url.path()).then_some("repeating path segments (crawler trap)")
    }

    fn remember(&mut self, url: String) {
        if self.seen.len() < self.seen_cap {
            self.seen.insert(url);
        }
    }

    /// Stop queueing: the crawl is incomplete (the first reason is kept).
    fn stop(&mut self, reason: &'static str) {
        self.stopped.get_or_insert(reason);
    }

    /// A crawl that stopped early did not see the whole site: the objects
    /// of the previous snapshot that were not fetched again stay, so the
    /// next publish does not delete pages the crawl merely did not reach.
    fn keep_unfetched(&mut self) {
        let Some(prev) = self.previous else {
            return;
        };
        let source: HashMap<&str, (&String, &Validators)> = prev
            .state
            .entries
            .iter()
            .map(|(url, v)| (v.key.as_str(), (url, v)))
            .collect();
        for (key, object) in &prev.tree {
            let url = source.get(key.as_str());
            if self.lower_keys.contains_key(&folded(key))
                || url.is_some_and(|(u, _)| self.fetched.contains(u.as_str()))
            {
                continue;
            }
            if object.cache_class != CacheClass::Redirect {
                if let Err(e) = self.link_previous(&prev.dir, key) {
                    tracing::warn!("{key}: not kept from the previous snapshot: {e:#}");
                    continue;
                }
            }
            if let Some((u, v)) = url {
                self.state.entries.insert((*u).clone(), (*v).clone());
            }
            self.lower_keys.insert(folded(key), key.clone());
            self.objects.insert(key.clone(), object.clone());
            self.report.kept += 1;
        }
    }

    /// Hard-link (or copy) the previous snapshot's file for `key` into the
    /// new one.
    fn link_previous(&self, dir: &Path, key: &str) -> Result<()> {
        let from = dir.join(key);
        let to = self.staging.join(key);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to)
                .with_context(|| format!("cannot copy {} into the new snapshot", from.display()))?;
        }
        Ok(())
    }

    /// Validators for a conditional request, when the previous copy is
    /// still on disk.
    fn validators_for(&self, url: &Url) -> Option<Validators> {
        let prev = self.previous?;
        let v = prev.state.entries.get(url.as_str())?;
        (v.etag.is_some() || v.last_modified.is_some())
            .then(|| prev.dir.join(&v.key))
            .filter(|p| p.is_file())
            .map(|_| v.clone())
    }

    fn handle(&mut self, job: Job, fetched: Fetched) -> Result<()> {
        let (status, headers, body) = match fetched {
            Fetched::Response {
                status,
                headers,
                body,
            } if status != 304 || self.validators_for(&job.url).is_some() => {
                (status, headers, body)
            }
            Fetched::Response { .. } => {
                let error = "answered 304 Not Modified to a request that was not conditional";
                return self.handle(job, Fetched::Failed(error.into()));
            }
            Fetched::TooLarge => {
                self.skip(&job.url, "larger than snapshot.max_response_mb");
                return Ok(());
            }
            Fetched::Failed(error) => {
                if job.kind == Kind::Seed {
                    bail!(
                        "cannot fetch {}: {error}; the previous snapshot is unchanged",
                        job.url
                    );
                }
                if job.kind == Kind::QueryLink {
                    self.skip(&job.url, format!("{QUERY_SKIPPED}: {error}"));
                }
                if job.kind == Kind::Link {
                    self.report.errors.push(Failure {
                        url: job.url.to_string(),
                        error,
                    });
                }
                return Ok(());
            }
        };
        match status {
            304 => self.keep_previous(&job),
            200 if job.kind == Kind::NotFoundProbe => {
                self.report.soft_404 = true;
                Ok(())
            }
            // robots.txt and sitemaps are never HTML: that is an error page.
            200 if job.kind == Kind::Optional && is_html(&headers) => Ok(()),
            301 | 302 | 303 | 307 | 308 => self.redirect(&job, status, &headers),
            _ if job.kind == Kind::QueryLink => {
                self.skip(
                    &job.url,
                    format!("{QUERY_SKIPPED}: answered {status}, not a redirect"),
                );
                Ok(())
            }
            200 => self.save(&job, &headers, body),
            404 | 410 if job.kind == Kind::NotFoundProbe => {
                if is_html(&headers) && private_reason(&headers).is_none() {
                    self.write_object(&job, "404.html", &headers, body)?;
                    self.report.not_found_page = true;
                }
                Ok(())
            }
            _ if matches!(job.kind, Kind::Optional | Kind::NotFoundProbe) => Ok(()),
            _ if job.kind == Kind::Seed => bail!(
                "{} answered {status}; the previous snapshot is unchanged",
                job.url
            ),
            404 | 410 => {
                self.report.broken.push(Broken {
                    url: job.url.to_string(),
                    status,
                    linked_from: job.referrer.clone(),
                });
                Ok(())
            }
            401 | 403 => {
                self.skip(&job.url, format!("{status}: behind authentication"));
                Ok(())
            }
            s if s >= 500 => {
                self.report.errors.push(Failure {
                    url: job.url.to_string(),
                    error: format!("HTTP {status}"),
                });
                Ok(())
            }
            _ => {
                self.skip(&job.url, format!("HTTP {status}"));
                Ok(())
            }
        }
    }

    /// A 200: check it may be public, give it a key, rewrite, save.
    fn save(&mut self, job: &Job, headers: &HeaderMap, body: Body) -> Result<()> {
        if self.refused_as_private(job, headers) {
            return Ok(());
        }
        let key_url = job.key_url(self.site.hashed_query);
        let key = match keys::key_for(&key_url, is_html(headers), self.site.hashed_query) {
            Ok(k) => k,
            Err(reason) => {
                self.skip(&job.url, format!("no safe key: {reason}"));
                return Ok(());
            }
        };
        let saved = self.write_object(job, &key, headers, body)?;
        if saved {
            self.state.entries.insert(
                job.url.to_string(),
                Validators {
                    key,
                    etag: header_str(headers, header::ETAG),
                    last_modified: header_str(headers, header::LAST_MODIFIED),
                },
            );
        }
        Ok(())
    }

    /// Whether a private answer (page or redirect) was skipped, unless
    /// `snapshot.allow_private` lets it through.
    fn refused_as_private(&mut self, job: &Job, headers: &HeaderMap) -> bool {
        let Some(reason) = private_reason(headers) else {
            return false;
        };
        if self.site.allow_private.is_match(job.url.path()) {
            return false;
        }
        self.skip(&job.url, format!("private: {reason}"));
        true
    }

    /// Rewrite (HTML, CSS), follow links, write under `key`. Returns
    /// whether it was saved.
    fn write_object(
        &mut self,
        job: &Job,
        key: &str,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<bool> {
        if let Some(reason) = self.claim(key, &job.url, false) {
            self.skip(&job.url, reason);
            return Ok(false);
        }
        let content_type = header_str(headers, header::CONTENT_TYPE)
            .unwrap_or_else(|| crate::tree::content_type_for(key));
        let body = match body {
            Body::Memory(bytes) => Body::Memory(self.follow_links(job, &content_type, bytes)?),
            file => file,
        };
        if self.total_bytes + body.size() > self.cfg.max_total_mb.saturating_mul(1024 * 1024) {
            self.stop("snapshot.max_total_mb reached");
            self.release(key);
            self.skip(&job.url, "snapshot.max_total_mb reached");
            return Ok(false);
        }
        let written = match body {
            Body::Memory(bytes) => self.sink.write(key, &bytes),
            Body::File(file) => self.sink.adopt(file, key),
        };
        let mut object = match written {
            Ok(o) => o,
            Err(e) => {
                self.release(key);
                self.skip(&job.url, format!("cannot be stored as {key}: {e}"));
                return Ok(false);
            }
        };
        object.cache_class = class_of(key, &content_type);
        object.content_type = content_type;
        self.total_bytes += object.size;
        self.report.bytes += object.size;
        if object.cache_class == CacheClass::Html {
            self.report.pages += 1;
        }
        self.objects.insert(key.to_string(), object);
        Ok(true)
    }

    /// A 304: the previous copy is still right; link it into the new folder.
    fn keep_previous(&mut self, job: &Job) -> Result<()> {
        let Some(prev) = self.previous else {
            return Ok(());
        };
        let Some(v) = prev.state.entries.get(job.url.as_str()).cloned() else {
            return Ok(());
        };
        let Some(object) = prev.tree.get(&v.key).cloned() else {
            return Ok(());
        };
        if let Some(reason) = self.claim(&v.key, &job.url, false) {
            self.skip(&job.url, reason);
            return Ok(());
        }
        self.link_previous(&prev.dir, &v.key)?;
        // Its links still need following; the saved copy has them.
        if read_for_links(job.url.path(), Some(object.content_type.as_str())) {
            let body = std::fs::read(self.staging.join(&v.key))?;
            self.follow_links(job, &object.content_type, body)?;
        }
        self.report.unchanged += 1;
        self.total_bytes += object.size;
        self.report.bytes += object.size;
        if object.cache_class == CacheClass::Html {
            self.report.pages += 1;
        }
        self.state.entries.insert(job.url.to_string(), v.clone());
        self.objects.insert(v.key, object);
        Ok(())
    }

    /// A 3xx: a redirect entry in the tree, and the target is followed.
    fn redirect(&mut self, job: &Job, status: u16, headers: &HeaderMap) -> Result<()> {
        if self.refused_as_private(job, headers) {
            return Ok(());
        }
        let Some(location) = header_str(headers, header::LOCATION) else {
            self.skip(&job.url, "redirect without Location");
            return Ok(());
        };
        let Ok(target) = job.url.join(&location) else {
            self.skip(&job.url, format!("redirect to an invalid URL {location:?}"));
            return Ok(());
        };
        if !matches!(target.scheme(), "http" | "https") {
            let scheme = target.scheme();
            self.skip(&job.url, format!("redirect to a non-HTTP URL ({scheme}:)"));
            return Ok(());
        }
        let (stored_target, internal) = match self.site.canonical(&target) {
            Some(t) => {
                let mut rel = t.path().to_string();
                if let Some(q) = t.query() {
                    rel.push('?');
                    rel.push_str(q);
                }
                (rel, Some(t))
            }
            None => (target.to_string(), None),
        };
        if let Some(t) = &internal {
            let referrer = Some(job.url.to_string());
            self.enqueue_as(
                t.clone(),
                job.depth + 1,
                Kind::Link,
                referrer,
                job.subresource,
            );
        }
        if job.kind == Kind::NotFoundProbe || job.kind == Kind::Optional {
            return Ok(());
        }
        let key = match self.redirect_key(job) {
            Ok(k) => k,
            Err(reason) => {
                self.skip(&job.url, format!("no safe key: {reason}"));
                return Ok(());
            }
        };
        // `/a` -> `/a/` both live at a/index.html: the page is enough.
        if internal
            .as_ref()
            .and_then(|t| keys::key_for(t, true, self.site.hashed_query).ok())
            .is_some_and(|k| k == key)
        {
            return Ok(());
        }
        if self.claim(&key, &job.url, true).is_some() {
            return Ok(());
        }
        let mut object = Object::redirect(&key, &stored_target);
        object.redirect_status = (status != 301).then_some(status);
        self.objects.insert(key.clone(), object);
        self.report.redirects += 1;
        Ok(())
    }

    /// The key a redirect is stored under: a shortlink's is its query key
    /// beside the page at its plain path, which stays.
    fn redirect_key(&self, job: &Job) -> Result<String, String> {
        let url = job.key_url(self.site.hashed_query);
        match (job.kind, url.query()) {
            (Kind::QueryLink, Some(query)) => {
                let mut plain = url.clone();
                plain.set_query(None);
                let key = keys::key_for(&plain, true, false)?;
                Ok(crate::tree::key::with_query(&key, query))
            }
            _ => keys::key_for(&url, true, self.site.hashed_query),
        }
    }

    /// Reserve `key` for `url`. A page replaces a redirect. Between two
    /// pages (same key, or keys differing only in case, which break
    /// case-insensitive file systems) the smaller URL wins, whatever order
    /// the responses arrived in, so every run keeps the same one. Returns
    /// why `url` lost, if it did.
    fn claim(&mut self, key: &str, url: &Url, redirect: bool) -> Option<String> {
        if let Some(why) = self.folder_clash(key) {
            return Some(why);
        }
        let lower = folded(key);
        let rival = match self.lower_keys.get(&lower) {
            Some(other) if other != key => Some(other.clone()),
            Some(_) => Some(key.to_string()),
            None => None,
        };
        if let Some(rival) = rival {
            let rival_is_redirect = self
                .objects
                .get(&rival)
                .is_some_and(|o| o.cache_class == CacheClass::Redirect);
            let owner = self.claimed_by.get(&rival).cloned().unwrap_or_default();
            let wins = if rival_is_redirect != redirect {
                !redirect
            } else {
                url.as_str() < owner.as_str()
            };
            let why = |loser_key: &str, winner_key: &str, winner: &str| {
                if loser_key == winner_key {
                    format!("same key {winner_key} as {winner}")
                } else {
                    format!("key {loser_key} differs only in case or Unicode normalization from {winner_key} ({winner}): they collide on case-insensitive or macOS file systems")
                }
            };
            if !wins {
                return Some(why(key, &rival, &owner));
            }
            self.evict(&rival);
            if !rival_is_redirect {
                if let Ok(owner_url) = Url::parse(&owner) {
                    let reason = why(&rival, key, url.as_str());
                    self.skip(&owner_url, reason);
                }
            }
        }
        self.claimed_by.insert(key.to_string(), url.to_string());
        self.lower_keys.insert(lower, key.to_string());
        for folder in folders_of(key) {
            *self.folders.entry(folder.to_string()).or_default() += 1;
        }
        None
    }

    /// Why `key` cannot be stored beside the keys claimed so far: it is a
    /// folder of theirs, or one of its folders is one of them (a file).
    /// S3 holds both; a file system, the snapshot folder and a local bucket
    /// cannot, so the first one kept wins and the other is reported.
    fn folder_clash(&self, key: &str) -> Option<String> {
        if self.folders.contains_key(key) && !self.claimed_by.contains_key(key) {
            return Some(format!("key {key} is a folder of other saved keys"));
        }
        folders_of(key).find_map(|folder| {
            let owner = self.claimed_by.get(folder)?;
            Some(format!(
                "folder {folder} of key {key} is saved as a file ({owner})"
            ))
        })
    }

    /// Forget that `key` needs its folders.
    fn unclaim_folders(&mut self, key: &str) {
        for folder in folders_of(key) {
            if let Some(n) = self.folders.get_mut(folder) {
                *n -= 1;
                if *n == 0 {
                    self.folders.remove(folder);
                }
            }
        }
    }

    /// Undo what was saved under `key` (it lost its key to another URL).
    fn evict(&mut self, key: &str) {
        if let Some(object) = self.objects.remove(key) {
            if object.cache_class == CacheClass::Redirect {
                self.report.redirects -= 1;
            } else {
                let _ = std::fs::remove_file(self.staging.join(key));
                self.total_bytes -= object.size;
                self.report.bytes -= object.size;
                if object.cache_class == CacheClass::Html {
                    self.report.pages -= 1;
                }
            }
        }
        if let Some(owner) = self.claimed_by.remove(key) {
            self.state.entries.remove(&owner);
            self.unclaim_folders(key);
        }
        self.lower_keys.remove(&folded(key));
    }

    fn release(&mut self, key: &str) {
        if self.claimed_by.remove(key).is_some() {
            self.unclaim_folders(key);
        }
        self.lower_keys.remove(&folded(key));
    }

    /// Queue the links of an HTML, CSS, sitemap or robots.txt body and
    /// return it with absolute links to the origin made root-relative.
    fn follow_links(&mut self, job: &Job, content_type: &str, body: Vec<u8>) -> Result<Vec<u8>> {
        let site = self.site;
        // Relative URLs resolve against `<base href>` when the page has one.
        let mut base = job.url.clone();
        // Hash mode saves `/topic?k=x` as `topic/index.q-HASH.html`, one
        // folder deeper: its relative links would resolve elsewhere there,
        // so they become root-relative, which resolve the same anywhere.
        let relocated = site.hashed_query && job.url.query().is_some();
        // Links are queued as they are found: a page of millions of links
        // costs only what `enqueue` remembers.
        let mut on_link = |raw: &str, how: links::Use| -> Option<String> {
            let raw = raw.trim();
            let lower = raw.to_ascii_lowercase();
            if crate::html::fetches_nothing(raw) {
                return None;
            }
            if how == links::Use::Base {
                base = job.url.join(raw).unwrap_or_else(|_| job.url.clone());
                return None;
            }
            let resolved = base.join(raw).ok()?;
            let canonical = site.canonical(&resolved)?;
            let referrer = Some(job.url.to_string());
            let subresource = how == links::Use::Subresource;
            self.enqueue_as(
                canonical.clone(),
                job.depth + 1,
                Kind::Link,
                referrer,
                subresource,
            );
            let fragment = resolved
                .fragment()
                .map(|f| format!("#{f}"))
                .unwrap_or_default();
            if canonical.query().is_some() && site.hashed_query {
                let key = keys::key_for(&canonical, true, true).ok()?;
                return Some(format!("/{key}{fragment}"));
            }
            let absolute =
                raw.starts_with("//") || lower.starts_with("http:") || lower.starts_with("https:");
            (absolute || (relocated && !raw.starts_with('/'))).then(|| {
                let mut rel = canonical.path().to_string();
                if let Some(q) = canonical.query() {
                    rel.push('?');
                    rel.push_str(q);
                }
                rel + &fragment
            })
        };
        let mime = mime_of(content_type);
        let path = job.url.path();
        let out = if is_html_type(&mime) {
            match links::rewrite_html(&body, &mut on_link) {
                Ok(out) => out,
                Err(e) => {
                    tracing::warn!("{}: cannot parse the HTML ({e}); saved as it is", job.url);
                    body
                }
            }
        } else if mime == "text/css" {
            let text = String::from_utf8_lossy(&body);
            links::rewrite_css(&text, &mut on_link).into_bytes()
        } else {
            if path == "/robots.txt" {
                let text = String::from_utf8_lossy(&body);
                for line in text.lines() {
                    if let Some(rest) = line
                        .trim()
                        .strip_prefix("Sitemap:")
                        .or_else(|| line.trim().strip_prefix("sitemap:"))
                    {
                        on_link(rest.trim(), links::Use::Navigation);
                    }
                }
            } else if mime.contains("xml") && (path.ends_with(".xml") || mime.ends_with("/xml")) {
                for loc in sitemap_locations(&String::from_utf8_lossy(&body)) {
                    on_link(&loc, links::Use::Navigation);
                }
            }
            body
        };
        Ok(out)
    }
}

/// A skip reason without what names one URL (`same key a.html as
/// http://o/b` -> `same key`), so the report can count URLs by reason.
fn reason_kind(reason: &str) -> &str {
    const NAMING: [&str; 5] = [
        "same key",
        "key ",
        "folder ",
        "cannot be stored as",
        "redirect to an invalid URL",
    ];
    match NAMING.iter().find(|p| reason.starts_with(**p)) {
        Some(p) => p.trim_end(),
        None => reason,
    }
}

/// The `<loc>` entries of a sitemap or sitemap index.
fn sitemap_locations(xml: &str) -> Vec<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"(?s)<loc>\s*(.*?)\s*</loc>").unwrap());
    if !xml.contains("<urlset") && !xml.contains("<sitemapindex") {
        return Vec::new();
    }
    re.captures_iter(xml)
        .map(|c| {
            c[1].replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
        })
        .collect()
}

/// Why a response must not go into a public bucket, if it must not.
fn private_reason(headers: &HeaderMap) -> Option<String> {
    if headers.contains_key(header::SET_COOKIE) {
        return Some("sets a cookie (Set-Cookie)".into());
    }
    for cc in headers.get_all(header::CACHE_CONTROL) {
        let cc = cc.to_str().unwrap_or("").to_ascii_lowercase();
        for directive in cc
            .split(',')
            .map(|d| d.trim().split('=').next().unwrap_or("").trim())
        {
            if directive == "private" || directive == "no-store" {
                return Some(format!("Cache-Control: {directive}"));
            }
        }
    }
    for vary in headers.get_all(header::VARY) {
        let vary = vary.to_str().unwrap_or("").to_ascii_lowercase();
        for field in vary.split(',').map(str::trim) {
            if matches!(field, "cookie" | "authorization" | "*") {
                return Some(format!("Vary: {field}"));
            }
        }
    }
    None
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn is_html(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE).is_some_and(|ct| is_html_type(&ct))
}

fn is_html_type(content_type: &str) -> bool {
    matches!(
        mime_of(content_type).as_str(),
        "text/html" | "application/xhtml+xml"
    )
}

/// `Text/HTML; charset=utf-8` -> `text/html`.
fn mime_of(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `/a/b/a/b/a/b/a/b`: a segment seen more than three times is a trap.
fn repeats_segments(path: &str) -> bool {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    path.split('/').filter(|s| !s.is_empty()).any(|s| {
        let n = counts.entry(s).or_default();
        *n += 1;
        *n > 3
    })
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish() as u32
}

/// At most one request start per interval (per host: the crawl has one).
struct Limiter {
    interval: Option<Duration>,
    next: tokio::sync::Mutex<Instant>,
}

impl Limiter {
    fn new(per_second: f64) -> Limiter {
        Limiter {
            interval: (per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / per_second)),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// How one fetch went, for [`Window`].
struct Answer {
    latency: Duration,
    /// It needed a retry: a reset, timeout, 429 or 5xx on the way.
    trouble: bool,
}

/// Requests in flight, adapted to the origin the way TCP adapts to a
/// network: start at two, grow by about one per window of clean answers
/// while they stay fast, halve on trouble. `snapshot.concurrency` is the
/// ceiling. A small origin (one worker, a short listen queue) is never
/// flooded; a large one is soon crawled at the ceiling.
struct Window {
    size: f64,
    ceiling: f64,
    fastest: Option<Duration>,
}

impl Window {
    fn new(ceiling: usize) -> Window {
        let ceiling = ceiling.max(1) as f64;
        Window {
            size: ceiling.min(2.0),
            ceiling,
            fastest: None,
        }
    }

    fn limit(&self) -> usize {
        self.size as usize
    }

    fn record(&mut self, answer: &Answer) {
        if answer.trouble {
            self.size = (self.size / 2.0).max(1.0);
            return;
        }
        let fastest = *self.fastest.get_or_insert(answer.latency);
        self.fastest = Some(fastest.min(answer.latency));
        // Answers slowing down mean requests queue at the origin: more in
        // flight would only queue more.
        if answer.latency <= fastest * 3 + Duration::from_millis(10) {
            self.size = (self.size + 1.0 / self.size).min(self.ceiling);
        }
    }
}

/// The wait a 429 or 503 asks for in `Retry-After` (seconds), up to a minute.
fn retry_after(result: &reqwest::Result<Fetched>) -> Option<Duration> {
    let Ok(Fetched::Response { headers, .. }) = result else {
        return None;
    };
    let secs: u64 = header_str(headers, header::RETRY_AFTER)?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

struct Fetcher<'a> {
    client: &'a reqwest::Client,
    limiter: &'a Limiter,
    max_bytes: u64,
    retries: u32,
    /// Where bodies not read for links are written as they arrive (the
    /// staging folder, so saving one is a rename).
    spool: &'a Path,
}

impl Fetcher<'_> {
    /// GET `job.url` (conditionally with `validators`), retrying 5xx, 429,
    /// timeouts and connection errors with exponential backoff (or the
    /// origin's `Retry-After`, up to a minute).
    async fn fetch(&self, job: Job, validators: Option<Validators>) -> (Job, Fetched, Answer) {
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0;
        loop {
            self.limiter.wait().await;
            let started = Instant::now();
            let result = self.fetch_once(&job, validators.as_ref()).await;
            let latency = started.elapsed();
            let retryable = match &result {
                Ok(Fetched::Response { status, .. }) => *status >= 500 || *status == 429,
                Ok(_) => false,
                Err(e) => e.is_timeout() || e.is_connect() || e.is_request() || e.is_body(),
            };
            if retryable && attempt < self.retries {
                let wait = retry_after(&result).unwrap_or(delay);
                tracing::debug!(
                    "{}: attempt {} failed, retrying in {wait:?}",
                    job.url,
                    attempt + 1
                );
                tokio::time::sleep(wait).await;
                delay *= 2;
                attempt += 1;
                continue;
            }
            let fetched =
                result.unwrap_or_else(|e| Fetched::Failed(crate::diag::http_error_text(&e)));
            let answer = Answer {
                latency,
                trouble: attempt > 0 || retryable,
            };
            return (job, fetched, answer);
        }
    }

    async fn fetch_once(
        &self,
        job: &Job,
        validators: Option<&Validators>,
    ) -> reqwest::Result<Fetched> {
        let mut req = self.client.get(job.url.clone());
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                req = req.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut resp = req.send().await?;
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Ok(Fetched::TooLarge);
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        // A query link is kept only if it redirects: a page's body is not needed.
        if job.kind == Kind::QueryLink && !(300..400).contains(&status) {
            return Ok(Fetched::Response {
                status,
                headers,
                body: Body::Memory(Vec::new()),
            });
        }
        let content_type = header_str(&headers, header::CONTENT_TYPE);
        if status == 200 && !read_for_links(job.url.path(), content_type.as_deref()) {
            return self.spool(resp, status, headers).await;
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Ok(Fetched::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(decoded(status, headers, body, self.max_bytes))
    }

    /// Write a body to a file as it arrives, decoded there if the origin
    /// compressed it: memory stays one chunk whatever the size.
    async fn spool(
        &self,
        mut resp: reqwest::Response,
        status: u16,
        mut headers: HeaderMap,
    ) -> reqwest::Result<Fetched> {
        use std::io::Write;
        let failed = |e: std::io::Error| Fetched::Failed(format!("cannot write its body: {e}"));
        let mut file = match tempfile::NamedTempFile::new_in(self.spool) {
            Ok(f) => f,
            Err(e) => return Ok(failed(e)),
        };
        let mut size = 0u64;
        while let Some(chunk) = resp.chunk().await? {
            size += chunk.len() as u64;
            if size > self.max_bytes {
                return Ok(Fetched::TooLarge);
            }
            // A chunk lands in the page cache: shorter than reading it was.
            if let Err(e) = file.write_all(&chunk) {
                return Ok(failed(e));
            }
        }
        let encoding = content_encoding(&headers);
        if encoding.is_empty() {
            return Ok(Fetched::Response {
                status,
                headers,
                body: Body::File(file),
            });
        }
        let (spool, max_bytes) = (self.spool.to_path_buf(), self.max_bytes);
        let decoded =
            tokio::task::spawn_blocking(move || decode_file(file, &encoding, &spool, max_bytes))
                .await
                .unwrap_or_else(|e| Err(Undecoded::Failed(format!("decoding stopped: {e}"))));
        Ok(match decoded {
            Ok(file) => {
                headers.remove(header::CONTENT_ENCODING);
                headers.remove(header::CONTENT_LENGTH);
                Fetched::Response {
                    status,
                    headers,
                    body: Body::File(file),
                }
            }
            Err(e) => e.into(),
        })
    }
}

/// `Content-Encoding`, lower case; empty for none or `identity`.
fn content_encoding(headers: &HeaderMap) -> String {
    let encoding = header_str(headers, header::CONTENT_ENCODING)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if encoding == "identity" {
        String::new()
    } else {
        encoding
    }
}

/// Why a body could not be decoded.
enum Undecoded {
    TooLarge,
    Failed(String),
}

impl From<Undecoded> for Fetched {
    fn from(e: Undecoded) -> Fetched {
        match e {
            Undecoded::TooLarge => Fetched::TooLarge,
            Undecoded::Failed(why) => Fetched::Failed(why),
        }
    }
}

/// A reader undoing `encoding`, or why there is none.
fn decoder<'a, R: std::io::Read + 'a>(
    encoding: &str,
    input: R,
) -> Result<Box<dyn std::io::Read + 'a>, Undecoded> {
    Ok(match encoding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(input)),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(input)),
        "br" => Box::new(brotli::Decompressor::new(input, 64 * 1024)),
        other => {
            return Err(Undecoded::Failed(format!(
                "unsupported Content-Encoding {other:?}"
            )))
        }
    })
}

/// A spooled body, decoded into another file of `spool`, at most
/// `max_bytes` of it (a compression bomb stops there).
fn decode_file(
    encoded: tempfile::NamedTempFile,
    encoding: &str,
    spool: &Path,
    max_bytes: u64,
) -> Result<tempfile::NamedTempFile, Undecoded> {
    use std::io::{Read, Seek};
    let io =
        |e: std::io::Error| Undecoded::Failed(format!("cannot decode its {encoding} body: {e}"));
    let mut input = encoded.reopen().map_err(io)?;
    input.rewind().map_err(io)?;
    let reader = decoder(encoding, std::io::BufReader::new(input))?;
    let mut out = tempfile::NamedTempFile::new_in(spool).map_err(io)?;
    let n = std::io::copy(&mut reader.take(max_bytes.saturating_add(1)), &mut out).map_err(io)?;
    if n > max_bytes {
        return Err(Undecoded::TooLarge);
    }
    Ok(out)
}

/// The folders of a key: `a/b/c.html` -> `a`, `a/b`.
fn folders_of(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('/').map(move |(i, _)| &key[..i])
}

/// The cache class of a saved answer by what it is, not only its key: a
/// feed or JSON saved under `feed/index.html` is not a page.
fn class_of(key: &str, content_type: &str) -> CacheClass {
    match (
        is_html_type(content_type),
        crate::tree::cache_class_for(key),
    ) {
        (true, _) => CacheClass::Html,
        (false, CacheClass::Html) => CacheClass::Feed,
        (false, class) => class,
    }
}

/// The answer with its `Content-Encoding` undone: we ask for none, but
/// some origins compress anyway, and a stored copy must be what a browser
/// reads (the publish step compresses again if configured). Bounded by
/// `max_bytes`, so a compression bomb stops there.
fn decoded(status: u16, mut headers: HeaderMap, body: Vec<u8>, max_bytes: u64) -> Fetched {
    use std::io::Read;
    let encoding = content_encoding(&headers);
    if encoding.is_empty() {
        return Fetched::Response {
            status,
            headers,
            body: Body::Memory(body),
        };
    }
    let reader = match decoder(&encoding, &body[..]) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let mut out = Vec::new();
    match reader
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut out)
    {
        Ok(n) if n as u64 > max_bytes => return Fetched::TooLarge,
        Ok(_) => {}
        Err(e) => return Fetched::Failed(format!("cannot decode its {encoding} body: {e}")),
    }
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    Fetched::Response {
        status,
        headers,
        body: Body::Memory(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_responses_are_recognised() {
        let mut h = HeaderMap::new();
        assert!(private_reason(&h).is_none());
        h.insert(header::CACHE_CONTROL, "public, max-age=60".parse().unwrap());
        assert!(private_reason(&h).is_none());
        h.insert(header::CACHE_CONTROL, "max-age=0, Private".parse().unwrap());
        assert!(private_reason(&h).unwrap().contains("private"));
        let mut h = HeaderMap::new();
        h.insert(header::VARY, "Accept-Encoding, Cookie".parse().unwrap());
        assert!(private_reason(&h).unwrap().contains("cookie"));
        let mut h = HeaderMap::new();
        h.insert(header::SET_COOKIE, "s=1".parse().unwrap());
        assert!(private_reason(&h).is_some());
    }

    #[test]
    fn traps_and_sitemaps() {
        assert!(repeats_segments("/a/a/a/a/"));
        assert!(!repeats_segments("/2024/01/02/post/"));
        let xml = "<?xml version=\"1.0\"?><urlset><url><loc> http://o/a?x=1&amp;y=2 </loc></url><url><loc>http://o/b</loc></url></urlset>";
        assert_eq!(sitemap_locations(xml), ["http://o/a?x=1&y=2", "http://o/b"]);
    }
}
