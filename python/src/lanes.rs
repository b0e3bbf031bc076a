//! The batch step over numpy-owned buffers: plain Rust, no Python objects, so it runs with
//! the GIL released and splits across a persistent thread pool over disjoint chunks.
//!
//! The hot path is the core's own batch step ([`incident_core::batch::step_batch_with`]),
//! with an episode-end hook that stages what Gymnasium's `SAME_STEP` autoreset needs and
//! auto-reset is about to replace: the observation that ended each episode and that
//! episode's grade, return and length. The hook writes them to a small chunk-local list
//! that stays in cache; they are written out to their rows of the numpy arrays after the
//! loop, where the cache misses of those scattered rows do not stall the step loop.
//! Everything else is work for the finished environments only, plus one pass turning the
//! core's integer rewards into floats.

use std::num::NonZeroUsize;
use std::time::Instant;

use incident_core::batch::{self, BatchOut, EpisodeEnd, LengthMismatch, TaskChoice};
use incident_core::obs::Observation;
use incident_core::{Env, Milli, OBS_LEN, obs};
use rayon::{ThreadPool, ThreadPoolBuildError, ThreadPoolBuilder};

use crate::constants::MIN_ENVS_PER_THREAD;

/// Per-episode statistics written at episode end, one row each (see [`Lanes::episode`]).
pub const EPISODE_FIELDS: [&str; 6] = [
    "r",
    "score",
    "root_cause_identification",
    "resolution",
    "efficiency",
    "safety",
];

/// The output slices of a run of environments, all indexed by the environment's position.
#[derive(Debug)]
pub struct Lanes<'a> {
    /// `len * OBS_LEN` bytes: the observation after the step (a new episode's first one
    /// where an episode ended).
    pub observations: &'a mut [u8],
    /// `len * OBS_LEN` bytes: the last observation of the episode that ended (rows of
    /// environments whose episode went on are left as they were).
    pub final_observations: &'a mut [u8],
    /// The step's reward (thousandths divided once).
    pub rewards: &'a mut [f32],
    /// The episode ended resolved.
    pub terminated: &'a mut [bool],
    /// The episode ended with its step budget exhausted, unresolved.
    pub truncated: &'a mut [bool],
    /// `terminated | truncated`: the mask of every episode-end field.
    pub ended: &'a mut [bool],
    /// One slice per [`EPISODE_FIELDS`] entry: the ended episode's return and its grade
    /// (score and four parts); entries where no episode ended keep older values.
    pub episode: [&'a mut [f32]; EPISODE_FIELDS.len()],
    /// The ended episode's length in steps; entries where no episode ended keep older
    /// values.
    pub lengths: &'a mut [i32],
    /// The ended episode's wall-clock seconds, rounded to microseconds, from the reset or
    /// step call that began it to the step call that ended it (`RecordEpisodeStatistics`'
    /// `"t"`); entries where no episode ended keep older values.
    pub times: &'a mut [f64],
}

impl<'a> Lanes<'a> {
    /// Return the number of environments the slices cover.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Return whether the slices cover no environment.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Borrow the same slices again, for a step that leaves them usable afterwards.
    fn reborrow(&mut self) -> Lanes<'_> {
        let [e0, e1, e2, e3, e4, e5] = &mut self.episode;
        Lanes {
            observations: self.observations,
            final_observations: self.final_observations,
            rewards: self.rewards,
            terminated: self.terminated,
            truncated: self.truncated,
            ended: self.ended,
            episode: [e0, e1, e2, e3, e4, e5],
            lengths: self.lengths,
            times: self.times,
        }
    }

    /// Return whether every slice covers `n` environments.
    fn covers(&self, n: usize) -> bool {
        let rows = [
            self.rewards.len(),
            self.terminated.len(),
            self.truncated.len(),
            self.ended.len(),
            self.lengths.len(),
            self.times.len(),
        ];
        self.observations.len() == n * OBS_LEN
            && self.final_observations.len() == n * OBS_LEN
            && rows.into_iter().all(|len| len == n)
            && self.episode.iter().all(|row| row.len() == n)
    }

    /// Split into the first `mid` environments and the rest.
    fn split_at(self, mid: usize) -> (Lanes<'a>, Lanes<'a>) {
        let (obs_a, obs_b) = self.observations.split_at_mut(mid * OBS_LEN);
        let (fin_a, fin_b) = self.final_observations.split_at_mut(mid * OBS_LEN);
        let (rew_a, rew_b) = self.rewards.split_at_mut(mid);
        let (term_a, term_b) = self.terminated.split_at_mut(mid);
        let (trunc_a, trunc_b) = self.truncated.split_at_mut(mid);
        let (end_a, end_b) = self.ended.split_at_mut(mid);
        let (len_a, len_b) = self.lengths.split_at_mut(mid);
        let (time_a, time_b) = self.times.split_at_mut(mid);
        let [e0, e1, e2, e3, e4, e5] = self.episode.map(|row| row.split_at_mut(mid));
        let head = Lanes {
            observations: obs_a,
            final_observations: fin_a,
            rewards: rew_a,
            terminated: term_a,
            truncated: trunc_a,
            ended: end_a,
            episode: [e0.0, e1.0, e2.0, e3.0, e4.0, e5.0],
            lengths: len_a,
            times: time_a,
        };
        let tail = Lanes {
            observations: obs_b,
            final_observations: fin_b,
            rewards: rew_b,
            terminated: term_b,
            truncated: trunc_b,
            ended: end_b,
            episode: [e0.1, e1.1, e2.1, e3.1, e4.1, e5.1],
            lengths: len_b,
            times: time_b,
        };
        (head, tail)
    }
}

/// Rust-owned buffers for `n` environments, for callers without numpy (tests, the
/// `lanes_speed` example); [`OwnedLanes::lanes`] borrows them as [`Lanes`].
#[derive(Clone, Debug)]
pub struct OwnedLanes {
    /// Observations, `n * OBS_LEN` bytes.
    pub obs: Vec<u8>,
    /// Final observations, `n * OBS_LEN` bytes.
    pub finals: Vec<u8>,
    /// Rewards.
    pub rewards: Vec<f32>,
    /// Rows terminated, truncated, ended, `n` each.
    pub flags: Vec<bool>,
    /// One row of `n` per [`EPISODE_FIELDS`] entry.
    pub episode: Vec<f32>,
    /// Episode lengths.
    pub lengths: Vec<i32>,
    /// Episode times (start at -1, "never written").
    pub times: Vec<f64>,
}

impl OwnedLanes {
    /// Zeroed buffers for `n` environments.
    #[must_use]
    pub fn new(n: usize) -> OwnedLanes {
        OwnedLanes {
            obs: vec![0; n * OBS_LEN],
            finals: vec![0; n * OBS_LEN],
            rewards: vec![0.0; n],
            flags: vec![false; 3 * n],
            episode: vec![0.0; EPISODE_FIELDS.len() * n],
            lengths: vec![0; n],
            times: vec![-1.0; n],
        }
    }

    /// Borrow the buffers as the output slices of a step.
    pub fn lanes(&mut self) -> Lanes<'_> {
        let n = self.rewards.len();
        let (terminated, rest) = self.flags.split_at_mut(n);
        let (truncated, ended) = rest.split_at_mut(n);
        let mut rows = self.episode.chunks_exact_mut(n.max(1));
        Lanes {
            observations: &mut self.obs,
            final_observations: &mut self.finals,
            rewards: &mut self.rewards,
            terminated,
            truncated,
            ended,
            episode: std::array::from_fn(|_| rows.next().unwrap_or_default()),
            lengths: &mut self.lengths,
            times: &mut self.times,
        }
    }
}

/// An environment saved by `Batch::hold`: its position, state and episode start time.
#[derive(Debug)]
pub struct Held {
    index: usize,
    env: Env,
    start: f64,
}

/// A batch of environments with what the binding keeps between steps: the core's integer
/// rewards, each episode's start time, the environments each chunk ended last step, and
/// the persistent worker threads.
///
/// The environments are cut into contiguous chunks of at least [`MIN_ENVS_PER_THREAD`],
/// one per thread, fixed at creation; each chunk's results depend on its environments
/// only, so nothing depends on the thread count.
#[derive(Debug)]
pub struct Batch {
    /// The environments (environment `i` writes row `i` of every output).
    pub envs: Vec<Env>,
    /// The task choice of every auto-reset.
    pub tasks: TaskChoice,
    /// The last step's rewards in thousandths, as the core writes them.
    rewards_milli: Vec<Milli>,
    /// When each environment's episode began, seconds since `origin`.
    starts: Vec<f64>,
    /// Per chunk, what its last step staged of each episode it ended.
    chunks: Vec<Vec<Ended>>,
    /// Environments per chunk (the last chunk may have fewer).
    per_chunk: usize,
    /// The workers of every chunk but the last (which the calling thread steps); `None`
    /// with one chunk.
    pool: Option<ThreadPool>,
    /// The clock's zero.
    origin: Instant,
}

impl Batch {
    /// Wrap `envs` to step with `tasks` on up to `threads` threads (one pool of persistent
    /// workers, created here, for more than one chunk).
    ///
    /// # Errors
    /// The operating system refused the worker threads.
    pub fn new(
        envs: Vec<Env>,
        tasks: TaskChoice,
        threads: NonZeroUsize,
    ) -> Result<Batch, ThreadPoolBuildError> {
        let n = envs.len();
        let chunks = threads.get().min(n / MIN_ENVS_PER_THREAD).max(1);
        let per_chunk = n.div_ceil(chunks).max(1);
        let pool = match chunks {
            1 => None,
            _ => Some(
                ThreadPoolBuilder::new()
                    .num_threads(chunks - 1)
                    .thread_name(|i| format!("incident-env-{i}"))
                    .build()?,
            ),
        };
        Ok(Batch {
            rewards_milli: vec![0; n],
            starts: vec![0.0; n],
            chunks: (0..n.div_ceil(per_chunk))
                .map(|_| Vec::with_capacity(per_chunk))
                .collect(),
            envs,
            tasks,
            per_chunk,
            pool,
            origin: Instant::now(),
        })
    }

    /// Return the number of worker threads a step uses besides the calling one.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.pool
            .as_ref()
            .map_or(0, ThreadPool::current_num_threads)
    }

    /// Mark the episodes of the environments where `restarted` is true (all with `None`)
    /// as beginning now, for their episode time.
    pub fn restart_clock(&mut self, restarted: Option<&[bool]>) {
        let now = self.origin.elapsed().as_secs_f64();
        for (i, start) in self.starts.iter_mut().enumerate() {
            if restarted.is_none_or(|mask| mask.get(i) == Some(&true)) {
                *start = now;
            }
        }
    }

    /// Step as [`Batch::step`], except that the environments where `held` is true (one
    /// entry per environment) keep their state and show reward 0 and neither flag: the
    /// step after their episode ended, under Gymnasium's `NEXT_STEP` autoreset.
    ///
    /// # Errors
    /// As [`Batch::step`], and also for a `held` of the wrong length (nothing changes).
    pub fn step_holding(
        &mut self,
        actions: &[u8],
        held: &[bool],
        mut lanes: Lanes<'_>,
    ) -> Result<usize, LengthMismatch> {
        if held.len() != self.envs.len() {
            return Err(LengthMismatch {
                envs: self.envs.len(),
                actions: held.len(),
            });
        }
        let saved = self.hold(held);
        let ended = self.step(actions, lanes.reborrow())?;
        Ok(ended - self.restore(saved, &mut lanes))
    }

    /// Save the environments where `held` is true (and their episode clocks), for
    /// [`Batch::restore`] after a step: Gymnasium's `NEXT_STEP` autoreset, where an
    /// environment whose episode ended last step ignores this step's action.
    fn hold(&self, held: &[bool]) -> Vec<Held> {
        held.iter()
            .zip(self.envs.iter().zip(&self.starts))
            .enumerate()
            .filter(|&(_, (&held, _))| held)
            .map(|(index, (_, (env, &start)))| Held {
                index,
                env: env.clone(),
                start,
            })
            .collect()
    }

    /// Put the saved environments back and make their row of `lanes` what an unstepped,
    /// just-reset environment shows: its observation, reward 0, neither flag. Return how
    /// many of them had ended an episode in the step (to subtract from its count).
    fn restore(&mut self, saved: Vec<Held>, lanes: &mut Lanes<'_>) -> usize {
        let mut ended = 0;
        for Held { index, env, start } in saved {
            let i = index;
            ended += usize::from(lanes.ended[i]);
            obs::encode(&env, row(lanes.observations, i));
            (lanes.rewards[i], self.rewards_milli[i]) = (0.0, 0);
            (lanes.terminated[i], lanes.truncated[i], lanes.ended[i]) = (false, false, false);
            (self.envs[i], self.starts[i]) = (env, start);
        }
        ended
    }

    /// Step `envs[i]` with `actions[i]` and write every output of `lanes`; return how many
    /// episodes ended.
    ///
    /// # Errors
    /// Returns [`LengthMismatch`] (and changes nothing) if `actions` or a slice of `lanes`
    /// does not have one entry (observation rows: `OBS_LEN` bytes) per environment.
    pub fn step(&mut self, actions: &[u8], lanes: Lanes<'_>) -> Result<usize, LengthMismatch> {
        // (Each chunk's list holds at most its environments: no reallocation.)
        let n = self.envs.len();
        if actions.len() != n || !lanes.covers(n) {
            return Err(LengthMismatch {
                envs: n,
                actions: actions.len(),
            });
        }
        let Batch {
            envs,
            tasks,
            rewards_milli,
            starts,
            chunks,
            per_chunk,
            pool,
            origin,
        } = self;
        let (tasks, per_chunk, origin) = (*tasks, *per_chunk, *origin);
        let mut parts = Vec::with_capacity(chunks.len());
        let (mut envs, mut actions, mut lanes) = (envs.as_mut_slice(), actions, lanes);
        let (mut rewards, mut starts) = (rewards_milli.as_mut_slice(), starts.as_mut_slice());
        for ended in chunks.iter_mut() {
            let mid = per_chunk.min(envs.len());
            let (env_head, env_tail) = envs.split_at_mut(mid);
            let (act_head, act_tail) = actions.split_at(mid);
            let (lane_head, lane_tail) = lanes.split_at(mid);
            let (rew_head, rew_tail) = rewards.split_at_mut(mid);
            let (start_head, start_tail) = starts.split_at_mut(mid);
            parts.push(Part {
                envs: env_head,
                actions: act_head,
                lanes: lane_head,
                rewards_milli: rew_head,
                starts: start_head,
                ended,
            });
            (envs, actions, lanes) = (env_tail, act_tail, lane_tail);
            (rewards, starts) = (rew_tail, start_tail);
        }
        let Some(own) = parts.pop() else {
            return Ok(0);
        };
        match pool {
            Some(pool) => pool.in_place_scope(|scope| {
                for part in parts {
                    scope.spawn(move |_| part.step(tasks, origin));
                }
                own.step(tasks, origin);
            }),
            None => own.step(tasks, origin),
        }
        Ok(chunks.iter().map(Vec::len).sum())
    }
}

/// One chunk of a [`Batch`] step: its environments, actions, outputs and state.
struct Part<'a> {
    envs: &'a mut [Env],
    actions: &'a [u8],
    lanes: Lanes<'a>,
    rewards_milli: &'a mut [Milli],
    starts: &'a mut [f64],
    ended: &'a mut Vec<Ended>,
}

impl Part<'_> {
    /// Step the chunk: clear the flags of the episodes the last step ended, run the core's
    /// batch step with the [`Stage`] hook, turn the rewards into floats, then write out
    /// what was staged of the episodes that ended.
    fn step(self, tasks: TaskChoice, origin: Instant) {
        let Part {
            envs,
            actions,
            mut lanes,
            rewards_milli,
            starts,
            ended,
        } = self;
        for old in ended.iter() {
            let i = old.index as usize;
            (lanes.terminated[i], lanes.truncated[i]) = (false, false);
        }
        ended.clear();
        let out = BatchOut {
            observations: &mut *lanes.observations,
            rewards_milli: &mut *rewards_milli,
            dones: &mut *lanes.ended,
        };
        // Batch::step checked every length, so the core refuses nothing.
        let stepped = batch::step_batch_with(envs, actions, out, tasks, &mut Stage(ended));
        debug_assert!(stepped.is_ok());
        for (reward, &value) in lanes.rewards.iter_mut().zip(rewards_milli.iter()) {
            *reward = milli(value);
        }
        let now = origin.elapsed().as_secs_f64();
        for staged in ended.iter() {
            staged.write(&mut lanes, starts, now);
        }
    }
}

/// What the episode-end hook stages of one ended episode.
#[derive(Clone, Copy, Debug)]
struct Ended {
    /// The environment's (chunk-relative) index.
    index: u32,
    /// The episode ended resolved (terminated), else truncated.
    resolved: bool,
    /// Its length in steps.
    length: i32,
    /// Its [`EPISODE_FIELDS`].
    stats: [f32; EPISODE_FIELDS.len()],
    /// Its last observation.
    last: Observation,
}

impl Ended {
    /// Write this episode's row of every episode-end output; time it from `starts` to
    /// `now` and start the next one at `now`.
    fn write(&self, lanes: &mut Lanes<'_>, starts: &mut [f64], now: f64) {
        let i = self.index as usize;
        (lanes.terminated[i], lanes.truncated[i]) = (self.resolved, !self.resolved);
        row(lanes.final_observations, i).copy_from_slice(&self.last);
        for (field, &value) in lanes.episode.iter_mut().zip(&self.stats) {
            field[i] = value;
        }
        lanes.lengths[i] = self.length;
        lanes.times[i] = ((now - starts[i]) * 1e6).round() / 1e6;
        starts[i] = now;
    }
}

/// The episode-end hook of a chunk: stages each ended episode in the chunk's list.
struct Stage<'a>(&'a mut Vec<Ended>);

impl EpisodeEnd for Stage<'_> {
    fn episode_end(&mut self, index: usize, env: &Env, reward_milli: Milli) {
        let mut last = [0; OBS_LEN];
        obs::encode(env, &mut last);
        self.0.push(Ended {
            // Chunks hold at most NUM_ENVS_MAX environments, which fit a u32 (asserted in
            // crate::constants).
            index: index as u32,
            resolved: env.is_resolved(),
            length: i32::from(env.step_count()),
            stats: episode_stats(env, reward_milli),
            last,
        });
    }
}

/// Return the [`EPISODE_FIELDS`] of the episode `env` just ended with a step that emitted
/// `last_milli`. The return is the sum of the emitted rewards: the history's, except the
/// last step's, which the terminal step replaces with the floor.
fn episode_stats(env: &Env, last_milli: i32) -> [f32; EPISODE_FIELDS.len()] {
    let history = env.history();
    let before_last = &history[..history.len().saturating_sub(1)];
    let total = last_milli
        + before_last
            .iter()
            .map(|record| i32::from(record.reward_milli))
            .sum::<i32>();
    let grade = env.final_grade().unwrap_or_else(|| env.grade());
    [
        milli(total),
        milli(grade.score.into()),
        milli(grade.root_cause_identification.into()),
        milli(grade.resolution.into()),
        milli(grade.efficiency.into()),
        milli(grade.safety.into()),
    ]
}

/// Convert thousandths to the float Python sees (the HTTP layer's double, as `f32`).
fn milli(value: i32) -> f32 {
    incident_core::constants::milli_to_f64(value) as f32
}

/// Return observation row `i` of a flat `n * OBS_LEN` buffer.
fn row(buffer: &mut [u8], i: usize) -> &mut Observation {
    let start = i * OBS_LEN;
    // The caller's buffers hold OBS_LEN bytes per environment (checked once per call).
    (&mut buffer[start..start + OBS_LEN])
        .try_into()
        .expect("OBS_LEN bytes per environment")
}

#[cfg(test)]
mod tests {
    use super::*;
    use incident_core::ACTION_COUNT;
    use incident_core::batch::EpisodeStats;

    #[test]
    fn lanes_agree_with_the_core_batch_step_on_any_thread_count() {
        // Goal: the binding's step is the core's `step_batch` (observations, rewards, done
        // flags, auto-reset), plus episode-end fields, identically on 1, 2 and 3 threads
        // (persistent pools of 0, 1 and 2 workers), for the original tasks and a
        // generated tier.
        agree(TaskChoice::Uniform);
        agree(TaskChoice::Generated(
            incident_core::Tier::Hard,
            incident_core::Split::Test,
        ));
    }

    fn agree(tasks: TaskChoice) {
        let n = 3 * MIN_ENVS_PER_THREAD + 7;
        let make = || -> Vec<Env> { (0..n as u64).map(|i| Env::for_batch(9, i, tasks)).collect() };
        let mut reference = make();
        let mut batches: Vec<Batch> = (1..=3)
            .map(|t| Batch::new(make(), tasks, NonZeroUsize::new(t).unwrap()).unwrap())
            .collect();
        assert_eq!(
            batches.iter().map(Batch::workers).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let mut buffers: Vec<OwnedLanes> = (0..3).map(|_| OwnedLanes::new(n)).collect();
        let (mut obs, mut rewards, mut dones) = (vec![0; n * OBS_LEN], vec![0; n], vec![false; n]);
        let mut stats = EpisodeStats::default();
        let (mut ended_total, mut length_total, mut resolved_total) = (0, 0, 0);
        let mut returns = vec![0; n];
        for step_no in 0..40usize {
            let actions: Vec<u8> = (0..n)
                .map(|i| ((i * 31 + step_no * 17) % (ACTION_COUNT + 3)) as u8)
                .collect();
            let out = BatchOut {
                observations: &mut obs,
                rewards_milli: &mut rewards,
                dones: &mut dones,
            };
            batch::step_batch(&mut reference, &actions, out, tasks, &mut stats).unwrap();
            let ended: Vec<usize> = batches
                .iter_mut()
                .zip(&mut buffers)
                .map(|(batch, b)| batch.step(&actions, b.lanes()).unwrap())
                .collect();
            assert_eq!(ended, [ended[0]; 3]);
            assert_eq!(ended[0], dones.iter().filter(|&&d| d).count());
            ended_total += ended[0];
            let b1 = &buffers[0];
            assert_eq!(b1.obs, obs);
            assert_eq!(&b1.flags[2 * n..], &dones[..]);
            for (i, &done) in dones.iter().enumerate() {
                let (term, trunc) = (b1.flags[i], b1.flags[n + i]);
                assert_eq!(term || trunc, done, "terminated | truncated of env {i}");
                assert!(!(term && trunc));
                resolved_total += u64::from(term);
                if done {
                    assert!(b1.times[i] >= 0.0, "episode time of env {i}");
                }
            }
            for other in &buffers[1..] {
                assert_eq!(other.obs, b1.obs);
                assert_eq!(other.finals, b1.finals);
                assert_eq!(other.flags, b1.flags);
                assert_eq!(other.episode, b1.episode);
                assert_eq!(other.lengths, b1.lengths);
                assert_eq!(other.rewards, b1.rewards);
            }
            let expected: Vec<f32> = rewards.iter().map(|&r| milli(r)).collect();
            assert_eq!(b1.rewards, expected);
            for i in 0..n {
                returns[i] += rewards[i];
                if dones[i] {
                    assert_eq!(b1.episode[i], milli(returns[i]), "return of env {i}");
                    returns[i] = 0;
                }
            }
            length_total += (0..n)
                .filter(|&i| dones[i])
                .map(|i| i64::from(b1.lengths[i]))
                .sum::<i64>();
        }
        for batch in &batches {
            assert_eq!(batch.envs, reference);
        }
        assert_eq!(ended_total as u64, stats.episodes);
        assert_eq!(length_total as u64, stats.length_sum);
        assert_eq!(resolved_total, stats.resolved);
    }

    #[test]
    fn a_step_with_wrong_lengths_changes_nothing() {
        // Goal: actions or outputs of the wrong length are refused before any step.
        let tasks = TaskChoice::Uniform;
        let envs: Vec<Env> = (0..4).map(|i| Env::for_batch(1, i, tasks)).collect();
        let mut batch = Batch::new(envs.clone(), tasks, NonZeroUsize::MIN).unwrap();
        let mut short = OwnedLanes::new(3);
        assert!(batch.step(&[0; 4], short.lanes()).is_err());
        let mut right = OwnedLanes::new(4);
        assert!(batch.step(&[0; 3], right.lanes()).is_err());
        assert_eq!(batch.envs, envs);
        assert_eq!(right.times, [-1.0; 4]);
    }

    #[test]
    fn held_environments_ignore_their_action_and_keep_their_state() {
        // Goal: a step holding environments 1 and 3 steps 0 and 2 as a plain step does,
        // leaves 1 and 3 exactly as they were (state, observation row), shows them reward 0
        // and neither flag, and refuses a held mask of the wrong length.
        let tasks = TaskChoice::Uniform;
        let envs: Vec<Env> = (0..4).map(|i| Env::for_batch(5, i, tasks)).collect();
        let mut plain = Batch::new(envs.clone(), tasks, NonZeroUsize::MIN).unwrap();
        let mut held = Batch::new(envs.clone(), tasks, NonZeroUsize::MIN).unwrap();
        let (mut a, mut b) = (OwnedLanes::new(4), OwnedLanes::new(4));
        let mask = [false, true, false, true];
        assert!(held.step_holding(&[1; 4], &mask[..3], b.lanes()).is_err());
        plain.step(&[1; 4], a.lanes()).unwrap();
        held.step_holding(&[1; 4], &mask, b.lanes()).unwrap();
        let mut before = vec![0; 4 * OBS_LEN];
        batch::observe_batch(&envs, &mut before).unwrap();
        for i in 0..4 {
            let rows = i * OBS_LEN..(i + 1) * OBS_LEN;
            if mask[i] {
                assert_eq!(held.envs[i], envs[i], "held env {i}");
                assert_eq!(b.obs[rows.clone()], before[rows]);
                assert_eq!(
                    (b.rewards[i], b.flags[i], b.flags[4 + i]),
                    (0.0, false, false)
                );
            } else {
                assert_eq!(held.envs[i], plain.envs[i], "stepped env {i}");
                assert_eq!(b.obs[rows.clone()], a.obs[rows]);
                assert_eq!(b.rewards[i], a.rewards[i]);
            }
        }
        assert_ne!(plain.envs[1], envs[1], "the plain step changed env 1");
    }
}
