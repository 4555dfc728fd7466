//! One module per subcommand.

mod common;
mod compare;
mod flows;
mod frames;
mod http;
mod ntlm;
mod story;
mod table_rows;
mod tables;
mod timeline;
mod tls;

use crate::cli::{Cli, Command};
use crate::exit::{CliError, Outcome};

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<Outcome, CliError> {
    match cli.command {
        Command::Story(args) => story::run(&args),
        Command::Flows(args) => flows::run(&args),
        Command::Frames(args) => frames::run(&args),
        Command::Timeline(args) => timeline::run(&args),
        Command::Tls(args) => tls::run(&args),
        Command::Http(args) => http::run(&args),
        Command::Ntlm(args) => ntlm::run(&args),
        Command::Compare(args) => compare::run(&args),
    }
}
