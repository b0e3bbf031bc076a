//! The batch step over numpy-owned buffers: plain Rust, no Python objects, so it runs with
//! the GIL released and splits across threads over disjoint chunks.
//!
//! Like [`incident_core::batch::step_batch`] (same step, same auto-reset, same per-env
//! randomness), plus what Gymnasium's `SAME_STEP` autoreset needs and the core's batch
//! call cannot give once it has reset: the observation that ended each episode and that
//! episode's grade, return and length.

use std::num::NonZeroUsize;
use std::thread;

use incident_core::batch::TaskChoice;
use incident_core::obs::{self, Observation};
use incident_core::{Env, OBS_LEN};

/// Fewest environments a thread is given; smaller batches run on the calling thread, where
/// spawning would cost more than it saves.
pub const MIN_ENVS_PER_THREAD: usize = 1024;

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

    /// Split into the first `mid` environments and the rest.
    fn split_at(self, mid: usize) -> (Lanes<'a>, Lanes<'a>) {
        let (obs_a, obs_b) = self.observations.split_at_mut(mid * OBS_LEN);
        let (fin_a, fin_b) = self.final_observations.split_at_mut(mid * OBS_LEN);
        let (rew_a, rew_b) = self.rewards.split_at_mut(mid);
        let (term_a, term_b) = self.terminated.split_at_mut(mid);
        let (trunc_a, trunc_b) = self.truncated.split_at_mut(mid);
        let (end_a, end_b) = self.ended.split_at_mut(mid);
        let (len_a, len_b) = self.lengths.split_at_mut(mid);
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
        };
        (head, tail)
    }
}

/// Step `envs[i]` with `actions[i]` and write every output of `lanes`, on up to `threads`
/// threads (contiguous chunks of at least [`MIN_ENVS_PER_THREAD`], no locks). The result
/// does not depend on the thread count. All slices must agree in length (the caller
/// checks). Returns how many episodes ended.
pub fn step(
    envs: &mut [Env],
    actions: &[u8],
    lanes: Lanes<'_>,
    tasks: TaskChoice,
    threads: NonZeroUsize,
) -> usize {
    let chunks = threads.get().min(envs.len() / MIN_ENVS_PER_THREAD).max(1);
    if chunks == 1 {
        return step_chunk(envs, actions, lanes, tasks);
    }
    let per_chunk = envs.len().div_ceil(chunks);
    thread::scope(|scope| {
        let (mut envs, mut actions, mut lanes) = (envs, actions, lanes);
        let mut workers = Vec::with_capacity(chunks);
        while envs.len() > per_chunk {
            let (env_head, env_tail) = envs.split_at_mut(per_chunk);
            let (act_head, act_tail) = actions.split_at(per_chunk);
            let (lane_head, lane_tail) = lanes.split_at(per_chunk);
            workers.push(scope.spawn(move || step_chunk(env_head, act_head, lane_head, tasks)));
            (envs, actions, lanes) = (env_tail, act_tail, lane_tail);
        }
        let own = step_chunk(envs, actions, lanes, tasks);
        // A worker cannot panic short of a bug in the core; count its chunk as none ended.
        own + workers
            .into_iter()
            .map(|w| w.join().unwrap_or(0))
            .sum::<usize>()
    })
}

/// [`step`] on the calling thread.
fn step_chunk(envs: &mut [Env], actions: &[u8], lanes: Lanes<'_>, tasks: TaskChoice) -> usize {
    let Lanes {
        observations,
        final_observations,
        rewards,
        terminated,
        truncated,
        ended,
        mut episode,
        lengths,
    } = lanes;
    let mut count = 0;
    let flags = terminated.iter_mut().zip(truncated).zip(ended);
    let outputs = observations
        .chunks_exact_mut(OBS_LEN)
        .zip(rewards)
        .zip(flags);
    for (i, ((env, &action), ((observation, reward), ((term, trunc), end)))) in
        envs.iter_mut().zip(actions).zip(outputs).enumerate()
    {
        let result = env.step_index(action);
        *reward = milli(result.reward_milli);
        *end = result.done;
        if result.done {
            count += 1;
            let resolved = env.is_resolved();
            (*term, *trunc) = (resolved, !resolved);
            obs::encode(env, row(final_observations, i));
            for (field, value) in episode
                .iter_mut()
                .zip(episode_stats(env, result.reward_milli))
            {
                field[i] = value;
            }
            lengths[i] = i32::from(env.step_count());
            env.auto_reset(tasks);
        } else {
            (*term, *trunc) = (false, false);
        }
        obs::encode(env, as_observation(observation));
    }
    count
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
    let grade = env
        .final_grade()
        .unwrap_or_else(|| incident_core::grader::grade(env));
    [
        milli(total),
        milli(grade.score.into()),
        milli(grade.root_cause_identification.into()),
        milli(grade.resolution.into()),
        milli(grade.efficiency.into()),
        milli(grade.safety.into()),
    ]
}

/// Convert thousandths to the float Python sees (one division, as the HTTP layer does).
fn milli(value: i32) -> f32 {
    (f64::from(value) / 1000.0) as f32
}

/// View an `OBS_LEN` chunk as an observation.
fn as_observation(chunk: &mut [u8]) -> &mut Observation {
    // chunks_exact_mut(OBS_LEN) yields slices of exactly OBS_LEN bytes.
    chunk.try_into().expect("chunk of OBS_LEN bytes")
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
    use incident_core::batch::{BatchOut, EpisodeStats, step_batch};

    /// Owned buffers for `n` environments.
    struct Buffers {
        obs: Vec<u8>,
        finals: Vec<u8>,
        rewards: Vec<f32>,
        flags: Vec<bool>,
        episode: Vec<f32>,
        lengths: Vec<i32>,
    }

    impl Buffers {
        fn new(n: usize) -> Buffers {
            Buffers {
                obs: vec![0; n * OBS_LEN],
                finals: vec![0; n * OBS_LEN],
                rewards: vec![0.0; n],
                flags: vec![false; 3 * n],
                episode: vec![0.0; EPISODE_FIELDS.len() * n],
                lengths: vec![0; n],
            }
        }

        fn lanes(&mut self) -> Lanes<'_> {
            let n = self.rewards.len();
            let (terminated, rest) = self.flags.split_at_mut(n);
            let (truncated, ended) = rest.split_at_mut(n);
            let mut rows = self.episode.chunks_exact_mut(n);
            Lanes {
                observations: &mut self.obs,
                final_observations: &mut self.finals,
                rewards: &mut self.rewards,
                terminated,
                truncated,
                ended,
                episode: std::array::from_fn(|_| rows.next().unwrap()),
                lengths: &mut self.lengths,
            }
        }
    }

    #[test]
    fn lanes_agree_with_the_core_batch_step_on_any_thread_count() {
        // Goal: the binding's step is the core's `step_batch` (observations, rewards, done
        // flags, auto-reset), plus episode-end fields, identically on 1 and 3 threads, for
        // the original tasks and a generated tier.
        agree(TaskChoice::Uniform);
        agree(TaskChoice::Generated(
            incident_core::Tier::Hard,
            incident_core::Split::Test,
        ));
    }

    fn agree(tasks: TaskChoice) {
        let n = 3 * MIN_ENVS_PER_THREAD + 7;
        let make = || -> Vec<Env> { (0..n as u64).map(|i| Env::for_batch(9, i, tasks)).collect() };
        let (mut reference, mut one, mut three) = (make(), make(), make());
        let (mut b1, mut b3) = (Buffers::new(n), Buffers::new(n));
        let (mut obs, mut rewards, mut dones) = (vec![0; n * OBS_LEN], vec![0; n], vec![false; n]);
        let mut stats = EpisodeStats::default();
        let (mut ended_total, mut length_total) = (0, 0);
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
            step_batch(&mut reference, &actions, out, tasks, &mut stats).unwrap();
            let ended_one = step(&mut one, &actions, b1.lanes(), tasks, NonZeroUsize::MIN);
            let ended_three = step(
                &mut three,
                &actions,
                b3.lanes(),
                tasks,
                NonZeroUsize::new(3).unwrap(),
            );
            assert_eq!(ended_one, ended_three);
            assert_eq!(ended_one, dones.iter().filter(|&&d| d).count());
            ended_total += ended_one;
            assert_eq!(b1.obs, obs);
            assert_eq!(b1.obs, b3.obs);
            assert_eq!(&b1.flags[2 * n..], &dones[..]);
            assert_eq!(b1.flags, b3.flags);
            assert_eq!(b1.episode, b3.episode);
            assert_eq!(b1.lengths, b3.lengths);
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
        assert_eq!(one, reference);
        assert_eq!(three, reference);
        assert_eq!(ended_total as u64, stats.episodes);
        assert_eq!(length_total as u64, stats.length_sum);
    }
}
