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

/// The shared capture corpus, `shared/captures` beside the repository (read-only, never
/// copied into it), for the tests that read it. `Ok(None)` where it is absent, after a note
/// on stderr that those tests skip it; an error under `CI=true`, where it must be present.
pub fn shared_captures() -> Result<Option<PathBuf>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    if dir.is_dir() {
        return Ok(Some(dir));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return Err(format!(
            "CI=true but the shared capture corpus is missing at {}",
            dir.display()
        ));
    }
    eprintln!(
        "skipping: shared capture corpus not found at {} (see README.md, section All tests)",
        dir.display()
    );
    Ok(None)
}
