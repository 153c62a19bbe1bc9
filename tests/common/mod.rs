//! Shared helpers for the integration tests: a throwaway project folder and
//! a way to run the real `tusk` binary on it.
#![allow(dead_code)]

pub mod big;
pub mod browser;
pub mod cloudfront;
pub mod edge;
pub mod faults;
pub mod origin;
pub mod s3;
pub mod serve;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A port nobody listens on right now, on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn tusk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tusk"))
}

/// A project in a temporary folder: `config/tusk.toml`, `site/`, ...
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A project with a minimal config and templates of its own, so tests
    /// do not depend on the default theme's markup.
    pub fn new() -> Project {
        let p = Project::bare("[site]\ntitle = \"Test\"\nbase_url = \"https://example.test\"\n");
        p.write(
            "site/_templates/page.html",
            "<main>{{ content | safe }}</main>",
        );
        p.write(
            "site/_templates/post.html",
            "<article><h1>{{ page.title }}</h1>{{ content | safe }}</article>",
        );
        p
    }

    /// A project with only `config/tusk.toml`.
    pub fn bare(config: &str) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Project { dir };
        p.write("config/tusk.toml", config);
        fs::create_dir_all(p.path("site")).unwrap();
        p
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        self.write_bytes(rel, text.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// The tree manifest of the last build (`public/.tusk-tree.json`).
    pub fn tree(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("public/.tusk-tree.json")).unwrap()
    }

    /// One object of the built tree, by key.
    pub fn tree_object(&self, key: &str) -> serde_json::Value {
        self.tree()["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["key"] == key)
            .unwrap_or_else(|| panic!("{key} not in the tree"))
            .clone()
    }

    /// Run `tusk --root <project> <args>`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Run tusk with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, String)]) -> Run {
        let out = tusk()
            .arg("--root")
            .arg(self.root())
            .args(args)
            .env_remove("TUSK_ENV")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("run tusk");
        Run(out)
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn ok(&self) -> bool {
        self.0.status.success()
    }
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Panic with both streams unless the command succeeded.
    pub fn success(self) -> Run {
        assert!(
            self.ok(),
            "tusk failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }
    /// The `--json` envelope on stdout (`ok`, `command`, `result`, `problems`).
    pub fn json(&self) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&self.0.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()));
        for field in ["ok", "command", "result", "problems"] {
            assert!(v.get(field).is_some(), "no {field} in the envelope: {v:#}");
        }
        v
    }
    /// The command's result in the `--json` envelope.
    pub fn result(&self) -> serde_json::Value {
        self.json()["result"].clone()
    }
}

/// [`snapshot_dir`] of a build's output without tusk's own bookkeeping
/// (`.tusk*`, the manifest), for comparing it with another generator's.
pub fn output_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    snapshot_dir(dir)
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with(".tusk") && rel != "_tusk_manifest.json")
        .collect()
}

/// Every file under `dir` (relative path -> bytes), for before/after comparisons.
pub fn snapshot_dir(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut map = std::collections::BTreeMap::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            map.insert(rel, fs::read(e.path()).unwrap());
        }
    }
    map
}
