//! Content: reading `site/` into documents (pages, posts, collection
//! documents), static files and data files, with Jekyll's conventions.
//!
//! Loading is two steps: a sequential walk that classifies paths (cheap,
//! and deterministic), then a parallel read + parse of every document.

pub mod data_csv;
pub mod from_jekyll;
pub mod front_matter;
pub mod highlight;
mod kramdown;
pub mod links;
pub mod markdown;
pub mod new;
pub mod permalink;
pub mod refs;

use crate::tree::key::{reserved_key, safe_output_key};

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{Config, Loaded};
use crate::diag::{line_col, Collector, Diagnostic};
use permalink::DocumentUrl;

/// What kind of document a file is; decides its URL rules and default layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Page,
    Post,
    /// A document of a configured collection (`site/_<name>/`).
    Document,
}

/// A file with front matter, ready to render.
#[derive(Debug)]
pub struct Document {
    pub kind: Kind,
    /// `posts` for posts and drafts, the collection name for documents.
    pub collection: Option<String>,
    /// Path relative to the content root, `/`-separated.
    pub source: String,
    /// The file, to read the body again at render time.
    pub path: PathBuf,
    pub front: Map<String, Value>,
    /// The body of a template document. Markdown bodies are not kept
    /// between loading and rendering (memory would grow with the site's
    /// size); [`Document::markdown_body`] reads them again.
    pub body: String,
    /// Line of the source file where the body starts (for error positions).
    pub body_line: usize,
    /// Rendered excerpt (Markdown documents).
    pub excerpt: String,
    pub word_count: usize,
    /// Markdown body; otherwise the body is a Tera template.
    pub markdown: bool,
    pub title: String,
    pub slug: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    /// Template name (`post.html`), or None to output the body as is.
    pub layout: Option<String>,
    /// Whether `layout` was chosen by the author (then it must exist).
    pub layout_explicit: bool,
    pub url: String,
    /// Output file relative to the output folder; None when not rendered
    /// (collections with `output = false`).
    pub output: Option<String>,
    pub draft: bool,
    /// For the index document of a bundle (a folder holding the document
    /// and its images, as Hugo's page bundles): the folder, relative to
    /// the content root. Its other files are published next to the output.
    pub bundle: Option<String>,
}

/// A file copied to the output unchanged.
#[derive(Debug, Clone)]
pub struct StaticFile {
    pub path: PathBuf,
    /// Path relative to the content root, `/`-separated.
    pub source: String,
    /// Output key relative to the output folder.
    pub key: String,
}

/// Everything read from the content root.
#[derive(Debug, Default)]
pub struct Site {
    /// Pages, then posts (newest first), then collection documents.
    pub documents: Vec<Document>,
    pub static_files: Vec<StaticFile>,
    /// `_data` files keyed by folder and file stem.
    pub data: Value,
}

/// Build-time choices that are not in the config file.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub drafts: bool,
    pub future: bool,
    pub now: DateTime<Utc>,
}

const MARKDOWN_EXTS: &[&str] = &["md", "markdown", "mkdown", "mkdn", "mkd"];

/// How the walk classified a file.
enum Entry {
    Page,
    Post {
        categories: Vec<String>,
        draft: bool,
    },
    CollectionDoc {
        collection: String,
    },
    /// A file of a post bundle other than its index: copied next to the post.
    Asset,
    Data,
}

/// Read the whole content root. Problems are pushed to `diags`; the
/// returned site holds everything that could be read.
pub fn load(loaded: &Loaded, opts: &LoadOptions, diags: &Collector) -> Site {
    let config = &loaded.config;
    let root = loaded.source_dir();
    let shown = |p: &Path| display_path(&loaded.root, p);
    if !root.is_dir() {
        diags.push(Diagnostic::new(
            shown(&root),
            "content folder does not exist (set build.source in config/tusk.toml)",
        ));
        return Site::default();
    }
    let mut entries = walk(&root, config, diags, &shown);
    // Jekyll has no bundles: a Jekyll site's files keep Jekyll's meaning.
    let bundles = match config.jekyll {
        None => bundle_folders(&mut entries),
        Some(_) => Vec::new(),
    };

    let ctx = ParseContext {
        config,
        tz: config.site.tz(),
        opts,
        project_root: &loaded.root,
        diags,
    };

    let mut data_files = Vec::new();
    let mut static_files = Vec::new();
    let mut candidates = Vec::new();
    for (rel, path, entry) in entries {
        match entry {
            Entry::Data => data_files.push((rel, path)),
            other => candidates.push((rel, path, other)),
        }
    }

    let parsed: Vec<(Result<Parsed, Diagnostic>, PathBuf, String)> = candidates
        .into_par_iter()
        .map(|(rel, path, entry)| (ctx.document(&rel, &path, entry), path, rel))
        .collect();

    let mut documents = Vec::new();
    for (result, path, source) in parsed {
        match result {
            Ok(Parsed::Document(Some(doc))) if ctx.publishable(&doc) => documents.push(*doc),
            Ok(Parsed::Document(_)) => {}
            // No front matter: a static file after all.
            Ok(Parsed::Static(key)) => static_files.push(StaticFile { path, source, key }),
            Err(d) => diags.push(d),
        }
    }
    let mut static_files = place_bundle_files(&documents, static_files, &bundles, &shown, diags);
    sort_documents(&mut documents);
    static_files.sort_by(|a, b| a.key.cmp(&b.key));

    Site {
        documents,
        static_files,
        data: load_data(&data_files, &shown, diags, &config.build),
    }
}

/// Read one document again after an edit, as [`load`] reads it.
/// `Ok(None)`: the file is no longer a published document.
pub fn reload_document(
    loaded: &Loaded,
    opts: &LoadOptions,
    source: &str,
) -> Result<Option<Document>, Diagnostic> {
    // Warnings were shown by the full build; a reload does not repeat them.
    let quiet = Collector::default();
    let ctx = ParseContext {
        config: &loaded.config,
        tz: loaded.config.site.tz(),
        opts,
        project_root: &loaded.root,
        diags: &quiet,
    };
    let Some(entry) = classify(source, false, &loaded.config) else {
        return Ok(None);
    };
    match ctx.document(source, &loaded.source_dir().join(source), entry)? {
        Parsed::Document(Some(doc)) if ctx.publishable(&doc) => Ok(Some(*doc)),
        _ => Ok(None),
    }
}

/// Whether [`load`] skips the file `rel` (relative to the content root)
/// for being hidden (`.name`) or excluded, as editors' swap files are.
/// Names starting with `_` are not decided here (they may be content).
pub fn skipped(rel: &str, config: &Config) -> bool {
    let diags = Collector::default();
    let exclude = globset(&config.build.exclude, "exclude", &diags);
    let include = Include::new(&config.build.include, &diags);
    let mut prefix = String::new();
    let parts: Vec<&str> = rel.split('/').collect();
    let mut on_the_way = false;
    for (i, part) in parts.iter().enumerate() {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        let folder = i + 1 < parts.len();
        let matched = include.set.is_match(&prefix);
        let included = include.covers(&prefix, folder);
        let hidden = part.starts_with('.');
        if !included && (hidden || on_the_way || exclude.is_match(&prefix)) {
            return true;
        }
        on_the_way = !matched && (hidden || on_the_way);
    }
    false
}

fn sort_documents(docs: &mut [Document]) {
    let rank = |d: &Document| match d.kind {
        Kind::Page => 0,
        Kind::Post => 1,
        Kind::Document => 2,
    };
    docs.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| match a.kind {
            // Posts newest first, as `site.posts` in Jekyll.
            Kind::Post => b.date.cmp(&a.date).then_with(|| b.source.cmp(&a.source)),
            Kind::Document => {
                (&a.collection, a.date, &a.source).cmp(&(&b.collection, b.date, &b.source))
            }
            Kind::Page => a.source.cmp(&b.source),
        })
    });
}

/// A document's source file as messages name it (`site/_posts/...md`).
pub fn shown_source(loaded: &Loaded, doc: &Document) -> String {
    display_path(&loaded.root, &loaded.source_dir().join(&doc.source))
}

/// Path for messages: relative to the project root when inside it.
pub fn display_path(root: &Path, p: &Path) -> String {
    let shown = p.strip_prefix(root).unwrap_or(p);
    shown.to_string_lossy().replace('\\', "/")
}

fn globset(patterns: &[String], what: &str, diags: &Collector) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        match Glob::new(p) {
            Ok(g) => {
                b.add(g);
            }
            Err(e) => diags.push(Diagnostic::new(
                "config/tusk.toml",
                format!("build.{what}: invalid glob {p:?}: {e}"),
            )),
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

/// `build.include`: globs of hidden paths read all the same. A folder is
/// entered when a glob may match something in it, so
/// `.well-known/**` (the README's form) reads `.well-known/security.txt`
/// without also naming `.well-known`.
struct Include {
    set: GlobSet,
    /// Each glob split at `/`, one matcher per segment (None for `**`).
    segments: Vec<Vec<Option<globset::GlobMatcher>>>,
}

impl Include {
    fn new(patterns: &[String], diags: &Collector) -> Include {
        let set = globset(patterns, "include", diags);
        let segments = patterns
            .iter()
            .filter_map(|p| {
                p.trim_start_matches('/')
                    .split('/')
                    .map(|seg| match seg {
                        "**" => Some(None),
                        _ => Glob::new(seg).ok().map(|g| Some(g.compile_matcher())),
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .collect();
        Include { set, segments }
    }

    /// Whether `rel` is included: matched by a glob, or for a folder, on
    /// the way to what a glob matches.
    fn covers(&self, rel: &str, folder: bool) -> bool {
        self.set.is_match(rel) || (folder && self.may_contain(rel))
    }

    fn may_contain(&self, folder: &str) -> bool {
        let parts: Vec<&str> = folder.split('/').collect();
        self.segments.iter().any(|glob| {
            for (i, part) in parts.iter().enumerate() {
                match glob.get(i) {
                    // `**` matches any depth below.
                    Some(None) => return true,
                    Some(Some(m)) if m.is_match(part) => {}
                    _ => return false,
                }
            }
            // Segments left: they match inside the folder.
            glob.len() > parts.len()
        })
    }
}

/// Walk the content root and classify every file. Sequential and sorted,
/// so the order of everything downstream is stable.
fn walk(
    root: &Path,
    config: &Config,
    diags: &Collector,
    shown: &dyn Fn(&Path) -> String,
) -> Vec<(String, PathBuf, Entry)> {
    let exclude = globset(&config.build.exclude, "exclude", diags);
    let include = Include::new(&config.build.include, diags);
    let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut out = Vec::new();
    // Hidden folders entered only because an include glob matches
    // something in them (`.well-known/` for `.well-known/**`): what else
    // they hold stays unread.
    let mut on_the_way: Vec<String> = Vec::new();

    let mut it = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(next) = it.next() {
        let entry = match next {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map(shown).unwrap_or_else(|| shown(root));
                diags.push(Diagnostic::new(path, format!("cannot read: {e}")));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let path = entry.path();
        let rel = match path.strip_prefix(root) {
            Ok(r) => r.to_string_lossy().replace('\\', "/"),
            Err(_) => continue,
        };
        if entry.path_is_symlink() {
            let target = fs::canonicalize(path);
            let inside = target
                .as_ref()
                .map(|t| t.starts_with(&canonical_root))
                .unwrap_or(false);
            if !inside {
                diags.push(Diagnostic::new(
                    shown(path),
                    "symlink points outside the content folder; refusing to follow it",
                ));
                if entry.file_type().is_dir() {
                    it.skip_current_dir();
                }
                continue;
            }
        }
        let name = entry.file_name().to_string_lossy();
        let hidden = name.starts_with('_') || name.starts_with('.');
        let folder = entry.file_type().is_dir();
        while on_the_way
            .last()
            .is_some_and(|f| !rel.starts_with(f.as_str()))
        {
            on_the_way.pop();
        }
        let matched = include.set.is_match(&rel);
        let included = include.covers(&rel, folder);
        if (exclude.is_match(&rel) || !on_the_way.is_empty()) && !included {
            if folder {
                it.skip_current_dir();
            }
            continue;
        }
        if folder {
            if hidden && !included && !special_dir(&rel, &name, config) {
                it.skip_current_dir();
            } else if !matched && (hidden || !on_the_way.is_empty()) && included {
                // Entered only for what a glob matches inside it.
                on_the_way.push(format!("{rel}/"));
            }
            continue;
        }
        if let Some(kind) = classify(&rel, hidden && !included, config) {
            out.push((rel, path.to_path_buf(), kind));
        }
    }
    out
}

/// The folder of `rel` when it is a bundle's index: `index.md` (any
/// Markdown extension; for posts also `index.html`) in a folder of its own,
/// not the content root nor `_posts/` itself.
fn bundle_index_dir(rel: &str, post: bool) -> Option<&str> {
    let (dir, name) = rel.rsplit_once('/')?;
    let (stem, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    let document = MARKDOWN_EXTS.contains(&ext.as_str()) || (post && ext == "html");
    let last = dir.rsplit('/').next().unwrap_or(dir);
    let in_posts = dir.split('/').any(|d| d == "_posts" || d == "_drafts");
    let placed = match post {
        true => in_posts && last != "_posts" && last != "_drafts",
        false => !in_posts,
    };
    (stem == "index" && document && placed).then_some(dir)
}

/// The bundle folders among `entries` (deepest first), marking the other
/// files of post bundles as their assets. Pages' files stay pages: one
/// without front matter is a static file, placed by [`place_bundle_files`].
fn bundle_folders(entries: &mut [(String, PathBuf, Entry)]) -> Vec<String> {
    let mut folders: Vec<String> = entries
        .iter()
        .filter_map(|(rel, _, entry)| match entry {
            Entry::Post { .. } => bundle_index_dir(rel, true),
            Entry::Page => bundle_index_dir(rel, false),
            _ => None,
        })
        .map(str::to_string)
        .collect();
    folders.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    for (rel, _, entry) in entries.iter_mut() {
        let Entry::Post { .. } = entry else { continue };
        let folder = innermost_bundle(&folders, rel);
        if folder.is_some() && folder != bundle_index_dir(rel, true) {
            *entry = Entry::Asset;
        }
    }
    folders
}

/// The deepest bundle folder holding `rel`.
fn innermost_bundle<'f>(folders: &'f [String], rel: &str) -> Option<&'f str> {
    folders
        .iter()
        .find(|f| {
            rel.strip_prefix(f.as_str())
                .is_some_and(|r| r.starts_with('/'))
        })
        .map(String::as_str)
}

/// Give every file of a bundle its key next to the bundle document's
/// output (`/2026/12/01/launch.html` -> `2026/12/01/launch/pic.svg`). A
/// post bundle that is not published (a draft, a future post) publishes
/// none of its files; a page folder's files stay where they are.
fn place_bundle_files(
    documents: &[Document],
    files: Vec<StaticFile>,
    folders: &[String],
    shown: &dyn Fn(&Path) -> String,
    diags: &Collector,
) -> Vec<StaticFile> {
    if folders.is_empty() {
        return files;
    }
    let owners: std::collections::HashMap<&str, &Document> = documents
        .iter()
        .filter_map(|d| d.bundle.as_deref().map(|b| (b, d)))
        .collect();
    let mut placed = Vec::with_capacity(files.len());
    for mut file in files {
        let Some(folder) = innermost_bundle(folders, &file.source) else {
            placed.push(file);
            continue;
        };
        let post = folder.split('/').any(|d| d == "_posts" || d == "_drafts");
        let Some(doc) = owners.get(folder).filter(|d| d.output.is_some()) else {
            if !post {
                placed.push(file);
            }
            continue;
        };
        let inner = &file.source[folder.len() + 1..];
        let key = format!("{}{inner}", bundle_dir_key(&doc.url));
        if !safe_output_key(&key) || reserved_key(&key) {
            diags.push(Diagnostic::new(
                shown(&file.path),
                format!("would be published as {key}, outside the output folder or in tusk's reserved files"),
            ));
            continue;
        }
        file.key = key;
        placed.push(file);
    }
    placed
}

/// The folder (as a key prefix, ending in `/` unless empty) a bundle's
/// files go to: the document's URL as a folder (`/a/b.html` -> `a/b/`).
pub fn bundle_dir_key(url: &str) -> String {
    let path = crate::tree::key::unescape_path(url);
    let path = path.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        return path.to_string();
    }
    let (dir, last) = path.rsplit_once('/').map_or(("", path), |(d, l)| (d, l));
    let stem = last.rsplit_once('.').map_or(last, |(s, _)| s);
    match dir {
        "" => format!("{stem}/"),
        _ => format!("{dir}/{stem}/"),
    }
}

/// Folders starting with `_` that hold content.
fn special_dir(rel: &str, name: &str, config: &Config) -> bool {
    let top = !rel.contains('/');
    match name {
        "_posts" | "_drafts" => true,
        "_data" => top,
        _ => {
            // Inside a special folder, `_` sub-folders are ordinary.
            let first = rel.split('/').next().unwrap_or("");
            if top {
                config.build.collections.contains_key(&name[1..])
            } else {
                first == "_data"
                    || collection_of(first, config).is_some()
                    || rel.split('/').any(|c| c == "_posts" || c == "_drafts")
            }
        }
    }
}

fn collection_of(first: &str, config: &Config) -> Option<String> {
    let name = first.strip_prefix('_')?;
    config
        .build
        .collections
        .contains_key(name)
        .then(|| name.to_string())
}

fn classify(rel: &str, hidden_file: bool, config: &Config) -> Option<Entry> {
    let parts: Vec<&str> = rel.split('/').collect();
    let dirs = &parts[..parts.len() - 1];
    if let Some(i) = dirs.iter().position(|d| *d == "_posts" || *d == "_drafts") {
        if hidden_file {
            return None;
        }
        let categories = dirs[..i]
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| c.to_string())
            .collect();
        return Some(Entry::Post {
            categories,
            draft: dirs[i] == "_drafts",
        });
    }
    match dirs.first() {
        Some(&"_data") => return (!hidden_file).then_some(Entry::Data),
        Some(&"_templates") => return None,
        Some(first) if first.starts_with('_') => {
            return match collection_of(first, config) {
                Some(collection) if !hidden_file => Some(Entry::CollectionDoc { collection }),
                _ => None,
            };
        }
        _ => {}
    }
    if hidden_file {
        return None;
    }
    Some(Entry::Page)
}

enum Parsed {
    Document(Option<Box<Document>>),
    /// A file without front matter; the key it is copied to.
    Static(String),
}

struct ParseContext<'a> {
    config: &'a Config,
    tz: chrono_tz::Tz,
    opts: &'a LoadOptions,
    project_root: &'a Path,
    /// For warnings; problems go back as `Err`.
    diags: &'a Collector,
}

impl ParseContext<'_> {
    fn shown(&self, path: &Path) -> String {
        display_path(self.project_root, path)
    }

    fn publishable(&self, doc: &Document) -> bool {
        if doc.front.get("published") == Some(&Value::Bool(false)) {
            return false;
        }
        if doc.draft && !self.opts.drafts {
            return false;
        }
        if !self.opts.future && doc.kind != Kind::Page {
            if let Some(date) = doc.date {
                if date.with_timezone(&Utc) > self.opts.now {
                    return false;
                }
            }
        }
        true
    }

    /// One file of `site/` as a document (or a static file): read it,
    /// split its front matter, then work out in order its kind, date,
    /// taxonomy lists, URL, output key and layout.
    fn document(&self, rel: &str, path: &Path, entry: Entry) -> Result<Parsed, Diagnostic> {
        // Pages and collection files without front matter are static files;
        // peek at the first line instead of reading whole images.
        if matches!(entry, Entry::Page | Entry::CollectionDoc { .. }) && !starts_with_fence(path) {
            return Ok(self.without_front_matter(rel, &entry));
        }
        if matches!(entry, Entry::Asset) {
            return Ok(Parsed::Static(rel.to_string()));
        }
        if matches!(entry, Entry::Post { draft: true, .. }) && !self.opts.drafts {
            return Ok(Parsed::Document(None));
        }
        let shown = self.shown(path);
        if self.not_a_post(rel, path, &entry) {
            self.diags.warn(Diagnostic::new(
                shown,
                "not a post (no front matter), skipped: to publish a file with a post, make the post a folder, _posts/YYYY-MM-DD-slug/index.md, with the file beside it",
            ));
            return Ok(Parsed::Document(None));
        }
        let bundle = self.bundle_of(rel, &entry);
        // A bundled post is named by its folder: `2026-12-01-launch/index.md`
        // is dated and slugged as `2026-12-01-launch.md` would be.
        let named = match (&bundle, &entry) {
            (Some(dir), Entry::Post { .. }) => {
                format!("{dir}.{}", rel.rsplit('.').next().unwrap_or("md"))
            }
            _ => rel.to_string(),
        };
        let text = self.read_text(path, &shown)?;
        let front_matter::Split {
            data: front,
            body,
            body_line,
        } = split_front_matter(&text, &shown)?;
        let front = self.with_defaults(front, rel, &entry);
        let at_key = |key: &str, message: String| {
            let d = Diagnostic::new(shown.clone(), message);
            match key_line(&text, key) {
                Some(l) => d.at(l, None),
                None => d,
            }
        };
        let file = FileName::new(&named, &shown)?;
        let markdown = MARKDOWN_EXTS.contains(
            &file
                .ext
                .trim_start_matches('.')
                .to_ascii_lowercase()
                .as_str(),
        );
        let permalink = match front.get("permalink") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(at_key("permalink", "permalink must be a string".into())),
        };
        let mut output_ext = output_ext(permalink.as_deref(), markdown, file.ext);
        let sass = self.config.jekyll.is_some() && matches!(file.ext, ".scss" | ".sass");
        if sass {
            // jekyll-sass-converter: the page is compiled to CSS.
            output_ext = ".css".to_string();
        }
        let Some((kind, collection, categories, draft)) = kind_of(&entry, &file, &shown) else {
            return Ok(Parsed::Document(None));
        };
        let date = self.date_of(&front, &file, draft, path, &at_key)?;
        let (categories, tags) = taxonomy_lists(&front, categories);
        let slug = match front.get("slug") {
            Some(Value::String(s)) => s.clone(),
            Some(v) if !v.is_null() => v.to_string(),
            _ => file.slug.clone(),
        };
        let title = match front.get("title") {
            Some(Value::String(s)) => s.clone(),
            Some(v) if !v.is_null() => v.to_string().trim_matches('"').to_string(),
            _ if kind != Kind::Page => titleize(&file.slug),
            _ => String::new(),
        };
        let url = match kind {
            Kind::Page => page_url(
                rel,
                &file,
                &output_ext,
                &self.config.build.permalink,
                permalink.as_deref(),
            ),
            Kind::Post | Kind::Document => {
                let url_date =
                    date.unwrap_or_else(|| self.opts.now.with_timezone(&self.tz).fixed_offset());
                let label = collection.as_deref().unwrap_or("posts");
                let inputs = DocumentUrl {
                    collection: label,
                    basename_without_ext: file.stem,
                    cleaned_relative_path: &cleaned_path(&named, &file, kind, draft, label),
                    output_ext: &output_ext,
                    slug: &slug,
                    categories: &categories,
                    date: url_date,
                };
                let template = self.url_template(permalink.as_deref(), kind, label);
                inputs.url(&template).map_err(|e| at_key("permalink", e))?
            }
        };
        let renders = match &entry {
            Entry::CollectionDoc { collection } => self.config.build.collections[collection].output,
            _ => true,
        };
        let output = match renders {
            true => Some(output_key(&url, &output_ext).map_err(|e| at_key("permalink", e))?),
            false => None,
        };
        let (layout, layout_explicit) = layout_of(
            front.get("layout"),
            kind,
            collection.as_deref(),
            &output_ext,
        )
        .map_err(|e| at_key("layout", e))?;
        // Jekyll applies no layout the front matter (or `defaults:`) did
        // not name, and none to a Sass page whatever it names
        // (`Convertible#place_in_layout?`: asset files are not placed).
        let layout = layout.filter(|_| (layout_explicit || self.config.jekyll.is_none()) && !sass);
        let excerpt_separator = match front.get("excerpt_separator") {
            Some(Value::String(s)) => s.clone(),
            _ => self.config.build.excerpt_separator.clone(),
        };
        let word_count = word_count(body);
        let (body, excerpt) = if markdown {
            let source = markdown::excerpt_source(body, &excerpt_separator);
            (
                String::new(),
                markdown::render_fragment(source, self.config.build.markdown),
            )
        } else {
            (body.to_string(), String::new())
        };
        Ok(Parsed::Document(Some(Box::new(Document {
            kind,
            collection,
            source: rel.to_string(),
            path: path.to_path_buf(),
            front,
            body,
            body_line,
            excerpt,
            word_count,
            markdown,
            title,
            slug,
            date,
            categories,
            tags,
            layout,
            layout_explicit,
            url,
            output,
            draft,
            bundle,
        }))))
    }

    /// A file in `_posts/` without front matter that Markdown would not
    /// make a post of (an image beside a post): tusk's own sites only.
    fn not_a_post(&self, rel: &str, path: &Path, entry: &Entry) -> bool {
        let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
        matches!(entry, Entry::Post { .. })
            && self.config.jekyll.is_none()
            && !MARKDOWN_EXTS.contains(&ext.to_ascii_lowercase().as_str())
            && !starts_with_fence(path)
    }

    /// The bundle folder when `rel` is a bundle's index document.
    fn bundle_of(&self, rel: &str, entry: &Entry) -> Option<String> {
        if self.config.jekyll.is_some() {
            return None;
        }
        let post = match entry {
            Entry::Post { .. } => true,
            Entry::Page => false,
            _ => return None,
        };
        bundle_index_dir(rel, post).map(str::to_string)
    }

    /// A page or collection file without front matter: a static file
    /// (or nothing, in a collection that is not output).
    fn without_front_matter(&self, rel: &str, entry: &Entry) -> Parsed {
        match entry {
            Entry::CollectionDoc { collection } => {
                if self.config.build.collections[collection].output {
                    let inner = rel.split_once('/').map_or(rel, |(_, r)| r);
                    Parsed::Static(format!("{collection}/{inner}"))
                } else {
                    Parsed::Document(None)
                }
            }
            _ => Parsed::Static(rel.to_string()),
        }
    }

    /// Front matter over the `_config.yml` `defaults:` in scope (Jekyll
    /// mode): the file's own values win.
    fn with_defaults(
        &self,
        front: Map<String, Value>,
        rel: &str,
        entry: &Entry,
    ) -> Map<String, Value> {
        let Some(jekyll) = &self.config.jekyll else {
            return front;
        };
        let kind = match entry {
            Entry::Page | Entry::Data | Entry::Asset => "pages",
            Entry::Post { draft: true, .. } => "drafts",
            Entry::Post { .. } => "posts",
            Entry::CollectionDoc { collection } => collection.as_str(),
        };
        let mut merged = jekyll.defaults_for(rel, kind);
        merged.extend(front);
        merged
    }

    /// The file as UTF-8 text, refusing documents over `build.max_document_mb`.
    fn read_text(&self, path: &Path, shown: &str) -> Result<String, Diagnostic> {
        let max_mb = self.config.build.max_document_mb;
        let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size > max_mb.saturating_mul(1024 * 1024) {
            return Err(Diagnostic::new(
                shown,
                format!(
                    "{:.1} MB is larger than build.max_document_mb = {max_mb} (rendering it would take memory out of proportion; large files belong in static files)",
                    size as f64 / 1e6,
                ),
            ));
        }
        let bytes =
            fs::read(path).map_err(|e| Diagnostic::new(shown, format!("cannot read: {e}")))?;
        String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let (line, col) = line_col(&prefix, prefix.len());
            Diagnostic::new(shown, "invalid UTF-8 (tusk reads content as UTF-8)")
                .at(line, Some(col))
        })
    }

    /// The front matter's `date`, else the file name's, else (drafts) the
    /// file's modification time.
    fn date_of(
        &self,
        front: &Map<String, Value>,
        file: &FileName,
        draft: bool,
        path: &Path,
        at_key: &dyn Fn(&str, String) -> Diagnostic,
    ) -> Result<Option<DateTime<FixedOffset>>, Diagnostic> {
        Ok(match front.get("date") {
            None | Some(Value::Null) => match file.date {
                Some(d) => Some(self.localize(d.and_hms_opt(0, 0, 0).expect("midnight"))),
                None if draft => fs::metadata(path).and_then(|m| m.modified()).ok().map(|t| {
                    DateTime::<Utc>::from(t)
                        .with_timezone(&self.tz)
                        .fixed_offset()
                }),
                None => None,
            },
            // Like Jekyll, a date with an offset is shown in the site's zone
            // (`2024-03-02 23:30 -0500` is March 3rd in UTC).
            Some(Value::String(s)) => {
                let date = match self.parse_date(s) {
                    Some(d) => d,
                    None => {
                        let (d, ignored) = self.parse_date_as_ruby(s).ok_or_else(|| {
                            at_key(
                                "date",
                                format!(
                                    "invalid date {s:?} (expected YYYY-MM-DD [HH:MM[:SS]] [+HHMM])"
                                ),
                            )
                        })?;
                        if !ignored.is_empty() {
                            self.diags.warn(at_key(
                                "date",
                                format!(
                                    "date {s:?} read as {} (as Jekyll reads it: Ruby's Time.parse ignores {ignored:?})",
                                    d.format("%Y-%m-%d %H:%M:%S %z")
                                ),
                            ));
                        }
                        d
                    }
                };
                Some(date.with_timezone(&self.tz).fixed_offset())
            }
            Some(other) => {
                return Err(at_key(
                    "date",
                    format!(
                        "invalid date {other} (expected a string like 2024-01-05 10:00:00 +0000)"
                    ),
                ))
            }
        })
    }

    /// The permalink template of a post or collection document.
    fn url_template(&self, permalink: Option<&str>, kind: Kind, label: &str) -> String {
        let style = self.config.build.permalink.as_str();
        match (permalink, kind) {
            (Some(p), _) => p.to_string(),
            (None, Kind::Post) => permalink::style_to_permalink(style),
            (None, _) => self.config.build.collections[label]
                .permalink
                .clone()
                .unwrap_or_else(|| permalink::add_permalink_suffix("/:collection/:path", style)),
        }
    }

    fn localize(&self, naive: NaiveDateTime) -> DateTime<FixedOffset> {
        self.tz
            .from_local_datetime(&naive)
            .earliest()
            .unwrap_or_else(|| self.tz.from_utc_datetime(&naive))
            .fixed_offset()
    }

    /// Jekyll's accepted date forms; a missing offset means the site's zone.
    fn parse_date(&self, s: &str) -> Option<DateTime<FixedOffset>> {
        let s = s.trim();
        if let Ok(d) = DateTime::parse_from_rfc3339(s) {
            return Some(d);
        }
        for f in [
            "%Y-%m-%d %H:%M:%S%.f %z",
            "%Y-%m-%d %H:%M:%S %z",
            "%Y-%m-%d %H:%M %z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%z",
        ] {
            if let Ok(d) = DateTime::parse_from_str(s, f) {
                return Some(d);
            }
        }
        for f in [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
                return Some(self.localize(n));
            }
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(|d| self.localize(d.and_hms_opt(0, 0, 0).expect("midnight")))
    }
}

impl ParseContext<'_> {
    /// The other dates Jekyll accepts (it reads them with Ruby's
    /// `Time.parse`): `2023/01/29`, `6:30 PM`, `UTC`, `PST`, `+08`, and
    /// words after the time it ignores (`18:30:22 2023 -0800` is 18:30:22
    /// in the site's zone). Returns the date and what was ignored.
    fn parse_date_as_ruby(&self, s: &str) -> Option<(DateTime<FixedOffset>, String)> {
        let (date, rest) = ruby_date::date(s.trim())?;
        let (time, rest) = ruby_date::time(rest);
        let (zone, rest) = ruby_date::zone(rest);
        let naive = date.and_time(time.unwrap_or_default());
        let at = match zone {
            Some(offset) => offset.from_local_datetime(&naive).single()?,
            None => self.localize(naive),
        };
        Some((at, rest.trim().to_string()))
    }
}

/// The pieces of Ruby's lenient date reading tusk follows.
mod ruby_date {
    use chrono::{FixedOffset, NaiveDate, NaiveTime};

    /// `YYYY-MM-DD` or `YYYY/MM/DD` at the start.
    pub fn date(s: &str) -> Option<(NaiveDate, &str)> {
        let end = s.find([' ', 'T', 't']).unwrap_or(s.len());
        let mut parts = s[..end].split(['-', '/']);
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
        let rest = &s[end..];
        Some((
            date,
            rest.strip_prefix(['T', 't']).unwrap_or(rest).trim_start(),
        ))
    }

    /// `H:MM[:SS[.fff]]` with an optional `AM`/`PM`.
    pub fn time(s: &str) -> (Option<NaiveTime>, &str) {
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].split(':');
        let (Some(h), Some(m)) = (parts.next(), parts.next()) else {
            return (None, s);
        };
        let sec = parts.next().unwrap_or("0");
        let (sec, nanos) = match sec.split_once('.') {
            Some((s, f)) => (
                s,
                format!("{f:0<9}")
                    .get(..9)
                    .and_then(|f| f.parse().ok())
                    .unwrap_or(0),
            ),
            None => (sec, 0),
        };
        let (Ok(mut h), Ok(m), Ok(sec)) = (h.parse::<u32>(), m.parse(), sec.parse()) else {
            return (None, s);
        };
        let mut rest = s[end..].trim_start();
        for (word, add) in [("AM", 0), ("PM", 12), ("am", 0), ("pm", 12)] {
            if let Some(after) = rest.strip_prefix(word) {
                h = h % 12 + add;
                rest = after.trim_start();
            }
        }
        match NaiveTime::from_hms_nano_opt(h, m, sec, nanos) {
            Some(t) => (Some(t), rest),
            None => (None, s),
        }
    }

    /// `Z`, `UTC`, `GMT`, US zone names, `+HH`, `+HHMM`, `+HH:MM`.
    pub fn zone(s: &str) -> (Option<FixedOffset>, &str) {
        let end = s.find(' ').unwrap_or(s.len());
        let word = &s[..end];
        let hours = match word {
            "Z" | "UTC" | "GMT" => Some(0),
            "EST" => Some(-5),
            "EDT" | "CST" => Some(if word == "EDT" { -4 } else { -6 }),
            "CDT" | "MST" => Some(if word == "CDT" { -5 } else { -7 }),
            "MDT" | "PST" => Some(if word == "MDT" { -6 } else { -8 }),
            "PDT" => Some(-7),
            _ => None,
        };
        if let Some(h) = hours {
            return (FixedOffset::east_opt(h * 3600), &s[end..]);
        }
        let Some(sign) = word.chars().next().and_then(|c| match c {
            '+' => Some(1),
            '-' => Some(-1),
            _ => None,
        }) else {
            return (None, s);
        };
        let digits = word[1..].replace(':', "");
        let seconds = match (digits.len(), digits.parse::<i32>()) {
            (2, Ok(h)) => h * 3600,
            (4, Ok(hm)) => (hm / 100) * 3600 + (hm % 100) * 60,
            _ => return (None, s),
        };
        (FixedOffset::east_opt(sign * seconds), &s[end..])
    }
}

impl Document {
    /// Read a Markdown document's body again for rendering.
    pub fn markdown_body(&self, shown: &str) -> Result<String, Diagnostic> {
        let text = fs::read_to_string(&self.path)
            .map_err(|e| Diagnostic::new(shown, format!("cannot read: {e}")))?;
        front_matter::body(&text)
            .map(str::to_string)
            .map_err(|e| Diagnostic::new(shown, e.message))
    }
}

/// Words in `text`: runs of non-whitespace, as `split_whitespace` counts
/// them. Plain ASCII (most content) is counted byte by byte: decoding every
/// character was a visible share of loading a large site.
fn word_count(text: &str) -> usize {
    if !text.is_ascii() {
        return text.split_whitespace().count();
    }
    let mut words = 0;
    let mut in_word = false;
    for &b in text.as_bytes() {
        let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
        words += usize::from(!space && !in_word);
        in_word = !space;
    }
    words
}

/// `2024-01-05-slug.md` -> (2024, 1, 5, "slug"), as Jekyll's
/// `DATE_FILENAME_MATCHER` (`\d{2,4}-\d{1,2}-\d{1,2}-`).
fn date_from_file_name(name: &str) -> Option<(i32, u32, u32, &str)> {
    let dot = name.rfind('.').filter(|&i| i > 0)?;
    let without_ext = &name[..dot];
    let mut parts = without_ext.splitn(4, '-');
    let (y, m, d, slug) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(y, 2, 4) && digits(m, 1, 2) && digits(d, 1, 2)) {
        return None;
    }
    Some((y.parse().ok()?, m.parse().ok()?, d.parse().ok()?, slug))
}

/// Jekyll's `titleize_slug`: `my-first-post` -> `My First Post`.
pub(crate) fn titleize(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Append a front matter list (a YAML list, or a space-separated string as
/// Jekyll allows) to `list`, skipping duplicates.
fn merge_list(list: &mut Vec<String>, value: Option<&Value>) {
    let mut push = |s: String| {
        if !s.is_empty() && !list.contains(&s) {
            list.push(s);
        }
    };
    match value {
        Some(Value::String(s)) => s.split_whitespace().for_each(|w| push(w.to_string())),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => push(s.clone()),
                    Value::Null => {}
                    other => push(other.to_string()),
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => push(other.to_string()),
    }
}

/// A layout name as a template file name (`post` -> `post.html`).
pub fn template_name(layout: &str) -> String {
    if layout.contains('.') {
        layout.to_string()
    } else {
        format!("{layout}.html")
    }
}

/// What a document's file name says: `2024-01-05-launch.md` is dated and
/// slugged `launch`.
struct FileName<'a> {
    stem: &'a str,
    ext: &'a str,
    date: Option<NaiveDate>,
    slug: String,
}

impl<'a> FileName<'a> {
    fn new(rel: &'a str, shown: &str) -> Result<FileName<'a>, Diagnostic> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => (&name[..i], &name[i..]),
            _ => (name, ""),
        };
        let (date, slug) = match date_from_file_name(name) {
            Some((y, m, d, slug)) => match NaiveDate::from_ymd_opt(y, m, d) {
                Some(date) => (Some(date), slug),
                None => {
                    return Err(Diagnostic::new(
                        shown,
                        format!("invalid date {y:04}-{m:02}-{d:02} in the file name"),
                    ))
                }
            },
            None => (None, stem),
        };
        Ok(FileName {
            stem,
            ext,
            date,
            slug: slug.trim_end_matches('.').to_string(),
        })
    }
}

/// The front matter and body, or the whole text as the body.
fn split_front_matter<'t>(
    text: &'t str,
    shown: &str,
) -> Result<front_matter::Split<'t>, Diagnostic> {
    match front_matter::parse(text) {
        Ok(Some(split)) => Ok(split),
        Ok(None) => Ok(front_matter::Split {
            data: Map::new(),
            body: text,
            body_line: 1,
        }),
        Err(e) => {
            let mut d = Diagnostic::new(shown, e.message);
            d.line = e.line;
            d.column = e.column;
            Err(d)
        }
    }
}

/// Jekyll: a permalink with an extension decides the output extension;
/// otherwise Markdown becomes `.html` and anything else keeps its own.
fn output_ext(permalink: Option<&str>, markdown: bool, ext: &str) -> String {
    let converter_ext = if markdown { ".html" } else { ext };
    permalink
        .filter(|p| !p.ends_with('/'))
        .and_then(|p| {
            let last = p.rsplit('/').next().unwrap_or(p);
            last.rfind('.').map(|i| last[i..].to_string())
        })
        .filter(|e| e.len() > 1)
        .unwrap_or_else(|| converter_ext.to_string())
}

/// Kind, collection, folder categories and draft flag; `None` for a post
/// without a date in its file name (skipped, as Jekyll does).
fn kind_of(
    entry: &Entry,
    file: &FileName,
    shown: &str,
) -> Option<(Kind, Option<String>, Vec<String>, bool)> {
    Some(match entry {
        Entry::Page => (Kind::Page, None, Vec::new(), false),
        Entry::Post { categories, draft } => {
            if file.date.is_none() && !draft {
                tracing::warn!("{shown}: posts need a YYYY-MM-DD- file name prefix; skipped");
                return None;
            }
            (
                Kind::Post,
                Some("posts".to_string()),
                categories.clone(),
                *draft,
            )
        }
        Entry::CollectionDoc { collection } => {
            (Kind::Document, Some(collection.clone()), Vec::new(), false)
        }
        Entry::Data | Entry::Asset => unreachable!("not a document"),
    })
}

/// Categories (folder ones first, then front matter: Jekyll's merge) and tags.
fn taxonomy_lists(
    front: &Map<String, Value>,
    mut categories: Vec<String>,
) -> (Vec<String>, Vec<String>) {
    merge_list(&mut categories, front.get("categories"));
    if let Some(v) = front.get("category") {
        merge_list(&mut categories, Some(v));
    }
    let mut tags = Vec::new();
    match front.get("tag") {
        Some(v) if !v.is_null() => merge_list(&mut tags, Some(v)),
        _ => merge_list(&mut tags, front.get("tags")),
    }
    (categories, tags)
}

/// A page's URL: its folder and name under the permalink style.
fn page_url(
    rel: &str,
    file: &FileName,
    output_ext: &str,
    style: &str,
    permalink: Option<&str>,
) -> String {
    let dir = rel
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| format!("/{d}"));
    let basename = file.stem.trim_end_matches('.');
    permalink::page_url(&dir, basename, output_ext, style, permalink)
}

/// The path a post or document's `:path` placeholder uses: relative to its
/// collection folder, without the extension.
fn cleaned_path(rel: &str, file: &FileName, kind: Kind, draft: bool, label: &str) -> String {
    let relative_dir = match (kind, draft) {
        (Kind::Post, true) => "_drafts".to_string(),
        (Kind::Post, false) => "_posts".to_string(),
        _ => format!("_{label}"),
    };
    let without_ext = &rel[..rel.len() - file.ext.len()];
    without_ext
        .replacen(&relative_dir, "", 1)
        .trim_end_matches('.')
        .to_string()
}

/// The output key of a URL, refused when it would leave the output folder.
fn output_key(url: &str, output_ext: &str) -> Result<String, String> {
    let out = permalink::output_path(url, output_ext);
    if !safe_output_key(&out) {
        return Err(format!("URL {url:?} would write outside the output folder"));
    }
    if reserved_key(&out) {
        return Err(format!(
            "URL {url:?} is reserved for tusk's own files ({out})"
        ));
    }
    Ok(out)
}

/// The layout and whether the front matter chose it. Only HTML gets a
/// default layout; a feed or robots.txt is output as its own body.
fn layout_of(
    value: Option<&Value>,
    kind: Kind,
    collection: Option<&str>,
    output_ext: &str,
) -> Result<(Option<String>, bool), String> {
    Ok(match value {
        Some(Value::String(s)) if s == "none" || s == "null" || s.is_empty() => (None, true),
        Some(Value::Null) | Some(Value::Bool(false)) => (None, true),
        Some(Value::String(s)) => (Some(template_name(s)), true),
        Some(other) => return Err(format!("layout must be a name, found {other}")),
        None if !permalink::is_html_ext(output_ext) => (None, false),
        None => {
            let name = match kind {
                Kind::Page => "page.html".to_string(),
                Kind::Post => "post.html".to_string(),
                Kind::Document => format!("{}.html", collection.unwrap_or("page")),
            };
            (Some(name), false)
        }
    })
}

/// Line (1-based) of `key:` or `key =` in the front matter, for messages.
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .map(|rest| rest.trim_start().starts_with([':', '=']))
                .unwrap_or(false)
        })
        .map(|i| i + 1)
}

fn starts_with_fence(path: &Path) -> bool {
    let mut buf = [0u8; 16];
    let n = fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    let head = &buf[..n];
    let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(head);
    for fence in [&b"---"[..], &b"+++"[..]] {
        if let Some(rest) = head.strip_prefix(fence) {
            let rest: Vec<u8> = rest
                .iter()
                .copied()
                .skip_while(|b| *b == b' ' || *b == b'\t')
                .collect();
            if rest.starts_with(b"\n")
                || rest.starts_with(b"\r\n")
                || (rest.is_empty() && n == head.len() && n < 16)
            {
                return true;
            }
        }
    }
    false
}

/// A CSV (or TSV) data file read as Jekyll reads it, with its
/// `csv_reader:` (or `tsv_reader:`) options.
fn csv_data(
    path: &Path,
    separator: char,
    reader: &crate::config::DataReader,
    shown: String,
) -> Result<Value, Diagnostic> {
    let bytes = fs::read(path)
        .map_err(|e| Diagnostic::new(shown.clone(), format!("cannot read data file: {e}")))?;
    data_csv::read(&bytes, separator, reader)
        .map_err(|m| Diagnostic::new(shown, format!("invalid CSV: {}", m.message)).at(m.line, None))
}

/// `_data/**/*.{yml,yaml,json,toml,csv,tsv}` as one nested map.
fn load_data(
    files: &[(String, PathBuf)],
    shown: &dyn Fn(&Path) -> String,
    diags: &Collector,
    build: &crate::config::BuildConfig,
) -> Value {
    let mut root = Map::new();
    for (rel, path) in files {
        let inner = rel.strip_prefix("_data/").unwrap_or(rel);
        let (dirs, file) = inner.rsplit_once('/').map_or(("", inner), |(d, f)| (d, f));
        let Some((stem, ext)) = file.rsplit_once('.') else {
            continue;
        };
        let ext = ext.to_ascii_lowercase();
        let text = match ext.as_str() {
            // Read as bytes, in their configured encoding.
            "csv" | "tsv" => String::new(),
            _ => match fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    diags.push(Diagnostic::new(
                        shown(path),
                        format!("cannot read data file: {e}"),
                    ));
                    continue;
                }
            },
        };
        let parsed: Result<Value, Diagnostic> = match ext.as_str() {
            "yml" | "yaml" => serde_yaml::from_str(&text).map_err(|e| {
                let d = Diagnostic::new(shown(path), format!("invalid YAML: {e}"));
                match e.location() {
                    Some(l) => d.at(l.line(), Some(l.column())),
                    None => d,
                }
            }),
            "json" => serde_json::from_str(&text).map_err(|e| {
                Diagnostic::new(shown(path), format!("invalid JSON: {e}"))
                    .at(e.line(), Some(e.column()))
            }),
            "toml" => toml::from_str::<toml::Table>(&text)
                .map(|t| front_matter::toml_to_json(toml::Value::Table(t)))
                .map_err(|e| {
                    let d = Diagnostic::new(
                        shown(path),
                        format!("invalid TOML: {}", e.message().trim()),
                    );
                    match e.span() {
                        Some(s) => {
                            let (l, c) = line_col(&text, s.start);
                            d.at(l, Some(c))
                        }
                        None => d,
                    }
                }),
            "csv" => csv_data(path, ',', &build.csv, shown(path)),
            "tsv" => csv_data(path, '\t', &build.tsv, shown(path)),
            _ => continue,
        };
        match parsed {
            Ok(value) => {
                let mut node = &mut root;
                for dir in dirs.split('/').filter(|d| !d.is_empty()) {
                    let entry = node
                        .entry(dir.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !entry.is_object() {
                        *entry = Value::Object(Map::new());
                    }
                    node = entry.as_object_mut().expect("object");
                }
                node.insert(stem.to_string(), value);
            }
            Err(d) => diags.push(d),
        }
    }
    Value::Object(root)
}

/// Collect documents by taxonomy term (`tags`, `categories`), in the
/// documents' order.
pub fn terms<'a>(
    docs: impl Iterator<Item = &'a Document>,
    tags: bool,
) -> BTreeMap<String, Vec<usize>> {
    let mut map: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, d) in docs.enumerate() {
        let list = if tags { &d.tags } else { &d.categories };
        for t in list {
            map.entry(t.clone()).or_default().push(i);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_dates() {
        assert_eq!(
            date_from_file_name("2024-01-05-hello.md"),
            Some((2024, 1, 5, "hello"))
        );
        assert_eq!(
            date_from_file_name("2024-1-5-a-b.c.md"),
            Some((2024, 1, 5, "a-b.c"))
        );
        assert_eq!(date_from_file_name("hello.md"), None);
        assert_eq!(date_from_file_name("2024-01-05.md"), None);
    }

    #[test]
    fn output_keys_stay_inside() {
        assert!(safe_output_key("a/b.html"));
        assert!(!safe_output_key("../x.html"));
        assert!(!safe_output_key("a/../../x"));
        assert!(!safe_output_key("/etc/passwd"));
        assert!(!safe_output_key("a\\..\\b"));
    }

    #[test]
    fn word_count_matches_split_whitespace() {
        for text in [
            "",
            "   ",
            "one",
            " two  words\n",
            "tabs\tand\x0bvertical\x0cfeeds\r\nend",
            "ünïcode wörds\u{a0}with a no-break space",
            "## Heading\n\n- item *one*\n- `code`\n",
        ] {
            assert_eq!(
                word_count(text),
                text.split_whitespace().count(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn titleize_slug() {
        assert_eq!(titleize("my-first-post"), "My First Post");
    }
}
