//! The tree: the set of objects a stage produces and later stages consume.
//!
//! `build` and `snapshot` each write a folder of files plus a manifest
//! ([`MANIFEST_NAME`]) describing every object in it; `publish` and `edge`
//! read the manifest instead of re-deriving content types, hashes or cache
//! policy from the files. Keeping this one serde type shared is what lets the
//! data flow one way: build/snapshot -> tree -> publish -> store -> cdn/edge.

pub(crate) mod key;
pub(crate) mod write;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name of the manifest inside a tree folder. Dot-prefixed so it is
/// never mistaken for site content.
pub const MANIFEST_NAME: &str = ".tusk-tree.json";

/// Version of the manifest format; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// How long caches may keep an object; `publish` maps classes to
/// Cache-Control headers and `edge` to freshness lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheClass {
    /// HTML documents: cached briefly, revalidated often.
    Html,
    /// Content-hashed file names: cached forever (`immutable`).
    Fingerprinted,
    /// Other static files (images, CSS, JS without a hash in the name).
    Asset,
    /// Feeds, sitemaps, robots.txt: cached briefly.
    Feed,
    /// Zero-byte objects that only carry a redirect location.
    Redirect,
}

/// One object of the tree: a file under the tree folder, or a redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// Key relative to the tree folder, `/`-separated, no leading slash
    /// (`2024/01/05/hello.html`, `about/index.html`).
    pub key: String,
    /// Size in bytes of the body (0 for redirects).
    pub size: u64,
    /// Hex MD5 of the body: what S3 reports as the ETag of a single-part upload.
    pub md5: String,
    /// Hex SHA-256 of the body.
    pub sha256: String,
    /// Content-Type to serve the object with.
    pub content_type: String,
    pub cache_class: CacheClass,
    /// Redirect target (root-relative path or absolute URL) for redirect objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// A temporary redirect's status (302, 303, 307); none means 301. The
    /// local bucket and the edge answer with it; an S3 website redirect
    /// (`x-amz-website-redirect-location`) is always a 301.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_status: Option<u16>,
}

impl Object {
    /// An object for a body held in memory.
    pub fn from_bytes(key: &str, body: &[u8]) -> Object {
        let mut hasher = Hashes::default();
        hasher.update(body);
        hasher.finish(key)
    }

    /// A zero-byte object that redirects to `target`.
    pub fn redirect(key: &str, target: &str) -> Object {
        let mut object = Object::from_bytes(key, b"");
        object.cache_class = CacheClass::Redirect;
        object.redirect = Some(target.to_string());
        object
    }
}

/// Incremental MD5 + SHA-256 of one body, so large files are hashed while
/// they are copied instead of being read twice.
#[derive(Default)]
pub struct Hashes {
    md5: Md5,
    sha256: Sha256,
    size: u64,
}

impl Hashes {
    pub fn update(&mut self, chunk: &[u8]) {
        self.md5.update(chunk);
        self.sha256.update(chunk);
        self.size += chunk.len() as u64;
    }

    /// Finish hashing and describe the object stored under `key`.
    pub fn finish(self, key: &str) -> Object {
        Object {
            key: key.to_string(),
            size: self.size,
            md5: hex::encode(self.md5.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
            content_type: content_type_for(key),
            cache_class: cache_class_for(key),
            redirect: None,
            redirect_status: None,
        }
    }
}

/// The manifest: every object of one tree folder, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub version: u32,
    /// Which stage produced the tree (`build`, `snapshot`).
    pub producer: String,
    /// RFC 3339 time the tree was produced.
    pub created: String,
    pub objects: Vec<Object>,
}

impl Tree {
    pub fn new(producer: &str, mut objects: Vec<Object>) -> Tree {
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Tree {
            version: FORMAT_VERSION,
            producer: producer.to_string(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            objects,
        }
    }

    /// Write the manifest into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_NAME);
        let file =
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n")?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Read the manifest of the tree folder `dir`.
    pub fn read(dir: &Path) -> Result<Tree> {
        let path = dir.join(MANIFEST_NAME);
        let mut text = String::new();
        fs::File::open(&path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .with_context(|| format!("cannot read tree manifest {}", path.display()))?;
        let tree: Tree = serde_json::from_str(&text)
            .with_context(|| format!("invalid tree manifest {}", path.display()))?;
        if tree.version != FORMAT_VERSION {
            anyhow::bail!(
                "{}: manifest version {} is not supported (expected {})",
                path.display(),
                tree.version,
                FORMAT_VERSION
            );
        }
        Ok(tree)
    }
}

/// Hex MD5 of a body: what S3 reports as the ETag of a single-part upload.
pub fn md5_hex(body: &[u8]) -> String {
    hex::encode(<Md5 as Digest>::digest(body))
}

/// Hex SHA-256 of a body.
pub fn sha256_hex(body: &[u8]) -> String {
    hex::encode(<Sha256 as Digest>::digest(body))
}

/// Content-Type for a key, from its extension. Text types carry
/// `charset=utf-8` because everything tusk renders is UTF-8.
pub fn content_type_for(key: &str) -> String {
    let ext = key
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    let mime = match ext.as_str() {
        // mime_guess lacks or disagrees on these; browsers and CDNs expect them.
        "webmanifest" => "application/manifest+json".to_string(),
        "wasm" => "application/wasm".to_string(),
        "woff2" => "font/woff2".to_string(),
        "woff" => "font/woff".to_string(),
        "js" | "mjs" => "text/javascript".to_string(),
        "xml" => "application/xml".to_string(),
        "atom" => "application/atom+xml".to_string(),
        "rss" => "application/rss+xml".to_string(),
        "" => "application/octet-stream".to_string(),
        _ => mime_guess::from_ext(&ext)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string(),
    };
    let textual = mime.starts_with("text/")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/xml"
                | "application/manifest+json"
                | "application/atom+xml"
                | "application/rss+xml"
                | "image/svg+xml"
        );
    if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    }
}

/// Default cache class for a key. Stages that know better (fingerprinted
/// assets, redirects) override it.
pub fn cache_class_for(key: &str) -> CacheClass {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm" | "xhtml") => CacheClass::Html,
        Some("xml" | "atom" | "rss") => CacheClass::Feed,
        _ if name == "robots.txt" => CacheClass::Feed,
        _ => CacheClass::Asset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_known_vectors() {
        let o = Object::from_bytes("a/index.html", b"abc");
        assert_eq!(o.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            o.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(o.size, 3);
        assert_eq!(o.content_type, "text/html; charset=utf-8");
        assert_eq!(o.cache_class, CacheClass::Html);
    }

    #[test]
    fn content_types_for_web_formats() {
        assert_eq!(content_type_for("x.wasm"), "application/wasm");
        assert_eq!(content_type_for("i.svg"), "image/svg+xml; charset=utf-8");
        assert_eq!(content_type_for("f.woff2"), "font/woff2");
        assert_eq!(
            content_type_for("d.json"),
            "application/json; charset=utf-8"
        );
        assert_eq!(
            content_type_for("feed.xml"),
            "application/xml; charset=utf-8"
        );
        assert_eq!(
            content_type_for("site.webmanifest"),
            "application/manifest+json; charset=utf-8"
        );
        assert_eq!(content_type_for("a/b.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type_for("LICENSE"), "application/octet-stream");
    }
}
