//! Configuration: `config/tusk.toml` plus an optional `config/<env>.toml`
//! overlay, deep-merged like Hugo's config directory.
//!
//! Every file is first checked on its own against the schema, so an unknown
//! or mistyped key is reported with the file it is in (and its line), not
//! against the merged result where its origin is lost.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Name of the environment variable that selects the overlay.
pub const ENV_VAR: &str = "TUSK_ENV";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub site: SiteConfig,
    pub build: BuildConfig,
    pub snapshot: SnapshotConfig,
    pub publish: PublishConfig,
    pub cdn: CdnConfig,
    pub health: HealthConfig,
    pub edge: EdgeConfig,
    pub drill: DrillConfig,
    /// Set in Jekyll mode (a `_config.yml` site): pages render with Liquid.
    #[serde(skip)]
    pub jekyll: Option<Box<crate::jekyll::JekyllSite>>,
}

impl Config {
    /// The dynamic origin's base URL: `edge.origin`, else
    /// `snapshot.origin`; `None` when neither is set. The edge, the CDN
    /// watcher and `tusk up` all ask the origin this names.
    pub fn origin(&self) -> Option<&str> {
        [&self.edge.origin, &self.snapshot.origin]
            .into_iter()
            .map(String::as_str)
            .find(|o| !o.is_empty())
    }
}

/// `tusk drill`: the game-day check that the fallback would serve the site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrillConfig {
    /// A snapshot older than this is a gap (0: not checked). With no
    /// `snapshot.origin`, no snapshot is expected.
    pub max_snapshot_age_hours: u64,
    /// Objects requested through the edge or from the bucket origin
    /// (0: all of them); `--sample` overrides it.
    pub sample: usize,
    /// Requests in flight.
    pub concurrency: usize,
}

impl Default for DrillConfig {
    fn default() -> Self {
        DrillConfig {
            max_snapshot_age_hours: 24,
            sample: 0,
            concurrency: 16,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteConfig {
    pub title: String,
    pub description: String,
    /// Absolute base URL, used for permalinks (`page.permalink`), feeds and sitemaps.
    pub base_url: String,
    pub language: String,
    pub author: String,
    /// IANA time zone; post dates without an offset are read in this zone.
    pub timezone: String,
    /// Free-form values for templates (`site.extra`).
    pub extra: toml::Table,
}

impl SiteConfig {
    /// The site's time zone (validated when the configuration is loaded).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            title: "My site".into(),
            description: String::new(),
            base_url: "http://127.0.0.1:8080".into(),
            language: "en".into(),
            author: String::new(),
            timezone: "UTC".into(),
            extra: toml::Table::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuildConfig {
    /// Content root, relative to the project root.
    pub source: PathBuf,
    /// Output folder, relative to the project root.
    pub output: PathBuf,
    /// Theme name: `themes/<theme>/`, or the built-in theme of that name.
    pub theme: String,
    /// Jekyll permalink style (`date`, `pretty`, `ordinal`, `weekdate`,
    /// `none`) or a custom pattern.
    pub permalink: String,
    pub drafts: bool,
    pub future: bool,
    pub excerpt_separator: String,
    /// Globs (relative to the content root) that are never read.
    pub exclude: Vec<String>,
    /// Globs re-included although they start with `_` or `.`.
    pub include: Vec<String>,
    pub collections: BTreeMap<String, CollectionConfig>,
    /// How `_data/*.csv` and `*.tsv` are read (Jekyll's `csv_reader:` and
    /// `tsv_reader:`); not a `tusk.toml` setting.
    #[serde(skip)]
    pub csv: DataReader,
    #[serde(skip)]
    pub tsv: DataReader,
    /// Generate `sitemap.xml` (unless the site has its own).
    pub sitemap: bool,
    /// Generate `robots.txt` pointing at the sitemap (unless the site has its own).
    pub robots: bool,
    pub feed: FeedConfig,
    /// Highlight fenced code blocks (class-based; the theme's CSS colours them).
    pub highlight: bool,
    /// Give every Markdown heading a `#` link to itself.
    pub heading_anchors: bool,
    /// The Markdown flavor: `tusk` (default) or `kramdown` (Jekyll's).
    pub markdown: crate::content::markdown::Flavor,
    /// Items per page of paginated lists (`paginate:` pages, term pages).
    pub paginate_by: usize,
    /// Where later pages go, below the list's URL (`/blog/page/2/`).
    pub paginate_path: String,
    /// Taxonomies of the posts, each with a page per term. Setting this
    /// table replaces the defaults (`tags`, `categories`).
    pub taxonomies: BTreeMap<String, TaxonomyConfig>,
    /// Fail the build on internal links or `#anchors` that lead nowhere.
    pub check_links: bool,
    /// Largest Markdown/HTML document read (MiB); bigger ones are errors.
    pub max_document_mb: u64,
    /// `jekyll`: the source folder is a Jekyll site, read through its own
    /// `_config.yml` (what `tusk init --from-jekyll` makes).
    pub engine: Engine,
}

/// How the source folder is read (`build.engine`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// tusk's own: this file's settings, Tera themes.
    #[default]
    Tusk,
    /// A Jekyll site: `<source>/_config.yml` gives the site's settings
    /// (Liquid, layouts, defaults, plugins); this file where tusk reads,
    /// writes and publishes.
    Jekyll,
}

/// One taxonomy: `[build.taxonomies.tags]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaxonomyConfig {
    /// Items per term page; 0 uses `build.paginate_by`.
    pub paginate_by: usize,
    /// An Atom feed per term (`/tags/rust/feed.xml`).
    pub feed: bool,
}

/// The posts feeds; an empty path turns a format off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Atom 1.0 feed key.
    pub atom: String,
    /// RSS 2.0 feed key (off by default).
    pub rss: String,
    /// Newest posts in the feed.
    pub limit: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            atom: "feed.xml".into(),
            rss: String::new(),
            limit: 20,
        }
    }
}

/// Jekyll's `csv_reader:` / `tsv_reader:` (`CSV.read` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataReader {
    /// `csv_converters`, in order, each run on a field until one applies.
    pub converters: Vec<CsvConverter>,
    /// `headers: true` (the default): one object per row, keyed by the
    /// first; `false`: every row a list.
    pub headers: bool,
    pub encoding: DataEncoding,
}

impl Default for DataReader {
    fn default() -> Self {
        DataReader {
            converters: Vec::new(),
            headers: true,
            encoding: DataEncoding::Utf8,
        }
    }
}

/// One of Ruby's `CSV::Converters` (`numeric` is integer then float,
/// `all` date_time then numeric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvConverter {
    Integer,
    Float,
    Date,
    DateTime,
}

/// The `encoding` a data file is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEncoding {
    /// `utf-8`: a byte-order mark is part of the first field, as in Ruby.
    Utf8,
    /// `bom|utf-8`: a byte-order mark is dropped.
    Utf8Bom,
    /// `iso-8859-1` (`latin1`).
    Latin1,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            source: "site".into(),
            output: "public".into(),
            theme: "default".into(),
            permalink: "date".into(),
            drafts: false,
            future: false,
            excerpt_separator: "\n\n".into(),
            exclude: Vec::new(),
            include: Vec::new(),
            collections: BTreeMap::new(),
            csv: DataReader::default(),
            tsv: DataReader::default(),
            sitemap: true,
            robots: true,
            feed: FeedConfig::default(),
            highlight: true,
            heading_anchors: true,
            markdown: Default::default(),
            paginate_by: 10,
            paginate_path: "page/:num/".into(),
            taxonomies: ["tags", "categories"]
                .into_iter()
                .map(|t| (t.to_string(), TaxonomyConfig::default()))
                .collect(),
            check_links: true,
            max_document_mb: 8,
            engine: Engine::Tusk,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectionConfig {
    /// Whether the collection's documents are rendered to their own pages.
    pub output: bool,
    /// URL pattern for the documents; Jekyll's default when absent.
    pub permalink: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// `file://<folder>` (relative to the project root) or `s3://<bucket>/<prefix>`.
    pub target: String,
    /// Where tusk keeps its publish records, the rollback archive, the
    /// retention state and the CDN audit log (`file://...` or `s3://bucket/prefix`):
    /// never inside the served target, since S3 website hosting and CDNs
    /// serve every key there. Empty: beside the target (see
    /// `store::state_target`).
    pub state: String,
    /// Key prefixes the build and the snapshot are mounted under.
    pub build_prefix: String,
    pub snapshot_prefix: String,
    /// Which source owns a key both the build and the snapshot produce:
    /// unset, such a key fails the publish, naming it.
    pub prefer: Option<Source>,
    /// Owners per URL path glob (`"/about/" = "snapshot"`, `"/blog/**" =
    /// "build"`), before `prefer`; the longest matching glob wins.
    pub owner: BTreeMap<String, Source>,
    /// Refuse a publish that would delete more objects than this.
    pub max_deletes: usize,
    /// Refuse a publish that would delete more than this share (0-1) of
    /// the target's objects, when more than 10 would go, unless
    /// `--allow-mass-delete`: an empty or truncated tree empties no site.
    pub max_delete_share: f64,
    /// Uploads in flight.
    pub concurrency: usize,
    /// Store compressible objects (HTML, CSS, JS, JSON, XML, SVG, ...)
    /// precompressed with `Content-Encoding`: `none`, `gzip` or `br`.
    /// Every client then receives the encoded bytes, so choose `br` only
    /// when all of them accept Brotli.
    pub compress: Compress,
    /// Days a removed fingerprinted asset stays in the target, because
    /// cached HTML may still reference it.
    pub retain_days: u32,
    /// Days replaced and deleted bodies are kept under `.tusk/objects/`
    /// so `tusk publish --rollback` can restore them; 0 keeps nothing.
    pub rollback_days: u32,
    /// Seconds the publish lock holds without being renewed: a publish
    /// renews it every third of this while it runs, so a publish that
    /// died (on another machine) blocks the next one this long at most.
    pub lock_secs: u64,
    pub cache_control: CacheControlConfig,
    /// Cache-Control by glob, first match wins over the class defaults.
    pub rules: Vec<CacheRule>,
    pub s3: S3Config,
}

/// `publish.compress`: how compressible objects are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compress {
    /// As they are.
    None,
    Gzip,
    /// Brotli.
    Br,
}

impl Compress {
    /// The `Content-Encoding` it stores objects with (`None`: none).
    pub fn encoding(self) -> Option<&'static str> {
        match self {
            Compress::None => None,
            Compress::Gzip => Some("gzip"),
            Compress::Br => Some("br"),
        }
    }
}

/// `snapshot.query`: what the crawl does with URLs that carry a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryMode {
    /// Not saved (a page's assets are still fetched at their plain path;
    /// shortlinks are probed for redirects).
    Skip,
    /// Saved under a key carrying a hash of the query.
    Hash,
}

/// `cdn.origin_protocol`: how CloudFront reaches the dynamic origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OriginProtocol {
    HttpsOnly,
    HttpOnly,
    MatchViewer,
}

/// Where a published object comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Build,
    Snapshot,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Build => "build",
            Source::Snapshot => "snapshot",
        }
    }
}

/// Connection settings for `s3://` targets; unset values come from the
/// standard AWS environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    pub region: Option<String>,
    /// Custom endpoint for S3-compatible servers.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most
    /// S3-compatible servers.
    pub path_style: bool,
    /// Objects of this many MiB or more are uploaded in parts.
    pub multipart_threshold_mb: u64,
    /// Part size in MiB (S3's minimum is 5).
    pub multipart_part_mb: u64,
    /// Seconds one attempt of a request may take before it is abandoned
    /// and retried (a stalled connection otherwise hangs the publish).
    pub attempt_timeout_secs: u64,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            region: None,
            endpoint: None,
            path_style: false,
            multipart_threshold_mb: 64,
            multipart_part_mb: 16,
            attempt_timeout_secs: 120,
        }
    }
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            target: "file://.tusk/bucket".into(),
            state: String::new(),
            build_prefix: String::new(),
            snapshot_prefix: String::new(),
            prefer: None,
            owner: BTreeMap::new(),
            max_deletes: 256,
            max_delete_share: 0.5,
            concurrency: 32,
            compress: Compress::None,
            retain_days: 7,
            rollback_days: 30,
            lock_secs: 600,
            cache_control: CacheControlConfig::default(),
            rules: Vec::new(),
            s3: S3Config::default(),
        }
    }
}

/// `tusk snapshot`: the static copy of the dynamic origin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// Base URL of the dynamic origin (`https://origin.example.org`).
    pub origin: String,
    /// The snapshot tree folder (published with the build when present).
    pub output: PathBuf,
    /// Paths the crawl starts from.
    pub seeds: Vec<String>,
    /// Also start from `/sitemap.xml` and the sitemaps named in `/robots.txt`.
    pub sitemap: bool,
    /// Other host names of the same site (`www.` and apex): followed and
    /// rewritten to root-relative links like the origin's own.
    pub hosts: Vec<String>,
    /// Globs on URL paths (`/blog/**`): when set, only these are fetched.
    pub include: Vec<String>,
    /// Globs on URL paths never fetched.
    pub exclude: Vec<String>,
    pub max_depth: usize,
    /// Most URLs fetched in one run (refused links do not count). A crawl
    /// that reaches it is incomplete: the previous snapshot's other
    /// objects are kept.
    pub max_pages: usize,
    /// Minutes the whole crawl may take; 0: no limit. An expired crawl is
    /// incomplete like one that reached `max_pages`.
    pub max_minutes: f64,
    pub max_response_mb: u64,
    pub max_total_mb: u64,
    /// Most requests in flight: the crawl starts at two and grows toward
    /// this while the origin answers fast and cleanly.
    pub concurrency: usize,
    /// Requests per second per host; 0 for no limit.
    pub rate_limit: f64,
    pub timeout_secs: u64,
    /// Extra attempts on 5xx, 429, timeouts and resets, with backoff.
    pub retries: u32,
    /// URLs with a query string: `skip`, or `hash` to store them under a
    /// key carrying a hash of the query (`list/index.q-1a2b3c4d.html`).
    pub query: QueryMode,
    /// With `query = "skip"`, links with a query are still fetched, up to
    /// this many per run (apart from `max_pages`), to keep those that
    /// redirect: shortlinks such as `/?p=123`. Pages they answer are not
    /// kept. 0: never fetched.
    pub max_query_probes: usize,
    /// Globs on URL paths whose private-looking responses (Set-Cookie,
    /// `Cache-Control: private`/`no-store`, `Vary: Cookie`) may be saved.
    pub allow_private: Vec<String>,
    /// More failed fetches than this fail the snapshot (the previous one
    /// stays in place).
    pub max_errors: usize,
    pub user_agent: String,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            origin: String::new(),
            output: ".tusk/snapshot".into(),
            seeds: vec!["/".into()],
            sitemap: true,
            hosts: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            max_depth: 32,
            max_pages: 50_000,
            max_minutes: 0.0,
            max_response_mb: 50,
            max_total_mb: 4096,
            concurrency: 16,
            rate_limit: 0.0,
            timeout_secs: 15,
            retries: 3,
            query: QueryMode::Skip,
            max_query_probes: 1000,
            allow_private: Vec::new(),
            max_errors: 10,
            user_agent: concat!("tusk-snapshot/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// Health checks of the dynamic origin, shared by `tusk edge` (and the
/// CDN watcher): HAProxy-style hysteresis with `fall` and `rise`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Paths on the origin (`/healthz`) or absolute URLs to probe.
    pub urls: Vec<String>,
    pub method: String,
    pub expect_status: u16,
    /// When set, the body must contain this text.
    pub expect_body: String,
    pub timeout_ms: u64,
    pub interval_ms: u64,
    /// Consecutive failed rounds before the origin counts as down.
    pub fall: u32,
    /// Consecutive good rounds before it counts as up again...
    pub rise: u32,
    /// ...and at least this long after it went down.
    pub min_hold_secs: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            urls: vec!["/".into()],
            method: "GET".into(),
            expect_status: 200,
            expect_body: String::new(),
            timeout_ms: 2000,
            interval_ms: 2000,
            fall: 3,
            rise: 2,
            min_hold_secs: 10,
        }
    }
}

/// `tusk edge`: the embedded caching edge (origin first, bucket on failure).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeConfig {
    pub listen: String,
    /// The dynamic origin; empty means `snapshot.origin`.
    pub origin: String,
    /// The fallback bucket; empty means `publish.target` (its build prefix).
    pub fallback: String,
    /// A request to the origin that takes longer fails over.
    pub origin_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Memory bound of the cache (bodies and headers).
    pub cache_mb: u64,
    /// Largest response that is cached.
    pub max_object_mb: u64,
    /// Seconds an origin response without `max-age`/`s-maxage` stays
    /// fresh, per cache class (like CloudFront's default TTL).
    pub default_ttl: TtlConfig,
    /// Seconds a stale copy may be served when the origin fails, unless
    /// the response says otherwise (`stale-if-error`).
    pub stale_if_error_secs: u64,
    /// Bearer token for the admin API's switches; also read from
    /// TUSK_EDGE_TOKEN. Empty: switches refused.
    pub admin_token: String,
    /// Accept admin requests from other hosts than loopback.
    pub admin_remote: bool,
    /// Connections served at once; at the cap the edge accepts no more
    /// until one ends. Slow uploads may hold at most half of them.
    pub max_connections: usize,
    /// Milliseconds a pass-through request's body may take to arrive
    /// (408 and the connection closed after it).
    pub body_timeout_ms: u64,
    /// Access log in CloudFront's standard log format (read by
    /// `tusk offload`), relative to the project root; empty: none.
    pub access_log: String,
    /// Answer the keys the build owns (the last publish's list) from the
    /// bucket without asking the origin; `false`: the origin first for
    /// every path, as for the snapshot's.
    pub built_from_bucket: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TtlConfig {
    pub html: u64,
    pub fingerprinted: u64,
    pub asset: u64,
    pub feed: u64,
    pub redirect: u64,
}

impl Default for TtlConfig {
    fn default() -> Self {
        TtlConfig {
            html: 60,
            fingerprinted: 31_536_000,
            asset: 3600,
            feed: 300,
            redirect: 300,
        }
    }
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            listen: "127.0.0.1:8080".into(),
            origin: String::new(),
            fallback: String::new(),
            origin_timeout_ms: 3000,
            connect_timeout_ms: 500,
            cache_mb: 256,
            max_object_mb: 16,
            default_ttl: TtlConfig::default(),
            stale_if_error_secs: 86_400,
            admin_token: String::new(),
            admin_remote: false,
            max_connections: 4096,
            body_timeout_ms: 30_000,
            access_log: ".tusk/edge-access.log".into(),
            built_from_bucket: true,
        }
    }
}

/// The CDN in front of the site (`cdn.provider`): parsed here once, so
/// the rest of the code matches an enum (see `cdn`), never a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    None,
    CloudFront,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CdnConfig {
    /// `none`, or `cloudfront` to invalidate after each publish and to
    /// manage failover (`tusk cdn`, `tusk watch`, `tusk failover`).
    pub provider: Provider,
    pub distribution_id: String,
    /// Custom endpoint (tests); otherwise the standard AWS environment.
    pub endpoint: Option<String>,
    /// Above this many paths an invalidation collapses to wildcards.
    pub wildcard_threshold: usize,
    /// Attempts when CloudFront reports too many invalidations in progress.
    pub invalidation_attempts: u32,
    /// Id of the dynamic origin in the distribution.
    pub origin_id: String,
    /// Its domain name; empty: the host of `snapshot.origin`.
    pub origin_domain: String,
    pub origin_protocol: OriginProtocol,
    /// CloudFront's tries to connect to the origin (1-3) and seconds per
    /// try (1-10). Low, so a dead origin costs seconds before the bucket
    /// answers instead of CloudFront's default 3 x 10 s.
    pub connection_attempts: i32,
    pub connection_timeout_secs: i32,
    /// Id of the bucket origin (the published copy).
    pub bucket_id: String,
    /// Its domain; empty: `<bucket>.s3.<region>.amazonaws.com` from
    /// `publish.target`. An `s3-website` domain is set up as a custom
    /// (HTTP) origin.
    pub bucket_domain: String,
    /// Origin path; empty: the prefix of `publish.target` plus
    /// `publish.build_prefix`.
    pub bucket_path: String,
    /// Origin access control for a private bucket.
    pub bucket_access_control_id: String,
    /// Id of the origin group: the origin first, the bucket on failure.
    pub group_id: String,
    /// Origin status codes that send a request on to the bucket.
    pub failover_status_codes: Vec<i32>,
    /// Cache behaviours routed through the group: `*` is the default
    /// behaviour, others are path patterns of existing behaviours.
    pub behaviors: Vec<String>,
    /// At most this many cache behaviours route the build's paths to the
    /// bucket origin (CloudFront's default quota is 25 per distribution).
    pub max_bucket_behaviors: usize,
    /// Seconds between `tusk watch`'s re-reads of the distribution (to see
    /// an operator's pin or another watcher's switch).
    pub watch_refresh_secs: u64,
}

impl Default for CdnConfig {
    fn default() -> Self {
        CdnConfig {
            provider: Provider::None,
            distribution_id: String::new(),
            endpoint: None,
            wildcard_threshold: 100,
            invalidation_attempts: 6,
            origin_id: "tusk-origin".into(),
            origin_domain: String::new(),
            origin_protocol: OriginProtocol::HttpsOnly,
            connection_attempts: 1,
            connection_timeout_secs: 2,
            bucket_id: "tusk-bucket".into(),
            bucket_domain: String::new(),
            bucket_path: String::new(),
            bucket_access_control_id: String::new(),
            group_id: "tusk-failover".into(),
            failover_status_codes: vec![500, 502, 503, 504],
            behaviors: vec!["*".into()],
            max_bucket_behaviors: 20,
            watch_refresh_secs: 30,
        }
    }
}

/// Cache-Control per cache class (see `tree::CacheClass`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheControlConfig {
    pub html: String,
    pub fingerprinted: String,
    pub asset: String,
    pub feed: String,
    pub redirect: String,
}

impl Default for CacheControlConfig {
    fn default() -> Self {
        CacheControlConfig {
            html: "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400".into(),
            fingerprinted: "public, max-age=31536000, immutable".into(),
            asset: "public, max-age=3600, stale-if-error=86400".into(),
            feed: "public, max-age=300, stale-if-error=86400".into(),
            redirect: "public, max-age=300".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheRule {
    pub glob: String,
    pub cache_control: String,
}

/// A loaded configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The project root every relative path is resolved against.
    pub root: PathBuf,
    /// Whether `site.base_url` was set (in a file or by `--base-url`),
    /// rather than left at its local default: a public publish needs it.
    pub base_url_set: bool,
}

impl Loaded {
    pub fn source_dir(&self) -> PathBuf {
        self.root.join(&self.config.build.source)
    }

    pub fn output_dir(&self) -> PathBuf {
        self.root.join(&self.config.build.output)
    }

    /// `--base-url`: the site's address for this run (a preview build).
    pub fn set_base_url(&mut self, url: &str) -> Result<()> {
        let valid = url::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !valid {
            bail!("--base-url {url:?}: expected an absolute http:// or https:// URL");
        }
        self.config.site.base_url = url.to_string();
        self.base_url_set = true;
        Ok(())
    }
}

/// Load `root/config/tusk.toml` and, when `env` is given, overlay
/// `root/config/<env>.toml`.
/// A folder with `_config.yml` and no `config/tusk.toml` is a Jekyll site.
/// Whether `root` holds a project: `config/tusk.toml` or a Jekyll site.
pub fn present(root: &Path) -> bool {
    root.join("config").join("tusk.toml").is_file() || crate::jekyll::is_jekyll_site(root)
}

/// Every default and no file: what the ops commands use with `--edge URL`
/// outside a project.
pub fn defaults(root: &Path) -> Loaded {
    Loaded {
        config: Config::default(),
        root: root.to_path_buf(),
        base_url_set: false,
    }
}

pub fn load(root: &Path, env: Option<&str>) -> Result<Loaded> {
    if crate::jekyll::is_jekyll_site(root) {
        let loaded = crate::jekyll::load(root)?;
        validate(&loaded.config, &root.join("_config.yml"))?;
        return Ok(loaded);
    }
    let base = root.join("config").join("tusk.toml");
    if !base.is_file() {
        bail!(
            "{} not found: run tusk from the project root (the folder holding config/ and site/), pass --root, or start a project with `tusk init`",
            base.display()
        );
    }
    let mut files = vec![base];
    if let Some(env) = env {
        if env.is_empty() || env.contains(['/', '\\']) || env.starts_with('.') {
            bail!("invalid environment name {env:?}");
        }
        let overlay = root.join("config").join(format!("{env}.toml"));
        if !overlay.is_file() {
            bail!(
                "environment {env:?} selected but {} does not exist",
                overlay.display()
            );
        }
        files.push(overlay);
    }

    let mut merged = toml::Table::new();
    for file in &files {
        let table = read_checked(file)?;
        deep_merge(&mut merged, table);
    }
    let base_url_set = merged
        .get("site")
        .and_then(|site| site.get("base_url"))
        .and_then(|url| url.as_str())
        .is_some_and(|url| !url.trim().is_empty());
    let mut config: Config = toml::Value::Table(merged)
        .try_into()
        .context("invalid merged configuration")?;
    if config.build.engine == Engine::Jekyll {
        let loaded = crate::jekyll::load_project(root, config)?;
        validate(&loaded.config, files.last().expect("at least one file"))?;
        return Ok(loaded);
    }
    if !base_url_set {
        // `base_url = ""` is unset too: the local default.
        config.site.base_url = SiteConfig::default().base_url;
    }
    validate(&config, files.last().expect("at least one file"))?;
    Ok(Loaded {
        config,
        root: root.to_path_buf(),
        base_url_set,
    })
}

/// Parse one file and check it against the schema on its own.
fn read_checked(file: &Path) -> Result<toml::Table> {
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    // Parsing into `Config` reports unknown keys and wrong types with a line
    // and column; the error text names the key.
    if let Err(e) = toml::from_str::<Config>(&text) {
        let position = e
            .span()
            .map(|span| {
                let (line, col) = crate::diag::line_col(&text, span.start);
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        // A bad value's message (`unknown variant`) does not say whose.
        let key = e
            .span()
            .and_then(|span| key_at(&text, span.start))
            .map(|key| format!(" {key}:"))
            .unwrap_or_default();
        bail!("{}{position}:{key} {}", file.display(), e.message().trim());
    }
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: invalid TOML", file.display()))?;
    Ok(table)
}

/// The dotted name of the key whose value starts at `offset`
/// (`publish.compress`): the last `[table]` header above it and the name
/// before `=` on its line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let (name, _) = before[line_start..].split_once('=')?;
    let name = name.trim().trim_matches('"');
    let table = before[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix('[')?
            .strip_suffix(']')
            .map(|t| t.trim_matches(['[', ']', ' ']))
    });
    Some(match table {
        Some(table) => format!("{table}.{name}"),
        None => name.to_string(),
    })
}

fn validate(config: &Config, last_file: &Path) -> Result<()> {
    for (what, origin) in [
        ("snapshot.origin", &config.snapshot.origin),
        ("edge.origin", &config.edge.origin),
    ] {
        refuse_credentials(what, origin).with_context(|| last_file.display().to_string())?;
    }
    let cdn = &config.cdn;
    let state = &config.publish.state;
    if !state.is_empty() && !state.starts_with("file://") && !state.starts_with("s3://") {
        bail!(
            "{}: publish.state {state:?} must be file://<folder> or s3://<bucket>/<prefix>",
            last_file.display()
        );
    }
    let target = config.publish.target.trim_end_matches('/');
    let state_dir = state.trim_end_matches('/');
    if !state.is_empty() && (state_dir == target || state_dir.starts_with(&format!("{target}/"))) {
        bail!(
            "{}: publish.state {state:?} is inside the served publish.target: visitors could read tusk's records there",
            last_file.display()
        );
    }
    let minutes = config.snapshot.max_minutes;
    if !(minutes.is_finite() && minutes >= 0.0) {
        bail!(
            "{}: snapshot.max_minutes {minutes} must be 0 (no limit) or more",
            last_file.display()
        );
    }
    if config.edge.max_connections < 2 {
        bail!(
            "{}: edge.max_connections must be at least 2",
            last_file.display()
        );
    }
    let share = config.publish.max_delete_share;
    if !(share > 0.0 && share <= 1.0) {
        bail!(
            "{}: publish.max_delete_share {share} must be more than 0 and at most 1",
            last_file.display()
        );
    }
    if config.publish.lock_secs < 3 {
        bail!(
            "{}: publish.lock_secs {} must be at least 3 (the lock is renewed every third of it)",
            last_file.display(),
            config.publish.lock_secs
        );
    }
    if !(1..=3).contains(&cdn.connection_attempts)
        || !(1..=10).contains(&cdn.connection_timeout_secs)
    {
        bail!(
            "{}: cdn.connection_attempts must be 1-3 and cdn.connection_timeout_secs 1-10 (CloudFront's limits)",
            last_file.display()
        );
    }
    // The codes CloudFront accepts in an origin group's failover criteria.
    const FAILOVER_CODES: [i32; 8] = [400, 403, 404, 416, 500, 502, 503, 504];
    if cdn.failover_status_codes.is_empty()
        || cdn
            .failover_status_codes
            .iter()
            .any(|c| !FAILOVER_CODES.contains(c))
    {
        bail!(
            "{}: cdn.failover_status_codes {:?} must be some of {FAILOVER_CODES:?}",
            last_file.display(),
            cdn.failover_status_codes
        );
    }
    let ids = [&cdn.origin_id, &cdn.bucket_id, &cdn.group_id];
    if ids.iter().any(|id| id.is_empty())
        || ids[0] == ids[1]
        || ids[1] == ids[2]
        || ids[0] == ids[2]
    {
        bail!(
            "{}: cdn.origin_id, cdn.bucket_id and cdn.group_id must be three different, non-empty ids",
            last_file.display()
        );
    }
    if cdn.behaviors.is_empty() {
        bail!(
            "{}: cdn.behaviors must name at least one cache behaviour (\"*\" is the default one)",
            last_file.display()
        );
    }
    if !(1..=3000).contains(&cdn.wildcard_threshold) {
        bail!(
            "{}: cdn.wildcard_threshold must be between 1 and 3000 (CloudFront's path limit)",
            last_file.display()
        );
    }
    if config.site.timezone.parse::<chrono_tz::Tz>().is_err() {
        bail!(
            "{}: site.timezone {:?} is not an IANA time zone name",
            last_file.display(),
            config.site.timezone
        );
    }
    for name in config.build.collections.keys() {
        if name == "posts" || name == "drafts" || name == "data" || name == "templates" {
            bail!(
                "{}: collection name {name:?} is reserved",
                last_file.display()
            );
        }
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            bail!(
                "{}: collection name {name:?} must be letters, digits, '-' or '_'",
                last_file.display()
            );
        }
    }
    Ok(())
}

/// An origin URL (`snapshot.origin`, `edge.origin`, `--origin`): http(s),
/// with a host, without credentials. Errors never repeat the URL, which
/// may hold a password.
pub fn check_origin(what: &str, origin: &str) -> Result<url::Url> {
    refuse_credentials(what, origin)?;
    let url = url::Url::parse(origin).map_err(|e| anyhow::anyhow!("{what} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("{what} must be an http:// or https:// URL with a host");
    }
    Ok(url)
}

/// `user:password@` in an origin would be printed, reported by the edge's
/// status and sent to the origin; a snapshot made with it is public.
fn refuse_credentials(what: &str, origin: &str) -> Result<()> {
    if let Ok(url) = url::Url::parse(origin) {
        if !url.username().is_empty() || url.password().is_some() {
            bail!("{what} must not carry credentials (user:password@ in the URL)");
        }
    }
    Ok(())
}

/// Merge `overlay` into `base`: tables merge key by key, anything else
/// (including arrays) is replaced, as in Hugo's config directory.
pub fn deep_merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => deep_merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The environment to use: the flag wins over `TUSK_ENV`.
pub fn selected_env(flag: Option<String>) -> Option<String> {
    flag.or_else(|| std::env::var(ENV_VAR).ok().filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_value_is_named_by_its_dotted_key() {
        let text = "[site]\ntitle = 'a'\n\n[publish]\ntarget = 'x'\ncompress = 'zip'\n";
        let at = text.find("'zip'").unwrap();
        assert_eq!(key_at(text, at).as_deref(), Some("publish.compress"));
        assert_eq!(key_at("a = 1", 4).as_deref(), Some("a"));
        let e = toml::from_str::<Config>(text).unwrap_err();
        assert!(e.message().contains("zip"), "{}", e.message());
    }

    #[test]
    fn overlay_merges_tables_and_replaces_values() {
        let mut base: toml::Table =
            toml::from_str("[site]\ntitle = 'a'\nauthor = 'x'\n[build]\nexclude = ['a']").unwrap();
        let overlay: toml::Table =
            toml::from_str("[site]\ntitle = 'b'\n[build]\nexclude = ['b', 'c']").unwrap();
        deep_merge(&mut base, overlay);
        let c: Config = toml::Value::Table(base).try_into().unwrap();
        assert_eq!(c.site.title, "b");
        assert_eq!(c.site.author, "x");
        assert_eq!(c.build.exclude, vec!["b", "c"]);
    }
}
