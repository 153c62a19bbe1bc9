//! The commands behind `tusk cdn plan/apply`, and `tusk status`,
//! `tusk failover` and `tusk failback` when `cdn.provider` is CloudFront.

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};

use super::desired::{self, Change, Desired};
use super::distribution::Distribution;
use super::route::{self, Request, Target};
use crate::cdn::audit;
use crate::config::Loaded;
use crate::store::built::Built;

#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub distribution: String,
    pub changes: Vec<Change>,
    pub notes: Vec<String>,
    /// Written to CloudFront (apply with changes).
    pub applied: bool,
}

/// Compare the live config with `[cdn]`; with `apply`, write the result
/// (re-planned on every conflicting write).
pub async fn plan(loaded: &Loaded, apply: bool) -> Result<PlanReport> {
    let built = built_keys(loaded).await?;
    let d = Desired::from_config(loaded)?.with_routes(loaded, &built);
    let dist = Distribution::open(&loaded.config.cdn).await?;
    let (applied, plan) = dist
        .update(|live| {
            let plan = desired::plan(live, &d)?;
            let write = (apply && !plan.changes.is_empty()).then(|| plan.config.clone());
            Ok((write, plan))
        })
        .await?;
    Ok(PlanReport {
        distribution: dist.id,
        changes: plan.changes,
        notes: plan.notes,
        applied,
    })
}

/// The keys the last publish gave the build (none before one).
async fn built_keys(loaded: &Loaded) -> Result<Built> {
    let state = crate::store::open_state(loaded, &loaded.config.publish.target).await?;
    if !state.exists().await? {
        return Ok(Built::default());
    }
    Built::load(state.as_ref()).await
}

/// Route, pin, deployment, health (probed now, and the watcher's last
/// round) and the last switch.
pub async fn status(loaded: &Loaded) -> Result<Value> {
    let config = &loaded.config;
    let d = Desired::from_config(loaded)?;
    let dist = Distribution::open(&config.cdn).await?;
    let live = dist.read().await?;
    let route = route::of(&live.config, &d)?;
    let deployment = dist.deployment().await?;
    let checker = crate::health::Checker::new(&config.health, &config.snapshot.origin)?;
    let now = checker.round().await;
    let (last_switch, watcher) = match audit::Log::open(loaded).await {
        Ok(log) => (
            log.last().await.unwrap_or_else(|e| {
                tracing::warn!("status: cannot read the audit log: {e:#}");
                None
            }),
            log.watcher().await.unwrap_or(None),
        ),
        Err(e) => {
            tracing::warn!("status: no audit log: {e:#}");
            (None, None)
        }
    };
    Ok(json!({
        "provider": "cloudfront",
        "distribution": dist.id,
        "route": route.target,
        "pinned": route.pinned,
        "behaviors": route.behaviors,
        "origin": config.snapshot.origin,
        "fallback": format!("{}{}", d.bucket_domain, d.bucket_path),
        "deployment": deployment,
        "etag": live.etag,
        "health": { "now": now, "watcher": watcher },
        "last_switch": last_switch,
    }))
}

/// `tusk failover` (pin to the bucket) and `tusk failback` (the origin
/// group, unpinned; `pin` keeps the watcher from failing over).
pub async fn switch(loaded: &Loaded, failover: bool, pin: bool, reason: &str) -> Result<Value> {
    let d = Desired::from_config(loaded)?;
    let dist = Distribution::open(&loaded.config.cdn).await?;
    let log = audit::Log::open(loaded).await.ok();
    let actor = audit::operator();
    let req = Request {
        to: if failover {
            Target::Bucket
        } else {
            Target::OriginGroup
        },
        pin: failover || pin,
        respect_pin: false,
        reason,
        actor: &actor,
    };
    let outcome = route::switch(&dist, &d, &req, log.as_ref()).await?;
    Ok(json!({
        "changed": outcome.changed,
        "before": route::describe(&outcome.before),
        "record": outcome.record,
        "status": status(loaded).await?,
    }))
}

/// The distribution as the drill sees it: where it drifted from `[cdn]`
/// and whether the routed behaviours still fall back to the bucket.
pub async fn inspect(loaded: &Loaded) -> Result<crate::cdn::Inspection> {
    let built = built_keys(loaded).await?;
    let d = Desired::from_config(loaded)?.with_routes(loaded, &built);
    let live = Distribution::open(&loaded.config.cdn).await?.read().await?;
    let mut problems = Vec::new();
    match desired::plan(&live.config, &d) {
        Ok(plan) => problems.extend(plan.changes.iter().map(|c| {
            format!(
                "{} is {}, should be {} (run `tusk cdn apply`)",
                c.what,
                c.from.as_deref().unwrap_or("missing"),
                c.to
            )
        })),
        Err(e) => problems.push(format!("{e:#}")),
    }
    let route = match route::of(&live.config, &d) {
        Ok(r) => {
            if !matches!(r.target, Target::OriginGroup | Target::Bucket) {
                problems.push(format!(
                    "the routed behaviours go to the {} alone: no fallback to the bucket (run `tusk failback`)",
                    r.target.as_str()
                ));
            }
            route::describe(&r)
        }
        Err(e) => {
            problems.push(format!("{e:#}"));
            "unknown".into()
        }
    };
    Ok(crate::cdn::Inspection {
        item: format!("distribution {}", loaded.config.cdn.distribution_id),
        route,
        problems,
    })
}
