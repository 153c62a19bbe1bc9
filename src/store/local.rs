//! A local folder laid out like a bucket: `<root>/<key>` holds the body and
//! `<root>/.tusk-meta/<key>.json` the headers S3 would keep beside it
//! (content type, cache control, redirect), so a folder can stand in for a
//! bucket (the edge serves from it) without losing anything.
//!
//! Writes go to a temporary file renamed into place, so a reader never sees
//! a half-written object.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::layout::META_DIR;
use super::{valid_key, ETag, Fetched, Info, Listed, Meta, Opened, Store};

/// Bytes read from a file per chunk of a streamed body.
const CHUNK: usize = 64 * 1024;

pub struct LocalStore {
    root: PathBuf,
}

/// The sidecar of one object.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    md5: String,
    size: u64,
    modified: String,
    #[serde(flatten)]
    meta: Meta,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    fn body_path(&self, key: &str) -> Result<PathBuf> {
        if !valid_key(key) {
            bail!("invalid object key {key:?}");
        }
        Ok(self.root.join(key))
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.root.join(META_DIR).join(format!("{key}.json"))
    }

    fn read_sidecar(&self, key: &str) -> Result<Option<Sidecar>> {
        self.body_path(key)?;
        let meta_path = self.meta_path(key);
        let text = match fs::read_to_string(&meta_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", meta_path.display()))
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("corrupt metadata {}", meta_path.display()))
    }
}

impl Sidecar {
    fn info(self) -> Info {
        Info {
            size: self.size,
            md5: self.md5,
            modified: self.modified,
            meta: self.meta,
        }
    }
}

/// `left` bytes of `file` from where it stands, a chunk at a time.
fn read_chunks(
    file: tokio::fs::File,
    left: u64,
) -> futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>> {
    use futures::StreamExt;
    use tokio::io::AsyncReadExt;
    futures::stream::try_unfold((file, left), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; CHUNK.min(left as usize)];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the object's file ended early",
            ));
        }
        buf.truncate(n);
        Ok(Some((bytes::Bytes::from(buf), (file, left - n as u64))))
    })
    .boxed()
}

/// Write `bytes` to `path` through a temporary file in the same folder.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("object paths have a parent");
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tusk-part-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data().ok();
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Copy the file `from` to `path` through a temporary file in the same
/// folder, hashing what is copied; nothing is renamed into place unless
/// its MD5 is `md5`. Returns the size copied.
fn copy_atomic(from: &Path, path: &Path, md5: &str) -> Result<u64> {
    let dir = path.parent().expect("object paths have a parent");
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut source =
        fs::File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tusk-part-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0; super::FILE_BUFFER];
    let mut size = 0;
    loop {
        let n = std::io::Read::read(&mut source, &mut buf)
            .with_context(|| format!("cannot read {}", from.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n])?;
        size += n as u64;
    }
    let actual = hex::encode(hasher.finalize());
    if actual != md5 {
        return Err(super::changed_on_disk(from, md5, &actual));
    }
    tmp.as_file().sync_data().ok();
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(size)
}

impl LocalStore {
    /// Store the file `from` as `key`: body first, then the sidecar that
    /// makes it listed (an interrupted put leaves an unlisted body, which
    /// the next publish overwrites).
    async fn put_copy(&self, key: &str, from: &Path, md5: &str, meta: &Meta) -> Result<ETag> {
        let path = self.body_path(key)?;
        let meta_path = self.meta_path(key);
        let (from, md5, meta) = (from.to_path_buf(), md5.to_string(), meta.clone());
        tokio::task::spawn_blocking(move || -> Result<ETag> {
            let size = copy_atomic(&from, &path, &md5)?;
            let sidecar = Sidecar {
                md5,
                size,
                modified: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                meta,
            };
            write_atomic(&meta_path, &serde_json::to_vec_pretty(&sidecar)?)?;
            Ok(sidecar.md5)
        })
        .await?
    }
}

#[async_trait]
impl Store for LocalStore {
    async fn list(&self) -> Result<Vec<Listed>> {
        let meta_root = self.root.join(META_DIR);
        let mut out = Vec::new();
        if !meta_root.is_dir() {
            return Ok(out);
        }
        for entry in walkdir::WalkDir::new(&meta_root).sort_by_file_name() {
            let entry = entry.with_context(|| format!("cannot list {}", meta_root.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&meta_root)
                .expect("under meta root");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let Some(key) = rel.strip_suffix(".json") else {
                continue;
            };
            let text = fs::read_to_string(entry.path())?;
            let sidecar: Sidecar = serde_json::from_str(&text)
                .with_context(|| format!("corrupt metadata {}", entry.path().display()))?;
            // An object whose body is gone is not listed (an interrupted delete).
            if !self.root.join(key).is_file() {
                continue;
            }
            out.push(Listed {
                key: key.to_string(),
                size: sidecar.size,
                md5: sidecar.md5,
                modified: sidecar.modified,
            });
        }
        Ok(out)
    }

    /// The ETag of a local object is its MD5.
    async fn put(&self, key: &str, body: Vec<u8>, md5: &str, meta: &Meta) -> Result<ETag> {
        let actual = hex::encode(Md5::digest(&body));
        if actual != md5 {
            bail!("{key}: content MD5 mismatch (expected {md5}, got {actual})");
        }
        let path = self.body_path(key)?;
        let sidecar = Sidecar {
            md5: actual,
            size: body.len() as u64,
            modified: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            meta: meta.clone(),
        };
        // Body first, then the sidecar that makes it listed: an interrupted
        // put leaves an unlisted body, which the next publish overwrites.
        let meta_path = self.meta_path(key);
        tokio::task::spawn_blocking(move || -> Result<ETag> {
            write_atomic(&path, &body)?;
            write_atomic(&meta_path, &serde_json::to_vec_pretty(&sidecar)?)?;
            Ok(sidecar.md5)
        })
        .await?
    }

    async fn put_file(&self, key: &str, path: &Path, md5: &str, meta: &Meta) -> Result<ETag> {
        self.put_copy(key, path, md5, meta).await
    }

    async fn put_new(&self, key: &str, body: Vec<u8>, meta: &Meta) -> Result<bool> {
        let path = self.body_path(key)?;
        let dir = path.parent().expect("object paths have a parent");
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // The exclusive create is the lock; the sidecar follows.
        let mut file = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        };
        file.write_all(&body)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let sidecar = Sidecar {
            md5: hex::encode(Md5::digest(&body)),
            size: body.len() as u64,
            modified: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            meta: meta.clone(),
        };
        write_atomic(&self.meta_path(key), &serde_json::to_vec_pretty(&sidecar)?)?;
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        let path = self.body_path(key)?;
        let Some(sidecar) = self.read_sidecar(key)? else {
            return Ok(None);
        };
        let body = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Some(Fetched {
            body,
            meta: sidecar.meta,
        }))
    }

    async fn head(&self, key: &str) -> Result<Option<Meta>> {
        Ok(self.read_sidecar(key)?.map(|s| s.meta))
    }

    async fn stat(&self, key: &str) -> Result<Option<Info>> {
        Ok(self.read_sidecar(key)?.map(Sidecar::info))
    }

    async fn open(&self, key: &str, range: Option<std::ops::Range<u64>>) -> Result<Option<Opened>> {
        let path = self.body_path(key)?;
        let Some(sidecar) = self.read_sidecar(key)? else {
            return Ok(None);
        };
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        // The file's own size, not the sidecar's: a body replaced under a
        // reader must not be cut or padded to a stale length.
        let size = file.metadata().await?.len();
        let range = range.unwrap_or(0..size);
        if range.start > 0 {
            use tokio::io::AsyncSeekExt;
            file.seek(std::io::SeekFrom::Start(range.start)).await?;
        }
        let mut info = sidecar.info();
        info.size = size;
        Ok(Some(Opened {
            info,
            body: read_chunks(file, range.end.saturating_sub(range.start)),
        }))
    }

    async fn copy(&self, from: &str, to: &str, meta: &Meta) -> Result<ETag> {
        // File to file: the body never passes through memory whole.
        let Some(source) = self.read_sidecar(from)? else {
            bail!("cannot copy {from}: no such object");
        };
        self.put_copy(to, &self.body_path(from)?, &source.md5, meta)
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.body_path(key)?;
        // Sidecar first: the object stops being listed before its body goes.
        for p in [self.meta_path(key), path] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot delete {}", p.display())),
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }
}
