//! A fixed workload for profilers: `cargo build --profile profiling -p incident-bench --example
//! profile`, then `valgrind --tool=callgrind target/profiling/examples/profile` (the
//! `profiling` profile is release with line tables; release itself carries no debug info).
//!
//! Arguments: the steps per environment (default 200), optionally a generated tier's wire
//! name (`gen_hard` ...; an unknown name exits 2) to step that tier's train incidents
//! instead of the original tasks,
//! and optionally `--single`: one environment through the throughput report's
//! `single_env` path (`step_index`, auto-reset, full `obs::encode` per step) for
//! 4,096 × steps steps, instead of the 4,096-environment `step_batch`. Subtract a 0-step
//! run's instruction count and divide by 4,096 × steps for the cost per step.

use std::num::NonZeroUsize;

use incident_bench::{ActionTape, Batch, step_parallel, step_single};
use incident_core::batch::TaskChoice;
use incident_core::scenario::{Split, Tier};
use incident_core::{Env, OBS_LEN};

/// Environments of the batch workload; the single-env workload steps one env this many
/// times longer, so both run the same number of steps.
const WIDTH: usize = 4096;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let single = args.iter().any(|arg| arg == "--single");
    let mut positional = args.iter().filter(|arg| *arg != "--single");
    let steps: u64 = positional
        .next()
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200);
    let tasks = match positional.next() {
        None => TaskChoice::Uniform,
        Some(name) => match Tier::from_name(name) {
            Some(tier) => TaskChoice::Generated(tier, Split::Train),
            None => {
                eprintln!("profile: unknown tier {name:?}");
                std::process::exit(2);
            }
        },
    };
    if single {
        let tape = ActionTape::new(7, 1);
        let mut env = Env::for_batch(42, 0, tasks);
        let mut observation = [0u8; OBS_LEN];
        let sum = step_single(
            &mut env,
            &tape,
            steps * WIDTH as u64,
            tasks,
            &mut observation,
        );
        println!("reward sum {sum}, observation byte 0 {}", observation[0]);
    } else {
        let tape = ActionTape::new(7, WIDTH);
        let mut batch = Batch::new(WIDTH, 42, tasks);
        let stats = step_parallel(&mut batch, &tape, 0, steps, tasks, NonZeroUsize::MIN);
        println!("{stats:?}");
    }
}
