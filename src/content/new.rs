//! `tusk new`: a post or page with its front matter filled in, in the place
//! the build looks for it, so content staff need not remember conventions;
//! and `tusk init`: a whole starter project (like `hugo new site`,
//! `zola init`). Neither ever overwrites: files are created with
//! `create_new`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, FixedOffset};
use include_dir::{include_dir, Dir};
use serde::Serialize;

use crate::config::Loaded;
use crate::content::permalink::{slugify, SlugMode};
use crate::content::titleize;

/// What to create.
pub enum New<'a> {
    /// `_posts/YYYY-MM-DD-slug.md` (or `_drafts/slug.md`).
    Post { title: &'a str, draft: bool },
    /// A page at a path inside the content root, e.g. `about/team.md`.
    Page { path: &'a Path },
}

/// Create the file and return its path (relative to the project root).
/// `now` is the date written in the front matter, in the site's time zone.
pub fn create(loaded: &Loaded, what: New, now: DateTime<FixedOffset>) -> Result<PathBuf> {
    let source = loaded.source_dir();
    let (file, title, slug) = match what {
        New::Post { title, draft } => {
            let slug = slugify(title, SlugMode::Default, false);
            if slug.is_empty() {
                bail!("the title {title:?} has no letters or digits to make a file name from");
            }
            let file = if draft {
                source.join("_drafts").join(format!("{slug}.md"))
            } else {
                let day = now.format("%Y-%m-%d");
                source.join("_posts").join(format!("{day}-{slug}.md"))
            };
            (file, title.to_string(), Some(slug))
        }
        New::Page { path } => {
            let relative = safe_relative(path)?;
            let with_ext = if relative.extension().is_none() {
                relative.with_extension("md")
            } else {
                relative
            };
            let stem = with_ext
                .file_stem()
                .and_then(|s| s.to_str())
                .context("the page needs a file name")?;
            (source.join(&with_ext), titleize(stem), None)
        }
    };
    let front = front_matter(&title, now, slug.as_deref())?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {}", shown(loaded, dir).display()))?;
    }
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow::anyhow!(
                    "{} already exists; not overwriting it",
                    shown(loaded, &file).display()
                )
            }
            _ => anyhow::anyhow!("cannot create {}: {e}", shown(loaded, &file).display()),
        })?;
    out.write_all(front.as_bytes())
        .with_context(|| format!("cannot write {}", shown(loaded, &file).display()))?;
    Ok(shown(loaded, &file).to_path_buf())
}

/// `--date` (YYYY-MM-DD or RFC 3339), or now, in the site's time zone.
pub fn date(loaded: &Loaded, date: Option<&str>) -> Result<DateTime<FixedOffset>> {
    let tz = loaded.config.site.tz();
    let Some(date) = date else {
        return Ok(chrono::Utc::now().with_timezone(&tz).fixed_offset());
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(date) {
        return Ok(d);
    }
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("--date {date:?}: expected YYYY-MM-DD or RFC 3339"))?;
    day.and_hms_opt(12, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).single())
        .map(|d| d.fixed_offset())
        .with_context(|| {
            format!(
                "--date {date:?}: not a time in {}",
                loaded.config.site.timezone
            )
        })
}

/// YAML front matter; values are serialised, so any title is safe.
fn front_matter(
    title: &str,
    date: DateTime<FixedOffset>,
    post_slug: Option<&str>,
) -> Result<String> {
    let mut map = serde_yaml::Mapping::new();
    map.insert("title".into(), title.into());
    // Pages have no date, slug or tags (the build ignores them there).
    if let Some(slug) = post_slug {
        map.insert(
            "date".into(),
            date.format("%Y-%m-%d %H:%M:%S %z").to_string().into(),
        );
        map.insert("slug".into(), slug.into());
        map.insert("tags".into(), serde_yaml::Value::Sequence(Vec::new()));
    }
    let yaml = serde_yaml::to_string(&map)?;
    Ok(format!("---\n{yaml}---\n\n"))
}

/// The starter project `tusk init` writes, embedded in the binary.
static STARTER: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/starter");

/// What `tusk init` made.
#[derive(Debug, Serialize)]
pub struct Initialized {
    /// The project folder, as given.
    pub dir: PathBuf,
    /// Files written, relative to `dir`.
    pub created: Vec<String>,
    /// Files that existed already and were left alone (`--force`).
    pub kept: Vec<String>,
}

/// `tusk init DIR`: write the starter project into `dir`. A folder with
/// anything but hidden entries (`.git`) in it is refused unless `force`;
/// even then no existing file is overwritten. `today` dates the sample post.
pub fn init(dir: &Path, force: bool, today: chrono::NaiveDate) -> Result<Initialized> {
    if !force {
        if let Some(entry) = first_visible_entry(dir)? {
            bail!(
                "{} is not empty (it holds {entry}); choose an empty or new folder, or pass --force to add the files that are missing",
                dir.display()
            );
        }
    }
    let mut done = Initialized {
        dir: dir.to_path_buf(),
        created: Vec::new(),
        kept: Vec::new(),
    };
    for (rel, contents) in starter_files(today) {
        let path = dir.join(&rel);
        let written = create_dirs(&path).and_then(|()| write_new(&path, contents));
        match written {
            Ok(true) => done.created.push(rel),
            Ok(false) => done.kept.push(rel),
            Err(e) => {
                // Nothing half-written: take back what this run created.
                for rel in &done.created {
                    let _ = std::fs::remove_file(dir.join(rel));
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// The starter's files as (path in the project, contents), the sample
/// post named after `today` and the ignore file given its real name.
fn starter_files(today: chrono::NaiveDate) -> Vec<(String, &'static [u8])> {
    let mut files = Vec::new();
    let mut stack = vec![&STARTER];
    while let Some(d) = stack.pop() {
        stack.extend(d.dirs());
        for f in d.files() {
            let rel = f.path().to_string_lossy().replace('\\', "/");
            let rel = match rel.as_str() {
                "gitignore" => ".gitignore".to_string(),
                "site/_posts/welcome.md" => {
                    format!(
                        "site/_posts/{}-welcome-to-tusk.md",
                        today.format("%Y-%m-%d")
                    )
                }
                _ => rel,
            };
            files.push((rel, f.contents()));
        }
    }
    files.sort();
    files
}

/// The first entry of `dir` that is not hidden; None for an empty or
/// missing folder.
fn first_visible_entry(dir: &Path) -> Result<Option<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            bail!("{} is a file, not a folder", dir.display())
        }
        Err(e) => bail!("cannot read {}: {e}", dir.display()),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

fn create_dirs(path: &Path) -> Result<()> {
    let dir = path.parent().expect("a file in the project");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Write a file that does not exist yet; `Ok(false)` when it does.
fn write_new(path: &Path, contents: &[u8]) -> Result<bool> {
    let mut out = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => bail!("cannot create {}: {e}", path.display()),
    };
    out.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// A path inside the content root: relative, without `..` or a root.
fn safe_relative(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => bail!(
                "{}: give a path inside the content folder (no leading / or ..)",
                path.display()
            ),
        }
    }
    if out.as_os_str().is_empty() {
        bail!("the page needs a path, e.g. about/team.md");
    }
    Ok(out)
}

fn shown<'a>(loaded: &Loaded, path: &'a Path) -> &'a Path {
    path.strip_prefix(&loaded.root).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside() {
        assert!(safe_relative(Path::new("../x.md")).is_err());
        assert!(safe_relative(Path::new("/etc/x.md")).is_err());
        assert!(safe_relative(Path::new("a/../../x.md")).is_err());
        assert_eq!(
            safe_relative(Path::new("./a/b.md")).unwrap(),
            Path::new("a/b.md")
        );
    }

    #[test]
    fn front_matter_quotes_what_needs_it() {
        let date = DateTime::parse_from_rfc3339("2026-11-23T10:00:00+01:00").unwrap();
        let fm = front_matter("Q: \"yes\" # no", date, Some("q-yes-no")).unwrap();
        let body = fm
            .trim_start_matches("---\n")
            .split("---\n")
            .next()
            .unwrap();
        let parsed: serde_yaml::Value = serde_yaml::from_str(body).unwrap();
        assert_eq!(parsed["title"], "Q: \"yes\" # no");
        assert_eq!(parsed["date"], "2026-11-23 10:00:00 +0100");
        assert_eq!(titleize("team-news"), "Team News");
    }
}
