//! The CDN in front of the origin and the bucket (CloudFront).
//!
//! Two layers of failover, because a configuration change takes CloudFront
//! minutes to deploy while a dead origin must be routed around at once:
//! - per request, set up once by `tusk cdn apply` ([`desired`]): an origin
//!   group tries the origin first and the bucket when it fails;
//! - health-driven, by `tusk watch` or an operator ([`route`]): the cache
//!   behaviours point straight at the bucket while the origin is down.
//!
//! The route and an operator's pin live in the distribution itself, so
//! the watcher is stateless; every switch is also written to an audit log
//! in the bucket ([`audit`]).

pub mod audit;
pub mod desired;
pub mod distribution;
mod invalidate;
pub mod ops;
pub mod route;

pub use invalidate::{invalidate, invalidation_paths, Invalidated};

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::config::CdnConfig;

/// A CloudFront client from the standard AWS environment (CloudFront is a
/// global service signed for us-east-1). Throttling and transient errors
/// are retried with backoff by the SDK.
pub async fn client(cfg: &CdnConfig) -> aws_sdk_cloudfront::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        );
    if let Some(endpoint) = &cfg.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    aws_sdk_cloudfront::Client::new(&loader.load().await)
}
