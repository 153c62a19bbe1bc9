//! The Liquid engine, for Jekyll sites (`build::render::Renderer::Liquid`).
//!
//! In Jekyll's order: Liquid runs on a document's body, then Markdown (or
//! Sass) converts it, then each layout of the chain (`layout:` in a
//! layout's own front matter) wraps it. `_layouts`, `_includes` and
//! `_sass` come from the site, then from the theme gem. Templates are
//! parsed once; rendering shares one `site` value across threads.

mod filters;
mod math;
pub(crate) mod paginate;
mod plugins;
mod sass;
mod tags;
mod where_exp;
mod where_filter;

pub use filters::normalize_uri;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use liquid::model::Value as LValue;
use liquid_core::model::{KString, ObjectView, ValueView};
use serde_json::{json, Map, Value};

use crate::build::listing::Pager;
use crate::build::redirects;
use crate::config::Loaded;
use crate::content::{self, front_matter, markdown, Document, Kind, Site};
use crate::diag::Diagnostic;
use crate::jekyll::{JekyllSite, Plugin};

/// A layout: its template and the layout it sits in.
struct Layout {
    template: liquid::Template,
    parent: Option<String>,
    /// Its front matter, `layout.*` in Liquid.
    front: LValue,
    shown: String,
}

/// Everything a Jekyll site renders with, made once per build.
pub struct LiquidRenderer {
    parser: liquid::Parser,
    layouts: HashMap<String, Layout>,
    site: LValue,
    jekyll: LValue,
    /// The theme gem's pages with front matter (minima's `assets/main.scss`)
    /// the site does not override: (key, file).
    theme_pages: Vec<(String, PathBuf)>,
    sass: sass::Compiler,
    plugins: Vec<Plugin>,
    extras: markdown::Extras,
    /// The excerpts with Liquid in them, rendered (by source path).
    excerpts: Excerpts,
    /// `site.posts` (newest first): `related_posts` come from it.
    posts: Vec<LValue>,
    /// The posts jekyll-paginate lists (`hidden: true` left out).
    listed: Vec<LValue>,
}

/// Rendered excerpts by document source path.
type Excerpts = HashMap<String, String>;

/// The Liquid names under which values are seen.
fn globals<'a>(pairs: &[(&'static str, &'a dyn ValueView)]) -> HashMap<KString, &'a dyn ValueView> {
    pairs
        .iter()
        .map(|(k, v)| (KString::from_static(k), *v))
        .collect()
}

/// Files under `dir` (relative `/` path, full path), sorted.
fn files(dir: &Path) -> Vec<(String, PathBuf)> {
    if !dir.is_dir() {
        return Vec::new();
    }
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            Some((rel, e.path().to_path_buf()))
        })
        .collect()
}

/// Jekyll's tags take bare paths (`{% link docs/a.md %}`, `{% include
/// nav/top.html %}`) that Liquid's grammar cannot tokenise; quoted, they
/// are one string argument.
pub fn quote_paths(text: &str) -> std::borrow::Cow<'_, str> {
    use std::sync::OnceLock;
    static BARE: OnceLock<regex::Regex> = OnceLock::new();
    let bare = BARE.get_or_init(|| {
        regex::Regex::new(r#"(\{%-?\s*(?:link|post_url|include_relative)\s+)([^\s"'{%][^\s%]*)"#)
            .expect("a valid pattern")
    });
    bare.replace_all(text, "$1\"$2\"")
}

/// A Liquid error as a problem at `shown`, its position moved by the
/// line its text starts at.
fn liquid_problem(shown: &str, first_line: usize, e: &liquid::Error) -> Diagnostic {
    let text = e.to_string();
    let re = regex::Regex::new(r"--> (\d+):(\d+)").expect("a valid pattern");
    // Kept: the reason and what was asked for; not the source excerpt
    // (the position says where) nor the list of every name available.
    let reason = text
        .lines()
        .map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("liquid:").map_or(l, str::trim);
            l.strip_prefix("= ").unwrap_or(l).trim_end_matches('.')
        })
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("-->")
                && !l.starts_with("position=")
                && !l.starts_with('|')
                && !l.chars().next().is_some_and(|c| c.is_ascii_digit())
                && *l != "with:"
                && !l.starts_with("available ")
        })
        .collect::<Vec<_>>()
        .join("; ");
    let d = Diagnostic::new(shown, format!("Liquid: {reason}"));
    match re.captures(&text) {
        Some(c) => d.at(
            c[1].parse::<usize>().unwrap_or(1) + first_line - 1,
            c[2].parse().ok(),
        ),
        None => d,
    }
}

impl LiquidRenderer {
    pub fn new(
        loaded: &Loaded,
        site: &Site,
        jekyll: &JekyllSite,
    ) -> (LiquidRenderer, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let root = loaded.source_dir();
        let theme = jekyll.theme_dir.as_deref();
        let shown = |p: &Path| content::display_path(&loaded.root, p);
        for name in &jekyll.unknown_plugins {
            tracing::warn!(
                "_config.yml: plugin {name:?} is not built into tusk; its output will be missing"
            );
        }

        // `_includes`: the site's, then the theme's it does not override.
        let mut includes: Vec<(String, String, String)> = Vec::new();
        for dir in [Some(root.as_path()), theme].into_iter().flatten() {
            for (rel, path) in files(&dir.join("_includes")) {
                if includes.iter().any(|(r, _, _)| *r == rel) {
                    continue;
                }
                match fs::read_to_string(&path) {
                    Ok(text) => includes.push((rel, text, shown(&path))),
                    Err(e) => {
                        problems.push(Diagnostic::new(shown(&path), format!("cannot read: {e}")))
                    }
                }
            }
        }
        let config = &jekyll.config;
        let text_of = |k: &str| {
            config
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let extras = markdown::Extras {
            highlight: true,
            anchors: false,
            links: false,
            flavor: loaded.config.build.markdown,
        };
        let indexes = Arc::new(where_filter::Indexes::default());
        let lookups = Arc::new(tags::Lookups {
            by_path: site
                .documents
                .iter()
                .map(|d| (d.source.clone(), d.url.clone()))
                .chain(site.static_files.iter().map(|f| {
                    let rel = f
                        .path
                        .strip_prefix(&root)
                        .map(|p| p.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    (rel, format!("/{}", f.key))
                }))
                .collect(),
            posts: site
                .documents
                .iter()
                .filter(|d| d.kind == Kind::Post)
                .map(|d| {
                    let name = d.source.rsplit('/').next().unwrap_or(&d.source);
                    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
                    (stem.to_string(), d.url.clone())
                })
                .collect(),
            baseurl: text_of("baseurl").trim_end_matches('/').to_string(),
            site_root: root.clone(),
            parser: Default::default(),
        });
        let builder = |with_partials: bool| {
            let mut b = liquid::ParserBuilder::with_stdlib()
                .filter(liquid_lib::jekyll::Slugify)
                .filter(liquid_lib::jekyll::Sort)
                .filter(liquid_lib::jekyll::Pop)
                .filter(liquid_lib::jekyll::Push)
                .filter(liquid_lib::jekyll::Shift)
                .filter(liquid_lib::jekyll::Unshift)
                .filter(where_exp::WhereExp)
                .tag(liquid_lib::jekyll::IncludeTag)
                .block(tags::Highlight);
            let md = extras;
            let markdownify: Arc<dyn Fn(&str) -> String + Send + Sync> =
                Arc::new(move |s: &str| markdown::render(s, md).html);
            for f in filters::all(&text_of("url"), &text_of("baseurl"), markdownify.clone()) {
                b = b.filter(f);
            }
            b = b.filter(where_filter::filter(indexes.clone()));
            for f in filters::first_and_last() {
                b = b.filter(f);
            }
            for t in tags::simple_tags(&lookups, markdownify) {
                b = b.tag(t);
            }
            let mut source = liquid::partials::InMemorySource::new();
            if with_partials {
                for (rel, text, _) in &includes {
                    source.add(rel.clone(), quote_paths(text).into_owned());
                }
            }
            b.partials(liquid::partials::EagerCompiler::new(source))
                .build()
        };
        // Each include parsed on its own first, so an error names its file.
        let bare = builder(false).expect("the parser builds without partials");
        for (_, text, shown) in &includes {
            if let Err(e) = bare.parse(&quote_paths(text)) {
                problems.push(liquid_problem(shown, 1, &e));
            }
        }
        let parser = match builder(true) {
            Ok(p) => p,
            Err(_) => bare,
        };
        let _ = lookups.parser.set(parser.clone());

        let mut layouts = HashMap::new();
        for dir in [Some(root.as_path()), theme].into_iter().flatten() {
            for (rel, path) in files(&dir.join("_layouts")) {
                let name = rel
                    .rsplit_once('.')
                    .map_or(rel.as_str(), |(s, _)| s)
                    .to_string();
                if layouts.contains_key(&name) {
                    continue;
                }
                let shown = shown(&path);
                match read_layout(&parser, &path, &shown) {
                    Ok(l) => {
                        layouts.insert(name, l);
                    }
                    Err(d) => problems.push(d),
                }
            }
        }
        // jekyll-redirect-from's own layout, unless the site has one.
        if jekyll.plugins.contains(&Plugin::RedirectFrom) && !layouts.contains_key("redirect") {
            match parser.parse(plugins::REDIRECT_TEMPLATE) {
                Ok(template) => {
                    layouts.insert(
                        "redirect".to_string(),
                        Layout {
                            template,
                            parent: None,
                            front: LValue::Object(Default::default()),
                            shown: "(jekyll-redirect-from) redirect.html".to_string(),
                        },
                    );
                }
                Err(e) => problems.push(liquid_problem(
                    "(jekyll-redirect-from) redirect.html",
                    1,
                    &e,
                )),
            }
        }
        let mut theme_pages = Vec::new();
        if let Some(theme) = theme {
            for (rel, path) in files(&theme.join("assets")) {
                let key = format!("assets/{rel}");
                let own = root.join(&key);
                if has_front_matter(&path) && !own.exists() {
                    let key = match key.rsplit_once('.') {
                        Some((stem, "scss" | "sass")) => format!("{stem}.css"),
                        _ => key,
                    };
                    theme_pages.push((key, path));
                }
            }
        }
        let sass_paths = jekyll
            .sass
            .load_paths
            .iter()
            .map(|p| root.join(p))
            .chain([root.join(&jekyll.sass.dir)])
            .chain(theme.map(|t| t.join("_sass")))
            .collect();
        let sass = sass::Compiler::new(&root, sass_paths, theme, &loaded.root, jekyll.sass.clone());
        let first_site = site_value(loaded, site, jekyll, &Excerpts::new());
        let mut renderer = LiquidRenderer {
            parser,
            layouts,
            site: liquid::model::to_value(&first_site).unwrap_or(LValue::Nil),
            jekyll: liquid::model::to_value(&json!({
                "version": plugins::JEKYLL_VERSION,
                "environment": std::env::var("JEKYLL_ENV").ok().filter(|e| e == "production").unwrap_or_else(|| "development".into()),
            }))
            .unwrap_or(LValue::Nil),
            theme_pages,
            sass,
            plugins: jekyll.plugins.clone(),
            extras,
            excerpts: Excerpts::new(),
            posts: Vec::new(),
            listed: Vec::new(),
        };
        let excerpts = renderer.liquid_excerpts(loaded, site);
        (renderer.posts, renderer.listed) = post_values(loaded, site, &excerpts);
        if !excerpts.is_empty() {
            let with_excerpts = site_value(loaded, site, jekyll, &excerpts);
            renderer.site = liquid::model::to_value(&with_excerpts).unwrap_or(LValue::Nil);
            renderer.excerpts = excerpts;
        }
        // `site` is final: its lists can be indexed for `where`.
        indexes.pin(&renderer.site);
        (renderer, problems)
    }

    pub fn has_layout(&self, name: &str) -> bool {
        self.layouts.contains_key(name.trim_end_matches(".html"))
    }

    /// The layout file of a layout name, for messages.
    pub fn file_of(&self, name: &str) -> Option<&str> {
        self.layouts
            .get(name.trim_end_matches(".html"))
            .map(|l| l.shown.as_str())
    }

    /// Render `doc` (already read): Liquid, then its converter, then its
    /// layouts.
    /// `paging`: jekyll-paginate's page of the template page, and its URL.
    pub fn render_document(
        &self,
        loaded: &Loaded,
        doc: &Document,
        previous: Option<&Document>,
        next: Option<&Document>,
        paging: Option<(&Pager, &str)>,
    ) -> Result<String, Diagnostic> {
        let shown = content::shown_source(loaded, doc);
        let mut page = page_value(loaded, &self.excerpts, doc);
        if redirecting(loaded) && redirects::target(doc).is_some() {
            // jekyll-redirect-from: the document becomes its redirect page.
            let page = liquid::model::to_value(&Value::Object(page)).unwrap_or(LValue::Nil);
            let site = self.site_for(doc);
            return self.wrap(
                String::new(),
                Some("redirect".into()),
                &page,
                &site,
                &LValue::Nil,
                &shown,
            );
        }
        let text = if doc.markdown {
            doc.markdown_body(&shown)?
        } else {
            doc.body.clone()
        };
        if let Some((_, url)) = paging {
            pager_fields(&mut page, url);
        }
        let paginator = paging.map_or(LValue::Nil, |(p, _)| paginate::paginator(p, &self.listed));
        page.insert(
            "previous".into(),
            previous.map_or(Value::Null, |d| {
                Value::Object(page_value(loaded, &self.excerpts, d))
            }),
        );
        page.insert(
            "next".into(),
            next.map_or(Value::Null, |d| {
                Value::Object(page_value(loaded, &self.excerpts, d))
            }),
        );
        let page = liquid::model::to_value(&Value::Object(page)).unwrap_or(LValue::Nil);
        let site = self.site_for(doc);
        let body = self.render_in(&text, &shown, doc.body_line, &page, &site, &paginator)?;
        let converted = if doc.markdown {
            markdown::render(&body, self.extras).html
        } else if is_sass(&doc.source) {
            self.sass
                .compile(&body, file_name(&doc.source), &shown, doc.body_line)?
                .css
        } else {
            body
        };
        let layout = doc
            .layout
            .as_deref()
            .map(|l| l.trim_end_matches(".html").to_string());
        self.wrap(converted, layout, &page, &site, &paginator, &shown)
    }

    /// `site` as document `doc` sees it: with `related_posts` for the
    /// documents of a collection (posts included), as `SiteDrop` has them.
    fn site_for(&self, doc: &Document) -> SiteFor<'_> {
        let related = (doc.kind != Kind::Page).then(|| related_posts(&self.posts, &doc.source));
        SiteFor {
            base: &self.site,
            related,
        }
    }

    fn render_text(
        &self,
        text: &str,
        shown: &str,
        first_line: usize,
        page: &LValue,
    ) -> Result<String, Diagnostic> {
        self.render_in(text, shown, first_line, page, &self.site, &LValue::Nil)
    }

    fn render_in(
        &self,
        text: &str,
        shown: &str,
        first_line: usize,
        page: &LValue,
        site: &dyn ValueView,
        paginator: &LValue,
    ) -> Result<String, Diagnostic> {
        let template = self
            .parser
            .parse(&quote_paths(text))
            .map_err(|e| liquid_problem(shown, first_line, &e))?;
        let g = globals(&[
            ("site", site),
            ("page", page),
            ("jekyll", &self.jekyll),
            ("paginator", paginator),
        ]);
        template
            .render(&g)
            .map_err(|e| liquid_problem(shown, first_line, &e))
    }

    /// A jekyll-redirect-from page: the `redirect` layout (the site's, or
    /// the gem's) with `page.redirect`.
    pub fn redirect_page(&self, from: &str, to: &str) -> Result<String, Diagnostic> {
        let page = liquid::model::to_value(&json!({
            "url": from,
            "permalink": from,
            "name": "redirect.html",
            "path": "redirect.html",
            "layout": "redirect",
            "sitemap": false,
            "redirect": {"from": from, "to": to},
        }))
        .unwrap_or(LValue::Nil);
        let shown = format!("redirect_from {from}");
        self.wrap(
            String::new(),
            Some("redirect".into()),
            &page,
            &self.site,
            &LValue::Nil,
            &shown,
        )
    }

    /// The layout chain around `content`.
    fn wrap(
        &self,
        mut content: String,
        mut layout: Option<String>,
        page: &LValue,
        site: &dyn ValueView,
        paginator: &LValue,
        shown: &str,
    ) -> Result<String, Diagnostic> {
        let mut depth = 0;
        while let Some(name) = layout {
            let Some(l) = self.layouts.get(&name) else {
                return Err(Diagnostic::new(
                    shown,
                    format!("layout {name:?} not found in _layouts/ (site or theme)"),
                ));
            };
            depth += 1;
            if depth > 20 {
                return Err(Diagnostic::new(
                    shown,
                    format!("layout {name:?}: the layout chain loops"),
                ));
            }
            let c = LValue::scalar(content);
            let g = globals(&[
                ("site", site),
                ("page", page),
                ("jekyll", &self.jekyll),
                ("layout", &l.front),
                ("content", &c),
                ("paginator", paginator),
            ]);
            content = l.template.render(&g).map_err(|e| {
                let d = liquid_problem(&l.shown, 1, &e);
                Diagnostic::new(shown, format!("rendering with {}: {}", l.shown, d.message))
            })?;
            layout = l.parent.clone();
        }
        Ok(content)
    }

    /// The files the plugins and the theme's pages make (feed.xml,
    /// sitemap.xml, robots.txt, assets/main.css), unless the site has them.
    pub fn generated(
        &self,
        loaded: &Loaded,
        site: &Site,
        taken: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, Vec<u8>)>, Diagnostic> {
        let mut out = Vec::new();
        for (key, path) in &self.theme_pages {
            if taken(key) {
                continue;
            }
            let shown = path.display().to_string();
            let text =
                fs::read_to_string(path).map_err(|e| Diagnostic::new(&shown, e.to_string()))?;
            let split =
                front_matter::parse(&text).map_err(|e| Diagnostic::new(&shown, e.message))?;
            let body = split.map_or(text.as_str(), |s| s.body);
            let page = liquid::model::to_value(&json!({"url": format!("/{key}"), "path": key}))
                .unwrap_or(LValue::Nil);
            let body = self.render_text(body, &shown, 1, &page)?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            match name.filter(|n| is_sass(n)) {
                Some(name) => {
                    let compiled = self.sass.compile(&body, &name, &shown, 1)?;
                    out.push((key.clone(), compiled.css.into_bytes()));
                    out.extend(map_of(key, compiled.map, taken));
                }
                None => out.push((key.clone(), body.into_bytes())),
            }
        }
        out.extend(self.source_maps(loaded, site, taken)?);
        if self.plugins.contains(&Plugin::Feed) && !taken("feed.xml") {
            let page = liquid::model::to_value(&json!({"url": "/feed.xml", "collection": "posts"}))
                .unwrap_or(LValue::Nil);
            let mut site_value = self.site.clone();
            // The feed shows each post's rendered content.
            if let Some(obj) = site_value.as_object_mut() {
                let posts: Vec<LValue> = site
                    .documents
                    .iter()
                    .filter(|d| d.kind == Kind::Post && d.output.is_some())
                    .take(loaded.config.build.feed.limit.max(10))
                    .map(|d| {
                        let mut v = page_value(loaded, &self.excerpts, d);
                        let content = self.render_document_content(loaded, d).unwrap_or_default();
                        v.insert("content".into(), Value::String(content));
                        liquid::model::to_value(&Value::Object(v)).unwrap_or(LValue::Nil)
                    })
                    .collect();
                obj.insert("posts".into(), LValue::Array(posts));
            }
            let xml = self.render_with_site(
                plugins::FEED_TEMPLATE,
                "(jekyll-feed) feed.xml",
                &site_value,
                &page,
            )?;
            out.push(("feed.xml".into(), xml.into_bytes()));
        }
        let json_on = self.config_flag(&["redirect_from", "json"]) != Some(false);
        if self.plugins.contains(&Plugin::RedirectFrom) && json_on && !taken("redirects.json") {
            // The gem's `redirects.to_json`: one object, first place kept
            // and last target winning when an old URL repeats.
            let mut order: Vec<String> = Vec::new();
            let mut to: HashMap<String, String> = HashMap::new();
            for r in redirects::jekyll_order(loaded, site) {
                if to.insert(r.from.clone(), r.to).is_none() {
                    order.push(r.from);
                }
            }
            let fields: Vec<String> = order
                .iter()
                .map(|f| format!("{}:{}", json!(f), json!(to[f])))
                .collect();
            out.push((
                "redirects.json".into(),
                format!("{{{}}}", fields.join(",")).into_bytes(),
            ));
        }
        if self.plugins.contains(&Plugin::Sitemap) {
            if !taken("sitemap.xml") {
                let page =
                    liquid::model::to_value(&json!({"url": "/sitemap.xml", "static_files": []}))
                        .unwrap_or(LValue::Nil);
                let xml = self.render_with_site(
                    plugins::SITEMAP_TEMPLATE,
                    "(jekyll-sitemap) sitemap.xml",
                    &self.site,
                    &page,
                )?;
                out.push(("sitemap.xml".into(), xml.into_bytes()));
            }
            if !taken("robots.txt") {
                let page =
                    liquid::model::to_value(&json!({"url": "/robots.txt"})).unwrap_or(LValue::Nil);
                let txt = self.render_with_site(
                    plugins::ROBOTS_TEMPLATE,
                    "(jekyll-sitemap) robots.txt",
                    &self.site,
                    &page,
                )?;
                out.push(("robots.txt".into(), txt.into_bytes()));
            }
        }
        Ok(out)
    }

    /// The `.css.map` beside each of the site's Sass pages (compiled again:
    /// a site has one or two).
    fn source_maps(
        &self,
        loaded: &Loaded,
        site: &Site,
        taken: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, Vec<u8>)>, Diagnostic> {
        let mut out = Vec::new();
        for doc in site.documents.iter().filter(|d| is_sass(&d.source)) {
            let Some(key) = &doc.output else { continue };
            let shown = content::shown_source(loaded, doc);
            let page =
                liquid::model::to_value(&Value::Object(page_value(loaded, &self.excerpts, doc)))
                    .unwrap_or(LValue::Nil);
            let body = self.render_text(&doc.body, &shown, doc.body_line, &page)?;
            let compiled =
                self.sass
                    .compile(&body, file_name(&doc.source), &shown, doc.body_line)?;
            out.extend(map_of(key, compiled.map, taken));
        }
        Ok(out)
    }

    /// The excerpts whose source has Liquid, rendered as Jekyll renders
    /// them: Liquid on the excerpt's text, then Markdown; and those of
    /// documents that are not Markdown (an `.html` post), which Jekyll
    /// cuts from the body the same way and does not convert. An excerpt
    /// cut inside a block tag is taken from the rendered body instead; a
    /// body that does not render is reported when its page is. An
    /// `excerpt:` in the front matter is kept as it is written.
    fn liquid_excerpts(&self, loaded: &Loaded, site: &Site) -> Excerpts {
        use rayon::prelude::*;
        site.documents
            .par_iter()
            .filter(|d| d.kind != Kind::Page && !is_sass(&d.source))
            .filter(|d| !d.front.contains_key("excerpt"))
            .filter_map(|doc| Some((doc.source.clone(), self.liquid_excerpt(loaded, doc)?)))
            .collect()
    }

    fn liquid_excerpt(&self, loaded: &Loaded, doc: &Document) -> Option<String> {
        let shown = content::shown_source(loaded, doc);
        let body = match doc.markdown {
            true => doc.markdown_body(&shown).ok()?,
            false => doc.body.clone(),
        };
        let separator = match doc.front.get("excerpt_separator") {
            Some(Value::String(s)) => s.as_str(),
            _ => loaded.config.build.excerpt_separator.as_str(),
        };
        let source = markdown::excerpt_source(&body, separator);
        if !source.contains("{{") && !source.contains("{%") {
            // Markdown excerpts without Liquid were converted when read.
            return (!doc.markdown).then(|| source.to_string());
        }
        let page = liquid::model::to_value(&Value::Object(page_value(loaded, &self.excerpts, doc)))
            .ok()?;
        let text = self
            .render_text(source, &shown, doc.body_line, &page)
            .or_else(|_| {
                self.render_text(&body, &shown, doc.body_line, &page)
                    .map(|all| markdown::excerpt_source(&all, separator).to_string())
            })
            .ok()?;
        match doc.markdown {
            true => Some(markdown::render_fragment(&text, self.extras.flavor)),
            false => Some(text),
        }
    }

    /// A post's body as its layout sees it (`post.content` in the feed).
    fn render_document_content(&self, loaded: &Loaded, doc: &Document) -> Option<String> {
        let shown = content::shown_source(loaded, doc);
        let text = doc.markdown_body(&shown).ok()?;
        let page = liquid::model::to_value(&Value::Object(page_value(loaded, &self.excerpts, doc)))
            .ok()?;
        let body = self.render_text(&text, &shown, doc.body_line, &page).ok()?;
        Some(markdown::render(&body, self.extras).html)
    }

    /// A boolean setting of `_config.yml` at `path`, when set.
    fn config_flag(&self, path: &[&str]) -> Option<bool> {
        let mut v: &dyn ValueView = &self.site;
        for p in path {
            v = v.as_object()?.get(p)?;
        }
        v.as_scalar()?.to_bool()
    }

    fn render_with_site(
        &self,
        text: &str,
        shown: &str,
        site: &LValue,
        page: &LValue,
    ) -> Result<String, Diagnostic> {
        let template = self
            .parser
            .parse(text)
            .map_err(|e| liquid_problem(shown, 1, &e))?;
        let nil = LValue::Nil;
        let g = globals(&[
            ("site", site),
            ("page", page),
            ("jekyll", &self.jekyll),
            ("paginator", &nil),
        ]);
        template
            .render(&g)
            .map_err(|e| liquid_problem(shown, 1, &e))
    }
}

fn is_sass(name: &str) -> bool {
    name.ends_with(".scss") || name.ends_with(".sass")
}

fn file_name(source: &str) -> &str {
    source.rsplit('/').next().unwrap_or(source)
}

/// `css_key.map` with the map's text, unless the site has that file.
fn map_of(
    css_key: &str,
    map: Option<String>,
    taken: &dyn Fn(&str) -> bool,
) -> Option<(String, Vec<u8>)> {
    let key = format!("{css_key}.map");
    map.filter(|_| !taken(&key)).map(|m| (key, m.into_bytes()))
}

fn has_front_matter(path: &Path) -> bool {
    fs::read(path).is_ok_and(|b| b.starts_with(b"---\n") || b.starts_with(b"---\r\n"))
}

fn read_layout(parser: &liquid::Parser, path: &Path, shown: &str) -> Result<Layout, Diagnostic> {
    let text = fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(shown, format!("cannot read: {e}")))?;
    let (front, body, line) =
        match front_matter::parse(&text).map_err(|e| Diagnostic::new(shown, e.message))? {
            Some(s) => (s.data, s.body, s.body_line),
            None => (Map::new(), text.as_str(), 1),
        };
    let template = parser
        .parse(&quote_paths(body))
        .map_err(|e| liquid_problem(shown, line, &e))?;
    let parent = front
        .get("layout")
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty() && *l != "none")
        .map(|l| l.trim_end_matches(".html").to_string());
    Ok(Layout {
        template,
        parent,
        front: liquid::model::to_value(&Value::Object(front)).unwrap_or(LValue::Nil),
        shown: shown.to_string(),
    })
}

/// A date as Jekyll prints a Ruby `Time` (`2024-01-05 10:00:00 +0000`).
fn date_text(loaded: &Loaded, doc: &Document) -> Value {
    match doc.date {
        Some(d) => json!(d.format("%Y-%m-%d %H:%M:%S %z").to_string()),
        // A collection document without a date has the build's
        // (`site.time`), as in Jekyll.
        None if doc.kind == Kind::Document => site_time(loaded),
        None => Value::Null,
    }
}

/// `site.time`: one value for the whole build, set when `_config.yml`
/// was read (see `jekyll::site_time`).
fn site_time(loaded: &Loaded) -> Value {
    let jekyll = loaded.config.jekyll.as_deref();
    jekyll
        .and_then(|j| j.config.get("time"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// `page` (and the entries of `site.posts`, `site.pages`): front matter
/// at the top level, with Jekyll's computed fields.
fn page_value(loaded: &Loaded, excerpts: &Excerpts, doc: &Document) -> Map<String, Value> {
    let mut m = doc.front.clone();
    let name = doc
        .source
        .rsplit('/')
        .next()
        .unwrap_or(&doc.source)
        .to_string();
    m.insert("url".into(), json!(doc.url));
    m.insert("path".into(), json!(doc.source));
    m.insert("name".into(), json!(name));
    if doc.kind != Kind::Page || doc.front.contains_key("title") {
        m.insert("title".into(), json!(doc.title));
    }
    if doc.kind != Kind::Page {
        m.insert("date".into(), date_text(loaded, doc));
        m.insert("slug".into(), json!(doc.slug));
        m.insert(
            "id".into(),
            json!(doc.url.trim_end_matches(".html").trim_end_matches('/')),
        );
        // An `excerpt:` of the front matter wins, unrendered, as in Jekyll.
        if !doc.front.contains_key("excerpt") {
            let excerpt = excerpts.get(&doc.source).unwrap_or(&doc.excerpt);
            m.insert("excerpt".into(), json!(excerpt));
        }
        m.insert("categories".into(), json!(doc.categories));
        m.insert("tags".into(), json!(doc.tags));
        m.insert("draft".into(), json!(doc.draft));
        m.insert(
            "collection".into(),
            json!(doc.collection.as_deref().unwrap_or("posts")),
        );
    } else {
        let dir = doc.url.rsplit_once('/').map_or("/", |(d, _)| d);
        m.insert("dir".into(), json!(format!("{dir}/")));
    }
    if let Some(to) = redirects::target(doc).filter(|_| redirecting(loaded)) {
        // The gem merges its redirect page's data into the document's.
        let to = redirects::absolute_url(loaded, to);
        m.insert("permalink".into(), json!(doc.url));
        m.insert("redirect".into(), json!({"from": doc.url, "to": to}));
        m.insert("sitemap".into(), json!(false));
        m.insert("layout".into(), json!("redirect"));
    }
    m
}

/// `site.posts` as Liquid values (newest first), for `related_posts`, and
/// the ones jekyll-paginate lists (`hidden: true` left out).
fn post_values(loaded: &Loaded, site: &Site, excerpts: &Excerpts) -> (Vec<LValue>, Vec<LValue>) {
    let posts: Vec<(&Document, LValue)> = site
        .documents
        .iter()
        .filter(|d| d.kind == Kind::Post)
        .map(|d| {
            let v = Value::Object(page_value(loaded, excerpts, d));
            (d, liquid::model::to_value(&v).unwrap_or(LValue::Nil))
        })
        .collect();
    let listed = posts
        .iter()
        .filter(|(d, _)| paginate::listed(d))
        .map(|(_, v)| v.clone())
        .collect();
    (posts.into_iter().map(|(_, v)| v).collect(), listed)
}

/// Whether jekyll-redirect-from is on.
fn redirecting(loaded: &Loaded) -> bool {
    loaded
        .config
        .jekyll
        .as_deref()
        .is_some_and(|j| j.plugins.contains(&Plugin::RedirectFrom))
}

/// The pages the gems add to `site.pages` after reading the site, in the
/// order their generators run: jekyll-redirect-from's redirect pages,
/// then jekyll-paginate's pages 2 and on.
fn generated_pages(loaded: &Loaded, site: &Site) -> Vec<Value> {
    let mut out = Vec::new();
    for r in redirects::jekyll_order(loaded, site) {
        if r.own_page {
            out.push(json!({
                "url": r.from, "permalink": r.from, "name": "redirect.html", "path": "redirect.html",
                "dir": r.from.rsplit_once('/').map_or("/".to_string(), |(d, _)| format!("{d}/")),
                "layout": "redirect", "sitemap": false, "redirect": {"from": r.from, "to": r.to},
            }));
        }
    }
    if let Ok(Some(p)) = paginate::plan(loaded, site) {
        let template = page_value(loaded, &Excerpts::new(), &site.documents[p.doc]);
        for pager in p.pagers.iter().skip(1) {
            let mut page = template.clone();
            pager_fields(&mut page, &pager.page_url(pager.number));
            out.push(Value::Object(page));
        }
    }
    out
}

/// A jekyll-paginate page at `url` (`/blog/page2/`). Its `path` stays
/// the template's (`blog/index.html`), as in Jekyll (checked with 4.3).
fn pager_fields(page: &mut Map<String, Value>, url: &str) {
    page.insert("url".into(), json!(url));
    page.insert("dir".into(), json!(url));
}

/// Jekyll's related posts without LSI: the ten most recent posts other
/// than this one (`RelatedPosts#most_recent_posts`); none when the site
/// has a single post.
fn related_posts(posts: &[LValue], source: &str) -> LValue {
    if posts.len() <= 1 {
        return LValue::Array(Vec::new());
    }
    let own = |p: &&LValue| {
        p.as_object()
            .and_then(|o| o.get("path"))
            .is_some_and(|v| v.to_kstr() == source)
    };
    LValue::Array(
        posts
            .iter()
            .take(11)
            .filter(|p| !own(p))
            .take(10)
            .cloned()
            .collect(),
    )
}

/// The shared `site` value with one document's `related_posts` on top
/// (`site` itself is built once and never copied per page).
#[derive(Debug)]
struct SiteFor<'a> {
    base: &'a LValue,
    related: Option<LValue>,
}

impl ValueView for SiteFor<'_> {
    fn as_debug(&self) -> &dyn std::fmt::Debug {
        self
    }
    fn render(&self) -> liquid_core::model::DisplayCow<'_> {
        self.base.render()
    }
    fn source(&self) -> liquid_core::model::DisplayCow<'_> {
        self.base.source()
    }
    fn type_name(&self) -> &'static str {
        self.base.type_name()
    }
    fn query_state(&self, state: liquid_core::model::State) -> bool {
        self.base.query_state(state)
    }
    fn to_kstr(&self) -> liquid_core::model::KStringCow<'_> {
        self.base.to_kstr()
    }
    fn to_value(&self) -> LValue {
        let mut v = self.base.to_value();
        if let (Some(o), Some(r)) = (v.as_object_mut(), &self.related) {
            o.insert("related_posts".into(), r.clone());
        }
        v
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        Some(self)
    }
}

impl ObjectView for SiteFor<'_> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        self.keys().count() as i64
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = liquid_core::model::KStringCow<'k>> + 'k> {
        Box::new(self.iter().map(|(k, _)| k))
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.iter().map(|(_, v)| v))
    }
    fn iter<'k>(
        &'k self,
    ) -> Box<dyn Iterator<Item = (liquid_core::model::KStringCow<'k>, &'k dyn ValueView)> + 'k>
    {
        let base = self
            .base
            .as_object()
            .into_iter()
            .flat_map(|o| o.iter())
            .filter(|(k, _)| self.related.is_none() || k.as_str() != "related_posts");
        let extra = self.related.iter().map(|r| {
            (
                liquid_core::model::KStringCow::from_static("related_posts"),
                r as &dyn ValueView,
            )
        });
        Box::new(base.chain(extra))
    }
    fn contains_key(&self, index: &str) -> bool {
        self.get(index).is_some()
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        match (&self.related, index) {
            (Some(r), "related_posts") => Some(r),
            _ => self.base.as_object()?.get(index),
        }
    }
}

/// `site`: `_config.yml` at the top level, then the lists.
fn site_value(loaded: &Loaded, site: &Site, jekyll: &JekyllSite, excerpts: &Excerpts) -> Value {
    let mut v = jekyll.config.clone();
    v.remove("tusk");
    let entries = |keep: &dyn Fn(&Document) -> bool| -> Vec<Value> {
        site.documents
            .iter()
            .filter(|d| keep(d))
            .map(|d| Value::Object(page_value(loaded, excerpts, d)))
            .collect()
    };
    let posts = entries(&|d| d.kind == Kind::Post);
    let mut pages = entries(&|d| d.kind == Kind::Page);
    let mut html_pages =
        entries(&|d| d.kind == Kind::Page && (d.url.ends_with(".html") || d.url.ends_with('/')));
    let more = generated_pages(loaded, site);
    pages.extend(more.iter().cloned());
    html_pages.extend(more);
    // A collection's `docs` run oldest first; `site.posts` is reversed.
    let oldest_first: Vec<Value> = posts.iter().rev().cloned().collect();
    let mut collections = vec![
        json!({"label": "posts", "docs": oldest_first, "output": true, "relative_directory": "_posts"}),
    ];
    for (label, c) in &loaded.config.build.collections {
        let docs = entries(&|d| d.kind == Kind::Document && d.collection.as_deref() == Some(label));
        v.insert(label.clone(), json!(docs));
        collections.push(json!({"label": label, "docs": docs, "output": c.output, "relative_directory": format!("_{label}")}));
    }
    let mut tags: Map<String, Value> = Map::new();
    let mut categories: Map<String, Value> = Map::new();
    for d in site.documents.iter().filter(|d| d.kind == Kind::Post) {
        let e = Value::Object(page_value(loaded, excerpts, d));
        for t in &d.tags {
            tags.entry(t.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .expect("a list")
                .push(e.clone());
        }
        for c in &d.categories {
            categories
                .entry(c.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .expect("a list")
                .push(e.clone());
        }
    }
    let static_files: Vec<Value> = site
        .static_files
        .iter()
        .map(|f| {
            let name = f.key.rsplit('/').next().unwrap_or(&f.key);
            json!({"path": format!("/{}", f.key), "name": name, "extname": name.rsplit_once('.').map(|(_, e)| format!(".{e}")).unwrap_or_default()})
        })
        .collect();
    v.insert("posts".into(), json!(posts));
    v.insert("pages".into(), json!(pages));
    v.insert("html_pages".into(), json!(html_pages));
    v.insert("collections".into(), json!(collections));
    v.insert("tags".into(), Value::Object(tags));
    v.insert("categories".into(), Value::Object(categories));
    v.insert("static_files".into(), json!(static_files));
    v.insert("data".into(), site.data.clone());
    Value::Object(v)
}
