//! The edge's admin API under `/_tusk/`: status, metrics, the manual
//! switches and the ops page for a browser ([`super::page`]). Loopback
//! clients only unless `edge.admin_remote`, and every call carries the
//! admin token (`.tusk/edge.json`, `TUSK_EDGE_TOKEN`): as a bearer token
//! from the CLI, or as the password of HTTP Basic auth from a browser,
//! which asks for it once and sends it in a header: never in the URL, so
//! it stays out of history, referrers and access logs.

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
    let browser = wants_html(req.headers());
    if !authorized(req.headers().get(header::AUTHORIZATION), &state.token) {
        return unauthorized(browser);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    match (method, path.as_str()) {
        (Method::GET, "/_tusk/" | "/_tusk/status") if browser => page(state).await,
        (Method::GET, "/_tusk/status") => json(StatusCode::OK, &state.status_now().await),
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
            let who = operator.clone().unwrap_or_else(|| "an operator".into());
            let changed = state.set_pin(failover.then_some(Route::Fallback), &reason, operator);
            if changed && failover {
                tracing::warn!("edge: failover by {who}: {reason}");
            } else if changed {
                tracing::info!("edge: failback by {who}: {reason}");
            }
            json(
                StatusCode::OK,
                &serde_json::json!({"changed": changed, "status": state.status_now().await}),
            )
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": format!("no admin endpoint {path}")}),
        ),
    }
}

/// A browser asking for a page (its `Accept` names HTML).
fn wants_html(headers: &hyper::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// 401; a browser is asked for the token as a Basic auth password.
fn unauthorized(browser: bool) -> Response<Body> {
    let (mut response, challenge) = if browser {
        let mut r = Response::new(Body::full(Bytes::from_static(
            b"401 Unauthorized: the edge's ops page needs the admin token as the password (any user name)\n",
        )));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        (r, "Basic realm=\"tusk edge\", charset=\"UTF-8\"")
    } else {
        let r = json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({"error": "missing or wrong admin token"}),
        );
        (r, "Bearer")
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// The ops page: never cached, never framed, no script, nothing fetched.
async fn page(state: &Arc<State>) -> Response<Body> {
    let status = state.status_now().await;
    let drill = state.last_drill();
    let now = chrono::Utc::now().timestamp();
    let html = super::page::render(&status, &state.history.seen(), drill.as_ref(), now);
    let mut response = Response::new(Body::full(Bytes::from(html)));
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The token from `Bearer <token>` or Basic auth's password, compared in
/// time independent of where the tokens differ.
fn authorized(header: Option<&HeaderValue>, token: &str) -> bool {
    use base64::Engine;
    let Some((scheme, value)) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
    else {
        return false;
    };
    let given = if scheme.eq_ignore_ascii_case("bearer") {
        value.trim().as_bytes().to_vec()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let Ok(pair) = base64::engine::general_purpose::STANDARD.decode(value.trim()) else {
            return false;
        };
        match pair.iter().position(|&b| b == b':') {
            Some(colon) => pair[colon + 1..].to_vec(),
            None => return false,
        }
    } else {
        return false;
    };
    let (a, b) = (given.as_slice(), token.as_bytes());
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
