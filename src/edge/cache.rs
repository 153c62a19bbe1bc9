//! The edge's memory cache: whole responses keyed by path and query, with
//! their freshness (RFC 9111 as CDNs apply it) and a byte bound enforced by
//! evicting the least recently used entries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{self, HeaderMap};

use crate::config::TtlConfig;
use crate::tree::CacheClass;

use super::stored::{self, allocated};

/// A stored response.
#[derive(Debug)]
pub struct Entry {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the origin last confirmed it (stored or revalidated).
    pub stored: Instant,
    pub freshness: Freshness,
}

/// How long an entry may be served, from the response's Cache-Control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub ttl: Duration,
    /// Served stale while one background request revalidates it.
    pub while_revalidate: Duration,
    /// Served stale when the origin fails.
    pub if_error: Duration,
}

impl Freshness {
    /// Not to be served again: an answer only for the request that asked.
    pub const NONE: Freshness = Freshness {
        ttl: Duration::ZERO,
        while_revalidate: Duration::ZERO,
        if_error: Duration::ZERO,
    };
}

impl Entry {
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.stored)
    }
    pub fn is_fresh(&self, now: Instant) -> bool {
        self.age(now) < self.freshness.ttl
    }
    pub fn can_serve_while_revalidating(&self, now: Instant) -> bool {
        self.age(now)
            < self
                .freshness
                .ttl
                .saturating_add(self.freshness.while_revalidate)
    }
    pub fn can_serve_on_error(&self, now: Instant) -> bool {
        self.age(now) < self.freshness.ttl.saturating_add(self.freshness.if_error)
    }
    /// The bytes this entry really keeps allocated: its body as it is
    /// stored (see [`stored::held`]), each header (a value of its own, and its slot
    /// in the map), the key twice (LRU and map), the entry and its node.
    fn weight(&self, key: &str) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| allocated(k.as_str().len() + v.len()) + 64)
            .sum();
        2 * allocated(key.len()) + headers + stored::held(self.body.len()) + 512
    }
}

/// Why a response is not stored, or for how long it is.
pub fn freshness(
    status: u16,
    headers: &HeaderMap,
    class: CacheClass,
    ttl: &TtlConfig,
    stale_if_error: u64,
) -> Option<Freshness> {
    if !matches!(
        status,
        200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    ) {
        return None;
    }
    if headers.contains_key(header::SET_COOKIE) {
        return None;
    }
    // The edge asks the origin for identity bodies and no cookies, so only
    // a Vary on something else makes one cached copy wrong for some users.
    for vary in headers.get_all(header::VARY) {
        let vary = vary.to_str().unwrap_or("*").to_ascii_lowercase();
        if vary
            .split(',')
            .map(str::trim)
            .any(|v| !v.is_empty() && v != "accept-encoding")
        {
            return None;
        }
    }
    let mut max_age = None;
    let mut s_maxage = None;
    let mut swr = None;
    let mut sie = None;
    let mut no_cache = false;
    for value in headers.get_all(header::CACHE_CONTROL) {
        for directive in value.to_str().unwrap_or("").split(',') {
            let (name, arg) = match directive.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            let secs = arg.and_then(|a| a.parse::<u64>().ok());
            match name.to_ascii_lowercase().as_str() {
                "private" | "no-store" => return None,
                "no-cache" => no_cache = true,
                "max-age" => max_age = secs,
                "s-maxage" => s_maxage = secs,
                "stale-while-revalidate" => swr = secs,
                "stale-if-error" => sie = secs,
                _ => {}
            }
        }
    }
    let explicit = s_maxage.or(max_age);
    // Error answers are only stored for as long as they say.
    if status != 200 && status != 301 && status != 308 && explicit.is_none() {
        return None;
    }
    let default = match class {
        CacheClass::Html => ttl.html,
        CacheClass::Fingerprinted => ttl.fingerprinted,
        CacheClass::Asset => ttl.asset,
        CacheClass::Feed => ttl.feed,
        CacheClass::Redirect => ttl.redirect,
    };
    let ttl = if no_cache {
        0
    } else {
        explicit.unwrap_or(default)
    };
    Some(Freshness {
        ttl: Duration::from_secs(ttl),
        while_revalidate: Duration::from_secs(swr.unwrap_or(0)),
        if_error: Duration::from_secs(sie.unwrap_or(stale_if_error)),
    })
}

/// Least recently used entries go first once the bytes exceed the bound.
pub struct Cache {
    inner: Mutex<Inner>,
    capacity: usize,
}

struct Inner {
    entries: lru::LruCache<String, Arc<Entry>>,
    bytes: usize,
    evictions: u64,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Stats {
    pub entries: usize,
    pub bytes: usize,
    pub capacity: usize,
    pub evictions: u64,
}

impl Cache {
    pub fn new(capacity: usize) -> Cache {
        Cache {
            inner: Mutex::new(Inner {
                entries: lru::LruCache::unbounded(),
                bytes: 0,
                evictions: 0,
            }),
            capacity,
        }
    }

    pub fn get(&self, key: &str) -> Option<Arc<Entry>> {
        self.inner.lock().unwrap().entries.get(key).cloned()
    }

    pub fn insert(&self, key: &str, entry: Arc<Entry>) {
        let weight = entry.weight(key);
        if weight > self.capacity {
            self.remove(key);
            return;
        }
        let mut inner = self.inner.lock().unwrap();
        if let Some(old) = inner.entries.put(key.to_string(), entry) {
            inner.bytes -= old.weight(key);
        }
        inner.bytes += weight;
        while inner.bytes > self.capacity {
            let Some((k, old)) = inner.entries.pop_lru() else {
                break;
            };
            inner.bytes -= old.weight(&k);
            inner.evictions += 1;
        }
    }

    pub fn remove(&self, key: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(old) = inner.entries.pop(key) {
            inner.bytes -= old.weight(key);
        }
    }

    pub fn stats(&self) -> Stats {
        let inner = self.inner.lock().unwrap();
        Stats {
            entries: inner.entries.len(),
            bytes: inner.bytes,
            capacity: self.capacity,
            evictions: inner.evictions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn fresh(status: u16, pairs: &[(&str, &str)]) -> Option<Freshness> {
        freshness(
            status,
            &headers(pairs),
            CacheClass::Html,
            &TtlConfig::default(),
            100,
        )
    }

    #[test]
    fn shared_max_age_wins_and_defaults_apply() {
        let f = fresh(
            200,
            &[(
                "cache-control",
                "max-age=10, s-maxage=20, stale-while-revalidate=5",
            )],
        )
        .unwrap();
        assert_eq!(f.ttl, Duration::from_secs(20));
        assert_eq!(f.while_revalidate, Duration::from_secs(5));
        assert_eq!(f.if_error, Duration::from_secs(100));
        assert_eq!(fresh(200, &[]).unwrap().ttl, Duration::from_secs(60));
        assert_eq!(
            fresh(200, &[("cache-control", "no-cache")]).unwrap().ttl,
            Duration::ZERO
        );
        assert_eq!(
            fresh(200, &[("cache-control", "max-age=1, stale-if-error=7")])
                .unwrap()
                .if_error,
            Duration::from_secs(7)
        );
    }

    #[test]
    fn private_answers_are_never_stored() {
        assert!(fresh(200, &[("set-cookie", "s=1")]).is_none());
        assert!(fresh(200, &[("cache-control", "private, max-age=60")]).is_none());
        assert!(fresh(200, &[("cache-control", "public, no-store")]).is_none());
        assert!(fresh(200, &[("vary", "Cookie")]).is_none());
        assert!(fresh(200, &[("vary", "Accept-Encoding")]).is_some());
        assert!(fresh(500, &[("cache-control", "max-age=60")]).is_none());
        assert!(
            fresh(404, &[]).is_none(),
            "errors only with an explicit max-age"
        );
        assert!(fresh(404, &[("cache-control", "max-age=5")]).is_some());
    }

    #[test]
    fn evicts_least_recently_used_beyond_the_bound() {
        let entry = |n: usize| {
            Arc::new(Entry {
                status: 200,
                headers: HeaderMap::new(),
                body: Bytes::from(vec![0u8; n]),
                stored: Instant::now(),
                freshness: fresh(200, &[]).unwrap(),
            })
        };
        // Each weighs its body, its key twice and 512 bytes of overhead.
        let weight = entry(1000).weight("a");
        assert_eq!(weight, 1024 + 2 * 8 + 512);
        let cache = Cache::new(3 * weight - 1); // room for two
        cache.insert("a", entry(1000));
        cache.insert("b", entry(1000));
        assert!(cache.get("a").is_some()); // a is now the most recent
        cache.insert("c", entry(1000));
        assert!(cache.get("b").is_none(), "b was least recently used");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        let stats = cache.stats();
        assert!(
            stats.bytes <= 3 * weight && stats.evictions == 1,
            "{stats:?}"
        );
        cache.insert("huge", entry(10_000));
        assert!(cache.get("huge").is_none(), "larger than the whole cache");
    }
}
