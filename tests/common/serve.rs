//! A `tusk serve` process on a free port, and a reader of its live-reload
//! stream (server-sent events), as an open tab listens to it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Project;

pub struct Serve {
    child: Child,
    pub url: String,
    pub port: u16,
    log: tempfile::NamedTempFile,
}

impl Serve {
    pub fn start(p: &Project, args: &[&str]) -> Serve {
        let port = super::free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = super::tusk()
            .arg("--root")
            .arg(p.root())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("TUSK_LOG", "tusk=info")
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let s = Serve {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() || !s.log().contains("Serving on") {
            assert!(
                Instant::now() < deadline,
                "tusk serve did not start: {}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Listen to the live-reload stream.
    pub fn events(&self) -> Events {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .write_all(b"GET /_tusk/live HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(stream);
        // The response head, up to the blank line.
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Events { reader }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Server-sent events of `/_tusk/live`.
pub struct Events {
    reader: BufReader<TcpStream>,
}

/// One event: its name and its data (JSON).
#[derive(Debug)]
pub struct Event {
    pub name: String,
    pub data: serde_json::Value,
}

impl Events {
    /// The next event within `timeout`, or None.
    pub fn next(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        let (mut name, mut data) = (String::new(), String::new());
        let mut line = String::new();
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(_) => return None,
            }
            // Chunked transfer: size lines are hex numbers only.
            let l = line.trim_end();
            if let Some(v) = l.strip_prefix("event: ") {
                name = v.to_string();
            } else if let Some(v) = l.strip_prefix("data: ") {
                data = v.to_string();
            } else if l.is_empty() && !name.is_empty() {
                return Some(Event {
                    name,
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                });
            }
        }
    }

    /// Events until one named `name` (the ones before it are returned too).
    pub fn until(&mut self, name: &str, timeout: Duration) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left) {
                Some(e) => {
                    let done = e.name == name;
                    seen.push(e);
                    if done {
                        return seen;
                    }
                }
                None => break,
            }
        }
        panic!("no {name} event within {timeout:?}; got {seen:?}");
    }

    /// Whatever arrives within `quiet`.
    pub fn drain(&mut self, quiet: Duration) -> Vec<Event> {
        let mut seen = Vec::new();
        while let Some(e) = self.next(quiet) {
            seen.push(e);
        }
        seen
    }
}
