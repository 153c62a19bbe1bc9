//! Health checks of the dynamic origin, shared by the edge (and the CDN
//! watcher): one round probes every configured URL; [`Hysteresis`] turns
//! rounds into an up/down state the HAProxy way (`fall` bad rounds to go
//! down, `rise` good rounds and a minimum hold time to come back), so a
//! flapping origin does not flip traffic back and forth.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::HealthConfig;

/// The result of one round of probes.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub ok: bool,
    /// Slowest probe of the round, milliseconds.
    pub latency_ms: u64,
    /// Why the round failed: the first failing URL and its problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Probes the origin as `[health]` says.
pub struct Checker {
    client: reqwest::Client,
    urls: Vec<String>,
    method: reqwest::Method,
    expect_status: u16,
    expect_body: String,
    timeout_ms: u64,
}

impl Checker {
    /// `origin` is the base URL the configured paths are joined to.
    pub fn new(cfg: &HealthConfig, origin: &str) -> anyhow::Result<Checker> {
        let base = origin.trim_end_matches('/');
        let urls = cfg
            .urls
            .iter()
            .map(|u| {
                if u.starts_with("http://") || u.starts_with("https://") {
                    u.clone()
                } else {
                    format!("{base}/{}", u.trim_start_matches('/'))
                }
            })
            .collect();
        let method = reqwest::Method::from_bytes(cfg.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| anyhow::anyhow!("health.method {:?} is not an HTTP method", cfg.method))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(cfg.timeout_ms.max(1)))
            .user_agent(concat!("tusk-health/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Checker {
            client,
            urls,
            method,
            expect_status: cfg.expect_status,
            expect_body: cfg.expect_body.clone(),
            timeout_ms: cfg.timeout_ms.max(1),
        })
    }

    /// Probe every URL once; the round is good only if all of them are.
    pub async fn round(&self) -> Round {
        let probes = self.urls.iter().map(|url| self.probe(url));
        let results = futures::future::join_all(probes).await;
        let latency_ms = results.iter().map(|(ms, _)| *ms).max().unwrap_or(0);
        let error = results.into_iter().find_map(|(_, err)| err);
        Round {
            ok: error.is_none(),
            latency_ms,
            error,
        }
    }

    /// One probe; its problem in one line ("origin refused the connection
    /// (127.0.0.1:3000)", "origin timed out after 500 ms (GET /health)").
    async fn probe(&self, url: &str) -> (u64, Option<String>) {
        let started = Instant::now();
        let asked = format!("{} {}", self.method, path_of(url));
        let cause = |e: reqwest::Error| match crate::diag::http_error_text(&e) {
            t if t == "timed out" => format!("timed out after {} ms ({asked})", self.timeout_ms),
            t if e.is_connect() => t,
            t => format!("{t} ({asked})"),
        };
        let result = async {
            let resp = self
                .client
                .request(self.method.clone(), url)
                .send()
                .await
                .map_err(cause)?;
            let status = resp.status().as_u16();
            if status != self.expect_status {
                return Err(format!(
                    "answered {status} to {asked} (expected {})",
                    self.expect_status
                ));
            }
            if !self.expect_body.is_empty() {
                let body = resp.text().await.map_err(cause)?;
                if !body.contains(&self.expect_body) {
                    return Err(format!(
                        "answered {asked} but the body lacks {:?}",
                        self.expect_body
                    ));
                }
            }
            Ok(())
        }
        .await;
        let ms = started.elapsed().as_millis() as u64;
        (ms, result.err().map(|e| format!("origin {e}")))
    }
}

/// The path (and query) of a URL, for messages that name the probe.
fn path_of(url: &str) -> &str {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/")
}

/// Up/down with hysteresis. Starts up: an edge that just started tries the
/// origin first, like a CDN.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    fall: u32,
    rise: u32,
    hold: Duration,
    up: bool,
    bad: u32,
    good: u32,
    since: Instant,
}

impl Hysteresis {
    pub fn new(cfg: &HealthConfig) -> Hysteresis {
        Hysteresis {
            fall: cfg.fall.max(1),
            rise: cfg.rise.max(1),
            hold: Duration::from_secs(cfg.min_hold_secs),
            up: true,
            bad: 0,
            good: 0,
            since: Instant::now(),
        }
    }

    /// Start in a known state: a restarted watcher that finds traffic on
    /// the bucket starts "down" and needs `rise` good rounds and the hold
    /// time before it routes back.
    pub fn starting(cfg: &HealthConfig, up: bool) -> Hysteresis {
        Hysteresis {
            up,
            ..Hysteresis::new(cfg)
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Time since the last change of state.
    pub fn for_how_long(&self) -> Duration {
        self.since.elapsed()
    }

    /// Count one round; `Some(new state)` when the state changes.
    pub fn record(&mut self, ok: bool, now: Instant) -> Option<bool> {
        if ok {
            self.good += 1;
            self.bad = 0;
        } else {
            self.bad += 1;
            self.good = 0;
        }
        let change = if self.up && self.bad >= self.fall {
            Some(false)
        } else if !self.up && self.good >= self.rise && now.duration_since(self.since) >= self.hold
        {
            Some(true)
        } else {
            None
        };
        if let Some(up) = change {
            self.up = up;
            self.since = now;
            self.bad = 0;
            self.good = 0;
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(fall: u32, rise: u32, hold: u64) -> HealthConfig {
        HealthConfig {
            fall,
            rise,
            min_hold_secs: hold,
            ..HealthConfig::default()
        }
    }

    #[test]
    fn falls_after_consecutive_failures_only() {
        let mut h = Hysteresis::new(&cfg(3, 2, 0));
        let t = Instant::now();
        assert_eq!(h.record(false, t), None);
        assert_eq!(h.record(false, t), None);
        assert_eq!(h.record(true, t), None, "a good round resets the count");
        assert_eq!(h.record(false, t), None);
        assert_eq!(h.record(false, t), None);
        assert_eq!(h.record(false, t), Some(false));
        assert!(!h.is_up());
    }

    #[test]
    fn rises_after_consecutive_successes_and_the_hold_time() {
        let mut h = Hysteresis::new(&cfg(1, 2, 30));
        let t0 = Instant::now();
        assert_eq!(h.record(false, t0), Some(false));
        assert_eq!(h.record(true, t0), None);
        assert_eq!(h.record(true, t0), None, "still inside the hold time");
        let later = t0 + Duration::from_secs(31);
        assert_eq!(h.record(true, later), Some(true));
        assert!(h.is_up());
        // Flapping: one bad, one good, never enough of either.
        let mut h = Hysteresis::new(&cfg(2, 2, 0));
        for i in 0..20 {
            assert_eq!(h.record(i % 2 == 0, t0), None);
        }
        assert!(h.is_up());
    }
}
