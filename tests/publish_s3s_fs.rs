//! `tusk publish` against a second S3 implementation, s3s-fs (crates.io,
//! installed by .ci/run), whose listings carry no ETag: publish falls back
//! to the MD5 kept in `x-amz-meta-md5` (one HEAD each), so a re-publish
//! uploads nothing, and the rollback archive is always named by a hash.
//! The AWS CLI reads the results back.

mod common;
use common::Project;
use std::process::{Child, Command, Stdio};

struct S3sFs {
    child: Child,
    endpoint: String,
    _root: tempfile::TempDir,
}

impl S3sFs {
    fn start() -> S3sFs {
        let root = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let child = Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "testing", "--secret-key", "s3s-secret"])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs not found: run .ci/run or `cargo install s3s-fs --features binary`");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        S3sFs {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            _root: root,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "s3s-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    fn aws(&self, args: &[&str]) -> serde_json::Value {
        let out = Command::new("aws")
            .args(["--endpoint-url", &self.endpoint, "--output", "json"])
            .args(args)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    fn keys(&self, bucket: &str) -> Vec<String> {
        let listed = self.aws(&["s3api", "list-objects-v2", "--bucket", bucket]);
        listed["Contents"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|o| o["Key"].as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_server_listing_no_etags_gets_no_reuploads_and_a_hash_named_archive() {
    let server = S3sFs::start();
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site\"\n[publish.s3]\npath_style = true\n",
    );
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.write("site/notes.txt", "notes\n");
    p.run(&["build"]).success();
    server.aws(&["s3api", "create-bucket", "--bucket", "site"]);

    let first = p.run_env(&["publish", "--json"], &server.env()).success();
    let objects = first.result()["uploads"].as_array().unwrap().len();
    assert!(objects >= 4, "{}", first.stdout());
    let again = p.run_env(&["publish", "--json"], &server.env()).success();
    assert_eq!(
        again.result()["uploads"].as_array().unwrap().len(),
        0,
        "{}",
        again.stdout()
    );

    p.write(
        "site/about.md",
        "---\npermalink: /about/\n---\nAbout, edited\n",
    );
    p.run(&["build"]).success();
    let edit = p.run_env(&["publish", "--json"], &server.env()).success();
    let edit = edit.result();
    assert_eq!(edit["uploads"].as_array().unwrap().len(), 1, "{edit:#}");
    assert_eq!(edit["archived"], 1, "{edit:#}");
    let archive: Vec<String> = server
        .keys("site-tusk-state")
        .into_iter()
        .filter(|k| k.starts_with(".tusk/objects/"))
        .collect();
    assert_eq!(archive.len(), 1, "{archive:?}");
    let md5 = archive[0].trim_start_matches(".tusk/objects/");
    assert!(
        md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit()),
        "{archive:?}"
    );
}
