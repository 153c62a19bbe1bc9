//! Planning a publish against one listing of the store: which objects to
//! upload and why, which to delete, and which removed fingerprinted assets
//! to keep for a while (cached pages may still point at them).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::desired::Desired;
use super::Report;
use crate::store::layout::{RESERVED_PREFIX, RETAINED_KEY};
use crate::store::{Listed, Meta, Store};
use crate::tree::CacheClass;

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

/// The state kept for removed fingerprinted assets: key -> removal time.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Retained(pub(super) BTreeMap<String, String>);

pub(super) async fn read_retained(store: &dyn Store) -> Result<Retained> {
    match store.get(RETAINED_KEY).await? {
        Some(f) => serde_json::from_slice(&f.body)
            .with_context(|| format!("{RETAINED_KEY} in the target is corrupt")),
        None => Ok(Retained::default()),
    }
}

/// Content-hashed file names (`site.3f2a1b9c.css`): how keys no publish
/// record describes are judged for retention.
pub fn is_fingerprinted(key: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\.[0-9a-f]{8,64}\.[A-Za-z0-9]+$").unwrap())
        .is_match(key)
}

/// A hash of what a publish changes: the same plan gives the same hash.
/// Changed and deleted pages only: new ones were never cached, and
/// assets change name when they change.
pub(super) fn stale_pages(report: &Report, desired: &BTreeMap<String, Desired>) -> Vec<String> {
    let changed = report
        .uploads
        .iter()
        .filter(|u| u.reason != Reason::New)
        .map(|u| &u.key)
        .chain(&report.headers_changed)
        .filter(|k| desired[*k].object.cache_class == CacheClass::Html)
        .cloned();
    let deleted = report
        .deletes
        .iter()
        .filter(|k| crate::tree::cache_class_for(k) == CacheClass::Html)
        .cloned();
    changed.chain(deleted).collect()
}

pub(super) fn plan_hash(report: &Report, desired: &BTreeMap<String, Desired>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for u in &report.uploads {
        h.update(u.key.as_bytes());
        h.update(desired[&u.key].stored_md5().as_bytes());
    }
    h.update(b"\0headers\0");
    for k in &report.headers_changed {
        h.update(k.as_bytes());
        h.update(b"\n");
    }
    h.update(b"\0deletes\0");
    for d in &report.deletes {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The uploads a publish makes, and how many objects are already there.
pub(super) struct Uploads<'a> {
    pub todo: Vec<&'a Desired>,
    pub planned: Vec<Planned>,
    pub unchanged: usize,
}

/// Compare content hashes (never times, so a fresh CI clone with new
/// mtimes uploads nothing that did not change).
pub(super) fn uploads<'a>(
    desired: &'a BTreeMap<String, Desired>,
    listing: &[Listed],
    force: bool,
) -> Uploads<'a> {
    let remote: HashMap<&str, &Listed> = listing.iter().map(|l| (l.key.as_str(), l)).collect();
    let mut out = Uploads {
        todo: Vec::new(),
        planned: Vec::new(),
        unchanged: 0,
    };
    for d in desired.values() {
        let reason = match remote.get(d.object.key.as_str()) {
            None => Some(Reason::New),
            Some(r) if r.md5 != d.stored_md5() => Some(Reason::Changed),
            Some(_) if force => Some(Reason::Forced),
            Some(_) => None,
        };
        match reason {
            Some(reason) => {
                out.planned.push(Planned {
                    key: d.object.key.clone(),
                    reason,
                    size: d.stored_size(),
                });
                out.todo.push(d);
            }
            None => out.unchanged += 1,
        }
    }
    out
}

/// Objects whose bytes are already stored but whose headers differ from
/// what the last publish stored (Content-Type, Cache-Control, encoding,
/// redirect, user metadata): fixed with a copy onto themselves, never a
/// re-upload.
pub(super) fn header_changes<'a>(
    desired: &'a BTreeMap<String, Desired>,
    uploads: &Uploads<'_>,
    last: &BTreeMap<String, Meta>,
) -> Vec<&'a Desired> {
    let uploading: std::collections::HashSet<&str> =
        uploads.planned.iter().map(|u| u.key.as_str()).collect();
    desired
        .values()
        .filter(|d| !uploading.contains(d.object.key.as_str()))
        .filter(|d| last.get(&d.object.key).is_some_and(|m| *m != d.meta))
        .collect()
}

/// What leaves the live site, and the retention state to store after.
pub(super) struct Removals {
    pub deletes: Vec<String>,
    pub retained: Vec<String>,
    pub state: Retained,
    pub state_changed: bool,
}

/// How long removed fingerprinted assets stay, and which keys were
/// fingerprinted: the cache classes of the last publish's tree.
pub(super) struct Retention<'a> {
    pub days: u32,
    pub classes: &'a HashMap<String, CacheClass>,
}

impl Retention<'_> {
    /// The last tree's word; a key it does not know (published by an
    /// older version, or the state was lost) is judged by its name.
    fn fingerprinted(&self, key: &str) -> bool {
        match self.classes.get(key) {
            Some(class) => *class == CacheClass::Fingerprinted,
            None => is_fingerprinted(key),
        }
    }
}

/// Remote objects no longer desired, except tusk's own and fingerprinted
/// assets removed less than `retain.days` ago.
pub(super) async fn removals(
    store: &dyn Store,
    desired: &BTreeMap<String, Desired>,
    listing: &[Listed],
    retain: &Retention<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Removals> {
    let candidates: Vec<&str> = listing
        .iter()
        .map(|l| l.key.as_str())
        .filter(|k| !k.starts_with(RESERVED_PREFIX) && !desired.contains_key(*k))
        .collect();
    let window = chrono::Duration::days(i64::from(retain.days));
    let mut state = if candidates.iter().any(|k| retain.fingerprinted(k)) {
        read_retained(store).await?
    } else {
        Retained::default()
    };
    let before = serde_json::to_string(&state)?;
    let listed: std::collections::HashSet<&str> = listing.iter().map(|l| l.key.as_str()).collect();
    state
        .0
        .retain(|k, _| !desired.contains_key(k) && listed.contains(k.as_str()));
    let (mut deletes, mut retained) = (Vec::new(), Vec::new());
    for key in candidates {
        if !retain.fingerprinted(key) {
            deletes.push(key.to_string());
            continue;
        }
        let since = state
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
    state.0.retain(|k, _| !deletes.contains(k));
    let state_changed = serde_json::to_string(&state)? != before;
    Ok(Removals {
        deletes,
        retained,
        state,
        state_changed,
    })
}

/// How many deletes the guards allow.
pub(super) struct DeleteGuard {
    /// Absolute: `publish.max_deletes` / `--max-deletes`.
    pub max: usize,
    /// Relative: `publish.max_delete_share` of the bucket's objects.
    pub share: f64,
    /// `--allow-mass-delete` lifts the relative guard.
    pub allow_mass: bool,
}

/// Deletes at or below this count never trip the relative guard: a small
/// site legitimately loses a few pages at once.
const MASS_DELETE_FLOOR: usize = 10;

/// Refuse a mass deletion before anything changed: more than `max`
/// objects, or more than `share` of the bucket's own (non-reserved)
/// objects, which catches an empty or truncated tree on any site size.
pub(super) fn guard_deletes(
    deletes: &[String],
    listing: &[Listed],
    guard: &DeleteGuard,
    store: &dyn Store,
) -> Result<()> {
    if deletes.len() > guard.max {
        bail!(
            "refusing to delete {} objects from {} (more than --max-deletes {}); nothing was changed. \
             If this is intended, re-run with --max-deletes {}",
            deletes.len(),
            store.describe(),
            guard.max,
            deletes.len()
        );
    }
    let live = listing
        .iter()
        .filter(|l| !l.key.starts_with(RESERVED_PREFIX))
        .count();
    let too_many = deletes.len() as f64 > guard.share * live as f64;
    if deletes.len() > MASS_DELETE_FLOOR && too_many && !guard.allow_mass {
        bail!(
            "refusing to delete {} of the {live} objects in {} (more than publish.max_delete_share {} of them); \
             nothing was changed. If this is intended, re-run with --allow-mass-delete",
            deletes.len(),
            store.describe(),
            guard.share
        );
    }
    Ok(())
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
}
