//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod harness;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Capture files (`.pcap`, `.pcapng`) in `dir`, sorted by name.
pub fn capture_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    files.sort();
    files
}

/// The captures in `testdata/`.
pub fn testdata_captures() -> Vec<PathBuf> {
    capture_files(&repo_root().join("testdata"))
}

/// `../shared/captures` beside the repository, if present. Under `CI=true` its absence is a
/// failure; elsewhere the caller skips it with a message.
pub fn shared_captures() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/captures");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!(
            "../shared/captures is missing under CI=true ({})",
            dir.display()
        );
    }
    eprintln!(
        "skipping ../shared/captures: not found beside the repository ({})",
        dir.display()
    );
    None
}
