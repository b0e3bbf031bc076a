//! How much of a batch step is branch misprediction: 4096 environments stepped with
//! uniformly random actions (as `batch_4096` in the throughput report) and with the same
//! cyclic six-action script for every environment (perfectly predictable control flow).
//!
//! `cargo run --release -p incident-bench --example predictability`

use std::time::Instant;

use incident_bench::{ActionTape, Batch};
use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};

const ENVS: usize = 4096;
const STEPS: u64 = 500;
const RUNS: usize = 5;

fn main() {
    // list_services, then read_logs / query_metrics / inspect_dependencies / verify_health
    // of the database, then list_services again: the same index for every environment.
    let script: [u8; 6] = [0, 6, 12, 18, 24, 0];
    let tape = ActionTape::new(7, ENVS);
    let mut scripted = vec![0u8; ENVS];
    for (name, random) in [
        ("uniform random actions", true),
        ("one cyclic script", false),
    ] {
        let mut batch = Batch::new(ENVS, 42, TaskChoice::Uniform);
        let mut stats = EpisodeStats::default();
        let mut rates = Vec::with_capacity(RUNS);
        for run in 0..RUNS as u64 {
            let start = Instant::now();
            for step in run * STEPS..(run + 1) * STEPS {
                let actions = if random {
                    tape.actions(step, 0, ENVS)
                } else {
                    scripted.fill(script[(step % 6) as usize]);
                    &scripted
                };
                let out = BatchOut {
                    observations: &mut batch.observations,
                    rewards_milli: &mut batch.rewards_milli,
                    dones: &mut batch.dones,
                };
                batch::step_batch(
                    &mut batch.envs,
                    actions,
                    out,
                    TaskChoice::Uniform,
                    &mut stats,
                )
                .expect("lengths agree");
            }
            rates.push((ENVS as u64 * STEPS) as f64 / start.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{name}: {:.1} M steps/s (median of {RUNS})",
            rates[RUNS / 2] / 1e6
        );
    }
}
