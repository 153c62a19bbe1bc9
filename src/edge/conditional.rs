//! A client's validators and byte ranges answered against a stored
//! response, as nginx and S3 answer them (RFC 9110 §13 and §14):
//! `If-None-Match` (weak comparison) or else `If-Modified-Since` -> 304;
//! one `Range` -> 206, an unsatisfiable one -> 416, several ranges -> the
//! whole 200 (S3 serves one range per request); `If-Range` that no longer
//! matches -> the whole 200.

use std::ops::Range;

use hyper::header::{self, HeaderMap, HeaderValue};

/// Whether the client's copy is current: 304 instead of the body.
pub fn not_modified(request: &HeaderMap, stored: &HeaderMap) -> bool {
    if let Some(asked) = request.get(header::IF_NONE_MATCH) {
        let Some(etag) = stored.get(header::ETAG).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        return asked
            .to_str()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || weak(t) == weak(etag));
    }
    // The stored date is parsed only when asked about: most requests carry
    // no validator, and parsing a date on every hit costs more than the
    // rest of the answer.
    let Some(since) = date(request.get(header::IF_MODIFIED_SINCE)) else {
        return false;
    };
    date(stored.get(header::LAST_MODIFIED)).is_some_and(|modified| modified <= since)
}

/// What part of a body of `len` bytes the client asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranged {
    Whole,
    Part(Range<u64>),
    /// 416, with `Content-Range: bytes */len`.
    Unsatisfiable,
}

pub fn range(request: &HeaderMap, stored: &HeaderMap, len: u64) -> Ranged {
    let Some(asked) = request.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ranged::Whole;
    };
    if let Some(condition) = request.get(header::IF_RANGE) {
        if !if_range_holds(condition, stored) {
            return Ranged::Whole;
        }
    }
    let Some(spec) = asked
        .split_once('=')
        .filter(|(unit, _)| unit.trim().eq_ignore_ascii_case("bytes"))
        .map(|(_, spec)| spec.trim())
    else {
        return Ranged::Whole;
    };
    // Several ranges: the whole body, as S3 answers them.
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ranged::Whole;
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        // `-N`: the last N bytes.
        (true, _, Some(suffix)) if suffix == 0 || len == 0 => Ranged::Unsatisfiable,
        (true, _, Some(suffix)) => Ranged::Part(len.saturating_sub(suffix)..len),
        // `A-` and `A-B`.
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => {
            if end.is_some_and(|end| end < start) {
                return Ranged::Whole; // invalid: ignored (RFC 9110 §14.2)
            }
            if start >= len {
                return Ranged::Unsatisfiable;
            }
            let end = end.map_or(len, |e| e.saturating_add(1).min(len));
            Ranged::Part(start..end)
        }
        _ => Ranged::Whole,
    }
}

/// `Content-Range` of a 206 (`bytes 0-99/1234`) or a 416 (`bytes */1234`).
pub fn content_range(part: Option<&Range<u64>>, len: u64) -> HeaderValue {
    let text = match part {
        Some(r) => format!("bytes {}-{}/{len}", r.start, r.end - 1),
        None => format!("bytes */{len}"),
    };
    HeaderValue::from_str(&text).expect("digits and spaces are a valid header value")
}

/// `If-Range`: a strong ETag equal to the stored one, or the stored
/// `Last-Modified` exactly.
fn if_range_holds(condition: &HeaderValue, stored: &HeaderMap) -> bool {
    let condition = condition.to_str().unwrap_or("").trim();
    if condition.starts_with('"') || condition.starts_with("W/") {
        let etag = stored.get(header::ETAG).and_then(|v| v.to_str().ok());
        return !condition.starts_with("W/") && etag == Some(condition);
    }
    let asked = date(Some(
        &HeaderValue::from_str(condition).unwrap_or(HeaderValue::from_static("")),
    ));
    asked.is_some() && asked == date(stored.get(header::LAST_MODIFIED))
}

fn weak(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`); anything else is
/// ignored, as RFC 9110 requires for If-Modified-Since.
fn date(value: Option<&HeaderValue>) -> Option<chrono::NaiveDateTime> {
    let text = value?.to_str().ok()?.trim();
    chrono::NaiveDateTime::parse_from_str(text, "%a, %d %b %Y %H:%M:%S GMT").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    const STORED: &[(&str, &str)] = &[
        ("etag", "\"abc\""),
        ("last-modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
    ];

    #[test]
    fn validators() {
        let stored = headers(STORED);
        let asks = |pairs| not_modified(&headers(pairs), &stored);
        assert!(asks(&[("if-none-match", "\"x\", \"abc\"")]));
        assert!(asks(&[("if-none-match", "W/\"abc\"")]), "weak comparison");
        assert!(asks(&[("if-none-match", "*")]));
        assert!(!asks(&[("if-none-match", "\"x\"")]));
        // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        assert!(!asks(&[
            ("if-none-match", "\"x\""),
            ("if-modified-since", "Tue, 01 Dec 2026 10:00:00 GMT")
        ]));
        assert!(asks(&[(
            "if-modified-since",
            "Tue, 01 Dec 2026 10:00:00 GMT"
        )]));
        assert!(asks(&[(
            "if-modified-since",
            "Wed, 02 Dec 2026 10:00:00 GMT"
        )]));
        assert!(!asks(&[(
            "if-modified-since",
            "Mon, 30 Nov 2026 10:00:00 GMT"
        )]));
        assert!(!asks(&[("if-modified-since", "yesterday")]));
        assert!(!asks(&[]));
    }

    #[test]
    fn ranges() {
        let stored = headers(STORED);
        let asks = |pairs| range(&headers(pairs), &stored, 1000);
        assert_eq!(asks(&[("range", "bytes=0-99")]), Ranged::Part(0..100));
        assert_eq!(asks(&[("range", "bytes=900-")]), Ranged::Part(900..1000));
        assert_eq!(asks(&[("range", "bytes=-10")]), Ranged::Part(990..1000));
        assert_eq!(asks(&[("range", "bytes=-5000")]), Ranged::Part(0..1000));
        assert_eq!(
            asks(&[("range", "bytes=990-5000")]),
            Ranged::Part(990..1000)
        );
        assert_eq!(asks(&[("range", "bytes=1000-")]), Ranged::Unsatisfiable);
        assert_eq!(asks(&[("range", "bytes=-0")]), Ranged::Unsatisfiable);
        assert_eq!(asks(&[("range", "bytes=0-1,5-6")]), Ranged::Whole);
        assert_eq!(asks(&[("range", "bytes=9-1")]), Ranged::Whole);
        assert_eq!(asks(&[("range", "items=0-1")]), Ranged::Whole);
        assert_eq!(asks(&[("range", "bytes=abc")]), Ranged::Whole);
        assert_eq!(
            asks(&[("range", "bytes=0-9"), ("if-range", "\"abc\"")]),
            Ranged::Part(0..10)
        );
        assert_eq!(
            asks(&[("range", "bytes=0-9"), ("if-range", "\"old\"")]),
            Ranged::Whole
        );
        assert_eq!(
            asks(&[
                ("range", "bytes=0-9"),
                ("if-range", "Tue, 01 Dec 2026 10:00:00 GMT")
            ]),
            Ranged::Part(0..10)
        );
        assert_eq!(content_range(Some(&(0..100)), 1000), "bytes 0-99/1000");
        assert_eq!(content_range(None, 1000), "bytes */1000");
    }
}
