//! The ops side of the edge's admin API: `tusk status`, `tusk failover`
//! and `tusk failback` find a running edge through `.tusk/edge.json` (or
//! `--edge URL` with `TUSK_EDGE_TOKEN`) and call it.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::config::Loaded;

/// Where the edge is and how to talk to it.
pub struct Admin {
    url: String,
    token: String,
    client: reqwest::Client,
}

impl Admin {
    pub fn locate(loaded: &Loaded, url: Option<&str>) -> Result<Admin> {
        let file = super::runtime_file(loaded);
        let runtime: Option<Value> = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let url = match (url, &runtime) {
            (Some(u), _) => u.trim_end_matches('/').to_string(),
            (None, Some(r)) => r["url"].as_str().unwrap_or_default().to_string(),
            (None, None) => format!("http://{}", loaded.config.edge.listen),
        };
        let token = std::env::var("TUSK_EDGE_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .or_else(|| Some(loaded.config.edge.admin_token.clone()).filter(|t| !t.is_empty()))
            .or_else(|| {
                runtime
                    .as_ref()
                    .and_then(|r| r["token"].as_str().map(str::to_string))
            })
            .unwrap_or_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Admin { url, token, client })
    }

    /// The edge's base URL (`http://127.0.0.1:8080`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn status(&self) -> Result<Value> {
        self.call(reqwest::Method::GET, "status", None).await
    }

    /// `failover` pins traffic to the bucket; `failback` unpins it.
    pub async fn switch(&self, failover: bool, reason: Option<&str>) -> Result<Value> {
        let path = if failover { "failover" } else { "failback" };
        // Who switched (user@host), for the edge's audit record.
        let operator = crate::operator::user_at_host();
        let body = serde_json::json!({ "reason": reason, "operator": operator });
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/_tusk/{path}", self.url);
        let mut request = self.client.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| {
            anyhow!(
                "no edge answering at {}: {} (start it with `tusk edge` or `tusk up`)",
                self.url,
                crate::diag::http_error_text(&e)
            )
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            bail!(
                "the edge at {} refused the admin token: set TUSK_EDGE_TOKEN or edge.admin_token",
                self.url
            );
        }
        if !status.is_success() {
            bail!(
                "the edge at {} answered {status}: {}",
                self.url,
                text.trim()
            );
        }
        serde_json::from_str(&text)
            .with_context(|| format!("the edge at {} answered non-JSON", self.url))
    }
}
