//! `wiretale::pipeline::analyze` with a sink that ignores every event: the library's full
//! analysis cost without any output (benches/e2e.sh).
//!
//! `analyze-null FILE` prints the frame counters so the run can be checked. It allocates
//! with mimalloc, as the `wiretale` binary does.

use std::process::ExitCode;

use wiretale::pipeline::{analyze_path, AnalyzerConfig};
use wiretale::timeline::EventSink;

/// The `wiretale` binary's allocator (crates/wiretale-cli/src/main.rs says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Receives everything, keeps nothing.
struct Discard;

impl EventSink for Discard {}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: analyze-null FILE");
        return ExitCode::FAILURE;
    };
    match analyze_path(&path, &AnalyzerConfig::default(), &mut Discard) {
        Ok(report) => {
            let s = &report.stats;
            println!(
                "{} frames, {} TCP, {} bytes captured, {} streams",
                s.frames_read, s.frames_tcp, s.bytes_captured, s.tcp.streams
            );
            if let Some(e) = report.error {
                eprintln!("stopped early: {e}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
