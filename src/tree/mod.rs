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
/// they are copied instead of being read twice; what the bytes are (for
/// the Content-Type) is learnt on the same pass.
#[derive(Default)]
pub struct Hashes {
    md5: Md5,
    sha256: Sha256,
    size: u64,
    sniff: Sniff,
}

impl Hashes {
    pub fn update(&mut self, chunk: &[u8]) {
        self.md5.update(chunk);
        self.sha256.update(chunk);
        self.size += chunk.len() as u64;
        self.sniff.update(chunk);
    }

    /// Finish hashing and describe the object stored under `key`.
    pub fn finish(self, key: &str) -> Object {
        Object {
            key: key.to_string(),
            size: self.size,
            md5: hex::encode(self.md5.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
            content_type: self.sniff.content_type(key),
            cache_class: cache_class_for(key),
            redirect: None,
            redirect_status: None,
        }
    }
}

/// What a body's bytes say about its Content-Type, learnt a chunk at a
/// time: whether they are valid UTF-8 (only then is a text type labelled
/// `charset=utf-8`; a Latin-1 file is not) and whether an XML document is
/// an Atom feed (`<feed xmlns="http://www.w3.org/2005/Atom">`).
pub struct Sniff {
    utf8: bool,
    /// The start of a UTF-8 sequence cut at the end of the last chunk.
    pending: Vec<u8>,
    /// The first bytes of the body, enough to find the root element.
    head: Vec<u8>,
}

/// How much of a body is kept to find an XML document's root element.
const SNIFF_HEAD: usize = 1024;

impl Default for Sniff {
    fn default() -> Sniff {
        Sniff {
            utf8: true,
            pending: Vec::new(),
            head: Vec::new(),
        }
    }
}

impl Sniff {
    /// The sniff of a whole body held in memory.
    pub fn of(body: &[u8]) -> Sniff {
        let mut sniff = Sniff::default();
        sniff.update(body);
        sniff
    }

    pub fn update(&mut self, mut chunk: &[u8]) {
        if self.head.len() < SNIFF_HEAD {
            let take = chunk.len().min(SNIFF_HEAD - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if !self.utf8 {
            return;
        }
        if let Some(&lead) = self.pending.first() {
            let width = utf8_width(lead);
            let need = (width - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..need]);
            chunk = &chunk[need..];
            if self.pending.len() < width {
                return;
            }
            self.utf8 = std::str::from_utf8(&self.pending).is_ok();
            self.pending.clear();
            if !self.utf8 {
                return;
            }
        }
        match std::str::from_utf8(chunk) {
            Ok(_) => {}
            // Cut mid-sequence: the next chunk completes it (or not).
            Err(e) if e.error_len().is_none() => {
                self.pending = chunk[e.valid_up_to()..].to_vec();
            }
            Err(_) => self.utf8 = false,
        }
    }

    /// Whether every byte so far is valid UTF-8 (a sequence cut off at
    /// the end is not).
    pub fn is_utf8(&self) -> bool {
        self.utf8 && self.pending.is_empty()
    }

    /// The Content-Type of a body stored under `key`: by the extension,
    /// an XML document that is an Atom feed as `application/atom+xml`, and
    /// text types labelled UTF-8 only when the bytes are.
    pub fn content_type(&self, key: &str) -> String {
        let mut mime = mime_for(key);
        if mime == "application/xml" && is_atom(&self.head) {
            mime = "application/atom+xml";
        }
        if textual(mime) && self.is_utf8() {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        }
    }
}

/// The length of the UTF-8 sequence a lead byte starts (a cut sequence's
/// lead byte is always valid, `from_utf8` said so).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}

/// Whether the root element of the XML document starting with `head` is
/// an Atom `<feed>`: past the BOM, the declaration, processing
/// instructions (`<?xml-stylesheet?>`), comments and white space.
fn is_atom(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        let end = if rest.starts_with("<?") {
            rest.find("?>").map(|i| i + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else {
            break;
        };
        let Some(end) = end else { return false };
        rest = rest[end..].trim_start();
    }
    let Some(tag) = rest.strip_prefix("<feed") else {
        return false;
    };
    if !tag.starts_with(|c: char| c.is_ascii_whitespace()) {
        return false;
    }
    let start_tag = tag.split('>').next().unwrap_or("");
    start_tag.contains("http://www.w3.org/2005/Atom")
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

/// Content-Type for a key, from its extension, when its bytes are not at
/// hand: text types carry `charset=utf-8` (what tusk renders is UTF-8).
/// Bodies get theirs from [`Sniff::content_type`].
pub fn content_type_for(key: &str) -> String {
    let mime = mime_for(key);
    if textual(mime) {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// The Content-Type of a body stored under `key` (see [`Sniff`]).
pub fn content_type_of(key: &str, body: &[u8]) -> String {
    Sniff::of(body).content_type(key)
}

/// Types whose bytes are text, so a charset applies.
fn textual(mime: &str) -> bool {
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/json"
                | "application/xml"
                | "application/manifest+json"
                | "application/atom+xml"
                | "application/rss+xml"
                | "image/svg+xml"
        )
}

/// The media type (no parameters) for a key's extension.
fn mime_for(key: &str) -> &'static str {
    let ext = key
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        // mime_guess lacks or disagrees on these; browsers and CDNs expect them.
        "webmanifest" => "application/manifest+json",
        "wasm" => "application/wasm",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "js" | "mjs" => "text/javascript",
        "xml" => "application/xml",
        "atom" => "application/atom+xml",
        "rss" => "application/rss+xml",
        // Source maps are JSON (what browsers' devtools expect).
        "map" => "application/json",
        "" => "application/octet-stream",
        _ => mime_guess::from_ext(&ext)
            .first_raw()
            .unwrap_or("application/octet-stream"),
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
        assert_eq!(
            content_type_for("js/app.js.map"),
            "application/json; charset=utf-8"
        );
    }

    #[test]
    fn text_is_labelled_utf8_only_when_its_bytes_are() {
        assert_eq!(
            content_type_of("a.txt", "caf\u{e9}".as_bytes()),
            "text/plain; charset=utf-8"
        );
        // Latin-1 `café`: no charset, the browser's default decodes it.
        assert_eq!(content_type_of("a.txt", b"caf\xe9"), "text/plain");
        assert_eq!(content_type_of("a.png", b"\x89PNG\xff"), "image/png");
        // A sequence cut between chunks is still UTF-8; one cut at the end is not.
        let euro = "\u{20ac}".as_bytes();
        for cut in 1..euro.len() {
            let mut s = Sniff::default();
            s.update(&euro[..cut]);
            assert!(!s.is_utf8());
            s.update(b"");
            s.update(&euro[cut..]);
            assert!(s.is_utf8(), "cut at {cut}");
            s.update(&euro[..1]);
            s.update(b"x");
            assert!(!s.is_utf8(), "a lead byte followed by ASCII");
        }
    }

    #[test]
    fn an_atom_document_is_an_atom_feed() {
        let atom = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?xml-stylesheet href=\"/f.xsl\"?>\n<!-- c -->\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en\"><title>T</title></feed>";
        assert_eq!(
            content_type_of("feed.xml", atom.as_bytes()),
            "application/atom+xml; charset=utf-8"
        );
        let rss = "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"></rss>";
        assert_eq!(
            content_type_of("feed.xml", rss.as_bytes()),
            "application/xml; charset=utf-8"
        );
        assert_eq!(
            content_type_of(
                "sitemap.xml",
                b"<feedback xmlns=\"http://www.w3.org/2005/Atom\"/>"
            ),
            "application/xml; charset=utf-8"
        );
    }
}
