//! A Jekyll site as tusk sees it: a folder with `_config.yml` and no
//! `config/tusk.toml` builds as `jekyll build` would. `_config.yml` is
//! read once here into tusk's [`Config`] (URLs, collections, exclusions)
//! plus the [`JekyllSite`] the Liquid engine needs (the whole file as
//! `site.*`, front-matter `defaults`, the theme gem, the plugins).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde_json::{Map, Value};

use crate::config::{CollectionConfig, Config, FeedConfig, Loaded};

/// What the Liquid engine needs beyond tusk's own settings.
#[derive(Debug, Clone, Default)]
pub struct JekyllSite {
    /// `_config.yml` with Jekyll's defaults filled in: `site.*` in Liquid.
    pub config: Map<String, Value>,
    /// `defaults:` in order; later matching entries win, as in Jekyll.
    pub defaults: Vec<Scoped>,
    /// The theme gem's folder (`theme: minima`), read-only.
    pub theme_dir: Option<PathBuf>,
    pub plugins: Vec<Plugin>,
    /// `plugins:` entries tusk does not provide (a warning each).
    pub unknown_plugins: Vec<String>,
    /// `sass:`, as jekyll-sass-converter 2 reads it.
    pub sass: Sass,
}

/// The `sass:` settings that change the output.
#[derive(Debug, Clone)]
pub struct Sass {
    /// `sass_dir` (`_sass`), relative to the site.
    pub dir: String,
    /// `style: compressed`; every other style is written expanded
    /// (sassc's `nested`/`compact` differ from it in whitespace only).
    pub compressed: bool,
    /// Whether each Sass page gets a `.css.map` beside it (`sourcemap:`
    /// `always`, the default; `development` when JEKYLL_ENV is unset or
    /// `development`; `never`).
    pub source_maps: bool,
    /// `load_paths`, relative to the site (or absolute): searched before
    /// `sass_dir`, as the converter orders them.
    pub load_paths: Vec<String>,
}

impl Default for Sass {
    fn default() -> Sass {
        Sass {
            dir: "_sass".into(),
            compressed: false,
            source_maps: true,
            load_paths: Vec::new(),
        }
    }
}

/// `sass:` read leniently, as the converter does: an unknown style is
/// the default, an unknown `sourcemap` means always.
fn sass_settings(site: &Map<String, Value>) -> Sass {
    let sass = site.get("sass").and_then(Value::as_object);
    let text = |k: &str| {
        sass.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(|v| v.trim_start_matches(':').to_string())
            .unwrap_or_default()
    };
    let dir = text("sass_dir");
    let development = std::env::var("JEKYLL_ENV").map_or(true, |e| e == "development");
    Sass {
        dir: if dir.is_empty() {
            "_sass".into()
        } else {
            inside_site(&dir)
        },
        load_paths: sass.map(|m| list_of(m, "load_paths")).unwrap_or_default(),
        compressed: text("style") == "compressed",
        source_maps: match text("sourcemap").as_str() {
            "never" => false,
            "development" => development,
            _ => true,
        },
    }
}

/// `Jekyll.sanitized_path`: a path kept inside the site whatever its
/// `..` or leading `/` (`../../etc` is `etc` in the site).
fn inside_site(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// `csv_reader:` or `tsv_reader:` as Jekyll 4.3's `DataReader` reads it:
/// `csv_converters`, `headers` and `encoding` (the top-level `encoding`
/// when unset). Jekyll reads no other key (`converters:`, which some
/// guides show, is ignored by Jekyll too, so it is a warning here).
fn data_reader(site: &Map<String, Value>, key: &str) -> Result<crate::config::DataReader> {
    use crate::config::{CsvConverter as C, DataEncoding as E};
    let mut reader = crate::config::DataReader::default();
    let options = site.get(key).and_then(Value::as_object);
    if options.is_some_and(|o| o.contains_key("converters")) {
        tracing::warn!("_config.yml: {key}.converters is not read by Jekyll 4.3 (it reads {key}.csv_converters), so it is ignored");
    }
    for name in options
        .map(|o| list_of(o, "csv_converters"))
        .unwrap_or_default()
    {
        let add: &[C] = match name.trim_start_matches(':') {
            "integer" => &[C::Integer],
            "float" => &[C::Float],
            "numeric" => &[C::Integer, C::Float],
            "date" => &[C::Date],
            "date_time" => &[C::DateTime],
            "all" => &[C::DateTime, C::Integer, C::Float],
            other => bail!("_config.yml: {key}.csv_converters: {other:?} is not one of Ruby's CSV converters (integer, float, numeric, date, date_time, all)"),
        };
        reader.converters.extend_from_slice(add);
    }
    match options.and_then(|o| o.get("headers")) {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => reader.headers = *b,
        Some(other) => bail!("_config.yml: {key}.headers must be true or false, not {other}"),
    }
    let encoding = options
        .and_then(|o| o.get("encoding"))
        .or_else(|| site.get("encoding"))
        .and_then(Value::as_str)
        .unwrap_or("utf-8");
    reader.encoding = match encoding.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" => E::Utf8,
        "bom|utf-8" | "bom|utf8" => E::Utf8Bom,
        "iso-8859-1" | "latin1" | "iso8859-1" => E::Latin1,
        other => bail!("_config.yml: {key}: encoding {other:?} is not one tusk reads (utf-8, bom|utf-8, iso-8859-1)"),
    };
    Ok(reader)
}

/// One entry of `defaults:`: values for the documents in its scope.
#[derive(Debug, Clone)]
pub struct Scoped {
    /// Folder or file relative to the site ("" = everywhere).
    pub path: String,
    /// `pages`, `posts`, `drafts` or a collection name; None = any.
    pub kind: Option<String>,
    pub values: Map<String, Value>,
}

/// The plugins tusk builds in, as the gems behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    Feed,
    SeoTag,
    Sitemap,
    RedirectFrom,
    Paginate,
}

impl Plugin {
    fn from_gem(name: &str) -> Option<Plugin> {
        Some(match name {
            "jekyll-feed" => Plugin::Feed,
            "jekyll-seo-tag" => Plugin::SeoTag,
            "jekyll-sitemap" => Plugin::Sitemap,
            "jekyll-redirect-from" => Plugin::RedirectFrom,
            "jekyll-paginate" => Plugin::Paginate,
            _ => return None,
        })
    }
}

/// Whether `root` is a Jekyll site tusk should build in Jekyll mode.
pub fn is_jekyll_site(root: &Path) -> bool {
    !root.join("config/tusk.toml").is_file() && root.join("_config.yml").is_file()
}

/// Jekyll's own exclusions (`Jekyll::Configuration::DEFAULTS`).
const DEFAULT_EXCLUDE: [&str; 10] = [
    ".sass-cache",
    ".jekyll-cache",
    "gemfiles",
    "Gemfile",
    "Gemfile.lock",
    "node_modules",
    "vendor/bundle",
    "vendor/cache",
    "vendor/gems",
    "vendor/ruby",
];

/// Read `root/_config.yml` into a tusk configuration in Jekyll mode.
pub fn load(root: &Path) -> Result<Loaded> {
    let site = read_config(&root.join("_config.yml"))?;
    from_site(root, site, None)
}

/// A tusk project whose `config/tusk.toml` says `build.engine = "jekyll"`:
/// the Jekyll settings come from `<source>/_config.yml`, while where tusk
/// reads and writes (`build.source`, `build.output`) and tusk's own
/// settings (publish, CDN, edge...) stay those of `tusk`.
pub fn load_project(root: &Path, tusk: Config) -> Result<Loaded> {
    let file = root.join(&tusk.build.source).join("_config.yml");
    let site = read_config(&file)?;
    if site.contains_key("tusk") {
        tracing::warn!(
            "{}: the `tusk:` settings there are ignored: config/tusk.toml holds tusk's settings in this project",
            file.display()
        );
    }
    from_site(root, site, Some(tusk))
}

/// `_config.yml` as a map of settings.
pub fn read_config(file: &Path) -> Result<Map<String, Value>> {
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        anyhow::anyhow!("{}{at}: {e}", file.display())
    })?;
    match serde_json::to_value(yaml)? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => bail!("{}: expected a mapping of settings", file.display()),
    }
}

/// The configuration of a Jekyll site whose settings are `site`; `tusk`
/// given, a project's own settings and folders are kept.
fn from_site(root: &Path, mut site: Map<String, Value>, tusk: Option<Config>) -> Result<Loaded> {
    fill_defaults(&mut site);
    let time = site_time(&site).with_context(|| format!("{}/_config.yml: time", root.display()))?;
    site.insert("time".into(), Value::String(time));
    let config = tusk_config(&site, tusk)?;
    // Jekyll's `url` is the production address; a site without one is
    // treated like a tusk project without `site.base_url`.
    let base_url_set = !str_of(&site, "url").is_empty();
    let jekyll = JekyllSite {
        defaults: scoped_defaults(&site)?,
        theme_dir: theme_dir(&site)?,
        plugins: plugin_names(&site)
            .iter()
            .filter_map(|p| Plugin::from_gem(p))
            .collect(),
        unknown_plugins: plugin_names(&site)
            .into_iter()
            .filter(|p| Plugin::from_gem(p).is_none())
            .collect(),
        sass: sass_settings(&site),
        config: site,
    };
    let mut config = config;
    config.jekyll = Some(Box::new(jekyll));
    Ok(Loaded {
        config,
        root: root.to_path_buf(),
        base_url_set,
    })
}

/// The settings Jekyll assumes when `_config.yml` leaves them out.
fn fill_defaults(site: &mut Map<String, Value>) {
    let defaults = [
        ("baseurl", Value::String(String::new())),
        ("url", Value::String(String::new())),
        ("permalink", Value::String("date".into())),
        ("source", Value::String(".".into())),
        ("destination", Value::String("_site".into())),
        ("excerpt_separator", Value::String("\n\n".into())),
        ("markdown", Value::String("kramdown".into())),
        ("show_drafts", Value::Null),
        ("limit_posts", Value::from(0)),
    ];
    for (key, value) in defaults {
        let missing = site.get(key).is_none_or(Value::is_null);
        if missing && key != "show_drafts" {
            site.insert(key.to_string(), value);
        }
    }
}

/// `site.time`, as Jekyll prints a Ruby `Time`: `time:` when the site
/// pins it (reproducible builds), else when the build started.
fn site_time(site: &Map<String, Value>) -> Result<String> {
    use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
    const SHOWN: &str = "%Y-%m-%d %H:%M:%S %z";
    let given = str_of(site, "time");
    let given = given.trim();
    if given.is_empty() {
        return Ok(Local::now().format(SHOWN).to_string());
    }
    let local = |n: NaiveDateTime| Local.from_local_datetime(&n).earliest();
    let at = DateTime::parse_from_rfc3339(given)
        .or_else(|_| DateTime::parse_from_str(given, "%Y-%m-%d %H:%M:%S %z"))
        .ok()
        .map(|d| d.format(SHOWN).to_string())
        .or_else(|| {
            let n = NaiveDateTime::parse_from_str(given, "%Y-%m-%d %H:%M:%S")
                .ok()
                .or_else(|| {
                    NaiveDate::parse_from_str(given, "%Y-%m-%d")
                        .ok()?
                        .and_hms_opt(0, 0, 0)
                })?;
            Some(local(n)?.format(SHOWN).to_string())
        });
    at.with_context(|| format!("invalid time {given:?} (expected e.g. 2024-06-01 12:00:00 +0000)"))
}

fn str_of(site: &Map<String, Value>, key: &str) -> String {
    match site.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn list_of(site: &Map<String, Value>, key: &str) -> Vec<String> {
    match site.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// tusk's configuration for the site (`tusk:` holds the publish and CDN
/// settings): URLs, folders and collections from
/// `_config.yml`; tusk's own extras (taxonomy pages, generated feed,
/// sitemap, robots.txt, heading anchors) off, since Jekyll makes none.
fn tusk_config(site: &Map<String, Value>, project: Option<Config>) -> Result<Config> {
    // tusk's own settings (publish target, CDN, edge) may live under
    // `tusk:`, in the shape of config/tusk.toml, or in a project's file.
    let folders = project
        .as_ref()
        .map(|c| (c.build.source.clone(), c.build.output.clone()));
    let project_mode = folders.is_some();
    let mut config: Config = match (project, site.get("tusk")) {
        (Some(c), _) => c,
        (None, Some(v)) => serde_json::from_value(v.clone())
            .map_err(|e| anyhow::anyhow!("_config.yml: tusk: {e}"))?,
        (None, None) => Config::default(),
    };
    config.site.title = str_of(site, "title");
    config.site.description = str_of(site, "description");
    if let Some(Value::String(author)) = site.get("author") {
        config.site.author = author.clone();
    }
    if let Some(lang) = site.get("lang").and_then(Value::as_str) {
        config.site.language = lang.to_string();
    }
    let tz = str_of(site, "timezone");
    if !tz.is_empty() {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            bail!("_config.yml: timezone {tz:?} is not an IANA time zone name");
        }
        config.site.timezone = tz;
    }
    let url = str_of(site, "url");
    let baseurl = str_of(site, "baseurl");
    config.site.base_url = format!(
        "{}/{}",
        url.trim_end_matches('/'),
        baseurl.trim_matches('/')
    )
    .trim_end_matches('/')
    .to_string();

    let build = &mut config.build;
    // Jekyll's default converter is kramdown (`markdown: kramdown`).
    if str_of(site, "markdown").eq_ignore_ascii_case("kramdown") {
        build.markdown = crate::content::markdown::Flavor::Kramdown;
    }
    (build.source, build.output) = folders.unwrap_or_else(|| {
        (
            PathBuf::from(str_of(site, "source")),
            PathBuf::from(str_of(site, "destination")),
        )
    });
    build.permalink = str_of(site, "permalink");
    build.excerpt_separator = str_of(site, "excerpt_separator");
    build.drafts = site.get("show_drafts") == Some(&Value::Bool(true));
    build.future = site.get("future") == Some(&Value::Bool(true));
    // The output folder, when it lies inside the source, is never read.
    let plain = |p: &Path| -> PathBuf {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    };
    let output = plain(&build.output)
        .strip_prefix(plain(&build.source))
        .map(|o| o.to_string_lossy().trim_matches('/').to_string())
        .unwrap_or_default();
    build.exclude = DEFAULT_EXCLUDE
        .iter()
        .map(|s| s.to_string())
        .chain(
            list_of(site, "exclude")
                .into_iter()
                .map(|e| e.trim_matches('/').to_string()),
        )
        // Beside `_config.yml`, `config/` is tusk's (not so in a project,
        // whose config/ lies outside the source).
        .chain([
            output,
            if project_mode {
                String::new()
            } else {
                "config".to_string()
            },
        ])
        .filter(|e| !e.is_empty())
        .collect();
    build.include = list_of(site, "include");
    build.collections = collections(site)?;
    build.csv = data_reader(site, "csv_reader")?;
    build.tsv = data_reader(site, "tsv_reader")?;
    if let Some(p) = site
        .get("collections")
        .and_then(|c| c.get("posts"))
        .and_then(|p| p.get("permalink"))
        .and_then(Value::as_str)
    {
        build.permalink = p.to_string();
    }
    build.sitemap = false;
    build.robots = false;
    build.feed = FeedConfig {
        atom: String::new(),
        rss: String::new(),
        limit: 0,
    };
    build.heading_anchors = false;
    build.taxonomies.clear();
    build.paginate_by = 0;
    build.check_links = false;
    Ok(config)
}

/// `collections:` as a list of names or a map of settings (`posts` is
/// tusk's own posts and is left out).
fn collections(
    site: &Map<String, Value>,
) -> Result<std::collections::BTreeMap<String, CollectionConfig>> {
    let mut out = std::collections::BTreeMap::new();
    let one = |settings: Option<&Value>| CollectionConfig {
        output: settings.and_then(|s| s.get("output")) == Some(&Value::Bool(true)),
        permalink: settings
            .and_then(|s| s.get("permalink"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    match site.get("collections") {
        Some(Value::Array(names)) => {
            for n in names.iter().filter_map(Value::as_str) {
                out.insert(n.to_string(), one(None));
            }
        }
        Some(Value::Object(map)) => {
            for (n, settings) in map {
                out.insert(n.clone(), one(Some(settings)));
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => bail!("_config.yml: collections must be a list or a mapping"),
    }
    out.remove("posts");
    Ok(out)
}

/// `defaults:` entries (`scope: {path, type}`, `values`).
fn scoped_defaults(site: &Map<String, Value>) -> Result<Vec<Scoped>> {
    let Some(list) = site.get("defaults") else {
        return Ok(Vec::new());
    };
    let Value::Array(list) = list else {
        bail!("_config.yml: defaults must be a list of {{scope, values}}");
    };
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let scope = entry.get("scope");
        let values = match entry.get("values") {
            Some(Value::Object(m)) => m.clone(),
            _ => bail!("_config.yml: defaults[{i}] has no `values` mapping"),
        };
        let path = scope
            .and_then(|s| s.get("path"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_start_matches("./")
            .trim_matches('/')
            .to_string();
        let kind = scope
            .and_then(|s| s.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string);
        out.push(Scoped { path, kind, values });
    }
    Ok(out)
}

impl JekyllSite {
    /// The `defaults:` values for the document at `rel` of type `kind`
    /// (`pages`, `posts`, `drafts`, a collection), merged in order: a
    /// later or more specific entry wins, as in Jekyll.
    pub fn defaults_for(&self, rel: &str, kind: &str) -> Map<String, Value> {
        let mut matching: Vec<&Scoped> = self
            .defaults
            .iter()
            .filter(|s| s.kind.as_deref().is_none_or(|k| k == kind))
            .filter(|s| path_in_scope(rel, &s.path))
            .collect();
        // Jekyll sorts by specificity: longer paths, then having a type.
        matching.sort_by_key(|s| {
            (
                s.path.split('/').filter(|p| !p.is_empty()).count(),
                s.kind.is_some(),
            )
        });
        let mut out = Map::new();
        for s in matching {
            deep_merge(&mut out, &s.values);
        }
        out
    }
}

fn path_in_scope(rel: &str, scope: &str) -> bool {
    if scope.is_empty() {
        return true;
    }
    if scope.contains('*') {
        return globset::Glob::new(scope)
            .map(|g| g.compile_matcher().is_match(rel))
            .unwrap_or(false);
    }
    rel == scope || rel.starts_with(&format!("{scope}/"))
}

fn deep_merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => deep_merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn plugin_names(site: &Map<String, Value>) -> Vec<String> {
    let mut names = list_of(site, "plugins");
    names.extend(list_of(site, "gems"));
    names.dedup();
    names
}

/// Where Ruby keeps installed gems, in the order RubyGems searches them.
fn gem_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["GEM_HOME", "GEM_PATH"] {
        if let Ok(v) = std::env::var(var) {
            dirs.extend(
                v.split(':')
                    .filter(|p| !p.is_empty())
                    .map(|p| Path::new(p).join("gems")),
            );
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        if let Ok(rubies) = fs::read_dir(Path::new(&home).join(".gem/ruby")) {
            dirs.extend(rubies.flatten().map(|e| e.path().join("gems")));
        }
    }
    if let Ok(versions) = fs::read_dir("/var/lib/gems") {
        dirs.extend(versions.flatten().map(|e| e.path().join("gems")));
    }
    dirs.push(PathBuf::from("/usr/share/rubygems-integration/all/gems"));
    dirs
}

/// The installed gem folder for `theme:`, newest version first.
fn theme_dir(site: &Map<String, Value>) -> Result<Option<PathBuf>> {
    let name = str_of(site, "theme");
    if name.is_empty() {
        return Ok(None);
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("_config.yml: theme {name:?} is not a gem name");
    }
    let prefix = format!("{name}-");
    for dir in gem_dirs() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                e.file_name().to_str().is_some_and(|n| {
                    n.strip_prefix(&prefix)
                        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
                })
            })
            .map(|e| e.path())
            .collect();
        found.sort();
        if let Some(newest) = found.pop() {
            return Ok(Some(newest));
        }
    }
    bail!("_config.yml: theme {name:?} is not installed (looked for the gem {name}-<version> in the Gem paths: GEM_HOME, GEM_PATH, ~/.gem, /var/lib/gems, /usr/share/rubygems-integration)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_merge_by_scope_and_type() {
        let site: Map<String, Value> = serde_json::from_str(
            r#"{"defaults": [
                {"scope": {"path": ""}, "values": {"layout": "default", "a": 1}},
                {"scope": {"path": "docs", "type": "pages"}, "values": {"layout": "doc"}},
                {"scope": {"path": "", "type": "posts"}, "values": {"layout": "post"}}
            ]}"#,
        )
        .unwrap();
        let j = JekyllSite {
            defaults: scoped_defaults(&site).unwrap(),
            ..Default::default()
        };
        assert_eq!(j.defaults_for("docs/a.md", "pages")["layout"], "doc");
        assert_eq!(j.defaults_for("docsx/a.md", "pages")["layout"], "default");
        assert_eq!(j.defaults_for("_posts/x.md", "posts")["layout"], "post");
        assert_eq!(j.defaults_for("_posts/x.md", "posts")["a"], 1);
    }

    #[test]
    fn time_pins_site_time_and_a_bad_one_is_an_error() {
        let with = |t: &str| {
            let mut m = Map::new();
            m.insert("time".into(), Value::String(t.into()));
            site_time(&m)
        };
        assert_eq!(
            with("2024-06-01 12:00:00 +0000").unwrap(),
            "2024-06-01 12:00:00 +0000"
        );
        assert_eq!(
            with("2024-06-01T12:00:00+02:00").unwrap(),
            "2024-06-01 12:00:00 +0200"
        );
        let err = with("next tuesday").unwrap_err().to_string();
        assert!(err.contains("next tuesday"), "{err}");
        assert!(site_time(&Map::new()).unwrap().len() == 25);
    }
}
