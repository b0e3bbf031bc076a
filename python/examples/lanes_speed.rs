//! The binding's batch loop beside the core's `step_batch`, on the same environments and
//! actions: `cargo run --release -p incident-python --example lanes_speed [STEPS]` prints
//! both rates; under `valgrind --tool=callgrind` the instruction counts of
//! `incident_core::batch::step_batch` and `_native::lanes::Batch::step` compare the two without
//! the noise of a shared machine (see BENCHMARKS.md).

use std::num::NonZeroUsize;
use std::time::Instant;

use _native::lanes::{Batch, EPISODE_FIELDS, Lanes};
use incident_core::batch::{BatchOut, EpisodeStats, TaskChoice, step_batch};
use incident_core::{ACTION_COUNT, Env, OBS_LEN};

/// Environments in the batch.
const ENVS: usize = 4096;
/// Distinct action rows (cycled).
const ROWS: usize = 64;

/// The binding's output buffers.
struct Buffers {
    finals: Vec<u8>,
    rewards: Vec<f32>,
    flags: Vec<bool>,
    episode: Vec<f32>,
    lengths: Vec<i32>,
    times: Vec<f64>,
}

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
    let mut buffers = Buffers {
        finals: vec![0; ENVS * OBS_LEN],
        rewards: vec![0.0; ENVS],
        flags: vec![false; 3 * ENVS],
        episode: vec![0.0; EPISODE_FIELDS.len() * ENVS],
        lengths: vec![0; ENVS],
        times: vec![0.0; ENVS],
    };
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
        let out = lanes_of(&mut obs, &mut buffers);
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

/// Borrow the buffers as the binding's output slices.
fn lanes_of<'a>(obs: &'a mut [u8], buffers: &'a mut Buffers) -> Lanes<'a> {
    let (terminated, rest) = buffers.flags.split_at_mut(ENVS);
    let (truncated, ended) = rest.split_at_mut(ENVS);
    let mut rows = buffers.episode.chunks_exact_mut(ENVS);
    Lanes {
        observations: obs,
        final_observations: &mut buffers.finals,
        rewards: &mut buffers.rewards,
        terminated,
        truncated,
        ended,
        episode: std::array::from_fn(|_| rows.next().unwrap_or_default()),
        lengths: &mut buffers.lengths,
        times: &mut buffers.times,
    }
}
