//! The evaluation runner: `incident-env run` (the original's `inference.py`) and
//! `incident-env eval` (many seeded baseline episodes, `behaviour.md` §13–§15).
//!
//! - [`episode`]: one task run, the `[START]`/`[STEP]`/`[END]` lines, the in-process or
//!   remote environment, the baseline policy.
//! - [`llm`]: the LLM policy (an OpenAI-compatible chat-completions endpoint), its prompt
//!   and reply parsing, with the baseline as fallback.
//! - [`eval`]: many episodes in parallel and the score table.
//!
//! Architecture invariant: stdout carries only the original's lines; every diagnostic
//! goes to stderr. The LLM prompt never shows the hidden answer.

pub mod episode;
pub mod eval;
pub mod llm;

use std::io::{self, Write};
use std::process::ExitCode;

use incident_api::parse::Incident;
use incident_core::{Split, TaskId, Tier};

pub use episode::{Baseline, Policy, RemoteEnv, TaskSummary, run_task};

/// Which policy chooses the actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyKind {
    /// An LLM behind an OpenAI-compatible endpoint, with the baseline as fallback.
    Llm,
    /// The original's rule-based baseline.
    Baseline,
}

/// Parse a `--task` value: an original task or a generated tier (its split comes from
/// `--split`).
fn parse_task(text: &str) -> Result<Incident, String> {
    if let Some(tier) = Tier::from_name(text) {
        return Ok(Incident::Generated(tier, Split::Train));
    }
    TaskId::from_name(text).map(Incident::Task).ok_or_else(|| {
        let tasks = TaskId::ALL.map(TaskId::name);
        let tiers = Tier::EVERY.map(Tier::name);
        format!(
            "unknown task {text:?}; expected one of: {}, {}",
            tasks.join(", "),
            tiers.join(", ")
        )
    })
}

/// Parse a `--split` value.
fn parse_split(text: &str) -> Result<Split, String> {
    Split::from_name(text).ok_or_else(|| format!("unknown split {text:?}; expected train or test"))
}

/// The incidents `tasks` name, each generated tier once per split in `splits` (in order).
#[must_use]
pub fn with_splits(tasks: &[Incident], splits: &[Split]) -> Vec<Incident> {
    tasks
        .iter()
        .flat_map(|&task| match task {
            Incident::Task(_) => vec![task],
            Incident::Generated(tier, _) => splits
                .iter()
                .map(|&split| Incident::Generated(tier, split))
                .collect(),
        })
        .collect()
}

/// Refuse the seeds `first ..= first + count - 1` (wrapping, as episodes are numbered)
/// wherever a task in `tasks` would refuse them on the server
/// ([`Incident::check_seed`]: a negative seed for a generated tier).
///
/// # Errors
/// The server's message for the first refused seed.
pub fn check_seeds(tasks: &[Incident], first: i64, count: u32) -> Result<(), String> {
    let last = first.wrapping_add(i64::from(count.saturating_sub(1)));
    for &task in tasks {
        for seed in [first, last] {
            task.check_seed(seed).map_err(|error| error.message())?;
        }
    }
    Ok(())
}

/// Options of `incident-env run`.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// The policy.
    #[arg(long, value_enum, default_value = "llm")]
    pub policy: PolicyKind,
    /// The seed every task is reset with.
    #[arg(long, default_value_t = incident_core::env::DEFAULT_SEED, allow_negative_numbers = true)]
    pub seed: i64,
    /// The tasks to run, in order (repeat or separate with commas; default: the four
    /// original tasks): easy_task ... expert_task or a generated tier gen_easy ... gen_expert,
    /// gen_graph_easy ... gen_graph_expert (the seed then indexes the incident within the split).
    #[arg(long = "task", value_parser = parse_task, value_delimiter = ',')]
    pub tasks: Vec<Incident>,
    /// The split of the generated tiers: train or test.
    #[arg(long, value_parser = parse_split, default_value = "train")]
    pub split: Split,
    /// Drive a running server at this URL instead of an in-process environment.
    #[arg(long, env = "ENV_URL")]
    pub env_url: Option<String>,
    /// Write the scores as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<std::path::PathBuf>,
    /// The LLM endpoint's options.
    #[command(flatten)]
    pub llm: llm::LlmArgs,
}

/// Options of `incident-env eval`.
#[derive(Clone, Debug, clap::Args)]
pub struct EvalArgs {
    /// The policy (only the baseline runs in parallel).
    #[arg(long, value_enum, default_value = "baseline")]
    pub policy: PolicyKind,
    /// Episodes per task.
    #[arg(long, default_value_t = crate::constants::EVAL_EPISODES_DEFAULT)]
    pub episodes: u32,
    /// The first seed; episode i uses seed + i.
    #[arg(long, default_value_t = incident_core::env::DEFAULT_SEED, allow_negative_numbers = true)]
    pub seed: i64,
    /// The tasks and generated tiers (default: the four tasks and the four tiers).
    #[arg(long = "task", value_parser = parse_task, value_delimiter = ',')]
    pub tasks: Vec<Incident>,
    /// The split of the generated tiers: train or test (default: both).
    #[arg(long, value_parser = parse_split)]
    pub split: Option<Split>,
    /// Worker threads (default: the number of cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print machine-readable JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The LLM endpoint's options (for `--policy llm`).
    #[command(flatten)]
    pub llm: llm::LlmArgs,
}

/// The tasks to run: the ones given, or `default` (in order).
#[must_use]
pub fn tasks_or(tasks: &[Incident], default: &[Incident]) -> Vec<Incident> {
    if tasks.is_empty() {
        default.to_vec()
    } else {
        tasks.to_vec()
    }
}

/// The four original tasks, in order.
#[must_use]
pub fn original_tasks() -> Vec<Incident> {
    TaskId::ALL.map(Incident::Task).to_vec()
}

/// Run the tasks with `policy`, printing the original's lines to `out` and diagnostics
/// to `log`.
///
/// # Errors
/// Only a failure to write to `out` or `log`.
pub fn run_tasks(
    tasks: &[Incident],
    seed: i64,
    model: &str,
    policy: &mut dyn Policy,
    remote: Option<&RemoteEnv>,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> io::Result<Vec<TaskSummary>> {
    let mut summaries = Vec::with_capacity(tasks.len());
    for &task in tasks {
        summaries.push(run_task(task, seed, model, policy, remote, out, log)?);
        out.flush()?;
    }
    Ok(summaries)
}

/// Build the policy `kind` asks for.
///
/// # Errors
/// `--policy llm` without an API key: the message to print.
pub fn make_policy(kind: PolicyKind, args: &llm::LlmArgs) -> Result<Box<dyn Policy>, String> {
    match kind {
        PolicyKind::Baseline => Ok(Box::new(Baseline)),
        PolicyKind::Llm => Ok(Box::new(llm::LlmPolicy::new(args.config()?))),
    }
}

/// Write the summary JSON file.
fn write_summary(
    path: &std::path::Path,
    args: &RunArgs,
    summaries: &[TaskSummary],
) -> io::Result<()> {
    let mean = if summaries.is_empty() {
        0.0
    } else {
        summaries.iter().map(|s| s.score).sum::<f64>() / summaries.len() as f64
    };
    let policy = match args.policy {
        PolicyKind::Llm => "llm",
        PolicyKind::Baseline => "baseline",
    };
    let value = serde_json::json!({
        "model": args.llm.model,
        "policy": policy,
        "seed": args.seed,
        "mean_score": mean,
        "tasks": summaries,
    });
    let text = serde_json::to_string_pretty(&value).map_err(io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// Run `incident-env run`.
#[must_use]
pub fn run_main(args: RunArgs) -> ExitCode {
    let mut policy = match make_policy(args.policy, &args.llm) {
        Ok(policy) => policy,
        Err(message) => {
            eprintln!("incident-env run: {message}");
            return ExitCode::from(2);
        }
    };
    let remote = args.env_url.as_deref().map(RemoteEnv::new);
    let tasks = with_splits(&tasks_or(&args.tasks, &original_tasks()), &[args.split]);
    if let Err(message) = check_seeds(&tasks, args.seed, 1) {
        eprintln!("incident-env run: --seed: {message}");
        return ExitCode::from(2);
    }
    let stdout = io::stdout();
    let stderr = io::stderr();
    let result = run_tasks(
        &tasks,
        args.seed,
        &args.llm.model,
        policy.as_mut(),
        remote.as_ref(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    );
    let summaries = match result {
        Ok(summaries) => summaries,
        Err(error) => {
            eprintln!("incident-env run: writing the output failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(report) = policy.report() {
        eprintln!("{report}");
    }
    if let Some(path) = &args.summary_json
        && let Err(error) = write_summary(path, &args, &summaries)
    {
        eprintln!("incident-env run: writing {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Run `incident-env eval`.
#[must_use]
pub fn eval_main(args: EvalArgs) -> ExitCode {
    eval::main(&args)
}
