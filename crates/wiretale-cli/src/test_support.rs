//! Shared by the CLI's unit tests.

use std::path::{Path, PathBuf};

/// Every `.pcap` / `.pcapng` of the repository's `testdata/`, sorted by name.
pub fn testdata_captures() -> Vec<PathBuf> {
    capture_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"))
}

/// Every `.pcap` / `.pcapng` in `dir`, sorted by name (`dir` must be readable).
fn capture_files(dir: &Path) -> Vec<PathBuf> {
    wiretale_fixtures::files::capture_files(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
}

/// Every capture of the shared corpus (`../shared/captures`), sorted by name; empty, with a
/// note on stderr, where the corpus is absent (it must be there under `CI=true`).
pub fn shared_captures() -> Vec<PathBuf> {
    match wiretale_fixtures::files::shared_captures() {
        Ok(dir) => dir.map_or_else(Vec::new, |dir| capture_files(&dir)),
        Err(e) => panic!("{e}"),
    }
}
