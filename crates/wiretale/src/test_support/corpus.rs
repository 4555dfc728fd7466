//! The shared capture corpus (`../shared/captures` beside the repository) and tshark's oracle
//! TSVs for it.
//!
//! Depends on nothing but `std` and `wiretale-fixtures` (a dev-dependency), so that the
//! integration tests (which cannot see the library's `#[cfg(test)]` items) compile this same
//! file into their `tests/support` module.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `shared/captures` beside the repository, if present
/// ([`wiretale_fixtures::files::shared_captures`]). Under `CI=true` its absence is a test
/// failure; elsewhere a skip message is printed and the caller returns early.
pub fn shared_captures() -> Option<PathBuf> {
    wiretale_fixtures::files::shared_captures().unwrap_or_else(|e| panic!("{e}"))
}

/// The capture `name` of the shared corpus; `None` (after [`shared_captures`]' skip message)
/// when the corpus is absent.
pub fn shared_capture(name: &str) -> Option<PathBuf> {
    shared_captures().map(|dir| dir.join(name))
}

/// Every capture file of the shared corpus, sorted by name; empty (after the skip message)
/// when the corpus is absent.
pub fn shared_capture_files() -> Vec<PathBuf> {
    shared_captures().map_or_else(Vec::new, |dir| capture_files(&dir))
}

/// Every `.pcap` / `.pcapng` in `dir`, sorted by name (`dir` must be readable).
pub fn capture_files(dir: &Path) -> Vec<PathBuf> {
    wiretale_fixtures::files::capture_files(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
}

/// One row of an oracle TSV, by column name.
pub type OracleRow = HashMap<String, String>;

/// The rows of `oracle/<file name>.tsv` beside a capture (tshark's decode, one row per frame).
/// Short rows are padded with empty values.
pub fn oracle_rows(capture: &Path) -> Vec<OracleRow> {
    let name = capture
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = capture
        .parent()
        .unwrap_or(Path::new("."))
        .join("oracle")
        .join(format!("{name}.tsv"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read oracle {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t').chain(std::iter::repeat("")))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
