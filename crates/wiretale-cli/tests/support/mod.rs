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

/// The capture `name` of the shared corpus (`../shared/captures` beside the repository). The
/// corpus's absence fails under `CI=true`; elsewhere it prints a skip message and gives
/// `None`. A corpus without `name` is a failure.
pub fn shared(name: &str) -> Option<PathBuf> {
    let dir = wiretale_fixtures::files::shared_captures().unwrap_or_else(|e| panic!("{e}"))?;
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "{} is missing from the shared corpus",
        p.display()
    );
    Some(p)
}
