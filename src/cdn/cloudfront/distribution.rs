//! One CloudFront distribution: read its config with the ETag, write it
//! back only if nobody changed it since (`IfMatch`), and its deployment
//! state.

use anyhow::{anyhow, bail, Result};
use aws_sdk_cloudfront::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::types::DistributionConfig;
use serde::Serialize;

use crate::config::CdnConfig;

/// Conflicting writers (another watcher, an operator, the console) make an
/// update fail with `PreconditionFailed`; it is re-read and re-decided this
/// many times.
const CONFLICT_ATTEMPTS: u32 = 8;

pub struct Distribution {
    client: aws_sdk_cloudfront::Client,
    pub id: String,
}

/// The config as read, with the ETag a write must quote.
pub struct Live {
    pub config: DistributionConfig,
    pub etag: String,
}

/// `GetDistribution`'s deployment state.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    /// `InProgress` while a change deploys to the edge locations, then `Deployed`.
    pub status: String,
    pub last_modified: Option<String>,
    pub domain_name: String,
}

impl Distribution {
    pub async fn open(cfg: &CdnConfig) -> Result<Distribution> {
        if cfg.distribution_id.is_empty() {
            bail!("cdn.distribution_id is empty: set it to the CloudFront distribution's id");
        }
        Ok(Distribution {
            client: super::client(cfg).await,
            id: cfg.distribution_id.clone(),
        })
    }

    pub async fn read(&self) -> Result<Live> {
        let out = self
            .client
            .get_distribution_config()
            .id(&self.id)
            .send()
            .await
            .map_err(|e| self.error("GetDistributionConfig", e))?;
        let etag = out
            .e_tag()
            .ok_or_else(|| anyhow!("GetDistributionConfig on {} returned no ETag", self.id))?
            .to_string();
        let config = out
            .distribution_config
            .ok_or_else(|| anyhow!("GetDistributionConfig on {} returned no config", self.id))?;
        Ok(Live { config, etag })
    }

    pub async fn deployment(&self) -> Result<Deployment> {
        let out = self
            .client
            .get_distribution()
            .id(&self.id)
            .send()
            .await
            .map_err(|e| self.error("GetDistribution", e))?;
        let d = out
            .distribution()
            .ok_or_else(|| anyhow!("GetDistribution on {} returned nothing", self.id))?;
        Ok(Deployment {
            status: d.status().to_string(),
            last_modified: d
                .last_modified_time()
                .fmt(aws_sdk_cloudfront::primitives::DateTimeFormat::DateTime)
                .ok(),
            domain_name: d.domain_name().to_string(),
        })
    }

    /// Read the config, let `decide` return a new one (or `None`: nothing to
    /// do) and write it with `IfMatch`. On `PreconditionFailed` the config
    /// changed under us: read it again and decide again. Returns whether it
    /// wrote, and what `decide` said last.
    pub async fn update<T>(
        &self,
        mut decide: impl FnMut(&DistributionConfig) -> Result<(Option<DistributionConfig>, T)>,
    ) -> Result<(bool, T)> {
        let mut attempt = 1;
        loop {
            let live = self.read().await?;
            let (new, said) = decide(&live.config)?;
            let Some(new) = new else {
                return Ok((false, said));
            };
            let sent = self
                .client
                .update_distribution()
                .id(&self.id)
                .if_match(&live.etag)
                .distribution_config(new)
                .send()
                .await;
            match sent {
                Ok(_) => return Ok((true, said)),
                Err(e)
                    if attempt < CONFLICT_ATTEMPTS
                        && e.as_service_error()
                            .is_some_and(|s| s.is_precondition_failed()) =>
                {
                    tracing::info!(
                        "cdn: distribution {} changed since it was read (ETag {}); reading it again",
                        self.id,
                        live.etag
                    );
                    attempt += 1;
                }
                Err(e) => return Err(self.error("UpdateDistribution", e)),
            }
        }
    }

    /// The service's code and message when it sent them; never the raw
    /// answer (the SDK's debug output dumps whole bodies).
    fn error<E, R>(
        &self,
        operation: &str,
        e: aws_sdk_cloudfront::error::SdkError<E, R>,
    ) -> anyhow::Error
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let detail = match &e {
            SdkError::ServiceError(ctx) => match (ctx.err().code(), ctx.err().message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => {
                    let mut chain = ctx.err().to_string();
                    let mut source = std::error::Error::source(ctx.err());
                    while let Some(s) = source {
                        chain = format!("{chain}: {s}");
                        source = s.source();
                    }
                    format!("an answer the CloudFront client cannot read ({chain})")
                }
            },
            _ => DisplayErrorContext(&e).to_string(),
        };
        anyhow!(
            "{operation} on CloudFront distribution {} failed: {detail}",
            self.id
        )
    }
}
