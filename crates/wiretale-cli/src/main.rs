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

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("wiretale: {e}");
            e.exit_code()
        }
    }
}
