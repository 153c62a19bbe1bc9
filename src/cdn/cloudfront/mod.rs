//! CloudFront, the one CDN provider so far: invalidations after a publish,
//! the origin group set up by `tusk cdn apply` ([`desired`]), the
//! health-driven route switched by `tusk watch` and operators ([`route`]).
//!
//! The route and an operator's pin live in the distribution itself, so
//! the watcher is stateless.

pub(crate) mod bucket_routes;
pub(crate) mod desired;
pub(crate) mod distribution;
pub(crate) mod function;
mod invalidate;
pub(crate) mod ops;
pub(crate) mod route;
pub(crate) mod watch;

pub(crate) use invalidate::{invalidate, invalidation_paths, Invalidated};

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
