//! Capture files on disk, for the tests of the crates that read them.

use std::io;
use std::path::{Path, PathBuf};

/// Every `.pcap` / `.pcapng` in `dir`, sorted by name.
pub fn capture_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    files.sort();
    Ok(files)
}
