//! The CDN in front of the origin and the bucket: the one seam every CDN
//! provider sits behind, chosen by `cdn.provider` (a closed enum parsed
//! once by the config, [`Provider`]). Adding a provider means a variant
//! and an arm in each function below, which the compiler points out.
//!
//! Two layers of failover, because a configuration change takes a CDN
//! minutes to deploy while a dead origin must be routed around at once:
//! - per request, set up once by `tusk cdn apply`: an origin group tries
//!   the origin first and the bucket when it fails;
//! - health-driven, by `tusk watch` or an operator: the cache behaviours
//!   point straight at the bucket while the origin is down.
//!
//! Every switch is also written to an audit log in the bucket ([`audit`]).

pub(crate) mod audit;
mod cloudfront;

use anyhow::{bail, Result};
use serde_json::Value;

pub(crate) use crate::config::Provider;
use crate::config::{CdnConfig, Loaded};
pub(crate) use cloudfront::ops::PlanReport;
pub(crate) use cloudfront::watch::WatchOptions;
pub(crate) use cloudfront::Invalidated;

/// Whether the ops commands (`status`, `failover`, `failback`) talk to a
/// CDN rather than to the embedded edge.
pub(crate) fn manages_routes(cfg: &CdnConfig) -> bool {
    match cfg.provider {
        Provider::None => false,
        Provider::CloudFront => true,
    }
}

/// Invalidate the cached copies of changed and deleted pages after a
/// publish; `None` when no CDN is configured or nothing is stale.
/// `publish_id` makes a retried publish send the same request.
pub(crate) async fn invalidate(
    cfg: &CdnConfig,
    stale_keys: &[String],
    publish_id: &str,
) -> Result<Option<Invalidated>> {
    match cfg.provider {
        Provider::None => Ok(None),
        Provider::CloudFront => {
            let keys = stale_keys.iter().map(String::as_str);
            let paths = cloudfront::invalidation_paths(keys, cfg.wildcard_threshold);
            if paths.is_empty() {
                return Ok(None);
            }
            cloudfront::invalidate(cfg, paths, publish_id)
                .await
                .map(Some)
        }
    }
}

/// `tusk cdn plan` (and `apply`): the configured distribution as a change.
pub(crate) async fn plan(loaded: &Loaded, apply: bool) -> Result<PlanReport> {
    match loaded.config.cdn.provider {
        Provider::None => bail!(not_configured()),
        Provider::CloudFront => cloudfront::ops::plan(loaded, apply).await,
    }
}

/// `tusk status` on the CDN: route, deployment, health, last switch.
pub(crate) async fn status(loaded: &Loaded) -> Result<Value> {
    match loaded.config.cdn.provider {
        Provider::None => bail!(not_configured()),
        Provider::CloudFront => cloudfront::ops::status(loaded).await,
    }
}

/// `tusk failover` / `tusk failback` on the CDN.
pub(crate) async fn switch(
    loaded: &Loaded,
    failover: bool,
    pin: bool,
    reason: &str,
) -> Result<Value> {
    match loaded.config.cdn.provider {
        Provider::None => bail!(not_configured()),
        Provider::CloudFront => cloudfront::ops::switch(loaded, failover, pin, reason).await,
    }
}

/// `tusk watch`: health-check the origin and switch the CDN's route.
pub(crate) async fn watch(loaded: &Loaded, opts: &WatchOptions) -> Result<()> {
    match loaded.config.cdn.provider {
        Provider::None => bail!(not_configured()),
        Provider::CloudFront => cloudfront::watch::run(loaded, opts).await,
    }
}

/// What `tusk drill` reports of the CDN: the distribution (`item`), its
/// route, and every way it would not fall back to the bucket.
pub(crate) struct Inspection {
    pub item: String,
    pub route: String,
    pub problems: Vec<String>,
}

/// The drill's view of the CDN.
pub(crate) async fn inspect(loaded: &Loaded) -> Result<Inspection> {
    match loaded.config.cdn.provider {
        Provider::None => bail!(not_configured()),
        Provider::CloudFront => cloudfront::ops::inspect(loaded).await,
    }
}

/// `tusk cdn function`: the viewer-request function that answers URLs
/// with a query from the query keys of the tree (`keys`), and its runtime.
pub(crate) fn viewer_function(loaded: &Loaded, keys: &[String]) -> Result<(String, &'static str)> {
    match loaded.config.cdn.provider {
        Provider::None => bail!(not_configured()),
        Provider::CloudFront => {
            use cloudfront::function;
            let code = function::query_key_function(keys);
            if code.len() > function::MAX_BYTES {
                bail!(
                    "the viewer-request function for {} query keys is {} bytes, over CloudFront's {} byte limit: the edge's fallback answers them without one",
                    keys.len(),
                    code.len(),
                    function::MAX_BYTES
                );
            }
            Ok((code, function::RUNTIME))
        }
    }
}

fn not_configured() -> String {
    "cdn.provider is \"none\": set it to \"cloudfront\" (with cdn.distribution_id) to manage the CDN".to_string()
}
