//! Property tests of the core over thousands of random episodes: no panics, bounded
//! rewards and steps, invariants after every step, determinism, batch == sequential,
//! snapshot round trips and robustness of snapshot loading against arbitrary bytes.

use std::sync::atomic::{AtomicUsize, Ordering};

use incident_core::baseline::{self, Shown};
use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};
use incident_core::constants::{OBS_LEN, SNAPSHOT_BYTES_MAX};
use incident_core::env::Outcome;
use incident_core::obs;
use incident_core::record::Lists;
use incident_core::scenario::Ruleset;
use incident_core::snapshot::SnapshotError;
use incident_core::text::{ActionResult, Message};
use incident_core::{
    Action, ActionType, Arg, Env, Fix, Mode, Service, Split, StepResult, TaskId, Tier,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Run `test` on `cases` inputs drawn from `strategy`; on failure panic with proptest's
/// report, which includes the (shrunk) input and so the seed.
fn run<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(error) = runner.run(&strategy, test) {
        panic!("{name}: {error}");
    }
}

fn task() -> impl Strategy<Value = TaskId> {
    (0..TaskId::ALL.len()).prop_map(|i| TaskId::ALL[i])
}

fn arg<T: Clone + std::fmt::Debug + 'static>(
    known: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Arg<T>> {
    prop_oneof![
        1 => Just(Arg::Missing),
        1 => Just(Arg::Unknown),
        4 => known.prop_map(Arg::Known),
    ]
}

/// Any structured action: one of the seven kinds (rarely none), each argument missing,
/// unknown or any value (`healthy` diagnoses and arguments the kind ignores included).
fn structured_action() -> impl Strategy<Value = Action> {
    let kind = prop_oneof![
        12 => (0..ActionType::ALL.len()).prop_map(|i| Some(ActionType::ALL[i])),
        1 => Just(None),
    ];
    (
        kind,
        arg((0..Service::ALL.len()).prop_map(|i| Service::ALL[i])),
        arg((0..Mode::ALL.len()).prop_map(|i| Mode::ALL[i])),
        arg((0..Fix::ALL.len()).prop_map(|i| Fix::ALL[i])),
    )
        .prop_map(|(kind, service, diagnosis, fix)| Action {
            kind,
            service,
            diagnosis,
            fix,
        })
}

fn task_choice() -> impl Strategy<Value = TaskChoice> {
    prop_oneof![
        task().prop_map(TaskChoice::Fixed),
        Just(TaskChoice::Cycle),
        Just(TaskChoice::Uniform),
        (0..Tier::EVERY.len(), 0..2usize)
            .prop_map(|(t, s)| TaskChoice::Generated(Tier::EVERY[t], Split::ALL[s])),
    ]
}

/// One thing done to an environment.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// `step_index` with any byte (valid indices are favoured, out of range included).
    Index(u8),
    /// `step` with a structured action.
    Act(Action),
    /// `reset(task, seed)`.
    Reset(TaskId, i64),
    /// `auto_reset`, which draws from the environment's generator.
    AutoReset(TaskChoice),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..incident_core::ACTION_COUNT as u8).prop_map(Op::Index),
        2 => any::<u8>().prop_map(Op::Index),
        8 => structured_action().prop_map(Op::Act),
        1 => (task(), any::<i64>()).prop_map(|(t, s)| Op::Reset(t, s)),
        1 => task_choice().prop_map(Op::AutoReset),
    ]
}

/// What an op returned (steps only).
type Trace = Vec<Option<StepResult>>;

/// Apply `op` without checks (for the second run of a determinism comparison).
fn apply_plain(env: &mut Env, op: Op) -> Option<StepResult> {
    match op {
        Op::Reset(task, seed) => env.reset(task, seed),
        Op::AutoReset(choice) => env.auto_reset(choice),
        Op::Index(index) => return Some(env.step_index(index)),
        Op::Act(action) => return Some(env.step(action)),
    }
    None
}

/// Apply `op`, checking every per-step property; return the step result.
fn apply(
    env: &mut Env,
    op: Op,
    episodes: &AtomicUsize,
) -> Result<Option<StepResult>, TestCaseError> {
    let action = match op {
        Op::Reset(task, seed) => {
            env.reset(task, seed);
            episodes.fetch_add(1, Ordering::Relaxed);
            prop_assert!(env.step_count() == 0 && !env.is_done() && env.history().is_empty());
            prop_assert_eq!((env.task_id(), env.seed()), (Some(task), seed));
            prop_assert_eq!(env.check(), Ok(()));
            return Ok(None);
        }
        Op::AutoReset(choice) => {
            env.auto_reset(choice);
            episodes.fetch_add(1, Ordering::Relaxed);
            prop_assert!(env.seed() >= 0, "drawn seeds are non-negative");
            if let TaskChoice::Fixed(task) = choice {
                prop_assert_eq!(env.task_id(), Some(task));
            }
            prop_assert_eq!(env.check(), Ok(()));
            return Ok(None);
        }
        Op::Index(index) => Action::from_index(index),
        Op::Act(action) => Some(action),
    };
    let before = env.clone();
    let result = match (op, action) {
        (Op::Index(index), _) => env.step_index(index),
        (_, Some(action)) => env.step(action),
        _ => unreachable!("steps only"),
    };
    if matches!(op, Op::Index(i) if usize::from(i) >= incident_core::ACTION_COUNT)
        && !before.is_done()
    {
        prop_assert_eq!(result.outcome, Outcome::InvalidActionType);
    }
    // The original rules: the emitted reward is a clamped thousandth and the trajectory
    // stays in range. Ruleset v1 (generated incidents): rewards are score differences,
    // and an episode's rewards sum to its final score.
    let original = env.scenario().ruleset == Ruleset::Original;
    let (low, high, floor) = if original {
        (50, 950, 50u16)
    } else {
        (-1000, 1000, 0)
    };
    prop_assert!((low..=high).contains(&result.reward_milli), "{result:?}");
    prop_assert!(env.trajectory_milli().abs() <= high);
    let max_steps = env.scenario().max_steps;
    prop_assert!(env.step_count() <= max_steps);
    if before.is_done() {
        // Done stays done, and a step after done changes nothing.
        prop_assert_eq!(result.outcome, Outcome::AlreadyDone);
        prop_assert!(result.done && !result.terminal && result.reward_milli == 50);
        prop_assert_eq!(&*env, &before);
    } else {
        prop_assert_eq!(env.step_count(), before.step_count() + 1);
        prop_assert_eq!(env.history().len(), usize::from(env.step_count()));
        prop_assert_eq!(result.done, env.is_done());
        prop_assert_eq!(result.terminal, result.done);
        prop_assert_eq!(env.last_error(), result.outcome.error());
        if result.terminal {
            if original {
                prop_assert_eq!(result.reward_milli, 50);
            } else {
                let score = env.final_grade().map_or(-1, |g| i32::from(g.score));
                prop_assert_eq!(env.trajectory_milli(), score);
            }
            prop_assert!(env.step_count() == max_steps || env.is_resolved());
        }
    }
    prop_assert_eq!(env.final_grade().is_some(), env.is_done());
    if let Some(grade) = env.final_grade() {
        for (_, value) in grade.details() {
            prop_assert!((floor..=high as u16).contains(&value), "{grade:?}");
        }
    }
    prop_assert_eq!(env.check(), Ok(()));
    // Everything that reads the state works on it: lists, texts, observation, baseline.
    let lists = Lists::of(env);
    prop_assert!(lists.diagnoses.len() + lists.fixes_applied.len() <= env.history().len());
    let _ = ActionResult {
        outcome: result.outcome,
        unknown: "x",
    }
    .to_string();
    let _ = Message {
        outcome: result.outcome,
    }
    .to_string();
    let mut observation = [0u8; OBS_LEN];
    obs::encode(env, &mut observation);
    // The baseline renders and searches text (slow in debug): alternate the two views.
    let shown = if env.step_count() % 2 == 0 {
        Shown::Snapshot
    } else {
        Shown::LastStep {
            outcome: result.outcome,
            unknown: "x",
        }
    };
    let choice = baseline::choose(env, shown);
    prop_assert!(choice.action.index().is_some(), "{choice:?}");
    let _ = choice.reasoning().to_string();
    Ok(Some(result))
}

fn play(env: &mut Env, ops: &[Op], episodes: &AtomicUsize) -> Result<Trace, TestCaseError> {
    ops.iter().map(|op| apply(env, *op, episodes)).collect()
}

#[test]
fn random_episodes_keep_every_invariant_and_are_deterministic() {
    // Goal: for any task, any i64 seed and any sequence of actions (indices 0..=255,
    // structured actions with missing/unknown arguments, resets, auto-resets): no panic,
    // rewards in [0.05, 0.95], done stays done, step_count <= max_steps, check() is Ok after
    // every step, and the same inputs give an identical Env and identical results.
    let episodes = AtomicUsize::new(0);
    let steps = AtomicUsize::new(0);
    let strategy = (
        task(),
        any::<i64>(),
        any::<u64>(),
        prop::collection::vec(op(), 0..48),
    );
    run(
        "random episodes",
        1500,
        strategy,
        |(task, seed, stream, ops)| {
            let mut env = Env::new(task, seed, stream);
            episodes.fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(env.check(), Ok(()));
            let first = play(&mut env, &ops, &episodes)?;
            steps.fetch_add(first.iter().flatten().count(), Ordering::Relaxed);
            let mut again = Env::new(task, seed, stream);
            let second: Trace = ops.iter().map(|op| apply_plain(&mut again, *op)).collect();
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(&env, &again);
            Ok(())
        },
    );
    let (episodes, steps) = (episodes.into_inner(), steps.into_inner());
    println!("random episodes: {episodes} episodes, {steps} steps");
    assert!(episodes >= 1500);
}

#[test]
fn fast_step_index_equals_the_reference_step() {
    // Goal: `step_index` (the table-driven fast path with its incrementally updated
    // observation) gives exactly the Env, result and observation of the reference
    // `step(Action::from_index(i))`, for random index sequences (any byte, biased towards
    // the tasks' root diagnoses, fixes and verifications so that fixes, recoveries and
    // resolutions happen), across auto-resets.
    let solving: Vec<u8> = TaskId::ALL
        .iter()
        .flat_map(|task| task.task().roots)
        .flat_map(|root| {
            [
                Action::diagnose(root.service, root.mode),
                Action::apply_fix(root.service, root.fix),
                Action::on(ActionType::VerifyHealth, root.service),
            ]
        })
        .map(|action| action.index().expect("canonical"))
        .collect();
    let index = prop_oneof![
        6 => 0..incident_core::ACTION_COUNT as u8,
        1 => any::<u8>(),
        3 => prop::sample::select(solving),
    ];
    let strategy = (
        task(),
        any::<i64>(),
        any::<u64>(),
        prop::collection::vec(index, 0..64),
    );
    let resolved = AtomicUsize::new(0);
    run(
        "fast path",
        1500,
        strategy,
        |(task, seed, stream, indices)| {
            let mut fast = Env::new(task, seed, stream);
            let mut reference = fast.clone();
            let (mut fast_obs, mut reference_obs) = ([0u8; OBS_LEN], [0u8; OBS_LEN]);
            for index in indices {
                let action = Action::from_index(index).unwrap_or(Action {
                    kind: None,
                    ..Action::list_services()
                });
                let got = fast.step_index(index);
                let want = reference.step(action);
                prop_assert_eq!(got, want, "index {}", index);
                prop_assert_eq!(&fast, &reference, "index {}", index);
                obs::encode(&fast, &mut fast_obs);
                obs::encode(&reference, &mut reference_obs);
                prop_assert_eq!(fast_obs, reference_obs);
                prop_assert_eq!(fast.check(), Ok(()));
                if got.done {
                    resolved.fetch_add(usize::from(fast.is_resolved()), Ordering::Relaxed);
                    fast.auto_reset(TaskChoice::Uniform);
                    reference.auto_reset(TaskChoice::Uniform);
                }
            }
            Ok(())
        },
    );
    let resolved = resolved.into_inner();
    println!("fast path: {resolved} resolved episodes compared");
    assert!(resolved > 50);
}

#[test]
fn batch_stepping_equals_sequential_stepping() {
    // Goal: step_batch over N environments gives exactly what stepping each environment
    // with step_index and auto-resetting it by hand gives: observations, rewards, dones,
    // episode statistics and the environments themselves.
    let episodes = AtomicUsize::new(0);
    let strategy = (
        any::<u64>(),
        1..=8usize,
        task_choice(),
        prop::collection::vec(
            prop_oneof![4 => 0..incident_core::ACTION_COUNT as u8, 1 => any::<u8>()],
            0..480,
        ),
    );
    run("batch", 200, strategy, |(base, n, choice, actions)| {
        let mut batched: Vec<Env> = (0..n as u64)
            .map(|i| Env::for_batch(base, i, choice))
            .collect();
        let mut sequential = batched.clone();
        let fresh: Vec<Env> = (0..n as u64)
            .map(|i| Env::for_batch(base, i, choice))
            .collect();
        prop_assert_eq!(&batched, &fresh, "for_batch is deterministic");
        let mut batch_stats = EpisodeStats::default();
        let mut expected_stats = EpisodeStats::default();
        let mut observations = vec![0u8; n * OBS_LEN];
        batch::observe_batch(&batched, &mut observations).expect("lengths agree");
        let mut rewards = vec![0; n];
        let mut dones = vec![false; n];
        let mut expected_obs = [0u8; OBS_LEN];
        for round in actions.chunks_exact(n) {
            let out = BatchOut {
                observations: &mut observations,
                rewards_milli: &mut rewards,
                dones: &mut dones,
            };
            batch::step_batch(&mut batched, round, out, choice, &mut batch_stats)
                .expect("lengths agree");
            for (i, env) in sequential.iter_mut().enumerate() {
                let result = env.step_index(round[i]);
                prop_assert_eq!(rewards[i], result.reward_milli, "env {}", i);
                prop_assert_eq!(dones[i], result.done, "env {}", i);
                if result.done {
                    let grade = env.final_grade().expect("done episodes have a grade");
                    expected_stats.merge(&EpisodeStats {
                        episodes: 1,
                        score_milli_sum: u64::from(grade.score),
                        trajectory_milli_sum: i64::from(env.trajectory_milli()),
                        length_sum: u64::from(env.step_count()),
                        resolved: u64::from(env.is_resolved()),
                    });
                    env.auto_reset(choice);
                    episodes.fetch_add(1, Ordering::Relaxed);
                }
                obs::encode(env, &mut expected_obs);
                prop_assert_eq!(
                    &observations[i * OBS_LEN..(i + 1) * OBS_LEN],
                    &expected_obs[..],
                    "env {}",
                    i
                );
            }
            prop_assert_eq!(&batched, &sequential);
        }
        prop_assert_eq!(batch_stats, expected_stats);
        let mut all = vec![0u8; n * OBS_LEN];
        batch::observe_batch(&batched, &mut all).expect("lengths agree");
        prop_assert_eq!(&all, &observations);
        // Mismatched buffers are refused without touching anything.
        let before = batched.clone();
        let mut short = vec![0u8; n * OBS_LEN - 1];
        let refused = batch::step_batch(
            &mut batched,
            &vec![0; n],
            BatchOut {
                observations: &mut short,
                rewards_milli: &mut rewards,
                dones: &mut dones,
            },
            choice,
            &mut batch_stats,
        );
        prop_assert!(refused.is_err());
        prop_assert_eq!(&batched, &before);
        Ok(())
    });
    let episodes = episodes.into_inner();
    println!("batch: {episodes} finished episodes compared");
    assert!(episodes > 1000);
}

fn save(env: &Env) -> Vec<u8> {
    let mut buffer = [0u8; SNAPSHOT_BYTES_MAX];
    env.save(&mut buffer).expect("fits").to_vec()
}

#[test]
fn snapshots_round_trip_and_continue_identically() {
    // Goal: save then load gives an equal Env at any point of any episode, both copies
    // continue identically (auto-resets included, so the generator is restored too), and
    // every strict prefix or extension of a snapshot is refused.
    let strategy = (
        task(),
        any::<i64>(),
        any::<u64>(),
        prop::collection::vec(op(), 0..24),
        prop::collection::vec(op(), 0..24),
    );
    run(
        "snapshots",
        500,
        strategy,
        |(task, seed, stream, prefix, suffix)| {
            let episodes = AtomicUsize::new(0);
            let mut env = Env::new(task, seed, stream);
            prefix.iter().for_each(|op| {
                apply_plain(&mut env, *op);
            });
            let bytes = save(&env);
            let mut loaded = Env::load(&bytes).expect("a fresh snapshot loads");
            prop_assert_eq!(&loaded, &env);
            prop_assert_eq!(save(&loaded), bytes.clone(), "save is canonical");
            let a = play(&mut env, &suffix, &episodes)?;
            let b: Trace = suffix
                .iter()
                .map(|op| apply_plain(&mut loaded, *op))
                .collect();
            prop_assert_eq!(a, b);
            prop_assert_eq!(&env, &loaded);
            for len in 0..bytes.len() {
                prop_assert!(Env::load(&bytes[..len]).is_err(), "prefix of {} bytes", len);
            }
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert_eq!(Env::load(&longer), Err(SnapshotError::TrailingBytes));
            let mut small = [0u8; 8];
            prop_assert_eq!(
                env.save(&mut small).err(),
                Some(SnapshotError::BufferTooSmall)
            );
            Ok(())
        },
    );
}

/// Step a loaded environment with every discrete action kind and check it stays valid.
fn exercise(mut env: Env) -> Result<(), TestCaseError> {
    let episodes = AtomicUsize::new(0);
    for index in (0..=255u8).step_by(7).chain([0, 1, 25, 67, 114, 200]) {
        apply(&mut env, Op::Index(index), &episodes)?;
    }
    apply(&mut env, Op::AutoReset(TaskChoice::Uniform), &episodes)?;
    Ok(())
}

#[test]
fn loading_arbitrary_bytes_never_panics() {
    // Goal: Env::load on random bytes, and on valid snapshots with a few bytes overwritten,
    // returns an error or an environment that passes check() and can be stepped without
    // panicking (every restored state is one the core can run).
    let accepted = AtomicUsize::new(0);
    run(
        "garbage",
        1000,
        prop::collection::vec(any::<u8>(), 0..SNAPSHOT_BYTES_MAX + 8),
        |bytes| {
            if let Ok(env) = Env::load(&bytes) {
                accepted.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(env.check(), Ok(()));
                exercise(env)?;
            }
            Ok(())
        },
    );
    let mutations = (
        task(),
        any::<i64>(),
        any::<u64>(),
        prop::collection::vec(op(), 0..20),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    );
    run(
        "mutated snapshots",
        1500,
        mutations,
        |(task, seed, stream, ops, edits)| {
            let mut env = Env::new(task, seed, stream);
            ops.iter().for_each(|op| {
                apply_plain(&mut env, *op);
            });
            let mut bytes = save(&env);
            for (position, value) in edits {
                let at = position.index(bytes.len());
                bytes[at] = value;
            }
            if let Ok(env) = Env::load(&bytes) {
                accepted.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(env.check(), Ok(()));
                exercise(env)?;
            }
            Ok(())
        },
    );
    println!(
        "loaded {} arbitrary or mutated snapshots that passed check()",
        accepted.into_inner()
    );
}
