//! The binding's batch loop beside the core's `step_batch`, on the same environments and
//! actions: `cargo run --release -p incident-python --example lanes_speed [STEPS]` prints
//! both on-CPU rates (alternating runs); under `valgrind --tool=callgrind` the instruction counts of
//! `incident_core::batch::step_batch` and `_native::lanes::Batch::step` compare the two without
//! the noise of a shared machine (see docs/benchmarks.md).

use std::num::NonZeroUsize;

use _native::lanes::{Batch, OwnedLanes};
use incident_core::batch::{BatchOut, EpisodeStats, TaskChoice, step_batch};
use incident_core::{ACTION_COUNT, Env, OBS_LEN};

/// Environments in the batch.
const ENVS: usize = 4096;
/// Distinct action rows (cycled).
const ROWS: usize = 64;
/// Timed runs of each (alternating; the medians are printed).
const RUNS: usize = 5;

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
    let (mut core_cpu, mut ours_cpu) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let first = run * steps;
        core_cpu.push(on_cpu(|| {
            for k in first..first + steps {
                let out = BatchOut {
                    observations: &mut obs,
                    rewards_milli: &mut rewards,
                    dones: &mut dones,
                };
                step_batch(&mut envs, &actions[k % ROWS], out, tasks, &mut stats).unwrap();
            }
        }));
        ours_cpu.push(on_cpu(|| {
            for k in first..first + steps {
                let ended = batch.step(&actions[k % ROWS], buffers.lanes());
                ended.expect("buffers of one entry per environment");
            }
        }));
    }
    let (core, ours) = (median(core_cpu), median(ours_cpu));
    let million = (ENVS * steps) as f64 / 1e6;
    println!(
        "core step_batch {:.1} M steps/s, binding Batch::step {:.1} M steps/s ({:.1}%; \
         on-CPU, medians of {RUNS} alternating runs)",
        million / core,
        million / ours,
        100.0 * core / ours
    );
}

/// Return the seconds the calling thread spent on a CPU running `work`
/// (`/proc/thread-self/schedstat`, Linux; 0 elsewhere).
fn on_cpu(work: impl FnOnce()) -> f64 {
    let read = || -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let start = read();
    work();
    (read().saturating_sub(start)) as f64 / 1e9
}

/// Return the median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
