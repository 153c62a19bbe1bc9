//! A small CloudFront API server for what moto does not model: origin
//! groups as cache behaviour targets and `IfMatch` (ETag) concurrency.
//!
//! It follows the published API reference (version 2020-05-31, REST-XML),
//! not tusk's client: `GetDistribution`, `GetDistributionConfig` (config +
//! `ETag`), `UpdateDistribution` (`If-Match` required: missing is 400
//! `InvalidIfMatchVersion`, stale is 412 `PreconditionFailed`; a changed
//! `CallerReference` is 400 `IllegalUpdate`; `Quantity` must match `Items`,
//! 400 `InconsistentQuantities`; a target that is no origin or origin group
//! is 404 `NoSuchOrigin`; an origin group needs two member origins and its
//! behaviours only GET/HEAD/OPTIONS, 400 `InvalidArgument`; connection
//! attempts 1-3 and timeout 1-10 s; at most 25 cache behaviours, the
//! default quota, else 400 `TooManyCacheBehaviors`; each `PathPattern`
//! once, 400 `InvalidArgument`). Cache behaviours are kept exactly as
//! written (`CacheBehaviors/Quantity/Items/CacheBehavior`, in order, since
//! the order is their precedence). Errors use CloudFront's
//! `ErrorResponse` shape; `Throttling` can be injected. A new config is
//! `InProgress` until `deploy_after` has passed, then `Deployed`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};

const NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

struct Dist {
    /// The `DistributionConfig` element as last written.
    config: String,
    etag: String,
    modified: chrono::DateTime<chrono::Utc>,
    deployed_at: Instant,
}

#[derive(Default)]
struct State {
    dists: HashMap<String, Dist>,
    etags: u64,
    /// Successful `UpdateDistribution` calls.
    updates: u64,
    /// `PreconditionFailed` answers.
    conflicts: u64,
    /// The next `UpdateDistribution` finds the config changed by another
    /// writer first: this comment set and a new ETag.
    race: Option<String>,
    /// The next this many requests get `Throttling`.
    throttle: u32,
    throttled: u64,
    deploy_after: Duration,
}

impl State {
    fn next_etag(&mut self) -> String {
        self.etags += 1;
        format!("E{:012X}", 0x2A5F00 + self.etags * 7919)
    }
}

pub struct CloudFront {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

impl CloudFront {
    pub fn start() -> CloudFront {
        let state = Arc::new(Mutex::new(State {
            deploy_after: Duration::from_millis(500),
            ..State::default()
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let serving = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        CloudFront {
            endpoint: format!("http://{addr}"),
            state,
            _runtime: runtime,
        }
    }

    /// A distribution with this `DistributionConfig` XML, already deployed.
    pub fn create(&self, id: &str, config: &str) {
        let mut s = self.state.lock().unwrap();
        let etag = s.next_etag();
        s.dists.insert(
            id.to_string(),
            Dist {
                config: config.trim().to_string(),
                etag,
                modified: chrono::Utc::now(),
                deployed_at: Instant::now(),
            },
        );
    }

    pub fn config(&self, id: &str) -> String {
        self.state.lock().unwrap().dists[id].config.clone()
    }

    pub fn etag(&self, id: &str) -> String {
        self.state.lock().unwrap().dists[id].etag.clone()
    }

    /// Another writer (the console, say) saved the same config: new ETag.
    pub fn touch(&self, id: &str) {
        let mut s = self.state.lock().unwrap();
        let etag = s.next_etag();
        s.dists.get_mut(id).unwrap().etag = etag;
    }

    pub fn updates(&self) -> u64 {
        self.state.lock().unwrap().updates
    }

    pub fn conflicts(&self) -> u64 {
        self.state.lock().unwrap().conflicts
    }

    pub fn throttled(&self) -> u64 {
        self.state.lock().unwrap().throttled
    }

    /// Another writer changes the Comment just before tusk's next write.
    pub fn race_next_update(&self, comment: &str) {
        self.state.lock().unwrap().race = Some(comment.to_string());
    }

    pub fn throttle_next(&self, n: u32) {
        self.state.lock().unwrap().throttle = n;
    }
}

async fn handle(
    state: &Mutex<State>,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let if_match = req
        .headers()
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut s = state.lock().unwrap();
    if s.throttle > 0 {
        s.throttle -= 1;
        s.throttled += 1;
        return error(400, "Throttling", "Rate exceeded");
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (id, config_path) = match parts.as_slice() {
        ["2020-05-31", "distribution", id] => (id.to_string(), false),
        ["2020-05-31", "distribution", id, "config"] => (id.to_string(), true),
        _ => return error(404, "NotFound", &format!("no such API: {method} {path}")),
    };
    if !s.dists.contains_key(&id) {
        return error(
            404,
            "NoSuchDistribution",
            "The specified distribution does not exist.",
        );
    }
    match (method.as_str(), config_path) {
        ("GET", true) => {
            let d = &s.dists[&id];
            xml(
                200,
                &d.etag,
                &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", d.config),
            )
        }
        ("GET", false) => {
            let d = &s.dists[&id];
            xml(200, &d.etag, &distribution(&id, d))
        }
        ("PUT", true) => {
            let Some(if_match) = if_match else {
                return error(
                    400,
                    "InvalidIfMatchVersion",
                    "The If-Match version is missing or not valid for the resource.",
                );
            };
            if let Some(comment) = s.race.take() {
                let etag = s.next_etag();
                let d = s.dists.get_mut(&id).unwrap();
                let (head, rest) = d.config.split_once("<Comment>").expect("a Comment");
                let (_, tail) = rest.split_once("</Comment>").expect("a Comment");
                d.config = format!("{head}<Comment>{comment}</Comment>{tail}");
                d.etag = etag;
            }
            if if_match != s.dists[&id].etag {
                s.conflicts += 1;
                return error(412, "PreconditionFailed", "The precondition given in one or more of the request-header fields evaluated to false.");
            }
            let text = String::from_utf8_lossy(&body).to_string();
            if let Err((status, code, message)) = validate(&text, &s.dists[&id].config) {
                return error(status, code, &message);
            }
            let etag = s.next_etag();
            let deploy_after = s.deploy_after;
            s.updates += 1;
            let d = s.dists.get_mut(&id).unwrap();
            d.config = strip_declaration(&text).to_string();
            d.etag = etag;
            d.modified = chrono::Utc::now();
            d.deployed_at = Instant::now() + deploy_after;
            let d = &s.dists[&id];
            xml(200, &d.etag, &distribution(&id, d))
        }
        _ => error(
            405,
            "MethodNotAllowed",
            &format!("{method} is not supported on {path}"),
        ),
    }
}

fn strip_declaration(text: &str) -> &str {
    let t = text.trim();
    match t.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map(|(_, r)| r.trim()).unwrap_or(t),
        None => t,
    }
}

fn distribution(id: &str, d: &Dist) -> String {
    let status = if Instant::now() >= d.deployed_at {
        "Deployed"
    } else {
        "InProgress"
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Distribution xmlns=\"{NS}\"><Id>{id}</Id>\
         <ARN>arn:aws:cloudfront::123456789012:distribution/{id}</ARN><Status>{status}</Status>\
         <LastModifiedTime>{}</LastModifiedTime><InProgressInvalidationBatches>0</InProgressInvalidationBatches>\
         <DomainName>d111111abcdef8.cloudfront.net</DomainName>\
         <ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners>\
         <ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>\
         {}</Distribution>",
        d.modified.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        d.config
    )
}

type Invalid = (u16, &'static str, String);

/// CloudFront's default quota of cache behaviours per distribution.
const MAX_CACHE_BEHAVIORS: usize = 25;

/// The checks the API reference documents for `UpdateDistribution`.
fn validate(new: &str, old: &str) -> Result<(), Invalid> {
    let bad = |m: String| (400, "InvalidArgument", m);
    let doc = roxmltree::Document::parse(new).map_err(|e| (400, "MalformedXML", e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "DistributionConfig" {
        return Err((400, "MalformedXML", "expected a DistributionConfig".into()));
    }
    let old_doc = roxmltree::Document::parse(old).expect("stored config parses");
    if text(root, "CallerReference") != text(old_doc.root_element(), "CallerReference") {
        return Err((
            400,
            "IllegalUpdate",
            "CallerReference cannot be updated.".into(),
        ));
    }
    for node in root.descendants().filter(|n| n.is_element()) {
        if let (Some(q), Some(items)) = (child(node, "Quantity"), child(node, "Items")) {
            let n = items.children().filter(|c| c.is_element()).count();
            if q.text().and_then(|t| t.trim().parse::<usize>().ok()) != Some(n) {
                return Err((
                    400,
                    "InconsistentQuantities",
                    format!(
                        "{}: Quantity and the number of Items differ",
                        node.tag_name().name()
                    ),
                ));
            }
        }
    }
    let origins = elements(child(root, "Origins"), "Origin");
    if origins.is_empty() {
        return Err(bad("a distribution needs at least one origin".into()));
    }
    let origin_ids: Vec<String> = origins.iter().map(|o| text(*o, "Id")).collect();
    for o in &origins {
        if let Some(a) = child(*o, "ConnectionAttempts").and_then(|n| n.text()) {
            if !(1..=3).contains(&a.trim().parse::<i32>().unwrap_or(0)) {
                return Err(bad(format!(
                    "origin {}: ConnectionAttempts must be 1-3",
                    text(*o, "Id")
                )));
            }
        }
        if let Some(t) = child(*o, "ConnectionTimeout").and_then(|n| n.text()) {
            if !(1..=10).contains(&t.trim().parse::<i32>().unwrap_or(0)) {
                return Err(bad(format!(
                    "origin {}: ConnectionTimeout must be 1-10",
                    text(*o, "Id")
                )));
            }
        }
    }
    let groups = elements(child(root, "OriginGroups"), "OriginGroup");
    let mut group_ids = Vec::new();
    for g in &groups {
        let members = elements(child(*g, "Members"), "OriginGroupMember");
        if members.len() != 2 {
            return Err(bad(format!(
                "origin group {}: exactly two members are required",
                text(*g, "Id")
            )));
        }
        for m in members {
            if !origin_ids.contains(&text(m, "OriginId")) {
                return Err((
                    404,
                    "NoSuchOrigin",
                    format!(
                        "No origin exists with the specified Origin Id {}.",
                        text(m, "OriginId")
                    ),
                ));
            }
        }
        group_ids.push(text(*g, "Id"));
    }
    let ordered = elements(child(root, "CacheBehaviors"), "CacheBehavior");
    if ordered.len() > MAX_CACHE_BEHAVIORS {
        return Err((
            400,
            "TooManyCacheBehaviors",
            "You cannot create more cache behaviors for the distribution.".into(),
        ));
    }
    let mut patterns: Vec<String> = ordered.iter().map(|b| text(*b, "PathPattern")).collect();
    patterns.sort();
    if let Some(twice) = patterns.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad(format!("the path pattern {} is used twice", twice[0])));
    }
    let mut behaviors: Vec<roxmltree::Node<'_, '_>> =
        child(root, "DefaultCacheBehavior").into_iter().collect();
    behaviors.extend(ordered);
    if behaviors.is_empty() {
        return Err(bad("DefaultCacheBehavior is required".into()));
    }
    for b in behaviors {
        let target = text(b, "TargetOriginId");
        if group_ids.contains(&target) {
            let methods: Vec<String> = child(b, "AllowedMethods")
                .and_then(|a| child(a, "Items"))
                .map(|i| {
                    i.children()
                        .filter(|c| c.is_element())
                        .map(|m| m.text().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            if methods
                .iter()
                .any(|m| !matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS"))
            {
                return Err(bad(format!(
                    "origin group {target} can only serve GET, HEAD and OPTIONS, not {methods:?}"
                )));
            }
        } else if !origin_ids.contains(&target) {
            return Err((
                404,
                "NoSuchOrigin",
                format!("No origin exists with the specified Origin Id {target}."),
            ));
        }
    }
    Ok(())
}

fn elements<'a, 'i>(
    parent: Option<roxmltree::Node<'a, 'i>>,
    name: &str,
) -> Vec<roxmltree::Node<'a, 'i>> {
    parent
        .and_then(|p| child(p, "Items"))
        .map(|items| items.children().filter(|c| c.has_tag_name(name)).collect())
        .unwrap_or_default()
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn text(node: roxmltree::Node<'_, '_>, name: &str) -> String {
    child(node, name)
        .and_then(|n| n.text())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn xml(status: u16, etag: &str, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .header("etag", etag)
        .header("x-amz-request-id", "tusk-test-request")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>tusk-test-request</RequestId></ErrorResponse>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .header("x-amz-request-id", "tusk-test-request")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// A distribution as a team would have it before tusk: one custom origin
/// `web` (with a secret header), a default behaviour and an `/api/*`
/// behaviour (all methods) on it, aliases, a certificate, logging, a
/// CloudFront function, error pages. Elements in the API reference order.
pub const SEED: &str = r#"<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
  <CallerReference>site-2024-05-01</CallerReference>
  <Aliases><Quantity>1</Quantity><Items><CNAME>www.example.org</CNAME></Items></Aliases>
  <DefaultRootObject>index.html</DefaultRootObject>
  <Origins><Quantity>1</Quantity><Items>
    <Origin>
      <Id>web</Id><DomainName>origin.example.org</DomainName><OriginPath></OriginPath>
      <CustomHeaders><Quantity>1</Quantity><Items><OriginCustomHeader><HeaderName>X-From-CDN</HeaderName><HeaderValue>shared-secret</HeaderValue></OriginCustomHeader></Items></CustomHeaders>
      <CustomOriginConfig><HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>https-only</OriginProtocolPolicy>
        <OriginSslProtocols><Quantity>1</Quantity><Items><SslProtocol>TLSv1.2</SslProtocol></Items></OriginSslProtocols>
        <OriginReadTimeout>30</OriginReadTimeout><OriginKeepaliveTimeout>5</OriginKeepaliveTimeout></CustomOriginConfig>
      <ConnectionAttempts>3</ConnectionAttempts><ConnectionTimeout>10</ConnectionTimeout>
    </Origin>
  </Items></Origins>
  <OriginGroups><Quantity>0</Quantity></OriginGroups>
  <DefaultCacheBehavior>
    <TargetOriginId>web</TargetOriginId>
    <TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners>
    <TrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></TrustedKeyGroups>
    <ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy>
    <AllowedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items>
      <CachedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items></CachedMethods></AllowedMethods>
    <SmoothStreaming>false</SmoothStreaming><Compress>true</Compress>
    <LambdaFunctionAssociations><Quantity>0</Quantity></LambdaFunctionAssociations>
    <FunctionAssociations><Quantity>1</Quantity><Items><FunctionAssociation><FunctionARN>arn:aws:cloudfront::123456789012:function/index-rewrite</FunctionARN><EventType>viewer-request</EventType></FunctionAssociation></Items></FunctionAssociations>
    <FieldLevelEncryptionId></FieldLevelEncryptionId>
    <CachePolicyId>658327ea-f89d-4fab-a63d-7e88639e58f6</CachePolicyId>
  </DefaultCacheBehavior>
  <CacheBehaviors><Quantity>1</Quantity><Items>
    <CacheBehavior>
      <PathPattern>/api/*</PathPattern><TargetOriginId>web</TargetOriginId>
      <TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners>
      <TrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></TrustedKeyGroups>
      <ViewerProtocolPolicy>https-only</ViewerProtocolPolicy>
      <AllowedMethods><Quantity>7</Quantity><Items><Method>HEAD</Method><Method>DELETE</Method><Method>POST</Method><Method>GET</Method><Method>OPTIONS</Method><Method>PUT</Method><Method>PATCH</Method></Items>
        <CachedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items></CachedMethods></AllowedMethods>
      <SmoothStreaming>false</SmoothStreaming><Compress>false</Compress>
      <LambdaFunctionAssociations><Quantity>0</Quantity></LambdaFunctionAssociations>
      <FunctionAssociations><Quantity>0</Quantity></FunctionAssociations>
      <FieldLevelEncryptionId></FieldLevelEncryptionId>
      <CachePolicyId>4135ea2d-6df8-44a3-9df3-4b5a84be39ad</CachePolicyId>
      <OriginRequestPolicyId>216adef6-5c7f-47e4-b989-5492eafa07d3</OriginRequestPolicyId>
    </CacheBehavior>
  </Items></CacheBehaviors>
  <CustomErrorResponses><Quantity>1</Quantity><Items><CustomErrorResponse><ErrorCode>404</ErrorCode><ResponsePagePath>/404.html</ResponsePagePath><ResponseCode>404</ResponseCode><ErrorCachingMinTTL>60</ErrorCachingMinTTL></CustomErrorResponse></Items></CustomErrorResponses>
  <Comment>www.example.org</Comment>
  <Logging><Enabled>true</Enabled><IncludeCookies>false</IncludeCookies><Bucket>logs-example.s3.amazonaws.com</Bucket><Prefix>cf/</Prefix></Logging>
  <PriceClass>PriceClass_100</PriceClass>
  <Enabled>true</Enabled>
  <ViewerCertificate><ACMCertificateArn>arn:aws:acm:us-east-1:123456789012:certificate/0f3c1d2e</ACMCertificateArn><SSLSupportMethod>sni-only</SSLSupportMethod><MinimumProtocolVersion>TLSv1.2_2021</MinimumProtocolVersion></ViewerCertificate>
  <Restrictions><GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction></Restrictions>
  <WebACLId></WebACLId>
  <HttpVersion>http2</HttpVersion>
  <IsIPV6Enabled>true</IsIPV6Enabled>
</DistributionConfig>"#;

pub const DIST: &str = "E2TUSKTEST0001";

impl CloudFront {
    /// Environment for tusk talking to this server (a marker secret that
    /// must never be printed).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", super::s3::SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("USER", "ops-alice".into()),
        ]
    }

    /// The `[cdn]` table for this server and [`DIST`], plus `extra` lines.
    pub fn cdn_config(&self, extra: &str) -> String {
        format!(
            "[cdn]\nprovider = \"cloudfront\"\ndistribution_id = \"{DIST}\"\nendpoint = \"{}\"\n\
             origin_id = \"web\"\nbucket_domain = \"www-example-org.s3.us-east-1.amazonaws.com\"\n\
             bucket_path = \"/site\"\n{extra}",
            self.endpoint
        )
    }
}

/// An element's canonical form: name, text and children (sorted), so two
/// serialisations of the same content compare equal.
pub fn canonical(node: roxmltree::Node<'_, '_>) -> String {
    let mut children: Vec<String> = node
        .children()
        .filter(|c| c.is_element())
        .map(canonical)
        .collect();
    children.sort();
    let text = if children.is_empty() {
        node.text().unwrap_or("").trim().to_string()
    } else {
        String::new()
    };
    format!("<{}>{text}{}</>", node.tag_name().name(), children.concat())
}

pub fn find<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    path: &[&str],
) -> Option<roxmltree::Node<'a, 'i>> {
    let mut at = node;
    for name in path {
        at = at.children().find(|c| c.has_tag_name(*name))?;
    }
    Some(at)
}

/// The text at a path of element names below `node`.
pub fn text_at(node: roxmltree::Node<'_, '_>, path: &[&str]) -> String {
    find(node, path)
        .and_then(|n| n.text())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The path patterns and targets of the ordered cache behaviours.
pub fn cache_behaviors(root: roxmltree::Node<'_, '_>) -> Vec<(String, String)> {
    find(root, &["CacheBehaviors", "Items"])
        .map(|items| {
            items
                .children()
                .filter(|b| b.has_tag_name("CacheBehavior"))
                .map(|b| {
                    (
                        text_at(b, &["PathPattern"]),
                        text_at(b, &["TargetOriginId"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `Origin` element with this id.
pub fn origin<'a, 'i>(root: roxmltree::Node<'a, 'i>, id: &str) -> Option<roxmltree::Node<'a, 'i>> {
    find(root, &["Origins", "Items"])?
        .children()
        .find(|o| o.is_element() && text_at(*o, &["Id"]) == id)
}
