//! The audit log of route switches, kept in publish's state location
//! (`.tusk/cdn/` under `publish.state`, beside the bucket and never served),
//! so it survives any one machine: one object per switch, named by time.
//! The watcher's last health round is kept there too, for `tusk status`.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Loaded;
use crate::store::{Meta, Store};

const SWITCHES: &str = "switches/";
const WATCHER: &str = "watcher.json";

/// One switch of the route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switch {
    /// RFC 3339, UTC.
    pub at: String,
    pub distribution: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    /// `manual (user@host)` or `watcher (host, pid N)`.
    pub actor: String,
}

pub struct Log {
    store: Box<dyn Store>,
}

impl Log {
    pub async fn open(loaded: &Loaded) -> Result<Log> {
        let publish = &loaded.config.publish;
        let state = crate::store::state_target(&publish.state, &publish.target)?;
        let target = format!(
            "{}/{}cdn",
            state.trim_end_matches('/'),
            crate::store::layout::RESERVED_PREFIX
        );
        let store = crate::store::open(loaded, &target)
            .await
            .with_context(|| format!("opening the audit log at {target}"))?;
        Ok(Log { store })
    }

    pub async fn record(&self, switch: &Switch) -> Result<()> {
        let stamp: String = switch
            .at
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let key = format!("{SWITCHES}{stamp}-{}.json", std::process::id());
        self.put(&key, serde_json::to_vec_pretty(switch)?).await
    }

    pub async fn last(&self) -> Result<Option<Switch>> {
        let mut keys: Vec<String> = self
            .store
            .list()
            .await?
            .into_iter()
            .map(|l| l.key)
            .filter(|k| k.starts_with(SWITCHES))
            .collect();
        keys.sort();
        match keys.last() {
            None => Ok(None),
            Some(key) => match self.store.get(key).await? {
                None => Ok(None),
                Some(f) => Ok(Some(serde_json::from_slice(&f.body).with_context(
                    || format!("audit log entry {key} is not a switch record"),
                )?)),
            },
        }
    }

    /// The watcher's latest state (health round, route), overwritten.
    pub async fn save_watcher(&self, state: &serde_json::Value) -> Result<()> {
        self.put(WATCHER, serde_json::to_vec_pretty(state)?).await
    }

    pub async fn watcher(&self) -> Result<Option<serde_json::Value>> {
        Ok(match self.store.get(WATCHER).await? {
            Some(f) => serde_json::from_slice(&f.body).ok(),
            None => None,
        })
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<()> {
        use md5::Digest;
        let md5 = hex::encode(md5::Md5::digest(&body));
        let meta = Meta {
            content_type: "application/json".into(),
            cache_control: "no-store".into(),
            ..Meta::default()
        };
        self.store.put(key, body, &md5, &meta).await?;
        Ok(())
    }
}

/// `manual (user@host)`: who ran the command.
pub fn operator() -> String {
    format!("manual ({})", crate::operator::user_at_host())
}

/// `watcher (host, pid N)`.
pub fn watcher() -> String {
    format!(
        "watcher ({}, pid {})",
        crate::operator::host(),
        std::process::id()
    )
}
