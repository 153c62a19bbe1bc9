//! S3 (and any S3-compatible server) through aws-sdk-s3.
//!
//! Region, endpoint and path-style addressing come from `[publish.s3]` or
//! the standard AWS environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, ...);
//! credentials only ever come from the standard AWS chain and are never
//! printed (errors carry the SDK's message, which holds none).

use anyhow::{anyhow, Context, Result};
use async_trait::async_trait;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{ByteStream, DateTimeFormat};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use aws_sdk_s3::Client;
use base64::Engine;
use std::path::Path;

use super::{ETag, Fetched, Info, Listed, Meta, Opened, Store};
use crate::config::S3Config;

/// Multipart uploads in flight at once: 4 parts of 16 MiB bound the
/// memory of publishing big files whatever `publish.concurrency` is.
const MULTIPART_AT_ONCE: usize = 4;

pub struct S3Store {
    client: Client,
    /// Bodies this large or larger go up in parts.
    multipart_threshold: usize,
    part_size: usize,
    /// Multipart uploads at once: each holds one part in memory.
    multipart_slots: tokio::sync::Semaphore,
    bucket: String,
    /// Key prefix without trailing slash ("" for the bucket root).
    prefix: String,
}

impl S3Store {
    /// `location` is `bucket` or `bucket/prefix` (what follows `s3://`).
    pub async fn connect(location: &str, cfg: &S3Config) -> Result<S3Store> {
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            anyhow::bail!("s3://{location}: missing bucket name");
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &cfg.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &cfg.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        check_credentials(&shared, location).await?;
        let mut conf = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(cfg.path_style)
            // Content-MD5 is sent on every upload; extra default checksums
            // are left to servers that require them.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .operation_attempt_timeout(std::time::Duration::from_secs(
                        cfg.attempt_timeout_secs.max(1),
                    ))
                    .build(),
            );
        if shared.region().is_none() {
            conf = conf.region(Region::new("us-east-1"));
        }
        const MIB: usize = 1024 * 1024;
        Ok(S3Store {
            client: Client::from_conf(conf.build()),
            multipart_threshold: (cfg.multipart_threshold_mb as usize).max(5) * MIB,
            // S3's minimum part size is 5 MiB (all parts but the last).
            part_size: (cfg.multipart_part_mb as usize).max(5) * MIB,
            multipart_slots: tokio::sync::Semaphore::new(MULTIPART_AT_ONCE),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }
}

/// Fail early, in one line, when the AWS chain finds no credentials: the
/// SDK's own error names only the last place it looked ("failed to load
/// IMDS session token ... IMDS is disabled").
async fn check_credentials(shared: &aws_config::SdkConfig, location: &str) -> Result<()> {
    use aws_credential_types::provider::{error::CredentialsError, ProvideCredentials};
    let Some(provider) = shared.credentials_provider() else {
        anyhow::bail!("s3://{location}: no AWS credentials provider configured");
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => anyhow::bail!(
            "no AWS credentials found for s3://{location} (looked in: env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile {} in ~/.aws/credentials and ~/.aws/config, web identity token, ECS container credentials, EC2 instance metadata)",
            std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into())
        ),
        Err(e) => anyhow::bail!(
            "cannot load AWS credentials for s3://{location}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        ),
    }
}

/// Characters kept as they are in an `x-amz-copy-source` key.
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl S3Store {
    /// Upload a large body in parts read one at a time from `body`, each
    /// with its own Content-MD5 and retried on its own, so memory holds a
    /// part, never the body. The object's ETag is then not an MD5, so the
    /// MD5 travels in metadata (`md5`, hex, which `publish` reads with
    /// HeadObject; `md5chksum`, base64, which rclone reads). The whole
    /// body's MD5 is checked before the upload is completed; a failed
    /// upload is aborted so no orphaned parts are billed.
    async fn put_multipart(
        &self,
        key: &str,
        mut body: Parts<'_>,
        md5: &str,
        meta: &Meta,
        source: &str,
    ) -> Result<ETag> {
        let _slot = self.multipart_slots.acquire().await?;
        let full_key = self.full_key(key);
        let md5_bytes = hex::decode(md5).context("invalid MD5")?;
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&full_key)
            .content_type(&meta.content_type)
            .cache_control(&meta.cache_control)
            .set_content_encoding(meta.content_encoding.clone())
            .set_website_redirect_location(meta.redirect.clone())
            .metadata("md5", md5)
            .metadata(
                "md5chksum",
                base64::engine::general_purpose::STANDARD.encode(&md5_bytes),
            );
        for (k, v) in meta
            .user
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "md5" | "md5chksum"))
        {
            create = create.metadata(k, v);
        }
        let created = create
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("CreateMultipartUpload {key} failed"))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = async {
            let mut parts = Vec::new();
            let mut whole = <md5::Md5 as md5::Digest>::new();
            for number in 1.. {
                let chunk = body
                    .next(self.part_size)
                    .await
                    .with_context(|| format!("cannot read {source}"))?;
                if chunk.is_empty() && number > 1 {
                    break;
                }
                md5::Digest::update(&mut whole, &chunk);
                let digest = <md5::Md5 as md5::Digest>::digest(&chunk);
                let digest = base64::engine::general_purpose::STANDARD.encode(digest);
                let part = super::with_retries(|| async {
                    self.client
                        .upload_part()
                        .bucket(&self.bucket)
                        .key(&full_key)
                        .upload_id(&upload_id)
                        .part_number(number)
                        .content_md5(&digest)
                        .body(ByteStream::from(chunk.clone()))
                        .send()
                        .await
                        .map_err(sdk_error)
                })
                .await
                .with_context(|| format!("UploadPart {number} of {key} failed"))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                );
                if chunk.len() < self.part_size {
                    break;
                }
            }
            let actual = hex::encode(md5::Digest::finalize(whole));
            if actual != md5 {
                return Err(super::changed_on_disk(
                    std::path::Path::new(source),
                    md5,
                    &actual,
                ));
            }
            let completed = self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&full_key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| format!("CompleteMultipartUpload {key} failed"))?;
            Ok::<ETag, anyhow::Error>(etag(completed.e_tag()))
        }
        .await;
        if result.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&full_key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    /// One PutObject of a body whose MD5 the caller checked.
    async fn put_single(
        &self,
        key: &str,
        body: ByteStream,
        size: u64,
        md5: &str,
        meta: &Meta,
    ) -> Result<ETag> {
        let md5_bytes = hex::decode(md5).context("invalid MD5")?;
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .content_md5(base64::engine::general_purpose::STANDARD.encode(md5_bytes))
            .content_length(size as i64)
            .content_type(&meta.content_type)
            .cache_control(&meta.cache_control)
            .set_content_encoding(meta.content_encoding.clone())
            .set_website_redirect_location(meta.redirect.clone())
            .body(body);
        for (k, v) in &meta.user {
            req = req.metadata(k, v);
        }
        let put = req
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("PutObject {key} failed"))?;
        Ok(etag(put.e_tag()))
    }

    /// CopyObject from `source` (`bucket/key`, any bucket of this server)
    /// onto `to`, with new headers. The copy carries the MD5 in base64 as
    /// `md5chksum` too, as a multipart upload does: rclone reads it where
    /// the ETag is no MD5, which a copy's need not be (a multipart source,
    /// SSE-KMS), and `REPLACE` would drop it from a multipart object.
    async fn copy_from_source(
        &self,
        source: &str,
        from: &str,
        to: &str,
        meta: &Meta,
    ) -> Result<ETag> {
        let mut req = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(self.full_key(to))
            .copy_source(source)
            .metadata_directive(MetadataDirective::Replace)
            .content_type(&meta.content_type)
            .cache_control(&meta.cache_control)
            .set_content_encoding(meta.content_encoding.clone())
            .set_website_redirect_location(meta.redirect.clone());
        for (k, v) in &meta.user {
            req = req.metadata(k, v);
        }
        if let Some(md5) = meta.user.get("md5").filter(|m| super::is_md5(m)) {
            if !meta.user.contains_key("md5chksum") {
                let bytes = hex::decode(md5).context("invalid MD5")?;
                req = req.metadata(
                    "md5chksum",
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                );
            }
        }
        let copied = req
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("CopyObject {from} -> {to} failed"))?;
        Ok(etag(copied.copy_object_result().and_then(|r| r.e_tag())))
    }

    /// A new bucket for tusk's state, with public access blocked.
    async fn create_private_bucket(&self) -> Result<()> {
        let mut req = self.client.create_bucket().bucket(&self.bucket);
        let region = self.client.config().region().map(|r| r.to_string());
        if let Some(region) = region.filter(|r| r != "us-east-1") {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        region.as_str(),
                    ))
                    .build(),
            );
        }
        req.send().await.map_err(sdk_error).with_context(|| {
            format!(
                "cannot create the state bucket {} (create it, private, or set publish.state)",
                self.bucket
            )
        })?;
        let block = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        if let Err(e) = self
            .client
            .put_public_access_block()
            .bucket(&self.bucket)
            .public_access_block_configuration(block)
            .send()
            .await
        {
            tracing::warn!(
                "cannot block public access to {}: {:#}",
                self.bucket,
                sdk_error(e)
            );
        }
        Ok(())
    }
}

/// Files up to this size are read into memory whole (32 in flight: 32 MiB).
const SMALL_FILE: u64 = 1024 * 1024;

fn check_md5(path: &Path, expected: &str, actual: &str) -> Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(super::changed_on_disk(path, expected, actual))
    }
}

/// Where the parts of a multipart upload are read from, one at a time.
enum Parts<'a> {
    /// A body in memory and how much of it was sent.
    Memory(&'a [u8], usize),
    /// A file, read by a blocking thread part by part.
    File(Option<std::fs::File>),
}

impl Parts<'_> {
    /// The next `size` bytes: a full part, or the short last one.
    async fn next(&mut self, size: usize) -> std::io::Result<bytes::Bytes> {
        match self {
            Parts::Memory(body, at) => {
                let end = (*at + size).min(body.len());
                let part = bytes::Bytes::copy_from_slice(&body[*at..end]);
                *at = end;
                Ok(part)
            }
            Parts::File(slot) => {
                use std::io::Read;
                let mut file = slot.take().expect("a file between parts");
                let (file, buf) = tokio::task::spawn_blocking(move || {
                    let mut buf = Vec::with_capacity(size);
                    (&mut file).take(size as u64).read_to_end(&mut buf)?;
                    Ok::<_, std::io::Error>((file, buf))
                })
                .await
                .map_err(std::io::Error::other)??;
                *slot = Some(file);
                Ok(buf.into())
            }
        }
    }
}

/// An ETag as S3 sends it (quoted) as tusk keeps it.
fn etag(quoted: Option<&str>) -> ETag {
    quoted.unwrap_or_default().trim_matches('"').to_string()
}

/// The headers of a GetObject or HeadObject answer.
fn meta_from(
    content_type: Option<&str>,
    cache_control: Option<&str>,
    content_encoding: Option<&str>,
    redirect: Option<&str>,
    user: Option<&std::collections::HashMap<String, String>>,
) -> Meta {
    Meta {
        content_type: content_type.unwrap_or_default().to_string(),
        cache_control: cache_control.unwrap_or_default().to_string(),
        content_encoding: content_encoding.map(str::to_string),
        redirect: redirect.map(str::to_string),
        user: user
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

/// An SDK error as one line: S3's error code and message when there is a
/// response (`SlowDown: Please reduce your request rate.`), the whole
/// cause chain otherwise (connection errors). Neither holds credentials.
fn sdk_error<E>(e: E) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e.code() {
        Some(code) => anyhow!("{code}: {}", e.message().unwrap_or("(no message)")),
        None => {
            // The cause chain without the SDK's debug dump of the response.
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            anyhow!("{text}")
        }
    }
}

#[async_trait]
impl Store for S3Store {
    async fn list(&self) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        // One paginated listing: 1,000 keys per request.
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(sdk_error).context("ListObjectsV2 failed")?;
            for o in page.contents() {
                let Some(key) = o.key().and_then(|k| k.strip_prefix(&prefix)) else {
                    continue;
                };
                out.push(Listed {
                    key: key.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    md5: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                    modified: o
                        .last_modified()
                        .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                        .unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    async fn put(&self, key: &str, body: Vec<u8>, md5: &str, meta: &Meta) -> Result<ETag> {
        if body.len() >= self.multipart_threshold {
            return self
                .put_multipart(key, Parts::Memory(&body, 0), md5, meta, key)
                .await;
        }
        let size = body.len() as u64;
        self.put_single(key, ByteStream::from(body), size, md5, meta)
            .await
    }

    async fn put_file(&self, key: &str, path: &Path, md5: &str, meta: &Meta) -> Result<ETag> {
        let cannot_read = || format!("cannot read {}", path.display());
        let size = tokio::fs::metadata(path)
            .await
            .with_context(cannot_read)?
            .len();
        if size >= self.multipart_threshold as u64 {
            let file = std::fs::File::open(path).with_context(cannot_read)?;
            let source = path.display().to_string();
            return self
                .put_multipart(key, Parts::File(Some(file)), md5, meta, &source)
                .await;
        }
        // Small files (most of a site) are read once; larger ones are
        // hashed first and then streamed, since a server need not check
        // Content-MD5 (moto does not).
        let body = if size <= SMALL_FILE {
            let bytes = tokio::fs::read(path).await.with_context(cannot_read)?;
            check_md5(path, md5, &crate::tree::md5_hex(&bytes))?;
            ByteStream::from(bytes)
        } else {
            check_md5(path, md5, &super::md5_file(path).await?)?;
            ByteStream::read_from()
                .path(path)
                .buffer_size(super::FILE_BUFFER)
                .build()
                .await
                .with_context(cannot_read)?
        };
        self.put_single(key, body, size, md5, meta).await
    }

    async fn put_new(&self, key: &str, body: Vec<u8>, meta: &Meta) -> Result<bool> {
        let md5 = crate::tree::md5_hex(&body);
        let md5 = base64::engine::general_purpose::STANDARD.encode(hex::decode(md5)?);
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .if_none_match("*")
            .content_md5(md5)
            .content_type(&meta.content_type)
            .cache_control(&meta.cache_control)
            .body(ByteStream::from(body))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // 412: the key exists; 409: a concurrent conditional write won.
            Err(e)
                if matches!(
                    e.code(),
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                ) =>
            {
                Ok(false)
            }
            Err(e) => {
                Err(sdk_error(e)).with_context(|| format!("PutObject {key} (If-None-Match) failed"))
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        let resp = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let service = e.into_service_error();
                if service.is_no_such_key() {
                    return Ok(None);
                }
                return Err(sdk_error(service)).with_context(|| format!("GetObject {key} failed"));
            }
        };
        let meta = meta_from(
            resp.content_type(),
            resp.cache_control(),
            resp.content_encoding(),
            resp.website_redirect_location(),
            resp.metadata(),
        );
        let body = resp
            .body
            .collect()
            .await
            .with_context(|| format!("reading {key} failed"))?
            .into_bytes()
            .to_vec();
        Ok(Some(Fetched { body, meta }))
    }

    async fn head(&self, key: &str) -> Result<Option<Meta>> {
        // One HeadObject request, read by `stat`.
        Ok(self.stat(key).await?.map(|info| info.meta))
    }

    async fn stat(&self, key: &str) -> Result<Option<Info>> {
        let resp = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let service = e.into_service_error();
                if service.is_not_found() {
                    return Ok(None);
                }
                return Err(sdk_error(service)).with_context(|| format!("HeadObject {key} failed"));
            }
        };
        Ok(Some(Info {
            size: resp.content_length().unwrap_or(0).max(0) as u64,
            md5: resp
                .e_tag()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            modified: resp
                .last_modified()
                .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                .unwrap_or_default(),
            meta: meta_from(
                resp.content_type(),
                resp.cache_control(),
                resp.content_encoding(),
                resp.website_redirect_location(),
                resp.metadata(),
            ),
        }))
    }

    async fn open(&self, key: &str, range: Option<std::ops::Range<u64>>) -> Result<Option<Opened>> {
        let asked = range
            .as_ref()
            .map(|r| format!("bytes={}-{}", r.start, r.end.saturating_sub(1)));
        let resp = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .set_range(asked)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let service = e.into_service_error();
                if service.is_no_such_key() {
                    return Ok(None);
                }
                return Err(sdk_error(service)).with_context(|| format!("GetObject {key} failed"));
            }
        };
        let length = resp.content_length().unwrap_or(0).max(0) as u64;
        // A ranged answer names the whole size after the slash:
        // `Content-Range: bytes 0-99/1234`.
        let size = resp
            .content_range()
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, total)| total.parse().ok())
            .unwrap_or(length);
        let info = Info {
            size,
            md5: resp
                .e_tag()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            modified: resp
                .last_modified()
                .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                .unwrap_or_default(),
            meta: meta_from(
                resp.content_type(),
                resp.cache_control(),
                resp.content_encoding(),
                resp.website_redirect_location(),
                resp.metadata(),
            ),
        };
        let body = futures::stream::try_unfold(resp.body, |mut body| async move {
            match body.next().await {
                Some(Ok(chunk)) => Ok(Some((chunk, body))),
                Some(Err(e)) => Err(std::io::Error::other(e)),
                None => Ok(None),
            }
        });
        Ok(Some(Opened {
            info,
            body: futures::StreamExt::boxed(body),
        }))
    }

    async fn copy(&self, from: &str, to: &str, meta: &Meta) -> Result<ETag> {
        let source = self.copy_source(from).expect("an S3 key");
        self.copy_from_source(&source, from, to, meta).await
    }

    fn copy_source(&self, key: &str) -> Option<String> {
        Some(format!(
            "{}/{}",
            self.bucket,
            percent_encoding::utf8_percent_encode(&self.full_key(key), COPY_SOURCE)
        ))
    }

    async fn copy_in(&self, src: &dyn Store, from: &str, to: &str, meta: &Meta) -> Result<ETag> {
        match src.copy_source(from) {
            Some(source) => self.copy_from_source(&source, from, to, meta).await,
            None => {
                let Some(f) = src.get(from).await? else {
                    anyhow::bail!("cannot copy {from} from {}: no such object", src.describe());
                };
                let md5 = crate::tree::md5_hex(&f.body);
                self.put(to, f.body, &md5, meta).await
            }
        }
    }

    async fn exists(&self) -> Result<bool> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let service = e.into_service_error();
                if service.is_not_found() {
                    return Ok(false);
                }
                Err(sdk_error(service))
                    .with_context(|| format!("HeadBucket {} failed", self.bucket))
            }
        }
    }

    async fn create(&self) -> Result<()> {
        self.create_private_bucket().await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("DeleteObject {key} failed"))?;
        Ok(())
    }

    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}
