//! Fingerprinted assets: `{{ asset_url(path="css/site.css") }}` in a
//! template returns `/css/site.3f2a1b9c.css`, a name carrying a hash of
//! the file's bytes, and the build writes that copy beside the original;
//! `{{ asset_sri(path="css/site.css") }}` gives its Subresource Integrity
//! value. Because the name changes whenever the bytes do, the tree marks
//! these copies `fingerprinted` and publish caches them forever, while
//! HTML stays briefly cached: that is what makes high CDN offload safe.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine;
use sha2::{Digest, Sha256, Sha384};

use crate::tree::write::Sink;
use crate::tree::{CacheClass, Object};

/// Where a static file's bytes are.
#[derive(Debug, Clone)]
pub enum Source {
    Path(PathBuf),
    Bytes(&'static [u8]),
}

impl Source {
    fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Source::Path(p) => std::fs::read(p),
            Source::Bytes(b) => Ok(b.to_vec()),
        }
    }
}

/// One fingerprinted copy.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    /// The copy's key in the output (`css/site.3f2a1b9c.css`).
    pub key: String,
    /// `sha384-...`, for `integrity=`.
    pub sri: String,
    pub source: Source,
}

impl Fingerprint {
    /// Write the hashed copy into the output, marked immutable in the tree.
    pub fn write(&self, sink: &Sink) -> std::io::Result<Object> {
        let mut object = match &self.source {
            Source::Path(path) => sink.copy(path, &self.key),
            Source::Bytes(bytes) => sink.write(&self.key, bytes),
        }?;
        object.cache_class = CacheClass::Fingerprinted;
        Ok(object)
    }
}

/// The static files templates may fingerprint, and those they did.
#[derive(Default)]
pub struct Assets {
    sources: HashMap<String, Source>,
    used: Mutex<BTreeMap<String, Fingerprint>>,
}

impl Assets {
    pub fn new(sources: HashMap<String, Source>) -> Arc<Assets> {
        Arc::new(Assets {
            sources,
            used: Mutex::new(BTreeMap::new()),
        })
    }

    /// The fingerprint of the static file at `path` (an output key such as
    /// `css/site.css`, with or without a leading slash), computed once.
    pub fn fingerprint(&self, path: &str) -> Result<Fingerprint, String> {
        let key = path.trim_start_matches('/');
        if let Some(done) = self.used.lock().unwrap().get(key) {
            return Ok(done.clone());
        }
        let source = self.sources.get(key).ok_or_else(|| {
            format!("asset {path:?} is not a static file of the site or the theme")
        })?;
        let bytes = source.read().map_err(|e| format!("asset {path:?}: {e}"))?;
        let hash = hex::encode(Sha256::digest(&bytes));
        let fingerprint = Fingerprint {
            key: hashed_name(key, &hash[..8]),
            sri: format!(
                "sha384-{}",
                base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&bytes))
            ),
            source: source.clone(),
        };
        self.used
            .lock()
            .unwrap()
            .insert(key.to_string(), fingerprint.clone());
        Ok(fingerprint)
    }

    /// Every fingerprinted copy the templates asked for.
    pub fn used(&self) -> Vec<Fingerprint> {
        self.used.lock().unwrap().values().cloned().collect()
    }

    /// Register `asset_url(path=...)` and `asset_sri(path=...)`.
    pub fn register(self: &Arc<Self>, tera: &mut tera::Tera) {
        let assets = self.clone();
        tera.register_function("asset_url", move |args: &HashMap<String, tera::Value>| {
            let fp = assets.fingerprint(path_arg(args, "asset_url")?)?;
            Ok(tera::Value::String(format!("/{}", fp.key)))
        });
        let assets = self.clone();
        tera.register_function("asset_sri", move |args: &HashMap<String, tera::Value>| {
            let fp = assets.fingerprint(path_arg(args, "asset_sri")?)?;
            Ok(tera::Value::String(fp.sri))
        });
    }
}

fn path_arg<'a>(args: &'a HashMap<String, tera::Value>, function: &str) -> tera::Result<&'a str> {
    args.get("path")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{function} needs a path: {function}(path=\"css/site.css\")").into())
}

/// `css/site.css` + `3f2a1b9c` -> `css/site.3f2a1b9c.css`; a name without
/// an extension gets the hash at the end.
fn hashed_name(key: &str, hash: &str) -> String {
    let (dir, name) = match key.rsplit_once('/') {
        Some((d, n)) => (format!("{d}/"), n),
        None => (String::new(), key),
    };
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem}.{hash}.{ext}"),
        _ => format!("{dir}{name}.{hash}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_integrity() {
        assert_eq!(
            hashed_name("css/site.css", "0123abcd"),
            "css/site.0123abcd.css"
        );
        assert_eq!(hashed_name("app.min.js", "0123abcd"), "app.min.0123abcd.js");
        assert_eq!(hashed_name("LICENSE", "0123abcd"), "LICENSE.0123abcd");
        assert_eq!(
            hashed_name(".well-known/x", "0123abcd"),
            ".well-known/x.0123abcd"
        );
        let assets = Assets::new(HashMap::from([(
            "a.css".to_string(),
            Source::Bytes(b"body{}"),
        )]));
        let fp = assets.fingerprint("/a.css").unwrap();
        assert_eq!(
            fp.key,
            format!("a.{}.css", &hex::encode(Sha256::digest(b"body{}"))[..8])
        );
        assert!(fp.sri.starts_with("sha384-") && fp.sri.len() == 7 + 64);
        assert!(assets
            .fingerprint("missing.css")
            .unwrap_err()
            .contains("missing.css"));
        assert_eq!(assets.used().len(), 1);
    }
}
