//! `tusk watch`: health-checks the origin and points the CDN's routed
//! behaviours at the bucket while it is down, back at the origin group when
//! it has recovered (HAProxy-style `fall`/`rise` plus a hold time).
//!
//! Stateless on purpose: the route and an operator's pin are read from the
//! distribution, and every switch is a conditional update, so a restarted
//! watcher carries on where it was and two watchers never fight. A switch
//! that fails is logged as an error and tried again every round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::desired::Desired;
use super::distribution::Distribution;
use super::route::{self, Request, Target};
use crate::cdn::audit;
use crate::config::Loaded;
use crate::health::{Checker, Hysteresis, Round};

#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Address of the Prometheus `/metrics` endpoint; `None`: none.
    pub metrics_listen: Option<String>,
    /// Stop after this many rounds (tests); `None`: until Ctrl-C/SIGTERM.
    pub rounds: Option<u64>,
}

struct Metrics {
    registry: Registry,
    origin_up: Gauge,
    on_bucket: Gauge,
    pinned: Gauge,
    checks: Counter,
    check_failures: Counter,
    check_seconds: Histogram,
    switches: Counter,
    switch_failures: Counter,
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("tusk_watch"),
            origin_up: Gauge::default(),
            on_bucket: Gauge::default(),
            pinned: Gauge::default(),
            checks: Counter::default(),
            check_failures: Counter::default(),
            check_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 12)),
            switches: Counter::default(),
            switch_failures: Counter::default(),
        };
        let r = &mut m.registry;
        r.register(
            "origin_up",
            "1 while the origin counts as healthy",
            m.origin_up.clone(),
        );
        r.register(
            "route_bucket",
            "1 while the CDN routes to the bucket",
            m.on_bucket.clone(),
        );
        r.register(
            "route_pinned",
            "1 while an operator pinned the route",
            m.pinned.clone(),
        );
        r.register("health_checks", "Health check rounds", m.checks.clone());
        r.register(
            "health_check_failures",
            "Failed health check rounds",
            m.check_failures.clone(),
        );
        r.register(
            "health_check_seconds",
            "Slowest probe of each round",
            m.check_seconds.clone(),
        );
        r.register(
            "switches",
            "Route switches made by this watcher",
            m.switches.clone(),
        );
        r.register(
            "switch_failures",
            "Switches that could not be applied (retried next round)",
            m.switch_failures.clone(),
        );
        m
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    fn route(&self, r: &route::Route) {
        self.on_bucket.set((r.target == Target::Bucket) as i64);
        self.pinned.set(r.pinned as i64);
    }
}

/// The watcher's state between rounds.
struct Watcher<'a> {
    config: &'a crate::config::Config,
    desired: Desired,
    dist: Distribution,
    log: Option<audit::Log>,
    route: route::Route,
    health: Hysteresis,
    metrics: Arc<Metrics>,
    actor: String,
    /// A switch failed and is tried again next round.
    pending: bool,
    /// An operator's pin overriding the health checks was reported.
    warned_pin: bool,
    last_read: Instant,
    last_saved: Option<Instant>,
}

/// Open the distribution, check it is routed by tusk, serve the metrics,
/// then check the origin every `health.interval_ms` until stopped.
pub async fn run(loaded: &Loaded, opts: &WatchOptions) -> Result<()> {
    let config = &loaded.config;
    let origin = config.origin().unwrap_or_default();
    let checker = Checker::new(&config.health, origin)?;
    let mut watcher = Watcher::open(loaded).await?;
    if let Some(listen) = &opts.metrics_listen {
        let addr = serve_metrics(listen, watcher.metrics.clone()).await?;
        tracing::info!("watch: metrics on http://{addr}/metrics");
        eprintln!("watch: metrics on http://{addr}/metrics");
    }
    eprintln!(
        "watch: distribution {} routes to {}; checking {origin} every {} ms (fall {}, rise {}, hold {} s)",
        watcher.dist.id,
        route::describe(&watcher.route),
        config.health.interval_ms,
        config.health.fall,
        config.health.rise,
        config.health.min_hold_secs
    );
    let mut ticker =
        tokio::time::interval(Duration::from_millis(config.health.interval_ms.max(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds = 0u64;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown() => {
                eprintln!("watch: stopping");
                return Ok(());
            }
        }
        let round = checker.round().await;
        rounds += 1;
        let change = watcher.record(&round);
        watcher.follow(&round, change).await;
        watcher.save_state(&round, change).await;
        if opts.rounds.is_some_and(|n| rounds >= n) {
            return Ok(());
        }
    }
}

impl<'a> Watcher<'a> {
    async fn open(loaded: &'a Loaded) -> Result<Watcher<'a>> {
        let config = &loaded.config;
        let desired = Desired::from_config(loaded)?;
        let dist = Distribution::open(&config.cdn).await?;
        let log = match audit::Log::open(loaded).await {
            Ok(log) => Some(log),
            Err(e) => {
                tracing::error!("watch: no audit log, switches are only logged here: {e:#}");
                None
            }
        };
        let live = dist.read().await?;
        let route = route::of(&live.config, &desired)?;
        if route.target == Target::Unmanaged {
            bail!(
                "distribution {}: the behaviours {:?} are not routed by tusk; run `tusk cdn plan` and `tusk cdn apply` first",
                dist.id,
                route.behaviors
            );
        }
        let health = Hysteresis::starting(
            &config.health,
            route.target != Target::Bucket || route.pinned,
        );
        let metrics = Arc::new(Metrics::new());
        metrics.route(&route);
        Ok(Watcher {
            config,
            desired,
            dist,
            log,
            route,
            health,
            metrics,
            actor: audit::watcher(),
            pending: false,
            warned_pin: false,
            last_read: Instant::now(),
            last_saved: None,
        })
    }

    /// Count the round; `Some(up)` when the origin's state changed.
    fn record(&mut self, round: &Round) -> Option<bool> {
        let metrics = &self.metrics;
        metrics.checks.inc();
        metrics
            .check_seconds
            .observe(round.latency_ms as f64 / 1000.0);
        if !round.ok {
            metrics.check_failures.inc();
            tracing::info!(
                "watch: health check failed: {}",
                round.error.as_deref().unwrap_or("")
            );
        }
        let change = self.health.record(round.ok, Instant::now());
        metrics.origin_up.set(self.health.is_up() as i64);
        match change {
            // Recovery is good news: INFO; losing the origin: WARN.
            Some(true) => tracing::info!("watch: origin is healthy again (checks pass)"),
            Some(false) => tracing::warn!(
                "watch: origin is down ({})",
                round.error.as_deref().unwrap_or("")
            ),
            None => {}
        }
        change
    }

    /// Point the route where the origin's health says, after a change, a
    /// failed switch, or every `cdn.watch_refresh_secs` (someone else may
    /// have switched). An operator's pin is left alone.
    async fn follow(&mut self, round: &Round, change: Option<bool>) {
        let refresh = Duration::from_secs(self.config.cdn.watch_refresh_secs.max(1));
        if change.is_none() && !self.pending && self.last_read.elapsed() < refresh {
            return;
        }
        let want = if self.health.is_up() {
            Target::OriginGroup
        } else {
            Target::Bucket
        };
        let reason = reason(round, self.health.is_up(), &self.config.health);
        let req = Request {
            to: want,
            pin: false,
            respect_pin: true,
            reason: &reason,
            actor: &self.actor,
        };
        match route::switch(&self.dist, &self.desired, &req, self.log.as_ref()).await {
            Ok(outcome) => {
                self.pending = false;
                self.last_read = Instant::now();
                self.route = if outcome.changed {
                    self.metrics.switches.inc();
                    route::Route {
                        target: want,
                        pinned: false,
                        ..outcome.before
                    }
                } else {
                    outcome.before
                };
                self.metrics.route(&self.route);
                // Say it once per pin that overrides the health checks.
                let overridden = outcome.held_by_pin && self.route.target != want;
                if overridden && !self.warned_pin {
                    tracing::warn!(
                        "watch: health says {}, but the route is pinned by an operator ({}): not switching; `tusk failback` unpins",
                        want.as_str(),
                        route::describe(&self.route)
                    );
                }
                self.warned_pin = overridden;
            }
            Err(e) => {
                self.pending = true;
                self.metrics.switch_failures.inc();
                tracing::error!(
                    "watch: could not route distribution {} to {}: {e:#}; trying again next round",
                    self.dist.id,
                    want.as_str()
                );
            }
        }
    }

    /// Report the watcher's view to the audit log (read by `tusk status`)
    /// on a change and every `cdn.watch_refresh_secs`.
    async fn save_state(&mut self, round: &Round, change: Option<bool>) {
        let refresh = Duration::from_secs(self.config.cdn.watch_refresh_secs.max(1));
        let due = change.is_some() || self.last_saved.is_none_or(|t| t.elapsed() >= refresh);
        let Some(log) = self.log.as_ref().filter(|_| due) else {
            return;
        };
        let state = serde_json::json!({
            "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "actor": self.actor,
            "up": self.health.is_up(),
            "round": round,
            "route": route::describe(&self.route),
        });
        match log.save_watcher(&state).await {
            Ok(()) => self.last_saved = Some(Instant::now()),
            Err(e) => tracing::warn!("watch: could not save its state: {e:#}"),
        }
    }
}

fn reason(round: &Round, up: bool, cfg: &crate::config::HealthConfig) -> String {
    if up {
        format!("origin healthy ({} good checks)", cfg.rise)
    } else {
        format!(
            "origin failed {} checks: {}",
            cfg.fall,
            round.error.as_deref().unwrap_or("unknown error")
        )
    }
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Serve `GET /metrics` in the Prometheus text format.
async fn serve_metrics(listen: &str, metrics: Arc<Metrics>) -> Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("watch: cannot listen on {listen} for metrics"))?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let metrics = metrics.clone();
                        async move {
                            let response = if req.uri().path() == "/metrics" {
                                hyper::Response::builder()
                                    .header(
                                        "content-type",
                                        "text/plain; version=0.0.4; charset=utf-8",
                                    )
                                    .body(Full::new(Bytes::from(metrics.text())))
                            } else {
                                hyper::Response::builder().status(404).body(Full::new(
                                    Bytes::from_static(b"not found: try /metrics\n"),
                                ))
                            };
                            response
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}
