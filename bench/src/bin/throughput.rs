//! The throughput report: in-process steps per second of the incident environment.
//!
//! `cargo run --release -p incident-bench --bin throughput` prints a table;
//! `-- --json` prints one JSON object per line instead:
//! `{"scenario": NAME, "envs": N, "threads": T, "steps_per_sec": X, "ns_per_step": Y}`,
//! then `{"scenario": "env_bytes", "bytes": B}`.
//!
//! Every scenario feeds pre-generated valid action indices (uniform over the 115 discrete
//! actions, from a seeded xorshift) and auto-resets finished episodes with a uniformly
//! drawn task, so the figure is the environment's own cost: step, reset and observation
//! encoding. Each figure is the median of [`RUNS`] timed runs after one warm-up run.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::Instant;

use incident_bench::{ActionTape, Batch, step_parallel, step_single};
use incident_core::Env;
use incident_core::batch::TaskChoice;
use incident_core::task::TaskId;

/// Timed runs per scenario (the median is reported).
const RUNS: usize = 5;
/// Task choice of every auto-reset.
const TASKS: TaskChoice = TaskChoice::Uniform;

/// One measured scenario.
struct Row {
    scenario: &'static str,
    envs: usize,
    threads: usize,
    steps_per_sec: f64,
}

/// Return the median of the measured rates.
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn single_env(steps: u64) -> Row {
    let tape = ActionTape::new(7, 1);
    let mut env = Env::new(TaskId::Easy, 1, 42);
    let mut observation = [0u8; incident_core::OBS_LEN];
    let mut run = || {
        let start = Instant::now();
        let sum = step_single(black_box(&mut env), &tape, steps, TASKS, &mut observation);
        black_box((sum, &observation));
        steps as f64 / start.elapsed().as_secs_f64()
    };
    run();
    let rates = (0..RUNS).map(|_| run()).collect();
    Row {
        scenario: "single_env",
        envs: 1,
        threads: 1,
        steps_per_sec: median(rates),
    }
}

fn batch(scenario: &'static str, envs: usize, threads: usize, steps_per_env: u64) -> Row {
    let tape = ActionTape::new(7, envs);
    let mut batch = Batch::new(envs, 42, TASKS);
    let threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
    let mut first_step = 0;
    let mut run = || {
        let start = Instant::now();
        let stats = step_parallel(&mut batch, &tape, first_step, steps_per_env, TASKS, threads);
        let elapsed = start.elapsed().as_secs_f64();
        black_box((stats, &batch.observations));
        first_step += steps_per_env;
        (envs as u64 * steps_per_env) as f64 / elapsed
    };
    run();
    let rates = (0..RUNS).map(|_| run()).collect();
    Row {
        scenario,
        envs,
        threads: threads.get(),
        steps_per_sec: median(rates),
    }
}

fn main() {
    let json = std::env::args().skip(1).any(|arg| arg == "--json");
    let rows = [
        single_env(10_000_000),
        batch("batch_4096", 4096, 1, 2_000),
        batch("batch_4096_threads_2", 4096, 2, 2_000),
        batch("batch_1m", 1_000_000, 1, 10),
    ];
    let env_bytes = size_of::<Env>();
    if json {
        for row in &rows {
            println!(
                "{{\"scenario\": \"{}\", \"envs\": {}, \"threads\": {}, \"steps_per_sec\": {:.0}, \"ns_per_step\": {:.3}}}",
                row.scenario,
                row.envs,
                row.threads,
                row.steps_per_sec,
                1e9 / row.steps_per_sec
            );
        }
        println!("{{\"scenario\": \"env_bytes\", \"bytes\": {env_bytes}}}");
    } else {
        println!(
            "{:<22} {:>9} {:>7} {:>16} {:>12}",
            "scenario", "envs", "threads", "steps/s", "ns/step"
        );
        for row in &rows {
            println!(
                "{:<22} {:>9} {:>7} {:>16.0} {:>12.3}",
                row.scenario,
                row.envs,
                row.threads,
                row.steps_per_sec,
                1e9 / row.steps_per_sec
            );
        }
        println!("{:<22} {env_bytes:>9} bytes", "env_bytes");
    }
}
