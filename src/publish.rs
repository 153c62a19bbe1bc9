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
use crate::encode::Encoded;
use crate::store::{Listed, Meta, Store};
use crate::tree::{CacheClass, Object, Tree};

/// Keys under this prefix belong to tusk (records, retention state) and are
/// never part of a tree nor deleted by a sync.
pub const RESERVED_PREFIX: &str = ".tusk/";
const RETAINED_KEY: &str = ".tusk/retained.json";
const RECORDS_PREFIX: &str = ".tusk/publishes/";
/// Bodies replaced or deleted by a publish, kept by stored MD5 so
/// `--rollback` can restore them with server-side copies.
const ARCHIVE_PREFIX: &str = ".tusk/objects/";

#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub dry_run: bool,
    pub force: bool,
    pub max_deletes: Option<usize>,
    pub target: Option<String>,
    /// Skip the CDN invalidation.
    pub no_invalidate: bool,
    /// Restore the tree of this publish record (id or unique id prefix).
    pub rollback: Option<String>,
    /// Draw a progress bar (a terminal); otherwise plain progress lines.
    pub progress_bar: bool,
    /// No progress output at all.
    pub quiet: bool,
}

/// Where the bytes of an object to upload come from.
#[derive(Debug, Clone)]
enum Body {
    /// A file of a tree folder (build or snapshot output).
    File(PathBuf),
    /// A redirect: no body.
    Empty,
    /// An object already in the store with the same stored bytes
    /// (rollback): copied server-side, never downloaded.
    Copy(String),
}

/// One object of the desired tree, its headers and where its body is.
#[derive(Debug, Clone)]
struct Desired {
    object: Object,
    body: Body,
    meta: Meta,
    /// Set when the object is stored precompressed.
    encoded: Option<Encoded>,
}

impl Desired {
    /// MD5 of the bytes as stored (encoded, when precompressed).
    fn stored_md5(&self) -> &str {
        self.encoded
            .as_ref()
            .map_or(&self.object.md5, |e| e.md5.as_str())
    }

    fn stored_size(&self) -> u64 {
        self.encoded.as_ref().map_or(self.object.size, |e| e.size)
    }
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
    /// The record whose tree this publish restored (`--rollback`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
    pub desired: usize,
    pub unchanged: usize,
    pub uploads: Vec<Planned>,
    pub deletes: Vec<String>,
    pub retained: Vec<String>,
    pub conflicts: Vec<Conflict>,
    pub bytes_uploaded: u64,
    /// Replaced or deleted bodies copied to the rollback archive.
    pub archived: usize,
    /// Archive entries older than `publish.rollback_days` removed.
    pub pruned: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalidation: Option<crate::cdn::Invalidated>,
    pub duration_ms: u128,
}

/// The state kept for removed fingerprinted assets: key -> removal time.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Retained(BTreeMap<String, String>);

/// The record written after every publish that changed something.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub target: String,
    pub tree: Tree,
    /// Objects stored precompressed: key -> encoding and stored MD5.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encoded: BTreeMap<String, Encoded>,
}

/// An object as the store holds it after a successful publish (for
/// `tusk drill`): its tree entry, the MD5 of the stored bytes (encoded,
/// when precompressed) and its headers.
#[derive(Debug, Clone)]
pub struct Expected {
    pub object: Object,
    pub stored_md5: String,
    pub meta: Meta,
}

/// The desired tree (build + snapshot) as `publish` would store it.
pub fn expected(loaded: &Loaded) -> Result<Vec<Expected>> {
    let rules = CacheRules::new(&loaded.config.publish)?;
    let (mut desired, _) = desired_tree(loaded, &rules)?;
    encode_all(loaded, &mut desired)?;
    Ok(desired
        .into_values()
        .map(|d| Expected {
            stored_md5: d.stored_md5().to_string(),
            object: d.object,
            meta: d.meta,
        })
        .collect())
}

/// One listing of the store with the MD5 of every object's stored bytes.
pub async fn stored(store: &dyn Store, concurrency: usize) -> Result<Vec<Listed>> {
    list_stored_md5s(store, concurrency).await
}

/// The ids of the publish records in the target, oldest first.
pub async fn history(loaded: &Loaded, target: Option<&str>) -> Result<Vec<String>> {
    let cfg = &loaded.config.publish;
    let target = target.unwrap_or(&cfg.target);
    let store = crate::store::open(target, &loaded.root, &cfg.s3).await?;
    let listing = store.list().await.context("cannot list the target")?;
    Ok(record_ids(&listing))
}

fn record_ids(listing: &[Listed]) -> Vec<String> {
    let mut ids: Vec<String> = listing
        .iter()
        .filter_map(|l| l.key.strip_prefix(RECORDS_PREFIX)?.strip_suffix(".json"))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

pub async fn publish(loaded: &Loaded, opts: &PublishOptions) -> Result<Report> {
    let started = Instant::now();
    let cfg = &loaded.config.publish;
    let target = opts.target.clone().unwrap_or_else(|| cfg.target.clone());
    let store = crate::store::open(&target, &loaded.root, &cfg.s3).await?;
    let rules = CacheRules::new(cfg)?;

    let listing = list_stored_md5s(store.as_ref(), cfg.concurrency).await?;
    let (desired, conflicts, rollback_of) = match &opts.rollback {
        None => {
            let (mut desired, conflicts) = desired_tree(loaded, &rules)?;
            encode_all(loaded, &mut desired)?;
            (desired, conflicts, None)
        }
        Some(id) => {
            let (id, desired) = rollback_tree(loaded, store.as_ref(), &listing, id, &rules).await?;
            (desired, Vec::new(), Some(id))
        }
    };
    let remote: HashMap<&str, &Listed> = listing.iter().map(|l| (l.key.as_str(), l)).collect();

    let mut uploads: Vec<&Desired> = Vec::new();
    let mut planned = Vec::new();
    let mut unchanged = 0;
    for d in desired.values() {
        let reason = match remote.get(d.object.key.as_str()) {
            None => Some(Reason::New),
            Some(r) if r.md5 != d.stored_md5() => Some(Reason::Changed),
            Some(_) if opts.force => Some(Reason::Forced),
            Some(_) => None,
        };
        match reason {
            Some(reason) => {
                planned.push(Planned {
                    key: d.object.key.clone(),
                    reason,
                    size: d.stored_size(),
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
        rollback_of,
        desired: desired.len(),
        unchanged,
        uploads: planned,
        deletes,
        retained,
        conflicts,
        bytes_uploaded: 0,
        archived: 0,
        pruned: 0,
        record: None,
        invalidation: None,
        duration_ms: 0,
    };
    if opts.dry_run {
        report.duration_ms = started.elapsed().as_millis();
        return Ok(report);
    }

    // Keep what is about to be replaced or deleted, for --rollback.
    if cfg.rollback_days > 0 {
        let replaced = report
            .uploads
            .iter()
            .filter(|u| u.reason == Reason::Changed)
            .map(|u| u.key.as_str());
        let to_archive = archive_plan(
            &listing,
            replaced.chain(report.deletes.iter().map(String::as_str)),
        );
        report.archived = to_archive.len();
        stream::iter(to_archive.into_iter().map(|(from, to)| {
            let store = store.as_ref();
            async move {
                let meta = Meta {
                    content_type: "application/octet-stream".into(),
                    cache_control: "no-store".into(),
                    ..Meta::default()
                };
                with_retries(|| store.copy(&from, &to, &meta))
                    .await
                    .with_context(|| format!("cannot keep a copy of {from} for rollback"))
            }
        }))
        .buffer_unordered(cfg.concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    }

    // Assets first, pages second: a page never goes live before what it uses.
    let (pages, assets): (Vec<&Desired>, Vec<&Desired>) = uploads
        .into_iter()
        .partition(|d| d.object.cache_class == CacheClass::Html);
    let progress = Progress::new(opts, (pages.len() + assets.len()) as u64);
    let concurrency = cfg.concurrency.max(1);
    for phase in [assets, pages] {
        report.bytes_uploaded += upload_all(store.as_ref(), &phase, concurrency, &progress).await?;
    }
    progress.finish();
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
    let expired = expired_archive(&listing, now, cfg.rollback_days);
    for key in &expired {
        with_retries(|| store.delete(key))
            .await
            .with_context(|| format!("cannot prune {key}"))?;
    }
    report.pruned = expired.len();
    let objects: Vec<Object> = desired.values().map(|d| d.object.clone()).collect();
    let record = Record {
        id: record_id(&objects),
        time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        git_commit: git_commit(&loaded.root),
        target: store.describe(),
        tree: Tree::new("publish", objects),
        encoded: desired
            .values()
            .filter_map(|d| Some((d.object.key.clone(), d.encoded.clone()?)))
            .collect(),
    };
    let key = format!("{RECORDS_PREFIX}{}.json", record.id);
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

/// Server-side copies (`from`, `to`) that keep the current bodies of
/// `keys` in the archive, one per distinct body not archived yet.
fn archive_plan<'a>(
    listing: &[Listed],
    keys: impl Iterator<Item = &'a str>,
) -> Vec<(String, String)> {
    let by_key: HashMap<&str, &Listed> = listing.iter().map(|l| (l.key.as_str(), l)).collect();
    let mut seen: std::collections::HashSet<String> = listing
        .iter()
        .filter_map(|l| l.key.strip_prefix(ARCHIVE_PREFIX))
        .map(str::to_string)
        .collect();
    let mut copies = Vec::new();
    for key in keys {
        if let Some(l) = by_key.get(key) {
            if seen.insert(l.md5.clone()) {
                copies.push((key.to_string(), format!("{ARCHIVE_PREFIX}{}", l.md5)));
            }
        }
    }
    copies
}

/// Archive entries older than `days`.
fn expired_archive(
    listing: &[Listed],
    now: chrono::DateTime<chrono::Utc>,
    days: u32,
) -> Vec<String> {
    let window = chrono::Duration::days(i64::from(days.max(1)));
    listing
        .iter()
        .filter(|l| l.key.starts_with(ARCHIVE_PREFIX))
        .filter(|l| {
            chrono::DateTime::parse_from_rfc3339(&l.modified)
                .is_ok_and(|t| now - t.with_timezone(&chrono::Utc) >= window)
        })
        .map(|l| l.key.clone())
        .collect()
}

/// One listing of the store. Multipart uploads have ETags that are not
/// MD5s (`"…-3"`); for those the MD5 kept in metadata is read with one
/// HEAD each, so nothing is ever downloaded to compare.
async fn list_stored_md5s(store: &dyn Store, concurrency: usize) -> Result<Vec<Listed>> {
    let mut listing = store.list().await.context("cannot list the target")?;
    let multipart: Vec<usize> = (0..listing.len())
        .filter(|&i| listing[i].md5.contains('-'))
        .collect();
    let heads: Vec<(usize, Option<String>)> = stream::iter(multipart)
        .map(|i| {
            let key = listing[i].key.clone();
            async move {
                let meta = with_retries(|| store.head(&key))
                    .await
                    .with_context(|| format!("cannot read the metadata of {key}"))?;
                Ok::<_, anyhow::Error>((i, meta.and_then(|m| m.user.get("md5").cloned())))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    for (i, md5) in heads {
        if let Some(md5) = md5 {
            listing[i].md5 = md5;
        }
    }
    Ok(listing)
}

/// Decide which objects are stored precompressed and compute their
/// encoded MD5s (cached by content hash, so a no-op publish is cheap).
fn encode_all(loaded: &Loaded, desired: &mut BTreeMap<String, Desired>) -> Result<()> {
    use rayon::prelude::*;
    let encoding = loaded.config.publish.compress.as_str();
    if encoding == "none" {
        return Ok(());
    }
    let mut cache = crate::encode::Cache::load(&loaded.root);
    let todo: Vec<(String, PathBuf, String)> = desired
        .values()
        .filter(|d| crate::encode::compressible(&d.object.content_type, d.object.size))
        .filter_map(|d| match &d.body {
            Body::File(path) if cache.get(encoding, &d.object.sha256).is_none() => {
                Some((d.object.sha256.clone(), path.clone(), d.object.md5.clone()))
            }
            _ => None,
        })
        .collect();
    let computed: Vec<(String, Encoded)> = todo
        .par_iter()
        .map(|(sha256, path, _)| {
            let body =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let encoded = crate::encode::encode(encoding, &body)?;
            Ok((
                sha256.clone(),
                Encoded {
                    encoding: encoding.to_string(),
                    md5: crate::tree::md5_hex(&encoded),
                    size: encoded.len() as u64,
                },
            ))
        })
        .collect::<Result<_>>()?;
    for (sha256, encoded) in computed {
        cache.insert(&sha256, encoded);
    }
    for d in desired.values_mut() {
        if !crate::encode::compressible(&d.object.content_type, d.object.size) {
            continue;
        }
        if let Some(encoded) = cache.get(encoding, &d.object.sha256) {
            d.meta.content_encoding = Some(encoding.to_string());
            d.meta.user.insert("md5".into(), encoded.md5.clone());
            d.encoded = Some(encoded.clone());
        }
    }
    let live = desired.values().map(|d| d.object.sha256.as_str()).collect();
    if let Err(e) = cache.save(&live) {
        tracing::warn!("cannot save the compression cache: {e:#}");
    }
    Ok(())
}

/// The desired tree of a publish record, with each body found where it
/// still is: under its own key, under another key with the same stored
/// bytes (copied server-side), or in the local build or snapshot. Fails
/// before changing anything when some body is nowhere.
async fn rollback_tree(
    loaded: &Loaded,
    store: &dyn Store,
    listing: &[Listed],
    id: &str,
    rules: &CacheRules,
) -> Result<(String, BTreeMap<String, Desired>)> {
    let ids = record_ids(listing);
    let matching: Vec<&String> = ids.iter().filter(|i| i.starts_with(id)).collect();
    let id = match matching.as_slice() {
        [one] => (*one).clone(),
        [] => bail!(
            "no publish record {id:?} in {}; the records are: {}",
            store.describe(),
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        ),
        many => bail!(
            "{id:?} matches {} publish records: {}",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let key = format!("{RECORDS_PREFIX}{id}.json");
    let fetched = store
        .get(&key)
        .await?
        .with_context(|| format!("{key} vanished from {}", store.describe()))?;
    let record: Record = serde_json::from_slice(&fetched.body)
        .with_context(|| format!("{key} in {} is corrupt", store.describe()))?;

    let cfg = &loaded.config.publish;
    let by_md5: HashMap<&str, &str> = listing
        .iter()
        .filter(|l| !l.key.starts_with(RESERVED_PREFIX) || l.key.starts_with(ARCHIVE_PREFIX))
        .map(|l| (l.md5.as_str(), l.key.as_str()))
        .collect();
    let remote: HashMap<&str, &str> = listing
        .iter()
        .map(|l| (l.key.as_str(), l.md5.as_str()))
        .collect();
    let local_dirs = [
        (cfg.build_prefix.as_str(), loaded.output_dir()),
        (
            cfg.snapshot_prefix.as_str(),
            loaded.root.join(&loaded.config.snapshot.output),
        ),
    ];
    let mut desired = BTreeMap::new();
    let mut missing = Vec::new();
    for object in &record.tree.objects {
        if !crate::store::valid_key(&object.key) || object.key.starts_with(RESERVED_PREFIX) {
            bail!(
                "cannot roll back to {id}: invalid key {:?} in its record; nothing was changed",
                object.key
            );
        }
        let encoded = record.encoded.get(&object.key).cloned();
        let stored_md5 = encoded.as_ref().map_or(&object.md5, |e| &e.md5);
        let body = if object.redirect.is_some() && object.size == 0 {
            Some(Body::Empty)
        } else if remote.get(object.key.as_str()) == Some(&stored_md5.as_str()) {
            Some(Body::Copy(object.key.clone()))
        } else if let Some(from) = by_md5.get(stored_md5.as_str()) {
            Some(Body::Copy(from.to_string()))
        } else {
            local_dirs.iter().find_map(|(prefix, dir)| {
                let rel = strip_prefix(prefix, &object.key)?;
                refuse_symlinks(dir, rel).ok()?;
                let path = dir.join(rel);
                let bytes = std::fs::read(&path).ok()?;
                (crate::tree::md5_hex(&bytes) == object.md5).then_some(Body::File(path))
            })
        };
        let Some(body) = body else {
            missing.push(object.key.clone());
            continue;
        };
        let mut meta = meta_for(object, rules);
        if let Some(e) = &encoded {
            meta.content_encoding = Some(e.encoding.clone());
            meta.user.insert("md5".into(), e.md5.clone());
        }
        desired.insert(
            object.key.clone(),
            Desired {
                object: object.clone(),
                body,
                meta,
                encoded,
            },
        );
    }
    if !missing.is_empty() {
        missing.truncate(20);
        bail!(
            "cannot roll back to {id}: {} object(s) of that publish are neither in {} nor in the local build or snapshot (for example {}); nothing was changed",
            record.tree.objects.len() - desired.len(),
            store.describe(),
            missing.join(", ")
        );
    }
    Ok((id, desired))
}

/// Progress of the uploads: a bar on a terminal, a line per tenth in logs.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    quiet: bool,
}

impl Progress {
    fn new(opts: &PublishOptions, total: u64) -> Progress {
        let bar = (opts.progress_bar && !opts.quiet && total > 0).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} uploading [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Progress {
            bar,
            total,
            done: Default::default(),
            quiet: opts.quiet,
        }
    }

    fn inc(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if !self.quiet && self.total >= 100 && done.is_multiple_of(self.total / 10) => {
                eprintln!("uploaded {done}/{} objects", self.total);
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Upload `items` with at most `concurrency` in flight; the first failure
/// stops the publish (after the uploads in flight finish).
async fn upload_all(
    store: &dyn Store,
    items: &[&Desired],
    concurrency: usize,
    progress: &Progress,
) -> Result<u64> {
    let mut bytes = 0;
    let mut results = stream::iter(items.iter().map(|d| async move {
        let size = upload(store, d).await?;
        progress.inc();
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

/// Upload one object, checking its bytes against the tree first.
async fn upload(store: &dyn Store, d: &Desired) -> Result<u64> {
    let key = &d.object.key;
    let body = match &d.body {
        Body::Copy(from) => {
            with_retries(|| store.copy(from, key, &d.meta))
                .await
                .with_context(|| format!("cannot copy {from} to {key}"))?;
            return Ok(0);
        }
        Body::Empty => Vec::new(),
        Body::File(path) => {
            let raw = tokio::fs::read(path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            let actual = crate::tree::md5_hex(&raw);
            if actual != d.object.md5 {
                bail!(
                    "{} changed since its tree was written (MD5 {} in the manifest, {} on disk): run the build again",
                    path.display(),
                    d.object.md5,
                    actual
                );
            }
            match &d.encoded {
                Some(e) => {
                    let encoding = e.encoding.clone();
                    tokio::task::spawn_blocking(move || crate::encode::encode(&encoding, &raw))
                        .await??
                }
                None => raw,
            }
        }
    };
    let md5 = crate::tree::md5_hex(&body);
    if md5 != d.stored_md5() {
        bail!(
            "{key}: the encoded body's MD5 {md5} differs from the planned {}; delete .tusk/cache and publish again",
            d.stored_md5()
        );
    }
    let size = body.len() as u64;
    with_retries(|| store.put(key, body.clone(), &md5, &d.meta))
        .await
        .with_context(|| format!("cannot upload {key}"))?;
    Ok(size)
}

/// Retry transient failures with exponential backoff (3 attempts).
pub(crate) async fn with_retries<F, Fut, T>(mut f: F) -> Result<T>
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
    let md5 = crate::tree::md5_hex(&body);
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
    let snapshot_dir = loaded.root.join(&loaded.config.snapshot.output);
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
        let body = if o.redirect.is_some() && o.size == 0 {
            Body::Empty
        } else {
            refuse_symlinks(dir, &o.key)?;
            Body::File(dir.join(&o.key))
        };
        let meta = meta_for(&object, rules);
        desired.insert(
            key,
            Desired {
                object,
                body,
                meta,
                encoded: None,
            },
        );
    }
    Ok(())
}

/// A symlink in a tree folder would upload whatever it points to, from
/// anywhere on the machine.
fn refuse_symlinks(dir: &Path, key: &str) -> Result<()> {
    let mut path = dir.to_path_buf();
    for segment in key.split('/') {
        path.push(segment);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            bail!(
                "{}: is a symlink; publish refuses symlinks in {} (they could upload files from outside it); nothing was uploaded",
                path.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// Keys tusk keeps for itself: its records (`.tusk/`), the manifest and
/// the local bucket's sidecars. A page there would break every publish.
pub fn reserved_key(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX)
        || key == crate::tree::MANIFEST_NAME
        || !crate::store::valid_key(key)
}

/// The headers of an object (before any precompression).
fn meta_for(object: &Object, rules: &CacheRules) -> Meta {
    let mut meta = Meta {
        content_type: object.content_type.clone(),
        cache_control: rules.for_object(object),
        content_encoding: None,
        redirect: object.redirect.clone(),
        user: BTreeMap::from([
            ("md5".to_string(), object.md5.clone()),
            ("sha256".to_string(), object.sha256.clone()),
        ]),
    };
    if let Some(status) = object.redirect_status {
        meta.user
            .insert(crate::store::REDIRECT_STATUS.into(), status.to_string());
    }
    meta
}

/// `key` relative to a mount `prefix`, if it is under it.
fn strip_prefix<'a>(prefix: &str, key: &'a str) -> Option<&'a str> {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        Some(key)
    } else {
        key.strip_prefix(prefix)?.strip_prefix('/')
    }
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
        h.update(desired[&u.key].stored_md5().as_bytes());
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
