//! One publish at a time per target (two CI merges at once would both
//! upload and both write a record). The lock is one object in the state
//! location, created with a conditional write (S3: `If-None-Match: *`; a
//! local folder: an exclusive create), naming who holds it and until when.
//! The holder renews the expiry every third of `publish.lock_secs` while
//! it runs ([`Lock::hold_while`]), so a long publish keeps its lock and a
//! dead one frees it soon. A holder that died leaves it behind: on the
//! same host a lock whose process is gone is taken at once; elsewhere it
//! expires, and the error says which key to delete to take it earlier.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::store::layout::LOCK_KEY;
use crate::store::{with_retries, Meta, Store};

/// What the lock object says.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    /// `user@host, pid N`, for the error another publish prints.
    holder: String,
    /// Tells this publish's lock from another's with the same holder text.
    token: String,
    started: String,
    expires: String,
}

/// A lock this publish holds; [`Lock::release`] removes it.
pub(super) struct Lock<'a> {
    state: &'a dyn Store,
    holder: Holder,
    /// How long the lock holds unless renewed.
    ttl: Duration,
}

fn lock_meta() -> Meta {
    Meta {
        content_type: "application/json; charset=utf-8".into(),
        cache_control: "no-store".into(),
        ..Meta::default()
    }
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Take the lock of the state location `state` for `ttl` (renewed while
/// held), or fail naming its holder.
pub(super) async fn acquire(state: &dyn Store, ttl: Duration) -> Result<Lock<'_>> {
    let now = chrono::Utc::now();
    let token = hex::encode(rand_bytes());
    let holder = Holder {
        holder: who(),
        token: token.clone(),
        started: timestamp(now),
        expires: timestamp(now + chrono::Duration::from_std(ttl)?),
    };
    let body = serde_json::to_vec_pretty(&holder)?;
    let meta = lock_meta();
    let lock = Lock { state, holder, ttl };
    // Twice: once more after removing an expired lock.
    for _ in 0..2 {
        if with_retries(|| state.put_new(LOCK_KEY, body.clone(), &meta))
            .await
            .with_context(|| format!("cannot take the publish lock in {}", state.describe()))?
        {
            return Ok(lock);
        }
        let current = read(state).await?;
        match current {
            // A retried create whose first attempt went through.
            Some(h) if h.token == token => return Ok(lock),
            Some(h) if expired(&h, now) || died_here(&h) => {
                tracing::warn!(
                    "removing the stale publish lock of {} (taken {}, expires {}): expired, or its process on this host is gone",
                    h.holder,
                    h.started,
                    h.expires
                );
                with_retries(|| state.delete(LOCK_KEY)).await?;
            }
            Some(h) => bail!(
                "another publish holds the lock: {} since {} (until {}); nothing was changed. \
                 Wait for it to finish, or if it died, delete {LOCK_KEY} in {}",
                h.holder,
                h.started,
                h.expires,
                state.describe()
            ),
            // Deleted in between (the other publish finished): try again.
            None => {}
        }
    }
    bail!(
        "cannot take the publish lock {LOCK_KEY} in {}: another publish keeps taking it; nothing was changed",
        state.describe()
    )
}

impl Lock<'_> {
    /// Run `work` while renewing the lock every third of its time. A
    /// renewal that finds the lock gone or another publish's (this one was
    /// stalled past the expiry and another took over) stops the work with
    /// an error: two publishes never go on at once. One that cannot reach
    /// the store is retried at the next beat.
    pub(super) async fn hold_while<T>(
        &self,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let beat = self.ttl / 3;
        tokio::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = tokio::time::sleep(beat) => {}
            }
            // A renewal is never cut off when the work ends meanwhile: a
            // cancelled PUT may still land, after the release, and leave
            // the lock behind.
            let renew = self.renew();
            tokio::pin!(renew);
            let (renewed, finished) = tokio::select! {
                renewed = &mut renew => (renewed, None),
                result = &mut work => (renew.await, Some(result)),
            };
            if let Some(result) = finished {
                return result;
            }
            match renewed {
                Ok(true) => {}
                Ok(false) => return self.lost(),
                Err(e) => tracing::warn!("cannot renew the publish lock: {e:#}"),
            }
        }
    }

    fn lost<T>(&self) -> Result<T> {
        bail!(
            "lost the publish lock {LOCK_KEY} in {} (it expired while this publish stalled, or was deleted); stopped so two publishes never run at once: run it again",
            self.state.describe()
        )
    }

    /// Move the expiry on by the lock's time; false when the lock is no
    /// longer this publish's.
    async fn renew(&self) -> Result<bool> {
        match read(self.state).await? {
            Some(h) if h.token == self.holder.token => {}
            _ => return Ok(false),
        }
        let expires = chrono::Utc::now() + chrono::Duration::from_std(self.ttl)?;
        let holder = Holder {
            expires: timestamp(expires),
            ..self.holder.clone()
        };
        let body = serde_json::to_vec_pretty(&holder)?;
        let md5 = crate::tree::md5_hex(&body);
        let meta = lock_meta();
        with_retries(|| self.state.put(LOCK_KEY, body.clone(), &md5, &meta)).await?;
        tracing::debug!("renewed the publish lock until {}", holder.expires);
        Ok(true)
    }

    /// Remove the lock, if it is still this publish's.
    pub(super) async fn release(self) -> Result<()> {
        match read(self.state).await? {
            Some(h) if h.token == self.holder.token => with_retries(|| self.state.delete(LOCK_KEY))
                .await
                .with_context(|| {
                    format!(
                        "cannot remove the publish lock {LOCK_KEY} in {}",
                        self.state.describe()
                    )
                }),
            _ => Ok(()),
        }
    }
}

/// The lock object, if there is one. An unreadable one (being written, or
/// damaged) reads as held by an unknown publish that expires like any.
async fn read(state: &dyn Store) -> Result<Option<Holder>> {
    let Some(found) = with_retries(|| state.get(LOCK_KEY)).await? else {
        return Ok(None);
    };
    Ok(Some(serde_json::from_slice(&found.body).unwrap_or_else(
        |_| Holder {
            holder: "an unknown publish (the lock is unreadable)".into(),
            token: String::new(),
            started: "?".into(),
            expires: "?".into(),
        },
    )))
}

fn expired(h: &Holder, now: chrono::DateTime<chrono::Utc>) -> bool {
    chrono::DateTime::parse_from_rfc3339(&h.expires).is_ok_and(|t| t < now)
}

/// Whether the holder ran on this host and its process is gone (a killed
/// publish): its lock can be taken at once, as git does with a stale
/// `gc.pid`. Another host's lock waits for its expiry.
fn died_here(h: &Holder) -> bool {
    let Some((user_host, pid)) = h.holder.rsplit_once(", pid ") else {
        return false;
    };
    let this_host = host();
    let same_host = user_host
        .rsplit_once('@')
        .is_some_and(|(_, host)| host == this_host);
    let Ok(pid) = pid.trim().parse::<u32>() else {
        return false;
    };
    same_host
        && this_host != "?"
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// `user@host, pid N`, from the environment and the kernel: enough for
/// an operator to find the other publish.
fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "?".into());
    format!("{user}@{}, pid {}", host(), std::process::id())
}

fn rand_bytes() -> [u8; 16] {
    let mut b = [0; 16];
    getrandom::getrandom(&mut b).expect("the system's random source");
    b
}
