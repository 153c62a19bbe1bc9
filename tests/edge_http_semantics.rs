//! `tusk edge` answers validators and byte ranges like S3 and nginx do
//! (issue 25, item 3), from the bucket and from its cache:
//!
//! - `If-None-Match` with the ETag -> 304 (RFC 9110 §13.1.2, weak
//!   comparison; S3 GetObject and nginx alike);
//! - `If-Modified-Since` not before `Last-Modified` -> 304 (RFC 9110
//!   §13.1.3, S3; nginx with `if_modified_since before`; nginx's default
//!   `exact` only differs for dates later than Last-Modified);
//! - one `Range` -> 206 with `Content-Range: bytes a-b/len`; past the end ->
//!   416 with `Content-Range: bytes */len` (RFC 9110 §14.4, §15.5.17; S3
//!   InvalidRange, nginx); several ranges -> the whole 200, as S3 answers
//!   (S3 serves one range per GET; nginx would send multipart/byteranges);
//! - `If-Range` with another ETag -> the whole 200 (RFC 9110 §13.1.5).
//!
//! When nginx is installed (`.ci/run` installs nginx-light) the same
//! requests go to nginx serving the same file as a live reference.

mod common;

use std::process::{Child, Command, Stdio};

use common::big;
use common::edge::{Answer, Edge, Http};
use common::origin::{Origin, Route};
use common::Project;

const LEN: u64 = 10_000;

/// Each case: request headers (`{etag}`, `{modified}`, `{later}` and
/// `{earlier}` filled in from the server's own answer), then the status,
/// Content-Range and body range every server must answer with.
/// Request headers, then the status, Content-Range and body range.
type Case = (
    Vec<(&'static str, &'static str)>,
    u16,
    &'static str,
    Option<(u64, u64)>,
);

fn cases() -> Vec<Case> {
    vec![
        (vec![], 200, "", Some((0, LEN))),
        (
            vec![("range", "bytes=0-9")],
            206,
            "bytes 0-9/10000",
            Some((0, 10)),
        ),
        (
            vec![("range", "bytes=9990-")],
            206,
            "bytes 9990-9999/10000",
            Some((9990, LEN)),
        ),
        (
            vec![("range", "bytes=-10")],
            206,
            "bytes 9990-9999/10000",
            Some((9990, LEN)),
        ),
        (
            vec![("range", "bytes=5000-99999")],
            206,
            "bytes 5000-9999/10000",
            Some((5000, LEN)),
        ),
        (vec![("range", "bytes=10000-")], 416, "bytes */10000", None),
        (vec![("if-none-match", "{etag}")], 304, "", None),
        (
            vec![("if-none-match", "\"other\"")],
            200,
            "",
            Some((0, LEN)),
        ),
        (vec![("if-modified-since", "{modified}")], 304, "", None),
        (vec![("if-modified-since", "{later}")], 304, "", None),
        (
            vec![("if-modified-since", "{earlier}")],
            200,
            "",
            Some((0, LEN)),
        ),
        (
            vec![("range", "bytes=0-9"), ("if-range", "{etag}")],
            206,
            "bytes 0-9/10000",
            Some((0, 10)),
        ),
        (
            vec![("range", "bytes=0-9"), ("if-range", "\"other\"")],
            200,
            "",
            Some((0, LEN)),
        ),
    ]
}

/// Run every case against `url`, whose body is the pattern of LEN bytes.
fn check_server(http: &Http, url: &str, who: &str) {
    let first = http.get(url, &[]);
    assert_eq!(first.status, 200, "{who}: {}", first.text());
    assert_eq!(first.header("accept-ranges"), "bytes", "{who}");
    let etag = first.header("etag").to_string();
    let modified = first.header("last-modified").to_string();
    assert!(
        !etag.is_empty() && !modified.is_empty(),
        "{who}: {:?}",
        first.headers
    );
    let at = chrono::DateTime::parse_from_rfc2822(&modified.replace("GMT", "+0000")).unwrap();
    let date = |d: chrono::DateTime<chrono::FixedOffset>| {
        d.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    };
    let later = date(at + chrono::Duration::hours(1));
    let earlier = date(at - chrono::Duration::hours(1));
    for (headers, status, range, body) in cases() {
        let filled: Vec<(&str, String)> = headers
            .iter()
            .map(|(k, v)| {
                let v = v
                    .replace("{etag}", &etag)
                    .replace("{modified}", &modified)
                    .replace("{later}", &later)
                    .replace("{earlier}", &earlier);
                (*k, v)
            })
            .collect();
        let asked: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a: Answer = http.get(url, &asked);
        assert_eq!(a.status, status, "{who} {asked:?}");
        assert_eq!(a.header("content-range"), range, "{who} {asked:?}");
        match body {
            Some((from, to)) => {
                assert_eq!(
                    a.body,
                    big::pattern(from, (to - from) as usize),
                    "{who} {asked:?}"
                )
            }
            None if status == 304 => assert!(a.body.is_empty(), "{who} {asked:?}"),
            None => {}
        }
        if status == 304 {
            assert_eq!(a.header("etag"), etag, "{who}: a 304 names its ETag");
        }
    }
}

#[test]
fn validators_and_ranges_on_bucket_answers_match_s3_and_nginx() {
    let p = Project::bare("[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n");
    big::put_local_object(&p.path("bucket"), "file.bin", LEN, "max-age=600");
    let edge = Edge::start(&p, "edge", &[]);
    let url = format!("{}/file.bin", edge.url);
    check_server(&edge.http, &url, "tusk (bucket read)");
    // The same again from the cached copy of the bucket's answer.
    check_server(&edge.http, &url, "tusk (cached bucket answer)");
    assert!(edge.status()["requests"]["bucket_hits"].as_u64().unwrap() > 0);
    // Several ranges: the whole object, as S3 answers.
    let several = edge.http.get(&url, &[("range", "bytes=0-1,5-6")]);
    assert_eq!((several.status, several.body.len() as u64), (200, LEN));
    let head = edge.http.request("HEAD", &url, &[("range", "bytes=0-9")]);
    assert_eq!((head.status, head.header("content-length")), (206, "10"));

    if let Some(nginx) = Nginx::start(&p.path("bucket")) {
        check_server(&edge.http, &format!("{}/file.bin", nginx.url), "nginx");
    } else {
        eprintln!("nginx not installed: checked against the documented answers only");
    }
}

#[test]
fn validators_and_ranges_on_cached_origin_answers() {
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |_| None);
    origin.set(
        "/file.bin",
        Route::new(
            200,
            "application/octet-stream",
            big::pattern(0, LEN as usize),
        )
        .header("cache-control", "max-age=600")
        .header("etag", "\"v1\"")
        .header("last-modified", "Mon, 30 Nov 2026 10:00:00 GMT"),
    );
    let p = Project::bare(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n",
    );
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    let url = format!("{}/file.bin", edge.url);
    check_server(&edge.http, &url, "tusk (cached origin answer)");
    let requests = &edge.status()["requests"];
    assert_eq!(
        requests["origin_fetches"], 1,
        "all from the cache: {requests:#}"
    );
}

/// nginx serving a folder on a free 127.0.0.1 port (`if_modified_since
/// before`: RFC 9110's rule), if it is installed.
struct Nginx {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(root: &std::path::Path) -> Option<Nginx> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|b| std::path::Path::new(b).exists())?;
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let d = dir.path().display();
        let conf = format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{}}\n\
             http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p;\n\
             fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
             types {{ application/octet-stream bin; }}\n\
             server {{ listen 127.0.0.1:{port}; root {}; if_modified_since before; }} }}\n",
            root.display()
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(binary)
            .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(Nginx {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
