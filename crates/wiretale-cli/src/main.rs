//! `wiretale`: the command-line front end. Argument parsing and rendering only; every fact
//! comes from the `wiretale` library.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod exit;
mod grid;
mod ordered;
mod output;
mod progress;
#[cfg(test)]
mod test_support;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: the analysis makes a few small allocations per
/// event (messages, frame lists, story texts), and glibc's `malloc`/`free` were ~17 % of the
/// instructions of `story` on a mixed capture (measured: 8 MB mixed 61.7 → 55.9 M
/// instructions; `story` on 1 M connections 26-31 s → 21-24 s; docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            if !e.output_closed() {
                eprintln!("wiretale: {e}");
            }
            e.exit_code()
        }
    }
}
