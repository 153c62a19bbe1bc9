//! Diagnostics: problems tied to a source file, collected across a whole run
//! so one `tusk build` reports every broken file instead of only the first.

use std::fmt;
use std::sync::Mutex;

use serde::Serialize;

/// One problem in one file, with the position when it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Path shown to the user, relative to the project root when possible.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, line: usize, column: Option<usize>) -> Diagnostic {
        self.line = Some(line);
        self.column = column;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// The error a run returns when it found problems in the content.
#[derive(Debug, thiserror::Error)]
pub struct Problems(pub Vec<Diagnostic>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "{n} problem{} found:", if n == 1 { "" } else { "s" })?;
        for (i, d) in self.0.iter().enumerate() {
            writeln!(f, "  {}. {d}", i + 1)?;
        }
        Ok(())
    }
}

/// A thread-safe collector shared by the parallel stages of a build:
/// problems (the run fails) and warnings (where tusk, like Jekyll, resolved
/// something silently, and says so).
#[derive(Default)]
pub struct Collector(Mutex<Vec<Diagnostic>>, Mutex<Vec<Diagnostic>>);

impl Collector {
    pub fn warn(&self, d: Diagnostic) {
        self.1.lock().expect("diagnostics lock").push(d);
    }

    /// The warnings so far, sorted, leaving none.
    pub fn take_warnings(&self) -> Vec<Diagnostic> {
        let mut all = std::mem::take(&mut *self.1.lock().expect("diagnostics lock"));
        all.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        all.dedup();
        all
    }

    pub fn push(&self, d: Diagnostic) {
        self.0.lock().expect("diagnostics lock").push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.lock().expect("diagnostics lock").is_empty()
    }

    /// Sorted by file and position, so output is stable across runs.
    pub fn into_sorted(self) -> Vec<Diagnostic> {
        self.take_sorted()
    }

    /// [`Collector::into_sorted`] through a shared reference, leaving it empty.
    pub fn take_sorted(&self) -> Vec<Diagnostic> {
        let mut all = std::mem::take(&mut *self.0.lock().expect("diagnostics lock"));
        all.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        all.dedup();
        all
    }
}

/// Render an error with its whole cause chain on one line
/// (`outer: inner: root cause`), as Tera and serde nest their errors.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// A reqwest error as one short cause, the way an operator says it:
/// "refused the connection (127.0.0.1:3000)", "timed out", "cannot resolve
/// the host (cms.example)", not the client's chain of wrappers ("error
/// sending request for url (...): client error (Connect): tcp connect
/// error: Connection refused (os error 111)"). Callers that know the
/// limit add it to "timed out".
pub fn http_error_text(e: &reqwest::Error) -> String {
    use std::io::ErrorKind;
    let host = e.url().and_then(|u| u.host_str().map(str::to_string));
    let place = e
        .url()
        .and_then(|u| {
            Some(format!(
                " ({}:{})",
                u.host_str()?,
                u.port_or_known_default()?
            ))
        })
        .unwrap_or_default();
    if e.is_timeout() {
        return "timed out".into();
    }
    let causes = || std::iter::successors(std::error::Error::source(e), |s| s.source());
    let io = causes().find_map(|s| s.downcast_ref::<std::io::Error>());
    match io.map(|io| io.kind()) {
        Some(ErrorKind::ConnectionRefused) => return format!("refused the connection{place}"),
        Some(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe) => {
            return format!("closed the connection{place}")
        }
        Some(ErrorKind::TimedOut) => return "timed out".into(),
        _ => {}
    }
    let deepest = causes()
        .last()
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.to_string());
    if deepest.contains("dns error") || deepest.contains("failed to lookup address") {
        return format!("cannot resolve the host ({})", host.unwrap_or_default());
    }
    if e.is_connect() {
        return format!("cannot connect{place}: {deepest}");
    }
    deepest
}
