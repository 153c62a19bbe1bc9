//! Answers from the published bucket the way S3 static website hosting
//! does, because that is what CloudFront falls back to: `dir/` serves
//! `dir/index.html`, `dir` redirects to `dir/` when only the index exists,
//! redirect objects answer 301 with their location (or the temporary
//! status they were published with), misses get the bucket's `404.html`.
//! A URL with a query is first looked up under its query key
//! (`tree::key::with_query`: a snapshotted shortlink's redirect, a page of
//! hash mode), then under its path alone.

use bytes::Bytes;
use futures::TryStreamExt;
use hyper::header::{self, HeaderMap, HeaderValue};

use crate::store::{Info, Opened, Store};

/// A response from the bucket.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Payload,
}

/// What of an object's body the bucket answer carries.
pub enum Payload {
    /// Read whole: small enough to cache (or empty).
    Bytes(Bytes),
    /// Larger than the cacheable limit: streamed, never held whole.
    Stream(Opened),
    /// A HEAD request: nothing read, only the body's length.
    Length(u64),
}

/// How much of the object to read.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// Headers only (S3: HeadObject).
    Head,
    /// The body, whole when it has at most `max` bytes, else streamed.
    Body { max: u64 },
}

/// The bucket key for a decoded URL path, or `None` when the path can
/// never name an object (`..`, tusk's own records).
pub fn key_for(path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let mut key = decoded.trim_start_matches('/').to_string();
    if key.is_empty() || key.ends_with('/') {
        key.push_str("index.html");
    }
    let private = crate::store::layout::is_internal(&key);
    (crate::store::valid_key(&key) && !private).then_some(key)
}

/// The answer for `target`, a request's path and query.
pub async fn answer(store: &dyn Store, target: &str, read: Read) -> anyhow::Result<Answer> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(key) = key_for(path) else {
        return not_found(store, read).await;
    };
    for query_key in query_keys(&key, query) {
        if let Some(found) = fetch(store, &query_key, read).await? {
            return Ok(object(found));
        }
    }
    if let Some(found) = fetch(store, &key, read).await? {
        return Ok(object(found));
    }
    // `/about` when only `about/index.html` exists: S3 answers 302 to `/about/`.
    if !path.ends_with('/') && store.head(&format!("{key}/index.html")).await?.is_some() {
        let mut headers = HeaderMap::new();
        if let Ok(location) = HeaderValue::from_str(&crate::tree::key::folder_location(path)) {
            headers.insert(header::LOCATION, location);
        }
        return Ok(Answer {
            status: 302,
            headers,
            body: Payload::Bytes(Bytes::new()),
        });
    }
    not_found(store, read).await
}

/// Where an answer for `key` with `query` may be stored: beside the file
/// itself, or in the folder's index for an extension-less path, the way
/// the snapshot names pages.
pub fn query_keys(key: &str, query: &str) -> Vec<String> {
    use crate::tree::key::with_query;
    if query.is_empty() {
        return Vec::new();
    }
    let mut keys = vec![with_query(key, query)];
    let name = key.rsplit('/').next().unwrap_or(key);
    if !name.contains('.') {
        keys.push(with_query(&format!("{key}/index.html"), query));
    }
    keys
}

/// An object's headers and as much of its body as `read` asks for.
async fn fetch(
    store: &dyn Store,
    key: &str,
    read: Read,
) -> anyhow::Result<Option<(Info, Payload)>> {
    let max = match read {
        Read::Head => {
            return Ok(store
                .stat(key)
                .await?
                .map(|info| (info.clone(), Payload::Length(info.size))))
        }
        Read::Body { max } => max,
    };
    let Some(opened) = store.open(key, None).await? else {
        return Ok(None);
    };
    let info = opened.info.clone();
    if info.size > max {
        return Ok(Some((info, Payload::Stream(opened))));
    }
    // Stored as the cache keeps it: the cache counts what it really holds.
    let mut body = super::stored::Filling::new(Some(info.size));
    let mut chunks = opened.body;
    while let Some(chunk) = chunks.try_next().await? {
        if (body.len() + chunk.len()) as u64 > max {
            anyhow::bail!("{key} grew beyond its listed size while read");
        }
        body.push(&chunk);
    }
    Ok(Some((info, Payload::Bytes(body.finish()))))
}

fn object((info, body): (Info, Payload)) -> Answer {
    let mut headers = HeaderMap::new();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    let meta = &info.meta;
    if let Some(location) = &meta.redirect {
        set(header::LOCATION, location);
        if !meta.cache_control.is_empty() {
            set(header::CACHE_CONTROL, &meta.cache_control);
        }
        return Answer {
            status: redirect_status(meta),
            headers,
            body: Payload::Bytes(Bytes::new()),
        };
    }
    if !meta.content_type.is_empty() {
        set(header::CONTENT_TYPE, &meta.content_type);
    }
    if !meta.cache_control.is_empty() {
        set(header::CACHE_CONTROL, &meta.cache_control);
    }
    if let Some(encoding) = &meta.content_encoding {
        set(header::CONTENT_ENCODING, encoding);
    }
    set(header::ETAG, &format!("\"{}\"", info.md5));
    set(header::ACCEPT_RANGES, "bytes");
    if let Some(modified) = http_date(&info.modified) {
        set(header::LAST_MODIFIED, &modified);
    }
    Answer {
        status: 200,
        headers,
        body,
    }
}

/// RFC 3339 as an HTTP date (`Tue, 01 Dec 2026 17:37:50 GMT`).
fn http_date(rfc3339: &str) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(
        at.with_timezone(&chrono::Utc)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    )
}

/// 301 unless the object was published as a temporary redirect.
fn redirect_status(meta: &crate::store::Meta) -> u16 {
    meta.user
        .get(crate::store::REDIRECT_STATUS)
        .and_then(|s| s.parse().ok())
        .filter(|s| matches!(s, 302 | 303 | 307 | 308))
        .unwrap_or(301)
}

/// The error document, like a website bucket's `404.html`.
async fn not_found(store: &dyn Store, read: Read) -> anyhow::Result<Answer> {
    let (headers, body) = match fetch(store, "404.html", read).await? {
        Some(found) => {
            let mut answer = object(found);
            answer.headers.remove(header::ETAG);
            answer.headers.remove(header::LAST_MODIFIED);
            (answer.headers, answer.body)
        }
        None => {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            const TEXT: &[u8] = b"404 Not Found\n";
            let body = match read {
                Read::Head => Payload::Length(TEXT.len() as u64),
                Read::Body { .. } => Payload::Bytes(Bytes::from_static(TEXT)),
            };
            (headers, body)
        }
    };
    Ok(Answer {
        status: 404,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::key_for;

    #[test]
    fn website_keys() {
        assert_eq!(key_for("/").as_deref(), Some("index.html"));
        assert_eq!(key_for("/blog/").as_deref(), Some("blog/index.html"));
        assert_eq!(key_for("/a%20b.html").as_deref(), Some("a b.html"));
        assert_eq!(key_for("/css/site.css").as_deref(), Some("css/site.css"));
        assert_eq!(key_for("/../etc/passwd"), None);
        assert_eq!(key_for("/a/%2e%2e/%2e%2e/x"), None);
        assert_eq!(key_for("/.tusk/publishes/x.json"), None);
        assert_eq!(key_for("/.tusk-meta/a.json"), None);
    }

    #[test]
    fn query_keys_are_beside_the_file_or_in_the_folder() {
        use crate::tree::key::with_query;
        assert!(super::query_keys("index.html", "").is_empty());
        assert_eq!(
            super::query_keys("index.html", "p=1"),
            [with_query("index.html", "p=1")]
        );
        assert_eq!(
            super::query_keys("topic", "k=x")[1],
            with_query("topic/index.html", "k=x")
        );
    }

    #[test]
    fn folder_redirects_stay_on_this_host() {
        use crate::tree::key::folder_location;
        assert_eq!(folder_location("/tags"), "/tags/");
        assert_eq!(folder_location("//evil.example"), "/evil.example/");
        assert_eq!(folder_location("/\\evil.example"), "/evil.example/");
    }
}
