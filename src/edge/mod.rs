//! `tusk edge`: the embedded CDN. A caching reverse proxy in front of the
//! dynamic origin with the published bucket as fallback, so the whole
//! failover story runs on one machine:
//!
//! 1. fresh cached copy → served (`x-cache: Hit from tusk`);
//! 2. traffic switched to the bucket (health checks failed `fall` times, or
//!    an operator ran `tusk failover`) → stale copy within `stale-if-error`,
//!    else the bucket;
//! 3. stale copy within `stale-while-revalidate` → served, one background
//!    revalidation;
//! 4. otherwise one origin request per key however many clients wait for it
//!    (coalescing); on failure (connect error, timeout, 5xx) a stale copy,
//!    else the bucket.
//!
//! Before 2-4, a path the build owns (the list publish keeps in the state
//! location, `store::built`, read at start and every [`BUILT_RECHECK`])
//! is answered from the bucket (`x-cache: Bucket from tusk`), cached and
//! coalesced like a fallback read, and the origin is not asked; only when
//! the bucket lacks it (a stale list) does the origin answer, as above.
//!
//! Requests with cookies or credentials and methods other than GET/HEAD
//! pass straight to the origin and are never cached.

pub mod access_log;
mod admin;
mod body;
pub mod cache;
pub mod client;
mod conditional;
pub mod fallback;
mod history;
mod metrics;
mod page;
mod stored;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::StreamExt;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::config::{EdgeConfig, HealthConfig, Loaded};
use crate::health::{Checker, Hysteresis, Round};
use crate::store::built::Built;
use crate::store::Store;
use cache::{Cache, Entry};
use metrics::Metrics;

pub use body::Body;

/// Where requests go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// Origin first, the bucket per request on failure.
    Origin,
    /// Straight to the cache and the bucket; the origin is not asked.
    Fallback,
}

/// A change of route, for `tusk status`; an operator's pin is also kept
/// in `.tusk/edge-route.json` so a restarted edge comes back pinned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub at: String,
    pub to: Route,
    pub reason: String,
    /// `health` (the checker) or `manual` (an operator).
    pub by: String,
    /// Who switched (the operator's user name, as the client sent it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

#[derive(Debug, Default)]
struct Routing {
    /// An operator's failover: the health checks never undo it.
    pinned: Option<Switch>,
    health: Option<Hysteresis>,
    last_round: Option<(String, Round)>,
    last_switch: Option<Switch>,
}

/// What the edge was started with.
#[derive(Debug, Clone, Default)]
pub struct EdgeOptions {
    /// Overrides `edge.listen`.
    pub listen: Option<String>,
    /// Overrides `edge.origin` (and `snapshot.origin`).
    pub origin: Option<String>,
}

/// The origin's (or the bucket's) answer, shared by every request that
/// waited for it.
#[derive(Clone)]
enum Fetched {
    /// Stored in the cache; the label says how (`Miss`, `RefreshHit`).
    Stored(Arc<Entry>, How),
    /// Not cacheable: only the request that asked may see it.
    Passed(Arc<Entry>),
    /// Too large to cache, or not cacheable: streamed to the request that
    /// asked; the others ask again for a stream of their own.
    Streamed(Arc<Handoff>),
    Failed(Arc<str>),
}

/// A streamed answer: its head, and its body for the one client that
/// takes it.
struct Handoff {
    status: u16,
    headers: HeaderMap,
    len: Option<u64>,
    body: Mutex<Option<body::Chunks>>,
}

impl Handoff {
    fn fetched(status: u16, headers: HeaderMap, len: Option<u64>, body: body::Chunks) -> Fetched {
        Fetched::Streamed(Arc::new(Handoff {
            status,
            headers,
            len,
            body: Mutex::new(Some(body)),
        }))
    }

    /// The response for `request`; `None` when another client took the
    /// body already.
    fn respond(&self, how: How, head: bool, request: &HeaderMap) -> Option<Response<Body>> {
        let mut response = Response::new(Body::default());
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        *response.headers_mut() = self.headers.clone();
        if self.status == 200 && conditional::not_modified(request, &self.headers) {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
        } else if head {
            if let Some(len) = self.len {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            }
        } else {
            let chunks = self.body.lock().unwrap().take()?;
            *response.body_mut() = Body::stream(self.len, chunks);
        }
        label(&mut response, how);
        Some(response)
    }
}

pub struct State {
    cfg: EdgeConfig,
    health_cfg: HealthConfig,
    origin: Option<String>,
    client: reqwest::Client,
    store: Box<dyn Store>,
    cache: Cache,
    inflight: Mutex<HashMap<String, Shared<BoxFuture<'static, Fetched>>>>,
    routing: Mutex<Routing>,
    /// What [`State::route`] answers, set by [`State::reroute`].
    fallback_now: std::sync::atomic::AtomicBool,
    metrics: Metrics,
    token: String,
    started: Instant,
    access_log: Option<access_log::AccessLog>,
    /// Where an operator's pin is kept across restarts.
    route_file: std::path::PathBuf,
    /// Pass-through bodies being read: half of `edge.max_connections`.
    upload_slots: tokio::sync::Semaphore,
    /// The last hour, for the ops page.
    history: history::History,
    /// The fallback's state location (`None` when it has none), whose
    /// publish records say "published 3 min ago".
    records: Option<Box<dyn Store>>,
    /// The last publish read from it, and when (listed at most every
    /// [`PUBLISH_RECHECK`], however often `status --watch` asks).
    last_publish: tokio::sync::Mutex<Option<(Instant, serde_json::Value)>>,
    /// The keys the build owns: answered from the bucket, never the origin.
    built: std::sync::RwLock<Arc<Built>>,
    /// The snapshot's tree manifest, for its age.
    snapshot_manifest: std::path::PathBuf,
    /// The last drill's result (`tusk drill` writes it).
    drill_file: std::path::PathBuf,
}

/// The edge's runtime file: where it listens and its admin token, for the
/// ops commands on the same machine (readable by its owner only).
pub fn runtime_file(loaded: &Loaded) -> std::path::PathBuf {
    loaded.root.join(".tusk/edge.json")
}

/// The last drill's result, kept by `tusk drill` for the ops page.
pub fn drill_file(loaded: &Loaded) -> std::path::PathBuf {
    loaded.root.join(".tusk/drill.json")
}

/// An operator's pin (its audit record: who, when, why), kept across
/// restarts of the edge.
pub fn route_file(loaded: &Loaded) -> std::path::PathBuf {
    loaded.root.join(".tusk/edge-route.json")
}

/// The pin saved by an earlier run. A corrupt or hand-edited file is
/// reported and ignored: health checks decide until the next switch.
fn load_pin(path: &std::path::Path) -> Option<Switch> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(
                "edge: cannot read {} ({e}); no pin restored",
                path.display()
            );
            return None;
        }
    };
    match serde_json::from_slice::<Switch>(&bytes) {
        Ok(pin) if pin.to == Route::Fallback && pin.by == "manual" => Some(pin),
        Ok(_) => {
            tracing::warn!("edge: {} is not a failover pin; ignored", path.display());
            None
        }
        Err(e) => {
            tracing::warn!("edge: {} is not a valid pin ({e}); ignored", path.display());
            None
        }
    }
}

/// Keep `pin` in `path` atomically (a reader sees the old file or the new
/// one), or remove the file when nothing is pinned.
fn save_pin(path: &std::path::Path, pin: Option<&Switch>) -> std::io::Result<()> {
    let Some(pin) = pin else {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    };
    let dir = path.parent().expect("route file has a folder");
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(pin)?)?;
    file.as_file().sync_all()?;
    file.persist(path)?;
    Ok(())
}

/// Start the edge and serve until SIGINT or SIGTERM (returned by name).
/// `ready` is called with the bound address once it accepts connections.
pub async fn run(
    loaded: &Loaded,
    opts: &EdgeOptions,
    ready: impl FnOnce(&State, SocketAddr),
) -> Result<&'static str> {
    stored::small_pages_only();
    let state = Arc::new(State::new(loaded, opts).await?);
    let listen = opts
        .listen
        .clone()
        .unwrap_or_else(|| state.cfg.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("edge: cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    write_runtime_file(loaded, &state, addr)?;
    if state.origin.is_some() {
        tokio::spawn(health_loop(state.clone()));
    }
    if state.cfg.built_from_bucket {
        tokio::spawn(built_loop(state.clone()));
    }
    let mut stop = Stop::install()?;
    ready(&state, addr);
    // Each connection holds a permit: at `edge.max_connections` the loop
    // waits for one to end before accepting more.
    let permits = Arc::new(tokio::sync::Semaphore::new(
        state.cfg.max_connections.max(1),
    ));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            why = stop.wait() => return Ok(why),
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            why = stop.wait() => return Ok(why),
        };
        let (stream, remote) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("edge: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        tokio::spawn(serve_connection(state.clone(), stream, remote, permit));
    }
}

async fn serve_connection(
    state: Arc<State>,
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    _permit: tokio::sync::OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(state.handle(req, remote).await) }
    });
    // A client that never finishes its headers is dropped.
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// SIGINT and SIGTERM, handled explicitly: a shell starts background jobs
/// with SIGINT ignored, and the edge must still stop cleanly on it.
struct Stop {
    #[cfg(unix)]
    signals: (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
}

impl Stop {
    fn install() -> Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let int = signal(SignalKind::interrupt()).context("edge: cannot handle SIGINT")?;
            let term = signal(SignalKind::terminate()).context("edge: cannot handle SIGTERM")?;
            Ok(Stop {
                signals: (int, term),
            })
        }
        #[cfg(not(unix))]
        Ok(Stop {})
    }

    /// The name of the signal that arrived.
    async fn wait(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let (int, term) = &mut self.signals;
            tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

fn write_runtime_file(loaded: &Loaded, state: &State, addr: SocketAddr) -> Result<()> {
    let path = runtime_file(loaded);
    let value = serde_json::json!({
        "url": format!("http://{addr}"),
        "pid": std::process::id(),
        "token": state.token,
    });
    let write = || -> std::io::Result<()> {
        let dir = path.parent().expect("runtime file has a folder");
        std::fs::create_dir_all(dir)?;
        // A temporary file is created readable by its owner only.
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut file, serde_json::to_string_pretty(&value)?.as_bytes())?;
        file.persist(&path)?;
        Ok(())
    };
    write().with_context(|| format!("edge: cannot write {}", path.display()))
}

impl State {
    async fn new(loaded: &Loaded, opts: &EdgeOptions) -> Result<State> {
        let config = &loaded.config;
        let cfg = config.edge.clone();
        let origin = opts
            .origin
            .as_deref()
            .or_else(|| config.origin())
            .map(|o| o.trim_end_matches('/').to_string());
        if let Some(o) = &origin {
            crate::config::check_origin("the edge's origin", o)?;
        }
        let target = if cfg.fallback.is_empty() {
            config.publish.target.clone()
        } else {
            cfg.fallback.clone()
        };
        let store = crate::store::open(loaded, &target).await?;
        let records = crate::store::open_state(loaded, &target).await.ok();
        let built = match cfg.built_from_bucket {
            true => load_built(records.as_deref()).await.unwrap_or_else(|e| {
                tracing::warn!("edge: no list of built keys: {e:#}");
                Built::default()
            }),
            false => Built::default(),
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms.max(1)))
            .pool_max_idle_per_host(256)
            .build()?;
        let token = match std::env::var("TUSK_EDGE_TOKEN") {
            Ok(t) if !t.is_empty() => t,
            _ if !cfg.admin_token.is_empty() => cfg.admin_token.clone(),
            _ => random_token()?,
        };
        let health = origin.as_ref().map(|_| Hysteresis::new(&config.health));
        let route_file = route_file(loaded);
        let cfg_max_connections = cfg.max_connections;
        let pinned = load_pin(&route_file);
        let access_log = match cfg.access_log.as_str() {
            "" => None,
            path => Some(access_log::AccessLog::open(&loaded.root.join(path))?),
        };
        let state = State {
            cache: Cache::new((cfg.cache_mb as usize).saturating_mul(1024 * 1024)),
            cfg,
            health_cfg: config.health.clone(),
            origin,
            client,
            store,
            inflight: Mutex::new(HashMap::new()),
            routing: Mutex::new(Routing {
                health,
                last_switch: pinned.clone(),
                pinned,
                ..Routing::default()
            }),
            metrics: Metrics::default(),
            token,
            started: Instant::now(),
            access_log,
            route_file,
            upload_slots: tokio::sync::Semaphore::new((cfg_max_connections / 2).max(1)),
            history: history::History::default(),
            records,
            built: std::sync::RwLock::new(Arc::new(built)),
            last_publish: tokio::sync::Mutex::new(None),
            snapshot_manifest: loaded
                .root
                .join(&config.snapshot.output)
                .join(crate::tree::MANIFEST_NAME),
            drill_file: drill_file(loaded),
            fallback_now: Default::default(),
        };
        state.reroute(&state.routing.lock().unwrap());
        Ok(state)
    }

    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    pub fn fallback(&self) -> String {
        self.store.describe()
    }

    /// Where requests go now: pinned by an operator, else by health. Read
    /// on every request, so kept apart from the routing lock.
    pub fn route(&self) -> Route {
        match self.fallback_now.load(std::sync::atomic::Ordering::Relaxed) {
            true => Route::Fallback,
            false => Route::Origin,
        }
    }

    /// Recompute [`State::route`] after `routing` changed (under its lock).
    fn reroute(&self, routing: &Routing) {
        let route = match (&self.origin, &routing.pinned, &routing.health) {
            (None, _, _) => Route::Fallback,
            (_, Some(pin), _) => pin.to,
            (_, None, Some(h)) if !h.is_up() => Route::Fallback,
            _ => Route::Origin,
        };
        self.fallback_now.store(
            route == Route::Fallback,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    async fn handle(
        self: &Arc<Self>,
        req: Request<Incoming>,
        remote: SocketAddr,
    ) -> Response<Body> {
        if req.uri().path().starts_with("/_tusk/") {
            return admin::handle(self, req, remote).await;
        }
        if req.method() == Method::OPTIONS && req.uri().path() == "*" {
            return server_options();
        }
        let cacheable = matches!(*req.method(), Method::GET | Method::HEAD)
            && !req.headers().contains_key(header::COOKIE)
            && !req.headers().contains_key(header::AUTHORIZATION);
        let drill = req.headers().contains_key(access_log::DRILL_HEADER);
        let started = Instant::now();
        // What the log needs of the request, taken only when there is one.
        let asked = self
            .access_log
            .as_ref()
            .map(|_| access_log::Asked::of(&req));
        let response = if cacheable {
            self.get(req).await
        } else {
            self.pass(req).await
        };
        let how = How::of(&response).map_or("Error", How::as_str);
        let status = response.status().as_u16();
        self.count(how, status, drill);
        if let (Some(log), Some(asked)) = (&self.access_log, asked) {
            let answered = |name: header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            };
            log.write(
                asked,
                &access_log::Answer {
                    client: remote.ip(),
                    status,
                    bytes: hyper::body::Body::size_hint(response.body())
                        .exact()
                        .unwrap_or(0),
                    how,
                    seconds: started.elapsed().as_secs_f64(),
                    content_type: answered(header::CONTENT_TYPE),
                    cache_control: answered(header::CACHE_CONTROL),
                    drill,
                },
            );
        }
        response
    }

    /// Count a client request by how it was answered, with the rule
    /// `tusk offload` applies to the access log, so both agree. The
    /// drill's requests are counted apart.
    fn count(&self, how: &str, status: u16, drill: bool) {
        if drill {
            self.metrics.drill_requests.inc();
            return;
        }
        self.metrics.requests.inc();
        let (result, detailed) = access_log::result_type(how, status);
        let to_origin = access_log::sent_to_origin(result, detailed, status);
        if to_origin {
            self.metrics.origin_requests.inc();
        }
        self.history.request(to_origin);
    }

    async fn get(self: &Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let head = req.method() == Method::HEAD;
        let uri = req.uri();
        let key = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let now = Instant::now();
        let fallback = self.route() == Route::Fallback;
        // In fallback mode `Cache-Control: no-cache` asks for the bucket's
        // copy itself (what `tusk drill` checks), never a cached one.
        let bucket_only = fallback && wants_no_cache(req.headers());
        let cached = self.cache.get(key).filter(|_| !bucket_only);
        if let Some(entry) = &cached {
            if entry.is_fresh(now) {
                self.metrics.hits.inc();
                return respond(entry, How::Hit, head, req.headers(), now);
            }
        }
        if fallback {
            if let Some(entry) = cached.as_ref().filter(|e| e.can_serve_on_error(now)) {
                self.metrics.stale.inc();
                return respond(entry, How::Stale, head, req.headers(), now);
            }
            return self
                .serve_bucket(key, head, req.headers(), !bucket_only)
                .await;
        }
        if self.is_built(key) {
            if let Some(response) = self.serve_built(key, head, req.headers()).await {
                return response;
            }
        }
        if let Some(entry) = cached
            .as_ref()
            .filter(|e| e.can_serve_while_revalidating(now))
        {
            let (revalidation, _) = self.fetch(key, cached.clone());
            tokio::spawn(revalidation);
            self.metrics.stale.inc();
            return respond(entry, How::Stale, head, req.headers(), now);
        }
        let (fetch, leader) = self.fetch(key, cached.clone());
        let mut fetched = fetch.await;
        if let (Fetched::Passed(_) | Fetched::Streamed(_), false) = (&fetched, leader) {
            // Somebody else's uncacheable answer (it may carry their
            // cookie), or their stream: ask again for this client.
            fetched = self.fetch_origin(key, None).await;
        }
        match fetched {
            Fetched::Stored(entry, label) => {
                if label == How::Miss {
                    self.metrics.misses.inc();
                } else {
                    self.metrics.refresh_hits.inc();
                }
                respond(&entry, label, head, req.headers(), Instant::now())
            }
            Fetched::Passed(entry) => {
                self.metrics.misses.inc();
                respond(&entry, How::Miss, head, req.headers(), Instant::now())
            }
            Fetched::Streamed(handoff) => {
                self.metrics.misses.inc();
                handoff
                    .respond(How::Miss, head, req.headers())
                    .unwrap_or_else(taken)
            }
            Fetched::Failed(reason) => {
                tracing::debug!("edge: origin failed for {key}: {reason}");
                if let Some(entry) = cached.as_ref().filter(|e| e.can_serve_on_error(now)) {
                    self.metrics.stale.inc();
                    return respond(entry, How::Stale, head, req.headers(), now);
                }
                self.serve_bucket(key, head, req.headers(), true).await
            }
        }
    }

    /// One origin request for `key` however many ask at once; returns the
    /// shared answer and whether this caller started it.
    fn fetch(
        self: &Arc<Self>,
        key: &str,
        cached: Option<Arc<Entry>>,
    ) -> (Shared<BoxFuture<'static, Fetched>>, bool) {
        let state = self.clone();
        let owned = key.to_string();
        self.coalesce(key, async move { state.fetch_origin(&owned, cached).await })
    }

    /// Run `work` for `key` unless the same work is in flight: then join
    /// it. Returns the shared answer and whether this caller started it.
    fn coalesce(
        self: &Arc<Self>,
        key: &str,
        work: impl std::future::Future<Output = Fetched> + Send + 'static,
    ) -> (Shared<BoxFuture<'static, Fetched>>, bool) {
        let mut inflight = self.inflight.lock().unwrap();
        if let Some(running) = inflight.get(key) {
            self.metrics.coalesced.inc();
            return (running.clone(), false);
        }
        let state = self.clone();
        let owned = key.to_string();
        let fetch = async move {
            let fetched = work.await;
            state.inflight.lock().unwrap().remove(&owned);
            fetched
        }
        .boxed()
        .shared();
        inflight.insert(key.to_string(), fetch.clone());
        (fetch, true)
    }

    /// Ask the origin (conditionally when a copy is cached) and store what
    /// may be stored.
    async fn fetch_origin(&self, key: &str, cached: Option<Arc<Entry>>) -> Fetched {
        let Some(origin) = &self.origin else {
            return Fetched::Failed("no origin configured".into());
        };
        self.metrics.origin_fetches.inc();
        let mut request = self
            .client
            .get(format!("{origin}{key}"))
            .header(header::VIA, "1.1 tusk");
        let conditional = cached.as_ref().is_some_and(|e| {
            e.headers.contains_key(header::ETAG) || e.headers.contains_key(header::LAST_MODIFIED)
        });
        if let Some(entry) = &cached {
            if let Some(etag) = entry.headers.get(header::ETAG) {
                request = request.header(header::IF_NONE_MATCH, etag.clone());
            }
            if let Some(modified) = entry.headers.get(header::LAST_MODIFIED) {
                request = request.header(header::IF_MODIFIED_SINCE, modified.clone());
            }
        }
        let max = self.max_object();
        let deadline = tokio::time::Instant::now() + self.origin_timeout();
        let mut response = match tokio::time::timeout_at(deadline, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return self.origin_failed(crate::diag::http_error_text(&e)),
            Err(_) => return self.origin_failed("timed out".into()),
        };
        let status = response.status().as_u16();
        let headers = end_to_end(response.headers());
        if status >= 500 {
            return self.origin_failed(format!("status {status}"));
        }
        let class = class_for(key);
        if status == 304 {
            return self.revalidated(key, cached.filter(|_| conditional), &headers, class);
        }
        let freshness = cache::freshness(
            status,
            &headers,
            class,
            &self.cfg.default_ttl,
            self.cfg.stale_if_error_secs,
        );
        let declared = response.content_length();
        // Not to be stored, or declared too large: streamed as it comes.
        if freshness.is_none() || declared.is_some_and(|len| len > max) {
            self.cache.remove(key);
            let chunks = origin_chunks(Vec::new(), response, self.origin_timeout());
            return Handoff::fetched(status, headers, declared, chunks);
        }
        let body = match tokio::time::timeout_at(deadline, read_up_to(&mut response, max)).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => return self.origin_failed(crate::diag::http_error_text(&e)),
            Err(_) => return self.origin_failed("timed out reading the body".into()),
        };
        let body = match body {
            Whole(body) => body,
            // Longer than it may be cached: what was read, then the rest.
            Beyond(prefix) => {
                self.cache.remove(key);
                let chunks = origin_chunks(prefix, response, self.origin_timeout());
                return Handoff::fetched(status, headers, declared, chunks);
            }
        };
        self.keep(key, (status, headers, body), freshness, How::Miss)
    }

    /// The largest body the cache stores (`edge.max_object_mb`).
    fn max_object(&self) -> u64 {
        self.cfg.max_object_mb.saturating_mul(1024 * 1024)
    }

    /// How long the origin may take to answer (and to send a cacheable
    /// body, or each chunk of a streamed one).
    fn origin_timeout(&self) -> Duration {
        Duration::from_millis(self.cfg.origin_timeout_ms.max(1))
    }

    /// The origin's 304: the cached copy with the new headers, stored again
    /// if they allow it, else passed on whole. The client's request had no
    /// validator, so it never gets the 304 itself; a 304 to a request that
    /// was not conditional is a failure.
    fn revalidated(
        &self,
        key: &str,
        old: Option<Arc<Entry>>,
        headers: &HeaderMap,
        class: crate::tree::CacheClass,
    ) -> Fetched {
        let Some(old) = old else {
            return self
                .origin_failed("304 Not Modified to a request that was not conditional".into());
        };
        let mut merged = old.headers.clone();
        for (name, value) in headers.iter() {
            merged.insert(name.clone(), value.clone());
        }
        let freshness = cache::freshness(
            old.status,
            &merged,
            class,
            &self.cfg.default_ttl,
            self.cfg.stale_if_error_secs,
        );
        let stored = (old.status, merged, old.body.clone());
        self.keep(key, stored, freshness, How::RefreshHit)
    }

    /// An answer (status, headers, body) kept under `key` for as long as
    /// `freshness` says, labelled `how`; without one it is for the one
    /// request that asked, and an older copy under `key` goes.
    fn keep(
        &self,
        key: &str,
        (status, headers, body): (u16, HeaderMap, Bytes),
        freshness: Option<cache::Freshness>,
        how: How,
    ) -> Fetched {
        let entry = Arc::new(Entry {
            status,
            headers,
            body,
            stored: Instant::now(),
            freshness: freshness.unwrap_or(cache::Freshness::NONE),
        });
        if freshness.is_none() {
            self.cache.remove(key);
            return Fetched::Passed(entry);
        }
        self.cache.insert(key, entry.clone());
        Fetched::Stored(entry, how)
    }

    fn origin_failed(&self, reason: String) -> Fetched {
        self.metrics.origin_errors.inc();
        Fetched::Failed(reason.into())
    }

    /// The bucket's answer for `path` (with its query, if any): its cached copy while fresh (by the
    /// object's stored Cache-Control), else one bucket read however many
    /// clients ask at once. `use_cache: false` reads the bucket itself (a
    /// drill's `Cache-Control: no-cache`).
    async fn serve_bucket(
        self: &Arc<Self>,
        path: &str,
        head: bool,
        request: &HeaderMap,
        use_cache: bool,
    ) -> Response<Body> {
        self.metrics.fallback.inc();
        self.bucket_response(path, head, request, use_cache).await
    }

    /// Whether the build owns the key of `path` (with its query, if any).
    fn is_built(&self, path: &str) -> bool {
        let built = self.built.read().unwrap();
        !built.is_empty()
            && fallback::key_for(path.split('?').next().unwrap_or(path))
                .is_some_and(|key| built.owns(&key))
    }

    /// A build-owned path from the bucket, through the same cache and
    /// coalesced reads as the fallback. `None` when the bucket has no such
    /// object or fails: the list may be stale, and the origin answers.
    async fn serve_built(
        self: &Arc<Self>,
        path: &str,
        head: bool,
        request: &HeaderMap,
    ) -> Option<Response<Body>> {
        let mut response = self.bucket_response(path, head, request, true).await;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status.is_server_error() {
            tracing::debug!(
                "edge: built path {path} not in the bucket ({status}); asking the origin"
            );
            return None;
        }
        self.metrics.bucket_primary.inc();
        label(&mut response, How::Bucket);
        Some(response)
    }

    /// The bucket's answer for `path`, labelled as a fallback.
    async fn bucket_response(
        self: &Arc<Self>,
        path: &str,
        head: bool,
        request: &HeaderMap,
        use_cache: bool,
    ) -> Response<Body> {
        let key = bucket_key(path);
        let now = Instant::now();
        let cached = self.cache.get(&key).filter(|_| use_cache);
        if let Some(entry) = cached.as_ref().filter(|e| e.is_fresh(now)) {
            self.metrics.bucket_hits.inc();
            return respond(entry, How::Fallback, head, request, now);
        }
        if head {
            return self.head_bucket(path).await;
        }
        let state = self.clone();
        let owned = path.to_string();
        let read = async move { state.read_bucket(&owned).await };
        let (shared, leader) = self.coalesce(&key, read);
        let mut fetched = shared.await;
        if let (Fetched::Streamed(_), false) = (&fetched, leader) {
            fetched = self.read_bucket(path).await;
        }
        match fetched {
            Fetched::Stored(entry, _) | Fetched::Passed(entry) => {
                respond(&entry, How::Fallback, false, request, Instant::now())
            }
            Fetched::Streamed(handoff) => self
                .stream_bucket(path, &handoff, request)
                .await
                .unwrap_or_else(taken),
            Fetched::Failed(_) => {
                // An expired copy beats an error (stale-if-error).
                if let Some(entry) = cached.filter(|e| e.can_serve_on_error(now)) {
                    return respond(&entry, How::Fallback, false, request, now);
                }
                plain(
                    StatusCode::BAD_GATEWAY,
                    "502 Bad Gateway: the origin and the fallback bucket both failed\n",
                )
            }
        }
    }

    /// One read of the bucket, kept in the cache when its headers allow.
    async fn read_bucket(&self, path: &str) -> Fetched {
        self.metrics.bucket_reads.inc();
        let read = fallback::Read::Body {
            max: self.max_object(),
        };
        let answer = match fallback::answer(self.store.as_ref(), path, read).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!("edge: fallback bucket failed for {path}: {e:#}");
                return Fetched::Failed(format!("{e:#}").into());
            }
        };
        let body = match answer.body {
            fallback::Payload::Bytes(body) => body,
            fallback::Payload::Length(_) => Bytes::new(),
            fallback::Payload::Stream(opened) => {
                let len = Some(opened.info.size);
                return Handoff::fetched(answer.status, answer.headers, len, opened.body);
            }
        };
        let freshness = cache::freshness(
            answer.status,
            &answer.headers,
            class_for(path),
            &self.cfg.default_ttl,
            self.cfg.stale_if_error_secs,
        );
        let stored = (answer.status, answer.headers, body);
        self.keep(&bucket_key(path), stored, freshness, How::Fallback)
    }

    /// A large bucket object streamed; a single byte range read from the
    /// bucket as a range (S3: GetObject with `Range`), never whole.
    async fn stream_bucket(
        &self,
        path: &str,
        handoff: &Handoff,
        request: &HeaderMap,
    ) -> Option<Response<Body>> {
        let len = handoff.len.unwrap_or(0);
        let ranged = match handoff.status {
            200 if !conditional::not_modified(request, &handoff.headers) => {
                conditional::range(request, &handoff.headers, len)
            }
            _ => conditional::Ranged::Whole,
        };
        let part = match ranged {
            conditional::Ranged::Whole => return handoff.respond(How::Fallback, false, request),
            conditional::Ranged::Part(part) => part,
            conditional::Ranged::Unsatisfiable => {
                let mut response = Response::new(Body::default());
                *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
                response
                    .headers_mut()
                    .insert(header::CONTENT_RANGE, conditional::content_range(None, len));
                label(&mut response, How::Fallback);
                return Some(response);
            }
        };
        // The object at the path itself; one under a query key differs in
        // MD5, and the whole answer goes out instead.
        let key = fallback::key_for(path.split('?').next().unwrap_or(path))?;
        let opened = match self.store.open(&key, Some(part.clone())).await {
            Ok(Some(opened)) if opened.info.md5 == handoff_md5(handoff) => opened,
            // Replaced or removed since: the whole current answer instead.
            _ => return handoff.respond(How::Fallback, false, request),
        };
        let mut response = Response::new(Body::stream(Some(part.end - part.start), opened.body));
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        *response.headers_mut() = handoff.headers.clone();
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            conditional::content_range(Some(&part), len),
        );
        label(&mut response, How::Fallback);
        Some(response)
    }

    /// A HEAD answered from the object's headers; its body is not read.
    async fn head_bucket(&self, path: &str) -> Response<Body> {
        match fallback::answer(self.store.as_ref(), path, fallback::Read::Head).await {
            Ok(answer) => {
                let mut response = Response::new(Body::default());
                *response.status_mut() =
                    StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
                *response.headers_mut() = answer.headers;
                let len = match answer.body {
                    fallback::Payload::Length(len) => len,
                    fallback::Payload::Bytes(body) => body.len() as u64,
                    fallback::Payload::Stream(opened) => opened.info.size,
                };
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                label(&mut response, How::Fallback);
                response
            }
            Err(e) => {
                tracing::error!("edge: fallback bucket failed for {path}: {e:#}");
                plain(
                    StatusCode::BAD_GATEWAY,
                    "502 Bad Gateway: the origin and the fallback bucket both failed\n",
                )
            }
        }
    }

    /// Other methods, and requests with cookies or credentials: straight
    /// to the origin, never cached. With the origin down, GET and HEAD get
    /// the bucket's copy and the rest a clear 503.
    async fn pass(self: &Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        self.metrics.passes.inc();
        let read_only = matches!(*req.method(), Method::GET | Method::HEAD);
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_string();
        if read_only && self.route() == Route::Origin && self.is_built(&path) {
            // A built page is the same for everyone: cookies change nothing.
            let head = req.method() == Method::HEAD;
            if let Some(response) = self.serve_built(&path, head, req.headers()).await {
                return response;
            }
        }
        let origin = match (&self.origin, self.route()) {
            (Some(origin), Route::Origin) => origin.clone(),
            _ if read_only => {
                let head = req.method() == Method::HEAD;
                return self.serve_bucket(&path, head, req.headers(), true).await;
            }
            _ => return unavailable(),
        };
        let (parts, body) = req.into_parts();
        let body = match self.read_body(body, read_only).await {
            Ok(body) => body,
            Err(refused) => return refused,
        };
        let target = format!(
            "{origin}{}",
            parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/")
        );
        let mut headers = end_to_end(&parts.headers);
        headers.remove(header::HOST);
        headers.insert(header::VIA, HeaderValue::from_static("1.1 tusk"));
        self.metrics.origin_fetches.inc();
        let send = self
            .client
            .request(parts.method.clone(), target)
            .headers(headers)
            .body(body)
            .send();
        let sent = tokio::time::timeout(self.origin_timeout(), send).await;
        let unasked_304 = |r: &reqwest::Response| {
            r.status() == StatusCode::NOT_MODIFIED && !asked_conditionally(&parts.headers)
        };
        match sent {
            Ok(Ok(answer)) if unasked_304(&answer) => {}
            Ok(Ok(answer)) if answer.status().as_u16() < 500 || !read_only => {
                let status = answer.status();
                let mut headers = end_to_end(answer.headers());
                let declared = answer.headers().get(header::CONTENT_LENGTH).cloned();
                let body = if parts.method == Method::HEAD {
                    if let Some(len) = declared {
                        headers.insert(header::CONTENT_LENGTH, len);
                    }
                    Body::default()
                } else {
                    let len = answer.content_length();
                    Body::stream(
                        len,
                        origin_chunks(Vec::new(), answer, self.origin_timeout()),
                    )
                };
                let mut response = Response::new(body);
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                label(&mut response, How::Pass);
                return response;
            }
            _ => {}
        }
        self.metrics.origin_errors.inc();
        if read_only {
            self.serve_bucket(&path, parts.method == Method::HEAD, &parts.headers, true)
                .await
        } else {
            unavailable()
        }
    }

    /// Health rounds update the route; an operator's pin stays put.
    fn record_round(&self, round: Round) {
        self.metrics.health_checks.inc();
        if !round.ok {
            self.metrics.health_failures.inc();
        }
        self.metrics.check_latency_ms.set(round.latency_ms as i64);
        self.history.check(round.ok, round.latency_ms);
        let mut routing = self.routing.lock().unwrap();
        let change = routing
            .health
            .as_mut()
            .and_then(|h| h.record(round.ok, Instant::now()));
        let up = routing.health.as_ref().map(|h| h.is_up()).unwrap_or(false);
        self.metrics.origin_up.set(up as i64);
        self.reroute(&routing);
        if let Some(up) = change {
            let reason = if up {
                let rise = self.health_cfg.rise;
                format!(
                    "origin healthy again ({rise} good check{})",
                    if rise == 1 { "" } else { "s" }
                )
            } else {
                let fall = self.health_cfg.fall;
                format!(
                    "origin failed {fall} check{}: {}",
                    if fall == 1 { "" } else { "s" },
                    round.error.clone().unwrap_or_default()
                )
            };
            if routing.pinned.is_none() {
                let to = if up { Route::Origin } else { Route::Fallback };
                // Recovery is good news: INFO; losing the origin: WARN.
                if up {
                    tracing::info!("edge: switching to the origin: {reason}");
                } else {
                    tracing::warn!("edge: switching to the bucket: {reason}");
                }
                self.metrics.switches.inc();
                let switch = Switch {
                    at: now_rfc3339(),
                    to,
                    reason,
                    by: "health".into(),
                    operator: None,
                };
                self.history.switch(&switch);
                routing.last_switch = Some(switch);
            } else {
                tracing::warn!("edge: {reason} (route pinned by an operator: unchanged)");
            }
        }
        routing.last_round = Some((now_rfc3339(), round));
    }

    /// A pass-through request's body, within `edge.body_timeout_ms`. Slow
    /// uploads may hold at most half the connections (the rest keep
    /// serving the cache); beyond that they are shed with a 503.
    async fn read_body(&self, body: Incoming, read_only: bool) -> Result<Bytes, Response<Body>> {
        let _slot = match self.upload_slots.try_acquire() {
            Ok(slot) => Some(slot),
            Err(_) if read_only => None,
            Err(_) => {
                let mut busy = plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "503 Service Unavailable: too many uploads in progress\n",
                );
                busy.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return Err(closing(busy));
            }
        };
        let limit = Duration::from_millis(self.cfg.body_timeout_ms.max(1));
        let read = Limited::new(body, 16 * 1024 * 1024).collect();
        match tokio::time::timeout(limit, read).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(_)) => Err(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 Payload Too Large\n",
            )),
            Err(_) => Err(closing(plain(
                StatusCode::REQUEST_TIMEOUT,
                "408 Request Timeout: the request body was not sent within edge.body_timeout_ms\n",
            ))),
        }
    }

    /// The operator's pin restored or set, for the start banner.
    pub fn pinned(&self) -> Option<Switch> {
        self.routing.lock().unwrap().pinned.clone()
    }

    /// An operator's switch. `Some(route)` pins it; `None` unpins (health
    /// decides again). The pin is saved for the next start. Returns
    /// whether anything changed.
    fn set_pin(&self, to: Option<Route>, reason: &str, operator: Option<String>) -> bool {
        let mut routing = self.routing.lock().unwrap();
        let changed = routing.pinned.as_ref().map(|p| p.to) != to;
        if !changed {
            return false;
        }
        let manual = |to: Route| Switch {
            at: now_rfc3339(),
            to,
            reason: reason.to_string(),
            by: "manual".into(),
            operator: operator.clone(),
        };
        let switch = to.map(manual);
        if let Err(e) = save_pin(&self.route_file, switch.as_ref()) {
            tracing::warn!(
                "edge: cannot save the route in {} ({e}); a restart forgets it",
                self.route_file.display()
            );
        }
        routing.pinned = switch.clone();
        self.reroute(&routing);
        let health_up = routing.health.as_ref().map(|h| h.is_up()).unwrap_or(false);
        let now = if health_up {
            Route::Origin
        } else {
            Route::Fallback
        };
        let switch = switch.unwrap_or_else(|| manual(now));
        self.history.switch(&switch);
        routing.last_switch = Some(switch);
        self.metrics.switches.inc();
        true
    }

    /// [`State::status`] with the ages read from outside the edge: the
    /// last publish (its record in the state location) and the snapshot.
    async fn status_now(&self) -> serde_json::Value {
        let mut status = self.status();
        status["published"] = self.published().await;
        status["snapshot"] = snapshot_taken(&self.snapshot_manifest);
        status
    }

    /// The newest publish record, listed again after [`PUBLISH_RECHECK`].
    async fn published(&self) -> serde_json::Value {
        let Some(records) = &self.records else {
            return serde_json::Value::Null;
        };
        let mut known = self.last_publish.lock().await;
        if let Some((at, value)) = known.as_ref() {
            if at.elapsed() < PUBLISH_RECHECK {
                return value.clone();
            }
        }
        let value = last_publish(records.as_ref()).await;
        *known = Some((Instant::now(), value.clone()));
        value
    }

    /// The drill's result `tusk drill` kept, if any.
    fn last_drill(&self) -> Option<serde_json::Value> {
        let bytes = std::fs::read(&self.drill_file).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn status(&self) -> serde_json::Value {
        let route = self.route();
        self.metrics
            .fallback_mode
            .set((route == Route::Fallback) as i64);
        let routing = self.routing.lock().unwrap();
        let cache = self.cache.stats();
        let m = &self.metrics;
        serde_json::json!({
            "provider": "edge",
            "route": route,
            "pinned": routing.pinned.is_some(),
            "origin": self.origin,
            "fallback": self.store.describe(),
            "built": self.built_status(),
            "health": {
                "configured": self.origin.is_some(),
                "up": routing.health.as_ref().map(|h| h.is_up()),
                "since_secs": routing.health.as_ref().map(|h| h.for_how_long().as_secs()),
                "last_check": routing.last_round.as_ref().map(|(at, round)| serde_json::json!({"at": at, "round": round})),
            },
            "last_switch": routing.last_switch,
            "cache": cache,
            "cache_mb": self.cfg.cache_mb,
            "requests": {
                "total": m.requests.get(), "hits": m.hits.get(), "misses": m.misses.get(),
                "refresh_hits": m.refresh_hits.get(), "stale": m.stale.get(),
                "fallback": m.fallback.get(), "bucket_reads": m.bucket_reads.get(),
                "bucket_hits": m.bucket_hits.get(), "origin_fetches": m.origin_fetches.get(),
                "origin_requests": m.origin_requests.get(), "drill": m.drill_requests.get(),
                "origin_errors": m.origin_errors.get(), "coalesced": m.coalesced.get(),
                "passes": m.passes.get(), "bucket_primary": m.bucket_primary.get(),
            },
            "offload_ratio": m.offload(),
            "access_log": self.access_log.as_ref().map(|l| serde_json::json!({
                "path": l.path, "dropped_lines": l.dropped(),
            })),
            "uptime_secs": self.started.elapsed().as_secs(),
        })
    }

    /// How many folders and keys the edge answers from the bucket.
    fn built_status(&self) -> serde_json::Value {
        let built = self.built.read().unwrap();
        serde_json::json!({"folders": built.folders.len(), "keys": built.keys.len()})
    }

    fn metrics_text(&self) -> String {
        let cache = self.cache.stats();
        self.metrics.cache_bytes.set(cache.bytes as i64);
        self.metrics.cache_entries.set(cache.entries as i64);
        self.metrics.cache_evictions.set(cache.evictions as i64);
        self.metrics
            .fallback_mode
            .set((self.route() == Route::Fallback) as i64);
        self.metrics.encode()
    }
}

/// How long the last publish read from the state location is trusted.
const PUBLISH_RECHECK: Duration = Duration::from_secs(5);

/// The newest publish record (`{"id", "at"}`), null when there is none.
async fn last_publish(records: &dyn Store) -> serde_json::Value {
    let listing = match records.list().await {
        Ok(listing) => listing,
        Err(e) => {
            tracing::debug!("edge: cannot list the publish records: {e:#}");
            return serde_json::Value::Null;
        }
    };
    listing
        .iter()
        .filter_map(|l| {
            let id = l.key.strip_prefix(crate::store::layout::RECORDS_PREFIX)?;
            Some((id.strip_suffix(".json")?, &l.modified))
        })
        .max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
        .map_or(
            serde_json::Value::Null,
            |(id, at)| serde_json::json!({"id": id, "at": at}),
        )
}

/// When the snapshot in `manifest` was taken (`{"at"}`), null without one.
fn snapshot_taken(manifest: &std::path::Path) -> serde_json::Value {
    #[derive(Deserialize)]
    struct Created {
        created: String,
    }
    std::fs::read(manifest)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Created>(&bytes).ok())
        .map_or(
            serde_json::Value::Null,
            |c| serde_json::json!({"at": c.created}),
        )
}

async fn health_loop(state: Arc<State>) {
    let Some(origin) = state.origin.clone() else {
        return;
    };
    let checker = match Checker::new(&state.health_cfg, &origin) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("edge: health checks disabled: {e:#}");
            return;
        }
    };
    let interval = Duration::from_millis(state.health_cfg.interval_ms.max(10));
    loop {
        let round = checker.round().await;
        state.record_round(round);
        tokio::time::sleep(interval).await;
    }
}

/// How often the list of built keys is read again.
const BUILT_RECHECK: Duration = Duration::from_secs(30);

/// The list of built keys in the state location (empty without one).
async fn load_built(records: Option<&dyn Store>) -> Result<Built> {
    match records {
        Some(store) if store.exists().await.unwrap_or(false) => Built::load(store).await,
        _ => Ok(Built::default()),
    }
}

/// Read the list again every [`BUILT_RECHECK`]; a failed read keeps the
/// list the edge has.
async fn built_loop(state: Arc<State>) {
    loop {
        tokio::time::sleep(BUILT_RECHECK).await;
        match load_built(state.records.as_deref()).await {
            Ok(built) => *state.built.write().unwrap() = Arc::new(built),
            Err(e) => tracing::warn!("edge: keeping the list of built keys: {e:#}"),
        }
    }
}

/// The cache class of a URL path, for its default TTL.
fn class_for(key: &str) -> crate::tree::CacheClass {
    let path = key.split('?').next().unwrap_or(key);
    match fallback::key_for(path) {
        Some(k) if k.contains('.') => crate::tree::cache_class_for(&k),
        _ => crate::tree::CacheClass::Html,
    }
}

/// A body read up to the cacheable limit.
enum ReadUpTo {
    /// All of it, stored as the cache keeps it (see [`stored`]).
    Whole(Bytes),
    /// More than the limit: what was read so far, the rest unread.
    Beyond(Vec<Bytes>),
}
use ReadUpTo::{Beyond, Whole};

async fn read_up_to(response: &mut reqwest::Response, max: u64) -> reqwest::Result<ReadUpTo> {
    // Each chunk is copied out as it comes: chunks are slices of the
    // connection's read buffers, which keeping them would pin.
    let mut body = stored::Filling::new(response.content_length().filter(|&n| n <= max));
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > max {
            return Ok(Beyond(vec![body.finish(), chunk]));
        }
        body.push(&chunk);
    }
    Ok(Whole(body.finish()))
}

/// `prefix`, then the rest of `response` chunk by chunk, each within
/// `idle` (a stalled origin fails the client's connection rather than
/// holding it forever).
fn origin_chunks(prefix: Vec<Bytes>, response: reqwest::Response, idle: Duration) -> body::Chunks {
    let first = futures::stream::iter(prefix.into_iter().filter(|b| !b.is_empty()).map(Ok));
    let rest = futures::stream::try_unfold(response, move |mut response| async move {
        match tokio::time::timeout(idle, response.chunk()).await {
            Ok(Ok(Some(chunk))) => Ok(Some((chunk, response))),
            Ok(Ok(None)) => Ok(None),
            Ok(Err(e)) => Err(std::io::Error::other(e)),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the origin stopped sending the body",
            )),
        }
    });
    first.chain(rest).boxed()
}

/// Where the bucket's copy of `path` is cached: beside the origin's,
/// under a key no request path can have (those start with `/`), bounded
/// by the same cache_mb.
fn bucket_key(path: &str) -> String {
    format!("bucket:{path}")
}

/// The MD5 in a bucket answer's ETag (`"<md5>"`).
fn handoff_md5(handoff: &Handoff) -> &str {
    handoff
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_matches('"')
}

/// A stream another client took: cannot happen (every client that is not
/// the first asks again), answered as a failure rather than a panic.
fn taken() -> Response<Body> {
    plain(
        StatusCode::BAD_GATEWAY,
        "502 Bad Gateway: the answer was streamed to another client\n",
    )
}

/// Headers minus the hop-by-hop ones (RFC 9110 §7.6.1).
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = owned(headers);
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        out.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::CONTENT_LENGTH,
    ] {
        out.remove(name);
    }
    out.remove("keep-alive");
    out
}

/// A copy of `headers` in allocations of its own: values parsed from a
/// response are slices of the connection's read buffer, which a cached
/// entry would otherwise keep alive whole.
fn owned(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name =
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone());
        let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        out.append(name, copy);
    }
    out
}

/// A cached (or just fetched) entry as a response, answering the client's
/// own validators with 304 and a byte range with 206 (see [`conditional`]).
fn respond(
    entry: &Entry,
    how: How,
    head: bool,
    request: &HeaderMap,
    now: Instant,
) -> Response<Body> {
    let mut response = Response::new(Body::default());
    // Room for what is added below: a clone has no spare room, and
    // growing a header map rehashes it.
    let headers = response.headers_mut();
    headers.reserve(entry.headers.len() + 4);
    headers.extend(entry.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    let complete = entry.status == 200;
    if complete && conditional::not_modified(request, &entry.headers) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    } else {
        let len = entry.body.len() as u64;
        let ranged = match complete {
            true => conditional::range(request, &entry.headers, len),
            false => conditional::Ranged::Whole,
        };
        let (status, body) = match ranged {
            conditional::Ranged::Whole => (entry.status, entry.body.clone()),
            conditional::Ranged::Part(part) => {
                let range = conditional::content_range(Some(&part), len);
                response.headers_mut().insert(header::CONTENT_RANGE, range);
                (
                    206,
                    entry.body.slice(part.start as usize..part.end as usize),
                )
            }
            conditional::Ranged::Unsatisfiable => {
                let range = conditional::content_range(None, len);
                response.headers_mut().insert(header::CONTENT_RANGE, range);
                (416, Bytes::new())
            }
        };
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        if complete {
            response
                .headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        }
        if head {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        } else {
            *response.body_mut() = Body::full(body);
        }
    }
    response
        .headers_mut()
        .insert(header::AGE, age(entry.age(now).as_secs()));
    label(&mut response, how);
    response
}

/// `Age: secs`; values up to an hour are built once, so a hit allocates
/// nothing for its Age.
fn age(secs: u64) -> HeaderValue {
    const BUILT: usize = 3600;
    static AGES: std::sync::OnceLock<Vec<HeaderValue>> = std::sync::OnceLock::new();
    let ages = AGES.get_or_init(|| {
        // One string for all of them, kept for the life of the process.
        let mut digits = String::new();
        let mut ends = Vec::with_capacity(BUILT);
        for n in 0..BUILT {
            digits.push_str(&n.to_string());
            ends.push(digits.len());
        }
        let digits: &'static str = Box::leak(digits.into_boxed_str());
        let mut start = 0;
        ends.into_iter()
            .map(|end| {
                let value = HeaderValue::from_static(&digits[start..end]);
                start = end;
                value
            })
            .collect()
    });
    usize::try_from(secs)
        .ok()
        .and_then(|n| ages.get(n).cloned())
        .unwrap_or_else(|| HeaderValue::from(secs))
}

/// Whether a request carries a validator, the only case a 304 answers.
fn asked_conditionally(headers: &HeaderMap) -> bool {
    headers.contains_key(header::IF_NONE_MATCH) || headers.contains_key(header::IF_MODIFIED_SINCE)
}

fn wants_no_cache(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
}

/// How a request was answered: the edge's label, in `x-cache`, its
/// counters and the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Hit,
    RefreshHit,
    Miss,
    Stale,
    Fallback,
    /// A build-owned path answered from the bucket, the origin not asked.
    Bucket,
    Pass,
}

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

impl How {
    const ALL: [How; 7] = [
        How::Hit,
        How::RefreshHit,
        How::Miss,
        How::Stale,
        How::Fallback,
        How::Bucket,
        How::Pass,
    ];

    fn as_str(self) -> &'static str {
        match self {
            How::Hit => "Hit",
            How::RefreshHit => "RefreshHit",
            How::Miss => "Miss",
            How::Stale => "Stale",
            How::Fallback => "Fallback",
            How::Bucket => "Bucket",
            How::Pass => "Pass",
        }
    }

    /// `x-cache` the way CloudFront reports it; built once, so a hit
    /// allocates nothing for it.
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            How::Hit => "Hit from tusk",
            How::RefreshHit => "RefreshHit from tusk",
            How::Miss => "Miss from tusk",
            How::Stale => "Stale from tusk",
            How::Fallback => "Fallback from tusk",
            How::Bucket => "Bucket from tusk",
            How::Pass => "Pass from tusk",
        })
    }

    /// The label a response carries; `None` for the edge's own answers
    /// (errors, admin).
    fn of(response: &Response<Body>) -> Option<How> {
        let value = response.headers().get(X_CACHE)?;
        How::ALL.into_iter().find(|how| how.header() == value)
    }
}

fn label(response: &mut Response<Body>, how: How) {
    response.headers_mut().insert(X_CACHE, how.header());
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `OPTIONS *` asks about the edge itself, not a resource of the origin.
fn server_options() -> Response<Body> {
    let mut response = Response::new(Body::default());
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"),
    );
    response
}

/// `response`, and the connection closes after it.
fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn unavailable() -> Response<Body> {
    let mut response = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: the origin is down and this request cannot be served from the static copy\n",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn random_token() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the admin token: {e}"))?;
    Ok(hex::encode(bytes))
}
