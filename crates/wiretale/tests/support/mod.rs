//! Shared by the integration tests that run over `../shared/captures`: finding the corpus, the
//! per-capture tshark options from its MANIFEST, and running an analysis with them.
//!
//! Integration tests are separate crates and cannot see the library's `#[cfg(test)]`
//! `test_support` module, so the corpus helpers (locating `../shared/captures`, listing
//! captures, reading oracle TSVs) are that module's own dependency-free file, compiled in here
//! too: one rule for finding the corpus and for skipping or failing (`CI=true`) without it.

#![allow(dead_code)] // each test binary uses its own subset

#[path = "../../src/test_support/corpus.rs"]
mod corpus;
pub mod harness;

#[allow(unused_imports)] // not every test binary uses both
pub use corpus::{capture_files, oracle_rows, shared_captures, OracleRow};

use std::path::{Path, PathBuf};

use wiretale::pipeline::{analyze_path, AnalyzerConfig, AppProtocol, DecodeAs, Report};
use wiretale::timeline::Collector;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The captures in `testdata/`.
pub fn testdata_captures() -> Vec<PathBuf> {
    capture_files(&repo_root().join("testdata"))
}

/// The file name of a capture.
pub fn file_name(capture: &Path) -> String {
    capture
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `-d tcp.port==N,proto` options the MANIFEST lists for a capture's oracle, as the
/// equivalent `decode_as` settings, so wiretale decodes what tshark was told to decode.
pub fn decode_as_for(dir: &Path, capture: &str) -> Vec<DecodeAs> {
    // testdata/ has no MANIFEST: nothing to force there.
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.md")) else {
        return Vec::new();
    };
    let quoted = format!("`{capture}`");
    let Some(row) = manifest
        .lines()
        .find(|l| l.starts_with('|') && l.contains(&quoted))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = row;
    while let Some(at) = rest.find("-d tcp.port==") {
        rest = &rest[at + "-d tcp.port==".len()..];
        let spec: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ',')
            .collect();
        let (port, proto) = spec
            .split_once(',')
            .unwrap_or_else(|| panic!("{capture}: cannot read -d option {spec:?}"));
        let protocol = match proto {
            "tls" | "ssl" => AppProtocol::Tls,
            "http" => AppProtocol::Http,
            other => panic!("{capture}: -d protocol {other:?} has no wiretale equivalent"),
        };
        out.push(DecodeAs {
            port: port.parse().expect("-d port"),
            protocol,
        });
    }
    out
}

/// What one analysis produced.
pub struct Analysis {
    /// Everything the sink received (frame summaries included).
    pub collected: Collector,
    /// The report, or the error that made the file unreadable.
    pub report: Result<Report, wiretale::capture::CaptureError>,
}

/// Analyses a capture of the corpus with the decode-as options its oracle used, keeping
/// events, flows and frame summaries. Credentials are shown, as tshark shows them.
pub fn analyze(dir: &Path, capture: &Path) -> Analysis {
    let config = AnalyzerConfig {
        decode_as: decode_as_for(dir, &file_name(capture)),
        show_secrets: true,
        ..AnalyzerConfig::default()
    };
    let mut collected = Collector {
        keep_frames: true,
        ..Collector::default()
    };
    let report = analyze_path(capture, &config, &mut collected);
    Analysis { collected, report }
}
