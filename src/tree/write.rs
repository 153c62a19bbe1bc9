//! Writing a tree folder safely: everything goes to a staging folder beside
//! the target, which replaces the target only when the whole run succeeded.
//! A failed build therefore leaves the previous output exactly as it was.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::key::safe_output_key;
use crate::tree::{Hashes, Object};

/// Where rendered objects go.
pub enum Sink {
    /// A staging folder that becomes the output on [`Staging::commit`],
    /// with the folders already made in it.
    Dir(PathBuf, Folders),
    /// `tusk check`: render and hash, write nothing.
    Discard,
    /// Kept in memory until every page rendered (incremental rebuilds).
    Memory(std::sync::Mutex<Vec<(String, Vec<u8>)>>),
}

/// Folders made under a [`Sink::Dir`]: thousands of pages share a few
/// folders, so each is made once instead of once per file.
#[derive(Default)]
pub struct Folders(std::sync::Mutex<std::collections::HashSet<PathBuf>>);

impl Sink {
    /// A sink writing into the folder `dir`.
    pub fn dir(dir: PathBuf) -> Sink {
        Sink::Dir(dir, Folders::default())
    }

    /// Write `body` under `key` and describe it.
    pub fn write(&self, key: &str, body: &[u8]) -> io::Result<Object> {
        let object = Object::from_bytes(key, body);
        match self {
            Sink::Dir(dir, made) => fs::write(target(dir, key, made)?, body)?,
            Sink::Memory(files) => files
                .lock()
                .expect("memory sink lock")
                .push((key.to_string(), body.to_vec())),
            Sink::Discard => {}
        }
        Ok(object)
    }

    /// Move a finished temporary file (on the same file system) under
    /// `key`, hashing it on the way: a large download is never read into
    /// memory, nor copied.
    pub fn adopt(&self, file: tempfile::NamedTempFile, key: &str) -> io::Result<Object> {
        let hashes = hash_through(file.reopen()?, None::<&mut io::Sink>)?;
        match self {
            Sink::Dir(dir, made) => {
                file.persist(target(dir, key, made)?).map_err(|e| e.error)?;
            }
            Sink::Memory(_) => return self.write(key, &fs::read(file.path())?),
            Sink::Discard => {}
        }
        Ok(hashes.finish(key))
    }

    /// Copy the file at `src` under `key`, hashing while copying.
    pub fn copy(&self, src: &Path, key: &str) -> io::Result<Object> {
        if let Sink::Memory(_) = self {
            return self.write(key, &fs::read(src)?);
        }
        let mut input = fs::File::open(src)?;
        let mut output = match self {
            Sink::Dir(dir, made) => Some(io::BufWriter::new(fs::File::create(target(
                dir, key, made,
            )?)?)),
            Sink::Discard | Sink::Memory(_) => None,
        };
        let hashes = hash_through(&mut input, output.as_mut())?;
        if let Some(mut out) = output {
            out.flush()?;
        }
        Ok(hashes.finish(key))
    }
}

/// Read `input` to its end, hashing it, and pass it on to `output` if any:
/// one pass, 64 KiB at a time, whatever the file's size.
fn hash_through(mut input: impl Read, mut output: Option<&mut impl Write>) -> io::Result<Hashes> {
    let mut hashes = Hashes::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            return Ok(hashes);
        }
        hashes.update(&buf[..n]);
        if let Some(out) = output.as_mut() {
            out.write_all(&buf[..n])?;
        }
    }
}

/// Replace the file for `key` in a folder being served: readers see the
/// old file or the new one, never a half-written one.
pub fn replace(dir: &Path, key: &str, body: &[u8]) -> io::Result<()> {
    let path = target(dir, key, &Folders::default())?;
    let parent = path.parent().unwrap_or(dir);
    let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
    tmp.write_all(body)?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

/// The path for `key` under `dir`, with parent folders created. Refuses
/// keys that would leave `dir`.
fn target(dir: &Path, key: &str, made: &Folders) -> io::Result<PathBuf> {
    if !safe_output_key(key) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to write {key:?}: outside the output folder"),
        ));
    }
    let path = dir.join(key);
    if let Some(parent) = path.parent() {
        let mut made = made.0.lock().expect("folders lock");
        if !made.contains(parent) {
            fs::create_dir_all(parent)?;
            made.insert(parent.to_path_buf());
        }
    }
    Ok(path)
}

/// Remove the staging and set-aside folders of runs that died before they
/// could (killed, out of memory): their process is gone.
fn sweep_abandoned(parent: &Path, name: &str) {
    let prefixes = [format!(".{name}.tusk-new-"), ".tusk-old-".to_string()];
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = prefixes.iter().find_map(|p| file.strip_prefix(p.as_str())) else {
            continue;
        };
        let path = entry.path();
        if owner_may_run(rest, &path) {
            continue;
        }
        match fs::remove_dir_all(&path) {
            Ok(()) => tracing::info!("removed {} left by an interrupted run", path.display()),
            Err(e) => tracing::warn!(
                "cannot remove {} left by an interrupted run: {e}",
                path.display()
            ),
        }
    }
}

/// Whether the run that made a staging folder (`<pid>-<random>`) may still
/// be running. Without a pid or `/proc`, folders younger than an hour count
/// as in use.
fn owner_may_run(rest: &str, path: &Path) -> bool {
    let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if Path::new("/proc/self").exists() => {
            pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
        }
        _ => path
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default() < std::time::Duration::from_secs(3600))
            .unwrap_or(true),
    }
}

/// A staging folder beside the output folder.
pub struct Staging {
    dir: tempfile::TempDir,
    output: PathBuf,
}

impl Staging {
    pub fn new(output: &Path) -> Result<Staging> {
        let parent = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        sweep_abandoned(parent, &name);
        // The pid in the name tells a later run whether its owner still runs.
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.tusk-new-{}-", std::process::id()))
            .tempdir_in(parent)
            .with_context(|| format!("cannot create a staging folder in {}", parent.display()))?;
        Ok(Staging {
            dir,
            output: output.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replace the output folder with the staging folder. The old output is
    /// moved aside first and removed only after the new one is in place.
    pub fn commit(self) -> Result<()> {
        let staged = self.dir.keep();
        let output = &self.output;
        let old = if output.exists() {
            let parent = output
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let aside = tempfile::Builder::new()
                .prefix(&format!(".tusk-old-{}-", std::process::id()))
                .tempdir_in(parent)?
                .keep();
            let aside = aside.join("previous");
            fs::rename(output, &aside)
                .with_context(|| format!("cannot move {} aside", output.display()))?;
            Some(aside)
        } else {
            None
        };
        if let Err(e) = fs::rename(&staged, output) {
            // Put the previous output back before reporting.
            if let Some(old) = &old {
                let _ = fs::rename(old, output);
            }
            let _ = fs::remove_dir_all(&staged);
            return Err(e)
                .with_context(|| format!("cannot move the new output to {}", output.display()));
        }
        if let Some(old) = old {
            let holder = old.parent().map(Path::to_path_buf);
            let _ = fs::remove_dir_all(&old);
            if let Some(h) = holder {
                let _ = fs::remove_dir(h);
            }
        }
        Ok(())
    }
}
