//! Sass pages as jekyll-sass-converter 2 (sassc) writes them: the CSS,
//! compiled by grass, and the source map beside it (`style.css.map`,
//! named at the end of the CSS), unless `sass: sourcemap: never`.
//!
//! The map lists the page and every file it imported, with their text,
//! as sassc's does; its `mappings` are empty, since grass keeps no
//! positions in its output (devtools show the sources, not the lines).
//!
//! grass sees only the site folder, the Sass load paths and the theme:
//! an `@import` of anything else (`../../../etc/passwd`, an absolute
//! path, a symlink out) is an error naming the importing file and line,
//! and nothing of it reaches the output.

use std::cell::RefCell;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::content;
use crate::diag::Diagnostic;
use crate::jekyll::Sass;

/// A Sass page's output.
pub struct Compiled {
    pub css: String,
    /// The `.css.map`, when the site writes them.
    pub map: Option<String>,
}

/// What compiles every Sass page of a site.
pub struct Compiler {
    /// The site folder (imports resolve from it first, as sassc's do
    /// with the converter's file name), canonical.
    site_root: PathBuf,
    load_paths: Vec<PathBuf>,
    /// The folders grass may read from, canonical.
    allowed: Vec<PathBuf>,
    /// The project folder, which messages name files from.
    project: PathBuf,
    settings: Sass,
}

impl Compiler {
    /// `theme`: the theme gem's folder, readable with its `_sass`.
    pub fn new(
        site_root: &Path,
        load_paths: Vec<PathBuf>,
        theme: Option<&Path>,
        project: &Path,
        settings: Sass,
    ) -> Compiler {
        let site_root = site_root
            .canonicalize()
            .unwrap_or_else(|_| site_root.to_path_buf());
        let allowed = std::iter::once(site_root.clone())
            .chain(load_paths.iter().filter_map(|p| p.canonicalize().ok()))
            .chain(theme.and_then(|t| t.canonicalize().ok()))
            .collect();
        Compiler {
            site_root,
            load_paths,
            allowed,
            // grass names imported files by their canonical path.
            project: project
                .canonicalize()
                .unwrap_or_else(|_| project.to_path_buf()),
            settings,
        }
    }

    /// Compile `source` (the page's body after Liquid); `name` is its file
    /// name (`style.scss`), which the converter gives as `<site>/<name>`.
    /// `shown` and `first_line` place an error in the page itself.
    pub fn compile(
        &self,
        source: &str,
        name: &str,
        shown: &str,
        first_line: usize,
    ) -> Result<Compiled, Diagnostic> {
        let main = self.site_root.join(name);
        let fs = Recording {
            main: (main.clone(), source.to_string()),
            read: RefCell::new(Vec::new()),
            allowed: &self.allowed,
            refused: RefCell::new(Vec::new()),
        };
        let style = match self.settings.compressed {
            true => grass::OutputStyle::Compressed,
            false => grass::OutputStyle::Expanded,
        };
        let mut opts = grass::Options::default().style(style).fs(&fs);
        if name.ends_with(".sass") {
            opts = opts.input_syntax(grass::InputSyntax::Sass);
        }
        for p in &self.load_paths {
            opts = opts.load_path(p);
        }
        let mut css = grass::from_path(&main, &opts)
            .map_err(|e| self.problem(*e, &fs, &main, shown, first_line))?;
        if !self.settings.source_maps {
            return Ok(Compiled { css, map: None });
        }
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let map_name = format!("{stem}.css.map");
        css.push_str(&format!(
            "\n/*# sourceMappingURL={} */",
            url_escape(&map_name)
        ));
        let read = fs.read.into_inner();
        let map = SourceMap {
            version: 3,
            file: format!("{stem}.css"),
            sources: read
                .iter()
                .map(|(p, _)| match *p == main {
                    true => name.to_string(),
                    false => relative(&self.site_root, p),
                })
                .collect(),
            sources_content: read.iter().map(|(_, text)| text.clone()).collect(),
            names: Vec::new(),
            mappings: String::new(),
        };
        Ok(Compiled {
            css,
            map: Some(map.to_json()),
        })
    }
}

impl Compiler {
    /// grass's error at the file and line it names: the page (its line
    /// counted from `first_line`) or an imported file.
    fn problem(
        &self,
        e: grass::Error,
        fs: &Recording<'_>,
        main: &Path,
        shown: &str,
        first_line: usize,
    ) -> Diagnostic {
        let refused = fs.refused.borrow().first().map(|p| {
            format!(
                "{} is outside the site, its Sass load paths and the theme, and is not imported; ",
                p.display()
            )
        });
        let refused = refused.unwrap_or_default();
        match e.kind() {
            grass::ErrorKind::ParseError { message, loc, .. } => {
                let file = Path::new(loc.file.name());
                let line = loc.begin.line + 1;
                let (file, line) = match file == main {
                    true => (shown.to_string(), line + first_line - 1),
                    false => (content::display_path(&self.project, file), line),
                };
                Diagnostic::new(file, format!("Sass: {refused}{message}"))
                    .at(line, Some(loc.begin.column + 1))
            }
            other => Diagnostic::new(shown, format!("Sass: {refused}{other:?}")),
        }
    }
}

/// Source map v3, in sassc's field order.
#[derive(Serialize)]
struct SourceMap {
    version: u8,
    file: String,
    sources: Vec<String>,
    #[serde(rename = "sourcesContent")]
    sources_content: Vec<String>,
    names: Vec<String>,
    mappings: String,
}

impl SourceMap {
    /// Tab-indented, as libsass lays it out.
    fn to_json(&self) -> String {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut ser).expect("a source map serialises");
        String::from_utf8(out).expect("JSON is UTF-8")
    }
}

/// The disk as grass sees it: the page itself at its virtual path, and
/// only the allowed folders; remembers what was read, in order, once
/// each, and what was refused.
#[derive(Debug)]
struct Recording<'a> {
    main: (PathBuf, String),
    read: RefCell<Vec<(PathBuf, String)>>,
    allowed: &'a [PathBuf],
    refused: RefCell<Vec<PathBuf>>,
}

impl Recording<'_> {
    fn note(&self, path: &Path, text: &str) {
        let mut read = self.read.borrow_mut();
        if !read.iter().any(|(p, _)| p == path) {
            read.push((path.to_path_buf(), text.to_string()));
        }
    }

    /// Whether `path` (which exists) is inside an allowed folder once
    /// `..` and symlinks are resolved; a refusal is remembered.
    fn allows(&self, path: &Path) -> bool {
        let inside = std::fs::canonicalize(path)
            .is_ok_and(|real| self.allowed.iter().any(|a| real.starts_with(a)));
        if !inside {
            self.refused.borrow_mut().push(path.to_path_buf());
        }
        inside
    }
}

impl grass::Fs for Recording<'_> {
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir() && self.allows(path)
    }

    fn is_file(&self, path: &Path) -> bool {
        path == self.main.0 || path.is_file() && self.allows(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if path == self.main.0 {
            self.note(path, &self.main.1);
            return Ok(self.main.1.clone().into_bytes());
        }
        if !self.allows(path) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "outside the site, its Sass load paths and the theme",
            ));
        }
        let bytes = std::fs::read(path)?;
        self.note(path, &String::from_utf8_lossy(&bytes));
        Ok(bytes)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        match path == self.main.0 {
            true => Ok(path.to_path_buf()),
            false => std::fs::canonicalize(path),
        }
    }
}

/// `to` from the folder `from` (both canonical), `/`-separated, with
/// `..` where it is outside (a theme gem's `_sass`).
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let ups = std::iter::repeat_n("..".to_string(), from.len() - common);
    let downs = to_parts[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    ups.chain(downs).collect::<Vec<_>>().join("/")
}

/// A file name as a URL path segment.
fn url_escape(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_out_of_the_site() {
        let site = Path::new("/tmp/a/site");
        assert_eq!(
            relative(site, Path::new("/tmp/a/site/_sass/_c.scss")),
            "_sass/_c.scss"
        );
        assert_eq!(
            relative(site, Path::new("/usr/share/minima/_sass/minima.scss")),
            "../../../usr/share/minima/_sass/minima.scss"
        );
    }
}
