//! `tusk offload`: how much of the traffic the cache kept away from the
//! origin, read from CloudFront standard access logs (local files or an
//! S3 prefix, gzip or plain) and from the edge's access log, which uses
//! the same format (see `edge::access_log`).
//!
//! Columns are found by name from each file's `#Fields:` line, so logs
//! with extra or reordered fields read the same. Sent to the origin is
//! what `edge::access_log::sent_to_origin` says, the rule the edge's own
//! counters (`tusk status`) use: `Miss` (but not a bucket answer),
//! `RefreshHit` (a revalidation) and `Error`s that came from the origin.
//! Records the drill marked (`x-tusk-drill`) are counted apart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::config::Loaded;

/// CloudFront's standard log fields, in order: the columns of a file
/// without a `#Fields:` line.
const CLOUDFRONT_FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

/// Distinct query strings remembered per URL, and miss times.
const MAX_QUERIES: usize = 1000;
const MAX_TIMES: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct OffloadOptions {
    /// Log files, folders of them, or `s3://bucket/prefix`; none: the
    /// edge's access log.
    pub sources: Vec<String>,
    /// How many missed URLs to list.
    pub top: usize,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub sources: Vec<String>,
    pub files: usize,
    pub records: u64,
    /// Records of `tusk drill`'s own requests, left out of everything else.
    pub drill_records: u64,
    /// Lines that are not log records, as `file:line: why` (first 10).
    pub malformed: u64,
    pub malformed_examples: Vec<String>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub bytes: u64,
    pub origin_requests: u64,
    pub origin_bytes: u64,
    /// Share of requests / bytes not sent to the origin.
    pub request_offload: f64,
    pub byte_offload: f64,
    pub by_result: Vec<ResultRow>,
    pub top_missed: Vec<Missed>,
}

#[derive(Debug, Serialize)]
pub struct ResultRow {
    pub result_type: String,
    pub requests: u64,
    pub share: f64,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Missed {
    pub url: String,
    pub misses: u64,
    pub requests: u64,
    pub hit_ratio: f64,
    pub reasons: Vec<String>,
}

/// Per-URL counts for the missed-URL analysis.
#[derive(Default)]
struct PathStats {
    requests: u64,
    hits: u64,
    misses: u64,
    misses_with_cookies: u64,
    queries: HashSet<String>,
    miss_times: Vec<i64>,
    cache_control: String,
}

#[derive(Default)]
struct Tally {
    records: u64,
    drill_records: u64,
    malformed: u64,
    malformed_examples: Vec<String>,
    first: Option<i64>,
    last: Option<i64>,
    bytes: u64,
    origin_requests: u64,
    origin_bytes: u64,
    by_result: BTreeMap<String, (u64, u64)>,
    paths: HashMap<String, PathStats>,
}

pub async fn offload(loaded: &Loaded, opts: &OffloadOptions) -> Result<Report> {
    let mut sources = opts.sources.clone();
    if sources.is_empty() {
        let edge_log = &loaded.config.edge.access_log;
        if edge_log.is_empty() {
            bail!("no logs given and edge.access_log is off: pass log files, folders or an s3://bucket/prefix");
        }
        sources.push(loaded.root.join(edge_log).display().to_string());
    }
    let mut tally = Tally::default();
    let mut files = 0;
    for source in &sources {
        for (name, bytes) in read_source(loaded, source).await? {
            files += 1;
            let text = decode(&name, bytes)?;
            tally.read(&name, &text);
        }
    }
    if tally.records == 0 && tally.drill_records > 0 {
        bail!(
            "only tusk drill's requests in {}: no client traffic to measure",
            sources.join(", ")
        );
    }
    if tally.records == 0 {
        match tally.malformed_examples.first() {
            Some(example) => bail!("no log records in {}: {example}", sources.join(", ")),
            None => bail!("no log records in {}", sources.join(", ")),
        }
    }
    Ok(tally.report(sources, files, opts.top))
}

/// The files of one source, each as (name for messages, raw bytes).
async fn read_source(loaded: &Loaded, source: &str) -> Result<Vec<(String, Vec<u8>)>> {
    if source.starts_with("s3://") {
        let store = crate::store::open(loaded, source).await?;
        let mut listed = store
            .list()
            .await
            .with_context(|| format!("cannot list {source}"))?;
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        let mut out = Vec::new();
        for l in listed {
            let name = format!("{}/{}", source.trim_end_matches('/'), l.key);
            let found = crate::store::with_retries(|| store.get(&l.key))
                .await
                .with_context(|| format!("cannot read {name}"))?;
            if let Some(f) = found {
                out.push((name, f.body));
            }
        }
        if out.is_empty() {
            bail!("no log files under {source}");
        }
        return Ok(out);
    }
    let path = PathBuf::from(source);
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&path)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        files.sort();
        files
    } else {
        vec![path]
    };
    files
        .into_iter()
        .map(|f| {
            let bytes =
                std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
            Ok((f.display().to_string(), bytes))
        })
        .collect()
}

/// Plain text, or gzip (by its magic bytes, whatever the name says).
fn decode(name: &str, bytes: Vec<u8>) -> Result<String> {
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .with_context(|| format!("{name}: not a valid gzip file"))?;
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).with_context(|| format!("{name}: not a text log (invalid UTF-8)"))
}

/// The columns of the fields offload reads, from a `#Fields:` list.
struct Columns {
    date: usize,
    time: usize,
    bytes: usize,
    stem: usize,
    status: usize,
    query: usize,
    cookie: usize,
    result: usize,
    detailed: Option<usize>,
    cache_control: Option<usize>,
    drill: Option<usize>,
    needed: usize,
}

impl Columns {
    fn parse(fields: &str) -> Option<Columns> {
        let names: Vec<&str> = fields.split_whitespace().collect();
        let at = |n: &str| names.iter().position(|f| *f == n);
        let c = Columns {
            date: at("date")?,
            time: at("time")?,
            bytes: at("sc-bytes")?,
            stem: at("cs-uri-stem")?,
            status: at("sc-status")?,
            query: at("cs-uri-query")?,
            cookie: at("cs(Cookie)")?,
            result: at("x-edge-result-type")?,
            detailed: at("x-edge-detailed-result-type"),
            cache_control: at("x-tusk-cache-control"),
            drill: at("x-tusk-drill"),
            needed: 0,
        };
        let needed = [
            c.date, c.time, c.bytes, c.stem, c.status, c.query, c.cookie, c.result,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
            + 1;
        Some(Columns { needed, ..c })
    }
}

impl Tally {
    fn read(&mut self, name: &str, text: &str) {
        let mut columns = Columns::parse(CLOUDFRONT_FIELDS);
        for (i, line) in text.lines().enumerate() {
            if let Some(fields) = line.strip_prefix("#Fields:") {
                columns = Columns::parse(fields);
                if columns.is_none() {
                    self.malformed(name, i + 1, "#Fields lacks a field offload needs");
                }
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some(c) = &columns else {
                self.malformed(name, i + 1, "no usable #Fields line");
                continue;
            };
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < c.needed {
                self.malformed(name, i + 1, "too few tab-separated fields");
                continue;
            }
            let (Ok(status), Ok(bytes)) =
                (cols[c.status].parse::<u16>(), cols[c.bytes].parse::<u64>())
            else {
                self.malformed(name, i + 1, "sc-status or sc-bytes is not a number");
                continue;
            };
            let Ok(at) = chrono::NaiveDateTime::parse_from_str(
                &format!("{} {}", cols[c.date], cols[c.time]),
                "%Y-%m-%d %H:%M:%S",
            ) else {
                self.malformed(name, i + 1, "date or time is not YYYY-MM-DD HH:MM:SS");
                continue;
            };
            let value = |i: Option<usize>| {
                i.and_then(|i| cols.get(i))
                    .copied()
                    .filter(|v| *v != "-")
                    .unwrap_or("")
            };
            if !value(c.drill).is_empty() {
                self.drill_records += 1;
                continue;
            }
            let record = Record {
                at: at.and_utc().timestamp(),
                stem: cols[c.stem],
                status,
                bytes,
                query: value(Some(c.query)),
                cookie: !value(Some(c.cookie)).is_empty(),
                result: cols[c.result],
                detailed: value(c.detailed),
                cache_control: value(c.cache_control),
            };
            self.add(&record);
        }
    }

    fn malformed(&mut self, name: &str, line: usize, why: &str) {
        self.malformed += 1;
        if self.malformed_examples.len() < 10 {
            self.malformed_examples
                .push(format!("{name}:{line}: {why}"));
        }
    }

    fn add(&mut self, r: &Record<'_>) {
        self.records += 1;
        self.bytes += r.bytes;
        self.first = Some(self.first.map_or(r.at, |f| f.min(r.at)));
        self.last = Some(self.last.map_or(r.at, |l| l.max(r.at)));
        let row = self.by_result.entry(r.kind().to_string()).or_default();
        row.0 += 1;
        row.1 += r.bytes;
        let origin = r.to_origin();
        if origin {
            self.origin_requests += 1;
            if r.result != "RefreshHit" {
                self.origin_bytes += r.bytes;
            }
        }
        let path = self.paths.entry(r.stem.to_string()).or_default();
        path.requests += 1;
        if !r.cache_control.is_empty() {
            path.cache_control = unescape(r.cache_control);
        }
        // A revalidated copy was still served from the cache.
        if !origin || r.result == "RefreshHit" {
            path.hits += 1;
            return;
        }
        path.misses += 1;
        if r.cookie {
            path.misses_with_cookies += 1;
        }
        if path.queries.len() < MAX_QUERIES {
            path.queries.insert(r.query.to_string());
        }
        if path.miss_times.len() < MAX_TIMES {
            path.miss_times.push(r.at);
        }
    }

    fn report(self, sources: Vec<String>, files: usize, top: usize) -> Report {
        let share = |part: u64, all: u64| {
            if all == 0 {
                0.0
            } else {
                part as f64 / all as f64
            }
        };
        let mut by_result: Vec<ResultRow> = self
            .by_result
            .iter()
            .map(|(t, (n, b))| ResultRow {
                result_type: t.clone(),
                requests: *n,
                share: share(*n, self.records),
                bytes: *b,
            })
            .collect();
        by_result.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then(a.result_type.cmp(&b.result_type))
        });
        let mut missed: Vec<(&String, &PathStats)> =
            self.paths.iter().filter(|(_, p)| p.misses > 0).collect();
        missed.sort_by(|a, b| b.1.misses.cmp(&a.1.misses).then(a.0.cmp(b.0)));
        let top_missed = missed
            .into_iter()
            .take(top)
            .map(|(url, p)| Missed {
                url: url.clone(),
                misses: p.misses,
                requests: p.requests,
                hit_ratio: share(p.hits, p.requests),
                reasons: reasons(p),
            })
            .collect();
        Report {
            sources,
            files,
            records: self.records,
            drill_records: self.drill_records,
            malformed: self.malformed,
            malformed_examples: self.malformed_examples,
            first: self.first.and_then(rfc3339),
            last: self.last.and_then(rfc3339),
            bytes: self.bytes,
            origin_requests: self.origin_requests,
            origin_bytes: self.origin_bytes,
            request_offload: 1.0 - share(self.origin_requests, self.records),
            byte_offload: 1.0 - share(self.origin_bytes, self.bytes),
            by_result,
            top_missed,
        }
    }
}

fn rfc3339(at: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

struct Record<'a> {
    at: i64,
    stem: &'a str,
    status: u16,
    bytes: u64,
    query: &'a str,
    cookie: bool,
    result: &'a str,
    detailed: &'a str,
    cache_control: &'a str,
}

impl Record<'_> {
    fn to_origin(&self) -> bool {
        crate::edge::access_log::sent_to_origin(self.result, self.detailed, self.status)
    }

    /// The row of the result table: the result type, except that the
    /// edge's bucket answers (logged as CloudFront does, a `Miss`: a
    /// fallback, or a built path) get a row of their own.
    fn kind(&self) -> &str {
        match self.detailed {
            "Fallback" => "Fallback",
            "Bucket" => "Bucket",
            _ => self.result,
        }
    }
}

/// A log field as it was before the log escaped it: `%20` -> ` ` (the
/// access log and CloudFront percent-encode spaces, tabs and newlines).
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a (lowercase) Cache-Control value lets a shared cache keep a
/// copy for a while: a positive `s-maxage` or `max-age`, or `immutable`.
fn allows_caching(cc: &str) -> bool {
    cc.split(',').map(str::trim).any(|d| {
        d == "immutable"
            || ["max-age=", "s-maxage="].iter().any(|p| {
                d.strip_prefix(p)
                    .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
    })
}

/// The likely reasons a URL keeps missing the cache.
fn reasons(p: &PathStats) -> Vec<String> {
    let mut out = Vec::new();
    let cc = p.cache_control.to_ascii_lowercase();
    let uncacheable = ["private", "no-store", "no-cache", "max-age=0", "s-maxage=0"]
        .into_iter()
        .filter(|d| cc.split(',').any(|part| part.trim() == *d))
        .collect::<Vec<_>>();
    if !uncacheable.is_empty() {
        out.push(format!(
            "the response says Cache-Control: {} ({})",
            p.cache_control,
            uncacheable.join(", ")
        ));
    }
    if p.misses_with_cookies * 2 >= p.misses && p.misses_with_cookies > 0 {
        out.push(format!(
            "cookies: {} of {} misses carried a cookie",
            p.misses_with_cookies, p.misses
        ));
    }
    if p.queries.len() > 1 {
        out.push(format!(
            "query-string variety: {}{} distinct query strings",
            p.queries.len(),
            if p.queries.len() >= MAX_QUERIES {
                "+"
            } else {
                ""
            }
        ));
    }
    if out.is_empty() {
        if p.misses == 1 {
            out.push("cold cache: missed once".into());
        } else if p.hits == 0 && allows_caching(&cc) {
            // The header it was served with says cache it: the edge kept
            // no copy (too big for it, or pushed out by others).
            out.push(format!(
                "never served from the cache although Cache-Control: {} allows it: evicted \
                 (edge.cache_mb too small) or larger than edge.max_object_mb",
                p.cache_control
            ));
        } else if p.hits == 0 {
            out.push(
                "never served from the cache: no-cache/private headers or a zero TTL are likely"
                    .into(),
            );
        } else {
            let mut times = p.miss_times.clone();
            times.sort_unstable();
            let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
            gaps.sort_unstable();
            let median = gaps.get(gaps.len() / 2).copied().unwrap_or(0);
            out.push(format!(
                "short TTL: cached, but missed again every ~{median} s"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_headers_read_back_as_sent() {
        assert_eq!(
            unescape("public,%20max-age=31536000,%20immutable"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("a%zzb"), "a%zzb");
        assert!(allows_caching("public, max-age=31536000, immutable"));
        assert!(allows_caching("s-maxage=60"));
        assert!(!allows_caching("max-age=0"));
        assert!(!allows_caching("no-cache"));
    }
}
