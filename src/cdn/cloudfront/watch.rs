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

pub async fn run(loaded: &Loaded, opts: &WatchOptions) -> Result<()> {
    let config = &loaded.config;
    let desired = Desired::from_config(loaded)?;
    let dist = Distribution::open(&config.cdn).await?;
    let origin = config.origin().unwrap_or_default();
    let checker = Checker::new(&config.health, origin)?;
    let log = match audit::Log::open(loaded).await {
        Ok(log) => Some(log),
        Err(e) => {
            tracing::error!("watch: no audit log, switches are only logged here: {e:#}");
            None
        }
    };
    let live = dist.read().await?;
    let mut route = route::of(&live.config, &desired)?;
    if route.target == Target::Unmanaged {
        bail!(
            "distribution {}: the behaviours {:?} are not routed by tusk; run `tusk cdn plan` and `tusk cdn apply` first",
            dist.id,
            route.behaviors
        );
    }
    let mut health = Hysteresis::starting(
        &config.health,
        route.target != Target::Bucket || route.pinned,
    );
    let metrics = Arc::new(Metrics::new());
    metrics.route(&route);
    if let Some(listen) = &opts.metrics_listen {
        let addr = serve_metrics(listen, metrics.clone()).await?;
        tracing::info!("watch: metrics on http://{addr}/metrics");
        eprintln!("watch: metrics on http://{addr}/metrics");
    }
    eprintln!(
        "watch: distribution {} routes to {}; checking {origin} every {} ms (fall {}, rise {}, hold {} s)",
        dist.id,
        route::describe(&route),
        config.health.interval_ms,
        config.health.fall,
        config.health.rise,
        config.health.min_hold_secs
    );

    let refresh = Duration::from_secs(config.cdn.watch_refresh_secs.max(1));
    let mut last_read = Instant::now();
    let mut pending = false;
    let mut warned_pin = false;
    let mut last_saved: Option<Instant> = None;
    let actor = audit::watcher();
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
        let change = health.record(round.ok, Instant::now());
        metrics.origin_up.set(health.is_up() as i64);
        if let Some(up) = change {
            tracing::warn!(
                "watch: origin is {} ({})",
                if up { "healthy again" } else { "down" },
                round.error.as_deref().unwrap_or("checks pass")
            );
        }
        if change.is_some() || pending || last_read.elapsed() >= refresh {
            let want = if health.is_up() {
                Target::OriginGroup
            } else {
                Target::Bucket
            };
            let reason = reason(&round, health.is_up(), &config.health);
            let req = Request {
                to: want,
                pin: false,
                respect_pin: true,
                reason: &reason,
                actor: &actor,
            };
            match route::switch(&dist, &desired, &req, log.as_ref()).await {
                Ok(outcome) => {
                    pending = false;
                    last_read = Instant::now();
                    route = if outcome.changed {
                        metrics.switches.inc();
                        route::Route {
                            target: want,
                            pinned: false,
                            ..outcome.before
                        }
                    } else {
                        outcome.before
                    };
                    metrics.route(&route);
                    // Say it once per pin that overrides the health checks.
                    let overridden = outcome.held_by_pin && route.target != want;
                    if overridden && !warned_pin {
                        tracing::warn!(
                            "watch: health says {}, but the route is pinned by an operator ({}): not switching; `tusk failback` unpins",
                            want.as_str(),
                            route::describe(&route)
                        );
                    }
                    warned_pin = overridden;
                }
                Err(e) => {
                    pending = true;
                    metrics.switch_failures.inc();
                    tracing::error!(
                        "watch: could not route distribution {} to {}: {e:#}; trying again next round",
                        dist.id,
                        want.as_str()
                    );
                }
            }
        }
        if change.is_some() || last_saved.is_none_or(|t| t.elapsed() >= refresh) {
            if let Some(log) = &log {
                let state = serde_json::json!({
                    "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "actor": actor,
                    "up": health.is_up(),
                    "round": round,
                    "route": route::describe(&route),
                });
                match log.save_watcher(&state).await {
                    Ok(()) => last_saved = Some(Instant::now()),
                    Err(e) => tracing::warn!("watch: could not save its state: {e:#}"),
                }
            }
        }
        if opts.rounds.is_some_and(|n| rounds >= n) {
            return Ok(());
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
