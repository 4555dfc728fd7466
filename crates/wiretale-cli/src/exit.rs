//! Exit codes and the CLI's error type.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (for `compare`: no meaningful difference) |
//! | 1 | findings at or above `--fail-on` severity; for `compare`: the captures differ |
//! | 2 | bad input or usage: not a capture, unreadable file, bad filter, bad arguments |
//! | 3 | the capture is damaged: the damaged bytes were skipped where records were found again after them, else everything before the damage was analysed and printed |

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

/// A command that could not run: exit code 2, except when the reader of the output went
/// away ([`CliError::output_closed`]).
#[derive(Debug)]
pub struct CliError {
    message: String,
    output_closed: bool,
}

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            output_closed: false,
        }
    }

    /// The output's reader closed it (`wiretale story x | head`): not a failure of the
    /// command, so nothing is reported and the exit code is 0, as for a complete run (what
    /// `grep` and `ripgrep` do, short of dying by `SIGPIPE`).
    pub fn output_closed(&self) -> bool {
        self.output_closed
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        if self.output_closed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError {
            message: format!("cannot write output: {e}"),
            output_closed: e.kind() == std::io::ErrorKind::BrokenPipe,
        }
    }
}
