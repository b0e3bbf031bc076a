//! `step_parallel` gives the same environments, buffers and statistics whatever the thread
//! count, and the same as stepping the whole batch with `step_batch` on one thread.

use std::num::NonZeroUsize;

use incident_bench::{ActionTape, Batch, step_parallel};
use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};

fn threads(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("non-zero")
}

/// Run `rounds` calls of `steps_per_call` steps on `thread_count` threads.
fn run(n: usize, thread_count: usize, rounds: u64, steps_per_call: u64) -> (Batch, EpisodeStats) {
    let tape = ActionTape::new(11, n);
    let mut batch = Batch::new(n, 99, TaskChoice::Uniform);
    let mut stats = EpisodeStats::default();
    for round in 0..rounds {
        let part = step_parallel(
            &mut batch,
            &tape,
            round * steps_per_call,
            steps_per_call,
            TaskChoice::Uniform,
            threads(thread_count),
        );
        stats.merge(&part);
    }
    (batch, stats)
}

fn assert_same(a: &(Batch, EpisodeStats), b: &(Batch, EpisodeStats), what: &str) {
    assert_eq!(a.0.envs, b.0.envs, "{what}: environments");
    assert_eq!(a.0.observations, b.0.observations, "{what}: observations");
    assert_eq!(a.0.rewards_milli, b.0.rewards_milli, "{what}: rewards");
    assert_eq!(a.0.dones, b.0.dones, "{what}: dones");
    assert_eq!(a.1, b.1, "{what}: statistics");
}

#[test]
fn one_and_two_threads_agree() {
    // Goal: per-environment results are identical for 1 and 2 threads (and odd splits),
    // including episodes that auto-reset mid-run.
    let one = run(1000, 1, 3, 40);
    assert!(one.1.episodes > 1000, "the run crosses many episode ends");
    for count in [2, 3, 7] {
        assert_same(&one, &run(1000, count, 3, 40), &format!("{count} threads"));
    }
}

#[test]
fn more_threads_than_envs_and_split_calls_agree() {
    // Goal: tiny batches (more threads than environments) and a run split into several
    // calls match one long call.
    let reference = run(3, 1, 1, 120);
    assert_same(&reference, &run(3, 8, 1, 120), "8 threads, 3 envs");
    assert_same(&reference, &run(3, 2, 4, 30), "4 calls of 30 steps");
}

#[test]
fn parallel_matches_plain_step_batch() {
    // Goal: the helper is exactly `step_batch` over the whole batch, step after step.
    let n = 257;
    let tape = ActionTape::new(11, n);
    let mut plain = Batch::new(n, 99, TaskChoice::Cycle);
    let mut stats = EpisodeStats::default();
    for step in 0..50 {
        let out = BatchOut {
            observations: &mut plain.observations,
            rewards_milli: &mut plain.rewards_milli,
            dones: &mut plain.dones,
        };
        batch::step_batch(
            &mut plain.envs,
            tape.actions(step, 0, n),
            out,
            TaskChoice::Cycle,
            &mut stats,
        )
        .expect("lengths agree");
    }
    let mut parallel = Batch::new(n, 99, TaskChoice::Cycle);
    let parallel_stats = step_parallel(&mut parallel, &tape, 0, 50, TaskChoice::Cycle, threads(2));
    assert_same(&(plain, stats), &(parallel, parallel_stats), "step_batch");
}

#[test]
fn empty_batch_is_a_no_op() {
    // Goal: zero environments neither panic nor count anything.
    let mut batch = Batch::new(0, 1, TaskChoice::Uniform);
    let tape = ActionTape::new(1, 0);
    let stats = step_parallel(&mut batch, &tape, 0, 10, TaskChoice::Uniform, threads(2));
    assert_eq!(stats, EpisodeStats::default());
}
