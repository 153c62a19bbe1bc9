//! `tusk publish` killed with SIGKILL at random points, 20 times, on the
//! benchmark site (scripts/bench-build's generator, 300 posts) against
//! moto's S3. Every round restyles the site, so the fingerprinted CSS
//! changes name and every page changes with it; `retain_days = 0` deletes
//! the old CSS in the same publish. While publish runs, a checker lists
//! the bucket over and over and reads every new or changed page: no page
//! may ever reference an asset missing from the bucket. After each kill a
//! re-run must converge with 0 objects lost.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::config::{Credentials, Region};
use common::s3::{S3Server, SECRET};
use common::Project;

const ROUNDS: usize = 20;
const POSTS: usize = 300;

fn generate(dir: &std::path::Path) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench-build");
    let code = format!(
        "import importlib.machinery, importlib.util\n\
         loader = importlib.machinery.SourceFileLoader('bench_build', {script:?})\n\
         spec = importlib.util.spec_from_loader('bench_build', loader)\n\
         m = importlib.util.module_from_spec(spec); loader.exec_module(m)\n\
         m.generate({:?}, {POSTS})\n",
        dir.display().to_string()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the checker saw.
#[derive(Default, Debug)]
struct Seen {
    rounds: u64,
    pages_read: u64,
    references_checked: u64,
    violations: Vec<String>,
}

/// Root-relative references to files (not pages) in `html`.
fn asset_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"/", "src=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let Some(end) = rest.find('"') else { continue };
            let target = rest[..end].trim_start_matches('/');
            let target = target.split(['#', '?']).next().unwrap_or("");
            let name = target.rsplit('/').next().unwrap_or("");
            let is_file = name.contains('.') && !name.ends_with(".html");
            if is_file && !target.contains("://") && !target.starts_with('/') {
                out.push(target.to_string());
            }
        }
    }
    out
}

async fn list(client: &aws_sdk_s3::Client) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut pages = client
        .list_objects_v2()
        .bucket("site-bucket")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("{e:?}"))?;
        for o in page.contents() {
            out.insert(
                o.key().unwrap_or_default().to_string(),
                o.e_tag().unwrap_or_default().to_string(),
            );
        }
    }
    Ok(out)
}

/// List the bucket and read every new or changed page, until `stop`.
fn checker(endpoint: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Seen> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let conf = aws_sdk_s3::Config::builder()
                .behavior_version_latest()
                .endpoint_url(endpoint)
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", SECRET, None, None, "test"))
                .force_path_style(true)
                .build();
            let client = aws_sdk_s3::Client::from_conf(conf);
            let mut seen = Seen::default();
            let mut checked: HashMap<String, String> = HashMap::new();
            while !stop.load(Ordering::SeqCst) {
                let Ok(listing) = list(&client).await else {
                    continue;
                };
                seen.rounds += 1;
                for (key, etag) in &listing {
                    if !key.ends_with(".html") || checked.get(key) == Some(etag) {
                        continue;
                    }
                    let Ok(object) = client
                        .get_object()
                        .bucket("site-bucket")
                        .key(key)
                        .send()
                        .await
                    else {
                        continue; // replaced or deleted meanwhile
                    };
                    let etag = object.e_tag().unwrap_or_default().to_string();
                    let body = object.body.collect().await.unwrap().into_bytes();
                    seen.pages_read += 1;
                    for asset in asset_refs(&String::from_utf8_lossy(&body)) {
                        seen.references_checked += 1;
                        if listing.contains_key(&asset) {
                            continue;
                        }
                        // Uploaded after the listing? Assets go up before
                        // the pages using them, so it must be there now.
                        let there = client
                            .head_object()
                            .bucket("site-bucket")
                            .key(&asset)
                            .send()
                            .await
                            .is_ok();
                        if !there {
                            seen.violations
                                .push(format!("{key} references missing {asset}"));
                        }
                    }
                    checked.insert(key.clone(), etag);
                }
            }
            seen
        })
    })
}

/// Keys and ETags of the site's objects in the bucket.
fn bucket(server: &S3Server) -> BTreeMap<String, String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .endpoint_url(&server.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", SECRET, None, None, "test"))
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    runtime
        .block_on(list(&client))
        .unwrap()
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".tusk/"))
        .map(|(k, e)| (k, e.trim_matches('"').to_string()))
        .collect()
}

fn tree(p: &Project) -> BTreeMap<String, String> {
    p.tree()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["key"].as_str().unwrap().to_string(),
                o["md5"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A small xorshift generator: kill points that vary per round but are
/// the same on every run of the test.
struct Rng(u64);

impl Rng {
    fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f64 / 10_000.0
    }
}

#[test]
fn killed_publishes_never_break_a_page_and_a_rerun_always_converges() {
    let server = S3Server::start();
    server.aws(&["s3api", "create-bucket", "--bucket", "site-bucket"]);
    let p = Project::bare("");
    generate(p.root());
    p.write(
        "config/tusk.toml",
        &format!(
            "{}\n[publish]\ntarget = \"s3://site-bucket\"\nretain_days = 0\n[publish.s3]\npath_style = true\n",
            p.read("config/tusk.toml")
        ),
    );
    let env = server.env();
    p.write("site/css/site.css", "body { color: #000 }\n");
    p.run(&["build"]).success();
    let started = Instant::now();
    p.run_env(&["publish"], &env).success();
    let full = started.elapsed();

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = checker(server.endpoint.clone(), stop.clone());
    let mut rng = Rng(0x7e57_5eed);
    let (mut killed_running, mut lost_total) = (0, 0);
    for round in 0..ROUNDS {
        p.write(
            "site/css/site.css",
            &format!("body {{ color: #{round:03} }}\n"),
        );
        p.run(&["build"]).success();
        let mut child = common::tusk()
            .arg("--root")
            .arg(p.root())
            .args(["--quiet", "publish"])
            .envs(env.iter().map(|(k, v)| (k, v.as_str())))
            .env_remove("TUSK_ENV")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Anywhere from the listing to the last delete.
        std::thread::sleep(full.mul_f64(0.05 + 0.9 * rng.fraction()));
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        p.run_env(&["publish"], &env).success();
        let (want, have) = (tree(&p), bucket(&server));
        let lost: Vec<&String> = want
            .iter()
            .filter(|(k, md5)| have.get(*k) != Some(md5))
            .map(|(k, _)| k)
            .collect();
        lost_total += lost.len();
        assert!(lost.is_empty(), "round {round}: {lost:?}");
        assert_eq!(have, want, "round {round}: stray objects");
    }
    stop.store(true, Ordering::SeqCst);
    let seen = watcher.join().unwrap();
    eprintln!(
        "killed publish: {ROUNDS} rounds ({killed_running} killed mid-run, full publish {:?}), \
         {lost_total} objects lost; checker: {} listings, {} pages read, {} references checked, {} violations",
        full,
        seen.rounds,
        seen.pages_read,
        seen.references_checked,
        seen.violations.len()
    );
    assert!(seen.violations.is_empty(), "{:#?}", seen.violations);
    assert!(
        killed_running >= ROUNDS / 2,
        "only {killed_running} kills landed mid-run"
    );
    assert!(seen.pages_read > 1000, "{seen:?}");
}

#[test]
fn asset_references_are_found() {
    let html = r#"<link rel="stylesheet" href="/css/site.1a2b3c4d.css"><a href="/2024/01/post.html">x</a>
        <img src="/img/a.png"><a href="https://example.org/x.css">e</a><a href="/about/">a</a>"#;
    assert_eq!(asset_refs(html), ["css/site.1a2b3c4d.css", "img/a.png"]);
}
