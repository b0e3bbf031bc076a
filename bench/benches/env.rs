//! Criterion benches of the core: one step, reset, batch steps, observation encoding and
//! the grader; one step and one reset of generated incidents (`gen_hard`, train split). Every figure is per element (`Throughput::Elements`), so it reads as steps
//! (or encodings, grades) per second. Actions are pre-generated valid indices from a
//! seeded xorshift, so the figure is the environment's own cost.
//!
//! Run with `cargo bench -p incident-bench --bench env`.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use incident_bench::{ActionTape, Batch, random_actions};
use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};
use incident_core::scenario::{Scenario, Split, Tier};
use incident_core::task::TaskId;
use incident_core::{Env, OBS_LEN, obs};

/// Task choice of every auto-reset.
const TASKS: TaskChoice = TaskChoice::Uniform;
/// Length of the action script the single-env benches cycle through.
const SCRIPT_LEN: usize = 4096;

/// Return environments at varied points of their episodes (a few random steps in).
fn warmed_envs(n: usize) -> Vec<Env> {
    let actions = random_actions(3, n * 5);
    (0..n as u64)
        .map(|i| {
            let mut env = Env::for_batch(9, i, TASKS);
            for step in 0..(i as usize % 6) {
                if env.step_index(actions[i as usize * 5 + step % 5]).done {
                    env.auto_reset(TASKS);
                }
            }
            env
        })
        .collect()
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("env");
    group.throughput(Throughput::Elements(1));
    let script = random_actions(1, SCRIPT_LEN);
    let mut env = Env::new(TaskId::Hard, 1, 42);
    let mut next = 0;
    group.bench_function("step_index", |b| {
        b.iter(|| {
            let result = env.step_index(black_box(script[next % SCRIPT_LEN]));
            next += 1;
            if result.done {
                env.auto_reset(TASKS);
            }
            result.reward_milli
        });
    });
    let mut env = Env::new(TaskId::Hard, 1, 42);
    let mut seed = 0i64;
    group.bench_function("reset", |b| {
        b.iter(|| {
            seed += 1;
            env.reset(black_box(TaskId::ALL[seed as usize & 3]), black_box(seed));
        });
    });
    let generated = TaskChoice::Generated(Tier::Hard, Split::Train);
    let mut env = Env::for_batch(42, 0, generated);
    let mut next = 0;
    group.bench_function("step_index_gen_hard", |b| {
        b.iter(|| {
            let result = env.step_index(black_box(script[next % SCRIPT_LEN]));
            next += 1;
            if result.done {
                env.auto_reset(generated);
            }
            result.reward_milli
        });
    });
    let mut seed = 0u64;
    group.bench_function("reset_gen_hard", |b| {
        b.iter(|| {
            seed += 1;
            let scenario = Scenario::generated(black_box(seed), Tier::Hard, Split::Train);
            env.reset_scenario(scenario, seed as i64);
        });
    });
    let envs = warmed_envs(SCRIPT_LEN);
    let mut observation = [0u8; OBS_LEN];
    let mut next = 0;
    group.bench_function("obs_encode", |b| {
        b.iter(|| {
            obs::encode(black_box(&envs[next % SCRIPT_LEN]), &mut observation);
            next += 1;
            observation[0]
        });
    });
    let mut next = 0;
    group.bench_function("grade", |b| {
        b.iter(|| {
            let grade = black_box(&envs[next % SCRIPT_LEN]).grade();
            next += 1;
            grade
        });
    });
    group.finish();
}

fn step_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("step_batch");
    for n in [1usize, 64, 1024, 4096] {
        group.throughput(Throughput::Elements(n as u64));
        let tape = ActionTape::new(5, n);
        let mut batch = Batch::new(n, 42, TASKS);
        let mut stats = EpisodeStats::default();
        let mut step = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let out = BatchOut {
                    observations: &mut batch.observations,
                    rewards_milli: &mut batch.rewards_milli,
                    dones: &mut batch.dones,
                };
                let actions = tape.actions(step, 0, n);
                step += 1;
                batch::step_batch(&mut batch.envs, actions, out, TASKS, &mut stats)
            });
        });
        black_box(stats);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = step, step_batch
}
criterion_main!(benches);
