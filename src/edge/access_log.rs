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
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use anyhow::{Context, Result};

pub const FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id time-taken x-edge-detailed-result-type sc-content-type x-tusk-cache-control x-tusk-drill";

/// One request as logged.
pub struct Line<'a> {
    pub client: std::net::IpAddr,
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub referer: &'a str,
    pub user_agent: &'a str,
    pub cookie: bool,
    /// The edge's label: Hit, RefreshHit, Miss, Stale, Fallback, Pass.
    pub how: &'a str,
    pub seconds: f64,
    pub content_type: &'a str,
    pub cache_control: &'a str,
    /// Sent by `tusk drill`.
    pub drill: bool,
}

/// The request header `tusk drill` marks its requests with.
pub const DRILL_HEADER: &str = "x-tusk-drill";

pub struct AccessLog {
    tx: SyncSender<String>,
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
        let (tx, rx) = sync_channel::<String>(65_536);
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("edge-access-log".into())
            .spawn(move || {
                while let Ok(line) = rx.recv() {
                    let mut result = out.write_all(line.as_bytes());
                    // Flush whenever the queue is empty: lines reach the
                    // file within one request's time, batched under load.
                    while let (Ok(()), Ok(next)) = (&result, rx.try_recv()) {
                        result = out.write_all(next.as_bytes());
                    }
                    if let Err(e) = result.and_then(|_| out.flush()) {
                        tracing::error!("edge: cannot write the access log {shown}: {e}");
                    }
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

    pub fn write(&self, l: &Line<'_>) {
        let now = chrono::Utc::now();
        let (result, detailed) = result_type(l.how, l.status);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let line = format!(
            "{}\t{}\ttusk\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{result}\ttusk-{}-{n}\t{:.3}\t{detailed}\t{}\t{}\t{}\n",
            now.format("%Y-%m-%d"),
            now.format("%H:%M:%S"),
            l.bytes,
            l.client,
            field(l.method),
            field(l.host),
            field(l.path),
            l.status,
            field(l.referer),
            field(l.user_agent),
            field(l.query),
            if l.cookie { "present" } else { "-" },
            std::process::id(),
            l.seconds,
            field(l.content_type),
            field(l.cache_control),
            if l.drill { "1" } else { "-" },
        );
        if let Err(TrySendError::Full(_)) = self.tx.try_send(line) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
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
/// the origin; a bucket answer (`Fallback`) did not, even after the origin
/// failed: the origin served nothing. An `Error` counts when the detailed
/// type blames the origin (CloudFront's `OriginError`, ..., the edge's
/// `Pass`) or, without one, when the status is a 5xx.
pub fn sent_to_origin(result: &str, detailed: &str, status: u16) -> bool {
    match result {
        "Miss" => detailed != "Fallback",
        "RefreshHit" => true,
        "Error" if !detailed.is_empty() => detailed.starts_with("Origin") || detailed == "Pass",
        "Error" => status >= 500,
        _ => false,
    }
}

/// A value as a log field: `-` when empty; tabs, spaces and newlines
/// percent-encoded like CloudFront does, so every line keeps its columns.
fn field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.is_empty() {
        return "-".into();
    }
    if !value.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c <= ' ' || c == '\x7f' {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_columns() {
        assert_eq!(field(""), "-");
        assert_eq!(field("Mozilla/5.0 (X11)"), "Mozilla/5.0%20(X11)");
        assert_eq!(field("a\tb\nc"), "a%09b%0Ac");
        assert_eq!(result_type("Stale", 200), ("Hit", "Stale"));
        assert_eq!(result_type("Fallback", 200), ("Miss", "Fallback"));
        assert_eq!(result_type("Pass", 503), ("Error", "Pass"));
        assert!(sent_to_origin("Miss", "Miss", 200));
        assert!(sent_to_origin("Miss", "", 200));
        assert!(!sent_to_origin("Miss", "Fallback", 200));
        assert!(sent_to_origin("RefreshHit", "RefreshHit", 200));
        assert!(!sent_to_origin("Hit", "Stale", 200));
        assert!(sent_to_origin("Error", "OriginCommError", 502));
        assert!(!sent_to_origin("Error", "ClientHungUpRequest", 502));
        assert!(sent_to_origin("Error", "", 503));
    }
}
