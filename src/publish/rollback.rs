//! The publish history kept in the state location (`publish.state`, never
//! the served target): one record per publish that changed something, and
//! an archive of replaced and deleted bodies (by stored MD5), so
//! `--rollback` restores an earlier tree with server-side copies only.
//! `--purge` removes a body that should never have been published from
//! the archive and from every record.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::desired::{
    apply_encoding, meta_for, refuse_symlinks, strip_prefix, Body, CacheRules, Desired,
};
use super::encode::Encoded;
use super::{put_json, until_failure, Reason, Report};
use crate::config::Loaded;
use crate::store::built::Built;
use crate::store::layout::{is_state_key, ARCHIVE_PREFIX, RECORDS_PREFIX, RESERVED_PREFIX};
use crate::store::{with_retries, ETag, Listed, Meta, Store};
use crate::tree::{Object, Tree};

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
    /// The headers each object was stored with, so the next publish sees a
    /// header-only change (records of older versions have none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, Meta>,
    /// The ETag each object got when stored, with the MD5 of its stored
    /// bytes: an object listed with that ETag still holds those bytes,
    /// whatever the ETag is (under SSE-KMS it is no MD5).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stored: BTreeMap<String, Stored>,
    /// The keys the build owned (records of older versions have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built: Option<Built>,
}

/// What a publish left in the target, for its record.
pub(super) struct Published<'a> {
    pub desired: &'a BTreeMap<String, Desired>,
    pub etags: &'a HashMap<String, ETag>,
    pub built: &'a Built,
}

/// What the store said of an object a publish left in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// As a listing reports it ("" when the store gave none).
    pub etag: ETag,
    /// Hex MD5 of the stored bytes (encoded, when precompressed).
    pub md5: String,
}

/// The ids of the publish records in the target, oldest first.
pub async fn history(loaded: &Loaded, target: Option<&str>) -> Result<Vec<String>> {
    let cfg = &loaded.config.publish;
    let target = target.unwrap_or(&cfg.target);
    let store = crate::store::open(loaded, target).await?;
    let state = crate::store::open_state(loaded, target).await?;
    let mut listing = state.list().await.unwrap_or_default();
    // Records an older version left in the target count until moved.
    listing.extend(store.list().await.context("cannot list the target")?);
    let mut ids = record_ids(&listing);
    ids.dedup();
    Ok(ids)
}

/// The target and the state location with one listing of each.
pub(super) struct Stores<'a> {
    pub target: &'a dyn Store,
    pub state: &'a dyn Store,
    pub listing: &'a [Listed],
    pub state_listing: &'a [Listed],
}

/// Move the records, archive and retention state an older version kept in
/// the served target to the state location (copy, then delete); returns
/// how many keys moved (or would, in a dry run).
pub(super) async fn migrate(
    target: &dyn Store,
    state: &dyn Store,
    listing: &[Listed],
    dry_run: bool,
) -> Result<usize> {
    let keys: Vec<&str> = listing
        .iter()
        .map(|l| l.key.as_str())
        .filter(|k| is_state_key(k))
        .collect();
    if dry_run || keys.is_empty() {
        return Ok(keys.len());
    }
    for key in &keys {
        let meta = state_meta(key);
        with_retries(|| state.copy_in(target, key, key, &meta))
            .await
            .with_context(|| format!("cannot move {key} to {}", state.describe()))?;
        with_retries(|| target.delete(key))
            .await
            .with_context(|| format!("cannot remove {key} from {}", target.describe()))?;
    }
    tracing::info!(
        "moved {} tusk record(s) and archived bodies from {} to {}",
        keys.len(),
        target.describe(),
        state.describe()
    );
    Ok(keys.len())
}

/// The headers of a state key: never cached, archive bodies opaque.
fn state_meta(key: &str) -> Meta {
    let content_type = if key.starts_with(ARCHIVE_PREFIX) {
        "application/octet-stream"
    } else {
        "application/json; charset=utf-8"
    };
    Meta {
        content_type: content_type.into(),
        cache_control: "no-store".into(),
        ..Meta::default()
    }
}

pub(super) fn record_ids(listing: &[Listed]) -> Vec<String> {
    let mut ids: Vec<String> = listing
        .iter()
        .filter_map(|l| l.key.strip_prefix(RECORDS_PREFIX)?.strip_suffix(".json"))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

/// Server-side copies (`from`, `to`) that keep the current bodies of
/// `keys` in the archive, one per distinct body not archived yet.
pub(super) fn archive_plan<'a>(
    listing: &[Listed],
    state_listing: &[Listed],
    keys: impl Iterator<Item = &'a str>,
) -> Vec<(String, String)> {
    let by_key: HashMap<&str, &Listed> = listing.iter().map(|l| (l.key.as_str(), l)).collect();
    let mut seen: std::collections::HashSet<String> = state_listing
        .iter()
        .filter_map(|l| l.key.strip_prefix(ARCHIVE_PREFIX))
        .map(str::to_string)
        .collect();
    let mut copies = Vec::new();
    for key in keys {
        if let Some(l) = by_key.get(key) {
            // An archive key is named by its hash: never `.tusk/objects/`.
            if !crate::store::is_md5(&l.md5) {
                tracing::warn!(
                    "{key}: no MD5 known for its stored body; not archived for rollback"
                );
                continue;
            }
            if seen.insert(l.md5.clone()) {
                copies.push((key.to_string(), format!("{ARCHIVE_PREFIX}{}", l.md5)));
            }
        }
    }
    copies
}

/// Archive entries older than `days`.
pub(super) fn expired_archive(
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

/// The desired tree of a publish record, with each body found where it
/// still is: under its own key, under another key with the same stored
/// bytes (copied server-side), or in the local build or snapshot. Fails
/// before changing anything when some body is nowhere. Returns the
/// keys the build owned then (none in records of older versions: every
/// path is then the origin's until the next publish).
pub(super) async fn tree(
    loaded: &Loaded,
    stores: &Stores<'_>,
    id: &str,
    rules: &CacheRules,
) -> Result<(String, BTreeMap<String, Desired>, Built)> {
    let (store, state, listing) = (stores.target, stores.state, stores.listing);
    let ids = record_ids(stores.state_listing);
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
    let record = read_record(state, &key).await?;

    let cfg = &loaded.config.publish;
    let by_md5: HashMap<&str, &str> = listing
        .iter()
        .filter(|l| !l.key.starts_with(RESERVED_PREFIX) && crate::store::is_md5(&l.md5))
        .map(|l| (l.md5.as_str(), l.key.as_str()))
        .collect();
    let archived: HashMap<&str, &str> = stores
        .state_listing
        .iter()
        .filter_map(|l| Some((l.key.strip_prefix(ARCHIVE_PREFIX)?, l.key.as_str())))
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
        } else if let Some(from) = archived.get(stored_md5.as_str()) {
            Some(Body::Archived(from.to_string()))
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
            apply_encoding(&mut meta, object, e);
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
            "cannot roll back to {id}: {} object(s) of that publish are neither in {} (nor its archive in {}) nor in the local build or snapshot (for example {}); nothing was changed",
            record.tree.objects.len() - desired.len(),
            store.describe(),
            state.describe(),
            missing.join(", ")
        );
    }
    let built = record.built.unwrap_or_default();
    Ok((id, desired, built))
}

/// A stable id: time plus a hash of the tree, so two publishes of the same
/// tree in the same second share it.
pub(super) fn record_id(objects: &[Object]) -> String {
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

pub(super) fn git_commit(root: &Path) -> Option<String> {
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

/// Keep what is about to be replaced or deleted, for `--rollback`.
/// Returns how many bodies were copied into the archive.
pub(super) async fn archive(
    store: &dyn Store,
    state: &dyn Store,
    listing: &[Listed],
    state_listing: &[Listed],
    report: &Report,
    concurrency: usize,
) -> Result<usize> {
    let replaced = report
        .uploads
        .iter()
        .filter(|u| u.reason == Reason::Changed)
        .map(|u| u.key.as_str());
    let to_archive = archive_plan(
        listing,
        state_listing,
        replaced.chain(report.deletes.iter().map(String::as_str)),
    );
    let count = to_archive.len();
    until_failure(
        to_archive.into_iter(),
        concurrency,
        "archive copies",
        |(from, to)| async move {
            let meta = Meta {
                content_type: "application/octet-stream".into(),
                cache_control: "no-store".into(),
                ..Meta::default()
            };
            with_retries(|| state.copy_in(store, &from, &to, &meta))
                .await
                .with_context(|| format!("cannot keep a copy of {from} for rollback"))
        },
    )
    .await?;
    Ok(count)
}

/// Remove archive entries older than `rollback_days`; returns how many.
pub(super) async fn prune(
    store: &dyn Store,
    listing: &[Listed],
    now: chrono::DateTime<chrono::Utc>,
    rollback_days: u32,
) -> Result<usize> {
    let expired = expired_archive(listing, now, rollback_days);
    for key in &expired {
        with_retries(|| store.delete(key))
            .await
            .with_context(|| format!("cannot prune {key}"))?;
    }
    Ok(expired.len())
}

/// Write the record of this publish last; returns its key.
pub(super) async fn record(
    loaded: &Loaded,
    store: &dyn Store,
    state: &dyn Store,
    published: &Published<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let (desired, etags) = (published.desired, published.etags);
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
        meta: desired
            .iter()
            .map(|(k, d)| (k.clone(), d.meta.clone()))
            .collect(),
        stored: desired
            .iter()
            .map(|(k, d)| {
                let stored = Stored {
                    etag: etags.get(k).cloned().unwrap_or_default(),
                    md5: d.stored_md5().to_string(),
                };
                (k.clone(), stored)
            })
            .collect(),
        built: Some(published.built.clone()),
    };
    let key = format!("{RECORDS_PREFIX}{}.json", record.id);
    put_json(state, &key, &record).await?;
    Ok(key)
}

/// What the last publish stored: each key's headers (none in records of
/// older versions), cache class, and ETag with MD5 (records of older
/// versions give the MD5 alone).
#[derive(Default)]
pub(super) struct LastPublish {
    pub meta: BTreeMap<String, Meta>,
    pub classes: HashMap<String, crate::tree::CacheClass>,
    pub stored: HashMap<String, Stored>,
}

/// The last publish record (empty when there is none).
pub(super) async fn last_publish(
    state: &dyn Store,
    state_listing: &[Listed],
) -> Result<LastPublish> {
    let Some(id) = record_ids(state_listing).pop() else {
        return Ok(LastPublish::default());
    };
    let record = read_record(state, &format!("{RECORDS_PREFIX}{id}.json")).await?;
    let mut stored: HashMap<String, Stored> = record
        .tree
        .objects
        .iter()
        .map(|o| {
            let md5 = record.encoded.get(&o.key).map_or(&o.md5, |e| &e.md5);
            (
                o.key.clone(),
                Stored {
                    etag: ETag::new(),
                    md5: md5.clone(),
                },
            )
        })
        .collect();
    stored.extend(record.stored);
    Ok(LastPublish {
        stored,
        classes: record
            .tree
            .objects
            .into_iter()
            .map(|o| (o.key, o.cache_class))
            .collect(),
        meta: record.meta,
    })
}

async fn read_record(state: &dyn Store, key: &str) -> Result<Record> {
    let fetched = with_retries(|| state.get(key))
        .await?
        .with_context(|| format!("{key} vanished from {}", state.describe()))?;
    serde_json::from_slice(&fetched.body)
        .with_context(|| format!("{key} in {} is corrupt", state.describe()))
}

/// What `--purge` / `--purge-md5` names: every body a key ever had, or one
/// body by its MD5.
#[derive(Debug, Clone)]
pub enum Purge {
    Key(String),
    Md5(String),
}

/// What a purge removed.
#[derive(Debug, Default, Serialize)]
pub struct Purged {
    pub state: String,
    /// Archive keys deleted (`.tusk/objects/<md5>`).
    pub archive: Vec<String>,
    /// Records rewritten without the purged entries, with how many each lost.
    pub records: Vec<(String, usize)>,
}

/// Remove a body from the archive and from every record that names it
/// ("we published a secret"). The live object, if still published, is the
/// build's business: this only forgets the history.
pub(super) async fn purge(state: &dyn Store, what: &Purge) -> Result<Purged> {
    let listing = state
        .list()
        .await
        .with_context(|| format!("cannot list the state location {}", state.describe()))?;
    let mut out = Purged {
        state: state.describe(),
        ..Purged::default()
    };
    let mut md5s: std::collections::BTreeSet<String> = match what {
        Purge::Md5(m) => [m.to_ascii_lowercase()].into(),
        Purge::Key(_) => Default::default(),
    };
    let mut records = Vec::new();
    for id in record_ids(&listing) {
        let key = format!("{RECORDS_PREFIX}{id}.json");
        records.push((key.clone(), read_record(state, &key).await?));
    }
    if let Purge::Key(k) = what {
        for (_, r) in &records {
            for o in r.tree.objects.iter().filter(|o| &o.key == k) {
                md5s.insert(o.md5.clone());
                if let Some(e) = r.encoded.get(k) {
                    md5s.insert(e.md5.clone());
                }
            }
        }
    }
    for (key, mut r) in records {
        let before = r.tree.objects.len();
        let named = |o: &Object, r: &Record| {
            md5s.contains(&o.md5)
                || r.encoded.get(&o.key).is_some_and(|e| md5s.contains(&e.md5))
                || matches!(what, Purge::Key(k) if *k == o.key)
        };
        let drop: Vec<String> = r
            .tree
            .objects
            .iter()
            .filter(|o| named(o, &r))
            .map(|o| o.key.clone())
            .collect();
        if drop.is_empty() {
            continue;
        }
        r.tree.objects.retain(|o| !drop.contains(&o.key));
        r.encoded.retain(|k, _| !drop.contains(k));
        r.meta.retain(|k, _| !drop.contains(k));
        r.stored.retain(|k, _| !drop.contains(k));
        if let Some(built) = &mut r.built {
            built.keys.retain(|k| !drop.contains(k));
        }
        put_json(state, &key, &r).await?;
        out.records.push((key, before - r.tree.objects.len()));
    }
    for md5 in &md5s {
        let key = format!("{ARCHIVE_PREFIX}{md5}");
        if listing.iter().any(|l| l.key == key) {
            with_retries(|| state.delete(&key))
                .await
                .with_context(|| format!("cannot delete {key} from {}", state.describe()))?;
            out.archive.push(key);
        }
    }
    Ok(out)
}
