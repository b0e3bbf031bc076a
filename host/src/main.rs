//! `incident-env`: serve the environment, run an agent through the tasks, or evaluate a
//! policy over many episodes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use incident_host::{runner, server};

/// DevOps incident-response RL environment: server and evaluation runner.
#[derive(Debug, Parser)]
#[command(name = "incident-env", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the original's HTTP API and the OpenEnv WebSocket protocol.
    Serve(server::ServeArgs),
    /// Run a policy through the tasks and print `[START]`/`[STEP]`/`[END]` lines.
    Run(runner::RunArgs),
    /// Run many seeded episodes per task and print a score table.
    Eval(runner::EvalArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => server::main(args),
        Command::Run(args) => runner::run_main(args),
        Command::Eval(args) => runner::eval_main(args),
    }
}
