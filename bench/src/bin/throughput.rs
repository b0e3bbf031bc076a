//! The throughput report: in-process steps per second of the incident environment.
//!
//! `cargo run --release -p incident-bench --bin throughput` prints a table;
//! `-- --json` prints one JSON object per line instead:
//! `{"scenario": NAME, "envs": N, "threads": T, "steps_per_sec": X, "ns_per_step": Y}`,
//! then `{"scenario": "env_bytes", "bytes": B}`.
//!
//! `single_env_gen_*`, `single_env_graph_*` (the generated-graph tiers, ruleset v2) and
//! `batch_4096_gen_hard` step generated incidents of a tier (train split) instead;
//! `reset_*` rows count resets per second (`steps/s` is resets/s): an original task's
//! reset, and a generated expert incident's of either family (generation included).
//!
//! Every scenario feeds pre-generated valid action indices (uniform over the 115 discrete
//! actions, from a seeded xorshift) and auto-resets finished episodes with a uniformly
//! drawn task, so the figure is the environment's own cost: step, reset and observation
//! encoding. Each figure is the median of [`RUNS`] timed runs after one warm-up run.
//!
//! Besides the wall-clock rate, single-threaded scenarios also report the rate per second
//! the thread actually ran on a CPU (`cpu_steps_per_sec`, from the kernel's
//! `/proc/thread-self/schedstat`), which other processes on a shared machine do not
//! distort; `null` for the two-thread scenario.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::Instant;

use incident_bench::{ActionTape, Batch, step_parallel, step_single};
use incident_core::Env;
use incident_core::batch::TaskChoice;
use incident_core::scenario::{Split, Tier};

/// Timed runs per scenario (the median is reported).
const RUNS: usize = 5;
/// Task choice of every auto-reset.
const TASKS: TaskChoice = TaskChoice::Uniform;

/// One measured scenario.
struct Row {
    scenario: &'static str,
    envs: usize,
    threads: usize,
    /// Median over the runs of steps per wall-clock second.
    steps_per_sec: f64,
    /// Median over the runs of steps per second the calling thread spent on a CPU (from
    /// the scheduler's own accounting); `None` for multi-threaded scenarios or where
    /// `/proc` is unavailable. On a machine shared with other work this is the figure the
    /// other work does not distort.
    cpu_steps_per_sec: Option<f64>,
}

/// Return the nanoseconds the calling thread has spent running on a CPU, from
/// `/proc/thread-self/schedstat` (Linux), or `None`.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// One timed run: wall-clock and on-CPU seconds.
struct Timing {
    wall: f64,
    cpu: Option<f64>,
}

/// Time `work` by the wall clock and by the calling thread's on-CPU time.
fn time(work: impl FnOnce()) -> Timing {
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    work();
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Some((b - a) as f64 / 1e9),
        _ => None,
    };
    Timing { wall, cpu }
}

/// Return the median of the measured rates.
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// Turn the timings of runs of `steps` steps into the row's two medians.
fn rates(timings: &[Timing], steps: f64, multi_threaded: bool) -> (f64, Option<f64>) {
    let wall = median(timings.iter().map(|t| steps / t.wall).collect());
    let cpu = timings
        .iter()
        .map(|t| t.cpu.map(|cpu| steps / cpu))
        .collect::<Option<Vec<f64>>>()
        .filter(|_| !multi_threaded)
        .map(median);
    (wall, cpu)
}

fn single_env(scenario: &'static str, steps: u64, tasks: TaskChoice) -> Row {
    let tape = ActionTape::new(7, 1);
    let mut env = Env::for_batch(42, 0, tasks);
    let mut observation = [0u8; incident_core::OBS_LEN];
    let mut run = || {
        time(|| {
            let sum = step_single(black_box(&mut env), &tape, steps, tasks, &mut observation);
            black_box((sum, &observation));
        })
    };
    run();
    let timings: Vec<Timing> = (0..RUNS).map(|_| run()).collect();
    let (steps_per_sec, cpu_steps_per_sec) = rates(&timings, steps as f64, false);
    Row {
        scenario,
        envs: 1,
        threads: 1,
        steps_per_sec,
        cpu_steps_per_sec,
    }
}

/// Resets per second: `auto_reset` alone (for a generated tier: generating the incident
/// and its first observation), one environment.
fn resets(scenario: &'static str, count: u64, tasks: TaskChoice) -> Row {
    let mut env = Env::for_batch(42, 0, tasks);
    let mut run = || {
        time(|| {
            for _ in 0..count {
                black_box(&mut env).auto_reset(tasks);
            }
            black_box(&env);
        })
    };
    run();
    let timings: Vec<Timing> = (0..RUNS).map(|_| run()).collect();
    let (steps_per_sec, cpu_steps_per_sec) = rates(&timings, count as f64, false);
    Row {
        scenario,
        envs: 1,
        threads: 1,
        steps_per_sec,
        cpu_steps_per_sec,
    }
}

fn batch(scenario: &'static str, envs: usize, threads: usize, steps_per_env: u64) -> Row {
    batch_of(scenario, envs, threads, steps_per_env, TASKS)
}

fn batch_of(
    scenario: &'static str,
    envs: usize,
    threads: usize,
    steps_per_env: u64,
    tasks: TaskChoice,
) -> Row {
    let tape = ActionTape::new(7, envs);
    let mut batch = Batch::new(envs, 42, tasks);
    let threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
    let mut first_step = 0;
    let mut run = || {
        let timing = time(|| {
            let stats = step_parallel(&mut batch, &tape, first_step, steps_per_env, tasks, threads);
            black_box((stats, &batch.observations));
        });
        first_step += steps_per_env;
        timing
    };
    run();
    let timings: Vec<Timing> = (0..RUNS).map(|_| run()).collect();
    let steps = (envs as u64 * steps_per_env) as f64;
    let (steps_per_sec, cpu_steps_per_sec) = rates(&timings, steps, threads.get() > 1);
    Row {
        scenario,
        envs,
        threads: threads.get(),
        steps_per_sec,
        cpu_steps_per_sec,
    }
}

const USAGE: &str = "usage: throughput [--json]\n\n\
Runs the in-process throughput scenarios (about 30 s) and prints a table, or one JSON \
object per line with --json.";

/// Return whether `--json` was given; `--help` prints the usage and exits without running
/// anything, and an unknown argument is an error (exit status 2).
fn json_flag() -> bool {
    let mut json = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    json
}

fn main() {
    let json = json_flag();
    let rows = measure();
    let env_bytes = size_of::<Env>();
    if json {
        print_json(&rows, env_bytes);
    } else {
        print_table(&rows, env_bytes);
    }
}

/// Measure every row of the report, in the report's order.
fn measure() -> Vec<Row> {
    let generated = |tier| TaskChoice::Generated(tier, Split::Train);
    vec![
        single_env("single_env", 10_000_000, TASKS),
        single_env("single_env_gen_easy", 10_000_000, generated(Tier::Easy)),
        single_env("single_env_gen_medium", 10_000_000, generated(Tier::Medium)),
        single_env("single_env_gen_hard", 10_000_000, generated(Tier::Hard)),
        single_env("single_env_gen_expert", 10_000_000, generated(Tier::Expert)),
        single_env(
            "single_env_graph_easy",
            10_000_000,
            generated(Tier::GraphEasy),
        ),
        single_env(
            "single_env_graph_expert",
            10_000_000,
            generated(Tier::GraphExpert),
        ),
        batch("batch_4096", 4096, 1, 2_000),
        batch_of("batch_4096_gen_hard", 4096, 1, 2_000, generated(Tier::Hard)),
        batch("batch_4096_threads_2", 4096, 2, 2_000),
        batch("batch_1m", 1_000_000, 1, 10),
        resets("reset_task", 2_000_000, TASKS),
        resets("reset_gen_expert", 2_000_000, generated(Tier::Expert)),
        resets(
            "reset_graph_expert",
            2_000_000,
            generated(Tier::GraphExpert),
        ),
    ]
}

/// Print one JSON object per line: each row, then the size of an `Env`.
fn print_json(rows: &[Row], env_bytes: usize) {
    for row in rows {
        let cpu = row
            .cpu_steps_per_sec
            .map_or_else(|| "null".to_string(), |rate| format!("{rate:.0}"));
        println!(
            "{{\"scenario\": \"{}\", \"envs\": {}, \"threads\": {}, \"steps_per_sec\": {:.0}, \"ns_per_step\": {:.3}, \"cpu_steps_per_sec\": {cpu}}}",
            row.scenario,
            row.envs,
            row.threads,
            row.steps_per_sec,
            1e9 / row.steps_per_sec
        );
    }
    println!("{{\"scenario\": \"env_bytes\", \"bytes\": {env_bytes}}}");
}

/// Print the rows as an aligned table, then the size of an `Env`.
fn print_table(rows: &[Row], env_bytes: usize) {
    println!(
        "{:<22} {:>9} {:>7} {:>16} {:>12} {:>18}",
        "scenario", "envs", "threads", "steps/s", "ns/step", "on-CPU steps/s"
    );
    for row in rows {
        let cpu = row
            .cpu_steps_per_sec
            .map_or_else(|| "-".to_string(), |rate| format!("{rate:.0}"));
        println!(
            "{:<22} {:>9} {:>7} {:>16.0} {:>12.3} {cpu:>18}",
            row.scenario,
            row.envs,
            row.threads,
            row.steps_per_sec,
            1e9 / row.steps_per_sec
        );
    }
    println!("{:<22} {env_bytes:>9} bytes", "env_bytes");
}
