//! `tusk new`: a post or page with its front matter filled in, in the place
//! the build looks for it, so content staff need not remember conventions.
//! It never overwrites: the file is created with `create_new`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, FixedOffset};

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
            (file, title.to_string(), slug)
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
            let slug = slugify(stem, SlugMode::Default, false);
            (source.join(&with_ext), titleize(stem), slug)
        }
    };
    let front = front_matter(&title, now, &slug)?;
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
fn front_matter(title: &str, date: DateTime<FixedOffset>, slug: &str) -> Result<String> {
    let mut map = serde_yaml::Mapping::new();
    map.insert("title".into(), title.into());
    map.insert(
        "date".into(),
        date.format("%Y-%m-%d %H:%M:%S %z").to_string().into(),
    );
    map.insert("slug".into(), slug.into());
    map.insert("tags".into(), serde_yaml::Value::Sequence(Vec::new()));
    let yaml = serde_yaml::to_string(&map)?;
    Ok(format!("---\n{yaml}---\n\n"))
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
        let fm = front_matter("Q: \"yes\" # no", date, "q-yes-no").unwrap();
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
