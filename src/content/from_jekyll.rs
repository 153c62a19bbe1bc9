//! `tusk init --from-jekyll`: a Jekyll folder becomes a tusk project in
//! tusk's layout without changing what it builds.
//!
//! What it does, in one folder:
//! - moves the site's sources (everything `jekyll build` reads, with
//!   `_config.yml` itself) into `site/`, by renaming, so no file is copied
//!   or lost and `jekyll build -s site` still builds the same site;
//! - leaves at the top what Jekyll never reads: hidden entries (`.git`;
//!   those listed in `include:` move), the `destination` folder (`_site`),
//!   Jekyll's default exclusions (`Gemfile`, `node_modules`, `vendor`...)
//!   and the top-level entries `exclude:` names (`README.md`, `LICENSE`);
//! - writes `config/tusk.toml` with `build.engine = "jekyll"`,
//!   `source = "site"`, `output = "public"`, and tusk's own settings: those
//!   under `tusk:` in `_config.yml` when it has them, else the starter's.
//!
//! `_config.yml` is not rewritten: every Jekyll setting keeps its meaning,
//! read from `site/_config.yml`. Refused, with nothing changed, when
//! `config/tusk.toml` or `site/` exists; a failed move puts back what moved.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use serde_json::Value;

/// What `tusk init --from-jekyll` did.
#[derive(Debug, Serialize)]
pub struct Converted {
    pub dir: PathBuf,
    /// Top-level entries moved into `site/`.
    pub moved: Vec<String>,
    /// Top-level entries left where they were (Jekyll does not read them).
    pub kept: Vec<String>,
    /// Files written.
    pub created: Vec<String>,
}

/// Jekyll's exclusions that name top-level entries.
const NEVER_READ: [&str; 7] = [
    ".sass-cache",
    ".jekyll-cache",
    "gemfiles",
    "Gemfile",
    "Gemfile.lock",
    "node_modules",
    "vendor",
];

/// Convert the Jekyll site in `dir`.
pub fn convert(dir: &Path) -> Result<Converted> {
    let config_file = dir.join("_config.yml");
    if !config_file.is_file() {
        bail!(
            "{} has no _config.yml: --from-jekyll converts a Jekyll site's folder",
            dir.display()
        );
    }
    for taken in ["config/tusk.toml", "site"] {
        if dir.join(taken).exists() {
            bail!(
                "{} already has {taken}: nothing was changed (move it away to convert the Jekyll site)",
                dir.display()
            );
        }
    }
    let settings = crate::jekyll::read_config(&config_file)?;
    let toml_text = tusk_toml(&settings)?;
    let (moved, kept) = plan(dir, &settings)?;

    let site = dir.join("site");
    std::fs::create_dir(&site).with_context(|| format!("cannot create {}", site.display()))?;
    let mut done: Vec<&String> = Vec::new();
    for name in &moved {
        if let Err(e) = std::fs::rename(dir.join(name), site.join(name)) {
            // Put back what moved: the folder is as it was.
            for back in done.iter().rev() {
                let _ = std::fs::rename(site.join(back), dir.join(back));
            }
            let _ = std::fs::remove_dir(&site);
            return Err(e).with_context(|| format!("cannot move {name} into site/"));
        }
        done.push(name);
    }
    let config_dir = dir.join("config");
    let written = std::fs::create_dir_all(&config_dir)
        .and_then(|()| std::fs::write(config_dir.join("tusk.toml"), toml_text));
    if let Err(e) = written {
        for back in done.iter().rev() {
            let _ = std::fs::rename(site.join(back), dir.join(back));
        }
        let _ = std::fs::remove_dir(&site);
        return Err(e).context("cannot write config/tusk.toml");
    }
    Ok(Converted {
        dir: dir.to_path_buf(),
        moved,
        kept,
        created: vec!["config/tusk.toml".to_string()],
    })
}

/// The top-level entries to move into `site/` and those to keep, sorted.
fn plan(
    dir: &Path,
    settings: &serde_json::Map<String, Value>,
) -> Result<(Vec<String>, Vec<String>)> {
    let strings = |key: &str| -> Vec<String> {
        match settings.get(key) {
            Some(Value::Array(v)) => v
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim_matches('/').to_string())
                .collect(),
            Some(Value::String(s)) => vec![s.trim_matches('/').to_string()],
            _ => Vec::new(),
        }
    };
    let include = strings("include");
    let mut exclude = globset::GlobSetBuilder::new();
    for pattern in strings("exclude") {
        if let Ok(g) = globset::Glob::new(&pattern) {
            exclude.add(g);
        }
    }
    let exclude = exclude.build().context("exclude: patterns")?;
    let destination = settings
        .get("destination")
        .and_then(Value::as_str)
        .unwrap_or("_site")
        .trim_start_matches("./")
        .trim_matches('/')
        .to_string();
    let mut moved = Vec::new();
    let mut kept = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            bail!(
                "{}: a file name that is not UTF-8; nothing was changed",
                entry.path().display()
            );
        };
        let hidden = name.starts_with('.') && !include.contains(&name);
        let stays = hidden
            || name == destination
            || NEVER_READ.contains(&name.as_str())
            || (exclude.is_match(&name) && name != "_config.yml");
        if stays {
            kept.push(name);
        } else {
            moved.push(name);
        }
    }
    moved.sort();
    kept.sort();
    Ok((moved, kept))
}

/// `config/tusk.toml` for the converted site.
fn tusk_toml(settings: &serde_json::Map<String, Value>) -> Result<String> {
    let header = "# tusk configuration (made by `tusk init --from-jekyll`).\n\
        # The site is a Jekyll site: site/_config.yml keeps every Jekyll setting\n\
        # (url, baseurl, permalink, collections, defaults, plugins...), read as\n\
        # `jekyll build -s site` reads it. This file says where tusk reads and\n\
        # writes, and holds tusk's own settings (publish, snapshot, cdn, edge);\n\
        # config/<env>.toml overlays it with `tusk --env <env> ...`.\n\n";
    let Some(own) = settings.get("tusk") else {
        return Ok(format!(
            "{header}[build]\nengine = \"jekyll\"\nsource = \"site\"\noutput = \"public\"\n\n\
             [publish]\n# For S3: target = \"s3://<bucket>/<prefix>\".\ntarget = \"file://.tusk/bucket\"\n\n\
             [edge]\nlisten = \"127.0.0.1:8080\"\n"
        ));
    };
    // The `tusk:` settings, moved here (the key in _config.yml is then
    // ignored, with a warning).
    let mut table: toml::Table = toml::Value::try_from(own)
        .ok()
        .and_then(|v| v.as_table().cloned())
        .context("_config.yml: tusk: must be a mapping of tusk settings")?;
    let build = table
        .entry("build")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(build) = build.as_table_mut() else {
        bail!("_config.yml: tusk.build must be a mapping");
    };
    build.insert("engine".into(), "jekyll".into());
    build.insert("source".into(), "site".into());
    build.insert("output".into(), "public".into());
    let body = toml::to_string(&table).context("tusk: settings as TOML")?;
    // Checked now, so the project loads.
    toml::from_str::<crate::config::Config>(&body)
        .map_err(|e| anyhow::anyhow!("_config.yml: tusk: {}", e.message()))?;
    Ok(format!("{header}{body}"))
}
