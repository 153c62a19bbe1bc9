//! `--json`: one envelope for every command, success or failure (`ok`, the
//! command, its result, the problems), pretty-printed, exit code agreeing
//! with `ok`; checked against the fields the JSON Schema in
//! docs/json-schema/envelope.schema.json names. `--log-format json` turns errors
//! into JSON log lines.

mod common;
use common::Project;
use serde_json::Value;

fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/json-schema/envelope.schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The object's keys.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// `required` of a schema object, as strings.
fn required(schema: &Value) -> Vec<&str> {
    schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Check an envelope against what the schema file says (the fields are
/// checked explicitly rather than by a validator crate, which would
/// rebuild the AWS SDK with other features): the envelope's exact
/// fields, the command's name, each problem's fields, `ok` agreeing with
/// the problems, and the result's required fields for the commands the
/// schema describes.
fn check_against_schema(value: &Value) {
    let schema = schema();
    let mut fields = keys(value);
    fields.sort();
    let mut expected = required(&schema);
    expected.sort();
    assert_eq!(fields, expected, "exactly the envelope's fields: {value:#}");
    let commands = schema["properties"]["command"]["enum"].as_array().unwrap();
    assert!(commands.contains(&value["command"]), "{}", value["command"]);
    let problem = &schema["$defs"]["problem"];
    let allowed = keys(&problem["properties"]);
    for p in value["problems"].as_array().unwrap() {
        for k in keys(p) {
            assert!(allowed.contains(&k), "problem field {k}: {p}");
        }
        assert!(!p["message"].as_str().unwrap().is_empty(), "{p}");
        for n in ["line", "column"] {
            assert!(p[n].is_null() || p[n].as_u64().unwrap() >= 1, "{p}");
        }
    }
    let ok = value["ok"].as_bool().unwrap();
    assert_eq!(ok, value["problems"].as_array().unwrap().is_empty());
    let result = &value["result"];
    if ok {
        assert!(!result.is_null(), "a success has a result");
    }
    let defs = &schema["$defs"];
    let def = match value["command"].as_str().unwrap() {
        "build" => Some(&defs["build"]),
        "check" => Some(&defs["check"]),
        "new post" | "new page" => Some(&defs["new"]),
        "init" => Some(&defs["init"]),
        "publish" if result.get("desired").is_some() => Some(&defs["publish"]),
        _ => None,
    };
    if let (Some(def), false) = (def, result.is_null()) {
        let mut needed = required(def);
        if let Some(base) = def["allOf"][0]["$ref"].as_str() {
            needed.extend(required(&defs[base.trim_start_matches("#/$defs/")]));
        }
        for k in needed {
            assert!(result.get(k).is_some(), "result lacks {k}: {result:#}");
        }
    }
    if value["command"] == "list" && !result.is_null() {
        let item = &defs["list"]["items"];
        for doc in result.as_array().unwrap() {
            let mut fields = keys(doc);
            fields.sort();
            let mut expected = required(item);
            expected.sort();
            assert_eq!(fields, expected, "{doc}");
        }
    }
}

/// Run a `--json` command: its envelope, checked against the schema,
/// pretty-printed, with the exit code `ok` says.
fn envelope(p: &Project, args: &[&str]) -> Value {
    let run = p.run(args);
    let text = run.stdout();
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("tusk {args:?}: stdout is not JSON ({e}):\n{text}"));
    check_against_schema(&value);
    // Pretty-printed, `ok` first, on success and failure alike.
    assert!(
        text.starts_with("{\n  \"ok\": ") && text.lines().count() > 4,
        "tusk {args:?}: pretty-printed:\n{text}"
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
    assert!(checked["result"]["links_checked"].as_u64().unwrap() > 0);

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
