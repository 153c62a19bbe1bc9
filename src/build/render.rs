//! Templates: the theme's Tera templates, overridden by `site/_templates/`,
//! plus the bodies of non-Markdown documents (which are templates too, as
//! Liquid pages are in Jekyll).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use include_dir::{include_dir, Dir};
use serde_json::Value;
use tera::{Context, Tera};

use crate::diag::{chain, Diagnostic};

/// Themes shipped inside the binary, so a site without a `themes/` folder
/// (or a test fixture) still builds with the default theme.
static BUILTIN_THEMES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/themes");

/// Where a theme file comes from.
#[derive(Debug, Clone)]
pub enum ThemeFile {
    Disk(PathBuf),
    Builtin(&'static [u8]),
}

/// A theme: its templates and its static files.
#[derive(Debug, Default)]
pub struct Theme {
    /// (template name, source text, path shown in messages)
    pub templates: Vec<(String, String, String)>,
    /// (output key, file)
    pub static_files: Vec<(String, ThemeFile)>,
}

impl Theme {
    /// Load `root/themes/<name>/`, or the built-in theme of that name.
    pub fn load(project_root: &Path, name: &str) -> Result<Theme> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            bail!("invalid theme name {name:?}");
        }
        let dir = project_root.join("themes").join(name);
        if dir.is_dir() {
            return Theme::from_disk(project_root, &dir);
        }
        match BUILTIN_THEMES.get_dir(name) {
            Some(d) => Ok(Theme::builtin(d)),
            None => bail!(
                "theme {name:?} not found: no {} and no built-in theme of that name",
                dir.display()
            ),
        }
    }

    /// The build's theme: a Jekyll site's theme gem gives its `assets/`
    /// without front matter (its layouts and includes are Liquid's).
    pub fn of(loaded: &crate::config::Loaded) -> Result<Theme> {
        let Some(jekyll) = &loaded.config.jekyll else {
            return Theme::load(&loaded.root, &loaded.config.build.theme);
        };
        let mut theme = Theme::default();
        if let Some(dir) = &jekyll.theme_dir {
            for (rel, path) in files_under(&dir.join("assets"))? {
                let head = fs::read(&path).unwrap_or_default();
                if !head.starts_with(b"---\n") && !head.starts_with(b"---\r\n") {
                    theme
                        .static_files
                        .push((format!("assets/{rel}"), ThemeFile::Disk(path)));
                }
            }
        }
        Ok(theme)
    }

    fn from_disk(project_root: &Path, dir: &Path) -> Result<Theme> {
        let mut theme = Theme::default();
        let templates = dir.join("templates");
        for (rel, path) in files_under(&templates)? {
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read template {}", path.display()))?;
            theme
                .templates
                .push((rel, text, crate::content::display_path(project_root, &path)));
        }
        for (rel, path) in files_under(&dir.join("static"))? {
            theme.static_files.push((rel, ThemeFile::Disk(path)));
        }
        Ok(theme)
    }

    fn builtin(dir: &'static Dir<'static>) -> Theme {
        let mut theme = Theme::default();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            stack.extend(d.dirs());
            for f in d.files() {
                let path = f.path().to_string_lossy().replace('\\', "/");
                // path is `<theme>/templates/...` or `<theme>/static/...`
                let mut parts = path.splitn(3, '/');
                let (_, area, rel) = (parts.next(), parts.next(), parts.next());
                match (area, rel) {
                    (Some("templates"), Some(rel)) => theme.templates.push((
                        rel.to_string(),
                        f.contents_utf8().unwrap_or_default().to_string(),
                        format!("(built-in theme)/{path}"),
                    )),
                    (Some("static"), Some(rel)) => theme
                        .static_files
                        .push((rel.to_string(), ThemeFile::Builtin(f.contents()))),
                    _ => {}
                }
            }
        }
        theme.templates.sort_by(|a, b| a.0.cmp(&b.0));
        theme.static_files.sort_by(|a, b| a.0.cmp(&b.0));
        theme
    }
}

/// Files under `dir` as (relative `/` path, full path); empty when absent.
fn files_under(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .replace('\\', "/");
            if !rel.split('/').any(|s| s.starts_with('.')) {
                out.push((rel, entry.path().to_path_buf()));
            }
        }
    }
    Ok(out)
}

/// Name under which a non-Markdown document's body is registered.
pub fn body_template_name(source: &str) -> String {
    format!("__body__/{source}")
}

/// The template engine of a build: Tera for tusk projects, Liquid for
/// Jekyll sites (`_config.yml`). The build asks it the same questions
/// whichever it is; only documents render differently (Liquid runs before
/// Markdown, and layouts chain through their front matter).
pub enum Renderer {
    Tera(Box<TeraRenderer>),
    Liquid(Box<crate::build::liquid::LiquidRenderer>),
}

impl Renderer {
    /// Make `asset_url` and `asset_sri` available to every template.
    pub fn register_assets(&mut self, assets: &std::sync::Arc<crate::build::assets::Assets>) {
        match self {
            Renderer::Tera(t) => t.register_assets(assets),
            // Jekyll sites link their assets by path.
            Renderer::Liquid(_) => {}
        }
    }

    /// Whether rendering `name` may read `site.posts`, `site.tags`, ...
    /// (Liquid shares one `site` across threads, so it never costs a copy.)
    pub fn uses_lists(&self, name: &str) -> bool {
        match self {
            Renderer::Tera(t) => t.uses_lists(name),
            Renderer::Liquid(_) => false,
        }
    }

    /// Whether a body template failed to parse (and was reported).
    pub fn is_broken(&self, name: &str) -> bool {
        match self {
            Renderer::Tera(t) => t.is_broken(name),
            Renderer::Liquid(_) => false,
        }
    }

    /// Whether a template (Tera) or layout (Liquid) of that name exists.
    pub fn has(&self, name: &str) -> bool {
        match self {
            Renderer::Tera(t) => t.has(name),
            Renderer::Liquid(l) => l.has_layout(name),
        }
    }

    /// Render a Tera template; Liquid documents render through
    /// [`crate::build::liquid::LiquidRenderer::render_document`].
    pub fn render(&self, name: &str, context: &Context) -> Result<String, String> {
        match self {
            Renderer::Tera(t) => t.render(name, context),
            Renderer::Liquid(_) => Err(format!("{name}: not a Liquid layout")),
        }
    }

    /// `changed` templates and every template that uses one of them.
    pub fn dependents(
        &self,
        changed: &std::collections::HashSet<String>,
    ) -> std::collections::HashSet<String> {
        match self {
            Renderer::Tera(t) => t.dependents(changed),
            Renderer::Liquid(_) => changed.clone(),
        }
    }

    /// The file a template came from, for messages.
    pub fn file_of(&self, name: &str) -> Option<&str> {
        match self {
            Renderer::Tera(t) => t.file_of(name),
            Renderer::Liquid(l) => l.file_of(name),
        }
    }
}

/// The loaded Tera templates, ready to render in parallel (`Tera` is `Sync`).
pub struct TeraRenderer {
    tera: Tera,
    /// Templates that (directly or through extends/include/import) read
    /// the site's document lists.
    uses_lists: std::collections::HashSet<String>,
    /// Body templates that failed to parse (already reported).
    broken: std::collections::HashSet<String>,
    /// Template name -> file shown in messages.
    files: HashMap<String, String>,
    /// Template name -> the templates it extends, includes or imports.
    references: HashMap<String, Vec<String>>,
}

impl TeraRenderer {
    /// Theme templates overridden by `overrides_dir` (the site's
    /// `_templates/`), then each document body template. A broken body only
    /// reports its own document.
    pub fn new(
        theme: &Theme,
        overrides_dir: &Path,
        project_root: &Path,
        bodies: &[(String, &str, String, usize)],
        base_url: &str,
    ) -> Result<(TeraRenderer, Vec<Diagnostic>), Diagnostic> {
        let mut sources: Vec<(String, String, String)> = theme.templates.clone();
        let overrides = files_under(overrides_dir)
            .map_err(|e| Diagnostic::new(overrides_dir.display().to_string(), chain(&*e)))?;
        for (rel, path) in overrides {
            let text = fs::read_to_string(&path).map_err(|e| {
                Diagnostic::new(
                    crate::content::display_path(project_root, &path),
                    e.to_string(),
                )
            })?;
            let shown = crate::content::display_path(project_root, &path);
            sources.retain(|(name, _, _)| name != &rel);
            sources.push((rel, text, shown));
        }

        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html", ".htm", ".xml"]);
        tera.set_escape_fn(escape_html);
        register_filters(&mut tera, base_url);
        disable_env(&mut tera);
        bound_builtins(&mut tera);
        let files: HashMap<String, String> = sources
            .iter()
            .map(|(name, _, shown)| (name.clone(), shown.clone()))
            .collect();
        tera.add_raw_templates(sources.iter().map(|(n, t, _)| (n.as_str(), t.as_str())))
            .map_err(|e| template_error(&e, &files))?;

        let mut problems = Vec::new();
        let mut broken = std::collections::HashSet::new();
        for (name, body, shown, body_line) in bodies {
            if let Err(e) = tera.add_raw_template(name, body) {
                let mut d = tera_diagnostic(shown, &chain(&e));
                // Positions are relative to the body; report file lines.
                if let Some(line) = d.line.as_mut() {
                    *line += body_line - 1;
                }
                problems.push(d);
                broken.insert(name.clone());
            }
        }
        let all = sources
            .iter()
            .map(|(n, t, _)| (n.as_str(), t.as_str()))
            .chain(bodies.iter().map(|(n, t, _, _)| (n.as_str(), *t)));
        let (uses_lists, references) = template_graph(all);
        Ok((
            TeraRenderer {
                tera,
                uses_lists,
                files,
                broken,
                references: references.into_iter().collect(),
            },
            problems,
        ))
    }

    /// Make `asset_url` and `asset_sri` available to every template.
    pub fn register_assets(&mut self, assets: &std::sync::Arc<crate::build::assets::Assets>) {
        assets.register(&mut self.tera);
    }

    /// Whether rendering `name` may read `site.posts`, `site.tags`, ...
    pub fn uses_lists(&self, name: &str) -> bool {
        self.uses_lists.contains(name)
    }

    /// Whether a body template failed to parse (and was reported).
    pub fn is_broken(&self, name: &str) -> bool {
        self.broken.contains(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.tera.get_template_names().any(|n| n == name)
    }

    pub fn render(&self, name: &str, context: &Context) -> Result<String, String> {
        self.tera.render(name, context).map_err(|e| chain(&e))
    }

    /// `changed` templates and every template that extends, includes or
    /// imports one of them, directly or not.
    pub fn dependents(
        &self,
        changed: &std::collections::HashSet<String>,
    ) -> std::collections::HashSet<String> {
        let mut found = changed.clone();
        loop {
            let before = found.len();
            for (name, targets) in &self.references {
                if targets.iter().any(|t| found.contains(t)) {
                    found.insert(name.clone());
                }
            }
            if found.len() == before {
                return found;
            }
        }
    }

    /// The file a template came from, for messages.
    pub fn file_of(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }
}

/// The `site` keys whose values grow with the number of documents.
pub const LIST_KEYS: [&str; 6] = [
    "posts",
    "pages",
    "collections",
    "tags",
    "categories",
    "taxonomies",
];

/// Names of the templates that read a list key of `site`, directly or via
/// the templates they extend, include or import (any other use of `site`
/// as a whole, `site | json_encode`, `set s = site`, counts as reading
/// them); and what each template extends, includes or imports.
fn template_graph<'a>(
    templates: impl Iterator<Item = (&'a str, &'a str)>,
) -> (
    std::collections::HashSet<String>,
    Vec<(String, Vec<String>)>,
) {
    use std::sync::OnceLock;
    static SITE: OnceLock<regex::Regex> = OnceLock::new();
    static REFS: OnceLock<regex::Regex> = OnceLock::new();
    static QUOTED: OnceLock<regex::Regex> = OnceLock::new();
    static TAGS: OnceLock<regex::Regex> = OnceLock::new();
    let site = SITE.get_or_init(|| regex::Regex::new(r"\bsite\b(\.\w+)?").unwrap());
    let refs = REFS.get_or_init(|| {
        regex::Regex::new(r"\{%-?\s*(?:extends|include|import)\s+(.+?)-?%\}").unwrap()
    });
    let quoted = QUOTED.get_or_init(|| regex::Regex::new(r#""([^"]+)"|'([^']+)'"#).unwrap());
    let tags = TAGS.get_or_init(|| regex::Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").unwrap());

    let mut direct = std::collections::HashSet::new();
    let mut edges: Vec<(String, Vec<String>)> = Vec::new();
    for (name, text) in templates {
        // Only expressions and statements count: `site` in markup
        // (`class="site-header"`) reads nothing.
        let heavy = tags.find_iter(text).any(|tag| {
            site.captures_iter(tag.as_str()).any(|c| match c.get(1) {
                Some(key) => LIST_KEYS.contains(&&key.as_str()[1..]),
                None => true,
            })
        });
        if heavy {
            direct.insert(name.to_string());
        }
        let targets = refs
            .captures_iter(text)
            .flat_map(|c| {
                quoted
                    .captures_iter(c.get(1).map_or("", |m| m.as_str()))
                    .filter_map(|q| q.get(1).or(q.get(2)).map(|m| m.as_str().to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        edges.push((name.to_string(), targets));
    }
    // Propagate until nothing changes (template graphs are small).
    loop {
        let before = direct.len();
        for (name, targets) in &edges {
            if !direct.contains(name) && targets.iter().any(|t| direct.contains(t)) {
                direct.insert(name.clone());
            }
        }
        if direct.len() == before {
            return (direct, edges);
        }
    }
}

/// HTML escaping for `{{ }}` output. Tera's default also escapes `/`,
/// which turns every URL into `&#x2F;` soup; `/` is harmless in text and
/// attribute values, so only the five significant characters are escaped.
fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    // The five are ASCII, so copying the runs between them byte-wise keeps
    // UTF-8 intact (and beats pushing char by char).
    let mut done = 0;
    for (i, b) in input.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        out.push_str(&input[done..i]);
        out.push_str(entity);
        done = i + 1;
    }
    out.push_str(&input[done..]);
    out
}

/// A template syntax error, pinned to the template's file.
fn template_error(e: &tera::Error, files: &HashMap<String, String>) -> Diagnostic {
    let text = chain(e);
    let file = files
        .iter()
        .find(|(name, _)| text.contains(&format!("'{name}'")))
        .map(|(_, shown)| shown.clone())
        .unwrap_or_else(|| "templates".to_string());
    tera_diagnostic(&file, &text)
}

/// Tera's parse errors are a pest report (` --> line:col`, a source
/// excerpt, `= reason`); keep the position and the reason on one line.
fn tera_diagnostic(file: &str, text: &str) -> Diagnostic {
    let Some(pos) = text.find(" --> ") else {
        return Diagnostic::new(file, format!("template error: {text}"));
    };
    let head = text[..pos].trim_end_matches([':', ' ']);
    let reason = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("= "))
        .next()
        .unwrap_or("syntax error");
    let mut d = Diagnostic::new(file, format!("template error: {head}: {reason}"));
    let rest = &text[pos + 5..];
    let mut nums = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    if let (Some(l), Some(c)) = (nums.next(), nums.next()) {
        d = d.at(l.parse().unwrap_or(1), c.parse().ok());
    }
    d
}

/// Tera's built-in `get_env` hands any page the process environment (CI
/// secrets included); a function of the same name replaces it.
fn disable_env(tera: &mut Tera) {
    tera.register_function(
        "get_env",
        |_: &HashMap<String, Value>| -> tera::Result<Value> {
            Err("get_env is disabled: templates cannot read the environment".into())
        },
    );
}

/// Most items `range` makes: Tera's own loops forever on `step_by=0` and
/// fills memory on a huge `end`.
const MAX_RANGE: u64 = 100_000;

/// Bounded replacements for Tera's `range` and `get_random` (whose empty
/// range panics the build).
fn bound_builtins(tera: &mut Tera) {
    tera.register_function("range", bounded_range);
    tera.register_function("get_random", checked_random);
}

/// A whole-number argument of a template function, `default` when absent.
fn int_arg(
    f: &str,
    args: &HashMap<String, Value>,
    name: &str,
    default: Option<i64>,
) -> tera::Result<i64> {
    match args.get(name) {
        Some(v) => v
            .as_i64()
            .ok_or_else(|| format!("{f}: `{name}` must be a whole number, got {v}").into()),
        None => default.ok_or_else(|| format!("{f}: `{name}` is required").into()),
    }
}

fn bounded_range(args: &HashMap<String, Value>) -> tera::Result<Value> {
    let start = int_arg("range", args, "start", Some(0))?;
    let end = int_arg("range", args, "end", None)?;
    let step = int_arg("range", args, "step_by", Some(1))?;
    if step < 1 {
        return Err(
            format!("range: step_by must be at least 1, got {step} (it would never end)").into(),
        );
    }
    if start > end {
        return Err(format!("range: start {start} is after end {end}").into());
    }
    let count = (end - start).unsigned_abs().div_ceil(step as u64);
    if count > MAX_RANGE {
        return Err(format!("range: {count} items is more than the limit of {MAX_RANGE}").into());
    }
    Ok(Value::Array(
        (start..end)
            .step_by(step as usize)
            .map(Value::from)
            .collect(),
    ))
}

fn checked_random(args: &HashMap<String, Value>) -> tera::Result<Value> {
    let start = int_arg("get_random", args, "start", Some(0))?;
    let end = int_arg("get_random", args, "end", None)?;
    if start >= end {
        return Err(format!(
            "get_random: the range {start}..{end} is empty (end must be more than start)"
        )
        .into());
    }
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("get_random: {e}"))?;
    let span = (i128::from(end) - i128::from(start)) as u128;
    let offset = u128::from(u64::from_le_bytes(bytes)) % span;
    Ok(Value::from((i128::from(start) + offset as i128) as i64))
}

/// Jekyll-style URL filters: `{{ "/about/" | absolute_url }}` and `relative_url`.
fn register_filters(tera: &mut Tera, base_url: &str) {
    let base = base_url.trim_end_matches('/').to_string();
    tera.register_filter(
        "absolute_url",
        move |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            let s = v.as_str().unwrap_or_default();
            if s.starts_with("http://") || s.starts_with("https://") {
                return Ok(Value::String(s.to_string()));
            }
            Ok(Value::String(format!(
                "{base}/{}",
                s.trim_start_matches('/')
            )))
        },
    );
    tera.register_filter(
        "relative_url",
        |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            let s = v.as_str().unwrap_or_default();
            Ok(Value::String(format!("/{}", s.trim_start_matches('/'))))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape() {
        assert_eq!(
            escape_html("a < b & \"c\" > 'd' é€"),
            "a &lt; b &amp; &quot;c&quot; &gt; &#x27;d&#x27; é€"
        );
        assert_eq!(escape_html(""), "");
        assert_eq!(escape_html("&"), "&amp;");
    }

    #[test]
    fn list_use_is_found_through_extends_and_include() {
        let t = [
            (
                "base.html",
                "<nav class=\"site-nav\">{{ site.title }}</nav>{% block c %}{% endblock %}",
            ),
            (
                "post.html",
                "{% extends \"base.html\" %}{% block c %}{{ site.data.x }}{% endblock %}",
            ),
            (
                "recent.html",
                "{% for p in site.posts %}{{ p.title }}{% endfor %}",
            ),
            (
                "home.html",
                "{% extends 'base.html' %}{% block c %}{% include \"recent.html\" %}{% endblock %}",
            ),
            ("dump.html", "{{ site | json_encode }}"),
            ("multi.html", "{%\n set all = site\n%}<p>my site</p>"),
        ];
        let (used, edges) = template_graph(t.into_iter());
        let home = edges.iter().find(|(n, _)| n == "home.html").unwrap();
        assert_eq!(home.1, ["base.html", "recent.html"]);
        assert!(used.contains("recent.html"));
        assert!(used.contains("home.html"));
        assert!(used.contains("dump.html"));
        assert!(used.contains("multi.html"));
        assert!(!used.contains("post.html"));
        assert!(!used.contains("base.html"));
    }
}
