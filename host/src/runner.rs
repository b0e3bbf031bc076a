//! The evaluation runner (being built; see issue 5).

use std::process::ExitCode;

/// Options of `incident-env run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Options of `incident-env eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {}

/// Run `incident-env run`.
#[must_use]
pub fn run_main(_args: RunArgs) -> ExitCode {
    eprintln!("incident-env run: not built yet");
    ExitCode::FAILURE
}

/// Run `incident-env eval`.
#[must_use]
pub fn eval_main(_args: EvalArgs) -> ExitCode {
    eprintln!("incident-env eval: not built yet");
    ExitCode::FAILURE
}
