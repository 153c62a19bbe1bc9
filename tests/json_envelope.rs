//! `--json`: one envelope for every command, success or failure (`ok`, the
//! command, its result, the problems), pretty-printed, exit code agreeing
//! with `ok`; validated against the JSON Schema in
//! docs/json-schema/envelope.schema.json. `--log-format json` turns errors
//! into JSON log lines.

mod common;
use common::Project;
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/json-schema/envelope.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// Run a `--json` command: its envelope, checked against the schema,
/// pretty-printed, with the exit code `ok` says.
fn envelope(p: &Project, args: &[&str]) -> Value {
    let run = p.run(args);
    let text = run.stdout();
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("tusk {args:?}: stdout is not JSON ({e}):\n{text}"));
    let errors: Vec<String> = schema()
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "tusk {args:?}:\n{}\n{value:#}",
        errors.join("\n")
    );
    assert_eq!(
        text.trim_end(),
        serde_json::to_string_pretty(&value).unwrap(),
        "tusk {args:?}: pretty-printed"
    );
    let ok = value["ok"].as_bool().unwrap();
    assert_eq!(
        run.ok(),
        ok,
        "tusk {args:?}: exit code and ok agree\n{}",
        run.stderr()
    );
    value
}

#[test]
fn every_command_answers_in_one_envelope() {
    let p = Project::new();
    p.write("site/about.md", "---\ntitle: About\n---\nSee [home](/).\n");
    p.write("site/index.md", "---\ntitle: Home\n---\nHi.\n");

    let built = envelope(&p, &["build", "--json"]);
    assert_eq!(built["ok"], true);
    assert_eq!(built["command"], "build");
    assert_eq!(built["result"]["pages"], 2);
    assert_eq!(built["problems"], serde_json::json!([]));

    let checked = envelope(&p, &["check", "--json"]);
    assert_eq!(
        checked["result"]["links_checked"].as_u64().unwrap() > 0,
        true
    );

    let new = envelope(
        &p,
        &["new", "post", "Hello", "--date", "2026-12-01", "--json"],
    );
    assert_eq!(new["command"], "new post");
    assert_eq!(new["result"]["path"], "site/_posts/2026-12-01-hello.md");

    let listed = envelope(&p, &["list", "--json"]);
    assert_eq!(listed["result"].as_array().unwrap().len(), 3);

    envelope(&p, &["build", "--json"]);
    let planned = envelope(&p, &["publish", "--dry-run", "--json"]);
    let result = &planned["result"];
    let sizes: u64 = result["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["size"].as_u64().unwrap())
        .sum();
    assert!(sizes > 0);
    assert_eq!(result["bytes_planned"].as_u64(), Some(sizes), "{result:#}");
    assert_eq!(result["bytes_uploaded"], 0, "a dry run uploads nothing");
    // The text says what the JSON says, in a unit that does not round it to 0.
    let text = p.run(&["publish", "--dry-run"]).success().stdout();
    assert!(
        text.contains(&format!("would upload {}", size_text(sizes))),
        "{text}"
    );

    let published = envelope(&p, &["publish", "--json"]);
    assert_eq!(published["result"]["bytes_uploaded"].as_u64(), Some(sizes));

    let fresh = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let init = envelope(&fresh, &["init", "--json"]);
    assert!(init["result"]["created"]
        .as_array()
        .unwrap()
        .contains(&Value::from("config/tusk.toml")));
}

/// How tusk prints a size (see report::size).
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} bytes"),
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

#[test]
fn failures_answer_in_the_same_envelope() {
    // Content problems: each with its file and line.
    let p = Project::new();
    p.write("site/a.md", "---\ntitle: [unclosed\n---\nx\n");
    p.write("site/b.md", "---\ntitle: B\n---\n[gone](/nowhere/)\n");
    for command in ["build", "check"] {
        let failed = envelope(&p, &[command, "--json"]);
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["command"], command);
        assert_eq!(failed["result"], Value::Null);
        let problems = failed["problems"].as_array().unwrap();
        assert!(
            problems
                .iter()
                .any(|d| d["file"] == "site/a.md" && d["line"].is_u64()),
            "{failed:#}"
        );
    }
    // An error outside the content: one problem with the message.
    let new = envelope(&p, &["new", "page", "../out.md", "--json"]);
    assert_eq!(new["ok"], false);
    assert!(new["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("inside the content folder"));
    // No config at all.
    let empty = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let missing = envelope(&empty, &["list", "--json"]);
    assert!(missing["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("tusk init"));
}

#[test]
fn json_logs_carry_the_errors_too() {
    let p = Project::new();
    p.write("site/a.md", "---\ntitle: [unclosed\n---\nx\n");
    let run = p.run(&["--log-format", "json", "build"]);
    assert_eq!(run.code(), Some(1));
    let lines: Vec<Value> = run
        .stderr()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("{}", run.stderr()));
    assert_eq!(error["fields"]["file"], "site/a.md");
    assert!(error["fields"]["line"].is_u64(), "{error}");
    assert!(
        error["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("YAML"),
        "{error}"
    );
}
