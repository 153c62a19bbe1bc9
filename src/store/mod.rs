//! Where published objects live. One trait, several backends (like
//! rclone's remotes): `publish` is written once against [`Store`].
//!
//! - `file://path`: a local folder laid out like a bucket, the embedded
//!   default (see [`local`]);
//! - `s3://bucket/prefix`: S3 or any S3-compatible server (see [`s3`]).

pub(crate) mod built;
pub(crate) mod layout;
mod local;
mod retry;
mod s3;

pub(crate) use layout::valid_key;
pub(crate) use retry::with_retries;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::Loaded;

/// An object as a listing reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// Hex MD5 of the body (the ETag of a single-part S3 upload).
    pub md5: String,
    /// Last modification, RFC 3339.
    pub modified: String,
}

/// What a store calls an object's version of its bytes, as a listing
/// reports it (S3: the ETag without quotes; "" when there is none). The
/// MD5 of the bytes for a plain S3 upload, but not for a multipart one
/// (`…-3`) nor under SSE-KMS or SSE-C, where it is 32 hex digits all the
/// same: never taken for an MD5 unless known to be one.
pub type ETag = String;

/// Whether `text` is a hex MD5 (an ETag may be something else: a
/// multipart upload's `…-3`, an encrypted object's, or none at all).
pub fn is_md5(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The headers an object is stored with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub content_type: String,
    pub cache_control: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// S3 website redirect (`x-amz-website-redirect-location`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Extra user metadata (`x-amz-meta-*`): tusk keeps the `md5` of the
    /// stored bytes (multipart ETags are not MD5s) and the `sha256` here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user: BTreeMap<String, String>,
}

/// User metadata holding a temporary redirect's status (`302`), which
/// [`Meta::redirect`] alone cannot say.
pub const REDIRECT_STATUS: &str = "redirect-status";

/// An object read back from a store.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub meta: Meta,
}

/// What a store knows of an object without reading its body.
#[derive(Debug, Clone)]
pub struct Info {
    pub size: u64,
    /// Hex MD5 of the body (S3: the ETag).
    pub md5: String,
    /// Last modification, RFC 3339.
    pub modified: String,
    pub meta: Meta,
}

/// An object opened for reading: its headers now, its body (or the asked
/// byte range of it) as a stream of chunks, so a reader holds one chunk at
/// a time whatever the object's size.
pub struct Opened {
    pub info: Info,
    /// The bytes `range` covers (`start..end`), the whole body when none.
    pub body: futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Every object under the store's prefix, keys relative to it.
    async fn list(&self) -> Result<Vec<Listed>>;
    /// Store `body` under `key`; `md5` is the hex MD5 of `body`, which the
    /// backend must verify (S3: Content-MD5) so a corrupted upload fails.
    /// Returns the new object's [`ETag`], as later listings report it.
    async fn put(&self, key: &str, body: Vec<u8>, md5: &str, meta: &Meta) -> Result<ETag>;
    /// Store the file at `path` under `key`, read from disk as it is sent
    /// so a body of any size costs a bounded buffer; each call (a retry)
    /// opens the file again. The backend checks the bytes it sends hash to
    /// `md5` and fails with [`changed_on_disk`] otherwise, storing nothing.
    async fn put_file(&self, key: &str, path: &Path, md5: &str, meta: &Meta) -> Result<ETag>;
    /// Store a small `body` under `key` only if no object is there (S3: a
    /// conditional `If-None-Match: *` write); false when one is.
    async fn put_new(&self, key: &str, body: Vec<u8>, meta: &Meta) -> Result<bool>;
    async fn get(&self, key: &str) -> Result<Option<Fetched>>;
    /// The headers of `key` without its body (S3: HeadObject).
    async fn head(&self, key: &str) -> Result<Option<Meta>>;
    /// Size, MD5 and headers of `key` without its body (S3: HeadObject).
    async fn stat(&self, key: &str) -> Result<Option<Info>>;
    /// `key` for streaming; with `range` (`start..end`, within the size)
    /// only those bytes (S3: GetObject with `Range`).
    async fn open(&self, key: &str, range: Option<std::ops::Range<u64>>) -> Result<Option<Opened>>;
    /// Copy `from` to `to` inside the store with new headers, without the
    /// body leaving the store (S3: CopyObject); the copy's [`ETag`].
    async fn copy(&self, from: &str, to: &str, meta: &Meta) -> Result<ETag>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// How a server-side copy from another store of the same backend names
    /// `key` (S3: `bucket/full-key`, percent-encoded); None copies through
    /// tusk.
    fn copy_source(&self, _key: &str) -> Option<String> {
        None
    }
    /// Copy `from` of the store `src` to `to` here: server-side when both
    /// are buckets of the same server, otherwise read and written again.
    async fn copy_in(&self, src: &dyn Store, from: &str, to: &str, meta: &Meta) -> Result<ETag> {
        let Some(f) = src.get(from).await? else {
            bail!("cannot copy {from} from {}: no such object", src.describe());
        };
        self.put(to, f.body.clone(), &crate::tree::md5_hex(&f.body), meta)
            .await
    }
    /// Whether the store's container is there (S3: HeadBucket).
    async fn exists(&self) -> Result<bool> {
        Ok(true)
    }
    /// Create the missing container, private (S3: CreateBucket and a
    /// public access block).
    async fn create(&self) -> Result<()> {
        Ok(())
    }
    /// A display name without credentials (`file:///srv/bucket`).
    fn describe(&self) -> String;
}

/// A file whose bytes no longer hash to the MD5 its tree recorded (edited
/// after the build, or being written): never retried.
#[derive(Debug, thiserror::Error)]
#[error("{path} changed since its tree was written (MD5 {expected} in the manifest, {actual} on disk): run the build again")]
pub struct ChangedOnDisk {
    path: String,
    expected: String,
    actual: String,
}

pub fn changed_on_disk(path: &Path, expected: &str, actual: &str) -> anyhow::Error {
    ChangedOnDisk {
        path: path.display().to_string(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
    .into()
}

/// Read buffer for streamed files: large enough for few system calls,
/// small enough that 32 uploads in flight stay a few MiB.
pub(crate) const FILE_BUFFER: usize = 256 * 1024;

/// Hex MD5 of a file, read in bounded chunks.
pub(crate) async fn md5_file(path: &Path) -> Result<String> {
    use md5::Digest;
    use std::io::Read;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let cannot = || format!("cannot read {}", path.display());
        let mut file = std::fs::File::open(&path).with_context(cannot)?;
        let mut hasher = md5::Md5::new();
        let mut buf = vec![0; FILE_BUFFER];
        loop {
            let n = file.read(&mut buf).with_context(cannot)?;
            if n == 0 {
                return Ok(hex::encode(hasher.finalize()));
            }
            hasher.update(&buf[..n]);
        }
    })
    .await?
}

/// Where tusk's own state lives for `target`: `publish.state` when set,
/// else beside the served target, never inside it. `file://site` keeps it
/// in the sibling folder `site-tusk-state`; `s3://bucket/prefix` in the
/// private bucket `bucket-tusk-state` (created on the first publish), since
/// any key of a website bucket, even under `.tusk/`, is public.
pub fn state_target(configured: &str, target: &str) -> Result<String> {
    if !configured.is_empty() {
        return Ok(configured.to_string());
    }
    if let Some(path) = target.strip_prefix("file://") {
        return Ok(format!("file://{}-tusk-state", path.trim_end_matches('/')));
    }
    if let Some(location) = target.strip_prefix("s3://") {
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        let state = format!("{bucket}-tusk-state");
        if state.len() > 63 {
            bail!("cannot name a state bucket for {target} ({state} is longer than 63 characters): set publish.state");
        }
        return Ok(format!("s3://{state}/{prefix}")
            .trim_end_matches('/')
            .to_string());
    }
    bail!("publish.target {target:?}: expected file://<folder> or s3://<bucket>/<prefix>")
}

/// Open the state store of `target` (see [`state_target`]).
pub async fn open_state(loaded: &Loaded, target: &str) -> Result<Box<dyn Store>> {
    let url = state_target(&loaded.config.publish.state, target)?;
    open(loaded, &url).await
}

/// Open the store a target URL names (`publish.target` or an override):
/// the one place a backend is chosen. Relative `file://` paths are
/// resolved against the project root; S3 takes `[publish.s3]`.
pub async fn open(loaded: &Loaded, target: &str) -> Result<Box<dyn Store>> {
    let (root, s3) = (&loaded.root, &loaded.config.publish.s3);
    if let Some(path) = target.strip_prefix("file://") {
        if path.is_empty() {
            bail!("publish.target {target:?}: missing folder after file://");
        }
        let path = Path::new(path);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            root.join(path)
        };
        return Ok(Box::new(local::LocalStore::new(path)));
    }
    if let Some(location) = target.strip_prefix("s3://") {
        return Ok(Box::new(s3::S3Store::connect(location, s3).await?));
    }
    bail!("publish.target {target:?}: expected file://<folder> or s3://<bucket>/<prefix>")
}
