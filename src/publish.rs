//! Publish: mirror the desired tree (build + snapshot) to a store, in an
//! order that never breaks a live page.
//!
//! 1. merge the build tree and the snapshot tree (build wins);
//! 2. plan against one listing of the store, comparing content hashes, so a
//!    fresh CI clone with new mtimes uploads nothing that did not change;
//! 3. upload new and changed non-HTML objects, then HTML (a page never
//!    appears before the assets it references);
//! 4. delete what is no longer desired, only after every upload succeeded,
//!    keeping removed fingerprinted assets for a while (cached HTML may
//!    still point at them), and refusing mass deletions;
//! 5. write a publish record last (unless nothing changed).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use globset::{Glob, GlobMatcher};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::config::{Loaded, PublishConfig};
use crate::store::{Meta, Store};
use crate::tree::{CacheClass, Object, Tree};

/// Keys under this prefix belong to tusk (records, retention state) and are
/// never part of a tree nor deleted by a sync.
pub const RESERVED_PREFIX: &str = ".tusk/";
const RETAINED_KEY: &str = ".tusk/retained.json";

#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub dry_run: bool,
    pub force: bool,
    pub max_deletes: Option<usize>,
    pub target: Option<String>,
    /// Skip the CDN invalidation.
    pub no_invalidate: bool,
}

/// One object of the desired tree and where its body is read from.
#[derive(Debug, Clone)]
struct Desired {
    object: Object,
    /// The tree folder holding the body.
    dir: PathBuf,
    /// Key inside that folder (before any mount prefix).
    source_key: String,
    meta: Meta,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    New,
    Changed,
    Forced,
}

#[derive(Debug, Serialize)]
pub struct Planned {
    pub key: String,
    pub reason: Reason,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct Conflict {
    pub key: String,
    /// The snapshot object the build's object replaced.
    pub dropped: String,
}

/// What a publish did (or, with `--dry-run`, would do).
#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub dry_run: bool,
    pub desired: usize,
    pub unchanged: usize,
    pub uploads: Vec<Planned>,
    pub deletes: Vec<String>,
    pub retained: Vec<String>,
    pub conflicts: Vec<Conflict>,
    pub bytes_uploaded: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalidation: Option<crate::cdn::Invalidated>,
    pub duration_ms: u128,
}

/// The state kept for removed fingerprinted assets: key -> removal time.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Retained(BTreeMap<String, String>);

/// The record written after every publish.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub target: String,
    pub tree: Tree,
}

pub async fn publish(loaded: &Loaded, opts: &PublishOptions) -> Result<Report> {
    let started = Instant::now();
    let cfg = &loaded.config.publish;
    let target = opts.target.clone().unwrap_or_else(|| cfg.target.clone());
    let store = crate::store::open(&target, &loaded.root, &cfg.s3).await?;
    let rules = CacheRules::new(cfg)?;

    let (desired, conflicts) = desired_tree(loaded, &rules)?;
    let listing = store.list().await.context("cannot list the target")?;
    let remote: HashMap<&str, &crate::store::Listed> =
        listing.iter().map(|l| (l.key.as_str(), l)).collect();

    let mut uploads: Vec<&Desired> = Vec::new();
    let mut planned = Vec::new();
    let mut unchanged = 0;
    for d in desired.values() {
        let reason = match remote.get(d.object.key.as_str()) {
            None => Some(Reason::New),
            Some(r) if r.md5 != d.object.md5 => Some(Reason::Changed),
            Some(_) if opts.force => Some(Reason::Forced),
            Some(_) => None,
        };
        match reason {
            Some(reason) => {
                planned.push(Planned {
                    key: d.object.key.clone(),
                    reason,
                    size: d.object.size,
                });
                uploads.push(d);
            }
            None => unchanged += 1,
        }
    }

    // Deletions: remote objects no longer desired, except tusk's own and
    // recently removed fingerprinted assets.
    let candidates: Vec<&str> = listing
        .iter()
        .map(|l| l.key.as_str())
        .filter(|k| !k.starts_with(RESERVED_PREFIX) && !desired.contains_key(*k))
        .collect();
    let now = chrono::Utc::now();
    let window = chrono::Duration::days(i64::from(cfg.retain_days));
    let mut retained_state = if candidates.iter().any(|k| is_fingerprinted(k)) {
        read_retained(store.as_ref()).await?
    } else {
        Retained::default()
    };
    let before_state = serde_json::to_string(&retained_state)?;
    retained_state
        .0
        .retain(|k, _| !desired.contains_key(k) && remote.contains_key(k.as_str()));
    let mut deletes = Vec::new();
    let mut retained = Vec::new();
    for key in candidates {
        if !is_fingerprinted(key) {
            deletes.push(key.to_string());
            continue;
        }
        let since = retained_state
            .0
            .entry(key.to_string())
            .or_insert_with(|| now.to_rfc3339());
        let removed = chrono::DateTime::parse_from_rfc3339(since)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or(now);
        if now - removed >= window {
            deletes.push(key.to_string());
        } else {
            retained.push(key.to_string());
        }
    }
    retained_state.0.retain(|k, _| !deletes.contains(k));

    let max_deletes = opts.max_deletes.unwrap_or(cfg.max_deletes);
    if deletes.len() > max_deletes {
        bail!(
            "refusing to delete {} objects from {} (more than --max-deletes {}); nothing was changed. \
             If this is intended, re-run with --max-deletes {}",
            deletes.len(),
            store.describe(),
            max_deletes,
            deletes.len()
        );
    }

    let mut report = Report {
        target: store.describe(),
        dry_run: opts.dry_run,
        desired: desired.len(),
        unchanged,
        uploads: planned,
        deletes,
        retained,
        conflicts,
        bytes_uploaded: 0,
        record: None,
        invalidation: None,
        duration_ms: 0,
    };
    if opts.dry_run {
        report.duration_ms = started.elapsed().as_millis();
        return Ok(report);
    }

    // Assets first, pages second: a page never goes live before what it uses.
    let (pages, assets): (Vec<&Desired>, Vec<&Desired>) = uploads
        .into_iter()
        .partition(|d| d.object.cache_class == CacheClass::Html);
    let concurrency = cfg.concurrency.max(1);
    for phase in [assets, pages] {
        report.bytes_uploaded += upload_all(store.as_ref(), &phase, concurrency).await?;
    }
    for key in &report.deletes {
        with_retries(|| store.delete(key))
            .await
            .with_context(|| format!("cannot delete {key}"))?;
    }
    if serde_json::to_string(&retained_state)? != before_state {
        put_json(store.as_ref(), RETAINED_KEY, &retained_state).await?;
    }

    // A no-op publish costs only the listing: the previous record already
    // describes this tree.
    if report.uploads.is_empty() && report.deletes.is_empty() {
        report.duration_ms = started.elapsed().as_millis();
        return Ok(report);
    }
    let objects: Vec<Object> = desired.values().map(|d| d.object.clone()).collect();
    let record = Record {
        id: record_id(&objects),
        time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        git_commit: git_commit(&loaded.root),
        target: store.describe(),
        tree: Tree::new("publish", objects),
    };
    let key = format!("{RESERVED_PREFIX}publishes/{}.json", record.id);
    put_json(store.as_ref(), &key, &record).await?;
    report.record = Some(key);

    // Changed and deleted pages only: new ones were never cached, and
    // assets change name when they change.
    let cdn = &loaded.config.cdn;
    if cdn.provider == "cloudfront" && !opts.no_invalidate {
        let changed = report
            .uploads
            .iter()
            .filter(|u| u.reason != Reason::New)
            .filter(|u| desired[&u.key].object.cache_class == CacheClass::Html)
            .map(|u| u.key.as_str());
        let deleted = report
            .deletes
            .iter()
            .map(String::as_str)
            .filter(|k| crate::tree::cache_class_for(k) == CacheClass::Html);
        let paths = crate::cdn::invalidation_paths(changed.chain(deleted), cdn.wildcard_threshold);
        if !paths.is_empty() {
            let done = crate::cdn::invalidate(cdn, paths, &plan_hash(&report, &desired))
                .await
                .context("the publish succeeded but the CDN invalidation failed; re-run `tusk publish` to retry it")?;
            report.invalidation = Some(done);
        }
    }
    report.duration_ms = started.elapsed().as_millis();
    Ok(report)
}

/// Upload `items` with at most `concurrency` in flight; the first failure
/// stops the publish (after the uploads in flight finish).
async fn upload_all(store: &dyn Store, items: &[&Desired], concurrency: usize) -> Result<u64> {
    let mut bytes = 0;
    let mut results = stream::iter(items.iter().map(|d| async move {
        let path = d.dir.join(&d.source_key);
        let body = if d.object.redirect.is_some() {
            Vec::new()
        } else {
            tokio::fs::read(&path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?
        };
        let actual = hex::encode(<md5::Md5 as md5::Digest>::digest(&body));
        if actual != d.object.md5 {
            bail!(
                "{} changed since its tree was written (MD5 {} in the manifest, {} on disk): run the build again",
                path.display(),
                d.object.md5,
                actual
            );
        }
        let size = body.len() as u64;
        with_retries(|| store.put(&d.object.key, body.clone(), &d.object.md5, &d.meta))
            .await
            .with_context(|| format!("cannot upload {}", d.object.key))?;
        Ok::<u64, anyhow::Error>(size)
    }))
    .buffer_unordered(concurrency);
    let mut first_error = None;
    while let Some(r) = results.next().await {
        match r {
            Ok(n) => bytes += n,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(bytes),
    }
}

/// Retry transient failures with exponential backoff (3 attempts).
async fn with_retries<F, Fut, T>(mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < 3 => {
                tracing::warn!("attempt {attempt} failed, retrying in {delay:?}: {e:#}");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn put_json<T: Serialize>(store: &dyn Store, key: &str, value: &T) -> Result<()> {
    let body = serde_json::to_vec_pretty(value)?;
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&body));
    let meta = Meta {
        content_type: "application/json; charset=utf-8".into(),
        cache_control: "no-store".into(),
        ..Meta::default()
    };
    with_retries(|| store.put(key, body.clone(), &md5, &meta))
        .await
        .with_context(|| format!("cannot write {key}"))
}

async fn read_retained(store: &dyn Store) -> Result<Retained> {
    match store.get(RETAINED_KEY).await? {
        Some(f) => serde_json::from_slice(&f.body)
            .with_context(|| format!("{RETAINED_KEY} in the target is corrupt")),
        None => Ok(Retained::default()),
    }
}

/// Content-hashed file names (`site.3f2a1b9c.css`): immutable, and kept for
/// a while after they leave the tree.
pub fn is_fingerprinted(key: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\.[0-9a-f]{8,64}\.[A-Za-z0-9]+$").unwrap())
        .is_match(key)
}

/// The build tree (and the snapshot tree, when there is one) as one map
/// keyed by published key. The build wins conflicts; they are reported.
fn desired_tree(
    loaded: &Loaded,
    rules: &CacheRules,
) -> Result<(BTreeMap<String, Desired>, Vec<Conflict>)> {
    let cfg = &loaded.config.publish;
    let build_dir = loaded.output_dir();
    let build = Tree::read(&build_dir).with_context(|| {
        format!(
            "no build to publish in {}: run `tusk build` first",
            build_dir.display()
        )
    })?;
    let mut desired = BTreeMap::new();
    let mut conflicts = Vec::new();
    let snapshot_dir = loaded.root.join(&cfg.snapshot);
    if snapshot_dir.join(crate::tree::MANIFEST_NAME).is_file() {
        let snapshot = Tree::read(&snapshot_dir)?;
        mount(
            &mut desired,
            &snapshot,
            &snapshot_dir,
            &cfg.snapshot_prefix,
            rules,
        )?;
    }
    let before: BTreeMap<String, String> = desired.keys().map(|k| (k.clone(), k.clone())).collect();
    for o in &build.objects {
        let key = join_prefix(&cfg.build_prefix, &o.key);
        if before.contains_key(&key) {
            conflicts.push(Conflict {
                key: key.clone(),
                dropped: format!("snapshot:{}", o.key),
            });
        }
    }
    mount(&mut desired, &build, &build_dir, &cfg.build_prefix, rules)?;
    Ok((desired, conflicts))
}

fn mount(
    desired: &mut BTreeMap<String, Desired>,
    tree: &Tree,
    dir: &Path,
    prefix: &str,
    rules: &CacheRules,
) -> Result<()> {
    for o in &tree.objects {
        let key = join_prefix(prefix, &o.key);
        if !crate::store::valid_key(&key) || key.starts_with(RESERVED_PREFIX) {
            bail!(
                "{}: invalid key {:?} in the tree manifest",
                dir.display(),
                o.key
            );
        }
        let mut object = o.clone();
        object.key = key.clone();
        let meta = Meta {
            content_type: o.content_type.clone(),
            cache_control: rules.for_object(&object),
            content_encoding: None,
            redirect: o.redirect.clone(),
            user: BTreeMap::from([("sha256".to_string(), o.sha256.clone())]),
        };
        desired.insert(
            key,
            Desired {
                object,
                dir: dir.to_path_buf(),
                source_key: o.key.clone(),
                meta,
            },
        );
    }
    Ok(())
}

fn join_prefix(prefix: &str, key: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

/// Cache-Control per object: the first matching glob rule, else the
/// default for its cache class.
struct CacheRules {
    rules: Vec<(GlobMatcher, String)>,
    classes: HashMap<CacheClass, String>,
}

impl CacheRules {
    fn new(cfg: &PublishConfig) -> Result<CacheRules> {
        let mut rules = Vec::new();
        for r in &cfg.rules {
            let glob = Glob::new(&r.glob)
                .with_context(|| format!("publish.rules: invalid glob {:?}", r.glob))?;
            rules.push((glob.compile_matcher(), r.cache_control.clone()));
        }
        let c = &cfg.cache_control;
        let classes = HashMap::from([
            (CacheClass::Html, c.html.clone()),
            (CacheClass::Fingerprinted, c.fingerprinted.clone()),
            (CacheClass::Asset, c.asset.clone()),
            (CacheClass::Feed, c.feed.clone()),
            (CacheClass::Redirect, c.redirect.clone()),
        ]);
        Ok(CacheRules { rules, classes })
    }

    fn for_object(&self, o: &Object) -> String {
        if let Some((_, cc)) = self.rules.iter().find(|(m, _)| m.is_match(&o.key)) {
            return cc.clone();
        }
        let class = if o.cache_class == CacheClass::Asset && is_fingerprinted(&o.key) {
            CacheClass::Fingerprinted
        } else {
            o.cache_class
        };
        self.classes[&class].clone()
    }
}

/// A hash of what a publish changes: the same plan gives the same hash.
fn plan_hash(report: &Report, desired: &BTreeMap<String, Desired>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for u in &report.uploads {
        h.update(u.key.as_bytes());
        h.update(desired[&u.key].object.md5.as_bytes());
    }
    h.update(b"\0deletes\0");
    for d in &report.deletes {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// A stable id: time plus a hash of the tree, so two publishes of the same
/// tree in the same second share it.
fn record_id(objects: &[Object]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for o in objects {
        h.update(o.key.as_bytes());
        h.update(o.sha256.as_bytes());
    }
    let hash = hex::encode(h.finalize());
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        &hash[..12]
    )
}

fn git_commit(root: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprinted_names() {
        assert!(is_fingerprinted("css/site.3f2a1b9c.css"));
        assert!(!is_fingerprinted("css/site.css"));
        assert!(!is_fingerprinted("2024/01/05/hello.html"));
    }

    #[test]
    fn prefixes_join() {
        assert_eq!(join_prefix("", "a/b"), "a/b");
        assert_eq!(join_prefix("/live/", "a"), "live/a");
    }
}
