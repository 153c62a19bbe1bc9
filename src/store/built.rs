//! Who owns which path, as publish leaves it in the target's reserved
//! area (`.tusk/built.json`): the keys the build owns, in a compact form
//! (folders wholly the build's + single keys). Publish writes it; the
//! edge answers those keys from the bucket without asking the origin, and
//! `tusk cdn plan` routes them to the bucket origin. Everything else is
//! the origin's, with the snapshot as its fallback.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::layout::BUILT_KEY;
use super::Store;

/// The version of the format this code writes and reads.
pub const VERSION: u32 = 1;

/// A list larger than this is refused, so reading it stays bounded.
const MAX_BYTES: u64 = 16 << 20;

/// The build-owned keys of a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Built {
    pub version: u32,
    /// Folders (`blog/`) every published key under which is the build's.
    pub folders: BTreeSet<String>,
    /// Build-owned keys outside those folders.
    pub keys: BTreeSet<String>,
}

impl Default for Built {
    fn default() -> Built {
        Built {
            version: VERSION,
            folders: BTreeSet::new(),
            keys: BTreeSet::new(),
        }
    }
}

/// Where a published key came from, for [`Built::from_keys`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Build,
    Other,
}

impl Built {
    /// The compact form of `published` (every key of the target with its
    /// owner). A folder is the build's when every key under it is, and
    /// no path of it is given to the origin (`shared`: folder prefixes
    /// another source may serve, like `publish.owner` globs). The root is
    /// never a folder: `/` is the default route's.
    pub fn from_keys<'a>(
        published: impl IntoIterator<Item = (&'a str, Owner)>,
        shared: &[String],
    ) -> Built {
        let mut mixed: BTreeMap<&str, bool> = BTreeMap::new();
        let mut built = Vec::new();
        for (key, owner) in published {
            for folder in folders_of(key) {
                let other = mixed.entry(folder).or_insert(false);
                *other |= owner == Owner::Other || is_shared(folder, shared);
            }
            if owner == Owner::Build {
                built.push(key);
            }
        }
        let mut out = Built::default();
        for key in built {
            // The outermost folder wholly the build's, if any.
            match folders_of(key).find(|f| mixed.get(f) == Some(&false)) {
                Some(folder) => out.folders.insert(folder.to_string()),
                None => out.keys.insert(key.to_string()),
            };
        }
        out
    }

    /// Whether `key` is the build's.
    pub fn owns(&self, key: &str) -> bool {
        self.keys.contains(key) || folders_of(key).any(|f| self.folders.contains(f))
    }

    pub fn is_empty(&self) -> bool {
        self.folders.is_empty() && self.keys.is_empty()
    }

    /// The list in `store`, empty when there is none (a target published
    /// by an older version, or from a snapshot alone).
    pub async fn load(store: &dyn Store) -> Result<Built> {
        let Some(info) = store.stat(BUILT_KEY).await? else {
            return Ok(Built::default());
        };
        if info.size > MAX_BYTES {
            bail!(
                "{BUILT_KEY} in {} is {} bytes, more than the {MAX_BYTES} a list of built keys may have",
                store.describe(),
                info.size
            );
        }
        let Some(fetched) = store.get(BUILT_KEY).await? else {
            return Ok(Built::default());
        };
        Built::parse(&fetched.body).with_context(|| format!("{BUILT_KEY} in {}", store.describe()))
    }

    pub fn parse(bytes: &[u8]) -> Result<Built> {
        let built: Built = serde_json::from_slice(bytes).context("not a list of built keys")?;
        if built.version != VERSION {
            bail!(
                "version {} of the list of built keys; this tusk reads version {VERSION}",
                built.version
            );
        }
        let bad = built
            .keys
            .iter()
            .chain(&built.folders)
            .find(|k| !super::valid_key(k.trim_end_matches('/')));
        if let Some(bad) = bad {
            bail!("invalid key {bad:?} in the list of built keys");
        }
        Ok(built)
    }
}

/// The folders above `key`, outermost first (`a/`, `a/b/` for `a/b/c`).
fn folders_of(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('/').map(move |(i, _)| &key[..=i])
}

/// Whether some of `folder` may be served by another source: a shared
/// prefix inside it, or one it is inside.
fn is_shared(folder: &str, shared: &[String]) -> bool {
    shared
        .iter()
        .any(|s| s.starts_with(folder) || folder.starts_with(s.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_folders_compact_and_shared_ones_stay_keys() {
        let published = [
            ("index.html", Owner::Build),
            ("blog/a/index.html", Owner::Build),
            ("blog/b/index.html", Owner::Build),
            ("docs/intro/index.html", Owner::Build),
            ("docs/api/index.html", Owner::Other),
            ("shop/index.html", Owner::Other),
            ("css/site.css", Owner::Build),
        ];
        let built = Built::from_keys(published, &["css/print/".to_string()]);
        let set = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(built.folders, set(&["blog/", "docs/intro/"]));
        assert_eq!(built.keys, set(&["index.html", "css/site.css"]));
        assert!(built.owns("blog/new/index.html"));
        assert!(built.owns("docs/intro/index.html"));
        assert!(!built.owns("docs/api/index.html"));
        assert!(!built.owns("shop/index.html"));
        assert!(!built.owns("blog"));
    }

    #[test]
    fn another_version_or_a_bad_key_is_refused() {
        let v2 = br#"{"version":2,"folders":[],"keys":[]}"#;
        assert!(Built::parse(v2)
            .unwrap_err()
            .to_string()
            .contains("version 2"));
        let bad = br#"{"version":1,"folders":[],"keys":["../x"]}"#;
        assert!(Built::parse(bad).is_err());
    }
}
