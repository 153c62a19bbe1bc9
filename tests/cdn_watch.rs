//! `tusk watch` end to end: a real origin on 127.0.0.1 that the tests stop
//! and restart, the watcher as a real process, CloudFront's API served by
//! tests/common/cloudfront.rs (origin groups, IfMatch).

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::cloudfront::{text_at, CloudFront, DIST, SEED};
use common::edge::Http;
use common::origin::{Origin, Route};
use common::s3::SECRET;
use common::Project;

const INTERVAL_MS: u64 = 100;
const FALL: u64 = 3;
const RISE: u64 = 2;

fn project(cf: &CloudFront, origin: &str, hold_secs: u64) -> Project {
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [snapshot]\norigin = \"{origin}\"\n\
         [health]\nurls = [\"/healthz\"]\ntimeout_ms = 300\ninterval_ms = {INTERVAL_MS}\n\
         fall = {FALL}\nrise = {RISE}\nmin_hold_secs = {hold_secs}\n{}",
        cf.cdn_config("watch_refresh_secs = 1\n")
    ));
    p.write("site/index.md", "Home\n");
    let r = p.run_env(&["cdn", "apply"], &cf.env());
    assert!(r.ok(), "{}", r.stderr());
    p
}

fn origin_on(port: u16) -> Origin {
    Origin::start_on(
        port,
        vec![("/healthz", Route::html("ok"))],
        |_| None,
        Duration::ZERO,
    )
}

/// Where the default behaviour points, and whether it is pinned.
fn route(cf: &CloudFront) -> (String, bool) {
    let config = cf.config(DIST);
    let doc = roxmltree::Document::parse(&config).unwrap();
    (
        text_at(
            doc.root_element(),
            &["DefaultCacheBehavior", "TargetOriginId"],
        ),
        config.contains("X-Tusk-Pinned"),
    )
}

fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

fn audit(p: &Project) -> Vec<serde_json::Value> {
    let Ok(dir) = std::fs::read_dir(p.path("bucket-tusk-state/.tusk/cdn/switches")) else {
        return Vec::new();
    };
    // The store writes a temporary file and renames it: skip what is not
    // (or no longer) a finished record.
    let mut records: Vec<serde_json::Value> = dir
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != "json" {
                return None;
            }
            serde_json::from_slice(&std::fs::read(path).ok()?).ok()
        })
        .collect();
    records.sort_by_key(|r| r["at"].as_str().unwrap().to_string());
    records
}

/// The audit records once there are at least `n` (each follows its switch).
fn audit_of(p: &Project, n: usize) -> Vec<serde_json::Value> {
    wait_until(5, "the audit records", || audit(p).len() >= n);
    audit(p)
}

/// A `tusk watch` process with its metrics endpoint.
struct Watcher {
    child: Child,
    metrics: String,
    log: tempfile::NamedTempFile,
    http: Http,
}

impl Watcher {
    fn start(p: &Project, cf: &CloudFront) -> Watcher {
        let port = common::free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tusk"))
            .arg("--root")
            .arg(p.root())
            .args(["-vvv", "watch", "--metrics", &format!("127.0.0.1:{port}")])
            .envs(cf.env())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let w = Watcher {
            child,
            metrics: format!("http://127.0.0.1:{port}/metrics"),
            log,
            http: Http::new(),
        };
        wait_until(20, "the watcher's first rounds", || {
            w.metric("tusk_watch_health_checks_total").unwrap_or(0.0) >= 2.0
        });
        w
    }

    fn metric(&self, name: &str) -> Option<f64> {
        let http = &self.http;
        let text = http
            .runtime
            .block_on(async { http.client.get(&self.metrics).send().await?.text().await })
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    /// Wait for a metric to reach `value` (it is counted after the switch).
    fn wait_metric(&self, name: &str, value: f64) {
        wait_until(5, name, || self.metric(name) == Some(value));
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log();
        assert!(
            !log.contains(SECRET),
            "the secret leaked into the watcher's log"
        );
    }
}

#[test]
fn the_watcher_fails_over_within_fall_rounds_and_back_after_rise_and_the_hold() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let origin = origin_on(0);
    let port = origin.port();
    let hold = Duration::from_secs(2);
    let p = project(&cf, &origin.url, hold.as_secs());
    let applied = cf.updates();
    let w = Watcher::start(&p, &cf);
    assert_eq!(route(&cf), ("tusk-failover".into(), false));

    drop(origin);
    let took = wait_until(10, "the failover", || route(&cf).0 == "tusk-bucket");
    let switched = Instant::now();
    let bound = Duration::from_millis(INTERVAL_MS * FALL) + Duration::from_millis(1500);
    assert!(took <= bound, "failover took {took:?}, more than {bound:?}");
    assert_eq!(
        route(&cf),
        ("tusk-bucket".into(), false),
        "the watcher never pins"
    );
    assert_eq!(cf.updates(), applied + 1);

    let origin = origin_on(port);
    wait_until(10, "the failback", || route(&cf).0 == "tusk-failover");
    let back = switched.elapsed();
    assert!(
        back + Duration::from_millis(100) >= hold,
        "failed back after {back:?}, inside the {hold:?} hold"
    );
    let bound = hold + Duration::from_millis(INTERVAL_MS * RISE) + Duration::from_millis(1500);
    assert!(back <= bound, "failback took {back:?}, more than {bound:?}");
    eprintln!("origin killed -> CDN on the bucket: {took:?}; switch -> back on the group: {back:?} (hold {hold:?})");
    assert_eq!(cf.updates(), applied + 2);

    let records = audit_of(&p, 2);
    let tos: Vec<&str> = records.iter().map(|r| r["to"].as_str().unwrap()).collect();
    assert_eq!(tos, ["bucket", "origin-group"]);
    assert!(records[0]["actor"]
        .as_str()
        .unwrap()
        .starts_with("watcher ("));
    assert!(records[0]["reason"]
        .as_str()
        .unwrap()
        .contains("failed 3 checks"));
    w.wait_metric("tusk_watch_switches_total", 2.0);
    w.wait_metric("tusk_watch_origin_up", 1.0);
    w.wait_metric("tusk_watch_route_bucket", 0.0);
    assert!(w
        .log()
        .contains("switched distribution E2TUSKTEST0001 from origin-group to bucket"));

    // `tusk status` shows what the watcher saw and did.
    let status = p.run_env(&["status", "--json"], &cf.env()).result();
    assert_eq!(status["route"], "origin-group");
    assert_eq!(status["last_switch"]["to"], "origin-group");
    assert!(status["health"]["watcher"]["actor"]
        .as_str()
        .unwrap()
        .starts_with("watcher ("));
    drop(origin);
}

#[test]
fn a_restarted_watcher_carries_on_from_the_route_in_the_cdn() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let origin = origin_on(0);
    let port = origin.port();
    let p = project(&cf, &origin.url, 1);
    let w = Watcher::start(&p, &cf);
    drop(origin);
    wait_until(10, "the failover", || route(&cf).0 == "tusk-bucket");
    audit_of(&p, 1);
    drop(w);

    // The origin recovers while no watcher runs; a new one finds traffic on
    // the bucket, counts the origin as down and routes back after rise+hold.
    let _origin = origin_on(port);
    let started = Instant::now();
    let w = Watcher::start(&p, &cf);
    wait_until(10, "the failback", || route(&cf).0 == "tusk-failover");
    assert!(started.elapsed() >= Duration::from_millis(900));
    w.wait_metric("tusk_watch_switches_total", 1.0);
    assert_eq!(audit_of(&p, 2).len(), 2);
}

#[test]
fn an_origin_flapping_faster_than_the_hysteresis_does_not_flap_the_cdn() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let probes = AtomicUsize::new(0);
    // Every other probe fails: never `fall` failures nor `rise` successes in a row.
    let origin = Origin::start(vec![], move |path| {
        (path == "/healthz").then(|| {
            if probes.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                Route::new(503, "text/plain", "sick")
            } else {
                Route::html("ok")
            }
        })
    });
    let p = project(&cf, &origin.url, 0);
    let applied = cf.updates();
    let w = Watcher::start(&p, &cf);
    std::thread::sleep(Duration::from_secs(3));
    assert!(w.metric("tusk_watch_health_check_failures_total").unwrap() >= 8.0);
    w.wait_metric("tusk_watch_switches_total", 0.0);
    assert_eq!(cf.updates(), applied);
    assert_eq!(route(&cf), ("tusk-failover".into(), false));
}

#[test]
fn the_watcher_never_undoes_an_operators_pin() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let origin = origin_on(0);
    let p = project(&cf, &origin.url, 0);
    let w = Watcher::start(&p, &cf);
    let ops = |args: &[&str]| {
        let r = p.run_env(args, &cf.env());
        assert!(r.ok(), "{}", r.stderr());
    };

    // Pinned to the bucket while the origin is healthy: it stays there.
    ops(&["failover", "--reason", "bad deploy on the origin"]);
    wait_until(5, "the watcher to see the pin", || {
        w.metric("tusk_watch_route_pinned") == Some(1.0)
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(route(&cf), ("tusk-bucket".into(), true));

    // Unpinned while the origin is down: the watcher takes over again.
    drop(origin);
    ops(&["failback"]);
    wait_until(5, "the watcher's failover", || {
        route(&cf) == ("tusk-bucket".into(), false)
    });
    // The audit record follows the switch.
    wait_until(5, "the watcher's audit record", || {
        audit(&p).pop().unwrap()["actor"]
            .as_str()
            .unwrap()
            .starts_with("watcher (")
    });

    // Pinned to the origin group: a down origin does not move it.
    ops(&["failback", "--pin", "--reason", "health checks are wrong"]);
    assert_eq!(route(&cf), ("tusk-failover".into(), true));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(route(&cf), ("tusk-failover".into(), true));
    assert!(w.log().contains("pinned by an operator"), "{}", w.log());
}

#[test]
fn two_watchers_switch_exactly_once() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let origin = origin_on(0);
    let port = origin.port();
    let p = project(&cf, &origin.url, 0);
    let applied = cf.updates();
    let a = Watcher::start(&p, &cf);
    let b = Watcher::start(&p, &cf);

    drop(origin);
    wait_until(10, "the failover", || route(&cf).0 == "tusk-bucket");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(cf.updates(), applied + 1, "exactly one switch");
    let _origin = origin_on(port);
    wait_until(10, "the failback", || route(&cf).0 == "tusk-failover");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(cf.updates(), applied + 2, "exactly one switch back");
    assert_eq!(audit_of(&p, 2).len(), 2);
    wait_until(5, "both switches counted", || {
        let switches = |w: &Watcher| w.metric("tusk_watch_switches_total").unwrap();
        switches(&a) + switches(&b) == 2.0
    });
}

#[test]
fn a_switch_that_cannot_be_applied_is_reported_and_retried() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let origin = origin_on(0);
    let p = project(&cf, &origin.url, 0);
    let w = Watcher::start(&p, &cf);
    // More throttling than the SDK's five attempts absorb: the first
    // switch fails, the watcher says so and tries again next round.
    cf.throttle_next(6);
    drop(origin);
    wait_until(60, "the failover despite throttling", || {
        route(&cf).0 == "tusk-bucket"
    });
    assert!(cf.throttled() >= 6);
    w.wait_metric("tusk_watch_switch_failures_total", 1.0);
    w.wait_metric("tusk_watch_switches_total", 1.0);
    let log = w.log();
    assert!(
        log.contains("could not route distribution E2TUSKTEST0001 to bucket")
            && log.contains("Throttling"),
        "{log}"
    );
}

#[test]
fn an_empty_or_slow_health_answer_fails_over_but_5xx_on_other_paths_does_not() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    // Healthy on /healthz, broken everywhere else.
    let origin = Origin::start_on(
        0,
        vec![("/healthz", Route::html("ok"))],
        |_| Some(Route::new(503, "text/plain", "api down")),
        Duration::ZERO,
    );
    let port = origin.port();
    let p = project(&cf, &origin.url, 1);
    p.write(
        "config/tusk.toml",
        &p.read("config/tusk.toml")
            .replace("[health]\n", "[health]\nexpect_body = \"ok\"\n"),
    );
    let applied = cf.updates();
    let w = Watcher::start(&p, &cf);
    std::thread::sleep(Duration::from_millis(INTERVAL_MS * 10));
    assert_eq!(
        w.metric("tusk_watch_health_check_failures_total"),
        Some(0.0)
    );
    assert_eq!(cf.updates(), applied, "5xx on other paths: no switch");

    // 200 with an empty body is not healthy.
    origin.set("/healthz", Route::html(""));
    wait_until(10, "the failover on empty bodies", || {
        route(&cf).0 == "tusk-bucket"
    });
    assert!(w.log().contains("body lacks"), "{}", w.log());
    origin.set("/healthz", Route::html("ok"));
    wait_until(10, "the failback", || route(&cf).0 == "tusk-failover");

    // An origin that answers, but after the health timeout (300 ms).
    drop(origin);
    let _slow = Origin::start_on(
        port,
        vec![("/healthz", Route::html("ok"))],
        |_| None,
        Duration::from_millis(1000),
    );
    wait_until(10, "the failover on a slow origin", || {
        route(&cf).0 == "tusk-bucket"
    });
    assert_eq!(cf.updates(), applied + 3);
    let reasons: Vec<String> = audit_of(&p, 3)
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(reasons[2].contains("failed 3 checks"), "{reasons:?}");
}
