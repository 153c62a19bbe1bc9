//! A running `tusk edge` (or `tusk up`) process on a free port, and an HTTP
//! client for it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Project;

pub struct Edge {
    child: Child,
    pub url: String,
    pub token: String,
    /// Everything the process printed before it was ready.
    pub banner: String,
    pub http: Http,
}

impl Edge {
    /// Run `tusk <command> --listen 127.0.0.1:0 <args>` and wait for its
    /// `edge: http://...` line.
    pub fn start(p: &Project, command: &str, args: &[&str]) -> Edge {
        Edge::start_env(p, command, args, &[])
    }

    /// Like [`Edge::start`], with extra environment (an S3 server's).
    pub fn start_env(p: &Project, command: &str, args: &[&str], env: &[(&str, String)]) -> Edge {
        let mut child = super::tusk()
            .arg("--root")
            .arg(p.root())
            .arg(command)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("TUSK_ENV")
            .env_remove("TUSK_EDGE_TOKEN")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tusk");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("tusk {command} never became ready:\n{banner}"));
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.strip_prefix("edge: ") {
                let url = rest.split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_string();
            }
        };
        let runtime: serde_json::Value =
            serde_json::from_str(&p.read(".tusk/edge.json")).expect("runtime file");
        assert_eq!(runtime["url"], url.as_str());
        Edge {
            child,
            url,
            token: runtime["token"].as_str().unwrap().to_string(),
            banner,
            http: Http::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn get(&self, path: &str) -> Answer {
        self.http.get(&format!("{}{path}", self.url), &[])
    }

    pub fn status(&self) -> serde_json::Value {
        let a = self.http.get(
            &format!("{}/_tusk/status", self.url),
            &[("authorization", &format!("Bearer {}", self.token))],
        );
        assert_eq!(a.status, 200, "{}", a.text());
        serde_json::from_slice(&a.body).unwrap()
    }

    /// Poll the status until `pred` holds (panics after `secs`).
    pub fn wait_for(&self, secs: u64, what: &str, pred: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.status();
            if pred(&s) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s:#}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
    /// `Hit`, `Miss`, `Stale`, `Fallback`, ... from `x-cache`.
    pub fn cache(&self) -> &str {
        self.header("x-cache").trim_end_matches(" from tusk")
    }
}

/// A small blocking facade over reqwest with its own runtime.
pub struct Http {
    pub runtime: tokio::runtime::Runtime,
    pub client: reqwest::Client,
}

impl Http {
    pub fn new() -> Http {
        Http {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub fn request(&self, method: &str, url: &str, headers: &[(&str, &str)]) -> Answer {
        self.runtime
            .block_on(fetch(&self.client, method, url, headers))
    }

    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Answer {
        self.request("GET", url, headers)
    }
}

pub async fn fetch(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = client.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.bytes().await.unwrap().to_vec(),
    }
}
