//! Build script: tells the crate what captures record about the build, as compile-time
//! environment variables: the Cargo profile, the Bevy version in Cargo.lock, and the git
//! revision (with `-dirty` when tracked files have uncommitted changes) and its commit
//! time, where git knows them.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=src");
    for git_file in [".git/HEAD", ".git/index", ".git/packed-refs"] {
        if Path::new(git_file).exists() {
            println!("cargo:rerun-if-changed={git_file}");
        }
    }
    // A commit moves the branch HEAD names, not HEAD itself.
    if let Some(branch) = head_branch_ref() {
        println!("cargo:rerun-if-changed={branch}");
    }
    println!("cargo:rustc-env=SPARKBENCH_PROFILE={}", profile());
    println!("cargo:rustc-env=SPARKBENCH_BEVY_VERSION={}", bevy_version());
    if let Some(revision) = git_revision() {
        println!("cargo:rustc-env=SPARKBENCH_GIT_REVISION={revision}");
    }
    if let Some(seconds) = commit_time() {
        println!("cargo:rustc-env=SPARKBENCH_COMMIT_TIME={seconds}");
    }
}

/// HEAD's commit time in Unix seconds: the order of revisions in a capture history.
fn commit_time() -> Option<u64> {
    let output = Command::new("git")
        .args(["log", "-1", "--format=%ct", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// The profile's folder name in the target directory (`debug` for dev, `release`, `ci`,
/// `web-release`): the part of OUT_DIR just above `build/`.
fn profile() -> String {
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    let parts: Vec<&str> = Path::new(&out_dir)
        .iter()
        .filter_map(|part| part.to_str())
        .collect();
    parts
        .windows(2)
        .rev()
        .find(|pair| pair[1] == "build")
        .map_or_else(|| "unknown".to_owned(), |pair| pair[0].to_owned())
}

/// The locked version of the `bevy` package.
fn bevy_version() -> String {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"bevy\""
            && let Some(version) = lines
                .next()
                .and_then(|next| next.strip_prefix("version = \""))
                .and_then(|rest| rest.strip_suffix('"'))
        {
            return version.to_owned();
        }
    }
    "unknown".to_owned()
}

/// The file of the branch `.git/HEAD` points at (`.git/refs/heads/main`), where it exists.
fn head_branch_ref() -> Option<String> {
    let head = std::fs::read_to_string(".git/HEAD").ok()?;
    let branch = format!(".git/{}", head.strip_prefix("ref: ")?.trim());
    Path::new(&branch).exists().then_some(branch)
}

/// The short hash of HEAD, with `-dirty` when tracked files differ from it.
fn git_revision() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let revision = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|status| !status.stdout.is_empty());
    Some(if dirty {
        format!("{revision}-dirty")
    } else {
        revision
    })
}
