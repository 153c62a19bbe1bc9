//! The build's paths routed to the bucket origin: ordered cache
//! behaviours, one per folder wholly the build's (`/blog/*`) and one per
//! built key outside those (`/about/`, `/css/site.css`), each a copy of
//! the default behaviour aimed at `cdn.bucket_id`. The default behaviour
//! stays on the origin group, so everything else is the origin's with
//! the bucket as its failover.
//!
//! CloudFront's path patterns (API reference, `CacheBehavior`): compared
//! with the request path in list order, case-sensitive, `*` any run of
//! characters and `?` exactly one, the default behaviour (`*`) last and
//! the only one for `/`. Its default quota is 25 behaviours per
//! distribution, so at most `cdn.max_bucket_behaviors` are made; the
//! rest of the built paths stay on the origin group, and the plan says so.

use anyhow::{Context, Result};
use aws_sdk_cloudfront::types::{CacheBehavior, DefaultCacheBehavior, DistributionConfig};

use super::desired::{Change, Desired};
use crate::store::built::Built;

/// The longest path pattern CloudFront takes.
const MAX_PATTERN: usize = 255;

/// CloudFront's default quota of cache behaviours per distribution.
const QUOTA: usize = 25;

/// Which built paths get a behaviour of their own.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    /// Path patterns for the bucket origin, folders first.
    pub patterns: Vec<String>,
    /// Built URL paths left on the origin group (the root, names a
    /// pattern cannot say, those over the cap).
    pub left: Vec<String>,
    /// `cdn.max_bucket_behaviors`.
    pub cap: usize,
}

impl Routes {
    /// The patterns for `built`, whose keys are under `prefix` in the
    /// bucket (`publish.build_prefix`: the bucket origin's path ends there).
    pub fn new(built: &Built, prefix: &str, cap: usize) -> Routes {
        let prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let mut out = Routes {
            cap,
            ..Routes::default()
        };
        let folders = built.folders.iter().map(|f| (f, true));
        for (key, folder) in folders.chain(built.keys.iter().map(|k| (k, false))) {
            let Some(key) = key.strip_prefix(prefix.as_str()) else {
                continue;
            };
            let path = url_path(key);
            let pattern = match folder {
                true => format!("{path}*"),
                false => path.clone(),
            };
            if path == "/" || !sayable(&path) || out.patterns.len() >= cap {
                out.left.push(pattern);
            } else {
                out.patterns.push(pattern);
            }
        }
        out
    }

    /// What the plan says of the built paths left on the origin group.
    pub fn notes(&self) -> Vec<String> {
        if self.left.is_empty() {
            return Vec::new();
        }
        const SHOWN: usize = 10;
        let mut shown = self.left[..self.left.len().min(SHOWN)].join(", ");
        if self.left.len() > SHOWN {
            shown.push_str(&format!(" and {} more", self.left.len() - SHOWN));
        }
        vec![format!(
            "{} built path(s) stay on the origin group (the root is the default behaviour's; names a path pattern cannot say; over cdn.max_bucket_behaviors = {}): {shown}",
            self.left.len(),
            self.cap,
        )]
    }
}

/// The URL path a key is asked for: `about/index.html` -> `/about/`.
fn url_path(key: &str) -> String {
    match key.strip_suffix("index.html") {
        Some(folder) if folder.is_empty() || folder.ends_with('/') => format!("/{folder}"),
        _ => format!("/{key}"),
    }
}

/// Whether a path pattern can name `path` exactly: only the characters
/// CloudFront documents for patterns, and no wildcard of its own.
fn sayable(path: &str) -> bool {
    path.len() < MAX_PATTERN
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./~$@:+'".contains(&b))
}

/// The live behaviours with tusk's bucket routes as `d` asks, and how
/// they differ. A behaviour is tusk's when it targets the bucket, is not
/// one of `cdn.behaviors` (a failover) and either has a wanted pattern or
/// is a copy of the default behaviour (an earlier route, no longer
/// wanted). A behaviour of the team's own with a wanted pattern wins: its
/// paths stay where it sends them.
pub fn behaviors(
    live: &DistributionConfig,
    d: &Desired,
    notes: &mut Vec<String>,
) -> Result<(Vec<CacheBehavior>, Vec<Change>)> {
    let items = live
        .cache_behaviors()
        .map(|c| c.items())
        .unwrap_or_default();
    if d.routes.patterns.is_empty() && !items.iter().any(|b| b.target_origin_id() == d.bucket_id) {
        return Ok((items.to_vec(), Vec::new()));
    }
    let default = live
        .default_cache_behavior()
        .context("the distribution has no default cache behaviour")?;
    let (theirs, ours): (Vec<&CacheBehavior>, Vec<&CacheBehavior>) =
        items.iter().partition(|b| !is_tusks(b, d, default));
    let mut out: Vec<CacheBehavior> = theirs.iter().map(|b| (*b).clone()).collect();
    let mut changes = Vec::new();
    let mut routed = Vec::new();
    for pattern in &d.routes.patterns {
        if let Some(why) = unroutable(pattern, &theirs, out.len()) {
            notes.push(why);
            continue;
        }
        let want = route(default, pattern, &d.bucket_id)?;
        let had = ours.iter().find(|b| b.path_pattern() == pattern).copied();
        changes.extend(change(pattern, had, &want, &d.bucket_id));
        out.push(want);
        routed.push(pattern.as_str());
    }
    let gone = ours.iter().filter(|b| !routed.contains(&b.path_pattern()));
    changes.extend(gone.map(|b| Change {
        what: format!("cache behaviour {:?}", b.path_pattern()),
        from: Some(b.target_origin_id().to_string()),
        to: "removed (no longer built)".into(),
    }));
    Ok((out, changes))
}

/// Whether `b` is a route tusk made (see [`behaviors`]).
fn is_tusks(b: &CacheBehavior, d: &Desired, default: &DefaultCacheBehavior) -> bool {
    let pattern = b.path_pattern();
    b.target_origin_id() == d.bucket_id
        && !d.behaviors.iter().any(|p| p == pattern)
        && (d.routes.patterns.iter().any(|p| p == pattern)
            || copy_of_default(b, default).is_ok_and(|copy| copy == *b))
}

/// Why `pattern` gets no route (the plan's note), if it does not: the
/// team has a behaviour of its own for it, or the distribution already
/// has `count` = CloudFront's quota.
fn unroutable(pattern: &str, theirs: &[&CacheBehavior], count: usize) -> Option<String> {
    if theirs.iter().any(|b| b.path_pattern() == pattern) {
        return Some(format!(
            "built path {pattern:?} has a cache behaviour of its own, not tusk's: left as it is"
        ));
    }
    (count >= QUOTA).then(|| {
        format!(
            "built path {pattern:?} stays on the origin group: the distribution has {QUOTA} cache behaviours, CloudFront's default quota"
        )
    })
}

/// The change from the route tusk `had` for `pattern` to `want`, if any.
fn change(
    pattern: &str,
    had: Option<&CacheBehavior>,
    want: &CacheBehavior,
    bucket_id: &str,
) -> Option<Change> {
    let what = format!("cache behaviour {pattern:?}");
    match had {
        None => Some(Change {
            what,
            from: None,
            to: format!("{bucket_id} (built by tusk)"),
        }),
        Some(had) if had != want => Some(Change {
            what,
            from: Some(format!("{} (edited)", had.target_origin_id())),
            to: format!("{bucket_id}, as the default behaviour"),
        }),
        Some(_) => None,
    }
}

/// The default behaviour's settings under `b`'s pattern and target.
fn copy_of_default(b: &CacheBehavior, default: &DefaultCacheBehavior) -> Result<CacheBehavior> {
    route(default, b.path_pattern(), b.target_origin_id())
}

/// A behaviour for `pattern` on `target` with the default's settings.
// The legacy cache settings (ForwardedValues, TTLs) are copied like the
// rest: a route behaves as the default behaviour does.
#[allow(deprecated)]
fn route(b: &DefaultCacheBehavior, pattern: &str, target: &str) -> Result<CacheBehavior> {
    Ok(super::desired::copy_settings!(CacheBehavior::builder(), b)
        .path_pattern(pattern)
        .target_origin_id(target)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(folders: &[&str], keys: &[&str]) -> Built {
        Built {
            folders: folders.iter().map(|s| s.to_string()).collect(),
            keys: keys.iter().map(|s| s.to_string()).collect(),
            ..Built::default()
        }
    }

    #[test]
    fn folders_become_wildcards_keys_exact_and_the_root_stays_default() {
        let b = built(
            &["blog/"],
            &["index.html", "about/index.html", "css/site.css", "a b.html"],
        );
        let r = Routes::new(&b, "", 20);
        assert_eq!(r.patterns, ["/blog/*", "/about/", "/css/site.css"]);
        assert_eq!(r.left, ["/a b.html", "/"]);
    }

    #[test]
    fn over_the_cap_paths_stay_on_the_origin_group() {
        let b = built(&["a/", "b/"], &["c.html"]);
        let r = Routes::new(&b, "", 2);
        assert_eq!(r.patterns, ["/a/*", "/b/*"]);
        assert_eq!(r.left, ["/c.html"]);
        assert!(r.notes()[0].contains("/c.html"));
    }

    #[test]
    fn keys_under_the_build_prefix_lose_it() {
        let b = built(&["live/blog/"], &["live/x.html", "snap/y.html"]);
        let r = Routes::new(&b, "/live/", 20);
        assert_eq!(r.patterns, ["/blog/*", "/x.html"]);
    }
}
