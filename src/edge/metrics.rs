//! The edge's counters, exposed in the Prometheus text format at
//! `/_tusk/metrics`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Default)]
pub struct Metrics {
    /// Client requests (admin and drill requests excluded).
    pub requests: Counter,
    /// Client requests the origin answered (`access_log::sent_to_origin`).
    pub origin_requests: Counter,
    /// Requests `tusk drill` sent (marked with its header).
    pub drill_requests: Counter,
    /// Served from a fresh cached copy.
    pub hits: Counter,
    /// Fetched from the origin and served.
    pub misses: Counter,
    /// Revalidated with the origin (304) and served from the cache.
    pub refresh_hits: Counter,
    /// Served stale (while revalidating, or because the origin failed).
    pub stale: Counter,
    /// Served from the fallback bucket.
    pub fallback: Counter,
    /// Objects read from the bucket (GETs; HEADs and cached copies aside).
    pub bucket_reads: Counter,
    /// Bucket answers served from their cached copy.
    pub bucket_hits: Counter,
    /// Build-owned paths answered from the bucket (or its cached copy)
    /// without asking the origin.
    pub bucket_primary: Counter,
    /// Requests sent to the origin (cache fills, revalidations, passes).
    pub origin_fetches: Counter,
    /// Origin requests that failed (connect error, timeout, 5xx).
    pub origin_errors: Counter,
    /// Requests that joined an origin request already in flight.
    pub coalesced: Counter,
    /// Requests passed through uncached (other methods, cookies).
    pub passes: Counter,
    pub health_checks: Counter,
    pub health_failures: Counter,
    pub switches: Counter,
    /// 1 while the origin passes its health checks.
    pub origin_up: Gauge,
    /// 1 while traffic goes to the bucket (health or a manual failover).
    pub fallback_mode: Gauge,
    pub check_latency_ms: Gauge,
    pub cache_bytes: Gauge,
    pub cache_entries: Gauge,
    pub cache_evictions: Gauge,
}

impl Metrics {
    /// Share of client requests the origin did not answer, 0..1: what
    /// `tusk offload` computes from the access log.
    pub fn offload(&self) -> f64 {
        let requests = self.requests.get();
        if requests == 0 {
            return 0.0;
        }
        1.0 - (self.origin_requests.get().min(requests) as f64 / requests as f64)
    }

    pub fn encode(&self) -> String {
        let mut registry = Registry::with_prefix("tusk_edge");
        let counters = [
            ("requests", "Client requests", &self.requests),
            (
                "origin_requests",
                "Client requests the origin answered",
                &self.origin_requests,
            ),
            (
                "drill_requests",
                "Requests sent by tusk drill",
                &self.drill_requests,
            ),
            ("hits", "Served from a fresh cached copy", &self.hits),
            ("misses", "Fetched from the origin and served", &self.misses),
            (
                "refresh_hits",
                "Revalidated with the origin and served from cache",
                &self.refresh_hits,
            ),
            ("stale", "Served stale", &self.stale),
            (
                "fallback",
                "Served from the fallback bucket",
                &self.fallback,
            ),
            (
                "bucket_reads",
                "Objects read from the fallback bucket",
                &self.bucket_reads,
            ),
            (
                "bucket_hits",
                "Bucket answers served from their cached copy",
                &self.bucket_hits,
            ),
            (
                "bucket_primary",
                "Built paths answered from the bucket, the origin not asked",
                &self.bucket_primary,
            ),
            (
                "origin_fetches",
                "Requests sent to the origin",
                &self.origin_fetches,
            ),
            (
                "origin_errors",
                "Failed origin requests",
                &self.origin_errors,
            ),
            (
                "coalesced",
                "Requests that joined an origin request in flight",
                &self.coalesced,
            ),
            ("passes", "Requests passed through uncached", &self.passes),
            ("health_checks", "Health check rounds", &self.health_checks),
            (
                "health_failures",
                "Failed health check rounds",
                &self.health_failures,
            ),
            (
                "switches",
                "Switches between origin and bucket",
                &self.switches,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        let gauges = [
            (
                "origin_up",
                "1 while the origin passes its health checks",
                &self.origin_up,
            ),
            (
                "fallback_mode",
                "1 while traffic goes to the bucket",
                &self.fallback_mode,
            ),
            (
                "check_latency_ms",
                "Latency of the last health check round",
                &self.check_latency_ms,
            ),
            ("cache_bytes", "Bytes held by the cache", &self.cache_bytes),
            ("cache_entries", "Entries in the cache", &self.cache_entries),
            (
                "cache_evictions",
                "Entries evicted for space",
                &self.cache_evictions,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
        let offload: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
        offload.set(self.offload());
        registry.register(
            "offload_ratio",
            "Share of requests answered without the origin",
            offload,
        );
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}
