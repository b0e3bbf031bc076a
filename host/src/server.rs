//! The HTTP/OpenEnv server (being built; see issue 3).

use std::process::ExitCode;

/// Options of `incident-env serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Run the server until SIGINT/SIGTERM.
#[must_use]
pub fn main(_args: ServeArgs) -> ExitCode {
    eprintln!("incident-env serve: not built yet");
    ExitCode::FAILURE
}
