//! The edge's admin API under `/_tusk/`: status, metrics and the manual
//! switches. Loopback clients only unless `edge.admin_remote`, and every
//! call carries the bearer token (`.tusk/edge.json`, `TUSK_EDGE_TOKEN`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::{Body, Route, State};

pub async fn handle(
    state: &Arc<State>,
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Response<Body> {
    // `[::]` listeners see IPv4 clients as `::ffff:127.0.0.1`.
    if !state.cfg.admin_remote && !remote.ip().to_canonical().is_loopback() {
        return json(
            StatusCode::FORBIDDEN,
            &serde_json::json!({"error": "the admin API answers loopback clients only"}),
        );
    }
    if !authorized(req.headers().get(header::AUTHORIZATION), &state.token) {
        let mut response = json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({"error": "missing or wrong admin token"}),
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    match (method, path.as_str()) {
        (Method::GET, "/_tusk/status") => json(StatusCode::OK, &state.status()),
        (Method::GET, "/_tusk/metrics") => {
            let mut response = Response::new(Body::full(Bytes::from(state.metrics_text())));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        (Method::POST, "/_tusk/failover" | "/_tusk/failback") => {
            let body = Limited::new(req.into_body(), 64 * 1024).collect().await;
            let body = body
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b.to_bytes()).ok())
                .unwrap_or_default();
            let text = |name: &str| {
                body[name]
                    .as_str()
                    .map(|t| t.trim().chars().take(200).collect::<String>())
                    .filter(|t| !t.is_empty())
            };
            let (reason, operator) = (text("reason"), text("operator"));
            let failover = path.ends_with("failover");
            let reason = reason.unwrap_or_else(|| {
                if failover {
                    "manual failover"
                } else {
                    "manual failback"
                }
                .to_string()
            });
            let changed = state.set_pin(failover.then_some(Route::Fallback), &reason, operator);
            if changed {
                tracing::warn!(
                    "edge: {} by an operator: {reason}",
                    if failover { "failover" } else { "failback" }
                );
            }
            json(
                StatusCode::OK,
                &serde_json::json!({"changed": changed, "status": state.status()}),
            )
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": format!("no admin endpoint {path}")}),
        ),
    }
}

/// Bearer token check in time independent of where the tokens differ.
fn authorized(header: Option<&HeaderValue>, token: &str) -> bool {
    let Some(given) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
    else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::full(Bytes::from(
        serde_json::to_vec_pretty(value).unwrap_or_default(),
    )));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
