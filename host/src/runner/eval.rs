//! Many seeded episodes per task (being built).

use std::process::ExitCode;

/// Run `incident-env eval`.
#[must_use]
pub fn main(_args: &super::EvalArgs) -> ExitCode {
    ExitCode::FAILURE
}
