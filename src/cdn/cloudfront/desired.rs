//! `tusk cdn plan/apply`: the distribution config `[cdn]` asks for, as a
//! change to the live one.
//!
//! tusk owns a few things in the distribution and nothing else: the origin
//! `cdn.origin_id` (domain, ports, protocol, connection attempts and
//! timeout), the bucket origin `cdn.bucket_id` (domain, path, S3 access),
//! the origin group `cdn.group_id`, and the target of the cache behaviours
//! named in `cdn.behaviors`, and the behaviours that route the build's
//! paths to the bucket ([`super::bucket_routes`]). Every other field is
//! copied through as read.

use anyhow::{bail, Context, Result};
use aws_sdk_cloudfront::types::{
    CacheBehavior, CacheBehaviors, CustomOriginConfig, DefaultCacheBehavior, DistributionConfig,
    Method, Origin, OriginGroup, OriginGroupFailoverCriteria, OriginGroupMember,
    OriginGroupMembers, OriginGroups, OriginProtocolPolicy, OriginSslProtocols, Origins,
    S3OriginConfig, SslProtocol, StatusCodes,
};
use serde::Serialize;

use super::bucket_routes::{self, Routes};
use crate::config::{Loaded, OriginProtocol};
use crate::store::built::Built;

/// What `[cdn]` (with `snapshot.origin` and `publish.target`) asks for.
#[derive(Debug, Clone)]
pub struct Desired {
    pub distribution_id: String,
    pub origin_id: String,
    pub origin_domain: String,
    pub origin_protocol: OriginProtocolPolicy,
    pub http_port: i32,
    pub https_port: i32,
    pub connection_attempts: i32,
    pub connection_timeout: i32,
    pub bucket_id: String,
    pub bucket_domain: String,
    pub bucket_path: String,
    /// An S3 website endpoint: a custom HTTP origin, not an S3 origin.
    pub bucket_website: bool,
    pub bucket_access_control_id: String,
    pub group_id: String,
    pub status_codes: Vec<i32>,
    pub behaviors: Vec<String>,
    /// The build's paths for the bucket origin (from the last publish's
    /// list; none until [`Desired::with_routes`]).
    pub routes: Routes,
}

impl Desired {
    /// With the bucket routes of `built` (see [`super::bucket_routes`]).
    pub fn with_routes(mut self, loaded: &Loaded, built: &Built) -> Desired {
        let publish = &loaded.config.publish;
        let cap = loaded.config.cdn.max_bucket_behaviors;
        self.routes = Routes::new(built, &publish.build_prefix, cap);
        self
    }

    pub fn from_config(loaded: &Loaded) -> Result<Desired> {
        let config = &loaded.config;
        let cdn = &config.cdn;
        if cdn.distribution_id.is_empty() {
            bail!("cdn.distribution_id is empty: set it to the CloudFront distribution's id");
        }
        let (mut http_port, mut https_port) = (80, 443);
        let origin_domain = if cdn.origin_domain.is_empty() {
            let origin = &config.snapshot.origin;
            let url = url::Url::parse(origin)
                .with_context(|| format!("snapshot.origin {origin:?} is not a URL"))?;
            if let Some(port) = url.port() {
                match url.scheme() {
                    "http" => http_port = i32::from(port),
                    _ => https_port = i32::from(port),
                }
            }
            url.host_str()
                .with_context(|| format!("snapshot.origin {origin:?} has no host"))?
                .to_string()
        } else {
            cdn.origin_domain.clone()
        };
        let target = &config.publish.target;
        let s3 = target.strip_prefix("s3://");
        let bucket_domain = match (cdn.bucket_domain.as_str(), s3) {
            ("", Some(location)) => {
                let bucket = location.split('/').next().unwrap_or_default();
                let region = config.publish.s3.region.as_deref().unwrap_or("us-east-1");
                format!("{bucket}.s3.{region}.amazonaws.com")
            }
            ("", None) => bail!(
                "cdn.bucket_domain is empty and publish.target {target:?} is not an s3:// bucket: set cdn.bucket_domain"
            ),
            (domain, _) => domain.to_string(),
        };
        let bucket_path = if cdn.bucket_path.is_empty() {
            let prefix = s3
                .and_then(|l| l.split_once('/'))
                .map(|(_, p)| p)
                .unwrap_or("");
            let parts: Vec<&str> = [prefix, config.publish.build_prefix.as_str()]
                .iter()
                .map(|p| p.trim_matches('/'))
                .filter(|p| !p.is_empty())
                .collect();
            if parts.is_empty() {
                String::new()
            } else {
                format!("/{}", parts.join("/"))
            }
        } else {
            format!("/{}", cdn.bucket_path.trim_matches('/'))
        };
        Ok(Desired {
            distribution_id: cdn.distribution_id.clone(),
            origin_id: cdn.origin_id.clone(),
            origin_domain,
            origin_protocol: match cdn.origin_protocol {
                OriginProtocol::HttpsOnly => OriginProtocolPolicy::HttpsOnly,
                OriginProtocol::HttpOnly => OriginProtocolPolicy::HttpOnly,
                OriginProtocol::MatchViewer => OriginProtocolPolicy::MatchViewer,
            },
            http_port,
            https_port,
            connection_attempts: cdn.connection_attempts,
            connection_timeout: cdn.connection_timeout_secs,
            bucket_website: bucket_domain.contains(".s3-website"),
            bucket_id: cdn.bucket_id.clone(),
            bucket_domain,
            bucket_path,
            bucket_access_control_id: cdn.bucket_access_control_id.clone(),
            group_id: cdn.group_id.clone(),
            status_codes: cdn.failover_status_codes.clone(),
            behaviors: cdn.behaviors.clone(),
            routes: Routes::default(),
        })
    }
}

/// One difference between the live config and the desired one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub what: String,
    /// `None`: it does not exist yet.
    pub from: Option<String>,
    pub to: String,
}

/// The desired config and how it differs from the live one.
#[derive(Debug, Clone)]
pub struct Plan {
    pub config: DistributionConfig,
    pub changes: Vec<Change>,
    /// Things the plan deliberately leaves as they are.
    pub notes: Vec<String>,
}

/// The live config with tusk's parts as `d` asks. A behaviour pointing at
/// the bucket (a failover by the watcher or an operator) keeps pointing
/// there: undoing a failover is `tusk failback`'s job, not apply's.
pub fn plan(live: &DistributionConfig, d: &Desired) -> Result<Plan> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();

    let live_origins = live.origins().map(|o| o.items()).unwrap_or_default();
    let find = |id: &str| live_origins.iter().find(|o| o.id() == id);
    let origin = dynamic_origin(find(&d.origin_id), d)?;
    let bucket = bucket_origin(find(&d.bucket_id), d)?;
    for (old, new) in [(find(&d.origin_id), &origin), (find(&d.bucket_id), &bucket)] {
        if old != Some(new) {
            changes.push(Change {
                what: format!("origin {}", new.id()),
                from: old.map(describe_origin),
                to: describe_origin(new),
            });
        }
    }
    let mut origins: Vec<Origin> = live_origins
        .iter()
        .map(|o| match o.id() {
            id if id == d.origin_id => origin.clone(),
            id if id == d.bucket_id => bucket.clone(),
            _ => o.clone(),
        })
        .collect();
    for new in [&origin, &bucket] {
        if !origins.iter().any(|o| o.id() == new.id()) {
            origins.push(new.clone());
        }
    }

    let live_groups = live.origin_groups().map(|g| g.items()).unwrap_or_default();
    let old_group = live_groups.iter().find(|g| g.id() == d.group_id);
    let group = origin_group(old_group, d)?;
    if old_group != Some(&group) {
        changes.push(Change {
            what: format!("origin group {}", d.group_id),
            from: old_group.map(describe_group),
            to: describe_group(&group),
        });
    }
    let mut groups: Vec<OriginGroup> = live_groups
        .iter()
        .filter(|g| g.id() != d.group_id)
        .cloned()
        .collect();
    groups.push(group);

    let mut targets = Vec::new();
    for pattern in &d.behaviors {
        let (current, methods) = behavior(live, pattern)?;
        let bad: Vec<&str> = methods
            .iter()
            .filter(|m| !matches!(m, Method::Get | Method::Head | Method::Options))
            .map(|m| m.as_str())
            .collect();
        if !bad.is_empty() {
            bail!(
                "cache behaviour {pattern:?} allows {}: CloudFront origin groups serve only GET, HEAD and OPTIONS; remove it from cdn.behaviors",
                bad.join(", ")
            );
        }
        let target = if current == d.bucket_id {
            notes.push(format!(
                "cache behaviour {pattern:?} points at the bucket (a failover): left there; `tusk failback` routes it back"
            ));
            d.bucket_id.clone()
        } else {
            d.group_id.clone()
        };
        if current != target {
            changes.push(Change {
                what: format!("cache behaviour {pattern:?} target"),
                from: Some(current.to_string()),
                to: target.clone(),
            });
        }
        targets.push((pattern.clone(), target));
    }
    let (behaviors, routed) = bucket_routes::behaviors(live, d, &mut notes)?;
    changes.extend(routed);
    notes.extend(d.routes.notes());

    let config = rebuild(
        live,
        Some(
            Origins::builder()
                .quantity(origins.len() as i32)
                .set_items(Some(origins))
                .build()?,
        ),
        Some(
            OriginGroups::builder()
                .quantity(groups.len() as i32)
                .set_items(Some(groups))
                .build()?,
        ),
        Some(behaviors),
        &targets,
    )?;
    Ok(Plan {
        config,
        changes,
        notes,
    })
}

/// The target and allowed methods of a routed behaviour (`*`: the default).
pub fn behavior<'a>(
    live: &'a DistributionConfig,
    pattern: &str,
) -> Result<(&'a str, &'a [Method])> {
    let methods = |m: Option<&'a aws_sdk_cloudfront::types::AllowedMethods>| {
        m.map(|m| m.items()).unwrap_or(&[])
    };
    if pattern == "*" {
        let b = live
            .default_cache_behavior()
            .context("the distribution has no default cache behaviour")?;
        return Ok((b.target_origin_id(), methods(b.allowed_methods())));
    }
    live.cache_behaviors()
        .map(|c| c.items())
        .unwrap_or_default()
        .iter()
        .find(|b| b.path_pattern() == pattern)
        .map(|b| (b.target_origin_id(), methods(b.allowed_methods())))
        .with_context(|| {
            format!("cdn.behaviors names {pattern:?} but the distribution has no cache behaviour with that path pattern")
        })
}

fn dynamic_origin(existing: Option<&Origin>, d: &Desired) -> Result<Origin> {
    let custom = custom_config(
        existing.and_then(|o| o.custom_origin_config()),
        d.origin_protocol.clone(),
        d.http_port,
        d.https_port,
    )?;
    Ok(copy_origin(existing, &d.origin_id, &d.origin_domain)
        .custom_origin_config(custom)
        .set_s3_origin_config(None)
        .set_vpc_origin_config(None)
        .connection_attempts(d.connection_attempts)
        .connection_timeout(d.connection_timeout)
        .build()?)
}

fn bucket_origin(existing: Option<&Origin>, d: &Desired) -> Result<Origin> {
    let mut b = copy_origin(existing, &d.bucket_id, &d.bucket_domain)
        .origin_path(&d.bucket_path)
        .set_vpc_origin_config(None);
    if d.bucket_website {
        let custom = custom_config(
            existing.and_then(|o| o.custom_origin_config()),
            OriginProtocolPolicy::HttpOnly,
            80,
            443,
        )?;
        b = b.custom_origin_config(custom).set_s3_origin_config(None);
    } else {
        let s3 = match existing.and_then(|o| o.s3_origin_config()) {
            Some(s3) => s3.clone(),
            None => S3OriginConfig::builder().origin_access_identity("").build(),
        };
        b = b.s3_origin_config(s3).set_custom_origin_config(None);
    }
    if !d.bucket_access_control_id.is_empty() {
        b = b.origin_access_control_id(&d.bucket_access_control_id);
    }
    Ok(b.build()?)
}

/// An origin builder holding every field of `existing` (or a new origin).
pub(crate) fn copy_origin(
    existing: Option<&Origin>,
    id: &str,
    domain: &str,
) -> aws_sdk_cloudfront::types::builders::OriginBuilder {
    let b = Origin::builder().id(id).domain_name(domain);
    match existing {
        None => b.origin_path(""),
        Some(o) => b
            .set_origin_path(o.origin_path().map(str::to_string))
            .set_custom_headers(o.custom_headers().cloned())
            .set_s3_origin_config(o.s3_origin_config().cloned())
            .set_custom_origin_config(o.custom_origin_config().cloned())
            .set_vpc_origin_config(o.vpc_origin_config().cloned())
            .set_connection_attempts(o.connection_attempts())
            .set_connection_timeout(o.connection_timeout())
            .set_response_completion_timeout(o.response_completion_timeout())
            .set_origin_shield(o.origin_shield().cloned())
            .set_origin_access_control_id(o.origin_access_control_id().map(str::to_string)),
    }
}

/// A custom origin config with tusk's protocol and ports; the rest (TLS
/// versions, read and keep-alive timeouts) kept, or CloudFront's defaults.
fn custom_config(
    existing: Option<&CustomOriginConfig>,
    protocol: OriginProtocolPolicy,
    http_port: i32,
    https_port: i32,
) -> Result<CustomOriginConfig> {
    let tls = match existing.and_then(|c| c.origin_ssl_protocols()) {
        Some(t) => t.clone(),
        None => OriginSslProtocols::builder()
            .quantity(1)
            .items(SslProtocol::TlSv12)
            .build()?,
    };
    Ok(CustomOriginConfig::builder()
        .http_port(http_port)
        .https_port(https_port)
        .origin_protocol_policy(protocol)
        .origin_ssl_protocols(tls)
        .origin_read_timeout(existing.and_then(|c| c.origin_read_timeout()).unwrap_or(30))
        .origin_keepalive_timeout(
            existing
                .and_then(|c| c.origin_keepalive_timeout())
                .unwrap_or(5),
        )
        .set_ip_address_type(existing.and_then(|c| c.ip_address_type().cloned()))
        .set_origin_mtls_config(existing.and_then(|c| c.origin_mtls_config().cloned()))
        .build()?)
}

fn origin_group(existing: Option<&OriginGroup>, d: &Desired) -> Result<OriginGroup> {
    let member = |id: &str| OriginGroupMember::builder().origin_id(id).build();
    Ok(OriginGroup::builder()
        .id(&d.group_id)
        .failover_criteria(
            OriginGroupFailoverCriteria::builder()
                .status_codes(
                    StatusCodes::builder()
                        .quantity(d.status_codes.len() as i32)
                        .set_items(Some(d.status_codes.clone()))
                        .build()?,
                )
                .build(),
        )
        .members(
            OriginGroupMembers::builder()
                .quantity(2)
                .items(member(&d.origin_id)?)
                .items(member(&d.bucket_id)?)
                .build()?,
        )
        .set_selection_criteria(existing.and_then(|g| g.selection_criteria().cloned()))
        .build()?)
}

fn describe_origin(o: &Origin) -> String {
    let path = o.origin_path().filter(|p| !p.is_empty()).unwrap_or("");
    let kind = match (o.custom_origin_config(), o.s3_origin_config()) {
        (Some(c), _) => format!(
            "{}, ports {}/{}",
            c.origin_protocol_policy().as_str(),
            c.http_port(),
            c.https_port()
        ),
        (None, Some(_)) => "S3".to_string(),
        (None, None) => "other".to_string(),
    };
    format!(
        "{}{path} ({kind}; {} connection attempt(s) of {} s)",
        o.domain_name(),
        o.connection_attempts().unwrap_or(3),
        o.connection_timeout().unwrap_or(10)
    )
}

fn describe_group(g: &OriginGroup) -> String {
    let members: Vec<&str> = g
        .members()
        .map(|m| m.items().iter().map(|m| m.origin_id()).collect())
        .unwrap_or_default();
    let codes: Vec<String> = g
        .failover_criteria()
        .and_then(|c| c.status_codes())
        .map(|s| s.items().iter().map(i32::to_string).collect())
        .unwrap_or_default();
    format!(
        "{} on connection failure or {}",
        members.join(" then "),
        codes.join(", ")
    )
}

/// `live` with new origins/groups/cache behaviours (when given) and the
/// routed behaviours pointing at their targets; every other field copied
/// as it was.
pub(crate) fn rebuild(
    live: &DistributionConfig,
    origins: Option<Origins>,
    groups: Option<OriginGroups>,
    behaviors: Option<Vec<CacheBehavior>>,
    targets: &[(String, String)],
) -> Result<DistributionConfig> {
    let target_of = |pattern: &str| {
        targets
            .iter()
            .find(|(p, _)| p == pattern)
            .map(|(_, t)| t.as_str())
    };
    let default = match live.default_cache_behavior() {
        Some(b) => Some(default_behavior(
            b,
            target_of("*").unwrap_or(b.target_origin_id()),
        )?),
        None => None,
    };
    let given = behaviors.map(|items| (items.len() as i32, items));
    let listed = given.or_else(|| {
        let c = live.cache_behaviors()?;
        Some((c.quantity(), c.items().to_vec()))
    });
    let behaviors = match listed {
        Some((quantity, items)) => {
            let items = items
                .iter()
                .map(|b| {
                    cache_behavior(
                        b,
                        target_of(b.path_pattern()).unwrap_or(b.target_origin_id()),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            Some(
                CacheBehaviors::builder()
                    .quantity(quantity)
                    .set_items((!items.is_empty()).then_some(items))
                    .build()?,
            )
        }
        None => None,
    };
    Ok(DistributionConfig::builder()
        .caller_reference(live.caller_reference())
        .set_aliases(live.aliases().cloned())
        .set_default_root_object(live.default_root_object().map(str::to_string))
        .set_origins(origins.or_else(|| live.origins().cloned()))
        .set_origin_groups(groups.or_else(|| live.origin_groups().cloned()))
        .set_default_cache_behavior(default)
        .set_cache_behaviors(behaviors)
        .set_custom_error_responses(live.custom_error_responses().cloned())
        .comment(live.comment())
        .set_logging(live.logging().cloned())
        .set_price_class(live.price_class().cloned())
        .enabled(live.enabled())
        .set_viewer_certificate(live.viewer_certificate().cloned())
        .set_restrictions(live.restrictions().cloned())
        .set_web_acl_id(live.web_acl_id().map(str::to_string))
        .set_http_version(live.http_version().cloned())
        .set_is_ipv6_enabled(live.is_ipv6_enabled())
        .set_continuous_deployment_policy_id(
            live.continuous_deployment_policy_id().map(str::to_string),
        )
        .set_staging(live.staging())
        .set_anycast_ip_list_id(live.anycast_ip_list_id().map(str::to_string))
        .set_tenant_config(live.tenant_config().cloned())
        .set_connection_mode(live.connection_mode().cloned())
        .set_viewer_mtls_config(live.viewer_mtls_config().cloned())
        .set_connection_function_association(live.connection_function_association().cloned())
        .set_cache_tag_config(live.cache_tag_config().cloned())
        .build()?)
}

/// Every setting of a cache behaviour but its path and target, copied
/// from `$b` onto `$builder`: `DefaultCacheBehavior` and `CacheBehavior`
/// are two SDK types with the same fields, so one list serves both.
macro_rules! copy_settings {
    ($builder:expr, $b:expr) => {{
        let b = $b;
        $builder
            .set_trusted_signers(b.trusted_signers().cloned())
            .set_trusted_key_groups(b.trusted_key_groups().cloned())
            .viewer_protocol_policy(b.viewer_protocol_policy().clone())
            .set_allowed_methods(b.allowed_methods().cloned())
            .set_smooth_streaming(b.smooth_streaming())
            .set_compress(b.compress())
            .set_lambda_function_associations(b.lambda_function_associations().cloned())
            .set_function_associations(b.function_associations().cloned())
            .set_field_level_encryption_id(b.field_level_encryption_id().map(str::to_string))
            .set_realtime_log_config_arn(b.realtime_log_config_arn().map(str::to_string))
            .set_cache_policy_id(b.cache_policy_id().map(str::to_string))
            .set_origin_request_policy_id(b.origin_request_policy_id().map(str::to_string))
            .set_response_headers_policy_id(b.response_headers_policy_id().map(str::to_string))
            .set_grpc_config(b.grpc_config().cloned())
            .set_forwarded_values(b.forwarded_values().cloned())
            .set_min_ttl(b.min_ttl())
            .set_default_ttl(b.default_ttl())
            .set_max_ttl(b.max_ttl())
    }};
}
pub(super) use copy_settings;

// The legacy cache settings (ForwardedValues, TTLs) are deprecated but
// still live on older distributions: they are copied like everything else.
#[allow(deprecated)]
fn default_behavior(b: &DefaultCacheBehavior, target: &str) -> Result<DefaultCacheBehavior> {
    Ok(copy_settings!(DefaultCacheBehavior::builder(), b)
        .target_origin_id(target)
        .build()?)
}

#[allow(deprecated)]
fn cache_behavior(b: &CacheBehavior, target: &str) -> Result<CacheBehavior> {
    Ok(copy_settings!(CacheBehavior::builder(), b)
        .path_pattern(b.path_pattern())
        .target_origin_id(target)
        .build()?)
}
