//! Incremental rebuilds for `tusk serve`: after an edit to Markdown
//! documents, re-render only the pages that show something of them.
//!
//! An edit that leaves a document in its place (same URL, date, kind,
//! layout, terms, pagination, redirects) re-renders its own page(s). When
//! what lists show of it (title, excerpt, front matter) changed as well,
//! the pages listing it are re-rendered too: the pagination and term pages
//! whose slice holds it, its previous/next posts, every page whose
//! templates read the site's lists, and the feeds and sitemap. Anything
//! else (a new, deleted or moved document, a template, a data or static
//! file, config) asks for a full build.
//!
//! Pages are rendered and link-checked in memory first; the served folder
//! changes only when all of that succeeded, one file replaced at a time.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::build::linkcheck;
use crate::build::listing::Job;
use crate::build::Built;
use crate::content::{self, Document, Kind, LoadOptions};
use crate::diag::{Collector, Diagnostic, Problems};
use crate::tree::write::{self, Sink};
use crate::tree::Object;

/// What [`Built::update`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Only files the build ignores changed (editors' swap files).
    Unchanged,
    /// These many files changed and were replaced; the URLs of the pages
    /// among them.
    Updated { files: usize, urls: Vec<String> },
    /// The change needs a full build, for this reason.
    FullBuild(String),
}

impl Built {
    /// Bring the output up to date with the files in `changed`. On a
    /// content problem nothing is written and the state stays as it was,
    /// so the next call may include the same paths again (unless
    /// [`Built::is_stale`]).
    /// `visible` is called with the URLs of the edited pages as soon as
    /// they are written, before the pages that list them.
    pub fn update(
        &mut self,
        changed: &[PathBuf],
        visible: &mut dyn FnMut(&[String]),
    ) -> Result<Outcome> {
        let started = std::time::Instant::now();
        let (edited, templates) = match self.classify(changed) {
            Ok(found) => found,
            Err(reason) => return Ok(Outcome::FullBuild(reason)),
        };
        match (edited.is_empty(), templates.is_empty()) {
            (true, true) => return Ok(Outcome::Unchanged),
            (true, false) => return self.update_templates(&templates, visible),
            (false, false) => {
                return Ok(Outcome::FullBuild(
                    "documents and templates changed together".into(),
                ))
            }
            (false, true) => {}
        }
        let opts = LoadOptions {
            now: chrono::Utc::now(),
            ..self.load_opts.clone()
        };
        let diags = Collector::default();
        let mut fresh = Vec::new();
        for i in edited {
            let old = &self.prepared.site.documents[i];
            let shown = content::shown_source(&self.prepared.loaded, old);
            match content::reload_document(&self.prepared.loaded, &opts, &old.source) {
                Ok(Some(mut doc)) => {
                    if let Some(refs) = &self.prepared.refs {
                        refs.fix_excerpt(&mut doc);
                    }
                    if let Some(what) = self.moved(old, &doc) {
                        return Ok(Outcome::FullBuild(format!("{shown}: {what} changed")));
                    }
                    fresh.push((i, doc));
                }
                Ok(None) => {
                    return Ok(Outcome::FullBuild(format!(
                        "{shown} is no longer published"
                    )))
                }
                Err(d) => diags.push(d),
            }
        }
        if !diags.is_empty() {
            return Err(Problems(diags.into_sorted()).into());
        }

        tracing::debug!(
            "serve: {} documents read again in {:?}",
            fresh.len(),
            started.elapsed()
        );
        let mut own = BTreeSet::new();
        let mut listing = BTreeSet::new();
        let mut listed = Vec::new();
        for (i, doc) in &fresh {
            let old = &self.prepared.site.documents[*i];
            own.extend(self.pages_of(*i));
            if old.front != doc.front || old.excerpt != doc.excerpt || old.title != doc.title {
                listing.extend(self.pages_listing(*i));
                listed.push(*i);
            }
        }
        let own: Vec<usize> = own.into_iter().collect();
        let listing: Vec<usize> = listing.into_iter().filter(|j| !own.contains(j)).collect();
        // Swap the new documents in; swapped back if the first pass fails.
        let previous: Vec<(usize, Document)> = fresh
            .into_iter()
            .map(|(i, doc)| {
                (
                    i,
                    std::mem::replace(&mut self.prepared.site.documents[i], doc),
                )
            })
            .collect();
        for &i in &listed {
            self.prepared.refresh_lists(i);
        }
        // First the edited pages themselves, the ones being looked at...
        let mut written = match self.render_and_replace(&own, false) {
            Ok(written) => written,
            Err(err) => {
                for (i, doc) in previous {
                    self.prepared.site.documents[i] = doc;
                }
                for &i in &listed {
                    self.prepared.refresh_lists(i);
                }
                return Err(err);
            }
        };
        let mut urls = self.urls(&own, &written);
        visible(&urls);
        // ...then the pages and files that list them.
        if !listed.is_empty() {
            match self.render_and_replace(&listing, true) {
                Ok(more) => {
                    urls.extend(self.urls(&listing, &more));
                    written.extend(more);
                }
                Err(err) => {
                    // The edited pages are out already: only a full build
                    // makes the output whole again.
                    self.stale = true;
                    return Err(err);
                }
            }
        }
        Ok(Outcome::Updated {
            files: written.len(),
            urls,
        })
    }

    /// Whether a failed update left the output partly updated, so only a
    /// full build can continue.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The URLs of the pages among `jobs` that were `written`.
    fn urls(&self, jobs: &[usize], written: &[String]) -> Vec<String> {
        jobs.iter()
            .map(|&j| &self.prepared.planned[j])
            .filter(|p| written.contains(&p.key))
            .map(|p| p.url.clone())
            .collect()
    }

    /// Templates changed: load them again and re-render the pages that use
    /// them (through extends, include and import too).
    fn update_templates(
        &mut self,
        templates: &HashSet<String>,
        visible: &mut dyn FnMut(&[String]),
    ) -> Result<Outcome> {
        let mut previous = None;
        let jobs = match self.prepared.reload_templates(templates, &mut previous) {
            Ok(Some(jobs)) => jobs,
            Ok(None) => return Ok(Outcome::FullBuild("a layout in use is gone".into())),
            Err(problems) => {
                let mut problems = problems;
                problems.sort_by(|a, b| a.file.cmp(&b.file));
                return Err(Problems(problems).into());
            }
        };
        match self.render_and_replace(&jobs, false) {
            Ok(written) => {
                let urls = self.urls(&jobs, &written);
                visible(&urls);
                Ok(Outcome::Updated {
                    files: written.len(),
                    urls,
                })
            }
            Err(err) => {
                if let Some(previous) = previous {
                    self.prepared.restore_templates(previous);
                }
                Err(err)
            }
        }
    }

    /// The documents and the template names among `changed`, or why a
    /// full build is needed.
    fn classify(&self, changed: &[PathBuf]) -> Result<(Vec<usize>, HashSet<String>), String> {
        let loaded = &self.prepared.loaded;
        let source_dir = loaded.source_dir();
        let canonical = |p: PathBuf| p.canonicalize().unwrap_or(p);
        let canonical_source = canonical(source_dir.clone());
        let template_dirs = [
            canonical(
                loaded
                    .root
                    .join("themes")
                    .join(&loaded.config.build.theme)
                    .join("templates"),
            ),
            canonical(source_dir.join("_templates")),
        ];
        let docs = &self.prepared.site.documents;
        let mut edited = Vec::new();
        let mut templates = HashSet::new();
        for path in changed {
            let shown = content::display_path(&loaded.root, path);
            if let Some(name) = template_dirs.iter().find_map(|dir| relative(dir, path)) {
                let skipped = name.split('/').any(|part| part.starts_with('.'));
                if !skipped && !path.is_dir() {
                    templates.insert(name);
                }
                continue;
            }
            let Some(rel) = relative(&canonical_source, path) else {
                return Err(format!("{shown} changed"));
            };
            match docs.iter().position(|d| d.source == rel) {
                Some(_) if !path.exists() => return Err(format!("{shown} was removed")),
                Some(i) if !docs[i].markdown => {
                    return Err(format!("{shown} is a template document"))
                }
                Some(i) => edited.push(i),
                None if content::skipped(&rel, &loaded.config) => {}
                // A file that came and went (an editor's temporary file),
                // unless it was site content.
                None if !path.exists()
                    && !rel.starts_with("_data/")
                    && !self.prepared.site.static_files.iter().any(|f| {
                        f.path
                            .strip_prefix(&source_dir)
                            .is_ok_and(|p| p == Path::new(&rel))
                    }) => {}
                None => return Err(format!("{shown} is not a known document")),
            }
        }
        edited.sort_unstable();
        edited.dedup();
        Ok((edited, templates))
    }

    /// What changed about a document's place in the site, if anything.
    fn moved(&self, old: &Document, new: &Document) -> Option<&'static str> {
        let front = |d: &Document, key: &str| d.front.get(key).cloned();
        let terms = |d: &Document| {
            self.prepared
                .taxonomies
                .iter()
                .map(|t| crate::build::listing::terms_of(d, &t.name))
                .collect::<Vec<_>>()
        };
        if (old.kind, &old.collection, old.draft) != (new.kind, &new.collection, new.draft) {
            Some("its kind")
        } else if (&old.url, &old.output, &old.slug) != (&new.url, &new.output, &new.slug) {
            Some("its URL")
        } else if old.date != new.date {
            Some("its date")
        } else if (&old.tags, &old.categories) != (&new.tags, &new.categories)
            || terms(old) != terms(new)
        {
            Some("its terms")
        } else if (&old.layout, old.layout_explicit) != (&new.layout, new.layout_explicit) {
            Some("its layout")
        } else if [
            "paginate",
            "paginate_by",
            "redirect_from",
            "redirect_to",
            "sitemap",
        ]
        .iter()
        .any(|k| front(old, k) != front(new, k))
        {
            Some("its pagination, redirects or sitemap entry")
        } else {
            None
        }
    }

    /// The planned pages of document `i` itself.
    fn pages_of(&self, i: usize) -> Vec<usize> {
        let planned = &self.prepared.planned;
        (0..planned.len())
            .filter(|&j| matches!(planned[j].job, Job::Doc { doc, .. } if doc == i))
            .collect()
    }

    /// The planned pages that show document `i` in a list.
    fn pages_listing(&self, i: usize) -> Vec<usize> {
        let p = &self.prepared;
        let doc = &p.site.documents[i];
        let post_position = (doc.kind == Kind::Post).then(|| {
            p.site.documents[..i]
                .iter()
                .filter(|d| d.kind == Kind::Post)
                .count()
        });
        let (previous, next) = p.neighbours.get(&i).copied().unwrap_or((None, None));
        let neighbour = |d: usize| Some(d) == previous || Some(d) == next;
        (0..p.planned.len())
            .filter(|&j| {
                p.heavy[j]
                    || match &p.planned[j].job {
                        Job::Doc {
                            doc: d,
                            pager: None,
                        } => neighbour(*d),
                        Job::Doc {
                            doc: d,
                            pager: Some(pager),
                        } => {
                            // jekyll-paginate's pages list every post.
                            pager.rooted || neighbour(*d) || {
                                let list = p.site.documents[*d]
                                    .front
                                    .get("paginate")
                                    .and_then(serde_json::Value::as_str)
                                    .unwrap_or_default();
                                crate::build::list_at(p.site_value(), list).is_some_and(|items| {
                                    items[pager.range()].iter().any(|e| {
                                        e["path"] == doc.source.as_str()
                                            || e["url"] == doc.url.as_str()
                                    })
                                })
                            }
                        }
                        Job::Term {
                            taxonomy,
                            term,
                            pager,
                        } => post_position.is_some_and(|pos| {
                            p.taxonomies[*taxonomy].terms[*term].posts[pager.range()].contains(&pos)
                        }),
                        Job::TaxonomyList { .. } | Job::NotFound => false,
                    }
            })
            .collect()
    }

    /// Render `jobs` (and the generated files when `lists_changed`) in
    /// memory, check their links, then replace the files that changed.
    /// The keys written (pages that render as before are left alone).
    fn render_and_replace(&mut self, jobs: &[usize], lists_changed: bool) -> Result<Vec<String>> {
        let p = &self.prepared;
        let diags = Collector::default();
        let sink = Sink::Memory(Default::default());
        let started = std::time::Instant::now();
        let rendered = p.render(jobs, &sink, &diags);
        tracing::debug!(
            "serve: {} pages rendered in {:?}",
            jobs.len(),
            started.elapsed()
        );
        if lists_changed {
            let generated = p
                .generated(&|k| !self.generated_keys.contains(k))
                .unwrap_or_else(|d| {
                    diags.push(d);
                    Vec::new()
                });
            for (key, body) in generated {
                let _ = sink.write(&key, &body);
            }
        }
        // Files an edited template fingerprints for the first time.
        let mut fingerprinted = HashSet::new();
        for fp in p.assets.used() {
            if self.keys.contains(&fp.key) {
                continue;
            }
            match fp.write(&sink) {
                Ok(_) => {
                    fingerprinted.insert(fp.key.clone());
                }
                Err(e) => diags.push(Diagnostic::new(
                    fp.key.clone(),
                    format!("cannot write: {e}"),
                )),
            }
        }
        if !diags.is_empty() {
            return Err(Problems(diags.into_sorted()).into());
        }
        let objects: HashMap<String, Object> = rendered
            .iter()
            .map(|(o, _)| (o.key.clone(), o.clone()))
            .collect();
        let pages: HashMap<String, linkcheck::Page> = rendered
            .into_iter()
            .filter_map(|(_, page)| page)
            .map(|page| (page.key.clone(), page))
            .collect();
        if p.check_links {
            // A page whose ids changed may break `#anchor` links elsewhere.
            let ids_changed = pages.iter().any(|(key, page)| {
                self.pages
                    .get(key)
                    .is_none_or(|old| old.links.ids != page.links.ids)
            });
            let at = |key: &str| pages.get(key).or_else(|| self.pages.get(key));
            let to_check: Vec<&linkcheck::Page> = if ids_changed {
                pages
                    .values()
                    .chain(
                        self.pages
                            .values()
                            .filter(|old| !pages.contains_key(&old.key)),
                    )
                    .collect()
            } else {
                pages.values().collect()
            };
            // New fingerprinted files count as output (rare: copy then).
            let with_new;
            let keys = if fingerprinted.is_empty() {
                &self.keys
            } else {
                with_new = self.keys.union(&fingerprinted).cloned().collect();
                &with_new
            };
            let report = linkcheck::check(
                to_check.into_iter(),
                &at,
                keys,
                &p.loaded.config.site.base_url,
            );
            crate::build::report_broken(&report, p, &diags);
            if !diags.is_empty() {
                return Err(Problems(diags.into_sorted()).into());
            }
        }

        let Sink::Memory(files) = sink else {
            unreachable!("a memory sink")
        };
        let mut written = Vec::new();
        for (key, body) in files.into_inner().expect("memory sink lock") {
            let object = objects
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Object::from_bytes(&key, &body));
            let at = self.tree.objects.binary_search_by(|o| o.key.cmp(&key));
            if let Ok(at) = at {
                if self.tree.objects[at].sha256 == object.sha256 {
                    continue; // Rendered the same: leave the file alone.
                }
            }
            write::replace(&self.output_dir, &key, &body).map_err(|e| {
                Problems(vec![Diagnostic::new(
                    key.clone(),
                    format!("cannot write: {e}"),
                )])
            })?;
            match at {
                Ok(at) => {
                    // Keep the cache class the full build gave it.
                    let class = self.tree.objects[at].cache_class;
                    self.tree.objects[at] = Object {
                        cache_class: class,
                        ..object
                    };
                }
                Err(at) => {
                    let mut object = object;
                    if fingerprinted.contains(&key) {
                        object.cache_class = crate::tree::CacheClass::Fingerprinted;
                    }
                    self.tree.objects.insert(at, object);
                    self.keys.insert(key.clone());
                }
            }
            written.push(key);
        }
        self.pages.extend(pages);
        tracing::debug!("serve: written at {:?}", started.elapsed());
        if !written.is_empty() {
            self.tree.write(&self.output_dir)?;
            tracing::debug!("serve: manifest written at {:?}", started.elapsed());
        }
        Ok(written)
    }
}

/// `path` relative to the content root, `/`-separated; None when outside.
fn relative(canonical_source: &Path, path: &Path) -> Option<String> {
    // The file may be gone: resolve its folder instead.
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(_) => path.parent()?.canonicalize().ok()?.join(path.file_name()?),
    };
    let rel = resolved.strip_prefix(canonical_source).ok()?;
    Some(rel.to_string_lossy().replace('\\', "/"))
}
