//! Shared by the CLI integration tests: the repository root and running the real binary there.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root (relative paths like `testdata/...` resolve from there).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `wiretale` binary built for these tests with `args`, in the repository root.
pub fn wiretale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run wiretale")
}

/// Asserts that `other` (the run `what` names) ended as `expected` did: the same exit code,
/// stdout byte for byte, and stderr.
pub fn assert_same_run(expected: &Output, other: &Output, what: &str) {
    assert_eq!(expected.status.code(), other.status.code(), "{what}");
    assert!(expected.stdout == other.stdout, "{what}: stdout differs");
    assert_eq!(
        String::from_utf8_lossy(&expected.stderr),
        String::from_utf8_lossy(&other.stderr),
        "{what}"
    );
}

/// The capture `name` of the shared corpus (`../shared/captures` beside the repository). Its
/// absence fails under `CI=true`; elsewhere it prints a skip message and gives `None`.
pub fn shared(name: &str) -> Option<PathBuf> {
    let p = repo().join("../shared/captures").join(name);
    if p.is_file() {
        return Some(p);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "CI=true but {} is missing", p.display());
    eprintln!("skipping: {} not found", p.display());
    None
}
