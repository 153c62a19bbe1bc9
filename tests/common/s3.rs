//! A real S3 server for tests: moto's server from PyPI (`pip install
//! 'moto[server]' awscli`, done by .ci/run), on a free 127.0.0.1 port,
//! with the AWS CLI as a second, independent client.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Marker put in AWS_SECRET_ACCESS_KEY: it must never appear in any output.
pub const SECRET: &str = "tusk-test-secret-MARKER-9f8e7d";

pub struct S3Server {
    child: Child,
    pub endpoint: String,
}

impl S3Server {
    pub fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server not found: run .ci/run or `pip install 'moto[server]' awscli`");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        S3Server { child, endpoint }
    }

    /// Environment for any AWS client talking to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Run the AWS CLI against this server; stdout as JSON when there is any.
    pub fn aws(&self, args: &[&str]) -> serde_json::Value {
        self.aws_via(&self.endpoint, args)
    }

    /// Run the AWS CLI through `endpoint` (a proxy in front of this server).
    pub fn aws_via(&self, endpoint: &str, args: &[&str]) -> serde_json::Value {
        let out = Command::new("aws")
            .args(["--endpoint-url", endpoint, "--output", "json"])
            .args(args)
            .envs(self.env())
            .output()
            .expect("aws CLI not found: run .ci/run or `pip install awscli`");
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(|b| b.is_ascii_whitespace()) {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&out.stdout).unwrap()
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A project (see [`super::Project::new`]) that publishes to
/// `s3://<target>` on `server` (path-style addressing), with `publish`
/// added to its `[publish]` table, and the target's bucket created.
pub fn s3_project(server: &S3Server, target: &str, publish: &str) -> super::Project {
    let p = super::Project::new();
    p.write("config/tusk.toml", &s3_config(target, publish));
    let bucket = target.split('/').next().unwrap();
    server.aws(&["s3api", "create-bucket", "--bucket", bucket]);
    p
}

/// The `config/tusk.toml` of [`s3_project`].
pub fn s3_config(target: &str, publish: &str) -> String {
    format!(
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n\
         [publish]\ntarget = \"s3://{target}\"\n{publish}\n[publish.s3]\npath_style = true\n"
    )
}

/// `tusk publish --json --no-invalidate <extra>` on `server` through
/// `endpoint` (the server's own, or a proxy in front of it): its result,
/// after checking the secret key never showed.
pub fn publish_via(
    p: &super::Project,
    server: &S3Server,
    endpoint: &str,
    extra: &[&str],
) -> serde_json::Value {
    let mut args = vec!["publish", "--json", "--no-invalidate"];
    args.extend_from_slice(extra);
    let run = p.run_env(&args, &env_via(server, endpoint)).success();
    assert!(
        !run.stdout().contains(SECRET) && !run.stderr().contains(SECRET),
        "secret leaked"
    );
    run.result()
}

/// The server's client environment with another endpoint (a proxy).
pub fn env_via(server: &S3Server, endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env = server.env();
    for (k, v) in env.iter_mut() {
        if *k == "AWS_ENDPOINT_URL" {
            *v = endpoint.to_string();
        }
    }
    env
}

impl S3Server {
    /// Every key of `bucket` (all prefixes).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let listing = self.aws(&["s3api", "list-objects-v2", "--bucket", bucket]);
        listing["Contents"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| o["Key"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The body of `bucket/key`, read by the AWS CLI.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("body");
        self.aws(&[
            "s3api",
            "get-object",
            "--bucket",
            bucket,
            "--key",
            key,
            out.to_str().unwrap(),
        ]);
        std::fs::read(out).unwrap()
    }

    /// HeadObject of `bucket/key` by the AWS CLI.
    pub fn head(&self, bucket: &str, key: &str) -> serde_json::Value {
        self.aws(&["s3api", "head-object", "--bucket", bucket, "--key", key])
    }
}
