//! `tusk publish` through S3 failures: a fault-injecting proxy between tusk
//! and moto's S3 server answers some requests with `503 SlowDown` or `500
//! InternalError`, resets connections or cuts responses in half. Publish
//! retries and converges; when S3 keeps failing it stops with a clear
//! error, with no page uploaded before its assets, and a re-run converges.

mod common;
use common::faults::{Fault, FaultProxy, Plan};
use common::s3::{S3Server, SECRET};
use common::Project;
use serde_json::Value;

fn project(server: &S3Server) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket\"\n[publish.s3]\npath_style = true\n",
    );
    for i in 0..12 {
        p.write(
            &format!("site/_posts/2024-01-{:02}-post-{i}.md", i + 1),
            &format!("---\ntitle: Post {i}\n---\nBody {i}\n"),
        );
        p.write(&format!("site/img/pic-{i}.svg"), &format!("<svg>{i}</svg>"));
    }
    p.run(&["build"]).success();
    server.aws(&["s3api", "create-bucket", "--bucket", "site-bucket"]);
    p
}

fn env_via(server: &S3Server, endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env = server.env();
    for (k, v) in env.iter_mut() {
        if *k == "AWS_ENDPOINT_URL" {
            *v = endpoint.to_string();
        }
    }
    env
}

/// Keys and ETags in the bucket, read directly from moto.
fn bucket(server: &S3Server) -> Vec<(String, String)> {
    let listing = server.aws(&["s3api", "list-objects-v2", "--bucket", "site-bucket"]);
    let mut out: Vec<(String, String)> = listing["Contents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| {
            (
                o["Key"].as_str().unwrap().to_string(),
                o["ETag"].as_str().unwrap().trim_matches('"').to_string(),
            )
        })
        .filter(|(k, _)| !k.starts_with(".tusk/"))
        .collect();
    out.sort();
    out
}

fn tree(p: &Project) -> Vec<(String, String)> {
    let tree: Value = serde_json::from_str(&p.read("public/.tusk-tree.json")).unwrap();
    let mut out: Vec<(String, String)> = tree["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["key"].as_str().unwrap().to_string(),
                o["md5"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn transient_s3_errors_and_resets_are_retried_until_the_bucket_matches() {
    let server = S3Server::start();
    let p = project(&server);
    let proxy = FaultProxy::start(
        &server.endpoint,
        Plan {
            methods: vec!["PUT"],
            every: 3,
            faults: vec![
                Fault::SlowDown,
                Fault::InternalError,
                Fault::Reset,
                Fault::CutResponse,
            ],
        },
    );
    let run = p
        .run_env(
            &["-vv", "publish", "--json"],
            &env_via(&server, &proxy.endpoint),
        )
        .success();
    assert!(proxy.injected() >= 8, "only {} faults", proxy.injected());
    assert!(!run.stderr().contains(SECRET) && !run.stdout().contains(SECRET));
    assert_eq!(bucket(&server), tree(&p));
}

#[test]
fn persistent_errors_fail_clearly_and_a_rerun_converges() {
    let server = S3Server::start();
    let p = project(&server);
    // tusk's state (and its lock) kept locally: every failing PUT is an upload.
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket\"\nstate = \"file://state\"\n\
         [publish.s3]\npath_style = true\n",
    );
    let proxy = FaultProxy::start(
        &server.endpoint,
        Plan {
            methods: vec!["PUT"],
            every: 1,
            faults: vec![Fault::InternalError],
        },
    );
    let mut env = env_via(&server, &proxy.endpoint);
    env.push(("AWS_MAX_ATTEMPTS", "2".into()));
    let run = p.run_env(&["publish"], &env);
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    assert!(
        stderr.contains("cannot upload") && stderr.contains("InternalError"),
        "{stderr}"
    );
    // Assets go first: no page was even attempted.
    assert!(
        !proxy.requests().iter().any(|r| r.ends_with(".html")),
        "{:?}",
        proxy.requests()
    );
    assert!(bucket(&server).is_empty());

    // S3 recovered: the next run converges, and the one after is a no-op.
    let run = p.run_env(&["publish", "--json"], &server.env()).success();
    assert_eq!(
        run.result()["uploads"].as_array().unwrap().len(),
        tree(&p).len()
    );
    assert_eq!(bucket(&server), tree(&p));
    let again = p.run_env(&["publish", "--json"], &server.env()).success();
    assert_eq!(again.result()["uploads"].as_array().unwrap().len(), 0);
}

#[test]
fn stalled_requests_time_out_and_are_retried_and_a_stalled_s3_fails_clearly() {
    let server = S3Server::start();
    let p = project(&server);
    p.write(
        "config/tusk.toml",
        &format!("{}attempt_timeout_secs = 1\n", p.read("config/tusk.toml")),
    );
    // Every 5th PUT gets no answer at all.
    let proxy = FaultProxy::start(
        &server.endpoint,
        Plan {
            methods: vec!["PUT"],
            every: 5,
            faults: vec![Fault::Stall],
        },
    );
    p.run_env(&["publish"], &env_via(&server, &proxy.endpoint))
        .success();
    assert!(proxy.injected() >= 4, "only {} stalls", proxy.injected());
    assert_eq!(bucket(&server), tree(&p));

    // S3 answers no upload at all: publish stops with a timeout error
    // instead of hanging, having put no page up; a re-run converges.
    p.write(
        "site/_posts/2024-02-01-new.md",
        "---\ntitle: New\n---\nNew\n",
    );
    p.write("site/img/new.svg", "<svg>new</svg>");
    p.run(&["build"]).success();
    let proxy = FaultProxy::start(
        &server.endpoint,
        Plan {
            methods: vec!["PUT"],
            every: 1,
            faults: vec![Fault::Stall],
        },
    );
    let mut env = env_via(&server, &proxy.endpoint);
    env.push(("AWS_MAX_ATTEMPTS", "1".into()));
    let run = p.run_env(&["publish"], &env);
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    assert!(
        stderr.contains("error: cannot") && stderr.contains("request has timed out"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET));
    assert!(!proxy
        .requests()
        .iter()
        .any(|r| r.starts_with("PUT") && r.ends_with(".html")));
    p.run_env(&["publish"], &server.env()).success();
    assert_eq!(bucket(&server), tree(&p));
}

#[test]
fn a_dead_server_stops_the_publish_after_one_round_of_attempts() {
    let server = S3Server::start();
    let p = project(&server);
    // Four uploads in flight of ~30; tusk's state kept locally, so every
    // PUT through the proxy is an upload.
    p.write(
        "config/tusk.toml",
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site-bucket\"\nstate = \"file://state\"\nconcurrency = 4\n\
         [publish.s3]\npath_style = true\n",
    );
    let proxy = FaultProxy::start(
        &server.endpoint,
        Plan {
            methods: vec!["PUT"],
            every: 1,
            faults: vec![Fault::Reset],
        },
    );
    let mut env = env_via(&server, &proxy.endpoint);
    env.push(("AWS_MAX_ATTEMPTS", "1".into()));
    let run = p.run_env(&["publish"], &env);
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    let objects = tree(&p).len();
    assert!(objects > 20, "{objects} objects");
    // One error naming how far it got, not one per object.
    assert!(
        stderr.contains("stopped after a failure: 0 of") && stderr.contains("not started"),
        "{stderr}"
    );
    let errors = stderr.lines().filter(|l| l.starts_with("error")).count();
    assert_eq!(errors, 1, "{stderr}");
    // The 4 in flight made their 3 attempts; the rest never started.
    let puts = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("PUT"))
        .count();
    assert!(puts <= 4 * 3, "{puts} PUTs for {objects} objects");
    let warnings = stderr.matches("WARN").count();
    assert!(warnings <= 4 * 2, "{warnings} warnings:\n{stderr}");
    // Nothing deleted, no record: the bucket as it was, and a re-run
    // against the recovered server converges.
    assert!(bucket(&server).is_empty());
    assert!(!p.path("state/.tusk/publishes").exists());
    p.run_env(&["publish"], &server.env()).success();
    assert_eq!(bucket(&server), tree(&p));
}
