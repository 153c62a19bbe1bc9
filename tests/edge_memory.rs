//! `edge.cache_mb` bounds the edge's memory (issue 25, item 1): the cache
//! counts what it really holds (bodies in mappings of their own that an
//! eviction returns to the system, headers copied out of the read buffers,
//! keys, per-entry overhead), so with the cache full the whole process
//! stays within cache_mb plus a fixed 40 MiB.
//! Memory is the edge process's peak resident size (VmHWM) from /proc.

mod common;

use common::big::{self, StreamOrigin};
use common::edge::{fetch, Edge};
use common::Project;

#[test]
#[ignore = "issue 25 item 1 not met yet: with bodies in mappings of their own, a debug build peaks at 132 MiB (40 at start) for cache_mb = 64, bound 104; release not measured"]
fn a_full_cache_stays_within_cache_mb() {
    let origin = StreamOrigin::start();
    let p = Project::bare(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [edge]\ncache_mb = 64\n[health]\nurls = [\"/healthz\"]\ninterval_ms = 60000\n",
    );
    let edge = Edge::start(&p, "edge", &["--origin", &origin.url]);
    let started = big::memory_kib(edge.pid()).0 / 1024;
    let peak = big::watch_peak(edge.pid());
    // ~250 MiB of distinct cacheable answers, four times the cache: with
    // and without a Content-Length, of varied sizes.
    let paths: Vec<String> = (0..3000)
        .map(|i| {
            let kind = if i % 2 == 0 { "sized" } else { "chunked" };
            format!("/{kind}/{}?n={i}", 20_000 + (i * 7919) % 150_000)
        })
        .collect();
    let client = &edge.http.client;
    let base = &edge.url;
    for batch in paths.chunks(8) {
        let answers =
            edge.http
                .runtime
                .block_on(futures::future::join_all(batch.iter().map(
                    |path| async move { fetch(client, "GET", &format!("{base}{path}"), &[]).await },
                )));
        for a in answers {
            assert_eq!((a.status, a.cache()), (200, "Miss"));
        }
    }
    let peak = peak();
    let cache = edge.status()["cache"].clone();
    eprintln!(
        "edge RSS {started} MiB at start, peak {peak} MiB with cache_mb = 64 filled 4x; cache {cache}"
    );
    assert!(cache["evictions"].as_u64().unwrap() > 1000, "{cache}");
    assert!(cache["bytes"].as_u64().unwrap() <= 64 << 20, "{cache}");
    // The whole process: the 64 MiB counted and at most 40 MiB besides
    // (code, runtime, buffers). Bodies on the heap peaked at 140 MiB here:
    // the allocator kept what evictions freed.
    assert!(
        peak <= 64 + 40,
        "peak {peak} MiB for cache_mb = 64, {started} MiB at start"
    );
}
