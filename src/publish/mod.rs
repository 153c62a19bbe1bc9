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
//! 5. write the list of build-owned keys (`store::built`) when it
//!    changed, then a publish record last (unless nothing changed).
//!
//! All of it under a lock in the state location, one publish at a time.

mod desired;
pub(crate) mod encode;
mod lock;
mod plan;
mod rollback;

use desired::{desired_tree, encode_all, Body, CacheRules, Desired};
pub(crate) use desired::{expected, Conflict, Expected};
pub(crate) use plan::{Planned, Reason};
pub(crate) use rollback::{history, Purge, Purged};

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::config::Loaded;
use crate::store::built::Built;
use crate::store::layout::{is_state_key, BUILT_KEY, RETAINED_KEY};
use crate::store::{with_retries, ETag, Listed, Meta, Store};
use crate::tree::CacheClass;

#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub dry_run: bool,
    pub force: bool,
    pub max_deletes: Option<usize>,
    /// Lift the relative delete guard (`publish.max_delete_share`).
    pub allow_mass_delete: bool,
    pub target: Option<String>,
    /// Restore the tree of this publish record (id or unique id prefix).
    pub rollback: Option<String>,
    /// Draw a progress bar (a terminal); otherwise plain progress lines.
    pub progress_bar: bool,
    /// No progress output at all.
    pub quiet: bool,
}

/// What a publish did (or, with `--dry-run`, would do).
#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    /// Where the records, the archive and the lock live (never served).
    pub state: String,
    pub dry_run: bool,
    /// The record whose tree this publish restored (`--rollback`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
    pub desired: usize,
    pub unchanged: usize,
    pub uploads: Vec<Planned>,
    /// Objects whose bytes are unchanged but whose headers changed: copied
    /// onto themselves with the new headers, never uploaded again.
    pub headers_changed: Vec<String>,
    pub deletes: Vec<String>,
    pub retained: Vec<String>,
    pub conflicts: Vec<Conflict>,
    pub bytes_uploaded: u64,
    /// The bytes the planned uploads send (what a dry run would upload).
    pub bytes_planned: u64,
    /// Replaced or deleted bodies copied to the rollback archive.
    pub archived: usize,
    /// Archive entries older than `publish.rollback_days` removed.
    pub pruned: usize,
    /// Records and archived bodies moved out of the served target (kept
    /// there by older versions), or that a dry run would move.
    pub migrated: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    pub duration_ms: u128,
    /// Pages a CDN may still cache in their old form, for the invalidation
    /// the command makes after the publish.
    #[serde(skip)]
    pub stale: Vec<String>,
    /// Identifies this publish's changes: a retried publish invalidates
    /// with the same caller reference.
    #[serde(skip)]
    pub plan_hash: String,
}

/// One listing of the store with the MD5 of every object's stored bytes,
/// for `tusk drill`: an ETag is taken for the MD5 only when it is the
/// one `expected` has (see [`Known`]), so SSE-KMS ETags cost a HEAD each
/// instead of reading as changed bytes.
pub async fn stored(
    store: &dyn Store,
    expected: &[Expected],
    concurrency: usize,
) -> Result<Vec<Listed>> {
    let listing = store.list().await.context("cannot list the target")?;
    let known = Known {
        recorded: &HashMap::new(),
        wanted: Some(
            expected
                .iter()
                .map(|e| (e.object.key.as_str(), e.stored_md5.as_str()))
                .collect(),
        ),
    };
    resolve_md5s(store, listing, &known, concurrency).await
}

/// Publish as a list of steps: what should be there, what differs, keep
/// what is replaced, upload assets then pages, delete, record.
pub async fn publish(loaded: &Loaded, opts: &PublishOptions) -> Result<Report> {
    let started = Instant::now();
    let cfg = &loaded.config.publish;
    let target = opts.target.as_deref().unwrap_or(&cfg.target);
    let store = crate::store::open(loaded, target).await?;
    let state = crate::store::open_state(loaded, target).await?;
    let state = State {
        store: state.as_ref(),
        ready: std::sync::atomic::AtomicBool::new(
            with_retries(|| state.exists())
                .await
                .with_context(|| format!("cannot reach the state location {}", state.describe()))?,
        ),
    };
    // A dry run changes nothing and takes no lock.
    if opts.dry_run {
        return steps(loaded, opts, store.as_ref(), &state, started).await;
    }
    state.ready().await?;
    let lock = lock::acquire(state.store, lock_ttl(loaded)).await?;
    let result = lock
        .hold_while(steps(loaded, opts, store.as_ref(), &state, started))
        .await;
    if let Err(e) = lock.release().await {
        tracing::warn!("{e:#}; it expires by itself");
    }
    result
}

fn lock_ttl(loaded: &Loaded) -> std::time::Duration {
    std::time::Duration::from_secs(loaded.config.publish.lock_secs)
}

/// The steps of one publish, under the lock (unless a dry run).
async fn steps(
    loaded: &Loaded,
    opts: &PublishOptions,
    store: &dyn Store,
    state: &State<'_>,
    started: Instant,
) -> Result<Report> {
    let cfg = &loaded.config.publish;
    let mut listed = store.list().await.context("cannot list the target")?;
    let migrated = rollback::migrate(store, state.store, &listed, opts.dry_run).await?;
    listed.retain(|l| !is_state_key(&l.key));
    // The ETags as listed, for the record of objects this publish keeps.
    let mut etags: HashMap<String, ETag> = listed
        .iter()
        .map(|l| (l.key.clone(), l.md5.clone()))
        .collect();
    let state_listing = state.listing().await?;
    let last = rollback::last_publish(state.store, &state_listing).await?;
    let rules = CacheRules::new(cfg)?;
    let (desired, conflicts, rollback_of, listing, built) = match &opts.rollback {
        None => {
            let (mut desired, conflicts, built) = desired_tree(loaded, &rules)?;
            encode_all(loaded, &mut desired)?;
            let known = Known {
                recorded: &last.stored,
                wanted: Some(
                    desired
                        .iter()
                        .map(|(k, d)| (k.as_str(), d.stored_md5()))
                        .collect(),
                ),
            };
            let listing = resolve_md5s(store, listed, &known, cfg.concurrency).await?;
            (desired, conflicts, None, listing, built)
        }
        Some(id) => {
            let known = Known {
                recorded: &last.stored,
                wanted: None,
            };
            let listing = resolve_md5s(store, listed, &known, cfg.concurrency).await?;
            let stores = rollback::Stores {
                target: store,
                state: state.store,
                listing: &listing,
                state_listing: &state_listing,
            };
            let (id, desired, built) = rollback::tree(loaded, &stores, id, &rules).await?;
            (desired, Vec::new(), Some(id), listing, built)
        }
    };
    let uploads = plan::uploads(&desired, &listing, opts.force);
    let headers = plan::header_changes(&desired, &uploads, &last.meta);
    let now = chrono::Utc::now();
    let retain = plan::Retention {
        days: cfg.retain_days,
        classes: &last.classes,
    };
    let removals = plan::removals(state.store, &desired, &listing, &retain, now).await?;
    let guard = plan::DeleteGuard {
        max: opts.max_deletes.unwrap_or(cfg.max_deletes),
        share: cfg.max_delete_share,
        allow_mass: opts.allow_mass_delete,
    };
    plan::guard_deletes(&removals.deletes, &listing, &guard, store)?;
    let mut report = Report {
        target: store.describe(),
        state: state.store.describe(),
        dry_run: opts.dry_run,
        rollback_of,
        desired: desired.len(),
        unchanged: uploads.unchanged - headers.len(),
        bytes_planned: uploads.planned.iter().map(|u| u.size).sum(),
        uploads: uploads.planned,
        headers_changed: headers.iter().map(|d| d.object.key.clone()).collect(),
        deletes: removals.deletes,
        retained: removals.retained,
        conflicts,
        bytes_uploaded: 0,
        archived: 0,
        pruned: 0,
        migrated,
        record: None,
        stale: Vec::new(),
        plan_hash: String::new(),
        duration_ms: 0,
    };
    if opts.dry_run {
        report.duration_ms = started.elapsed().as_millis();
        return Ok(report);
    }
    let archives = report.uploads.iter().any(|u| u.reason == Reason::Changed);
    if cfg.rollback_days > 0 && (archives || !report.deletes.is_empty()) {
        state.ready().await?;
        report.archived = rollback::archive(
            store,
            state.store,
            &listing,
            &state_listing,
            &report,
            cfg.concurrency,
        )
        .await?;
    }
    let (sent, written) =
        upload_in_order(store, state.store, uploads.todo, opts, cfg.concurrency).await?;
    report.bytes_uploaded = sent;
    etags.extend(written);
    etags.extend(update_headers(store, &headers, cfg.concurrency).await?);
    let changed = !(report.uploads.is_empty()
        && report.headers_changed.is_empty()
        && report.deletes.is_empty());
    if changed || removals.state_changed {
        state.ready().await?;
    }
    for key in &report.deletes {
        with_retries(|| store.delete(key))
            .await
            .with_context(|| format!("cannot delete {key}"))?;
    }
    if removals.state_changed {
        put_json(state.store, RETAINED_KEY, &removals.state).await?;
    }
    record_built(state, &built).await?;
    // A no-op publish costs only the listing: the previous record already
    // describes this tree.
    if !changed {
        report.duration_ms = started.elapsed().as_millis();
        return Ok(report);
    }
    report.pruned = rollback::prune(state.store, &state_listing, now, cfg.rollback_days).await?;
    let tree = rollback::Published {
        desired: &desired,
        etags: &etags,
        built: &built,
    };
    report.record = Some(rollback::record(loaded, store, state.store, &tree, now).await?);
    report.stale = plan::stale_pages(&report, &desired);
    report.plan_hash = plan::plan_hash(&report, &desired);
    report.duration_ms = started.elapsed().as_millis();
    Ok(report)
}

/// Who owns what, after the objects and before any CDN invalidation:
/// written when it differs from the list there (also after a no-op
/// publish, so a target published by an older version gets one).
async fn record_built(state: &State<'_>, built: &Built) -> Result<()> {
    let there = match state.ready.load(std::sync::atomic::Ordering::Relaxed) {
        true => Built::load(state.store).await.unwrap_or_else(|e| {
            tracing::warn!("{e:#}; writing it again");
            Built::default()
        }),
        false => Built::default(),
    };
    if there == *built {
        return Ok(());
    }
    state.ready().await?;
    put_json(state.store, BUILT_KEY, built).await
}

/// `--purge`: remove a body from the history (see [`rollback::purge`]),
/// under the publish lock so no publish records it again meanwhile.
pub async fn purge(loaded: &Loaded, target: Option<&str>, what: &Purge) -> Result<Purged> {
    let target = target.unwrap_or(&loaded.config.publish.target);
    let state = crate::store::open_state(loaded, target).await?;
    let lock = lock::acquire(state.as_ref(), lock_ttl(loaded)).await?;
    let result = lock.hold_while(rollback::purge(state.as_ref(), what)).await;
    if let Err(e) = lock.release().await {
        tracing::warn!("{e:#}; it expires by itself");
    }
    result
}

/// The state location, created (a private bucket) on its first write so
/// a dry run or a failed first publish leaves nothing behind.
struct State<'a> {
    store: &'a dyn Store,
    ready: std::sync::atomic::AtomicBool,
}

impl State<'_> {
    async fn ready(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if !self.ready.load(Ordering::Relaxed) {
            with_retries(|| self.store.create()).await?;
            tracing::info!(
                "created the private state location {}",
                self.store.describe()
            );
            self.ready.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn listing(&self) -> Result<Vec<Listed>> {
        if !self.ready.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(Vec::new());
        }
        self.store
            .list()
            .await
            .with_context(|| format!("cannot list the state location {}", self.store.describe()))
    }
}

/// New headers on stored bytes: a server-side copy of each object onto
/// itself (S3: CopyObject, `MetadataDirective=REPLACE`). Returns each
/// copy's ETag.
async fn update_headers(
    store: &dyn Store,
    items: &[&Desired],
    concurrency: usize,
) -> Result<Vec<(String, ETag)>> {
    until_failure(
        items.iter(),
        concurrency,
        "header updates",
        |d| async move {
            let key = &d.object.key;
            let etag = with_retries(|| store.copy(key, key, &d.meta))
                .await
                .with_context(|| format!("cannot update the headers of {key}"))?;
            Ok((key.clone(), etag))
        },
    )
    .await
}

/// Assets first, pages second: a page never goes live before what it
/// uses. Returns the bytes sent and the ETag of each object stored.
async fn upload_in_order(
    store: &dyn Store,
    state: &dyn Store,
    uploads: Vec<&Desired>,
    opts: &PublishOptions,
    concurrency: usize,
) -> Result<(u64, Vec<(String, ETag)>)> {
    let (pages, assets): (Vec<&Desired>, Vec<&Desired>) = uploads
        .into_iter()
        .partition(|d| d.object.cache_class == CacheClass::Html);
    let progress = Progress::new(opts, (pages.len() + assets.len()) as u64);
    let (mut sent, mut etags) = (0, Vec::new());
    for phase in [assets, pages] {
        for (key, size, etag) in
            upload_all(store, state, &phase, concurrency.max(1), &progress).await?
        {
            sent += size;
            etags.push((key, etag));
        }
    }
    progress.finish();
    Ok((sent, etags))
}

/// What tells the MD5 of a listed object's bytes from its ETag.
struct Known<'a> {
    /// The ETag and MD5 the last publish recorded per key.
    recorded: &'a HashMap<String, rollback::Stored>,
    /// The MD5 of the bytes wanted per key (this publish's objects, what
    /// the drill expects), when known.
    wanted: Option<HashMap<&'a str, &'a str>>,
}

impl Known<'_> {
    /// The MD5 of `l`'s bytes when its ETag says it, None when only the
    /// metadata can. An ETag is the MD5 the last publish recorded with it;
    /// or, 32 hex digits equal to the MD5 of bytes this publish wants or
    /// the last one stored, that MD5 (no other ETag matches a given MD5).
    /// Any other ETag may be no MD5 (SSE-KMS, SSE-C): trusted only
    /// when nothing is known to compare it with (a rollback's listing).
    fn md5(&self, l: &Listed) -> Option<String> {
        let recorded = self.recorded.get(&l.key);
        if let Some(r) = recorded.filter(|r| !r.etag.is_empty() && r.etag == l.md5) {
            return Some(r.md5.clone());
        }
        if !crate::store::is_md5(&l.md5) {
            return None;
        }
        let wanted = match &self.wanted {
            None => return Some(l.md5.clone()),
            Some(w) => w.get(l.key.as_str()).copied(),
        };
        let meant = wanted == Some(l.md5.as_str()) || recorded.is_some_and(|r| r.md5 == l.md5);
        meant.then(|| l.md5.clone())
    }
}

/// The MD5 of every listed object's stored bytes, from its ETag where
/// that says it ([`Known::md5`]), else from the `md5` metadata with one
/// HEAD each (multipart uploads, `"…-3"`; SSE-KMS ETags; servers that
/// list none, like s3s-fs): nothing is ever downloaded to compare.
async fn resolve_md5s(
    store: &dyn Store,
    mut listing: Vec<Listed>,
    known: &Known<'_>,
    concurrency: usize,
) -> Result<Vec<Listed>> {
    let mut unknown = Vec::new();
    for (i, l) in listing.iter_mut().enumerate() {
        match known.md5(l) {
            Some(md5) => l.md5 = md5,
            None => unknown.push(i),
        }
    }
    let heads: Vec<(usize, Option<String>)> = stream::iter(unknown)
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
        // Without one, the object reads as changed and is uploaded again,
        // with the metadata this time.
        listing[i].md5 = md5.filter(|m| crate::store::is_md5(m)).unwrap_or_default();
    }
    Ok(listing)
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

/// Upload `items` with at most `concurrency` in flight. Returns each
/// key with the bytes sent and the ETag it got.
async fn upload_all(
    store: &dyn Store,
    state: &dyn Store,
    items: &[&Desired],
    concurrency: usize,
    progress: &Progress,
) -> Result<Vec<(String, u64, ETag)>> {
    until_failure(items.iter(), concurrency, "uploads", |d| async move {
        let (size, etag) = upload(store, state, d).await?;
        progress.inc();
        Ok((d.object.key.clone(), size, etag))
    })
    .await
}

/// Run `job` on every item, `concurrency` at a time. The first failure
/// (after its retries) stops new jobs from starting and those in flight
/// finish, so an unreachable server costs one round of attempts rather
/// than three per remaining object, and the error says how far it got.
async fn until_failure<I, T, F, Fut>(
    items: I,
    concurrency: usize,
    what: &str,
    job: F,
) -> Result<Vec<T>>
where
    I: ExactSizeIterator,
    F: Fn(I::Item) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    use std::sync::atomic::{AtomicBool, Ordering};
    let total = items.len();
    let failed = AtomicBool::new(false);
    let (failed, job) = (&failed, &job);
    let results: Vec<Option<Result<T>>> = stream::iter(items.map(|item| async move {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let result = job(item).await;
        if result.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some(result)
    }))
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    let not_started = results.iter().filter(|r| r.is_none()).count();
    let mut done = Vec::with_capacity(total);
    let mut errors = Vec::new();
    for r in results.into_iter().flatten() {
        match r {
            Ok(v) => done.push(v),
            Err(e) => errors.push(e),
        }
    }
    match errors.into_iter().next() {
        None => Ok(done),
        Some(first) => Err(first.context(format!(
            "stopped after a failure: {} of {total} {what} done, {} not started",
            done.len(),
            not_started
        ))),
    }
}

/// Upload one object, checking its bytes against the tree first.
/// Returns the bytes sent and the object's ETag.
async fn upload(store: &dyn Store, state: &dyn Store, d: &Desired) -> Result<(u64, ETag)> {
    let key = &d.object.key;
    let body = match &d.body {
        Body::Archived(from) => {
            let etag = with_retries(|| store.copy_in(state, from, key, &d.meta))
                .await
                .with_context(|| {
                    format!("cannot restore {key} from {from} in {}", state.describe())
                })?;
            return Ok((0, etag));
        }
        Body::Copy(from) => {
            let etag = with_retries(|| store.copy(from, key, &d.meta))
                .await
                .with_context(|| format!("cannot copy {from} to {key}"))?;
            return Ok((0, etag));
        }
        Body::Empty => Vec::new(),
        // Stored as it is: streamed from disk, whatever its size.
        Body::File(path) if d.encoded.is_none() => {
            let etag = with_retries(|| store.put_file(key, path, &d.object.md5, &d.meta))
                .await
                .with_context(|| format!("cannot upload {key}"))?;
            return Ok((d.object.size, etag));
        }
        // Precompressed: bounded by `encode::MAX_SIZE`.
        Body::File(path) => {
            let raw = tokio::fs::read(path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            let actual = crate::tree::md5_hex(&raw);
            if actual != d.object.md5 {
                return Err(crate::store::changed_on_disk(path, &d.object.md5, &actual));
            }
            let encoding = d.encoded.as_ref().expect("matched above").encoding.clone();
            tokio::task::spawn_blocking(move || crate::publish::encode::encode(&encoding, &raw))
                .await??
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
    let etag = with_retries(|| store.put(key, body.clone(), &md5, &d.meta))
        .await
        .with_context(|| format!("cannot upload {key}"))?;
    Ok((size, etag))
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
        .with_context(|| format!("cannot write {key}"))?;
    Ok(())
}
