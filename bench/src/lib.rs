//! Benchmarks and the throughput report of the incident environment.
//!
//! This crate holds what the benches, the `throughput` report and the tests share:
//!
//! - [`ActionTape`]: pre-generated valid action indices (a stand-in for a policy's output),
//!   addressed by `(step, env index)` so that the action an environment sees never depends
//!   on how the batch is split.
//! - [`Batch`]: a set of environments with their caller-owned flat output buffers.
//! - [`step_parallel`]: step a batch for many steps across threads with
//!   [`std::thread::scope`], one contiguous chunk per thread, no locks and no spawning on the
//!   hot path; the results are identical for every thread count.
//! - [`ws`]: what the WebSocket load tools `ws_load` and `ws_burst` share.

pub mod ws;

use std::num::NonZeroUsize;
use std::thread;

use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};
use incident_core::obs::{self, Observation};
use incident_core::{ACTION_COUNT, Env, Milli, OBS_LEN};

/// A seeded xorshift64* generator (tiny, deterministic, no dependencies).
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// Create a generator; a zero seed is replaced by a fixed non-zero constant.
    #[must_use]
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Return the next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Return a value in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: u32) -> u32 {
        ((u128::from(self.next_u64() >> 32) * u128::from(bound)) >> 32) as u32
    }
}

/// Return `len` valid action indices (uniform over `0..ACTION_COUNT`) from a seeded
/// xorshift.
#[must_use]
pub fn random_actions(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = XorShift::new(seed);
    (0..len)
        .map(|_| rng.below(ACTION_COUNT as u32) as u8)
        .collect()
}

/// Pre-generated action indices for a batch of up to `width` environments over any number
/// of steps.
///
/// The action of environment `i` at step `k` is `data[offset(k) + i]`: a window of the tape
/// that slides by a fixed stride each step, so a batch of `n` environments reads one
/// contiguous slice of `n` actions per step and the policy costs nothing but a slice. The
/// window depends only on `k`, so every chunking of the batch sees the same actions.
#[derive(Clone, Debug)]
pub struct ActionTape {
    data: Vec<u8>,
    width: usize,
    period: usize,
}

/// Distinct windows of a tape (the sliding offset repeats after this many steps).
const TAPE_PERIOD: usize = 4093;
/// How far the window slides per step (coprime with [`TAPE_PERIOD`]).
const TAPE_STRIDE: usize = 1021;

impl ActionTape {
    /// Create a tape for batches of up to `width` environments, filled from `seed`.
    #[must_use]
    pub fn new(seed: u64, width: usize) -> ActionTape {
        ActionTape {
            data: random_actions(seed, width + TAPE_PERIOD),
            width,
            period: TAPE_PERIOD,
        }
    }

    /// Return the number of environments the tape covers.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Return the actions of environments `start..start + len` at `step`.
    ///
    /// # Panics
    /// Panics if `start + len > self.width()`.
    #[must_use]
    pub fn actions(&self, step: u64, start: usize, len: usize) -> &[u8] {
        assert!(start + len <= self.width, "tape narrower than the batch");
        let offset = ((step % self.period as u64) as usize * TAPE_STRIDE) % self.period;
        &self.data[offset + start..offset + start + len]
    }
}

/// A batch of environments and the flat output buffers of its last step.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The environments.
    pub envs: Vec<Env>,
    /// `envs.len() * OBS_LEN` observation bytes.
    pub observations: Vec<u8>,
    /// One reward per environment, thousandths.
    pub rewards_milli: Vec<Milli>,
    /// One done flag per environment.
    pub dones: Vec<bool>,
}

impl Batch {
    /// Create `n` environments with [`Env::for_batch`] from `base_seed`, and zeroed buffers.
    #[must_use]
    pub fn new(n: usize, base_seed: u64, tasks: TaskChoice) -> Batch {
        Batch {
            envs: (0..n as u64)
                .map(|i| Env::for_batch(base_seed, i, tasks))
                .collect(),
            observations: vec![0; n * OBS_LEN],
            rewards_milli: vec![0; n],
            dones: vec![false; n],
        }
    }

    /// Return the number of environments.
    #[must_use]
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Return whether the batch is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }
}

/// Step every environment of `batch` for `steps` consecutive steps with the actions of
/// `tape`, on up to `threads` threads, auto-resetting finished episodes per `tasks`
/// (see [`incident_core::batch`]). Steps are numbered from `first_step`, which selects the
/// tape window; pass the number of steps already run to continue a run.
///
/// The batch is split into `threads` contiguous chunks (environments with their slices of
/// every output buffer). Each chunk is stepped `steps` times by one scoped thread that
/// owns it outright: no locks, no shared writes, no synchronisation until the end, and
/// one spawn per call rather than per step, so calls should cover many steps. The calling
/// thread works on the first chunk itself.
///
/// Every environment owns its randomness and reads its action from `(step, index)` alone,
/// so environments, buffers and the returned statistics are identical for every thread
/// count. Returns the statistics of the episodes finished during the call.
///
/// # Panics
/// Panics if the tape is narrower than the batch.
pub fn step_parallel(
    batch: &mut Batch,
    tape: &ActionTape,
    first_step: u64,
    steps: u64,
    tasks: TaskChoice,
    threads: NonZeroUsize,
) -> EpisodeStats {
    let n = batch.len();
    assert!(tape.width() >= n, "tape narrower than the batch");
    let chunk = n.div_ceil(threads.get()).max(1);
    let work = |start: usize,
                envs: &mut [Env],
                observations: &mut [u8],
                rewards: &mut [Milli],
                dones: &mut [bool]| {
        let mut stats = EpisodeStats::default();
        for step in first_step..first_step + steps {
            let actions = tape.actions(step, start, envs.len());
            let out = BatchOut {
                observations: &mut *observations,
                rewards_milli: &mut *rewards,
                dones: &mut *dones,
            };
            // Lengths agree by construction (chunks of the same size).
            let stepped = batch::step_batch(envs, actions, out, tasks, &mut stats);
            debug_assert!(stepped.is_ok());
        }
        stats
    };
    let mut chunks = batch
        .envs
        .chunks_mut(chunk)
        .zip(batch.observations.chunks_mut(chunk * OBS_LEN))
        .zip(batch.rewards_milli.chunks_mut(chunk))
        .zip(batch.dones.chunks_mut(chunk))
        .enumerate()
        .map(|(index, (((envs, obs), rewards), dones))| (index * chunk, envs, obs, rewards, dones));
    let Some((start0, envs0, obs0, rewards0, dones0)) = chunks.next() else {
        return EpisodeStats::default();
    };
    thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .map(|(start, envs, obs, rewards, dones)| {
                scope.spawn(move || work(start, envs, obs, rewards, dones))
            })
            .collect();
        let mut total = work(start0, envs0, obs0, rewards0, dones0);
        for handle in handles {
            let stats = handle.join().expect("a stepping thread panicked");
            total.merge(&stats);
        }
        total
    })
}

/// Step a single environment `steps` times with the actions of `tape` (column 0 of each
/// window), as `step_batch` does for a batch of one: step, auto-reset per `tasks` when the
/// episode ends, encode the observation into `observation`. Returns the sum of emitted
/// rewards (so the work cannot be optimised away).
pub fn step_single(
    env: &mut Env,
    tape: &ActionTape,
    steps: u64,
    tasks: TaskChoice,
    observation: &mut Observation,
) -> i64 {
    let mut sum = 0i64;
    for step in 0..steps {
        let result = env.step_index(tape.actions(step, 0, 1)[0]);
        sum += i64::from(result.reward_milli);
        if result.done {
            env.auto_reset(tasks);
        }
        obs::encode(env, observation);
    }
    sum
}

/// Return the number of threads the machine offers (at least 1).
#[must_use]
pub fn available_threads() -> NonZeroUsize {
    thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}
