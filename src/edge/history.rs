//! The last hour of the edge, for its status page: health rounds, route
//! switches and per-minute request counts (all of them, and those sent to
//! the origin). Bounded: old entries fall off as new ones come.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

use super::Switch;

/// How far back the page looks.
pub const WINDOW_SECS: i64 = 3600;
/// At most this many health rounds are kept (one a second over the hour).
const MAX_ROUNDS: usize = 3600;
/// Switches listed on the page.
const MAX_SWITCHES: usize = 50;

/// One health round.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Unix seconds.
    pub at: i64,
    pub ok: bool,
    pub latency_ms: u64,
}

/// The requests of one minute.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Minute {
    /// Unix seconds at the start of the minute.
    pub start: i64,
    pub requests: u64,
    /// Those the origin had to answer (the rest the cache or bucket kept).
    pub origin: u64,
}

#[derive(Debug, Default)]
struct Inner {
    checks: VecDeque<Check>,
    switches: VecDeque<Switch>,
    minutes: VecDeque<Minute>,
}

/// What the page shows, copied out under the lock.
#[derive(Debug, Clone, Serialize)]
pub struct Seen {
    pub checks: Vec<Check>,
    /// Newest first.
    pub switches: Vec<Switch>,
    pub minutes: Vec<Minute>,
}

#[derive(Debug, Default)]
pub struct History {
    inner: Mutex<Inner>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl History {
    pub fn check(&self, ok: bool, latency_ms: u64) {
        let at = now();
        let mut inner = self.inner.lock().unwrap();
        // With checks more often than once a second, one per second is kept.
        if inner
            .checks
            .back()
            .is_some_and(|c| c.at == at && c.ok == ok)
        {
            return;
        }
        inner.checks.push_back(Check { at, ok, latency_ms });
        while inner.checks.len() > MAX_ROUNDS
            || inner
                .checks
                .front()
                .is_some_and(|c| c.at < at - WINDOW_SECS)
        {
            inner.checks.pop_front();
        }
    }

    pub fn switch(&self, switch: &Switch) {
        let mut inner = self.inner.lock().unwrap();
        inner.switches.push_front(switch.clone());
        inner.switches.truncate(MAX_SWITCHES);
    }

    /// Count one client request (drill requests are not counted).
    pub fn request(&self, to_origin: bool) {
        let start = now() / 60 * 60;
        let mut inner = self.inner.lock().unwrap();
        if inner.minutes.back().is_none_or(|m| m.start != start) {
            inner.minutes.push_back(Minute {
                start,
                ..Minute::default()
            });
        }
        let minute = inner.minutes.back_mut().expect("pushed above");
        minute.requests += 1;
        minute.origin += to_origin as u64;
        while inner
            .minutes
            .front()
            .is_some_and(|m| m.start <= start - WINDOW_SECS)
        {
            inner.minutes.pop_front();
        }
    }

    pub fn seen(&self) -> Seen {
        let inner = self.inner.lock().unwrap();
        let since = now() - WINDOW_SECS;
        Seen {
            checks: inner
                .checks
                .iter()
                .filter(|c| c.at >= since)
                .cloned()
                .collect(),
            switches: inner.switches.iter().cloned().collect(),
            minutes: inner
                .minutes
                .iter()
                .filter(|m| m.start > since - 60)
                .copied()
                .collect(),
        }
    }
}
