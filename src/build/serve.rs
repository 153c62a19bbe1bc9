//! `tusk serve`: build (drafts and future posts only when asked, as
//! Hugo and Zola do), serve the output on 127.0.0.1:1111, rebuild when `site/`, `themes/` or `config/` change,
//! and reload open tabs over server-sent events.
//!
//! It builds into `.tusk/serve`, never `build.output`, so drafts cannot end
//! up in a publish. A failed build keeps the last good output (the build
//! only replaces its folder on success) and shows the problems in the
//! terminal and as an overlay in every open tab; fixing the file reloads
//! the tabs by itself.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use notify::Watcher as _;
use tokio::sync::broadcast;

use crate::build::incremental::Outcome;
use crate::build::{self, BuildOptions, Built};
use crate::config;

type Body = BoxBody<Bytes, Infallible>;

/// Where tabs listen for rebuilds.
const EVENTS: &str = "/_tusk/live";
/// Quiet time after the last file event before rebuilding: editors write
/// a file in several steps, all within a few milliseconds.
const DEBOUNCE: Duration = Duration::from_millis(30);

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    pub drafts: bool,
    pub future: bool,
    /// The site's base URL in the pages; default: the address served on.
    pub base_url: Option<String>,
    /// Open the site in the browser once it is served.
    pub open: bool,
}

/// `--open`: `$BROWSER URL` when set (the convention of `man`, `git
/// web--browse`, Python's webbrowser), else the system's opener. A browser
/// that cannot start is a warning: the site is served anyway.
fn open_browser(url: &str) {
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open".into()
            } else {
                "xdg-open".into()
            }
        });
    let started = std::process::Command::new(&opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        // Reaped in the background, so no zombie stays behind.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => tracing::warn!("--open: cannot start {opener}: {e}; open {url} yourself"),
    }
}

/// What a rebuild tells the tabs.
#[derive(Debug, Clone)]
enum Event {
    /// Reload the tabs showing these URLs (None: every tab).
    Reload(Option<Vec<String>>),
    /// The build failed: the message for the overlay.
    Problem(String),
}

struct Shared {
    output: PathBuf,
    events: broadcast::Sender<Event>,
    /// The current failure, sent to tabs that connect while it lasts.
    problem: Mutex<Option<String>>,
    /// The last good build, for incremental rebuilds; None after a failed
    /// full build (the next change then builds everything).
    built: Mutex<Option<Built>>,
    /// Changed files of a failed incremental rebuild, retried with the next.
    pending: Mutex<Vec<PathBuf>>,
}

pub async fn run(root: &Path, env: Option<&str>, opts: &ServeOptions) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .with_context(|| format!("serve: cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let served = format!("http://{addr}");
    let base_url = opts.base_url.clone().unwrap_or_else(|| served.clone());
    let output = root.join(".tusk").join("serve");
    let (events, _) = broadcast::channel(16);
    let shared = Arc::new(Shared {
        output: output.clone(),
        events,
        problem: Mutex::new(None),
        built: Mutex::new(None),
        pending: Mutex::new(Vec::new()),
    });
    let rebuild = {
        let (root, env, opts) = (root.to_path_buf(), env.map(str::to_string), opts.clone());
        let (output, base_url, shared) = (output.clone(), base_url.clone(), shared.clone());
        move |changed: Option<Vec<PathBuf>>| {
            rebuild(
                &root,
                env.as_deref(),
                &opts,
                &output,
                &base_url,
                &shared,
                changed,
            )
        }
    };
    let first = rebuild.clone();
    tokio::task::spawn_blocking(move || first(None)).await?;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if !matches!(event.kind, notify::EventKind::Access(_)) {
                let _ = tx.send(event.paths);
            }
        }
    })?;
    let loaded = config::load(root, env)?;
    for dir in [
        loaded.root.join(&loaded.config.build.source),
        root.join("themes"),
        root.join("config"),
    ] {
        if dir.is_dir() {
            watcher
                .watch(&dir, notify::RecursiveMode::Recursive)
                .with_context(|| format!("serve: cannot watch {}", dir.display()))?;
        }
    }
    println!(
        "Serving on {served}/ ({}, {}); watching site/, themes/ and config/; Ctrl-C stops",
        if opts.drafts {
            "drafts shown, marked as drafts"
        } else {
            "drafts hidden: --drafts/-D shows them"
        },
        if opts.future {
            "future posts shown"
        } else {
            "future posts hidden: --future/-F"
        }
    );
    if opts.open {
        open_browser(&format!("{served}/"));
    }

    tokio::spawn(async move {
        let _watcher = watcher;
        while let Some(first) = rx.recv().await {
            let mut changed = first;
            // Debounce: wait until the editor has finished writing.
            while let Ok(Some(more)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                changed.extend(more);
            }
            changed.sort();
            changed.dedup();
            tracing::info!("serve: changed {changed:?}");
            let rebuild = rebuild.clone();
            let _ = tokio::task::spawn_blocking(move || rebuild(Some(changed))).await;
        }
    });

    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(respond(&shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Bring the served folder up to date after `changed` files (None: build
/// everything), incrementally when the last good build allows it; tell
/// the tabs and the terminal.
fn rebuild(
    root: &Path,
    env: Option<&str>,
    opts: &ServeOptions,
    output: &Path,
    base_url: &str,
    shared: &Shared,
    changed: Option<Vec<PathBuf>>,
) {
    let started = Instant::now();
    let mut built = shared.built.lock().unwrap();
    if let (Some(state), Some(changed)) = (built.as_mut(), changed) {
        let mut paths = std::mem::take(&mut *shared.pending.lock().unwrap());
        paths.extend(changed);
        let had_problem = shared.problem.lock().unwrap().is_some();
        let mut sent: Vec<String> = Vec::new();
        let mut shown = |urls: &[String]| {
            if urls.is_empty() {
                return;
            }
            let took = started.elapsed();
            succeeded(
                shared,
                &format!("Updated {} in {took:.1?}", urls.join(" ")),
                Some(urls.to_vec()),
            );
            sent = urls.to_vec();
        };
        match state.update(&paths, &mut shown) {
            Ok(Outcome::Unchanged) => return,
            Ok(Outcome::Updated { files, urls }) => {
                let took = started.elapsed();
                let rest: Vec<String> = urls.into_iter().filter(|u| !sent.contains(u)).collect();
                let done = format!("Updated {files} files in {took:.1?}");
                if !rest.is_empty() {
                    succeeded(shared, &done, Some(rest));
                } else if sent.is_empty() && had_problem {
                    // Fixed back to what it was: the overlays must go.
                    succeeded(shared, &done, None);
                }
                return;
            }
            Ok(Outcome::FullBuild(reason)) => tracing::info!("serve: full rebuild: {reason}"),
            Err(err) => {
                if state.is_stale() {
                    *built = None;
                } else {
                    *shared.pending.lock().unwrap() = paths;
                }
                return failed(shared, &err);
            }
        }
    }
    shared.pending.lock().unwrap().clear();
    let result = config::load(root, env).and_then(|mut loaded| {
        loaded.config.build.output = output.to_path_buf();
        loaded.config.site.base_url = base_url.to_string();
        let build_opts = BuildOptions {
            drafts: opts.drafts,
            future: opts.future,
            dry_run: false,
        };
        build::build_and_keep(&loaded, &build_opts)
    });
    match result {
        Ok((report, state)) => {
            *built = Some(state);
            let took = started.elapsed().as_millis();
            let done = format!("Built {} objects in {took} ms", report.objects);
            succeeded(shared, &done, None);
        }
        Err(err) => {
            *built = None;
            failed(shared, &err);
        }
    }
}

fn succeeded(shared: &Shared, done: &str, urls: Option<Vec<String>>) {
    *shared.problem.lock().unwrap() = None;
    println!("{done}; reloading open tabs");
    let _ = shared.events.send(Event::Reload(urls));
}

fn failed(shared: &Shared, err: &anyhow::Error) {
    let message = match err.downcast_ref::<crate::diag::Problems>() {
        Some(p) => p.to_string(),
        None => format!("{err:#}"),
    };
    eprintln!("error: {}", message.trim_end());
    eprintln!("(the last good build is still served; fix the file and it reloads)");
    *shared.problem.lock().unwrap() = Some(message.clone());
    let _ = shared.events.send(Event::Problem(message));
}

async fn respond(shared: &Shared, req: Request<hyper::body::Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path == EVENTS {
        return events(shared);
    }
    if !matches!(*req.method(), hyper::Method::GET | hyper::Method::HEAD) {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    match resolve(&shared.output, &path) {
        Resolved::File(file) => file_response(StatusCode::OK, &file).await,
        Resolved::Redirect(to) => Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header("location", to)
            .body(empty())
            .unwrap(),
        Resolved::Missing => {
            let page = shared.output.join("404.html");
            if page.is_file() {
                file_response(StatusCode::NOT_FOUND, &page).await
            } else {
                text(StatusCode::NOT_FOUND, "not found\n")
            }
        }
    }
}

enum Resolved {
    File(PathBuf),
    /// A folder asked for without its slash.
    Redirect(String),
    Missing,
}

/// Map a URL path to a file of the output: percent-decoded, `dir/` to
/// `dir/index.html`; `..`, backslashes and symlinks out of the output are
/// refused, whatever the URL says.
fn resolve(output: &Path, url_path: &str) -> Resolved {
    let decoded = percent_encoding::percent_decode_str(url_path).decode_utf8_lossy();
    let mut path = output.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == ".." || segment == "." || segment.contains(['\\', '\0']) {
            return Resolved::Missing;
        }
        path.push(segment);
    }
    if path.is_dir() {
        if !decoded.ends_with('/') {
            return Resolved::Redirect(crate::tree::key::folder_location(url_path));
        }
        path.push("index.html");
    } else if !path.exists() && path.extension().is_none() {
        path.set_extension("html");
    }
    let inside = match (path.canonicalize(), output.canonicalize()) {
        (Ok(p), Ok(o)) => p.starts_with(o),
        _ => false,
    };
    if inside && path.is_file() {
        Resolved::File(path)
    } else {
        Resolved::Missing
    }
}

/// The live-reload client, added to every HTML page served.
const CLIENT: &str = r#"<script>(function(){
var es=window.tuskLiveReload=new EventSource("/_tusk/live");
es.addEventListener("reload",function(e){
var u=JSON.parse(e.data).urls,p=decodeURI(location.pathname);
if(!u||document.getElementById("tusk-overlay")||u.indexOf(p)>=0||u.indexOf(p.replace(/index\.html$/,""))>=0)location.reload();});
es.addEventListener("problem",function(e){
var d=document.getElementById("tusk-overlay");
if(!d){d=document.createElement("pre");d.id="tusk-overlay";d.setAttribute("role","alert");
d.style.cssText="position:fixed;inset:0;margin:0;padding:2rem;background:rgba(40,0,0,.94);color:#fff;font:14px/1.5 monospace;white-space:pre-wrap;overflow:auto;z-index:2147483647";
document.body.appendChild(d);}
d.textContent="tusk: the build failed\n\n"+JSON.parse(e.data).message;});
})();</script>"#;

async fn file_response(status: StatusCode, file: &Path) -> Response<Body> {
    let Ok(bytes) = tokio::fs::read(file).await else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    // The tree's rule, so `tusk serve` labels a file as publish stores it.
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let content_type = crate::tree::content_type_of(&name, &bytes);
    let html = content_type.starts_with("text/html");
    let body = if html { inject(bytes) } else { bytes };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body)).boxed())
        .unwrap()
}

/// Put the client before `</body>` (or at the end).
fn inject(mut html: Vec<u8>) -> Vec<u8> {
    let at = memchr::memmem::rfind(&html, b"</body>").unwrap_or(html.len());
    html.splice(at..at, CLIENT.bytes());
    html
}

/// A server-sent event stream: the current problem first, then every
/// rebuild's outcome.
fn events(shared: &Shared) -> Response<Body> {
    let current = shared.problem.lock().unwrap().clone().map(Event::Problem);
    let rx = tokio_stream_of(shared.events.subscribe());
    let stream = futures::stream::iter(current)
        .chain(rx)
        .map(|event| Ok::<_, Infallible>(Frame::data(Bytes::from(sse(&event)))));
    let hello = futures::stream::once(async {
        Ok(Frame::data(Bytes::from_static(b": tusk live reload\n\n")))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-store")
        .body(BodyExt::boxed(StreamBody::new(hello.chain(stream))))
        .unwrap()
}

fn tokio_stream_of(rx: broadcast::Receiver<Event>) -> impl futures::Stream<Item = Event> {
    futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

fn sse(event: &Event) -> String {
    match event {
        Event::Reload(urls) => format!(
            "event: reload\ndata: {}\n\n",
            serde_json::json!({ "urls": urls })
        ),
        Event::Problem(message) => format!(
            "event: problem\ndata: {}\n\n",
            serde_json::json!({ "message": message })
        ),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())).boxed())
        .unwrap()
}

fn empty() -> Body {
    Full::new(Bytes::new()).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_leave_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("about")).unwrap();
        std::fs::write(out.join("about/index.html"), "a").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        assert!(
            matches!(resolve(&out, "/about/"), Resolved::File(p) if p.ends_with("about/index.html"))
        );
        assert!(matches!(resolve(&out, "/about"), Resolved::Redirect(to) if to == "/about/"));
        for bad in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/about/..%2f..%2fsecret.txt",
            "/..\\secret.txt",
        ] {
            assert!(matches!(resolve(&out, bad), Resolved::Missing), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), out.join("link.txt"))
                .unwrap();
            assert!(matches!(resolve(&out, "/link.txt"), Resolved::Missing));
        }
    }

    #[test]
    fn the_client_goes_before_the_body_end() {
        let html = inject(b"<html><body><p>x</p></body></html>".to_vec());
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("<p>x</p><script>"));
        assert!(html.ends_with("</script></body></html>"));
    }
}
