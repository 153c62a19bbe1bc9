//! The build pipeline, in order:
//! load config -> read content -> excerpts and summaries -> render Markdown
//! and templates (parallel) -> write to a staging folder -> tree manifest ->
//! swap the staging folder in.

pub(crate) mod assets;
mod base_path;
mod broken;
pub(crate) mod generate;
pub(crate) mod incremental;
pub(crate) mod linkcheck;
pub(crate) mod liquid;
pub(crate) mod listing;
pub(crate) mod redirects;
pub(crate) mod render;
pub(crate) mod serve;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tera::Context;

use self::render::{body_template_name, Renderer, TeraRenderer, Theme, ThemeFile};
use crate::config::Loaded;
use crate::content::{self, markdown, Document, Kind, LoadOptions, Site};
use crate::diag::{Collector, Diagnostic, Problems};
use crate::tree::write::{Sink, Staging};
use crate::tree::{CacheClass, Object, Tree};
use assets::Assets;
use listing::Job;

/// Flags from the command line.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub drafts: bool,
    pub future: bool,
    /// Render and check everything but write nothing (`tusk check`).
    pub dry_run: bool,
}

/// What a build did, printed as text or JSON.
#[derive(Debug, Serialize)]
pub struct Report {
    pub pages: usize,
    pub posts: usize,
    pub documents: usize,
    pub static_files: usize,
    pub objects: usize,
    pub bytes: u64,
    /// Internal links checked.
    pub links_checked: usize,
    /// External links found (URL -> pages), for `tusk check --external`.
    #[serde(skip)]
    pub external_links: std::collections::BTreeMap<String, Vec<String>>,
    /// Output folder (absent for `tusk check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    pub duration_ms: u128,
    /// What the build resolved the way Jekyll does, silently there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::diag::Diagnostic>,
}

/// Build the site. Content problems come back as a [`Problems`] error
/// listing all of them; the previous output is then untouched.
pub fn build(loaded: &Loaded, opts: &BuildOptions) -> Result<Report> {
    let (report, built) = build_and_keep(loaded, opts)?;
    // Freeing every page, list and link takes a tenth of a second at 10k
    // posts; the caller only needs the report (and `tusk build` exits).
    std::thread::spawn(move || drop(built));
    Ok(report)
}

/// A finished build with what it decided, so `tusk serve` can re-render
/// only what an edit touches (see `self::incremental`).
pub struct Built {
    pub(crate) prepared: Prepared,
    pub(crate) tree: Tree,
    /// Rendered HTML pages with their links and ids, by key (empty when
    /// links are not checked).
    pub(crate) pages: HashMap<String, linkcheck::Page>,
    /// Every output key, for the link checker.
    pub(crate) keys: std::collections::HashSet<String>,
    /// Keys of the generated files (feeds, sitemap, robots.txt).
    pub(crate) generated_keys: std::collections::HashSet<String>,
    pub(crate) output_dir: std::path::PathBuf,
    pub(crate) load_opts: LoadOptions,
    /// Set by a failed incremental update that wrote part of its pages.
    pub(crate) stale: bool,
}

/// Everything a build decides before writing: the content, the templates,
/// the lists templates read and the planned pages.
pub(crate) struct Prepared {
    pub(crate) loaded: Loaded,
    pub(crate) site: Site,
    pub(crate) renderer: Renderer,
    pub(crate) taxonomies: Vec<listing::Taxonomy>,
    /// `site` for templates that read the document lists, as a Tera
    /// context: moved in once instead of serialized for every render.
    site_context: Context,
    /// `site` without the lists, for all other templates.
    lite_context: Context,
    pub(crate) planned: Vec<listing::Planned>,
    /// Per planned page: whether its templates read the document lists.
    pub(crate) heavy: Vec<bool>,
    /// Document -> (previous, next) post, for posts.
    pub(crate) neighbours: HashMap<usize, (Option<usize>, Option<usize>)>,
    pub(crate) check_links: bool,
    extras: markdown::Extras,
    /// The files `asset_url` may fingerprint.
    pub(crate) assets: std::sync::Arc<Assets>,
    /// The path of `base_url` put before root-relative links on output
    /// (`""` at a host's root, and in Jekyll mode, whose templates add
    /// `baseurl` themselves through `relative_url`).
    base_path: String,
    /// Links by source path (tusk's own sites; None for Jekyll sites).
    pub(crate) refs: Option<content::refs::Resolver>,
}

/// [`build`], keeping the decisions for incremental rebuilds. A list of
/// named steps, each timed at debug level (`TUSK_LOG=debug`).
pub fn build_and_keep(loaded: &Loaded, opts: &BuildOptions) -> Result<(Report, Built)> {
    let steps = Steps(Instant::now());
    let output_dir = loaded.output_dir();
    check_output_location(loaded)?;
    let diags = Collector::default();
    let load_opts = LoadOptions {
        drafts: opts.drafts || loaded.config.build.drafts,
        future: opts.future || loaded.config.build.future,
        now: chrono::Utc::now(),
    };
    let site = steps.run("load", || content::load(loaded, &load_opts, &diags));
    let plan = steps.run("plan", || plan(loaded, site, opts, &diags))?;
    let staging = match opts.dry_run {
        true => None,
        false => Some(Staging::new(&output_dir)?),
    };
    let sink = match &staging {
        Some(s) => Sink::dir(s.path().to_path_buf()),
        None => Sink::Discard,
    };
    let written = steps.run("render + write", || write_all(&plan, &sink, &diags));
    let keys: HashSet<String> = written.objects.iter().map(|o| o.key.clone()).collect();
    let pages: HashMap<String, linkcheck::Page> = written
        .link_pages
        .into_iter()
        .flatten()
        .map(|p| (p.key.clone(), p))
        .collect();
    let prepared = plan.prepared;
    let links = steps.run("link check", || {
        (prepared.check_links && diags.is_empty()).then(|| {
            let base_url = &loaded.config.site.base_url;
            let report = linkcheck::check(pages.values(), &|k| pages.get(k), &keys, base_url);
            broken::report(&report, &prepared, &diags);
            report
        })
    });
    if !diags.is_empty() {
        return Err(Problems(diags.into_sorted()).into());
    }
    let mut report = report(
        &prepared.site,
        &written.objects,
        written.static_files,
        links,
    );
    report.output = staging.as_ref().map(|_| output_dir.display().to_string());
    report.warnings = diags.take_warnings();
    let tree = Tree::new("build", written.objects);
    if let Some(staging) = staging {
        steps.run("commit", || {
            tree.write(staging.path())?;
            staging.commit()
        })?;
    }
    report.duration_ms = steps.0.elapsed().as_millis();
    let built = Built {
        prepared,
        tree,
        pages,
        keys,
        generated_keys: written.generated_keys,
        output_dir,
        load_opts,
        stale: false,
    };
    Ok((report, built))
}

/// The clock of one build: each step logs how long it took and when it
/// ended, so a slow phase shows in `TUSK_LOG=debug tusk build`.
struct Steps(Instant);

impl Steps {
    fn run<T>(&self, step: &str, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        tracing::debug!(
            "build: {step} took {:?} (done {:?} after the start)",
            started.elapsed(),
            self.0.elapsed()
        );
        out
    }
}

/// What the build decided before writing anything: the prepared site, the
/// owner of every output key, and the redirects.
struct Plan {
    prepared: Prepared,
    keys: Vec<(String, Owner)>,
    redirects: Vec<redirects::Redirect>,
}

/// Templates, taxonomies, lists, redirects and the owner of every key.
fn plan(loaded: &Loaded, mut site: Site, opts: &BuildOptions, diags: &Collector) -> Result<Plan> {
    let theme = Theme::of(loaded)?;
    add_default_home(loaded, &mut site, &theme);
    let mut renderer = match new_renderer(loaded, &site, &theme) {
        Ok((r, problems)) => {
            problems.into_iter().for_each(|p| diags.push(p));
            r
        }
        Err(d) => {
            diags.push(d);
            return Err(Problems(diags.take_sorted()).into());
        }
    };
    let refs = loaded
        .config
        .jekyll
        .is_none()
        .then(|| content::refs::Resolver::new(loaded, &site));
    if let Some(refs) = &refs {
        site.documents
            .par_iter_mut()
            .for_each(|d| refs.fix_excerpt(d));
    }
    let taxonomies = listing::taxonomies(loaded, &site, diags);
    let site_value = site_value(loaded, &site, &taxonomies);
    let list_len = |path: &str| list_at(&site_value, path).map(Vec::len);
    let planned = listing::plan(
        loaded,
        &site,
        &taxonomies,
        &list_len,
        &|t| renderer.has(t),
        diags,
    );
    let redirects = redirects::from_front_matter(loaded, &site, diags);
    let keys = plan_keys(
        loaded, &site, &planned, &redirects, &theme, &renderer, diags,
    );
    let assets = Assets::new(fingerprintable(&keys));
    renderer.register_assets(&assets);

    // Templates that never read the document lists get a site without
    // them: each rendering thread holds its own copy of the context, and a
    // smaller process writes files markedly faster.
    let lite_context = context_of("site", without_lists(&site_value));
    let heavy = heavy_jobs(&renderer, &site, &planned);
    let neighbours = neighbours(&site);
    let check_links = loaded.config.build.check_links || opts.dry_run;
    let base_path = match renderer {
        Renderer::Tera(_) => base_path::of(&loaded.config.site.base_url),
        Renderer::Liquid(_) => String::new(),
    };
    let prepared = Prepared {
        loaded: loaded.clone(),
        site,
        renderer,
        taxonomies,
        site_context: context_of("site", site_value),
        lite_context,
        planned,
        heavy,
        neighbours,
        check_links,
        extras: markdown::Extras {
            flavor: loaded.config.build.markdown,
            highlight: loaded.config.build.highlight,
            anchors: loaded.config.build.heading_anchors,
            links: check_links,
        },
        assets,
        base_path,
        refs,
    };
    Ok(Plan {
        prepared,
        keys,
        redirects,
    })
}

/// Hugo and Zola always make a home page: a site on the theme as it is
/// (no `_templates/` of its own) without one, a fresh site after `tusk new
/// post`, gets the theme's `home.html` at `/`, so the theme's links to `/`
/// lead somewhere instead of failing the build. A site with templates of
/// its own decides its pages itself, as in Jekyll.
fn add_default_home(loaded: &Loaded, site: &mut Site, theme: &Theme) {
    let home = "index.html";
    let has_home = site
        .documents
        .iter()
        .any(|d| d.output.as_deref() == Some(home))
        || site.static_files.iter().any(|f| f.key == home);
    let own_templates = loaded.source_dir().join("_templates").exists();
    let has_template = theme.templates.iter().any(|(name, ..)| name == "home.html");
    // A site with no documents at all (a snapshot-only project) gets no
    // home page of its own: the snapshot's would conflict with it.
    if has_home || own_templates || !has_template || site.documents.is_empty() {
        return;
    }
    site.documents.insert(
        0,
        Document {
            kind: Kind::Page,
            collection: None,
            source: home.to_string(),
            path: loaded.source_dir().join(home),
            front: Map::new(),
            body: String::new(),
            body_line: 1,
            excerpt: String::new(),
            word_count: 0,
            markdown: false,
            title: String::new(),
            slug: "index".to_string(),
            date: None,
            categories: Vec::new(),
            tags: Vec::new(),
            layout: Some("home.html".to_string()),
            layout_explicit: false,
            url: "/".to_string(),
            output: Some(home.to_string()),
            draft: false,
            bundle: None,
        },
    );
}

/// The static files `asset_url` may fingerprint, by key.
fn fingerprintable(keys: &[(String, Owner)]) -> HashMap<String, assets::Source> {
    keys.iter()
        .filter_map(|(key, owner)| match owner {
            Owner::Static(StaticSource::Site(path))
            | Owner::Static(StaticSource::Theme(ThemeFile::Disk(path))) => {
                Some((key.clone(), assets::Source::Path(path.clone())))
            }
            Owner::Static(StaticSource::Theme(ThemeFile::Builtin(bytes))) => {
                Some((key.clone(), assets::Source::Bytes(bytes)))
            }
            Owner::Page | Owner::Redirect => None,
        })
        .collect()
}

/// Document -> (previous, next) post. Posts are newest first: "previous"
/// is the older one.
fn neighbours(site: &Site) -> HashMap<usize, (Option<usize>, Option<usize>)> {
    let posts: Vec<usize> = (0..site.documents.len())
        .filter(|&i| site.documents[i].kind == Kind::Post)
        .collect();
    let mut neighbours = HashMap::new();
    for (n, &i) in posts.iter().enumerate() {
        let previous = posts.get(n + 1).copied();
        let next = n.checked_sub(1).map(|m| posts[m]);
        neighbours.insert(i, (previous, next));
    }
    neighbours
}

/// Everything the build wrote, in tree order of kinds.
struct Written {
    objects: Vec<Object>,
    /// Per rendered page, its links and ids (when links are checked).
    link_pages: Vec<Option<linkcheck::Page>>,
    generated_keys: HashSet<String>,
    static_files: usize,
}

/// Render the pages, then write redirects, generated files, fingerprinted
/// copies and static files.
fn write_all(plan: &Plan, sink: &Sink, diags: &Collector) -> Written {
    let prepared = &plan.prepared;
    let all: Vec<usize> = (0..prepared.planned.len()).collect();
    let (rendered, link_pages): (Vec<Object>, Vec<Option<linkcheck::Page>>) =
        prepared.render(&all, sink, diags).into_iter().unzip();
    let redirected: Vec<Object> = plan
        .redirects
        .iter()
        .filter_map(|r| {
            let body = match &prepared.renderer {
                // jekyll-redirect-from's page, from its `redirect` layout.
                Renderer::Liquid(liquid) => Some(
                    liquid
                        .redirect_page(&r.from, &r.to)
                        .map_err(|d| diags.push(d))
                        .ok()?,
                ),
                Renderer::Tera(_) => None,
            };
            write_redirect(prepared, sink, &r.key, &r.to, body, diags)
        })
        .collect();
    let taken: HashSet<String> = plan.keys.iter().map(|(k, _)| k.clone()).collect();
    let generated: Vec<Object> = prepared
        .generated(&|k| taken.contains(k))
        .unwrap_or_else(|d| {
            diags.push(d);
            Vec::new()
        })
        .into_iter()
        .filter_map(|(key, body)| written(sink.write(&key, &body), &key, "write", diags))
        .collect();
    // The hashed copies the templates asked for (`asset_url`).
    let fingerprinted: Vec<Object> = prepared
        .assets
        .used()
        .into_iter()
        .filter(|fp| !taken.contains(&fp.key))
        .filter_map(|fp| written(fp.write(sink), &fp.key, "write", diags))
        .collect();
    let copies: Vec<(&String, &StaticSource)> = plan
        .keys
        .iter()
        .filter_map(|(key, owner)| match owner {
            Owner::Static(src) => Some((key, src)),
            Owner::Page | Owner::Redirect => None,
        })
        .collect();
    let copied: Vec<Option<Object>> = copies
        .par_iter()
        .map(|&(key, src)| {
            let result = match src {
                StaticSource::Site(path) => sink.copy(path, key),
                StaticSource::Theme(ThemeFile::Disk(path)) => sink.copy(path, key),
                StaticSource::Theme(ThemeFile::Builtin(bytes)) => sink.write(key, bytes),
            };
            written(result, key, "copy", diags)
        })
        .collect();
    let generated_keys = generated.iter().map(|o| o.key.clone()).collect();
    let objects = rendered
        .into_iter()
        .chain(copied.into_iter().flatten())
        .chain(generated)
        .chain(fingerprinted)
        .chain(redirected)
        .collect();
    Written {
        objects,
        link_pages,
        generated_keys,
        static_files: copies.len(),
    }
}

/// The object written, or a problem naming its key.
fn written(
    result: std::io::Result<Object>,
    key: &str,
    verb: &str,
    diags: &Collector,
) -> Option<Object> {
    result
        .map_err(|e| {
            diags.push(Diagnostic::new(
                key.to_string(),
                format!("cannot {verb}: {e}"),
            ))
        })
        .ok()
}

/// The counts `tusk build` reports.
fn report(
    site: &Site,
    objects: &[Object],
    static_files: usize,
    links: Option<linkcheck::Report>,
) -> Report {
    let count = |k: Kind| {
        site.documents
            .iter()
            .filter(|d| d.kind == k && d.output.is_some())
            .count()
    };
    let (links_checked, external_links) = match links {
        Some(r) => (r.internal, r.external),
        None => (0, Default::default()),
    };
    Report {
        pages: count(Kind::Page),
        posts: count(Kind::Post),
        documents: count(Kind::Document),
        static_files,
        objects: objects.len(),
        bytes: objects.iter().map(|o| o.size).sum(),
        output: None,
        links_checked,
        external_links,
        duration_ms: 0,
        warnings: Vec::new(),
    }
}

/// The theme's templates, the site's `_templates/` over them, and the
/// body of every template document.
fn new_renderer(
    loaded: &Loaded,
    site: &Site,
    theme: &Theme,
) -> Result<(Renderer, Vec<Diagnostic>), Diagnostic> {
    let bodies: Vec<(String, &str, String, usize)> = site
        .documents
        .iter()
        .filter(|d| !d.markdown)
        .map(|d| {
            (
                body_template_name(&d.source),
                d.body.as_str(),
                content::shown_source(loaded, d),
                d.body_line,
            )
        })
        .collect();
    if let Some(jekyll) = &loaded.config.jekyll {
        let (liquid, problems) = liquid::LiquidRenderer::new(loaded, site, jekyll);
        return Ok((Renderer::Liquid(Box::new(liquid)), problems));
    }
    TeraRenderer::new(
        theme,
        &loaded.source_dir().join("_templates"),
        &loaded.root,
        &bodies,
        &loaded.config.site.base_url,
    )
    .map(|(tera, problems)| (Renderer::Tera(Box::new(tera)), problems))
}

/// Broken links as build problems (see `self::broken`).
pub(crate) fn report_broken(report: &linkcheck::Report, prepared: &Prepared, diags: &Collector) {
    broken::report(report, prepared, diags);
}

impl Prepared {
    /// Render the planned pages `jobs` into `sink`: each page's object and,
    /// when links are checked, its links.
    pub(crate) fn render(
        &self,
        jobs: &[usize],
        sink: &Sink,
        diags: &Collector,
    ) -> Vec<(Object, Option<linkcheck::Page>)> {
        let (heavy, light): (Vec<usize>, Vec<usize>) = jobs.iter().partition(|&&i| self.heavy[i]);
        for_each_page(
            &heavy,
            &light,
            [&self.lite_context, &self.site_context],
            &|ctx, i| self.render_one(ctx, i, sink, diags),
        )
    }

    /// The `site` value with every list, as templates see it.
    pub(crate) fn site_value(&self) -> &Value {
        self.site_context.get("site").expect("site in its context")
    }

    /// The generated files (sitemap, robots.txt, feeds) whose keys are not
    /// `taken` by the site.
    pub(crate) fn generated(
        &self,
        taken: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, Vec<u8>)>, Diagnostic> {
        let listed_urls: Vec<&str> = self
            .planned
            .iter()
            .filter(|p| matches!(p.job, Job::TaxonomyList { .. } | Job::Term { .. }))
            .map(|p| p.url.as_str())
            .collect();
        if let Renderer::Liquid(liquid) = &self.renderer {
            return liquid.generated(&self.loaded, &self.site, taken);
        }
        Ok(self::generate::extras(
            &self.loaded,
            &self.site,
            &self.taxonomies,
            &listed_urls,
            taken,
        ))
    }

    /// Load the templates again after `changed` (template names) were
    /// edited. Returns the planned pages whose templates changed (all of
    /// them when a layout disappeared: None), keeping the old templates
    /// in `previous` to put back if rendering fails.
    pub(crate) fn reload_templates(
        &mut self,
        changed: &std::collections::HashSet<String>,
        previous: &mut Option<Renderer>,
    ) -> Result<Option<Vec<usize>>, Vec<Diagnostic>> {
        let theme = Theme::of(&self.loaded)
            .map_err(|e| vec![Diagnostic::new("themes/", format!("{e:#}"))])?;
        let (mut renderer, problems) =
            new_renderer(&self.loaded, &self.site, &theme).map_err(|d| vec![d])?;
        if !problems.is_empty() {
            return Err(problems);
        }
        renderer.register_assets(&self.assets);
        let mut touched = renderer.dependents(changed);
        touched.extend(self.renderer.dependents(changed));
        let mut jobs = Vec::new();
        for (j, planned) in self.planned.iter().enumerate() {
            let template = match &planned.job {
                Job::Doc { doc, .. } => {
                    let doc = &self.site.documents[*doc];
                    let Some(layout) = &doc.layout else { continue };
                    match effective_layout(&renderer, layout, doc.layout_explicit) {
                        Some(layout) => layout,
                        None => return Ok(None),
                    }
                }
                Job::TaxonomyList { .. } => "taxonomy_list.html",
                Job::Term { .. } => "taxonomy_term.html",
                Job::NotFound => "404.html",
            };
            if !renderer.has(template) {
                return Ok(None);
            }
            if touched.contains(template) {
                jobs.push(j);
            }
        }
        self.heavy = heavy_jobs(&renderer, &self.site, &self.planned);
        *previous = Some(std::mem::replace(&mut self.renderer, renderer));
        Ok(Some(jobs))
    }

    /// Put templates back after a failed [`Prepared::reload_templates`].
    pub(crate) fn restore_templates(&mut self, previous: Renderer) {
        self.heavy = heavy_jobs(&previous, &self.site, &self.planned);
        self.renderer = previous;
    }

    /// Put document `i`'s current title, excerpt and front matter into
    /// every list of `site` that shows it (after an edit that kept its place).
    pub(crate) fn refresh_lists(&mut self, i: usize) {
        let doc = &self.site.documents[i];
        let summary = summary(&self.loaded, doc);
        let brief = Value::Object(brief(&self.loaded, doc));
        let replace = |list: &mut Value, field: &str, with: &Value| {
            for entry in list.as_array_mut().into_iter().flatten() {
                if entry[field] == with[field] {
                    *entry = with.clone();
                }
            }
        };
        let mut site_value = self
            .site_context
            .remove("site")
            .expect("site in its context");
        let site = &mut site_value;
        replace(&mut site["posts"], "path", &summary);
        replace(&mut site["pages"], "path", &summary);
        if let Some(collections) = site["collections"].as_object_mut() {
            for c in collections.values_mut() {
                replace(&mut c["docs"], "path", &summary);
            }
        }
        for by_term in ["tags", "categories"] {
            if let Some(terms) = site[by_term].as_object_mut() {
                for list in terms.values_mut() {
                    replace(list, "url", &brief);
                }
            }
        }
        self.site_context = context_of("site", site_value);
    }

    fn render_one(
        &self,
        ctx: &mut Context,
        i: usize,
        sink: &Sink,
        diags: &Collector,
    ) -> Option<(Object, Option<linkcheck::Page>)> {
        let (loaded, site, renderer) = (&self.loaded, &self.site, &self.renderer);
        let planned = &self.planned[i];
        let key = &planned.key;
        let empty = Vec::new();
        // A Markdown document's body and its links, when the page has one.
        let mut body: Option<(String, linkcheck::PageLinks)> = None;
        let html = match &planned.job {
            Job::Doc { doc, pager } => {
                let doc_index = *doc;
                let doc = &site.documents[doc_index];
                // In a Jekyll site only with jekyll-redirect-from.
                let redirect_to =
                    redirects::target(doc).filter(|_| {
                        loaded.config.jekyll.as_deref().is_none_or(|j| {
                            j.plugins.contains(&crate::jekyll::Plugin::RedirectFrom)
                        })
                    });
                if let Some(to) = redirect_to {
                    let (body, to) = match renderer {
                        Renderer::Liquid(liquid) if loaded.config.jekyll.is_some() => {
                            let to = redirects::absolute_url(loaded, to);
                            match liquid.render_document(loaded, doc, None, None, None) {
                                Ok(body) => (Some(body), to),
                                Err(d) => {
                                    diags.push(d);
                                    return None;
                                }
                            }
                        }
                        _ => (None, to.to_string()),
                    };
                    return write_redirect(self, sink, key, &to, body, diags).map(|o| (o, None));
                }
                let (prev, next) = self
                    .neighbours
                    .get(&doc_index)
                    .copied()
                    .unwrap_or((None, None));
                let docs = &site.documents;
                if let Renderer::Liquid(liquid) = renderer {
                    let html = liquid
                        .render_document(
                            loaded,
                            doc,
                            prev.map(|p| &docs[p]),
                            next.map(|n| &docs[n]),
                            pager.as_ref().map(|p| (p, planned.url.as_str())),
                        )
                        .map_err(Some);
                    return self.finish(key, &planned.url, &planned.shown, html, None, sink, diags);
                }
                let mut page =
                    page_value(loaded, doc, prev.map(|p| &docs[p]), next.map(|n| &docs[n]));
                let paginator = pager.as_ref().map(|p| {
                    let list = doc.front["paginate"].as_str().unwrap_or_default();
                    let items = list_at(self.site_value(), list).map_or(&empty, |v| v);
                    page["url"] = json!(planned.url);
                    p.value(items[p.range()].to_vec())
                });
                put(ctx, "paginator", paginator.unwrap_or(Value::Null));
                let refs = self.refs.as_ref();
                render_document(loaded, renderer, ctx, doc, page, self.extras, refs, diags).map(
                    |r| {
                        body = r.body;
                        r.html
                    },
                )
            }
            Job::TaxonomyList { taxonomy } => {
                let t = &self.taxonomies[*taxonomy];
                put(ctx, "taxonomy", listing::taxonomy_value(t));
                put(ctx, "paginator", Value::Null);
                let page = generated_page(
                    loaded,
                    &content::titleize(&t.name),
                    &planned.url,
                    "taxonomy",
                );
                render_template(renderer, ctx, "taxonomy_list.html", page, &planned.shown)
            }
            Job::Term {
                taxonomy,
                term,
                pager,
            } => {
                let t = &self.taxonomies[*taxonomy];
                let term = &t.terms[*term];
                let posts_list = list_at(self.site_value(), "posts").unwrap_or(&empty);
                let items: Vec<Value> = term.posts[pager.range()]
                    .iter()
                    .filter_map(|&p| posts_list.get(p).cloned())
                    .collect();
                put(ctx, "taxonomy", json!({"name": t.name, "url": t.url}));
                put(ctx, "term", listing::term_value(t, term));
                put(ctx, "paginator", pager.value(items));
                let page = generated_page(loaded, &term.name, &planned.url, "term");
                render_template(renderer, ctx, "taxonomy_term.html", page, &planned.shown)
            }
            Job::NotFound => {
                put(ctx, "paginator", Value::Null);
                let page = generated_page(loaded, "Page not found", &planned.url, "page");
                render_template(renderer, ctx, "404.html", page, &planned.shown)
            }
        };
        self.finish(key, &planned.url, &planned.shown, html, body, sink, diags)
    }

    /// Write a rendered page, with its links when they are checked.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        key: &str,
        url: &str,
        shown: &str,
        html: Result<String, Option<Diagnostic>>,
        mut body: Option<(String, linkcheck::PageLinks)>,
        sink: &Sink,
        diags: &Collector,
    ) -> Option<(Object, Option<linkcheck::Page>)> {
        let html = match html {
            Ok(html) => html,
            Err(d) => {
                // None: the problem is already reported.
                if let Some(d) = d {
                    diags.push(d);
                }
                return None;
            }
        };
        let links = (self.check_links && key.ends_with(".html")).then(|| linkcheck::Page {
            key: key.to_string(),
            url: url.to_string(),
            shown: shown.to_string(),
            links: match body.take() {
                Some((body, links)) => linkcheck::extract_around(&html, &body, links),
                None => linkcheck::extract(html.as_bytes()),
            },
        });
        let html = base_path::prefix(&html, &self.base_path);
        sink.write(key, html.as_bytes())
            .map_err(|e| {
                diags.push(Diagnostic::new(
                    key.to_string(),
                    format!("cannot write: {e}"),
                ))
            })
            .ok()
            .map(|o| (o, links))
    }
}

/// Pages that read the lists per copy of the lists a rendering thread may
/// make: a few list pages (home, archive) cost one copy, not one per thread.
const HEAVY_PAGES_PER_COPY: usize = 64;

/// Run `f` over the `heavy` jobs (pages reading the lists) and the `light`
/// ones on every rayon thread. A page's own values are inserted into its
/// context, so threads work on copies of the two contexts (`[light,
/// heavy]`), made on the thread that needs one: the heavy one holds every
/// post, so at most one thread per [`HEAVY_PAGES_PER_COPY`] heavy pages
/// copies it, in parallel with the others' light pages. Shared counters
/// hand out the work so threads stay balanced.
fn for_each_page<T: Send>(
    heavy: &[usize],
    light: &[usize],
    contexts: [&Context; 2],
    f: &(impl Fn(&mut Context, usize) -> Option<T> + Sync),
) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    if heavy.is_empty() && light.is_empty() {
        return Vec::new();
    }
    let copiers = heavy.len().div_ceil(HEAVY_PAGES_PER_COPY);
    let (next_heavy, next_light, copies_made) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let results = std::sync::Mutex::new(Vec::with_capacity(heavy.len() + light.len()));
    rayon::broadcast(|_| {
        let mut mine = Vec::new();
        let mut copies: [Option<Context>; 2] = [None, None];
        let mut heavy_done = false;
        loop {
            let may_copy = || {
                copies_made
                    .fetch_update(Relaxed, Relaxed, |n| (n < copiers).then_some(n + 1))
                    .is_ok()
            };
            let job = if !heavy_done && (copies[1].is_some() || may_copy()) {
                match heavy.get(next_heavy.fetch_add(1, Relaxed)) {
                    Some(&job) => Some((1, job)),
                    None => {
                        heavy_done = true;
                        copies[1] = None;
                        None
                    }
                }
            } else {
                heavy_done = true;
                None
            };
            let (which, job) = match job {
                Some(job) => job,
                None => match light.get(next_light.fetch_add(1, Relaxed)) {
                    Some(&job) => (0, job),
                    None => break,
                },
            };
            let ctx = copies[which].get_or_insert_with(|| contexts[which].clone());
            if let Some(t) = f(ctx, job) {
                mine.push(t);
            }
        }
        results.lock().expect("results lock").extend(mine);
    });
    results.into_inner().expect("results lock")
}

/// A Tera context holding `value` under `key`, moved in: `Context::insert`
/// would copy it through serde.
fn context_of(key: &str, value: Value) -> Context {
    let mut map = Map::new();
    map.insert(key.to_string(), value);
    Context::from_value(Value::Object(map)).expect("an object")
}

/// `ctx.insert` for a value we own: moved in, not copied.
fn put(ctx: &mut Context, key: &str, value: Value) {
    ctx.extend(context_of(key, value));
}

/// Per planned page: whether its templates read the document lists.
fn heavy_jobs(renderer: &Renderer, site: &Site, planned: &[listing::Planned]) -> Vec<bool> {
    planned
        .iter()
        .map(|p| match &p.job {
            Job::Doc { doc, .. } => uses_lists(renderer, &site.documents[*doc]),
            Job::TaxonomyList { .. } => renderer.uses_lists("taxonomy_list.html"),
            Job::Term { .. } => renderer.uses_lists("taxonomy_term.html"),
            Job::NotFound => renderer.uses_lists("404.html"),
        })
        .collect()
}

/// Whether rendering `doc` may read the site's document lists.
fn uses_lists(renderer: &Renderer, doc: &Document) -> bool {
    (!doc.markdown && renderer.uses_lists(&body_template_name(&doc.source)))
        || doc
            .layout
            .as_deref()
            .is_some_and(|l| renderer.uses_lists(l))
        || (doc.layout.is_some() && renderer.uses_lists("page.html"))
}

/// Refuse output folders whose replacement would destroy the project.
fn check_output_location(loaded: &Loaded) -> Result<()> {
    let out = &loaded.config.build.output;
    let bad = out.as_os_str().is_empty()
        || out.is_absolute() && loaded.root.starts_with(out)
        || out
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        || out
            .components()
            .all(|c| matches!(c, std::path::Component::CurDir));
    let source = &loaded.config.build.source;
    if bad || source.starts_with(out) || out.starts_with(source) || out.starts_with("config") {
        bail!(
            "build.output = {:?} is not allowed: it must be a folder inside the project, apart from {:?} and config/",
            out,
            source
        );
    }
    Ok(())
}

/// What produces an output key.
enum Owner {
    /// A rendered page: a document, a page of it, a term or list page.
    Page,
    Redirect,
    Static(StaticSource),
}

enum StaticSource {
    Site(std::path::PathBuf),
    Theme(ThemeFile),
}

/// Every output key and what writes it. Two pages (or a page and a file)
/// on one key is an error naming both; site files silently override
/// theme files, which is how themes are customised.
fn plan_keys(
    loaded: &Loaded,
    site: &Site,
    planned: &[listing::Planned],
    redirects: &[redirects::Redirect],
    theme: &Theme,
    renderer: &Renderer,
    diags: &Collector,
) -> Vec<(String, Owner)> {
    for doc in &site.documents {
        if let Some(layout) = &doc.layout {
            if doc.output.is_some()
                && !renderer.has(layout)
                && (doc.layout_explicit || !renderer.has("page.html"))
            {
                diags.push(Diagnostic::new(
                    content::shown_source(loaded, doc),
                    format!(
                        "layout {layout:?} not found in themes/{}/templates/ or {}/_templates/",
                        loaded.config.build.theme,
                        loaded.config.build.source.display()
                    ),
                ));
            }
        }
    }
    let mut keys: HashMap<String, Owner> = HashMap::new();
    // By normalized key: NFC and NFD spellings are one file on macOS.
    let mut owners: HashMap<String, (String, String)> = HashMap::new();
    let mut claim = |key: &str, me: String, what: &str, owner: Owner| {
        let normal = crate::tree::key::normalized(key);
        if let Some((other, other_key)) = owners.get(&normal) {
            let message = if other_key == key {
                format!("{what} {key}, which {other} also writes")
            } else {
                format!("{what} {key}, which differs only in Unicode normalization from {other_key}, written by {other}: they collide on macOS file systems")
            };
            diags.push(Diagnostic::new(me, message));
            return;
        }
        owners.insert(normal, (me, key.to_string()));
        keys.insert(key.to_string(), owner);
    };
    for page in planned {
        claim(
            &page.key,
            page.shown.clone(),
            &format!("writes (URL {})", page.url),
            Owner::Page,
        );
    }
    for file in &site.static_files {
        let me = content::display_path(&loaded.root, &file.path);
        claim(
            &file.key,
            me,
            "is copied to",
            Owner::Static(StaticSource::Site(file.path.clone())),
        );
    }
    for r in redirects {
        claim(
            &r.key,
            r.shown.clone(),
            &format!("redirect_from {} writes", r.from),
            Owner::Redirect,
        );
    }
    for (key, file) in &theme.static_files {
        keys.entry(key.clone())
            .or_insert_with(|| Owner::Static(StaticSource::Theme(file.clone())));
    }
    let mut list: Vec<(String, Owner)> = keys.into_iter().collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list
}

/// Write a redirect page and mark it as a redirect in the tree.
/// A redirect to `to` (root-relative targets below the site's path), with
/// `body` as its page, else tusk's own.
fn write_redirect(
    prepared: &Prepared,
    sink: &Sink,
    key: &str,
    to: &str,
    body: Option<String>,
    diags: &Collector,
) -> Option<Object> {
    let to = base_path::prefix_url(to, &prepared.base_path);
    let body = body.unwrap_or_else(|| redirects::page(&to, &prepared.loaded.config.site.language));
    match sink.write(key, body.as_bytes()) {
        Ok(mut object) => {
            object.cache_class = CacheClass::Redirect;
            object.redirect = Some(to.into_owned());
            Some(object)
        }
        Err(e) => {
            diags.push(Diagnostic::new(key, format!("cannot write: {e}")));
            None
        }
    }
}

/// `page` for a generated page (taxonomy, term, 404).
fn generated_page(loaded: &Loaded, title: &str, url: &str, kind: &str) -> Value {
    let base = loaded.config.site.base_url.trim_end_matches('/');
    json!({
        "title": title,
        "url": url,
        "permalink": format!("{base}{url}"),
        "kind": kind,
        "toc": [],
    })
}

/// Render a theme template for a generated page.
fn render_template(
    renderer: &Renderer,
    ctx: &mut Context,
    name: &str,
    page: Value,
    shown: &str,
) -> Result<String, Option<Diagnostic>> {
    put(ctx, "page", page);
    ctx.insert("content", "");
    let result = renderer.render(name, ctx).map_err(|e| {
        let file = renderer.file_of(name).unwrap_or(name);
        Some(Diagnostic::new(
            shown,
            format!("rendering with {file}: {e}"),
        ))
    });
    ctx.remove("taxonomy");
    ctx.remove("term");
    result
}

/// The list at a dotted path of the site value (`posts`,
/// `collections.guides`, `tags.rust`) for `paginate:`.
pub(crate) fn list_at<'a>(site: &'a Value, path: &str) -> Option<&'a Vec<Value>> {
    let mut v = site;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    match v {
        Value::Array(list) => Some(list),
        Value::Object(m) => m.get("docs").and_then(Value::as_array),
        _ => None,
    }
}

/// The template a document renders with: its layout, or `page.html`
/// when a layout it did not choose is missing; None when there is none.
fn effective_layout<'a>(renderer: &Renderer, layout: &'a str, explicit: bool) -> Option<&'a str> {
    if renderer.has(layout) {
        Some(layout)
    } else if !explicit && renderer.has("page.html") {
        Some("page.html")
    } else {
        None
    }
}

/// A rendered document page.
struct RenderedDoc {
    html: String,
    /// A Markdown body as placed in the page, with its links (when they
    /// were collected), so the link checker parses only the layout.
    body: Option<(String, linkcheck::PageLinks)>,
}

/// Render one document: its body (Markdown or template), then its layout.
#[allow(clippy::too_many_arguments)]
fn render_document(
    loaded: &Loaded,
    renderer: &Renderer,
    ctx: &mut Context,
    doc: &Document,
    mut page: Value,
    extras: markdown::Extras,
    refs: Option<&content::refs::Resolver>,
    diags: &Collector,
) -> Result<RenderedDoc, Option<Diagnostic>> {
    let shown = content::shown_source(loaded, doc);
    let mut links = None;
    let body = if doc.markdown {
        let source = doc.markdown_body(&shown).map_err(Some)?;
        let mut r = markdown::render(&source, extras);
        if let Some(refs) = refs {
            resolve_sources(refs, &source, &mut r, doc, &shown, diags)?;
        }
        let toc: Vec<Value> = r
            .headings
            .iter()
            .map(|(level, id, title)| json!({"level": level, "id": id, "title": title}))
            .collect();
        page["toc"] = Value::Array(toc);
        links = r.links;
        r.html
    } else {
        let name = body_template_name(&doc.source);
        if renderer.is_broken(&name) {
            // Its parse error is already reported.
            return Err(None);
        }
        ctx.insert("page", &page);
        ctx.insert("content", "");
        renderer.render(&name, ctx).map_err(|e| {
            Some(Diagnostic::new(
                shown.clone(),
                format!("template error: {e}"),
            ))
        })?
    };
    let Some(layout) = &doc.layout else {
        return Ok(RenderedDoc {
            html: body.clone(),
            body: links.map(|l| (body, l)),
        });
    };
    // Without an explicit layout, documents fall back to `page.html`; a
    // missing layout is reported once, by `plan_keys`.
    let Some(layout) = effective_layout(renderer, layout, doc.layout_explicit) else {
        return Err(None);
    };
    // Moved in and back out: a post's body is most of its page.
    put(ctx, "page", page);
    put(ctx, "content", Value::String(body));
    let html = renderer.render(layout, ctx).map_err(|e| {
        let file = renderer.file_of(layout).unwrap_or(layout);
        Some(Diagnostic::new(
            shown,
            format!("rendering with {file}: {e}"),
        ))
    })?;
    let body = match ctx.remove("content") {
        Some(Value::String(body)) => body,
        _ => String::new(),
    };
    Ok(RenderedDoc {
        html,
        body: links.map(|l| (body, l)),
    })
}

/// Links by source path in a rendered body, rewritten to their URLs; one
/// naming a missing source is a problem at its line.
fn resolve_sources(
    refs: &content::refs::Resolver,
    source: &str,
    rendered: &mut markdown::Rendered,
    doc: &Document,
    shown: &str,
    diags: &Collector,
) -> Result<(), Option<Diagnostic>> {
    let fixed = refs.fix_body(source, &rendered.html, doc);
    if !fixed.missing.is_empty() {
        for (link, message) in fixed.missing {
            let d = Diagnostic::new(shown, message);
            diags.push(match content::refs::locate(source, &link) {
                Some((line, column)) => d.at(doc.body_line + line - 1, Some(column)),
                None => d,
            });
        }
        return Err(None);
    }
    if let Some(html) = fixed.html {
        if rendered.links.is_some() {
            rendered.links = Some(linkcheck::extract(html.as_bytes()));
        }
        rendered.html = html;
    }
    Ok(())
}

/// The fields every list entry has: enough to link to a document.
fn brief(loaded: &Loaded, doc: &Document) -> Map<String, Value> {
    let base = loaded.config.site.base_url.trim_end_matches('/');
    let mut m = Map::new();
    m.insert("title".into(), json!(doc.title));
    m.insert("url".into(), json!(doc.url));
    m.insert("permalink".into(), json!(format!("{base}{}", doc.url)));
    m.insert("date".into(), json!(doc.date.map(|d| d.to_rfc3339())));
    m.insert("slug".into(), json!(doc.slug));
    m.insert("tags".into(), json!(doc.tags));
    m.insert("categories".into(), json!(doc.categories));
    m
}

/// A list entry in `site.posts`, `site.pages` and collections: the brief
/// fields plus the excerpt and the front matter (`data`).
fn summary(loaded: &Loaded, doc: &Document) -> Value {
    let mut m = brief(loaded, doc);
    m.insert("excerpt".into(), json!(doc.excerpt));
    m.insert("collection".into(), json!(doc.collection));
    m.insert("path".into(), json!(doc.source));
    m.insert("draft".into(), json!(doc.draft));
    m.insert("data".into(), Value::Object(doc.front.clone()));
    Value::Object(m)
}

/// `page`: front matter keys, overlaid with the computed fields.
fn page_value(
    loaded: &Loaded,
    doc: &Document,
    previous: Option<&Document>,
    next: Option<&Document>,
) -> Value {
    let mut page: Map<String, Value> = doc.front.clone();
    page.extend(brief(loaded, doc));
    let words = doc.word_count;
    page.insert("excerpt".into(), json!(doc.excerpt));
    page.insert("collection".into(), json!(doc.collection));
    page.insert("path".into(), json!(doc.source));
    page.insert("draft".into(), json!(doc.draft));
    page.insert("kind".into(), json!(doc.kind));
    page.insert(
        "layout".into(),
        json!(doc.layout.as_deref().map(|l| l.trim_end_matches(".html"))),
    );
    page.insert("word_count".into(), json!(words));
    page.insert("reading_time".into(), json!(words.div_ceil(200).max(1)));
    let link = |d: Option<&Document>| d.map_or(Value::Null, |d| Value::Object(brief(loaded, d)));
    page.insert("previous".into(), link(previous));
    page.insert("next".into(), link(next));
    page.insert("terms".into(), terms_value(loaded, doc));
    Value::Object(page)
}

/// `page.terms`: for posts, each taxonomy's terms with their page URLs
/// (`page.terms.tags[0].url` = `/tags/edge-cache/`).
fn terms_value(loaded: &Loaded, doc: &Document) -> Value {
    use crate::content::permalink::{slugify, SlugMode};
    if doc.kind != Kind::Post {
        return json!({});
    }
    let slug = |s: &str| slugify(s, SlugMode::Default, false);
    loaded
        .config
        .build
        .taxonomies
        .keys()
        .map(|t| {
            let terms: Vec<Value> = listing::terms_of(doc, t)
                .iter()
                .filter(|name| !slug(name).is_empty())
                .map(|name| json!({"name": name, "url": format!("/{}/{}/", slug(t), slug(name))}))
                .collect();
            (t.clone(), Value::Array(terms))
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// `site`: config, data, and every list templates may loop over. Term
/// lists repeat each post several times, so they hold brief entries. The
/// lists are built in parallel and moved into place: `json!` would copy
/// every interpolated value through serde.
fn site_value(loaded: &Loaded, site: &Site, taxonomies: &[listing::Taxonomy]) -> Value {
    let cfg = &loaded.config.site;
    let docs = &site.documents;
    let pick = |keep: &(dyn Fn(&Document) -> bool + Sync)| -> Value {
        Value::Array(
            docs.par_iter()
                .filter(|d| keep(d))
                .map(|d| summary(loaded, d))
                .collect(),
        )
    };
    let posts: Vec<&Document> = docs.iter().filter(|d| d.kind == Kind::Post).collect();
    let by_term = |tags: bool| -> Map<String, Value> {
        content::terms(posts.iter().copied(), tags)
            .into_par_iter()
            .map(|(t, idx)| {
                let list = idx
                    .into_iter()
                    .map(|i| Value::Object(brief(loaded, posts[i])))
                    .collect();
                (t, Value::Array(list))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    };
    let mut collections = Map::new();
    for (name, c) in &loaded.config.build.collections {
        let list = pick(&|d| d.kind == Kind::Document && d.collection.as_deref() == Some(name));
        let mut entry = Map::new();
        entry.insert("label".into(), json!(name));
        entry.insert("output".into(), json!(c.output));
        entry.insert("docs".into(), list);
        collections.insert(name.clone(), Value::Object(entry));
    }
    let Value::Object(mut value) = json!({
        "title": cfg.title,
        "description": cfg.description,
        "base_url": cfg.base_url,
        "language": cfg.language,
        "author": cfg.author,
        "extra": cfg.extra,
        "time": chrono::Utc::now().to_rfc3339(),
        "data": site.data,
        "taxonomies": taxonomies
            .iter()
            .map(|t| (t.name.clone(), listing::taxonomy_value(t)))
            .collect::<Map<String, Value>>(),
        "feeds": {
            "atom": feed_url(&loaded.config.build.feed.atom),
            "rss": feed_url(&loaded.config.build.feed.rss),
        },
    }) else {
        unreachable!("an object literal")
    };
    value.insert("pages".into(), pick(&|d| d.kind == Kind::Page));
    value.insert("posts".into(), pick(&|d| d.kind == Kind::Post));
    value.insert("collections".into(), Value::Object(collections));
    value.insert("tags".into(), Value::Object(by_term(true)));
    value.insert("categories".into(), Value::Object(by_term(false)));
    Value::Object(value)
}

/// `feed.xml` -> `/feed.xml`; null when the feed is off.
fn feed_url(key: &str) -> Value {
    let key = key.trim_start_matches('/');
    if key.is_empty() {
        Value::Null
    } else {
        json!(format!("/{key}"))
    }
}

/// The site value with its document lists left out.
fn without_lists(site: &Value) -> Value {
    match site {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !self::render::LIST_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One line per document for `tusk list`.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub source: String,
    pub url: String,
    pub output: Option<String>,
    pub kind: Kind,
    pub collection: Option<String>,
    pub date: Option<String>,
    pub title: String,
    pub draft: bool,
}

/// Every document and its URL, without rendering.
pub fn list(loaded: &Loaded, opts: &BuildOptions) -> Result<Vec<Listed>> {
    let diags = Collector::default();
    let load_opts = LoadOptions {
        drafts: opts.drafts || loaded.config.build.drafts,
        future: opts.future || loaded.config.build.future,
        now: chrono::Utc::now(),
    };
    let site = content::load(loaded, &load_opts, &diags);
    if !diags.is_empty() {
        return Err(Problems(diags.into_sorted()).into());
    }
    Ok(site
        .documents
        .into_iter()
        .map(|d| Listed {
            source: d.source,
            url: d.url,
            output: d.output,
            kind: d.kind,
            collection: d.collection,
            date: d.date.map(|d| d.to_rfc3339()),
            title: d.title,
            draft: d.draft,
        })
        .collect())
}
