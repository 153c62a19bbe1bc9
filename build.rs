//! Build script: rebuild when the embedded default theme or the starter
//! project (`tusk init`) change, and record the git commit and its date for
//! `tusk --version`. Built from a tarball without `.git`, the commit is
//! "unknown" and the date is the build's (or SOURCE_DATE_EPOCH's, for
//! reproducible builds); TUSK_GIT_COMMIT / TUSK_GIT_DATE override both
//! (a container build that copies the sources without `.git`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=themes");
    println!("cargo:rerun-if-changed=starter");
    println!("cargo:rerun-if-env-changed=TUSK_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=TUSK_GIT_DATE");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // A new commit moves HEAD or the branch it points at (in a worktree,
    // HEAD is its own and the branches are the common repository's). Only
    // that branch's file: watching the whole refs/heads folder rebuilt every
    // worktree whenever any branch got a commit.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let common = git(&["rev-parse", "--git-common-dir"]);
    // A branch only in packed-refs (a fresh clone) gets its own file at the
    // next commit: until then its folder is watched.
    let branch_file = common.as_ref().zip(branch.as_ref()).map(|(d, b)| {
        let file = format!("{d}/{b}");
        match std::path::Path::new(&file).exists() {
            true => file,
            false => file
                .rsplit_once('/')
                .map_or(file.clone(), |(dir, _)| dir.to_string()),
        }
    });
    let watched = [
        git(&["rev-parse", "--git-path", "HEAD"]),
        branch_file,
        common.map(|d| format!("{d}/packed-refs")),
    ];
    // Only paths that exist: cargo reruns on every build for a missing one.
    for path in watched.into_iter().flatten() {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("TUSK_GIT_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=10", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let date = std::env::var("TUSK_GIT_DATE")
        .ok()
        .or_else(|| git(&["log", "-1", "--format=%cs"]))
        .unwrap_or_else(build_date);
    println!("cargo:rustc-env=TUSK_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=TUSK_GIT_DATE={date}");
}

/// A git command's trimmed output, None when git or the repository is missing.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Today (UTC) as YYYY-MM-DD, or SOURCE_DATE_EPOCH's day.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm
/// (build scripts have no chrono).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
