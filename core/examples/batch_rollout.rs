//! Step a batch of environments with a uniformly random policy and print episode statistics:
//! the in-process RL loop in a dozen lines.
//!
//! `cargo run --release -p incident-core --example batch_rollout -- [ENVS] [STEPS]`

use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};
use incident_core::{ACTION_COUNT, Env, OBS_LEN};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let envs_count = args.next().and_then(Result::ok).unwrap_or(1024);
    let steps = args.next().and_then(Result::ok).unwrap_or(1000);
    let mut envs: Vec<Env> = (0..envs_count as u64)
        .map(|index| Env::for_batch(7, index, TaskChoice::Cycle))
        .collect();
    let mut observations = vec![0u8; envs_count * OBS_LEN];
    let mut rewards_milli = vec![0; envs_count];
    let mut dones = vec![false; envs_count];
    let mut actions = vec![0u8; envs_count];
    let mut stats = EpisodeStats::default();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..steps {
        for action in &mut actions {
            // xorshift64*: a stand-in for a policy's output.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            *action =
                ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % ACTION_COUNT as u64) as u8;
        }
        let out = BatchOut {
            observations: &mut observations,
            rewards_milli: &mut rewards_milli,
            dones: &mut dones,
        };
        batch::step_batch(&mut envs, &actions, out, TaskChoice::Cycle, &mut stats)
            .expect("buffers sized for the batch");
    }
    let episodes = stats.episodes.max(1) as f64;
    println!("{envs_count} environments x {steps} steps, random policy");
    println!("episodes finished   {}", stats.episodes);
    println!(
        "mean score          {:.3}",
        stats.score_milli_sum as f64 / 1000.0 / episodes
    );
    println!(
        "mean trajectory     {:.3}",
        stats.trajectory_milli_sum as f64 / 1000.0 / episodes
    );
    println!(
        "mean length         {:.2}",
        stats.length_sum as f64 / episodes
    );
    println!(
        "resolved            {:.2}%",
        100.0 * stats.resolved as f64 / episodes
    );
}
