//! Where the routed cache behaviours send traffic, read from and written
//! to the distribution config, so any number of watchers and operators
//! share one truth.
//!
//! The route is the behaviours' target: the origin group (normal), the
//! bucket (failed over) or the origin alone. An operator's pin is a custom
//! header on the bucket origin, [`PIN_HEADER`], naming the pinned route:
//! it changes in the same conditional update as the route, and the bucket
//! ignores it.

use anyhow::{bail, Result};
use aws_sdk_cloudfront::types::{CustomHeaders, DistributionConfig, OriginCustomHeader, Origins};
use serde::{Deserialize, Serialize};

use super::desired::{behavior, copy_origin, rebuild, Desired};
use super::distribution::Distribution;

pub const PIN_HEADER: &str = "X-Tusk-Pinned";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The origin, and the bucket per request when it fails.
    OriginGroup,
    /// The bucket only: the origin is not asked.
    Bucket,
    /// The origin only (set by hand outside tusk).
    Origin,
    /// Not set up by `tusk cdn apply`, or behaviours that disagree.
    Unmanaged,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::OriginGroup => "origin-group",
            Target::Bucket => "bucket",
            Target::Origin => "origin",
            Target::Unmanaged => "unmanaged",
        }
    }

    fn parse(s: &str) -> Option<Target> {
        [Target::OriginGroup, Target::Bucket, Target::Origin]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// The route as the distribution says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub target: Target,
    /// Pinned by an operator: the watcher leaves it alone.
    pub pinned: bool,
    /// Each routed behaviour's target origin id.
    pub behaviors: Vec<(String, String)>,
}

/// Read the route from a distribution config.
pub fn of(config: &DistributionConfig, d: &Desired) -> Result<Route> {
    let mut behaviors = Vec::new();
    for pattern in &d.behaviors {
        let (target, _) = behavior(config, pattern)?;
        behaviors.push((pattern.clone(), target.to_string()));
    }
    let target_of = |id: &str| {
        if id == d.group_id {
            Target::OriginGroup
        } else if id == d.bucket_id {
            Target::Bucket
        } else if id == d.origin_id {
            Target::Origin
        } else {
            Target::Unmanaged
        }
    };
    let first = target_of(&behaviors[0].1);
    let target = if behaviors.iter().all(|(_, id)| target_of(id) == first) {
        first
    } else {
        Target::Unmanaged
    };
    Ok(Route {
        target,
        pinned: pin_of(config, d).is_some(),
        behaviors,
    })
}

/// The pinned route, if an operator pinned one.
fn pin_of(config: &DistributionConfig, d: &Desired) -> Option<Target> {
    bucket(config, d)?
        .custom_headers()?
        .items()
        .iter()
        .find(|h| h.header_name().eq_ignore_ascii_case(PIN_HEADER))
        .and_then(|h| Target::parse(h.header_value()))
}

fn bucket<'a>(
    config: &'a DistributionConfig,
    d: &Desired,
) -> Option<&'a aws_sdk_cloudfront::types::Origin> {
    config
        .origins()?
        .items()
        .iter()
        .find(|o| o.id() == d.bucket_id)
}

/// `config` with the routed behaviours pointing at `target`, pinned or not.
pub fn set(
    config: &DistributionConfig,
    d: &Desired,
    target: Target,
    pinned: bool,
) -> Result<DistributionConfig> {
    let id = match target {
        Target::OriginGroup => &d.group_id,
        Target::Bucket => &d.bucket_id,
        Target::Origin => &d.origin_id,
        Target::Unmanaged => bail!("cannot route to an unmanaged target"),
    };
    let has_group = config
        .origin_groups()
        .is_some_and(|g| g.items().iter().any(|g| g.id() == d.group_id));
    let Some(bucket) = bucket(config, d) else {
        bail!(
            "distribution {} has no origin {:?}: run `tusk cdn apply` first",
            d.distribution_id,
            d.bucket_id
        );
    };
    if !has_group {
        bail!(
            "distribution {} has no origin group {:?}: run `tusk cdn apply` first",
            d.distribution_id,
            d.group_id
        );
    }
    let mut headers: Vec<OriginCustomHeader> = bucket
        .custom_headers()
        .map(|h| h.items().to_vec())
        .unwrap_or_default();
    headers.retain(|h| !h.header_name().eq_ignore_ascii_case(PIN_HEADER));
    if pinned {
        headers.push(
            OriginCustomHeader::builder()
                .header_name(PIN_HEADER)
                .header_value(target.as_str())
                .build()?,
        );
    }
    let bucket = copy_origin(Some(bucket), bucket.id(), bucket.domain_name())
        .custom_headers(
            CustomHeaders::builder()
                .quantity(headers.len() as i32)
                .set_items((!headers.is_empty()).then_some(headers))
                .build()?,
        )
        .build()?;
    let origins: Vec<_> = config
        .origins()
        .map(|o| o.items())
        .unwrap_or_default()
        .iter()
        .map(|o| {
            if o.id() == d.bucket_id {
                bucket.clone()
            } else {
                o.clone()
            }
        })
        .collect();
    let origins = Origins::builder()
        .quantity(origins.len() as i32)
        .set_items(Some(origins))
        .build()?;
    let targets: Vec<(String, String)> = d
        .behaviors
        .iter()
        .map(|p| (p.clone(), id.clone()))
        .collect();
    rebuild(config, Some(origins), None, None, &targets)
}

/// Who switches and why.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub to: Target,
    pub pin: bool,
    /// The watcher leaves an operator's pin alone; operators override it.
    pub respect_pin: bool,
    pub reason: &'a str,
    pub actor: &'a str,
}

/// What a switch found and did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub changed: bool,
    pub before: Route,
    /// Not changed because an operator pinned the route.
    pub held_by_pin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<crate::cdn::audit::Switch>,
}

/// Switch the route with a conditional update (re-read on a conflict, so
/// of two watchers one switches and the other finds it done), then record
/// it in the log and the audit log.
pub async fn switch(
    dist: &Distribution,
    d: &Desired,
    req: &Request<'_>,
    audit: Option<&crate::cdn::audit::Log>,
) -> Result<Outcome> {
    let (changed, (before, held_by_pin)) = dist
        .update(|config| {
            let route = of(config, d)?;
            let held = req.respect_pin && route.pinned;
            if held || (route.target == req.to && route.pinned == req.pin) {
                return Ok((None, (route, held)));
            }
            Ok((Some(set(config, d, req.to, req.pin)?), (route, false)))
        })
        .await?;
    let mut outcome = Outcome {
        changed,
        before,
        held_by_pin,
        record: None,
    };
    if changed {
        let record = crate::cdn::audit::Switch {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            distribution: d.distribution_id.clone(),
            from: describe(&outcome.before),
            to: describe(&Route {
                target: req.to,
                pinned: req.pin,
                behaviors: Vec::new(),
            }),
            reason: req.reason.to_string(),
            actor: req.actor.to_string(),
        };
        let line = format!(
            "cdn: switched distribution {} from {} to {}: {} ({})",
            d.distribution_id, record.from, record.to, record.reason, record.actor
        );
        // Back to the origin is recovery: INFO; to the bucket: WARN.
        if req.to == Target::Bucket {
            tracing::warn!(from = %record.from, to = %record.to, reason = %record.reason, actor = %record.actor, "{line}");
        } else {
            tracing::info!(from = %record.from, to = %record.to, reason = %record.reason, actor = %record.actor, "{line}");
        }
        if let Some(log) = audit {
            if let Err(e) = log.record(&record).await {
                tracing::error!("cdn: the switch was made but not written to the audit log: {e:#}");
            }
        }
        outcome.record = Some(record);
    }
    Ok(outcome)
}

/// `bucket (pinned)`, `origin-group`, ...
pub fn describe(route: &Route) -> String {
    if route.pinned {
        format!("{} (pinned)", route.target.as_str())
    } else {
        route.target.as_str().to_string()
    }
}
