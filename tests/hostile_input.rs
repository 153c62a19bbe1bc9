//! Hostile input and faults (issue 22): templates reading the environment,
//! origins answering what they should not (private or non-HTTP redirects,
//! overflowing freshness, unrequested 304s), tampered state files and
//! output folders, credentials in URLs, open redirects and reserved keys.
//! Each test runs the real `tusk` binary and proves one refusal.

mod common;
use common::Project;

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    common::snapshot_dir(dir)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(rel, _)| rel)
        .collect()
}

#[test]
fn templates_cannot_read_the_environment() {
    let secret = "s3cr3t-AKIA-never-published";
    let p = Project::new();
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.write(
        "site/leak.html",
        "---\ntitle: Leak\n---\n<p>{{ get_env(name=\"TUSK_TEST_SECRET\", default=\"none\") }}</p>\n",
    );
    let run = p.run_env(&["build"], &[("TUSK_TEST_SECRET", secret.to_string())]);
    assert_eq!(run.code(), Some(1), "{}\n{}", run.stdout(), run.stderr());
    let err = run.stderr();
    assert!(err.contains("site/leak.html"), "{err}");
    assert!(err.contains("get_env is disabled"), "{err}");
    assert!(!err.contains(secret) && !run.stdout().contains(secret));
    assert!(
        files_containing(p.root(), secret).is_empty(),
        "the secret was written to {:?}",
        files_containing(p.root(), secret)
    );
}
