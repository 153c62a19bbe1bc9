//! Precompression for publishing (`publish.compress = "gzip" | "br"`).
//!
//! S3 serves bytes as stored, so a precompressed object is stored encoded
//! with `Content-Encoding`. The encoding must be deterministic: the plan
//! compares the MD5 of the encoded bytes with the bucket's ETag, and a
//! fresh CI clone must produce the same bytes (gzip with a zero mtime, fixed
//! levels). Encoded MD5s are cached by content hash in `.tusk/cache/` so a
//! no-op publish does not compress the whole site again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Bodies smaller than this gain nothing from compression.
const MIN_SIZE: u64 = 256;
/// Bodies larger than this are stored as they are (streamed from disk):
/// compressing holds a body in memory, and CloudFront draws the same line
/// (it compresses 1 KB to 10 MB).
pub const MAX_SIZE: u64 = 10_000_000;

/// Whether objects of this Content-Type are worth compressing.
pub fn compressible(content_type: &str, size: u64) -> bool {
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        return false;
    }
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.starts_with("text/")
        || mime.ends_with("+xml")
        || mime.ends_with("+json")
        || matches!(
            mime,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/wasm"
                | "application/manifest+json"
                | "font/ttf"
                | "font/otf"
        )
}

/// Encode `body` with `encoding` (`gzip` or `br`), deterministically.
pub fn encode(encoding: &str, body: &[u8]) -> Result<Vec<u8>> {
    match encoding {
        "gzip" => {
            let mut out = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::best());
            out.write_all(body)?;
            Ok(out.finish()?)
        }
        "br" => {
            let mut out = Vec::new();
            // Quality 9: within a few percent of 11 at a fraction of its time.
            let params = brotli::enc::BrotliEncoderParams {
                quality: 9,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &body[..], &mut out, &params)?;
            Ok(out)
        }
        other => bail!("unknown encoding {other:?}"),
    }
}

/// The MD5 and size of an encoded body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoded {
    pub encoding: String,
    pub md5: String,
    /// SHA-256 of the encoded bytes (empty in records of older versions).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    pub size: u64,
}

/// Encoded MD5s by `<encoding>:<sha256 of the raw body>`.
#[derive(Debug, Default)]
pub struct Cache {
    path: PathBuf,
    entries: BTreeMap<String, Encoded>,
    dirty: bool,
}

impl Cache {
    /// Load the cache kept under the project root (empty when missing or
    /// unreadable: it is only a cache).
    pub fn load(root: &Path) -> Cache {
        // v2: entries carry the encoded SHA-256; v1 entries are not read.
        let path = root.join(".tusk/cache/encoded-v2.json");
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Cache {
            path,
            entries,
            dirty: false,
        }
    }

    pub fn get(&self, encoding: &str, sha256: &str) -> Option<&Encoded> {
        self.entries.get(&format!("{encoding}:{sha256}"))
    }

    pub fn insert(&mut self, sha256: &str, encoded: Encoded) {
        self.entries
            .insert(format!("{}:{sha256}", encoded.encoding), encoded);
        self.dirty = true;
    }

    /// Keep only the entries for `live` content hashes and save.
    pub fn save(mut self, live: &std::collections::HashSet<&str>) -> Result<()> {
        let before = self.entries.len();
        self.entries
            .retain(|k, _| k.split_once(':').is_some_and(|(_, h)| live.contains(h)));
        if !self.dirty && before == self.entries.len() {
            return Ok(());
        }
        let dir = self.path.parent().expect("cache path has a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&serde_json::to_vec(&self.entries)?)?;
        tmp.persist(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_is_deterministic_and_decodes() {
        let body = "<p>hello</p>".repeat(100);
        let a = encode("gzip", body.as_bytes()).unwrap();
        assert_eq!(a, encode("gzip", body.as_bytes()).unwrap());
        let mut out = String::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn brotli_decodes() {
        let body = "body { color: red }".repeat(100);
        let a = encode("br", body.as_bytes()).unwrap();
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &a[..], &mut out).unwrap();
        assert_eq!(out, body.as_bytes());
    }

    #[test]
    fn only_text_like_types_compress() {
        assert!(compressible("text/html; charset=utf-8", 5000));
        assert!(compressible("image/svg+xml", 5000));
        assert!(!compressible("image/png", 5000));
        assert!(!compressible("text/html", 10));
        assert!(!compressible("text/plain", MAX_SIZE + 1));
    }
}
