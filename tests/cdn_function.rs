//! `tusk cdn function`: the CloudFront Function (viewer request,
//! cloudfront-js-2.0) that answers a URL with a query from its query key,
//! run for real under node with events shaped as CloudFront Functions'
//! event structure documents: the key it picks equals tusk's, and a URL
//! whose query key the tree does not hold keeps its path.

mod common;

use common::Project;
use serde_json::{json, Value};

/// tusk's query key, computed apart: `list/index.html` + `page=2` ->
/// `list/index.q-<first 4 bytes of SHA-256 of the query, hex>.html`.
fn query_key(key: &str, query: &str) -> String {
    let hash = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(query.as_bytes())[..4]);
    let (stem, ext) = key.rsplit_once('.').unwrap();
    format!("{stem}.q-{hash}.{ext}")
}

/// A viewer-request event for `uri` with a parsed query string.
fn event(uri: &str, querystring: Value) -> Value {
    json!({
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EDFDVBD6EXAMPLE"},
        "viewer": {"ip": "198.51.100.11"},
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": querystring,
            "headers": {"host": {"value": "www.example.org"}},
            "cookies": {}
        }
    })
}

/// Run the generated function under node over `events`: the URIs it returns.
fn run_in_node(p: &Project, code: &str, events: &[Value]) -> Vec<String> {
    p.write(
        "fn/function.js",
        &format!("{code}\nmodule.exports = handler;\n"),
    );
    p.write(
        "fn/run.js",
        "const handler = require('./function.js');\n\
         const events = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n\
         console.log(JSON.stringify(events.map((e) => handler(e)).map((r) => [r.uri, r.querystring])));\n",
    );
    let mut child = std::process::Command::new("node")
        .arg(p.path("fn/run.js"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node is installed");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(events).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node failed");
    let answers: Vec<(String, Value)> = serde_json::from_slice(&out.stdout).unwrap();
    answers
        .into_iter()
        .map(|(uri, qs)| {
            let rewritten = qs.as_object().is_some_and(|q| q.is_empty());
            if rewritten {
                uri
            } else {
                format!("{uri} (query kept)")
            }
        })
        .collect()
}

#[test]
fn the_viewer_request_function_picks_the_query_key_tusk_saved() {
    let p = Project::bare(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[cdn]\nprovider = \"cloudfront\"\ndistribution_id = \"EDFDVBD6EXAMPLE\"\n",
    );
    let saved = [
        query_key("index.html", "p=123"),
        query_key("topic/index.html", "key=X"),
        query_key("list/index.html", "page=2&sort=new"),
        query_key("tags/index.html", "t=a&t=b"),
        query_key("café/index.html", "x=1"),
    ];
    let mut objects = Vec::new();
    for key in saved
        .iter()
        .map(String::as_str)
        .chain(["index.html", "style.css"])
    {
        let body = format!("<p>{key}</p>");
        p.write(&format!(".tusk/snapshot/{key}"), &body);
        let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(body.as_bytes()));
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
        objects.push(
            json!({"key": key, "size": body.len(), "md5": md5, "sha256": sha,
                            "content_type": "text/html; charset=utf-8", "cache_class": "html"}),
        );
    }
    let tree = json!({"version": 1, "producer": "snapshot", "created": "2026-12-01T00:00:00Z",
                      "objects": objects});
    p.write(".tusk/snapshot/.tusk-tree.json", &tree.to_string());

    let run = p.run(&["cdn", "function"]).success();
    assert!(run.stderr().contains("5 query keys"), "{}", run.stderr());
    assert!(
        run.stderr().contains("cloudfront-js-2.0"),
        "{}",
        run.stderr()
    );
    let code = run.stdout();
    assert!(code.len() < 10 * 1024, "CloudFront's code size limit");

    let events = [
        event("/", json!({"p": {"value": "123"}})),
        event("/topic", json!({"key": {"value": "X"}})),
        event(
            "/list/",
            json!({"page": {"value": "2"}, "sort": {"value": "new"}}),
        ),
        event(
            "/tags/",
            json!({"t": {"value": "b", "multiValue": [{"value": "a"}, {"value": "b"}]}}),
        ),
        event("/caf%C3%A9/", json!({"x": {"value": "1"}})),
        // Saved at its plain path only: the asset keeps its URL.
        event("/style.css", json!({"ver": {"value": "6.1"}})),
        // A query tusk saved no key for.
        event("/", json!({"utm_source": {"value": "feed"}})),
        event("/about/", json!({})),
    ];
    let uris = run_in_node(&p, &code, &events);
    let want = [
        format!("/{}", saved[0]),
        format!("/{}", saved[1]),
        format!("/{}", saved[2]),
        format!("/{}", saved[3]),
        format!("/caf%C3%A9/{}", saved[4].trim_start_matches("café/")),
        "/style.css (query kept)".to_string(),
        "/ (query kept)".to_string(),
        "/about/".to_string(),
    ];
    assert_eq!(uris, want);
}

#[test]
fn the_function_needs_the_cloudfront_provider() {
    let p = Project::bare("[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n");
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.run(&["build"]).success();
    let run = p.run(&["cdn", "function"]);
    assert_eq!(run.code(), Some(1));
    assert!(run.stderr().contains("cdn.provider"), "{}", run.stderr());
}
