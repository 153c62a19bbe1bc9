//! Retrying store calls: every stage that reads or writes the bucket
//! (publish, the drill, the offload report) retries the same way.

use std::time::Duration;

use anyhow::Result;

/// Retry transient failures with exponential backoff (3 attempts); a file
/// that changed on disk is not transient.
pub(crate) async fn with_retries<F, Fut, T>(mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < 3 && !e.is::<super::ChangedOnDisk>() => {
                tracing::warn!("attempt {attempt} failed, retrying in {delay:?}: {e:#}");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
