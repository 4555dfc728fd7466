//! Exit codes and the CLI's error type.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (for `compare`: no meaningful difference) |
//! | 1 | findings at or above `--fail-on` severity; for `compare`: the captures differ |
//! | 2 | bad input or usage: not a capture, unreadable file, bad filter, bad arguments |
//! | 3 | the capture is damaged part-way: everything before the damage was analysed and printed |

use std::fmt;
use std::process::ExitCode;

/// How a command ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Findings,
    /// Exit 3.
    Damaged,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        match o {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::Findings => ExitCode::from(1),
            Outcome::Damaged => ExitCode::from(3),
        }
    }
}

/// A command that could not run. Always exit code 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl CliError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(2)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError(format!("cannot write output: {e}"))
    }
}
