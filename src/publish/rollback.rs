//! The publish history kept in the store: one record per publish that
//! changed something, and an archive of replaced and deleted bodies (by
//! stored MD5), so `--rollback` restores an earlier tree with server-side
//! copies only.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::desired::{meta_for, refuse_symlinks, strip_prefix, Body, CacheRules, Desired};
use super::encode::Encoded;
use super::{put_json, Reason, Report};
use crate::config::Loaded;
use crate::store::layout::{ARCHIVE_PREFIX, RECORDS_PREFIX, RESERVED_PREFIX};
use crate::store::{with_retries, Listed, Meta, Store};
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
}

/// The ids of the publish records in the target, oldest first.
pub async fn history(loaded: &Loaded, target: Option<&str>) -> Result<Vec<String>> {
    let cfg = &loaded.config.publish;
    let target = target.unwrap_or(&cfg.target);
    let store = crate::store::open(loaded, target).await?;
    let listing = store.list().await.context("cannot list the target")?;
    Ok(record_ids(&listing))
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
/// before changing anything when some body is nowhere.
pub(super) async fn tree(
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
    listing: &[Listed],
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
        replaced.chain(report.deletes.iter().map(String::as_str)),
    );
    let count = to_archive.len();
    stream::iter(to_archive.into_iter().map(|(from, to)| async move {
        let meta = Meta {
            content_type: "application/octet-stream".into(),
            cache_control: "no-store".into(),
            ..Meta::default()
        };
        with_retries(|| store.copy(&from, &to, &meta))
            .await
            .with_context(|| format!("cannot keep a copy of {from} for rollback"))
    }))
    .buffer_unordered(concurrency.max(1))
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
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
    desired: &BTreeMap<String, Desired>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
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
    put_json(store, &key, &record).await?;
    Ok(key)
}
