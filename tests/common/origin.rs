//! A real HTTP origin on 127.0.0.1 for tests (hyper): fixed routes plus a
//! fallback function for generated ones, ETag/If-None-Match handled like a
//! real server, and a log of every request with its headers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Route {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn html(body: &str) -> Route {
        Route::new(200, "text/html; charset=utf-8", body)
    }

    pub fn redirect(status: u16, location: &str) -> Route {
        Route {
            status,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Route {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Fallback = dyn Fn(&str) -> Option<Route> + Send + Sync;

#[derive(Clone, Debug)]
pub struct Logged {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    fallback: Box<Fallback>,
    log: Mutex<Vec<Logged>>,
    latency: Duration,
}

pub struct Origin {
    pub url: String,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

impl Origin {
    /// Serve `routes` (by path and query), then `fallback`, else 404.
    pub fn start(
        routes: Vec<(&str, Route)>,
        fallback: impl Fn(&str) -> Option<Route> + Send + Sync + 'static,
    ) -> Origin {
        Origin::start_with_latency(routes, fallback, Duration::ZERO)
    }

    pub fn start_with_latency(
        routes: Vec<(&str, Route)>,
        fallback: impl Fn(&str) -> Option<Route> + Send + Sync + 'static,
        latency: Duration,
    ) -> Origin {
        Origin::start_on(0, routes, fallback, latency)
    }

    /// On a given port (0: any free one), so a test can stop an origin (drop
    /// it) and start it again where it was.
    pub fn start_on(
        port: u16,
        routes: Vec<(&str, Route)>,
        fallback: impl Fn(&str) -> Option<Route> + Send + Sync + 'static,
        latency: Duration,
    ) -> Origin {
        let shared = Arc::new(Shared {
            routes: Mutex::new(
                routes
                    .into_iter()
                    .map(|(p, r)| (p.to_string(), r))
                    .collect(),
            ),
            fallback: Box::new(fallback),
            log: Mutex::new(Vec::new()),
            latency,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let serving = shared.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(respond(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Origin {
            url: format!("http://{addr}"),
            shared,
            _runtime: runtime,
        }
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn set(&self, path: &str, route: Route) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), route);
    }

    pub fn remove(&self, path: &str) {
        self.shared.routes.lock().unwrap().remove(path);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap().clear();
    }
}

async fn respond(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    shared.log.lock().unwrap().push(Logged {
        path: path.clone(),
        headers: headers.clone(),
    });
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let route = shared
        .routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .or_else(|| (shared.fallback)(&path))
        .unwrap_or_else(|| Route::new(404, "text/plain", "not found"));
    let etag = route
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .map(|(_, v)| v.clone());
    let if_none_match = headers
        .iter()
        .find(|(k, _)| k == "if-none-match")
        .map(|(_, v)| v.clone());
    let mut builder = Response::builder();
    if route.status == 200 && etag.is_some() && etag == if_none_match {
        builder = builder.status(304).header("etag", etag.unwrap_or_default());
        return builder.body(Full::new(Bytes::new())).unwrap();
    }
    builder = builder.status(route.status);
    for (k, v) in &route.headers {
        builder = builder.header(k, v);
    }
    builder.body(Full::new(Bytes::from(route.body))).unwrap()
}
