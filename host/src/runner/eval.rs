//! Many seeded episodes per task: episode `i` of every task is reset with `seed + i` (for a
//! generated tier, generated incident `seed + i` of its split).
//!
//! With `--policy baseline` everything runs on the core directly, spread over threads: the
//! baseline on the original tasks (today's table), and on each generated tier and split
//! the oracle, the baseline and a uniformly random policy (the tier table). Every episode
//! writes its own slot and the tables are reduced in episode order, so the results do not
//! depend on the thread count. The LLM policy runs its episodes one after another (it is
//! bound by the endpoint, and its fallback streak is per task).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use incident_api::parse::Incident;
use incident_core::baseline::{self, Shown};
use incident_core::{ACTION_COUNT, Action, Env, Split, Tier, oracle};
use serde_json::json;

use super::{EvalArgs, PolicyKind};
use crate::constants::{EVAL_PROGRESS_INTERVAL, SUCCESS_SCORE_MIN};

/// One episode's result.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpisodeResult {
    /// The final score as `/state` shows it (`incident_api::render::shown`): an original
    /// task's clamped to [0.05, 0.95], a generated incident's exact ruleset v1 score.
    pub score: f64,
    /// The steps taken.
    pub steps: u8,
    /// Whether every root was fixed and verified.
    pub resolved: bool,
    /// The step the last root was fixed at (time to mitigation), if it was.
    pub mitigated_at: Option<u8>,
}

/// A policy played on the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorePolicy {
    /// Reads the answer (`incident_core::oracle`).
    Oracle,
    /// The original's rule baseline, fed the previous observation.
    Baseline,
    /// Uniform over the 115 discrete actions, from the episode's own generator.
    Random,
}

/// Play one episode of `task` with `seed` on the core with `policy`.
#[must_use]
pub fn core_episode(task: Incident, seed: i64, policy: CorePolicy) -> EpisodeResult {
    let scenario = task.scenario(seed);
    let mut env = Env::with_scenario(scenario, seed, seed as u64);
    while !env.is_done() && env.step_count() < scenario.max_steps {
        let action = match policy {
            CorePolicy::Oracle => oracle::choose(&env),
            CorePolicy::Baseline => {
                let shown = Shown::LastStep {
                    outcome: env.last_outcome(),
                    unknown: "",
                };
                baseline::choose(&env, shown).action
            }
            CorePolicy::Random => {
                let index = env.next_below(ACTION_COUNT as u32) as u8;
                Action::from_index(index).unwrap_or_default()
            }
        };
        env.step(action);
    }
    let milli = env.final_grade().map_or(0, |grade| grade.score);
    EpisodeResult {
        score: incident_api::render::shown(&scenario, milli.into()),
        steps: env.step_count(),
        resolved: env.is_resolved(),
        mitigated_at: env.mitigated_at(),
    }
}

/// Run `episodes` episodes of each `(task, policy)` job on `threads` threads; the result
/// has one entry per job, each with one result per episode in seed order.
#[must_use]
pub fn run_core(
    jobs: &[(Incident, CorePolicy)],
    episodes: usize,
    seed: i64,
    threads: usize,
    progress: &AtomicUsize,
) -> Vec<Vec<EpisodeResult>> {
    let total = jobs.len() * episodes;
    let mut results = vec![EpisodeResult::default(); total];
    let chunk = total.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        for (chunk_index, slots) in results.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                for (offset, slot) in slots.iter_mut().enumerate() {
                    let index = chunk_index * chunk + offset;
                    let (task, policy) = jobs[index / episodes];
                    let episode = i64::try_from(index % episodes).unwrap_or(i64::MAX);
                    *slot = core_episode(task, seed.wrapping_add(episode), policy);
                    progress.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    results.chunks(episodes.max(1)).map(<[_]>::to_vec).collect()
}

/// One task's statistics over its episodes.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TaskStats {
    /// The task id.
    pub task_id: &'static str,
    /// The split, for a generated tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<&'static str>,
    /// The number of episodes.
    pub episodes: usize,
    /// The mean score.
    pub mean: f64,
    /// The lowest score.
    pub min: f64,
    /// The highest score.
    pub max: f64,
    /// The share of episodes scoring at least 0.5.
    pub success_rate: f64,
    /// The mean number of steps.
    pub mean_steps: f64,
}

fn round3(x: f64) -> f64 {
    let per_unit = f64::from(incident_core::constants::MILLI_PER_UNIT);
    (x * per_unit).round() / per_unit
}

impl TaskStats {
    /// Return the statistics rounded to the 3 decimals the grader uses (a mean of 0.8s
    /// is `0.8`, not `0.8000000000000002`).
    #[must_use]
    pub fn rounded(&self) -> TaskStats {
        TaskStats {
            mean: round3(self.mean),
            min: round3(self.min),
            max: round3(self.max),
            success_rate: round3(self.success_rate),
            mean_steps: round3(self.mean_steps),
            ..self.clone()
        }
    }
}

fn split_of(task: Incident) -> Option<&'static str> {
    match task {
        Incident::Generated(_, split) => Some(split.name()),
        Incident::Task(_) => None,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0_usize), |(s, n), x| (s + x, n + 1));
    sum / count.max(1) as f64
}

/// Reduce one task's results (in episode order).
#[must_use]
pub fn stats(task: Incident, results: &[EpisodeResult]) -> TaskStats {
    let scores = results.iter().map(|r| r.score);
    TaskStats {
        task_id: task.name(),
        split: split_of(task),
        episodes: results.len(),
        mean: mean(scores.clone()),
        min: scores.clone().fold(f64::INFINITY, f64::min),
        max: scores.fold(f64::NEG_INFINITY, f64::max),
        success_rate: mean(
            results
                .iter()
                .map(|r| f64::from(r.score >= SUCCESS_SCORE_MIN)),
        ),
        mean_steps: mean(results.iter().map(|r| f64::from(r.steps))),
    }
}

/// One generated tier and split: the mean ruleset v1 score of each policy.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TierStats {
    /// The tier (`gen_easy` ...).
    pub task_id: &'static str,
    /// The split.
    pub split: &'static str,
    /// Episodes per policy.
    pub episodes: usize,
    /// The oracle's mean score.
    pub oracle: f64,
    /// The rule baseline's mean score.
    pub baseline: f64,
    /// The random policy's mean score.
    pub random: f64,
    /// The share of episodes the oracle resolved.
    pub oracle_resolved: f64,
    /// The share of episodes the baseline resolved.
    pub baseline_resolved: f64,
    /// The oracle's mean time to mitigation (step of the last root's fix).
    pub oracle_time_to_mitigation: f64,
}

impl TierStats {
    /// Return the statistics rounded to 3 decimals.
    #[must_use]
    pub fn rounded(&self) -> TierStats {
        TierStats {
            oracle: round3(self.oracle),
            baseline: round3(self.baseline),
            random: round3(self.random),
            oracle_resolved: round3(self.oracle_resolved),
            baseline_resolved: round3(self.baseline_resolved),
            oracle_time_to_mitigation: round3(self.oracle_time_to_mitigation),
            ..self.clone()
        }
    }
}

/// The core policies of a tier row, in the jobs' order.
const TIER_POLICIES: [CorePolicy; 3] =
    [CorePolicy::Oracle, CorePolicy::Baseline, CorePolicy::Random];

/// Reduce the oracle, baseline and random results of one tier and split.
#[must_use]
pub fn tier_stats(tier: Tier, split: Split, results: &[Vec<EpisodeResult>]) -> TierStats {
    let score = |rows: &[EpisodeResult]| mean(rows.iter().map(|r| r.score));
    let resolved = |rows: &[EpisodeResult]| mean(rows.iter().map(|r| f64::from(r.resolved)));
    let [oracle, baseline, random] = [0, 1, 2].map(|i| results.get(i).map_or(&[][..], |r| &r[..]));
    TierStats {
        task_id: tier.name(),
        split: split.name(),
        episodes: oracle.len(),
        oracle: score(oracle),
        baseline: score(baseline),
        random: score(random),
        oracle_resolved: resolved(oracle),
        baseline_resolved: resolved(baseline),
        oracle_time_to_mitigation: mean(
            oracle.iter().filter_map(|r| r.mitigated_at).map(f64::from),
        ),
    }
}

/// Write the score table.
///
/// # Errors
/// A failure to write.
pub fn write_table(out: &mut dyn Write, table: &[TaskStats]) -> io::Result<()> {
    writeln!(
        out,
        "| task | episodes | mean | min | max | success | mean steps |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|")?;
    for row in table {
        let label = match row.split {
            Some(split) => format!("{} ({split})", row.task_id),
            None => row.task_id.to_owned(),
        };
        writeln!(
            out,
            "| {label} | {} | {:.3} | {:.3} | {:.3} | {:.1}% | {:.2} |",
            row.episodes,
            row.mean,
            row.min,
            row.max,
            row.success_rate * 100.0,
            row.mean_steps
        )?;
    }
    Ok(())
}

/// Write the generated tiers' table.
///
/// # Errors
/// A failure to write.
pub fn write_tier_table(out: &mut dyn Write, table: &[TierStats]) -> io::Result<()> {
    writeln!(
        out,
        "| tier | split | episodes | oracle | baseline | random | oracle resolved | baseline resolved | oracle time to mitigation |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|")?;
    for row in table {
        writeln!(
            out,
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.1}% | {:.1}% | {:.2} |",
            row.task_id,
            row.split,
            row.episodes,
            row.oracle,
            row.baseline,
            row.random,
            row.oracle_resolved * 100.0,
            row.baseline_resolved * 100.0,
            row.oracle_time_to_mitigation,
        )?;
    }
    Ok(())
}

/// Show `done / total` on stderr until `done` reaches `total` (only on a terminal).
fn show_progress(progress: &AtomicUsize, total: usize) {
    let mut stderr = io::stderr();
    loop {
        let done = progress.load(Ordering::Relaxed).min(total);
        let _ = write!(stderr, "\r[eval] {done}/{total} episodes");
        let _ = stderr.flush();
        if done >= total {
            let _ = writeln!(stderr);
            return;
        }
        std::thread::sleep(EVAL_PROGRESS_INTERVAL);
    }
}

/// Run the LLM policy's episodes one after another (output lines discarded).
fn run_llm(
    args: &EvalArgs,
    tasks: &[Incident],
    episodes: usize,
    progress: &AtomicUsize,
) -> Result<Vec<Vec<EpisodeResult>>, String> {
    let mut policy = super::make_policy(PolicyKind::Llm, &args.llm)?;
    let mut results = Vec::with_capacity(tasks.len());
    for &task in tasks {
        let mut row = Vec::with_capacity(episodes);
        for episode in 0..episodes {
            let seed = args.seed.wrapping_add(episode as i64);
            let summary = super::run_task(
                task,
                seed,
                &args.llm.model,
                policy.as_mut(),
                None,
                &mut io::sink(),
                &mut io::stderr(),
            )
            .map_err(|error| error.to_string())?;
            row.push(EpisodeResult {
                score: summary.score,
                steps: u8::try_from(summary.steps).unwrap_or(u8::MAX),
                ..EpisodeResult::default()
            });
            progress.fetch_add(1, Ordering::Relaxed);
        }
        results.push(row);
    }
    Ok(results)
}

/// The tables of one evaluation.
struct Tables {
    tasks: Vec<TaskStats>,
    tiers: Vec<TierStats>,
}

/// Play every episode the arguments ask for and reduce them to the tables.
fn evaluate(
    args: &EvalArgs,
    incidents: &[Incident],
    episodes: usize,
    threads: usize,
    progress: &AtomicUsize,
) -> Result<Tables, String> {
    if args.policy == PolicyKind::Llm {
        let results = run_llm(args, incidents, episodes, progress)?;
        let tasks = incidents
            .iter()
            .zip(&results)
            .map(|(&t, rows)| stats(t, rows));
        return Ok(Tables {
            tasks: tasks.collect(),
            tiers: Vec::new(),
        });
    }
    let (originals, generated): (Vec<Incident>, Vec<Incident>) = incidents
        .iter()
        .partition(|task| matches!(task, Incident::Task(_)));
    let mut jobs: Vec<(Incident, CorePolicy)> = originals
        .iter()
        .map(|&task| (task, CorePolicy::Baseline))
        .collect();
    for &task in &generated {
        jobs.extend(TIER_POLICIES.map(|policy| (task, policy)));
    }
    let results = run_core(&jobs, episodes, args.seed, threads, progress);
    let (task_rows, tier_rows) = results.split_at(originals.len());
    let tasks = originals
        .iter()
        .zip(task_rows)
        .map(|(&t, rows)| stats(t, rows));
    let tiers = generated
        .iter()
        .zip(tier_rows.chunks(TIER_POLICIES.len()))
        .filter_map(|(&task, rows)| match task {
            Incident::Generated(tier, split) => Some(tier_stats(tier, split, rows)),
            Incident::Task(_) => None,
        });
    Ok(Tables {
        tasks: tasks.collect(),
        tiers: tiers.collect(),
    })
}

/// Write the tables as Markdown or JSON.
fn write_tables(
    out: &mut dyn Write,
    args: &EvalArgs,
    episodes: usize,
    tables: &Tables,
) -> io::Result<()> {
    if args.json {
        let policy = match args.policy {
            PolicyKind::Baseline => "baseline",
            PolicyKind::Llm => "llm",
        };
        let value = json!({
            "policy": policy,
            "seed": args.seed,
            "episodes": episodes,
            "tasks": tables.tasks.iter().map(TaskStats::rounded).collect::<Vec<_>>(),
            "generated": tables.tiers.iter().map(TierStats::rounded).collect::<Vec<_>>(),
        });
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    }
    if !tables.tasks.is_empty() {
        write_table(out, &tables.tasks)?;
    }
    if !tables.tiers.is_empty() {
        if !tables.tasks.is_empty() {
            writeln!(out)?;
        }
        write_tier_table(out, &tables.tiers)?;
    }
    Ok(())
}

/// Run `incident-env eval`.
#[must_use]
pub fn main(args: &EvalArgs) -> ExitCode {
    let mut default = super::original_tasks();
    default.extend(Tier::EVERY.map(|tier| Incident::Generated(tier, Split::Train)));
    let splits = args
        .split
        .as_ref()
        .map_or(&Split::ALL[..], std::slice::from_ref);
    let incidents = super::with_splits(&super::tasks_or(&args.tasks, &default), splits);
    let episodes = args.episodes as usize;
    if episodes == 0 {
        eprintln!("incident-env eval: --episodes must be at least 1");
        return ExitCode::from(2);
    }
    if let Err(message) = super::check_seeds(&incidents, args.seed, args.episodes) {
        eprintln!("incident-env eval: --seed: {message}");
        return ExitCode::from(2);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let per_task = |task: &Incident| match (args.policy, task) {
        (PolicyKind::Baseline, Incident::Generated(..)) => TIER_POLICIES.len(),
        _ => 1,
    };
    let total = incidents.iter().map(per_task).sum::<usize>() * episodes;
    let progress = AtomicUsize::new(0);
    let started = Instant::now();
    let tables = std::thread::scope(|scope| {
        if io::stderr().is_terminal() {
            scope.spawn(|| show_progress(&progress, total));
        }
        let tables = evaluate(args, &incidents, episodes, threads, &progress);
        // Let the progress display finish even when the run stopped early.
        progress.store(total, Ordering::Relaxed);
        tables
    });
    let tables = match tables {
        Ok(tables) => tables,
        Err(message) => {
            eprintln!("incident-env eval: {message}");
            return ExitCode::from(2);
        }
    };
    let elapsed = started.elapsed();
    if let Err(error) = write_tables(&mut io::stdout().lock(), args, episodes, &tables) {
        eprintln!("incident-env eval: writing the output failed: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "[eval] {total} episodes in {:.2} s on {threads} thread(s)",
        elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use incident_core::TaskId;

    fn jobs() -> Vec<(Incident, CorePolicy)> {
        let mut jobs: Vec<_> = TaskId::ALL
            .map(|task| (Incident::Task(task), CorePolicy::Baseline))
            .to_vec();
        for policy in TIER_POLICIES {
            jobs.push((Incident::Generated(Tier::Hard, Split::Test), policy));
        }
        jobs
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // Goal: the same seeds give the same tables on 1, 2 and 7 threads.
        let progress = AtomicUsize::new(0);
        let one = run_core(&jobs(), 13, 40, 1, &progress);
        for threads in [2, 7] {
            assert_eq!(one, run_core(&jobs(), 13, 40, threads, &progress));
        }
        assert_eq!(progress.load(Ordering::Relaxed), 3 * 7 * 13);
    }

    #[test]
    fn json_statistics_are_rounded_to_three_decimals() {
        // Goal: `eval --json` prints the mean of many 0.8 scores as 0.8, as the grader
        // rounds, not as the sum's binary residue 0.7999999999999997.
        let rows = vec![
            EpisodeResult {
                score: 0.8,
                steps: 7,
                ..EpisodeResult::default()
            };
            7
        ];
        let raw = stats(Incident::Task(TaskId::Easy), &rows);
        assert_ne!(
            serde_json::to_value(&raw).unwrap()["mean"].to_string(),
            "0.8"
        );
        let rounded = serde_json::to_value(raw.rounded()).unwrap();
        assert_eq!(rounded["mean"].to_string(), "0.8");
        assert_eq!(rounded["mean_steps"].to_string(), "7.0");
    }

    #[test]
    fn baseline_episode_matches_the_reference_table() {
        // Goal: the README baseline scores (behaviour.md §13) for seed 12345.
        let scores: Vec<(f64, u8)> = TaskId::ALL
            .iter()
            .map(|&task| {
                let result = core_episode(Incident::Task(task), 12345, CorePolicy::Baseline);
                (result.score, result.steps)
            })
            .collect();
        assert_eq!(scores, [(0.8, 7), (0.86, 7), (0.117, 12), (0.117, 14)]);
    }

    #[test]
    fn the_tier_row_orders_oracle_above_baseline_above_nothing() {
        // Goal: on generated incidents the oracle resolves every episode with score 1 and
        // a time to mitigation, and the baseline and random policies score below it.
        let progress = AtomicUsize::new(0);
        let task = Incident::Generated(Tier::Medium, Split::Train);
        let rows = run_core(&TIER_POLICIES.map(|p| (task, p)), 30, 0, 2, &progress);
        let row = tier_stats(Tier::Medium, Split::Train, &rows);
        assert_eq!((row.oracle, row.oracle_resolved), (1.0, 1.0));
        assert!(row.oracle_time_to_mitigation >= 3.0);
        assert!(
            row.baseline < row.oracle && row.random < row.oracle,
            "{row:?}"
        );
        assert_eq!(
            (row.task_id, row.split, row.episodes),
            ("gen_medium", "train", 30)
        );
    }
}
