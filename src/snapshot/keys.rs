//! From an origin URL to the key its copy is stored under.
//!
//! S3 static hosting and the edge serve `a/` and `a` from `a/index.html`,
//! so HTML without an extension goes there. Keys come from the decoded,
//! normalised path; anything that could leave the snapshot folder or mean
//! different files on different file systems is refused, with a reason.

use url::Url;

/// S3's limit on key length, in bytes.
const MAX_KEY: usize = 1024;
/// Most file systems' limit on one name, in bytes.
const MAX_SEGMENT: usize = 255;

/// The key for `url`, or why it has none. `html` says whether the response
/// is HTML (only then does an extension-less path become `…/index.html`).
/// `hashed_query`: store URLs with a query under a key carrying a hash of
/// it (`list/index.q-1a2b3c4d.html`) instead of refusing them.
pub fn key_for(url: &Url, html: bool, hashed_query: bool) -> Result<String, String> {
    // A link to a query URL is rewritten before its response is seen, so
    // its key cannot depend on the response: guess from the extension.
    let html = if url.query().is_some() {
        !has_extension(url.path())
    } else {
        html
    };
    let mut segments = Vec::new();
    let raw_segments: Vec<&str> = url.path().split('/').skip(1).collect();
    let last = raw_segments.len().saturating_sub(1);
    for (i, raw) in raw_segments.iter().enumerate() {
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
        let seg = String::from_utf8(bytes).map_err(|_| "path is not UTF-8".to_string())?;
        if seg.is_empty() {
            // `//` inside a path, or the trailing slash.
            if i != last {
                return Err("empty path segment".into());
            }
            continue;
        }
        if seg == "." || seg == ".." {
            return Err("dot segment in path".into());
        }
        if seg.contains(['/', '\\']) {
            return Err("encoded slash or backslash in path".into());
        }
        if seg.chars().any(|c| c.is_control()) {
            return Err("control character in path".into());
        }
        if seg.len() > MAX_SEGMENT {
            return Err(format!("path segment longer than {MAX_SEGMENT} bytes"));
        }
        if seg.starts_with(".tusk") {
            return Err("path collides with tusk's own files".into());
        }
        segments.push(seg);
    }
    let dir_like = url.path().ends_with('/') || segments.is_empty();
    let mut key = segments.join("/");
    if dir_like {
        key = if key.is_empty() {
            "index.html".into()
        } else {
            format!("{key}/index.html")
        };
    } else if html && !has_extension(&key) {
        key.push_str("/index.html");
    }
    if let Some(query) = url.query() {
        if !hashed_query {
            return Err("query string (snapshot.query = \"skip\")".into());
        }
        key = crate::tree::key::with_query(&key, query);
    }
    if key.len() > MAX_KEY {
        return Err(format!("key longer than {MAX_KEY} bytes"));
    }
    debug_assert!(crate::tree::key::valid_key(&key), "{key}");
    if !crate::tree::key::valid_key(&key) {
        return Err("unsafe key".into());
    }
    Ok(key)
}

pub fn has_extension(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    matches!(name.rsplit_once('.'), Some((stem, ext)) if !stem.is_empty() && !ext.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str, html: bool) -> Result<String, String> {
        key_for(
            &Url::parse(&format!("http://o.test{path}")).unwrap(),
            html,
            false,
        )
    }

    #[test]
    fn pages_and_assets() {
        assert_eq!(key("/", true).unwrap(), "index.html");
        assert_eq!(key("/a/", true).unwrap(), "a/index.html");
        assert_eq!(key("/a", true).unwrap(), "a/index.html");
        assert_eq!(key("/a/b.html", true).unwrap(), "a/b.html");
        assert_eq!(key("/css/site.css", false).unwrap(), "css/site.css");
        assert_eq!(key("/api/status", false).unwrap(), "api/status");
        assert_eq!(key("/caf%C3%A9/", true).unwrap(), "café/index.html");
        assert_eq!(key("/a%20b.png", false).unwrap(), "a b.png");
    }

    #[test]
    fn queries_skip_or_hash() {
        assert!(key("/list?page=2", true).is_err());
        let u = Url::parse("http://o.test/list?page=2").unwrap();
        let k = key_for(&u, true, true).unwrap();
        assert!(
            k.starts_with("list/index.q-") && k.ends_with(".html"),
            "{k}"
        );
        let u2 = Url::parse("http://o.test/list?page=3").unwrap();
        assert_ne!(k, key_for(&u2, true, true).unwrap());
    }

    /// Hostile paths never produce a key outside the folder.
    #[test]
    fn hostile_paths_are_refused() {
        // URL parsing resolves dot segments, encoded or not (WHATWG), so
        // these stay at the root.
        assert_eq!(key("/%2e%2e/etc/passwd", false).unwrap(), "etc/passwd");
        assert_eq!(key("/a/%2E%2E/%2e%2e/../x.css", false).unwrap(), "x.css");
        for path in [
            "/a/..%2fb",
            "/a/%2F..%2F..%2Fetc",
            "/a%5c..%5cb",
            "/a%00b",
            "/a%0ab",
            "/a//b",
            "/.tusk-tree.json",
            "/.tusk-meta/x.json",
            "/%ff%fe",
        ] {
            let r = key(path, true);
            assert!(r.is_err(), "{path} -> {r:?}");
        }
        assert!(key(&format!("/{}", "a".repeat(300)), true).is_err());
        assert!(key(&"/aaaaaaaaaa".repeat(120), true).is_err());
    }

    /// Fuzz-style: random byte soup as a path either is refused or yields a
    /// key that stays inside the folder.
    #[test]
    fn random_paths_stay_inside() {
        let alphabet: Vec<&str> = vec![
            "a",
            "/",
            ".",
            "..",
            "%2e",
            "%2f",
            "%5c",
            "%00",
            "%ff",
            "\\",
            "~",
            "%",
            "?",
            "#",
            "%c3%a9",
            "%0d",
            " ",
            "index.html",
        ];
        let mut x: u64 = 42;
        for _ in 0..20_000 {
            let mut path = String::from("/");
            for _ in 0..(x % 9) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                path.push_str(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            x = x.wrapping_add(0x9e3779b97f4a7c15);
            let Ok(url) = Url::parse(&format!("http://o.test{path}")) else {
                continue;
            };
            if let Ok(k) = key_for(&url, x.is_multiple_of(2), true) {
                assert!(crate::tree::key::valid_key(&k), "{path} -> {k}");
                let joined = std::path::Path::new("/snap").join(&k);
                assert!(
                    joined
                        .components()
                        .all(|c| !matches!(c, std::path::Component::ParentDir)),
                    "{path} -> {k}"
                );
            }
        }
    }
}
