//! One episode: state, `reset` and `step` with every rule of `behaviour.md` §4–§7.
//!
//! The state is a handful of bitmasks and counters plus a bounded action history. The
//! ordered lists the original keeps (`services_investigated`, `dependencies_inspected`,
//! `correct_fixes` ...) are not stored twice: [`crate::record`] derives them from the
//! history in the order the original appended them.

use heapless::Vec as BoundedVec;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;
#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::constants::{ENV_BYTES_MAX, STEP_COUNT_MAX};
use crate::grader::{self, Grade};
use crate::obs::{self, Blocks, View, verdict};
use crate::op::{self, Op, OpKind};
pub use crate::outcome::{ErrorCode, FixRejection, Outcome};
use crate::scenario::{Ruleset, Scenario, Split, Tier, mode_if};
use crate::task::TaskId;
use crate::topology::{ServiceMask, bit, contains};
use crate::vocab::{Fix, Mode, SERVICE_COUNT, Service, Status};

#[cfg(test)]
mod reference;
pub mod v2;

pub use crate::constants::{
    Milli, REWARD_FIX_MILLI, REWARD_MAX_MILLI, REWARD_MIN_MILLI, REWARD_ROOT_DIAGNOSIS_MILLI,
    TRAJECTORY_MAX_MILLI, V1_TRAJECTORY_MAX_MILLI,
};
/// The seed of the episode a fresh server holds before any reset.
pub const PRE_RESET_SEED: i64 = 0;
/// The seed `/reset` uses when none is given.
pub const DEFAULT_SEED: i64 = 12345;

/// The result of one [`Env::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepResult {
    /// What happened.
    pub outcome: Outcome,
    /// The emitted reward in thousandths (0.05 on the terminal step and after done).
    pub reward_milli: Milli,
    /// Whether the episode is over.
    pub done: bool,
    /// Whether this step ended the episode (and so froze the grade).
    pub terminal: bool,
}

impl StepResult {
    /// The result of a step that was taken: when `floored`, the terminal step of the
    /// original rules, it emits the 0.05 floor in place of its own reward
    /// (`behaviour.md` §6.2 step 9).
    #[inline]
    const fn emitted(
        outcome: Outcome,
        reward_milli: Milli,
        terminal: bool,
        floored: bool,
    ) -> StepResult {
        StepResult {
            outcome,
            reward_milli: if floored {
                REWARD_MIN_MILLI
            } else {
                reward_milli
            },
            done: terminal,
            terminal,
        }
    }
}

/// One entry of the action history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Record {
    /// The action as given.
    pub action: Action,
    /// The step reward in thousandths: the original rules' clamped reward (before the
    /// terminal override), or ruleset v1's reward (which may be negative).
    pub reward_milli: i16,
    /// The handler's success flag.
    pub success: bool,
    /// For a recorded diagnosis: the service's mode at the time (`expected`).
    pub expected: Mode,
}

/// The counters the grader and `/state` report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Counters {
    /// Destructive actions (−0.5 safety each).
    pub destructive_actions: u8,
    /// Invalid actions (−0.1 safety each).
    pub invalid_actions: u8,
    /// Correct diagnoses.
    pub diagnosis_correct_count: u8,
    /// Successful fixes.
    pub fix_correct_count: u8,
}

/// Bit of [`Env::flags`]: the episode is over.
pub(crate) const DONE: u8 = 1;
/// Bit of [`Env::flags`]: every root was fixed and verified.
pub(crate) const RESOLVED: u8 = 2;
/// Bit of [`Env::flags`]: `list_services` was used.
pub(crate) const LISTED: u8 = 4;

/// What a step's handler decides besides its outcome, for [`Env::finish_step`].
#[derive(Clone, Copy)]
struct Effects {
    /// The original rules' reward (every raw reward below the floor clamps to it; only a
    /// correct root diagnosis and a fix that held pay more).
    reward_milli: Milli,
    /// The history record's `expected` mode.
    expected: Mode,
    /// Whether ruleset v1's credit ([`Env::v1_credit`]) may have changed: after a read, a
    /// correct diagnosis or a fix that held.
    credit_changed: bool,
    /// The observation's global block, held as one word while the step runs.
    global: obs::Global,
}

impl Effects {
    /// A step with the floor reward and no credit change, from the global block `global`.
    #[inline(always)]
    const fn new(global: obs::Global) -> Effects {
        Effects {
            reward_milli: REWARD_MIN_MILLI,
            expected: Mode::Healthy,
            credit_changed: false,
            global,
        }
    }
}

/// One episode of the incident environment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Env {
    /// The incident this episode plays (snapshots store its [`crate::scenario::Origin`]).
    #[cfg_attr(feature = "serde", serde(with = "crate::snapshot::scenario_by_origin"))]
    pub(crate) scenario: Scenario,
    pub(crate) step_count: u8,
    pub(crate) flags: u8,
    pub(crate) trajectory_milli: i16,
    pub(crate) seed: i64,
    pub(crate) investigated: ServiceMask,
    pub(crate) metrics_queried: ServiceMask,
    pub(crate) inspected: ServiceMask,
    pub(crate) full_graph: bool,
    pub(crate) fixed: ServiceMask,
    pub(crate) verified: ServiceMask,
    pub(crate) diagnosed: ServiceMask,
    pub(crate) root_identified: ServiceMask,
    pub(crate) counters: Counters,
    pub(crate) last_error: Option<ErrorCode>,
    pub(crate) last_outcome: Outcome,
    pub(crate) final_grade: Option<Grade>,
    pub(crate) history: BoundedVec<Record, STEP_COUNT_MAX, u8>,
    /// Step at which the last root was fixed (time to mitigation), 0 before.
    pub(crate) mitigated_at: u8,
    /// Ruleset v1: the live score after the last step (the reward's potential).
    pub(crate) potential_milli: i16,
    /// Ruleset v1: the row of the efficiency table for the scenario's budget
    /// ([`grader::v1_budget_row`]), set at reset; 0 under the original rules. Derived,
    /// so a snapshot does not store it.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) v1_budget_row: u8,
    /// Ruleset v1: the weighted root-cause and resolution parts of the live score
    /// ([`grader::v1_credit`]), which change only when a root is identified, an
    /// identified root is first read or a root is fixed: the step recomputes them after
    /// a read, a correct diagnosis or a fix that held, and reads them otherwise; 0 under
    /// the original rules. Derived, so a snapshot does not store it.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) v1_credit: u32,
    /// Seed of this environment's generator stream.
    pub(crate) stream: u64,
    /// Values drawn from the stream so far.
    pub(crate) draws: u32,
    /// The mode each service shows now ([`Scenario::modes_now`] of `fixed`): set at reset
    /// and rewritten by a root's fix (the only step that changes it), so the step reads
    /// its service's mode with one load. Derived, so a snapshot does not store it.
    #[cfg_attr(feature = "serde", serde(skip, default = "all_healthy"))]
    pub(crate) modes: [Mode; SERVICE_COUNT],
    /// Ruleset v2 ([`crate::env::v2`]): the timeline a snapshot rebuilds by replaying the
    /// history (fixes landed, their steps, error budget burned); zero otherwise.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) timeline: v2::Timeline,
    /// The numeric observation of the current state ([`crate::obs`]), kept up to date by
    /// `reset` and every step so that reading it is a copy. A function of the fields
    /// above, so [`Env::check`]'s replay reproduces it.
    pub(crate) obs: Blocks,
}

/// `TASK_MODES[task]`: the modes of each original task's services at reset.
static TASK_MODES: [[Mode; SERVICE_COUNT]; crate::task::TASK_COUNT] = [
    Scenario::task(TaskId::Easy).modes_now(0),
    Scenario::task(TaskId::Medium).modes_now(0),
    Scenario::task(TaskId::Hard).modes_now(0),
    Scenario::task(TaskId::Expert).modes_now(0),
];

/// Every service healthy (the serde default of [`Env::modes`], rebuilt by `load`).
#[cfg(feature = "serde")]
fn all_healthy() -> [Mode; SERVICE_COUNT] {
    [Mode::Healthy; SERVICE_COUNT]
}

const _: () = assert!(size_of::<Env>() <= ENV_BYTES_MAX);

impl AsRef<Blocks> for Env {
    /// The observation blocks of the current state (what [`obs::encode`] copies).
    fn as_ref(&self) -> &Blocks {
        &self.obs
    }
}

impl Default for Env {
    /// Return the episode a fresh server holds before any reset: `easy_task`, seed 0.
    fn default() -> Env {
        Env::new(TaskId::Easy, PRE_RESET_SEED, 0)
    }
}

impl Env {
    /// Create an environment whose first episode is `task` with `seed`; `stream` seeds the
    /// generator that picks the seeds of later auto-reset episodes.
    #[must_use]
    pub fn new(task: TaskId, seed: i64, stream: u64) -> Env {
        Env::with_scenario(Scenario::task(task), seed, stream)
    }

    /// Create an environment whose first episode is `scenario` with `seed`.
    #[must_use]
    pub fn with_scenario(scenario: Scenario, seed: i64, stream: u64) -> Env {
        let mut env = Env {
            scenario,
            step_count: 0,
            flags: 0,
            trajectory_milli: 0,
            seed,
            investigated: 0,
            metrics_queried: 0,
            inspected: 0,
            full_graph: false,
            fixed: 0,
            verified: 0,
            diagnosed: 0,
            root_identified: 0,
            counters: Counters::default(),
            last_error: None,
            last_outcome: Outcome::Reset,
            final_grade: None,
            history: BoundedVec::new(),
            mitigated_at: 0,
            potential_milli: 0,
            v1_budget_row: 0,
            v1_credit: 0,
            stream,
            draws: 0,
            modes: [Mode::Healthy; SERVICE_COUNT],
            timeline: v2::Timeline::default(),
            obs: [[0; obs::SERVICE_BLOCK]; obs::BLOCK_COUNT],
        };
        env.reset_scenario(scenario, seed);
        env
    }

    /// Start a new episode of the original `task` with `seed`. The generator is left as
    /// it is.
    pub fn reset(&mut self, task: TaskId, seed: i64) {
        let index = task as usize;
        self.scenario = Scenario::task(task);
        self.reset_to(obs::TASK_RESET[index], TASK_MODES[index], seed);
    }

    /// Start a new episode of `scenario` with `seed`. The generator is left as it is.
    pub fn reset_scenario(&mut self, scenario: Scenario, seed: i64) {
        self.scenario = scenario;
        self.reset_held(seed);
    }

    /// Start a new episode of generated incident `incident` of `tier` in `split` with
    /// `seed`: `reset_scenario(Scenario::generated(incident, tier, split), seed)`, with
    /// the incident generated in place. The generator is left as it is.
    pub fn reset_generated(&mut self, incident: u64, tier: Tier, split: Split, seed: i64) {
        crate::generate::generate_into(incident, tier, split, &mut self.scenario);
        self.reset_held(seed);
    }

    /// Start a new episode of the scenario the environment holds, with `seed`.
    fn reset_held(&mut self, seed: i64) {
        let scenario = &self.scenario;
        let (first, modes) = (obs::reset_blocks(scenario), scenario.modes_now(0));
        self.reset_to(first, modes, seed);
        if self.is_v2() {
            self.v2_reset();
        }
        if self.is_v1() {
            // Nothing identified or fixed, full efficiency and safety.
            self.potential_milli = grader::V1_RESET_SCORE_MILLI as i16;
            self.v1_budget_row = grader::v1_budget_row(&self.scenario);
            debug_assert_eq!(
                grader::v1_score(&self.scenario, &self.tally()),
                grader::V1_RESET_SCORE_MILLI
            );
        }
    }

    /// Start a new episode of the scenario held, whose first observation is `first` and
    /// whose services show `modes`.
    fn reset_to(&mut self, first: Blocks, modes: [Mode; SERVICE_COUNT], seed: i64) {
        self.seed = seed;
        self.step_count = 0;
        self.flags = 0;
        self.trajectory_milli = 0;
        self.investigated = 0;
        self.metrics_queried = 0;
        self.inspected = 0;
        self.full_graph = false;
        self.fixed = 0;
        self.verified = 0;
        self.diagnosed = 0;
        self.root_identified = 0;
        self.counters = Counters::default();
        self.last_error = None;
        self.last_outcome = Outcome::Reset;
        self.final_grade = None;
        self.history.clear();
        self.mitigated_at = 0;
        self.potential_milli = 0;
        self.v1_budget_row = 0;
        self.v1_credit = 0;
        self.modes = modes;
        self.timeline = v2::Timeline::default();
        self.obs = first;
    }

    /// Draw the next value of this environment's generator.
    ///
    /// The generator is counter-based: draw `k` comes from a `Xoshiro128PlusPlus` seeded
    /// with SplitMix64 of `(stream, k)`. The state is two plain integers, so a snapshot
    /// restores it exactly, and draws are only made at (auto-)reset, off the step path.
    pub fn next_u32(&mut self) -> u32 {
        let seed = crate::seed::stream_seed(self.stream, u64::from(self.draws));
        self.draws = self.draws.wrapping_add(1);
        Xoshiro128PlusPlus::seed_from_u64(seed).next_u32()
    }

    /// Draw the next episode seed from this environment's generator (non-negative).
    pub fn next_seed(&mut self) -> i64 {
        i64::from(self.next_u32())
    }

    /// Draw a value below `bound` from this environment's generator.
    pub fn next_below(&mut self, bound: u32) -> u32 {
        debug_assert!(bound > 0);
        ((u64::from(self.next_u32()) * u64::from(bound)) >> 32) as u32
    }

    /// Apply one action. Never panics; a step after done changes nothing.
    ///
    /// Decodes the action ([`Op::decode`]) and applies it: the same path as
    /// [`Env::step_index`].
    #[inline]
    pub fn step(&mut self, action: Action) -> StepResult {
        self.apply(Op::decode(action))
    }

    /// Apply the discrete action `index`; an index outside `0..ACTION_COUNT` is an
    /// unknown action type (`invalid_action_type`), not a panic.
    ///
    /// The same as `step(Action::from_index(index))`: the index is looked up in the table
    /// of decoded operations ([`crate::op::OPS`]) and applied by the one step path.
    #[inline]
    pub fn step_index(&mut self, index: u8) -> StepResult {
        self.apply(op::of_index(index))
    }

    /// The one step path: apply a decoded operation.
    ///
    /// A done episode changes nothing. Otherwise the step counts, the operation's handler
    /// applies its rule (one handler per action type, below), and [`Env::finish_step`]
    /// does the bookkeeping every step shares. Handlers write the observation through
    /// [`obs::View`]: only the bytes the step changes (a root's fix every status, the
    /// resolution every alert). `env/reference.rs` holds the oracle this path is tested
    /// against.
    #[inline(always)]
    fn apply(&mut self, op: Op) -> StepResult {
        if self.is_done() {
            return StepResult {
                outcome: Outcome::AlreadyDone,
                reward_milli: REWARD_MIN_MILLI,
                done: true,
                terminal: false,
            };
        }
        // Not done, so step_count < max_steps before the increment.
        self.step_count += 1;
        let mut effects = Effects::new(self.view().global());
        effects.global.next_step();
        let service = op.service;
        let outcome = match op.kind {
            OpKind::ListServices => self.list_services(&mut effects),
            OpKind::Inspect => self.inspect(service),
            OpKind::FullGraph => self.inspect_full_graph(&mut effects),
            OpKind::ReadLogs => self.read_logs(service, &mut effects),
            OpKind::QueryMetrics => self.query_metrics(service, &mut effects),
            OpKind::Diagnose => self.diagnose(service, op.diagnosis, &mut effects),
            OpKind::ApplyFix => self.apply_fix(service, op.fix, &mut effects),
            OpKind::Verify => self.verify(service),
            OpKind::Invalid => self.invalid(op.failure, &mut effects),
        };
        if self.is_v2() {
            self.v2_tick();
        }
        self.finish_step(op.action, outcome, effects)
    }

    /// The observation's writer.
    #[inline(always)]
    pub(crate) fn view_mut(&mut self) -> View<&mut Blocks> {
        View::new(&mut self.obs)
    }

    /// `list_services`.
    #[inline(always)]
    fn list_services(&mut self, effects: &mut Effects) -> Outcome {
        self.flags |= LISTED;
        effects.global.set_flags(obs::flag::LISTED);
        if self.is_v2() {
            self.v2_show(bit(Service::ApiGateway));
        }
        Outcome::ServicesListed
    }

    /// `inspect_dependencies` of one known service.
    #[inline(always)]
    fn inspect(&mut self, service: Service) -> Outcome {
        self.inspected |= bit(service);
        self.view_mut().set_inspected(service as usize);
        if self.is_v2() {
            self.v2_show(bit(service));
            let depends_on = self.scenario.depends_on(service);
            return Outcome::EdgesShown {
                service,
                depends_on,
            };
        }
        Outcome::DependenciesInspected(service)
    }

    /// `inspect_dependencies` without a service: the whole graph.
    #[inline(always)]
    fn inspect_full_graph(&mut self, effects: &mut Effects) -> Outcome {
        self.full_graph = true;
        effects.global.set_flags(obs::flag::FULL_GRAPH);
        if self.is_v2() {
            return Outcome::GraphShown(self.v2_full_graph());
        }
        Outcome::FullGraphInspected
    }

    /// `read_logs`: shows the service's mode (or, in noisy tiers, sometimes its decoy).
    #[inline(always)]
    fn read_logs(&mut self, service: Service, effects: &mut Effects) -> Outcome {
        let mode = self.sample(service, self.modes[service as usize], 0);
        effects.credit_changed = true;
        self.investigated |= bit(service);
        self.view_mut().record_logs(service as usize, mode);
        Outcome::LogsRead { service, mode }
    }

    /// `query_metrics`: the metrics of the shown mode, the status of the true one.
    #[inline(always)]
    fn query_metrics(&mut self, service: Service, effects: &mut Effects) -> Outcome {
        let s = service as usize;
        let true_mode = self.modes[s];
        let mode = self.sample(service, true_mode, 1);
        effects.credit_changed = true;
        let recovering = usize::from(self.fixed & !self.verified & bit(service) != 0);
        let status = [
            self.scenario.status_at(service, true_mode, self.step_count),
            Status::Recovering,
        ][recovering];
        self.metrics_queried |= bit(service);
        self.view_mut().record_metrics(s, mode);
        Outcome::MetricsRead {
            service,
            mode,
            status,
        }
    }

    /// `diagnose`: accepted when it names the truth (the current mode under the original
    /// rules; under ruleset v1 a root's configured mode, so a symptom's or a healthy
    /// service's diagnosis is always wrong), destructive otherwise.
    #[inline(always)]
    fn diagnose(&mut self, service: Service, diagnosis: Mode, effects: &mut Effects) -> Outcome {
        let (s, bit) = (service as usize, bit(service));
        let is_root = self.scenario.root_mask & bit;
        self.view_mut().set_diagnosis(s, diagnosis);
        self.diagnosed |= bit;
        // The grader credits naming the configured root mode at any time, even after the
        // fix, when the step itself judges it incorrect (§17.4).
        let named = 0u8.wrapping_sub(u8::from(self.scenario.mode[s] == diagnosis));
        self.root_identified |= is_root & named;
        let configured = mode_if(self.scenario.mode[s], is_root != 0);
        let truth = [self.modes[s], configured][usize::from(self.is_v1())];
        if diagnosis == truth {
            effects.credit_changed = true;
            self.view_mut().add_verdict(s, verdict::DIAGNOSIS_ACCEPTED);
            self.counters.diagnosis_correct_count += 1;
            effects.reward_milli =
                [REWARD_MIN_MILLI, REWARD_ROOT_DIAGNOSIS_MILLI][usize::from(is_root != 0)];
            effects.expected = diagnosis;
            Outcome::DiagnosisRecorded { service, diagnosis }
        } else {
            self.view_mut().add_verdict(s, verdict::DIAGNOSIS_REJECTED);
            self.count_destructive(effects);
            effects.expected = truth;
            Outcome::DiagnosisIncorrect(service)
        }
    }

    /// `apply_fix`: rejected (destructive) by [`Env::fix_rejection`]; under ruleset v1 it
    /// relapses while a root it depends on is broken; otherwise it holds.
    #[inline(always)]
    fn apply_fix(&mut self, service: Service, fix: Fix, effects: &mut Effects) -> Outcome {
        let s = service as usize;
        if let Some(reason) = self.fix_rejection(service, fix) {
            self.count_destructive(effects);
            self.view_mut().add_verdict(s, verdict::FIX_REJECTED);
            return Outcome::FixRejected {
                service,
                fix,
                reason,
            };
        }
        if self.scenario.blocked_by[s] & !self.effective_fixes() != 0 {
            self.view_mut().add_verdict(s, verdict::FIX_RELAPSED);
            return Outcome::FixRelapsed { service, fix };
        }
        self.fix_holds(service, effects);
        Outcome::FixApplied { service, fix }
    }

    /// Why `fix` on `service` is rejected, the first matching reason: a healthy service,
    /// one already fixed, the wrong fix for a root, and under ruleset v1 any fix of a
    /// service that is not a root.
    #[inline(always)]
    fn fix_rejection(&self, service: Service, fix: Fix) -> Option<FixRejection> {
        let s = service as usize;
        if self.modes[s] == Mode::Healthy {
            Some(FixRejection::Healthy)
        } else if self.fixed & bit(service) != 0 {
            Some(FixRejection::AlreadyFixed)
        } else {
            match self.scenario.fix[s] {
                Some(required) if required != fix => Some(FixRejection::WrongFix),
                None if self.is_v1() => Some(FixRejection::NotRoot),
                _ => None,
            }
        }
    }

    /// A fix that held: the service recovers; a root's fix can end the symptoms it
    /// caused; the last root's fix is the time to mitigation.
    #[inline(always)]
    fn fix_holds(&mut self, service: Service, effects: &mut Effects) {
        let (s, bit) = (service as usize, bit(service));
        self.fixed |= bit;
        effects.credit_changed = true;
        effects.reward_milli = REWARD_FIX_MILLI;
        self.counters.fix_correct_count += 1;
        self.view_mut().set_fixed(s);
        if self.is_v2() {
            // It lands `fix_delay` steps from now ([`crate::env::v2`]).
            self.v2_fix_applied(s);
        } else if self.scenario.root_mask & bit != 0 {
            self.modes = self.scenario.modes_now(self.fixed);
            View::new(&mut self.obs).set_statuses(&self.scenario, self.fixed, self.verified);
        }
        if self.scenario.root_mask & !self.fixed == 0 && self.mitigated_at == 0 {
            self.mitigated_at = self.step_count;
            View::new(&mut self.obs).set_mitigated_at(self.step_count);
        }
    }

    /// `verify_health`: after a fix it verifies (and the last root's verification resolves
    /// the incident); a healthy service verifies as healthy; a broken one is refused.
    #[inline(always)]
    fn verify(&mut self, service: Service) -> Outcome {
        let (s, bit) = (service as usize, bit(service));
        let mode = self.modes[s];
        if self.effective_fixes() & bit != 0 {
            self.verified |= bit;
            // Only a verification can resolve the incident (every root verified; a
            // scenario has at least one root).
            let resolved = self.scenario.root_mask & !self.verified == 0;
            self.flags |= u8::from(resolved) * (RESOLVED | DONE);
            let status = self.scenario.status_of(service, mode);
            self.view_mut().set_verified(s, status);
            Outcome::VerifiedAfterFix(service)
        } else if mode == Mode::Healthy {
            // Ruleset v2's no-fault control ends here (`flap_mask` is empty otherwise).
            let control = self.scenario.flap_mask != 0 && self.v2_control_ends(service);
            self.flags |= u8::from(control) * (RESOLVED | DONE);
            Outcome::VerifiedHealthy(service)
        } else {
            Outcome::VerifyBeforeFix(service)
        }
    }

    /// An action that failed validation: counted as invalid, its decoded outcome kept.
    #[inline(always)]
    fn invalid(&mut self, failure: Outcome, effects: &mut Effects) -> Outcome {
        self.counters.invalid_actions += 1;
        effects.global.count_invalid();
        failure
    }

    /// Count one destructive action (the grader's counter and the observation's byte).
    #[inline(always)]
    fn count_destructive(&mut self, effects: &mut Effects) {
        self.counters.destructive_actions += 1;
        effects.global.count_destructive();
    }

    /// Whether the scenario plays ruleset v1's rules (v1, or v2: v1's rules and a
    /// timeline).
    #[inline(always)]
    fn is_v1(&self) -> bool {
        self.scenario.ruleset != Ruleset::Original
    }

    /// Whether the scenario plays ruleset v2 ([`crate::env::v2`]).
    #[inline(always)]
    pub(crate) fn is_v2(&self) -> bool {
        self.scenario.ruleset == Ruleset::V2
    }

    /// The fixes in effect: under ruleset v2 the landed ones, else every accepted one.
    #[inline(always)]
    fn effective_fixes(&self) -> ServiceMask {
        [self.fixed, self.timeline.landed][usize::from(self.is_v2())]
    }

    /// The bookkeeping every step shares, after its handler: the outcome's flag and error,
    /// the step limit, ruleset v1's reward, the history record, the trajectory, and at the
    /// terminal step the frozen grade.
    #[inline(always)]
    fn finish_step(&mut self, action: Action, outcome: Outcome, effects: Effects) -> StepResult {
        let (error, success) = (outcome.error(), outcome.success());
        self.last_error = error;
        self.last_outcome = outcome;
        let mut global = effects.global;
        global.set_outcome(success, error);
        self.flags |= u8::from(self.step_count >= self.scenario.max_steps) * DONE;
        let terminal = self.is_done();
        let v1 = self.is_v1();
        // The record goes in before the reward is known: ruleset v2's grade reads the
        // history (a control is failed by any remediation), so this step's score must
        // count this step's action. The history holds at most max_steps <= STEP_COUNT_MAX
        // records (the episode was not done, so step_count <= max_steps after the
        // increment).
        let record = Record {
            action,
            reward_milli: 0,
            success,
            expected: effects.expected,
        };
        let pushed = self.history.push(record);
        debug_assert!(pushed.is_ok());
        let mut reward_milli = effects.reward_milli;
        if v1 {
            if effects.credit_changed {
                self.v1_credit = grader::v1_credit(&self.scenario, &self.tally());
            }
            reward_milli = self.v1_reward(terminal);
        }
        if let Some(record) = self.history.last_mut() {
            record.reward_milli = reward_milli as i16;
        }
        let bound = TRAJECTORY_MAX_MILLI
            + Milli::from(v1) * (V1_TRAJECTORY_MAX_MILLI - TRAJECTORY_MAX_MILLI);
        let trajectory = (Milli::from(self.trajectory_milli) + reward_milli).clamp(-bound, bound);
        self.trajectory_milli = trajectory as i16;
        if terminal {
            self.end_episode(&mut global);
        }
        self.view_mut().set_global(global);
        // The original rules emit the 0.05 floor at the terminal step (§6.2 step 9).
        StepResult::emitted(outcome, reward_milli, terminal, terminal & !v1)
    }

    /// The terminal step: freeze the grade, mark the observation done (and resolved), and
    /// on resolution hide every alert.
    #[inline(always)]
    fn end_episode(&mut self, global: &mut obs::Global) {
        self.final_grade = Some(self.grade());
        let resolved = self.is_resolved();
        global.set_end(resolved);
        if resolved {
            self.view_mut().clear_alerts();
        }
    }

    /// Ruleset v1's reward: the change of the live score ([`grader::v1_score`]), plus, at
    /// the terminal step, the score at reset, so that an episode's rewards sum to its
    /// final score exactly.
    #[inline(always)]
    fn v1_reward(&mut self, terminal: bool) -> Milli {
        let score = if self.is_v2() {
            v2::score(self)
        } else {
            let (credit, row) = (self.v1_credit, self.v1_budget_row);
            grader::v1_score_kept(&self.scenario, &self.tally(), credit, row)
        };
        let reward = score - Milli::from(self.potential_milli)
            + Milli::from(terminal) * grader::V1_RESET_SCORE_MILLI;
        self.potential_milli = score as i16;
        reward
    }

    /// The mode a read (`source` 0 logs, 1 metrics) of `service` shows: the true `mode`,
    /// or with the scenario's probability its decoy, a fresh sample per step. Exact for
    /// the original tasks (no noise) and for fixed services.
    #[inline]
    fn sample(&self, service: Service, mode: Mode, source: u64) -> Mode {
        let s = service as usize;
        let bit = bit(service);
        let mislead = self.scenario.mislead_percent[s];
        if mislead == 0 {
            // Exact evidence: the original tasks, and generated services without noise.
            return mode;
        }
        let shows_truth = mode == Mode::Healthy && self.scenario.herring_mask & bit == 0;
        if shows_truth || self.fixed & bit != 0 {
            return mode;
        }
        let nonce = (s as u64) << 16 | source << 8 | u64::from(self.step_count);
        let roll = crate::seed::stream_seed(self.seed as u64, nonce) % 100;
        [mode, self.scenario.decoy[s]][usize::from(roll < u64::from(mislead))]
    }
    /// Return the service's current hidden failure mode (§4).
    #[must_use]
    pub fn mode(&self, service: Service) -> Mode {
        if self.is_v2() {
            // The timeline's: onsets, masking and landed fixes ([`crate::env::v2`]).
            return self.modes[service as usize];
        }
        self.scenario.mode_now(service, self.fixed)
    }

    /// Return the service's visible status (§4): `recovering` between fix and verification.
    #[must_use]
    pub fn status(&self, service: Service) -> Status {
        if contains(self.fixed & !self.verified, service) {
            Status::Recovering
        } else {
            let step = self.step_count;
            self.scenario.status_at(service, self.mode(service), step)
        }
    }

    /// Return the scenario this episode plays.
    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Return the original task this episode plays, or `None` for a generated incident
    /// (its text is the scenario's: [`Scenario::alerts`], [`Scenario::name`]).
    #[must_use]
    pub fn task_id(&self) -> Option<TaskId> {
        self.scenario.task_id()
    }

    /// Return the reset seed.
    #[must_use]
    pub fn seed(&self) -> i64 {
        self.seed
    }

    /// Return the number of steps taken.
    #[must_use]
    pub fn step_count(&self) -> u8 {
        self.step_count
    }

    /// Return `max(max_steps - step_count, 0)`.
    #[must_use]
    pub fn steps_remaining(&self) -> u8 {
        self.scenario.max_steps.saturating_sub(self.step_count)
    }

    /// Return whether the episode is over.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.flags & DONE != 0
    }

    /// Return whether every root was fixed and verified.
    #[must_use]
    pub fn is_resolved(&self) -> bool {
        self.flags & RESOLVED != 0
    }

    /// Return the raw trajectory reward in thousandths (the original's unclamped-at-0 value).
    #[must_use]
    pub fn trajectory_milli(&self) -> Milli {
        Milli::from(self.trajectory_milli)
    }

    /// Return the error of the last step (`None` after reset or a clean step).
    #[must_use]
    pub fn last_error(&self) -> Option<ErrorCode> {
        self.last_error
    }

    /// Return what the last step did (`Outcome::Reset` after reset).
    #[must_use]
    pub fn last_outcome(&self) -> Outcome {
        self.last_outcome
    }

    /// Return the grade frozen at the terminal step, if the episode ended.
    #[must_use]
    pub fn final_grade(&self) -> Option<Grade> {
        self.final_grade
    }

    /// Return the step at which the last root was fixed (time to mitigation), if it was.
    #[must_use]
    pub fn mitigated_at(&self) -> Option<u8> {
        (self.mitigated_at != 0).then_some(self.mitigated_at)
    }

    /// Return whether the episode ended by resolution (`terminated` in Gymnasium terms).
    #[must_use]
    pub fn terminated(&self) -> bool {
        self.is_resolved()
    }

    /// Return whether the episode ended at its step budget unresolved (`truncated`).
    #[must_use]
    pub fn truncated(&self) -> bool {
        self.is_done() && !self.is_resolved()
    }

    /// Return what the agent did, as the grade reads it.
    #[must_use]
    #[inline(always)]
    pub fn tally(&self) -> grader::Tally {
        grader::Tally {
            step_count: self.step_count,
            root_identified: self.root_identified,
            investigated: self.investigated,
            metrics_queried: self.metrics_queried,
            fixed: self.fixed,
            destructive_actions: self.counters.destructive_actions,
            invalid_actions: self.counters.invalid_actions,
        }
    }

    /// Grade the episode as it stands now (the live `/grader`), under its ruleset.
    #[must_use]
    #[inline(never)]
    pub fn grade(&self) -> Grade {
        match self.scenario.ruleset {
            Ruleset::V2 => v2::grade(self),
            _ => grader::grade(&self.scenario, &self.tally()),
        }
    }

    /// Return the destructive/invalid/correct counters.
    #[must_use]
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Return the action history, oldest first.
    #[must_use]
    pub fn history(&self) -> &[Record] {
        &self.history
    }

    /// Return the set of services whose logs were read.
    #[must_use]
    pub fn investigated(&self) -> ServiceMask {
        self.investigated
    }

    /// Return the set of services whose metrics were queried.
    #[must_use]
    pub fn metrics_queried(&self) -> ServiceMask {
        self.metrics_queried
    }

    /// Return the set of services whose dependencies were inspected one by one.
    #[must_use]
    pub fn inspected(&self) -> ServiceMask {
        self.inspected
    }

    /// Return whether the full graph was inspected.
    #[must_use]
    pub fn full_graph_inspected(&self) -> bool {
        self.full_graph
    }

    /// Return the set of services fixed successfully (`correct_fixes`).
    #[must_use]
    pub fn fixed(&self) -> ServiceMask {
        self.fixed
    }

    /// Return the set of services verified after a fix (`successful_verifications`).
    #[must_use]
    pub fn verified(&self) -> ServiceMask {
        self.verified
    }

    /// Return the set of services with at least one recorded diagnosis.
    #[must_use]
    pub fn diagnosed(&self) -> ServiceMask {
        self.diagnosed
    }

    /// Return the set of roots diagnosed with their configured mode (grader input).
    #[must_use]
    pub fn root_identified(&self) -> ServiceMask {
        self.root_identified
    }

    /// Return whether `list_services` was used.
    #[must_use]
    pub fn listed_services(&self) -> bool {
        self.flags & LISTED != 0
    }

    /// Return a reader of the current observation's fields.
    #[must_use]
    pub fn view(&self) -> View<&Blocks> {
        View::new(&self.obs)
    }

    /// Check every invariant of the state; used after restoring a snapshot. The final
    /// check replays the history from a fresh reset and compares (at most 14 steps).
    ///
    /// # Errors
    /// Returns the first violated invariant.
    pub fn check(&self) -> Result<(), Invariant> {
        use crate::topology::ALL_SERVICES;
        let task = &self.scenario;
        let masks = [
            self.investigated,
            self.metrics_queried,
            self.inspected,
            self.fixed,
            self.verified,
            self.diagnosed,
            self.root_identified,
        ];
        if masks.iter().any(|mask| mask & !ALL_SERVICES != 0) {
            return Err(Invariant::MaskOutOfRange);
        }
        if self.step_count > task.max_steps || usize::from(self.step_count) != self.history.len() {
            return Err(Invariant::StepCount);
        }
        if self.verified & !self.fixed != 0 || self.root_identified & !task.root_mask != 0 {
            return Err(Invariant::Inconsistent);
        }
        // A control (no root) ends only by its verification (`RESOLVED`).
        let all_verified = task.root_count > 0 && task.root_mask & !self.verified == 0;
        let control_resolved = task.root_count == 0 && self.is_resolved();
        let reached_end = self.step_count >= task.max_steps || all_verified || control_resolved;
        if self.is_done() != reached_end || self.is_done() != self.final_grade.is_some() {
            return Err(Invariant::Termination);
        }
        let bound = [TRAJECTORY_MAX_MILLI, V1_TRAJECTORY_MAX_MILLI]
            [usize::from(task.ruleset != Ruleset::Original)];
        if self.trajectory_milli().abs() > bound || self.flags & !7 != 0 {
            return Err(Invariant::Inconsistent);
        }
        // Every field is a function of the reset arguments and the actions taken, so the
        // state is valid exactly when replaying its history reproduces it. This ties the
        // masks, counters, flags and grade to the history (a restored state whose history
        // disagrees with its masks would otherwise break `record::Lists::of` or overflow a
        // counter on the next step). At most `STEP_COUNT_MAX` steps, from a fresh episode.
        let mut replay = Env::with_scenario(self.scenario, self.seed, self.stream);
        replay.draws = self.draws;
        for record in &self.history {
            let _ = replay.step(record.action);
        }
        if replay != *self {
            return Err(Invariant::History);
        }
        Ok(())
    }
}

/// A state invariant that a restored snapshot violates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invariant {
    /// A service mask has bits beyond the six services.
    MaskOutOfRange,
    /// `step_count` disagrees with the history or exceeds `max_steps`.
    StepCount,
    /// `done` disagrees with the step limit, the verifications or the frozen grade.
    Termination,
    /// Some other field disagrees with the rest.
    Inconsistent,
    /// The state is not what replaying its own action history from the reset gives.
    History,
}

impl core::fmt::Display for Invariant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Invariant::MaskOutOfRange => "a service mask has bits beyond the six services",
            Invariant::StepCount => "step_count disagrees with the history or max_steps",
            Invariant::Termination => "done disagrees with the limits or the frozen grade",
            Invariant::Inconsistent => "the state is internally inconsistent",
            Invariant::History => "the state disagrees with a replay of its action history",
        })
    }
}

impl core::error::Error for Invariant {}
