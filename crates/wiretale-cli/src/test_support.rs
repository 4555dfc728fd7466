//! Shared by the CLI's unit tests.

use std::path::{Path, PathBuf};

/// Every `.pcap` / `.pcapng` of the repository's `testdata/`, sorted by name.
pub fn testdata_captures() -> Vec<PathBuf> {
    captures_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"))
}

/// Every `.pcap` / `.pcapng` in `dir`, sorted by name.
fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
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

/// Every capture of the shared corpus (`../shared/captures`), sorted by name; empty, with a
/// note on stderr, where the corpus is absent (it must be there under `CI=true`).
pub fn shared_captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    if !dir.is_dir() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "CI=true but {} is missing", dir.display());
        eprintln!("skipping the shared captures: {} not found", dir.display());
        return Vec::new();
    }
    captures_in(&dir)
}
