//! A fault-injecting HTTP/1.1 proxy for tests: it sits between tusk and a
//! real server (moto's S3) on 127.0.0.1 and, for selected requests, answers
//! with S3's own error responses or breaks the connection, the way S3 and
//! the network fail in production.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the proxy does to a request it picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `500 InternalError`, as S3 documents it.
    InternalError,
    /// `503 SlowDown`: S3's throttling answer.
    SlowDown,
    /// Close the connection without answering.
    Reset,
    /// Forward the request, then send half of the response and close.
    CutResponse,
    /// Read the request, answer nothing for 30 s, then close.
    Stall,
    /// Wait a second, then forward the request: a slow server.
    Slow,
}

/// Rewrites a response (head and body, as bytes) to a request
/// (`PUT /bucket/key`) before the client sees it.
pub type Edit = fn(&str, Vec<u8>) -> Vec<u8>;

/// Which requests fail: every `every`-th request whose method is in
/// `methods`, cycling through `faults`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub methods: Vec<&'static str>,
    pub every: usize,
    pub faults: Vec<Fault>,
}

pub struct FaultProxy {
    pub endpoint: String,
    injected: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    copies: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: &str, plan: Plan) -> FaultProxy {
        FaultProxy::editing(upstream, plan, |_, response| response)
    }

    /// A proxy that also passes every response through `edit`.
    pub fn editing(upstream: &str, plan: Plan, edit: Edit) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let injected = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let copies = Arc::new(AtomicUsize::new(0));
        {
            let (injected, requests, stop) = (injected.clone(), requests.clone(), stop.clone());
            let copies = copies.clone();
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let ctx = Ctx {
                        upstream: upstream.clone(),
                        plan: plan.clone(),
                        counter: counter.clone(),
                        injected: injected.clone(),
                        requests: requests.clone(),
                        copies: copies.clone(),
                        edit,
                    };
                    thread::spawn(move || {
                        let _ = ctx.serve(client);
                    });
                }
            });
        }
        FaultProxy {
            endpoint,
            injected,
            requests,
            copies,
            stop,
        }
    }

    /// How many server-side copies (S3 CopyObject: a PUT with
    /// `x-amz-copy-source`) went through so far.
    pub fn copies(&self) -> usize {
        self.copies.load(Ordering::SeqCst)
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }

    /// Every request line seen (`PUT /bucket/key`), in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
    }
}

struct Ctx {
    upstream: String,
    plan: Plan,
    counter: Arc<AtomicUsize>,
    injected: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    copies: Arc<AtomicUsize>,
    edit: Edit,
}

impl Ctx {
    /// Serve one keep-alive client connection, request by request.
    fn serve(&self, client: TcpStream) -> std::io::Result<()> {
        client.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut reader = BufReader::new(client.try_clone()?);
        let mut client = client;
        loop {
            let Some((head, body)) = read_message(&mut reader, Kind::Request)? else {
                return Ok(());
            };
            let request_line = head.lines().next().unwrap_or("").to_string();
            let method = request_line.split(' ').next().unwrap_or("").to_string();
            let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
            self.requests
                .lock()
                .unwrap()
                .push(format!("{method} {path}"));
            if head
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("x-amz-copy-source:"))
            {
                self.copies.fetch_add(1, Ordering::SeqCst);
            }
            let fault = if self.plan.methods.contains(&method.as_str()) {
                let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
                (self.plan.every > 0 && n.is_multiple_of(self.plan.every))
                    .then(|| self.plan.faults[(n / self.plan.every - 1) % self.plan.faults.len()])
            } else {
                None
            };
            if fault.is_some() {
                self.injected.fetch_add(1, Ordering::SeqCst);
            }
            match fault {
                Some(Fault::InternalError) => s3_error(
                    &mut client,
                    500,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                )?,
                Some(Fault::SlowDown) => s3_error(
                    &mut client,
                    503,
                    "SlowDown",
                    "Please reduce your request rate.",
                )?,
                Some(Fault::Stall) => {
                    thread::sleep(Duration::from_secs(30));
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Some(Fault::Reset) => {
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Some(Fault::CutResponse | Fault::Slow) | None => {
                    if fault == Some(Fault::Slow) {
                        thread::sleep(Duration::from_secs(1));
                    }
                    let response = (self.edit)(&request_line, self.forward(&head, &body)?);
                    if fault == Some(Fault::CutResponse) {
                        client.write_all(&response[..response.len() / 2])?;
                        let _ = client.shutdown(Shutdown::Both);
                        return Ok(());
                    }
                    client.write_all(&response)?;
                }
            }
        }
    }

    /// Send one request upstream on a fresh connection; the whole response.
    fn forward(&self, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut upstream = TcpStream::connect(&self.upstream)?;
        upstream.write_all(head.as_bytes())?;
        upstream.write_all(body)?;
        let mut reader = BufReader::new(upstream);
        let kind = if head.starts_with("HEAD ") {
            Kind::HeadResponse
        } else {
            Kind::Response
        };
        let (head, body) = read_message(&mut reader, kind)?
            .ok_or_else(|| std::io::Error::other("upstream closed"))?;
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        Ok(out)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Response,
    /// A response to HEAD: headers only, whatever Content-Length says.
    HeadResponse,
}

/// Read one HTTP/1.1 message (head with its blank line, then the body by
/// Content-Length or chunked encoding). `None` on a clean EOF.
fn read_message(
    reader: &mut BufReader<TcpStream>,
    kind: Kind,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(if head.is_empty() {
                None
            } else {
                Some((head, Vec::new()))
            });
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let mut body = Vec::new();
    if kind == Kind::HeadResponse {
        return Ok(Some((head, body)));
    }
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        // Keep the chunked framing as is: it is forwarded verbatim.
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            body.extend_from_slice(size_line.as_bytes());
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    } else if kind == Kind::Response
        && !head.starts_with("HTTP/1.1 204")
        && !head.starts_with("HTTP/1.1 304")
    {
        reader.read_to_end(&mut body)?;
    }
    Ok(Some((head, body)))
}

/// An S3 error response as the S3 API reference shows it.
fn s3_error(client: &mut TcpStream, status: u16, code: &str, message: &str) -> std::io::Result<()> {
    let reason = if status == 503 {
        "Slow Down"
    } else {
        "Internal Server Error"
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAULT</RequestId></Error>"
    );
    write!(
        client,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nx-amz-request-id: FAULT\r\n\r\n{body}",
        body.len()
    )
}

/// What S3 does to ETags under SSE-KMS (and SSE-C): "Objects encrypted by
/// SSE-C or SSE-KMS have ETags that are not an MD5 digest of their object
/// data" (S3 API Reference, `Object` > `ETag`; the same for PutObject's,
/// HeadObject's, CopyObject's and ListObjectsV2's ETag). Each 32-hex
/// ETag, in headers (`ETag: "…"`) and XML bodies (`<ETag>&quot;…`), is
/// replaced by another 32-hex value, the same one wherever the object is
/// named, as S3 keeps one ETag per object version; a multipart `-N`
/// suffix stays.
pub fn sse_kms_etags(_request: &str, response: Vec<u8>) -> Vec<u8> {
    use md5::Digest;
    use std::sync::OnceLock;
    static ETAG: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let re = ETAG.get_or_init(|| {
        regex::bytes::Regex::new(r#"(?i)(etag(?:>|:[ \t]*)(?:&quot;|&#34;|")?)([0-9a-f]{32})"#)
            .unwrap()
    });
    re.replace_all(&response, |c: &regex::bytes::Captures| {
        let mut out = c[1].to_vec();
        let hidden = md5::Md5::digest([b"sse-kms:".as_slice(), &c[2]].concat());
        out.extend_from_slice(hex::encode(hidden).as_bytes());
        out
    })
    .into_owned()
}
