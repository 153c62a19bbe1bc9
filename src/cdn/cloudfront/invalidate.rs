//! CloudFront invalidations after a publish, so changed pages do not wait
//! for their cache lifetime.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_cloudfront::error::DisplayErrorContext;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use serde::Serialize;

use crate::config::CdnConfig;

/// CloudFront accepts at most 15 wildcard paths in progress per distribution.
const MAX_WILDCARDS: usize = 15;

/// An invalidation that was created (or found, when the same publish is
/// retried: the caller reference makes the request idempotent).
#[derive(Debug, Serialize)]
pub struct Invalidated {
    pub id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
}

/// The CloudFront paths for changed and deleted HTML keys: `/a/b.html`, and
/// `/dir/` too for `dir/index.html`. Above `threshold` paths they collapse
/// to one wildcard per top-level folder, and to `/*` if that is still too
/// many, which keeps every request within CloudFront's limits.
pub fn invalidation_paths<'a>(
    keys: impl Iterator<Item = &'a str>,
    threshold: usize,
) -> Vec<String> {
    let mut paths = BTreeSet::new();
    for key in keys {
        let escaped = crate::tree::key::escape_path(key);
        paths.insert(format!("/{escaped}"));
        if let Some(dir) = escaped.strip_suffix("index.html") {
            paths.insert(format!("/{dir}"));
        }
    }
    if paths.len() <= threshold {
        return paths.into_iter().collect();
    }
    let collapsed: BTreeSet<String> = paths
        .iter()
        .map(|p| match p[1..].split_once('/') {
            Some((top, _)) => format!("/{top}/*"),
            None => p.clone(),
        })
        .collect();
    let wildcards = collapsed.iter().filter(|p| p.ends_with('*')).count();
    if collapsed.len() <= threshold && wildcards <= MAX_WILDCARDS {
        collapsed.into_iter().collect()
    } else {
        vec!["/*".to_string()]
    }
}

/// Create the invalidation. `plan_hash` identifies the publish: a retried
/// publish sends the same caller reference, and CloudFront answers with the
/// invalidation it already has instead of creating (and billing) another.
pub async fn invalidate(
    cfg: &CdnConfig,
    paths: Vec<String>,
    plan_hash: &str,
) -> Result<Invalidated> {
    if cfg.distribution_id.is_empty() {
        bail!("cdn.provider is \"cloudfront\" but cdn.distribution_id is empty");
    }
    let caller_reference = format!("tusk-{}", &plan_hash[..plan_hash.len().min(40)]);
    let client = super::client(cfg).await;
    let batch = InvalidationBatch::builder()
        .paths(
            Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.clone()))
                .build()?,
        )
        .caller_reference(&caller_reference)
        .build()?;

    let mut delay = Duration::from_secs(1);
    let mut attempt = 1;
    loop {
        let sent = client
            .create_invalidation()
            .distribution_id(&cfg.distribution_id)
            .invalidation_batch(batch.clone())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let id = resp
                    .invalidation()
                    .map(|i| i.id().to_string())
                    .ok_or_else(|| anyhow!("CreateInvalidation returned no invalidation"))?;
                return Ok(Invalidated {
                    id,
                    caller_reference,
                    paths,
                });
            }
            Err(e) => {
                let service = e.into_service_error();
                // CloudFront limits invalidations in progress: wait and retry.
                if service.is_too_many_invalidations_in_progress()
                    && attempt < cfg.invalidation_attempts
                {
                    tracing::warn!("too many invalidations in progress; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                    attempt += 1;
                    continue;
                }
                return Err(anyhow!("{}", DisplayErrorContext(service))).with_context(|| {
                    format!(
                        "CreateInvalidation on distribution {} failed",
                        cfg.distribution_id
                    )
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_include_directory_urls() {
        let p = invalidation_paths(
            ["about/index.html", "index.html", "2024/a.html"].into_iter(),
            100,
        );
        assert_eq!(
            p,
            [
                "/",
                "/2024/a.html",
                "/about/",
                "/about/index.html",
                "/index.html"
            ]
        );
    }

    #[test]
    fn many_paths_collapse_to_wildcards() {
        let keys: Vec<String> = (0..300).map(|i| format!("2024/{i}.html")).collect();
        let p = invalidation_paths(keys.iter().map(String::as_str).chain(["x.html"]), 100);
        assert_eq!(p, ["/2024/*", "/x.html"]);
        let keys: Vec<String> = (0..300).map(|i| format!("d{i}/p.html")).collect();
        assert_eq!(
            invalidation_paths(keys.iter().map(String::as_str), 100),
            ["/*"]
        );
    }

    #[test]
    fn non_ascii_paths_are_escaped() {
        assert_eq!(
            invalidation_paths(["café.html"].into_iter(), 10),
            ["/caf%C3%A9.html"]
        );
    }
}
