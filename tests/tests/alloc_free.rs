//! Zero heap allocations on the step path: a counting global allocator wraps the system
//! allocator, and stepping many environments through every core entry point the hot path
//! and the host use must leave its allocation count unchanged.
//!
//! This binary holds a single test so that no other test thread allocates while the
//! counter is read.

use std::alloc::System;
use std::hint::black_box;

use incident_core::baseline::{self, Shown};
use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};
use incident_core::record::Lists;
use incident_core::scenario::{Scenario, Split, Tier};
use incident_core::{ACTION_COUNT, Action, Env, OBS_LEN, Outcome, TaskId, obs, oracle, text};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Environments stepped one at a time.
const SINGLE_ENVS: usize = 64;
/// Environments of the batch.
const BATCH: usize = 512;
/// Counted rounds.
const ROUNDS: usize = 20;
/// Steps per environment and round.
const STEPS: usize = 10;

/// A tiny deterministic generator of action indices (including out-of-range ones).
struct Indices(u64);

impl Indices {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % (ACTION_COUNT as u64 + 5)) as u8
    }
}

#[test]
fn stepping_allocates_nothing() {
    // Goal: Env::step, step_index, step_batch, obs::encode, Env::grade, baseline::choose,
    // Lists::of, text::log_events, the generator and the oracle never touch the heap, over
    // many episodes of every task and generated tier (auto-resets included). Every buffer
    // is allocated before the counted region.
    let mut envs: Vec<Env> = (0..SINGLE_ENVS)
        .map(|i| Env::new(TaskId::ALL[i % 4], i as i64, i as u64))
        .collect();
    let mut batch_envs: Vec<Env> = (0..BATCH as u64)
        .map(|i| Env::for_batch(5, i, TaskChoice::Uniform))
        .collect();
    let mut actions = vec![0u8; BATCH];
    let mut observations = vec![0u8; BATCH * OBS_LEN];
    let mut rewards = vec![0; BATCH];
    let mut dones = vec![false; BATCH];
    let mut stats = EpisodeStats::default();
    let mut observation = [0u8; OBS_LEN];
    let mut indices = Indices(0x9E37_79B9_7F4A_7C15);
    let mut checksum = 0i64;

    let mut dirty_rounds = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let region = Region::new(GLOBAL);
        for step in 0..STEPS {
            for (i, env) in envs.iter_mut().enumerate() {
                let result = if step % 3 == 0 {
                    // The baseline policy on the fresh snapshot and on the last step's text.
                    let shown = if i % 2 == 0 {
                        Shown::Snapshot
                    } else {
                        Shown::LastStep {
                            outcome: env.last_outcome(),
                            unknown: "",
                        }
                    };
                    env.step(baseline::choose(env, shown).action)
                } else if step % 3 == 1 {
                    env.step_index(indices.next())
                } else {
                    let index = indices.next();
                    env.step(Action::from_index(index).unwrap_or_else(Action::list_services))
                };
                checksum += i64::from(result.reward_milli);
                if let Outcome::LogsRead { service, mode } = result.outcome {
                    let events = text::log_events(env.seed(), service, mode, env.step_count());
                    checksum += events.len() as i64;
                }
                obs::encode(env, &mut observation);
                let grade = env.grade();
                let lists = Lists::of(env);
                checksum += i64::from(grade.score) + i64::from(observation[49]);
                black_box(&lists);
                black_box(oracle::choose(env));
                if env.is_done() {
                    let generated =
                        TaskChoice::Generated(Tier::EVERY[i % 8], Split::ALL[i / 8 % 2]);
                    env.auto_reset([TaskChoice::Cycle, generated][i % 2]);
                }
            }
            for action in actions.iter_mut() {
                *action = indices.next();
            }
            black_box(Scenario::generated(step as u64, Tier::Expert, Split::Test));
            let choice = [
                TaskChoice::Uniform,
                TaskChoice::Generated(Tier::Hard, Split::Test),
            ];
            let out = BatchOut {
                observations: &mut observations,
                rewards_milli: &mut rewards,
                dones: &mut dones,
            };
            batch::step_batch(
                &mut batch_envs,
                &actions,
                out,
                choice[round % 2],
                &mut stats,
            )
            .expect("lengths agree");
        }
        let change = region.change();
        if change.allocations + change.reallocations != 0 {
            dirty_rounds.push((round, change));
        }
    }
    black_box(checksum);

    assert!(stats.episodes > BATCH as u64, "the batch ran many episodes");
    // Every round exercises every entry point (thousands of steps, every outcome), so an
    // allocating step path shows up in every round. The counter is global and the test
    // harness's own thread may allocate now and then while a round runs (a few
    // allocations in one round of a slow run), so a few dirty rounds are tolerated.
    println!("rounds with allocations: {dirty_rounds:?}");
    assert!(
        dirty_rounds.len() <= ROUNDS / 4,
        "the step path allocated in {} of {ROUNDS} rounds: {dirty_rounds:?}",
        dirty_rounds.len()
    );
}
