//! Large bodies for memory tests: a byte pattern that can be checked as it
//! streams (never held whole), an origin on 127.0.0.1 that streams it
//! (chunked, or with a Content-Length), and the resident memory of a
//! process read from /proc.
#![allow(dead_code)]

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::StreamBody;
use hyper::body::{Bytes, Frame};
use hyper::{Request, Response};

/// Byte `i` of every generated body.
pub fn byte_at(i: u64) -> u8 {
    (i % 251) as u8
}

/// `len` bytes of the pattern starting at offset `from`.
pub fn pattern(from: u64, len: usize) -> Vec<u8> {
    (from..from + len as u64).map(byte_at).collect()
}

/// 64 KiB and one period of the pattern, to slice (the test origin must
/// outpace the edge, and checking must be a memcmp).
fn base() -> Bytes {
    static BASE: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BASE.get_or_init(|| Bytes::from(pattern(0, (1 << 16) + 251)))
        .clone()
}

/// Read a response body chunk by chunk, checking every byte against the
/// pattern from `from`; returns how many bytes came.
pub async fn check_stream(mut response: reqwest::Response, from: u64) -> u64 {
    let mut at = from;
    while let Some(chunk) = response.chunk().await.expect("body chunk") {
        for (n, piece) in chunk.chunks(1 << 16).enumerate() {
            let from = at + (n << 16) as u64;
            let start = (from % 251) as usize;
            if piece != &base()[start..start + piece.len()] {
                panic!("the bytes from {from} differ from what was sent");
            }
        }
        at += chunk.len() as u64;
    }
    at - from
}

/// An origin answering `/chunked/<n>` and `/sized/<n>` with `n` pattern
/// bytes (without and with a Content-Length), `cache-control: max-age=600`.
pub struct StreamOrigin {
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

impl StreamOrigin {
    pub fn start() -> StreamOrigin {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|req| async move {
                        Ok::<_, Infallible>(answer(req))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        StreamOrigin {
            url,
            _runtime: runtime,
        }
    }
}

type Chunks = StreamBody<futures::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>;

fn answer(req: Request<hyper::body::Incoming>) -> Response<Chunks> {
    use futures::StreamExt;
    let path = req.uri().path().to_string();
    let (kind, n) = path[1..].split_once('/').unwrap_or(("", ""));
    let len: u64 = n.parse().unwrap_or(0);
    const CHUNK: u64 = 64 * 1024;
    let base = base();
    let chunks = futures::stream::iter((0..len.div_ceil(CHUNK)).map(move |i| {
        let from = i * CHUNK;
        let size = CHUNK.min(len - from) as usize;
        let at = (from % 251) as usize;
        Ok(Frame::data(base.slice(at..at + size)))
    }))
    .boxed();
    let len = if path == "/healthz" { 0 } else { len };
    let mut builder = Response::builder()
        .header("content-type", "application/octet-stream")
        .header("cache-control", "max-age=600");
    match kind {
        "sized" => builder = builder.header("content-length", len),
        "chunked" => {}
        _ if path == "/healthz" => {}
        _ => builder = builder.status(404),
    }
    builder.body(StreamBody::new(chunks)).unwrap()
}

/// Put `len` pattern bytes in a local bucket folder as object `key`, with
/// the sidecar a publish writes (no publish: it would hold the file).
pub fn put_local_object(bucket: &std::path::Path, key: &str, len: u64, cache_control: &str) {
    use md5::{Digest, Md5};
    use std::io::Write;
    let path = bucket.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut md5 = Md5::new();
    let mut at = 0;
    while at < len {
        let chunk = pattern(at, (len - at).min(1 << 20) as usize);
        md5.update(&chunk);
        file.write_all(&chunk).unwrap();
        at += chunk.len() as u64;
    }
    file.flush().unwrap();
    let sidecar = serde_json::json!({
        "md5": hex::encode(md5.finalize()), "size": len,
        "modified": "2026-11-30T10:00:00.000Z",
        "content_type": "application/octet-stream", "cache_control": cache_control,
    });
    let meta = bucket.join(".tusk-meta").join(format!("{key}.json"));
    std::fs::create_dir_all(meta.parent().unwrap()).unwrap();
    std::fs::write(meta, sidecar.to_string()).unwrap();
}

/// The resident memory of `pid` in KiB: (now, peak) from VmRSS and VmHWM.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Sample `pid`'s peak memory every 10 ms on a thread until the returned
/// closure is called; it returns the highest VmHWM seen, in MiB.
pub fn watch_peak(pid: u32) -> impl FnOnce() -> u64 {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            peak = peak.max(memory_kib(pid).1);
            std::thread::sleep(Duration::from_millis(10));
        }
        peak.max(memory_kib(pid).1)
    });
    move || {
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        sampler.join().unwrap() / 1024
    }
}
