//! Sass pages as jekyll-sass-converter 2 (sassc) writes them: the CSS,
//! compiled by grass, and the source map beside it (`style.css.map`,
//! named at the end of the CSS), unless `sass: sourcemap: never`.
//!
//! The map lists the page and every file it imported, with their text,
//! as sassc's does; its `mappings` are empty, since grass keeps no
//! positions in its output (devtools show the sources, not the lines).

use std::cell::RefCell;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

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
    settings: Sass,
}

impl Compiler {
    pub fn new(site_root: &Path, load_paths: Vec<PathBuf>, settings: Sass) -> Compiler {
        Compiler {
            site_root: site_root
                .canonicalize()
                .unwrap_or_else(|_| site_root.to_path_buf()),
            load_paths,
            settings,
        }
    }

    /// Compile `source` (the page's body after Liquid); `name` is its file
    /// name (`style.scss`), which the converter gives as `<site>/<name>`.
    pub fn compile(&self, source: &str, name: &str) -> Result<Compiled, String> {
        let main = self.site_root.join(name);
        let fs = Recording {
            main: (main.clone(), source.to_string()),
            read: RefCell::new(Vec::new()),
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
        let mut css = grass::from_path(&main, &opts).map_err(|e| format!("Sass: {e}"))?;
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

/// The disk, with the page itself at its virtual path; remembers what
/// was read, in order, once each.
#[derive(Debug)]
struct Recording {
    main: (PathBuf, String),
    read: RefCell<Vec<(PathBuf, String)>>,
}

impl Recording {
    fn note(&self, path: &Path, text: &str) {
        let mut read = self.read.borrow_mut();
        if !read.iter().any(|(p, _)| p == path) {
            read.push((path.to_path_buf(), text.to_string()));
        }
    }
}

impl grass::Fs for Recording {
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn is_file(&self, path: &Path) -> bool {
        path == self.main.0 || path.is_file()
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if path == self.main.0 {
            self.note(path, &self.main.1);
            return Ok(self.main.1.clone().into_bytes());
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
