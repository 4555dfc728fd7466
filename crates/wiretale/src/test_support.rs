//! Helpers shared by the unit tests: locating `../shared/captures` and reading tshark's oracle
//! TSVs.

use std::collections::HashMap;
use std::path::PathBuf;

/// `../shared/captures` relative to the repository root, if present. Under `CI=true` its
/// absence is a failure; elsewhere the caller skips with a message.
pub fn shared_captures() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let dir = root.join("shared/captures");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!(
            "../shared/captures is missing under CI=true ({})",
            dir.display()
        );
    }
    eprintln!("skipping: ../shared/captures not found beside the repository");
    None
}

/// Every capture file in the shared corpus, sorted by name.
pub fn shared_capture_files() -> Vec<PathBuf> {
    let Some(dir) = shared_captures() else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read shared/captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .map(|x| x == "pcap" || x == "pcapng")
                .unwrap_or(false)
        })
        .collect();
    files.sort();
    files
}

/// One row of an oracle TSV, by column name.
pub type OracleRow = HashMap<String, String>;

/// Reads `oracle/<file name>.tsv` for a capture.
pub fn oracle_rows(capture: &std::path::Path) -> Vec<OracleRow> {
    let name = capture.file_name().unwrap().to_string_lossy().to_string();
    let path = capture
        .parent()
        .unwrap()
        .join("oracle")
        .join(format!("{name}.tsv"));
    let text = std::fs::read_to_string(&path).expect("oracle tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
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
