//! The command line itself: output piped into a reader that stops early
//! (`tusk list | head -1`) ends quietly; shell completions that complete;
//! a command's help before the global options; `--version` with the commit.

mod common;
use common::Project;

/// A project with enough pages that `list` fills a pipe's buffer (64 KiB)
/// long before it is done, so it is still writing when the reader leaves.
fn many_pages() -> Project {
    let p = Project::new();
    for i in 0..3000 {
        p.write(
            &format!("site/section-{}/page-with-a-long-name-{i}.md", i % 10),
            "---\ntitle: P\n---\nx\n",
        );
    }
    p
}

/// `tusk <args> | head -1` in bash: (tusk's exit status, its stderr, the line read).
fn piped_into_head(p: &Project, args: &str) -> (String, String, String) {
    let err = p.path("stderr.txt");
    let script = format!(
        "\"$0\" --root \"$1\" {args} 2>\"$2\" | head -1; echo \"status=${{PIPESTATUS[0]}}\""
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script, env!("CARGO_BIN_EXE_tusk")])
        .arg(p.root())
        .arg(&err)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = stdout
        .lines()
        .find_map(|l| l.strip_prefix("status="))
        .unwrap_or("?")
        .to_string();
    let first = stdout.lines().next().unwrap_or("").to_string();
    (status, std::fs::read_to_string(err).unwrap(), first)
}

#[test]
fn output_cut_short_by_a_pipe_ends_quietly() {
    let p = many_pages();
    for args in ["list", "list --json"] {
        let (status, stderr, first) = piped_into_head(&p, args);
        assert_eq!(
            status, "0",
            "tusk {args} | head -1: exit {status}, stderr:\n{stderr}"
        );
        assert!(
            stderr.is_empty(),
            "tusk {args} | head -1 printed:\n{stderr}"
        );
        assert!(!first.is_empty(), "head read a line");
    }
}

#[test]
fn bash_completion_completes_commands_and_options() {
    let p = Project::new();
    let script = p.path("tusk.bash");
    let run = p.run(&["completions", "bash"]).success();
    std::fs::write(&script, run.stdout()).unwrap();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source \"$0\"; COMP_WORDS=({line}); COMP_CWORD={}; COMP_LINE=\"{line}\"; COMP_POINT=${{#COMP_LINE}}; _tusk tusk \"{}\" \"{}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                words.len() - 1,
                words[words.len() - 1],
                words[words.len().saturating_sub(2)]
            ))
            .arg(&script)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let commands = complete("tusk pub");
    assert!(commands.lines().any(|l| l == "publish"), "{commands}");
    let options = complete("tusk serve --dr");
    assert!(options.lines().any(|l| l == "--drafts"), "{options}");

    for (shell, marker) in [("zsh", "#compdef tusk"), ("fish", "complete -c tusk")] {
        let out = p.run(&["completions", shell]).success().stdout();
        assert!(out.contains(marker), "{shell}:\n{out}");
    }
    assert_eq!(p.run(&["completions", "tcsh"]).code(), Some(2));
}

#[test]
fn command_help_lists_its_own_options_before_the_global_ones() {
    let p = Project::new();
    let help = p.run(&["build", "--help"]).success().stdout();
    let at = |s: &str| {
        help.find(s)
            .unwrap_or_else(|| panic!("{s} not in:\n{help}"))
    };
    assert!(at("--output") < at("Global options:"), "{help}");
    assert!(at("Global options:") < at("--root"), "{help}");
    // list and check write nothing: no --output.
    for command in ["list", "check"] {
        let help = p.run(&[command, "--help"]).success().stdout();
        assert!(!help.contains("--output"), "{command}:\n{help}");
        assert_eq!(p.run(&[command, "--output", "x"]).code(), Some(2));
    }
}

#[test]
fn version_names_the_commit_and_its_date() {
    let out = common::tusk().arg("--version").output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim();
    // tusk 0.1.0 (1a2b3c4d5e 2026-12-01); "unknown" outside a git checkout.
    let rest = line
        .strip_prefix(&format!("tusk {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    let (commit, date) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        "{line}"
    );
    let in_git = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.git")).exists();
    if in_git {
        // A commit of this repository (git knows it), not a made-up string.
        let kind = std::process::Command::new("git")
            .args(["cat-file", "-t", commit])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&kind.stdout).trim(),
            "commit",
            "{line}"
        );
    } else {
        assert_eq!(commit, "unknown", "{line}");
    }
}
