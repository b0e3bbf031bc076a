//! The binding's batch loop beside the core's `step_batch`, on the same environments and
//! actions: `cargo run --release -p incident-python --example lanes_speed [STEPS]` prints
//! both rates; under `valgrind --tool=callgrind` the instruction counts of
//! `incident_core::batch::step_batch` and `_native::lanes::Batch::step` compare the two without
//! the noise of a shared machine (see BENCHMARKS.md).

use std::num::NonZeroUsize;
use std::time::Instant;

use _native::lanes::{Batch, OwnedLanes};
use incident_core::batch::{BatchOut, EpisodeStats, TaskChoice, step_batch};
use incident_core::{ACTION_COUNT, Env, OBS_LEN};

/// Environments in the batch.
const ENVS: usize = 4096;
/// Distinct action rows (cycled).
const ROWS: usize = 64;

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let tasks = TaskChoice::Uniform;
    let actions: Vec<Vec<u8>> = (0..ROWS)
        .map(|k| {
            (0..ENVS)
                .map(|i| ((i * 7919 + k * 104_729) % ACTION_COUNT) as u8)
                .collect()
        })
        .collect();
    let mut envs: Vec<Env> = (0..ENVS as u64)
        .map(|i| Env::for_batch(1, i, tasks))
        .collect();
    let mut obs = vec![0; ENVS * OBS_LEN];
    let (mut rewards, mut dones) = (vec![0; ENVS], vec![false; ENVS]);
    let mut stats = EpisodeStats::default();
    let mut buffers = OwnedLanes::new(ENVS);
    let mut batch = Batch::new(envs.clone(), tasks, NonZeroUsize::MIN).expect("no worker threads");
    let start = Instant::now();
    for k in 0..steps {
        let out = BatchOut {
            observations: &mut obs,
            rewards_milli: &mut rewards,
            dones: &mut dones,
        };
        step_batch(&mut envs, &actions[k % ROWS], out, tasks, &mut stats).unwrap();
    }
    let core = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for k in 0..steps {
        let out = buffers.lanes();
        let ended = batch.step(&actions[k % ROWS], out);
        ended.expect("buffers of one entry per environment");
    }
    let ours = start.elapsed().as_secs_f64();
    let million = (ENVS * steps) as f64 / 1e6;
    println!(
        "core step_batch {:.1} M steps/s, binding Batch::step {:.1} M steps/s (wall clock)",
        million / core,
        million / ours
    );
}
