//! The edge's access log, written in CloudFront's standard log format
//! (tab-separated, `#Version`/`#Fields` header, `-` for empty) so one
//! reader, `tusk offload`, handles both. Lines go through a bounded
//! channel to a writer thread: a slow disk drops lines (counted), it never
//! slows requests down.
//!
//! Cookie values are never written: `cs(Cookie)` is `present` or `-`.
//! `x-tusk-cache-control` (the response's Cache-Control) is tusk's own
//! field; it lets `tusk offload` name why a URL misses. `x-tusk-drill`
//! is `1` on the requests `tusk drill` sends (they carry the
//! `x-tusk-drill` header): they are no client traffic, and both the edge's
//! own offload and `tusk offload` leave them out.
//!
//! Offload has one definition, [`sent_to_origin`], used by the edge's
//! counters (`tusk status`) and by `tusk offload` reading this log.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc::{channel, error::TrySendError, Sender};

use anyhow::{Context, Result};

pub const FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id time-taken x-edge-detailed-result-type sc-content-type x-tusk-cache-control x-tusk-drill";

/// What the log keeps of a request, taken before it is answered: its
/// fields already escaped, one after the other in a single buffer (one
/// allocation per request; the line is put together on the writer's
/// thread).
pub struct Asked {
    text: String,
    /// Where the fields after the path, and after the cookie, start: the
    /// line puts the status and the result type there.
    splits: [usize; 2],
}

impl Asked {
    pub fn of<B>(req: &hyper::Request<B>) -> Asked {
        use hyper::header;
        let text = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let cookie = match req.headers().contains_key(header::COOKIE) {
            true => "present",
            false => "-",
        };
        let fields = [
            req.method().as_str(),
            text(header::HOST),
            req.uri().path(),
            text(header::REFERER),
            text(header::USER_AGENT),
            req.uri().query().unwrap_or(""),
        ];
        let mut asked = Asked {
            text: String::with_capacity(fields.iter().map(|f| f.len() + 1).sum::<usize>() + 96),
            splits: [0; 2],
        };
        let [method, host, path, referer, user_agent, query] = fields;
        for value in [method, host, path] {
            asked.push(value);
        }
        asked.splits[0] = asked.text.len();
        for value in [referer, user_agent, query, cookie] {
            asked.push(value);
        }
        asked.splits[1] = asked.text.len();
        asked
    }

    fn push(&mut self, value: &str) {
        push_field(&mut self.text, value);
        self.text.push('\t');
    }
}

/// How a request was answered, as logged.
pub struct Answer<'a> {
    pub client: std::net::IpAddr,
    pub status: u16,
    pub bytes: u64,
    /// The edge's label: Hit, RefreshHit, Miss, Stale, Fallback, Pass.
    pub how: &'static str,
    pub seconds: f64,
    pub content_type: &'a str,
    pub cache_control: &'a str,
    /// Sent by `tusk drill`.
    pub drill: bool,
}

/// A line on its way to the writer.
struct Record {
    at: std::time::SystemTime,
    n: u64,
    client: std::net::IpAddr,
    status: u16,
    bytes: u64,
    how: &'static str,
    seconds: f64,
    drill: bool,
    /// The [`Asked`] fields, then the content type and cache control.
    text: String,
    splits: [usize; 2],
}

/// The request header `tusk drill` marks its requests with.
/// A header name, not text: a text name is parsed on every lookup.
pub const DRILL_HEADER: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-tusk-drill");

/// Lines waiting for the writer at most; beyond, they are dropped.
const QUEUE: usize = 65_536;

/// How long the writer lets lines gather after writing some. Waking it
/// for every line (a futex call on each side) cost more than formatting
/// the line; after a pause, the first line still goes out at once.
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);

pub struct AccessLog {
    tx: Sender<Record>,
    dropped: AtomicU64,
    counter: AtomicU64,
    pub path: PathBuf,
}

impl AccessLog {
    /// Append to `path` (created with its header when new).
    pub fn open(path: &Path) -> Result<AccessLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("edge.access_log: cannot open {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
            writeln!(out, "#Version: 1.0\n#Fields: {FIELDS}")?;
            out.flush()?;
        }
        // Bounded, and allocated as lines queue: std's sync_channel set up
        // all 65,536 slots (7 MiB resident) before the first request.
        let (tx, mut rx) = channel::<Record>(QUEUE);
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("edge-access-log".into())
            .spawn(move || {
                let mut writer = Writer::default();
                while let Some(record) = rx.blocking_recv() {
                    let mut result = out.write_all(writer.line(&record).as_bytes());
                    // Flush whenever the queue is empty, then let lines
                    // gather: they reach the file within GATHER.
                    while let (Ok(()), Ok(next)) = (&result, rx.try_recv()) {
                        result = out.write_all(writer.line(&next).as_bytes());
                    }
                    if let Err(e) = result.and_then(|_| out.flush()) {
                        tracing::error!("edge: cannot write the access log {shown}: {e}");
                    }
                    std::thread::sleep(GATHER);
                }
            })?;
        Ok(AccessLog {
            tx,
            dropped: AtomicU64::new(0),
            counter: AtomicU64::new(0),
            path: path.to_path_buf(),
        })
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queue the line of a request; a full queue drops it (counted).
    pub fn write(&self, asked: Asked, a: &Answer<'_>) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let record = Record::new(asked, a, n, std::time::SystemTime::now());
        if let Err(TrySendError::Full(_)) = self.tx.try_send(record) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Record {
    fn new(asked: Asked, a: &Answer<'_>, n: u64, at: std::time::SystemTime) -> Record {
        let Asked { mut text, splits } = asked;
        push_field(&mut text, a.content_type);
        text.push('\t');
        push_field(&mut text, a.cache_control);
        Record {
            at,
            n,
            client: a.client,
            status: a.status,
            bytes: a.bytes,
            how: a.how,
            seconds: a.seconds,
            drill: a.drill,
            text,
            splits,
        }
    }
}

/// Puts lines together on the writer's thread, the date and time
/// formatted once a second, the client's address once per client in a
/// row, numbers without `fmt`: this thread shares the cores with the
/// requests.
struct Writer {
    second: Option<i64>,
    date_time: String,
    client: Option<(std::net::IpAddr, String)>,
    /// Request ids are `tusk-PID-N`: the PID asked once, not per line.
    pid: u32,
    line: String,
}

impl Default for Writer {
    fn default() -> Writer {
        Writer {
            second: None,
            date_time: String::new(),
            client: None,
            pid: std::process::id(),
            line: String::new(),
        }
    }
}

impl Writer {
    fn line(&mut self, r: &Record) -> &str {
        let at = chrono::DateTime::<chrono::Utc>::from(r.at);
        if self.second != Some(at.timestamp()) {
            self.second = Some(at.timestamp());
            self.date_time = at.format("%Y-%m-%d\t%H:%M:%S").to_string();
        }
        if self.client.as_ref().is_none_or(|(ip, _)| *ip != r.client) {
            self.client = Some((r.client, r.client.to_string()));
        }
        let client = self.client.as_ref().map_or("-", |(_, text)| text);
        let (result, detailed) = result_type(r.how, r.status);
        let [path_end, cookie_end] = r.splits;
        let line = &mut self.line;
        line.clear();
        line.push_str(&self.date_time);
        line.push_str("\ttusk\t");
        push_number(line, r.bytes);
        line.push('\t');
        line.push_str(client);
        line.push('\t');
        line.push_str(&r.text[..path_end]);
        push_number(line, r.status.into());
        line.push('\t');
        line.push_str(&r.text[path_end..cookie_end]);
        line.push_str(result);
        line.push_str("\ttusk-");
        push_number(line, self.pid.into());
        line.push('-');
        push_number(line, r.n);
        line.push('\t');
        push_seconds(line, r.seconds);
        line.push('\t');
        line.push_str(detailed);
        line.push('\t');
        line.push_str(&r.text[cookie_end..]);
        line.push_str(if r.drill { "\t1\n" } else { "\t-\n" });
        line
    }
}

fn push_number(line: &mut String, n: u64) {
    line.push_str(itoa::Buffer::new().format(n));
}

/// `seconds` with three decimals, as `{:.3}` writes it.
fn push_seconds(line: &mut String, seconds: f64) {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    push_number(line, millis / 1000);
    line.push('.');
    let frac = millis % 1000;
    line.push_str(match frac {
        0..=9 => "00",
        10..=99 => "0",
        _ => "",
    });
    push_number(line, frac);
}

/// CloudFront's `x-edge-result-type` for the edge's label, and the label
/// itself as the detailed type. A bucket answer is a `Miss` with the
/// detailed type `Fallback`, as CloudFront logs a failover to its
/// secondary origin; [`sent_to_origin`] reads the detailed type.
pub fn result_type(how: &str, status: u16) -> (&'static str, &str) {
    let result = match how {
        "Hit" | "Stale" => "Hit",
        "RefreshHit" => "RefreshHit",
        _ if status >= 500 => "Error",
        _ => "Miss",
    };
    (result, how)
}

/// Whether the origin answered a request, from its logged result and
/// detailed types: the one definition of offload (requests not answered
/// by the origin, over client requests). Misses and revalidations went to
/// the origin; a bucket answer (`Fallback`, or `Bucket` for a built path)
/// did not, even after the origin failed: the origin served nothing. An `Error` counts when the detailed
/// type blames the origin (CloudFront's `OriginError`, ..., the edge's
/// `Pass`) or, without one, when the status is a 5xx.
pub fn sent_to_origin(result: &str, detailed: &str, status: u16) -> bool {
    match result {
        "Miss" => !matches!(detailed, "Fallback" | "Bucket"),
        "RefreshHit" => true,
        "Error" if !detailed.is_empty() => detailed.starts_with("Origin") || detailed == "Pass",
        "Error" => status >= 500,
        _ => false,
    }
}

/// `value` as a log field: `-` when empty; tabs, spaces and newlines
/// percent-encoded like CloudFront does, so every line keeps its columns.
fn push_field(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if value.is_empty() {
        out.push('-');
        return;
    }
    // Runs of plain bytes are copied whole; only the bytes escaped are
    // ASCII, so every cut falls between characters.
    let mut rest = value;
    while let Some(at) = rest.bytes().position(|b| b <= b' ' || b == 0x7f) {
        let b = rest.as_bytes()[at];
        out.push_str(&rest[..at]);
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
fn field(value: &str) -> String {
    let mut out = String::new();
    push_field(&mut out, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_cloudfronts_columns() {
        let req = hyper::Request::get("/blog/a%20b?x=1")
            .header("host", "example.org")
            .header("user-agent", "Mozilla/5.0 (X11)")
            .header("cookie", "session=SECRET")
            .body(())
            .unwrap();
        let answer = Answer {
            client: "10.0.0.7".parse().unwrap(),
            status: 304,
            bytes: 0,
            how: "Stale",
            seconds: 0.0125,
            content_type: "text/html; charset=utf-8",
            cache_control: "",
            drill: false,
        };
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let record = Record::new(Asked::of(&req), &answer, 42, at);
        let mut writer = Writer::default();
        let line = writer.line(&record).to_string();
        let fields: Vec<&str> = line.trim_end_matches('\n').split('\t').collect();
        let names: Vec<&str> = FIELDS.split(' ').collect();
        assert_eq!(fields.len(), names.len(), "{line}");
        let pid = format!("tusk-{}-42", std::process::id());
        let want = [
            "2023-11-14",
            "22:13:20",
            "tusk",
            "0",
            "10.0.0.7",
            "GET",
            "example.org",
            "/blog/a%20b",
            "304",
            "-",
            "Mozilla/5.0%20(X11)",
            "x=1",
            "present",
            "Hit",
            &pid,
            "0.013",
            "Stale",
            "text/html;%20charset=utf-8",
            "-",
            "-",
        ];
        assert_eq!(fields, want, "{line}");
        assert!(!line.contains("SECRET"), "{line}");
    }

    #[test]
    fn fields_keep_their_columns() {
        assert_eq!(field(""), "-");
        assert_eq!(field("Mozilla/5.0 (X11)"), "Mozilla/5.0%20(X11)");
        assert_eq!(field("a\tb\nc"), "a%09b%0Ac");
        assert_eq!(field("é é\x7f"), "é%20é%7F");
        assert_eq!(result_type("Stale", 200), ("Hit", "Stale"));
        assert_eq!(result_type("Fallback", 200), ("Miss", "Fallback"));
        assert_eq!(result_type("Pass", 503), ("Error", "Pass"));
        assert!(sent_to_origin("Miss", "Miss", 200));
        assert!(sent_to_origin("Miss", "", 200));
        assert!(!sent_to_origin("Miss", "Fallback", 200));
        assert!(!sent_to_origin("Miss", "Bucket", 200));
        assert!(sent_to_origin("RefreshHit", "RefreshHit", 200));
        assert!(!sent_to_origin("Hit", "Stale", 200));
        assert!(sent_to_origin("Error", "OriginCommError", 502));
        assert!(!sent_to_origin("Error", "ClientHungUpRequest", 502));
        assert!(sent_to_origin("Error", "", 503));
    }
}
