//! Batch stepping: many environments, one call, caller-owned flat buffers (structure of
//! arrays), automatic reset.
//!
//! Semantics (as EnvPool and PufferLib): `step_batch` applies `actions[i]` to `envs[i]` and
//! writes `rewards_milli[i]` and `dones[i]` for that step. When the step ends the episode,
//! its statistics are added to [`EpisodeStats`], the environment is reset at once to a new
//! episode (task from [`TaskChoice`], seed drawn from the environment's own generator) and
//! `observations[i]` holds the **first observation of the new episode**; otherwise it holds
//! the observation after the step. Results never depend on how a batch is split across
//! calls or threads: each environment's randomness is its own.
//!
//! [`step_batch_with`] is the same step with an episode-end hook ([`EpisodeEnd`]): it is
//! called for each environment whose episode the step ended, before that environment
//! resets, so a caller can collect what auto-reset is about to replace (the last
//! observation, the grade, the length) for the finished environments only.

use crate::constants::OBS_LEN;
use crate::env::{Env, Milli};
use crate::obs::{self, Observation};
use crate::scenario::{Split, Tier};
use crate::task::{TASK_COUNT, TaskId};

/// How auto-reset picks the next episode's task or generated incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskChoice {
    /// Always this task.
    Fixed(TaskId),
    /// The task after the one that ended (easy, medium, hard, expert, easy ...).
    Cycle,
    /// Uniformly at random from the environment's generator.
    Uniform,
    /// Generated incidents of one tier and split: each episode's incident seed is drawn
    /// from the environment's generator (uniform over `0..2^32`), so a batch covers the
    /// split's incidents as Procgen's levels.
    Generated(Tier, Split),
}

impl TaskChoice {
    fn next(self, env: &mut Env) -> Option<TaskId> {
        match self {
            TaskChoice::Fixed(task) => Some(task),
            TaskChoice::Cycle => {
                let next = env.task_id().map_or(0, |task| task as usize + 1);
                Some(TaskId::ALL[next % TASK_COUNT])
            }
            TaskChoice::Uniform => Some(TaskId::ALL[env.next_below(TASK_COUNT as u32) as usize]),
            TaskChoice::Generated(..) => None,
        }
    }

    /// Reset `env` to its next episode: an original task, or a generated incident whose
    /// incident seed is also its episode seed.
    fn reset(self, env: &mut Env, first: Option<TaskId>) {
        let seed = env.next_seed();
        match (self, first) {
            (TaskChoice::Generated(tier, split), _) => {
                env.reset_generated(seed as u64, tier, split, seed);
            }
            (_, Some(task)) => env.reset(task, seed),
            (_, None) => env.reset(TaskId::Easy, seed),
        }
    }
}

/// Sums over finished episodes, plus their count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpisodeStats {
    /// Episodes finished.
    pub episodes: u64,
    /// Sum of final grader scores, thousandths.
    pub score_milli_sum: u64,
    /// Sum of trajectory rewards, thousandths.
    pub trajectory_milli_sum: i64,
    /// Sum of episode lengths in steps.
    pub length_sum: u64,
    /// Episodes that ended resolved.
    pub resolved: u64,
}

impl EpisodeStats {
    /// Add another set of sums (for merging per-thread statistics).
    pub fn merge(&mut self, other: &EpisodeStats) {
        self.episodes += other.episodes;
        self.score_milli_sum += other.score_milli_sum;
        self.trajectory_milli_sum += other.trajectory_milli_sum;
        self.length_sum += other.length_sum;
        self.resolved += other.resolved;
    }

    /// Add the episode `env` has just ended.
    fn record(&mut self, env: &Env) {
        self.episodes += 1;
        self.score_milli_sum += env.final_grade().map_or(0, |g| u64::from(g.score));
        self.trajectory_milli_sum += i64::from(env.trajectory_milli());
        self.length_sum += u64::from(env.step_count());
        self.resolved += u64::from(env.is_resolved());
    }
}

/// The episode-end hook of [`step_batch_with`]: what a batch step reports of each
/// episode it ends, before the environment auto-resets. [`EpisodeStats`] is one.
pub trait EpisodeEnd {
    /// Called once per ended episode, in increasing `index` order, after the step that
    /// ended it and before the auto-reset: `index` is the environment's position in the
    /// batch's slices, `env` is still in the ended episode (its last observation, final
    /// grade, history and length are readable), `reward_milli` is the reward the step
    /// emitted (already written to `rewards_milli[index]`).
    fn episode_end(&mut self, index: usize, env: &Env, reward_milli: Milli);
}

impl EpisodeEnd for EpisodeStats {
    fn episode_end(&mut self, _index: usize, env: &Env, _reward_milli: Milli) {
        self.record(env);
    }
}

/// The caller-owned output buffers of one batch step.
#[derive(Debug)]
pub struct BatchOut<'a> {
    /// `envs.len() * OBS_LEN` bytes; environment `i` at `i * OBS_LEN`.
    pub observations: &'a mut [u8],
    /// One emitted reward per environment, thousandths.
    pub rewards_milli: &'a mut [Milli],
    /// One done flag per environment (true on the step that ended an episode).
    pub dones: &'a mut [bool],
}

/// A batch call whose slices disagree in length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthMismatch {
    /// Number of environments.
    pub envs: usize,
    /// Number of actions given.
    pub actions: usize,
}

impl core::fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "batch buffers disagree: {} environments, {} actions; observations must hold \
             envs * {OBS_LEN} bytes and rewards/dones one entry per environment",
            self.envs, self.actions
        )
    }
}

impl core::error::Error for LengthMismatch {}

impl Env {
    /// Create environment `index` of a batch: its generator is seeded from
    /// `(base_seed, index)` and its first episode's task and seed come from it.
    #[must_use]
    pub fn for_batch(base_seed: u64, index: u64, tasks: TaskChoice) -> Env {
        let mut env = Env::new(TaskId::Easy, 0, crate::seed::stream_seed(base_seed, index));
        let task = match tasks {
            // Cycle starts each environment at its index so a batch covers every task.
            TaskChoice::Cycle => Some(TaskId::ALL[(index % TASK_COUNT as u64) as usize]),
            other => other.next(&mut env),
        };
        tasks.reset(&mut env, task);
        env
    }

    /// Reset to a new episode chosen by `tasks`, seeded from this environment's generator.
    pub fn auto_reset(&mut self, tasks: TaskChoice) {
        let task = tasks.next(self);
        tasks.reset(self, task);
    }
}

/// Write the current observation of every environment.
///
/// # Errors
/// Returns [`LengthMismatch`] if `observations` is not `envs.len() * OBS_LEN` bytes.
pub fn observe_batch(envs: &[Env], observations: &mut [u8]) -> Result<(), LengthMismatch> {
    if observations.len() != envs.len() * OBS_LEN {
        return Err(LengthMismatch {
            envs: envs.len(),
            actions: envs.len(),
        });
    }
    for (env, out) in envs.iter().zip(observations.chunks_exact_mut(OBS_LEN)) {
        obs::encode(env, as_observation(out));
    }
    Ok(())
}

/// Step every environment with its discrete action index (see the module docs), adding
/// every ended episode to `stats`. Indices `>= ACTION_COUNT` are answered as unknown
/// action types, never a panic.
///
/// # Errors
/// Returns [`LengthMismatch`] (and changes nothing) if the slices disagree in length.
pub fn step_batch(
    envs: &mut [Env],
    actions: &[u8],
    out: BatchOut<'_>,
    tasks: TaskChoice,
    stats: &mut EpisodeStats,
) -> Result<(), LengthMismatch> {
    step_batch_with(envs, actions, out, tasks, stats)
}

/// [`step_batch`] with any episode-end hook: `hook.episode_end(i, &envs[i], reward)` is
/// called for each environment whose episode the step ended, before it auto-resets.
///
/// # Errors
/// Returns [`LengthMismatch`] (and changes nothing, calls no hook) if the slices disagree
/// in length.
pub fn step_batch_with<H: EpisodeEnd + ?Sized>(
    envs: &mut [Env],
    actions: &[u8],
    out: BatchOut<'_>,
    tasks: TaskChoice,
    hook: &mut H,
) -> Result<(), LengthMismatch> {
    let n = envs.len();
    if actions.len() != n
        || out.rewards_milli.len() != n
        || out.dones.len() != n
        || out.observations.len() != n * OBS_LEN
    {
        return Err(LengthMismatch {
            envs: n,
            actions: actions.len(),
        });
    }
    let lanes = envs
        .iter_mut()
        .zip(actions)
        .zip(out.observations.chunks_exact_mut(OBS_LEN))
        .zip(out.rewards_milli.iter_mut().zip(out.dones.iter_mut()));
    for (index, (((env, &action), observation), (reward, done))) in lanes.enumerate() {
        let result = env.step_index(action);
        *reward = result.reward_milli;
        *done = result.done;
        if result.done {
            hook.episode_end(index, env, result.reward_milli);
            env.auto_reset(tasks);
        }
        obs::encode(env, as_observation(observation));
    }
    Ok(())
}

fn as_observation(chunk: &mut [u8]) -> &mut Observation {
    // chunks_exact_mut(OBS_LEN) yields slices of exactly OBS_LEN bytes.
    chunk.try_into().expect("chunk of OBS_LEN bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::ACTION_COUNT;
    use crate::scenario::{Split, Tier};

    /// A hook that keeps what each call saw.
    #[derive(Default)]
    struct Recorder {
        calls: std::vec::Vec<(usize, Observation, Milli, u8, bool)>,
        stats: EpisodeStats,
    }

    impl EpisodeEnd for Recorder {
        fn episode_end(&mut self, index: usize, env: &Env, reward_milli: Milli) {
            let mut last = [0; OBS_LEN];
            obs::encode(env, &mut last);
            let graded = env.is_done() && env.final_grade().is_some();
            self.calls
                .push((index, last, reward_milli, env.step_count(), graded));
            self.stats.episode_end(index, env, reward_milli);
        }
    }

    #[test]
    fn the_hook_sees_each_ended_episode_before_its_reset() {
        // Goal: step_batch_with calls the hook once per done flag, in index order, with the
        // environment still in its ended episode (done, graded, its length) and the
        // emitted reward; everything else equals step_batch, whose statistics are the
        // EpisodeStats hook's.
        for tasks in [
            TaskChoice::Uniform,
            TaskChoice::Generated(Tier::Hard, Split::Test),
        ] {
            let n = 257;
            let make = || -> std::vec::Vec<Env> {
                (0..n as u64).map(|i| Env::for_batch(3, i, tasks)).collect()
            };
            let (mut plain, mut hooked) = (make(), make());
            let mut buffers = [
                (vec![0u8; n * OBS_LEN], vec![0; n], vec![false; n]),
                Default::default(),
            ];
            buffers[1] = buffers[0].clone();
            let (mut stats, mut seen, mut ended) =
                (EpisodeStats::default(), Recorder::default(), 0);
            for step in 0..60usize {
                let actions: std::vec::Vec<u8> = (0..n)
                    .map(|i| ((i * 13 + step * 7) % (ACTION_COUNT + 2)) as u8)
                    .collect();
                let [(o1, r1, d1), (o2, r2, d2)] = &mut buffers;
                let out = |o, r, d| BatchOut {
                    observations: o,
                    rewards_milli: r,
                    dones: d,
                };
                step_batch(&mut plain, &actions, out(o1, r1, d1), tasks, &mut stats).unwrap();
                seen.calls.clear();
                step_batch_with(&mut hooked, &actions, out(o2, r2, d2), tasks, &mut seen).unwrap();
                assert_eq!((&o1, &r1, &d1), (&o2, &r2, &d2));
                let done: std::vec::Vec<usize> = (0..n).filter(|&i| d2[i]).collect();
                let called: std::vec::Vec<usize> = seen.calls.iter().map(|c| c.0).collect();
                assert_eq!(called, done);
                for &(i, last, reward, length, graded) in &seen.calls {
                    assert_eq!(reward, r2[i]);
                    assert!(graded && length > 0);
                    assert_eq!(last[obs::field::STEP_COUNT], length);
                    assert_eq!(o2[i * OBS_LEN + obs::field::STEP_COUNT], 0, "reset after");
                }
                ended += done.len();
            }
            assert_eq!(plain, hooked);
            assert_eq!(seen.stats, stats);
            assert!(ended > n, "episodes ended: {ended}");
        }
    }

    #[test]
    fn a_refused_batch_calls_no_hook() {
        // Goal: mismatched slices are refused before any step or hook call.
        let mut envs = [Env::for_batch(1, 0, TaskChoice::Uniform)];
        let before = envs.clone();
        let (mut obs, mut rewards, mut dones) = ([0; OBS_LEN], [0; 1], [false; 1]);
        let out = BatchOut {
            observations: &mut obs,
            rewards_milli: &mut rewards,
            dones: &mut dones,
        };
        let mut seen = Recorder::default();
        let refused = step_batch_with(&mut envs, &[0, 1], out, TaskChoice::Uniform, &mut seen);
        assert_eq!(
            refused,
            Err(LengthMismatch {
                envs: 1,
                actions: 2
            })
        );
        assert!(seen.calls.is_empty());
        assert_eq!(envs, before);
    }
}
