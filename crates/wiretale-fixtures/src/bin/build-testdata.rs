//! Rebuilds `testdata/`: `cargo run -p wiretale-fixtures --bin build-testdata [-- OUT_DIR]`.
//!
//! Without an argument it writes into the workspace's `testdata/` directory; with one it writes
//! into that directory instead (the up-to-date test uses a temporary one). Same bytes every run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let out = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .nth(2)
                .unwrap_or(Path::new("."));
            workspace.join("testdata")
        }
    };
    match wiretale_fixtures::scenarios::write_all(&out) {
        Ok(paths) => {
            for p in &paths {
                println!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("build-testdata: {e}");
            ExitCode::FAILURE
        }
    }
}
