//! The desired tree: the build and the snapshot merged, each object with
//! the headers it is stored with (cache classes, content types) and, when
//! precompressed, its encoded form.
//!
//! Who owns a path: the build owns its keys, the snapshot (the origin's
//! fallback copy) every other one. A key both produce is an error naming
//! it, unless `publish.owner` (per path glob) or `publish.prefer` says
//! which source serves it: silently replacing the origin's `/about/` with
//! a built one (or the reverse) is how a fallback stops being faithful.
//! The keys the build ends up owning are what publish records as
//! `store::built`, for the edge and the CDN.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use globset::{Glob, GlobMatcher};
use serde::Serialize;

use super::encode::Encoded;
use crate::config::{Loaded, PublishConfig, Source};
use crate::store::built::{Built, Owner};
use crate::store::layout::RESERVED_PREFIX;
use crate::store::Meta;
use crate::tree::{CacheClass, Object, Tree};

/// Where the bytes of an object to upload come from.
#[derive(Debug, Clone)]
pub(super) enum Body {
    /// A file of a tree folder (build or snapshot output).
    File(PathBuf),
    /// A redirect: no body.
    Empty,
    /// An object already in the store with the same stored bytes
    /// (rollback): copied server-side, never downloaded.
    Copy(String),
    /// A body in the state location's rollback archive, copied back.
    Archived(String),
}

/// One object of the desired tree, its headers and where its body is.
#[derive(Debug, Clone)]
pub(super) struct Desired {
    pub(super) object: Object,
    pub(super) body: Body,
    pub(super) meta: Meta,
    /// Set when the object is stored precompressed.
    pub(super) encoded: Option<Encoded>,
}

impl Desired {
    /// MD5 of the bytes as stored (encoded, when precompressed).
    pub(super) fn stored_md5(&self) -> &str {
        self.encoded
            .as_ref()
            .map_or(&self.object.md5, |e| e.md5.as_str())
    }

    pub(super) fn stored_size(&self) -> u64 {
        self.encoded.as_ref().map_or(self.object.size, |e| e.size)
    }
}

/// A key both sources produce, and which one the config gave it to.
#[derive(Debug, Serialize)]
pub struct Conflict {
    pub key: String,
    /// The source whose object is published.
    pub owner: Source,
    /// The object left out (`snapshot:about/index.html`).
    pub dropped: String,
    /// The setting that decided (`publish.prefer`, `publish.owner "/about/"`).
    pub by: String,
}

/// `publish.owner` and `publish.prefer`: who serves a key both produce.
struct Owners {
    globs: Vec<(String, GlobMatcher, Source)>,
    prefer: Option<Source>,
}

impl Owners {
    fn new(cfg: &PublishConfig) -> Result<Owners> {
        let mut globs = Vec::new();
        for (glob, source) in &cfg.owner {
            let matcher = Glob::new(glob)
                .with_context(|| format!("publish.owner: invalid glob {glob:?}"))?
                .compile_matcher();
            globs.push((glob.clone(), matcher, *source));
        }
        // The most specific (longest) glob first.
        globs.sort_by_key(|(g, _, _)| std::cmp::Reverse(g.len()));
        Ok(Owners {
            globs,
            prefer: cfg.prefer,
        })
    }

    /// Where `publish.owner` gives paths to the snapshot: each glob's
    /// literal start (`/blog/**` -> `blog/`), so no folder holding one
    /// counts as wholly the build's.
    fn snapshot_prefixes(&self) -> Vec<String> {
        self.globs
            .iter()
            .filter(|(_, _, source)| *source == Source::Snapshot)
            .map(|(glob, _, _)| {
                let literal = glob.split(['*', '?', '[', '{']).next().unwrap_or("");
                literal.trim_start_matches('/').to_string()
            })
            .collect()
    }

    /// The owner of `key` and the setting that says so, if one does. Globs
    /// match the URL path: `/about/index.html` and `/about/` both.
    fn of(&self, key: &str) -> Option<(Source, String)> {
        let path = format!("/{key}");
        let folder = path.strip_suffix("index.html");
        let by_glob = self
            .globs
            .iter()
            .find(|(_, m, _)| m.is_match(&path) || folder.is_some_and(|f| m.is_match(f)));
        match by_glob {
            Some((glob, _, source)) => Some((*source, format!("publish.owner {glob:?}"))),
            None => self.prefer.map(|s| (s, "publish.prefer".to_string())),
        }
    }
}

/// An object as the store holds it after a successful publish (for
/// `tusk drill`): its tree entry, the MD5 of the stored bytes (encoded,
/// when precompressed) and its headers.
#[derive(Debug, Clone)]
pub struct Expected {
    pub object: Object,
    pub stored_md5: String,
    pub meta: Meta,
    /// The local file the body comes from (none for redirects).
    pub file: Option<PathBuf>,
}

/// The desired tree (build + snapshot) as `publish` would store it.
pub fn expected(loaded: &Loaded) -> Result<Vec<Expected>> {
    let rules = CacheRules::new(&loaded.config.publish)?;
    let (mut desired, _, _) = desired_tree(loaded, &rules)?;
    encode_all(loaded, &mut desired)?;
    Ok(desired
        .into_values()
        .map(|d| Expected {
            stored_md5: d.stored_md5().to_string(),
            file: match d.body {
                Body::File(path) => Some(path),
                Body::Empty | Body::Copy(_) | Body::Archived(_) => None,
            },
            object: d.object,
            meta: d.meta,
        })
        .collect())
}

/// Decide which objects are stored precompressed and compute their
/// encoded MD5s (cached by content hash, so a no-op publish is cheap).
pub(super) fn encode_all(loaded: &Loaded, desired: &mut BTreeMap<String, Desired>) -> Result<()> {
    use rayon::prelude::*;
    let Some(encoding) = loaded.config.publish.compress.encoding() else {
        return Ok(());
    };
    let mut cache = crate::publish::encode::Cache::load(&loaded.root);
    let todo: Vec<(String, PathBuf, String)> = desired
        .values()
        .filter(|d| crate::publish::encode::compressible(&d.object.content_type, d.object.size))
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
            let encoded = crate::publish::encode::encode(encoding, &body)?;
            Ok((
                sha256.clone(),
                Encoded {
                    encoding: encoding.to_string(),
                    md5: crate::tree::md5_hex(&encoded),
                    sha256: crate::tree::sha256_hex(&encoded),
                    size: encoded.len() as u64,
                },
            ))
        })
        .collect::<Result<_>>()?;
    for (sha256, encoded) in computed {
        cache.insert(&sha256, encoded);
    }
    for d in desired.values_mut() {
        if !crate::publish::encode::compressible(&d.object.content_type, d.object.size) {
            continue;
        }
        if let Some(encoded) = cache.get(encoding, &d.object.sha256) {
            apply_encoding(&mut d.meta, &d.object, encoded);
            d.encoded = Some(encoded.clone());
        }
    }
    let live = desired.values().map(|d| d.object.sha256.as_str()).collect();
    if let Err(e) = cache.save(&live) {
        tracing::warn!("cannot save the compression cache: {e:#}");
    }
    Ok(())
}

/// The build tree and the snapshot tree (either may be missing) as one
/// map keyed by published key. A key both produce goes to the owner the
/// config names (reported as a conflict), or fails the publish.
pub(super) fn desired_tree(
    loaded: &Loaded,
    rules: &CacheRules,
) -> Result<(BTreeMap<String, Desired>, Vec<Conflict>, Built)> {
    let cfg = &loaded.config.publish;
    let build_dir = loaded.output_dir();
    let snapshot_dir = loaded.root.join(&loaded.config.snapshot.output);
    let has = |dir: &Path| dir.join(crate::tree::MANIFEST_NAME).is_file();
    if !has(&build_dir) && !has(&snapshot_dir) {
        bail!(
            "nothing to publish: no build in {} (run `tusk build` first) and no snapshot in {} (run `tusk snapshot`)",
            build_dir.display(),
            snapshot_dir.display()
        );
    }
    let mut desired = BTreeMap::new();
    if has(&build_dir) {
        let build = Tree::read(&build_dir)
            .with_context(|| format!("cannot read the build in {}", build_dir.display()))?;
        mount(&mut desired, &build, &build_dir, &cfg.build_prefix, rules)?;
    }
    let mut built_keys: BTreeSet<String> = desired.keys().cloned().collect();
    // `tusk build && tusk publish` needs no snapshot, and the reverse.
    let mut snapshot = BTreeMap::new();
    if has(&snapshot_dir) {
        let tree = Tree::read(&snapshot_dir)?;
        mount(
            &mut snapshot,
            &tree,
            &snapshot_dir,
            &cfg.snapshot_prefix,
            rules,
        )?;
    }
    let owners = Owners::new(cfg)?;
    let mut conflicts = Vec::new();
    let mut unowned = Vec::new();
    for (key, object) in snapshot {
        let std::collections::btree_map::Entry::Occupied(mut built) = desired.entry(key.clone())
        else {
            desired.insert(key, object);
            continue;
        };
        let Some((owner, by)) = owners.of(&key) else {
            unowned.push(key);
            continue;
        };
        let loser = match owner {
            Source::Build => Source::Snapshot,
            Source::Snapshot => Source::Build,
        };
        conflicts.push(Conflict {
            dropped: format!("{}:{key}", loser.name()),
            key: key.clone(),
            owner,
            by,
        });
        if owner == Source::Snapshot {
            built.insert(object);
            built_keys.remove(&key);
        }
    }
    if !unowned.is_empty() {
        bail!(
            "{} key(s) are produced by both the build ({}) and the snapshot ({}): {}; say which source owns them in config/tusk.toml, for all with publish.prefer = \"build\" (or \"snapshot\"), or per path with publish.owner = {{ \"/{}\" = \"snapshot\" }}; nothing was published",
            unowned.len(),
            build_dir.display(),
            snapshot_dir.display(),
            listed(&unowned),
            unowned[0].strip_suffix("index.html").unwrap_or(&unowned[0]),
        );
    }
    let owned = desired.keys().map(|k| {
        let owner = match built_keys.contains(k) {
            true => Owner::Build,
            false => Owner::Other,
        };
        (k.as_str(), owner)
    });
    let built = Built::from_keys(owned, &owners.snapshot_prefixes());
    Ok((desired, conflicts, built))
}

/// The first few keys, and how many more.
fn listed(keys: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = keys
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > SHOWN {
        text.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    text
}

pub(super) fn mount(
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

/// The headers of an object (before any precompression).
pub(super) fn meta_for(object: &Object, rules: &CacheRules) -> Meta {
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

/// The headers of an object stored precompressed: `md5` and `sha256` of
/// the stored (encoded) bytes, what any S3 client reads back and checks,
/// and `identity-md5` / `identity-sha256` of the decoded body.
pub(super) fn apply_encoding(meta: &mut Meta, object: &Object, encoded: &Encoded) {
    meta.content_encoding = Some(encoded.encoding.clone());
    meta.user.insert("md5".into(), encoded.md5.clone());
    meta.user.insert("identity-md5".into(), object.md5.clone());
    meta.user
        .insert("identity-sha256".into(), object.sha256.clone());
    if encoded.sha256.is_empty() {
        // A record of an older version: the stored bytes' SHA-256 unknown.
        meta.user.remove("sha256");
    } else {
        meta.user.insert("sha256".into(), encoded.sha256.clone());
    }
}

/// A symlink in a tree folder would upload whatever it points to, from
/// anywhere on the machine.
pub(super) fn refuse_symlinks(dir: &Path, key: &str) -> Result<()> {
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

/// `key` relative to a mount `prefix`, if it is under it.
pub(super) fn strip_prefix<'a>(prefix: &str, key: &'a str) -> Option<&'a str> {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        Some(key)
    } else {
        key.strip_prefix(prefix)?.strip_prefix('/')
    }
}

pub(super) fn join_prefix(prefix: &str, key: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

/// Cache-Control per object: the first matching glob rule, else the
/// default for its cache class.
pub(super) struct CacheRules {
    pub(super) rules: Vec<(GlobMatcher, String)>,
    pub(super) classes: HashMap<CacheClass, String>,
}

impl CacheRules {
    pub(super) fn new(cfg: &PublishConfig) -> Result<CacheRules> {
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

    pub(super) fn for_object(&self, o: &Object) -> String {
        if let Some((_, cc)) = self.rules.iter().find(|(m, _)| m.is_match(&o.key)) {
            return cc.clone();
        }
        // The tree's class, never re-derived from the name: a user file
        // `minutes.20240115.pdf` is not content-hashed (issue 26, item 7).
        self.classes[&o.cache_class].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_by_longest_glob_then_prefer() {
        let cfg = PublishConfig {
            prefer: Some(Source::Build),
            owner: BTreeMap::from([
                ("/about/".to_string(), Source::Snapshot),
                ("/blog/**".to_string(), Source::Snapshot),
                ("/blog/2024/**".to_string(), Source::Build),
            ]),
            ..PublishConfig::default()
        };
        let owners = Owners::new(&cfg).unwrap();
        let of = |k: &str| owners.of(k).map(|(s, _)| s);
        assert_eq!(of("about/index.html"), Some(Source::Snapshot));
        assert_eq!(of("blog/x.html"), Some(Source::Snapshot));
        assert_eq!(of("blog/2024/a.html"), Some(Source::Build));
        assert_eq!(of("index.html"), Some(Source::Build));
        let none = Owners::new(&PublishConfig::default()).unwrap();
        assert!(none.of("index.html").is_none());
    }

    #[test]
    fn prefixes_join() {
        assert_eq!(join_prefix("", "a/b"), "a/b");
        assert_eq!(join_prefix("/live/", "a"), "live/a");
    }
}
