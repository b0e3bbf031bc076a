//! The numeric observation: a fixed-size byte array of what the agent has legitimately
//! seen, for RL training.
//!
//! Layout version 2 ([`LAYOUT_VERSION`], `OBS_LEN` = 72 bytes; byte offsets named in
//! [`field`]). For each service `s` in canonical order, 8 bytes at
//! `8 * s`:
//!
//! | offset | field | values |
//! |---|---|---|
//! | +0 | status shown in the summaries | 0 healthy, 1 degraded, 2 critical, 3 down, 4 recovering |
//! | +1 | most severe visible alert on the service | 0 none (or resolved), 1 low, 2 medium, 3 high, 4 critical |
//! | +2 | mode the last `read_logs` of it showed (noisy in generated tiers) | 0 never read, else 1 + mode index |
//! | +3 | mode the last `query_metrics` of it showed | 0 never queried, else 1 + mode index |
//! | +4 | its dependencies were inspected | 0 / 1; ruleset v2: 0 until its edges are shown, then `0x40` + its dependency mask ([`crate::env::v2`]) |
//! | +5 | last diagnosis the agent recorded for it | 0 none, else 1 + mode index |
//! | +6 | verdicts the agent received | bit 0 a diagnosis accepted, bit 1 a diagnosis rejected, bit 2 a fix rejected, bit 3 a fix relapsed (v1) |
//! | +7 | remediation | bit 0 fixed successfully, bit 1 verified after the fix, bit 2 (v2) the fix has not landed yet |
//!
//! Then 8 global bytes at 48:
//!
//! | offset | field |
//! |---|---|
//! | 48 | tier code: 0 easy .. 3 expert for the original tasks, 4 + tier for generated incidents (8..11 the graph tiers) |
//! | 49 | step count |
//! | 50 | steps remaining |
//! | 51 | max steps |
//! | 52 | flags: bit 0 services listed, bit 1 full graph inspected, bit 2 last action succeeded, bit 3 resolved, bit 4 done |
//! | 53 | last error: 0 none, else 1 + index in `ErrorCode::ALL` |
//! | 54 | destructive actions so far |
//! | 55 | invalid actions so far |
//!
//! Then 16 evidence bytes at 56:
//!
//! | offset | field |
//! |---|---|
//! | 56 + s | agreement run of service `s`'s `read_logs`: how many reads in a row showed the mode of the last one (0 never read) |
//! | 62 + s | the same for `query_metrics` |
//! | 68 | layout version (2) |
//! | 69 | ruleset: 0 original, 1 v1, 2 v2 |
//! | 70 | step at which the last root was fixed (time to mitigation), 0 before |
//! | 71 | ruleset v2: steps with users affected (the error budget burned); 0 otherwise |
//!
//! Nothing here reveals the hidden answer: statuses and alerts are in every HTTP
//! observation, and the rest records the results of the agent's own actions.

use core::borrow::{Borrow, BorrowMut};

use crate::constants::OBS_LEN;
use crate::outcome::ErrorCode;
use crate::scenario::Scenario;
use crate::task::{TASK_COUNT, TaskId};
use crate::topology::ServiceMask;
use crate::vocab::{Mode, SERVICE_COUNT, Status};

/// Version of the layout below; bumped whenever a byte's meaning changes.
pub const LAYOUT_VERSION: u8 = 2;

/// The observation's byte offsets by name (as smoltcp names packet fields).
pub mod field {
    use super::{GLOBAL_OFFSET, SERVICE_BLOCK};

    /// Offset of service `index`'s block.
    #[must_use]
    pub const fn service(index: usize) -> usize {
        index * SERVICE_BLOCK
    }
    /// In a service block: status shown in the summaries.
    pub const STATUS: usize = 0;
    /// In a service block: most severe visible alert.
    pub const ALERT: usize = 1;
    /// In a service block: mode the last `read_logs` showed.
    pub const LOGS: usize = 2;
    /// In a service block: mode the last `query_metrics` showed.
    pub const METRICS: usize = 3;
    /// In a service block: dependencies inspected.
    pub const INSPECTED: usize = 4;
    /// In a service block: last diagnosis recorded.
    pub const DIAGNOSIS: usize = 5;
    /// In a service block: verdicts received.
    pub const VERDICTS: usize = 6;
    /// In a service block: remediation bits.
    pub const REMEDIATION: usize = 7;
    /// Tier code: 0..3 the original tasks, 4 + tier for generated incidents.
    pub const TIER: usize = GLOBAL_OFFSET;
    /// Step count.
    pub const STEP_COUNT: usize = GLOBAL_OFFSET + 1;
    /// Steps remaining.
    pub const STEPS_REMAINING: usize = GLOBAL_OFFSET + 2;
    /// Step budget (`max_steps`).
    pub const MAX_STEPS: usize = GLOBAL_OFFSET + 3;
    /// Flags (listed, full graph, success, resolved, done).
    pub const FLAGS: usize = GLOBAL_OFFSET + 4;
    /// Last error, `1 + index` in `ErrorCode::ALL`.
    pub const LAST_ERROR: usize = GLOBAL_OFFSET + 5;
    /// Destructive actions so far.
    pub const DESTRUCTIVE: usize = GLOBAL_OFFSET + 6;
    /// Invalid actions so far.
    pub const INVALID: usize = GLOBAL_OFFSET + 7;
    /// Start of the six `read_logs` agreement runs (service `s` at `LOGS_RUN + s`).
    pub const LOGS_RUN: usize = EVIDENCE_OFFSET;
    /// Start of the six `query_metrics` agreement runs.
    pub const METRICS_RUN: usize = EVIDENCE_OFFSET + 6;
    /// The layout version ([`super::LAYOUT_VERSION`]).
    pub const VERSION: usize = EVIDENCE_OFFSET + 12;
    /// Ruleset: 0 original, 1 v1.
    pub const RULESET: usize = EVIDENCE_OFFSET + 13;
    /// Step at which the last root was fixed (time to mitigation), 0 before.
    pub const MITIGATED_AT: usize = EVIDENCE_OFFSET + 14;
    /// Ruleset v2: steps with users affected (the error budget burned); 0 otherwise.
    pub const BUDGET_BURNED: usize = EVIDENCE_OFFSET + 15;

    use super::EVIDENCE_OFFSET;
}

/// One numeric observation.
pub type Observation = [u8; OBS_LEN];

/// Bytes per service block.
pub const SERVICE_BLOCK: usize = 8;
/// Offset of the global block.
pub const GLOBAL_OFFSET: usize = SERVICE_COUNT * SERVICE_BLOCK;

/// Offset of the two evidence blocks (agreement runs, version, ruleset, mitigation).
pub const EVIDENCE_OFFSET: usize = GLOBAL_OFFSET + SERVICE_BLOCK;

const _: () = assert!(EVIDENCE_OFFSET + 2 * SERVICE_BLOCK == OBS_LEN);

/// The observation as seven 8-byte blocks (six services, then the global block): the
/// form [`Env`](crate::env::Env) caches it in.
pub type Blocks = [[u8; SERVICE_BLOCK]; BLOCK_COUNT];

/// Blocks of the observation: six services, the global block, two evidence blocks.
pub const BLOCK_COUNT: usize = SERVICE_COUNT + 3;

/// The flags byte ([`field::FLAGS`]).
pub mod flag {
    /// `list_services` was used.
    pub const LISTED: u8 = 1;
    /// The full dependency graph was inspected.
    pub const FULL_GRAPH: u8 = 2;
    /// The last action succeeded.
    pub const SUCCESS: u8 = 4;
    /// Every root was fixed and verified.
    pub const RESOLVED: u8 = 8;
    /// The episode is over.
    pub const DONE: u8 = 16;
}

/// The verdicts byte of a service block ([`field::VERDICTS`]).
pub mod verdict {
    /// A diagnosis of the service was accepted.
    pub const DIAGNOSIS_ACCEPTED: u8 = 1;
    /// A diagnosis of the service was rejected.
    pub const DIAGNOSIS_REJECTED: u8 = 2;
    /// A fix of the service was rejected.
    pub const FIX_REJECTED: u8 = 4;
    /// A fix of the service relapsed (ruleset v1: a deeper root is still broken).
    pub const FIX_RELAPSED: u8 = 8;
}

/// The remediation byte of a service block ([`field::REMEDIATION`]).
pub mod remediation {
    /// Fixed successfully.
    pub const FIXED: u8 = 1;
    /// Verified after the fix.
    pub const VERIFIED: u8 = 2;
    /// Ruleset v2: the fix has not landed yet.
    pub const PENDING: u8 = 4;
}

/// Ruleset v2: the bit of byte `+4` that says the service's edges are shown (its low six
/// bits are then its dependency mask).
pub const EDGES_SHOWN: u8 = 0x40;

/// Return the last-error byte of `error`: 0 none, else `1 + index` in [`ErrorCode::ALL`].
#[inline]
#[must_use]
pub const fn error_byte(error: Option<ErrorCode>) -> u8 {
    match error {
        Some(code) => 1 + code as u8,
        None => 0,
    }
}

/// Return the byte a mode shows as in the logs, metrics and diagnosis fields: `1 + index`.
#[inline]
const fn mode_byte(mode: Mode) -> u8 {
    1 + mode as u8
}

/// A typed view of the observation blocks, after smoltcp's packet views: a getter and a
/// setter per field, the only code outside the layout table above that knows offsets
/// and bits. `View<&Blocks>` reads; `View<&mut Blocks>` also writes.
///
/// A new field takes a name in [`field`], a row in the layout table, and a getter and
/// setter here (every byte is taken).
#[derive(Debug)]
pub struct View<T>(T);

impl<T: Borrow<Blocks>> View<T> {
    /// Wrap observation blocks.
    #[inline]
    pub const fn new(blocks: T) -> View<T> {
        View(blocks)
    }

    #[inline]
    fn byte(&self, offset: usize) -> u8 {
        self.0.borrow().as_flattened()[offset]
    }

    #[inline]
    fn service_byte(&self, service: usize, offset: usize) -> u8 {
        self.0.borrow()[service][offset]
    }

    /// Status byte of service `s` (a [`Status`] as `u8`).
    #[must_use]
    pub fn status(&self, s: usize) -> u8 {
        self.service_byte(s, field::STATUS)
    }
    /// Most severe visible alert on service `s` (0 none).
    #[must_use]
    pub fn alert(&self, s: usize) -> u8 {
        self.service_byte(s, field::ALERT)
    }
    /// Mode the last `read_logs` of service `s` showed (`1 + mode`, 0 never read).
    #[must_use]
    pub fn logs(&self, s: usize) -> u8 {
        self.service_byte(s, field::LOGS)
    }
    /// Mode the last `query_metrics` of service `s` showed (`1 + mode`, 0 never).
    #[must_use]
    pub fn metrics(&self, s: usize) -> u8 {
        self.service_byte(s, field::METRICS)
    }
    /// Whether service `s`'s dependencies were inspected.
    #[must_use]
    pub fn inspected(&self, s: usize) -> bool {
        self.service_byte(s, field::INSPECTED) != 0
    }
    /// Ruleset v2: the dependency edges of service `s`, if shown.
    #[must_use]
    pub fn edges(&self, s: usize) -> Option<ServiceMask> {
        let byte = self.service_byte(s, field::INSPECTED);
        (byte & EDGES_SHOWN != 0).then_some(byte & !EDGES_SHOWN)
    }
    /// Last diagnosis recorded for service `s` (`1 + mode`, 0 none).
    #[must_use]
    pub fn diagnosis(&self, s: usize) -> u8 {
        self.service_byte(s, field::DIAGNOSIS)
    }
    /// Verdict bits of service `s` ([`verdict`]).
    #[must_use]
    pub fn verdicts(&self, s: usize) -> u8 {
        self.service_byte(s, field::VERDICTS)
    }
    /// Remediation bits of service `s` ([`remediation`]).
    #[must_use]
    pub fn remediation(&self, s: usize) -> u8 {
        self.service_byte(s, field::REMEDIATION)
    }
    /// Agreement run of service `s`'s `read_logs`.
    #[must_use]
    pub fn logs_run(&self, s: usize) -> u8 {
        self.byte(field::LOGS_RUN + s)
    }
    /// Agreement run of service `s`'s `query_metrics`.
    #[must_use]
    pub fn metrics_run(&self, s: usize) -> u8 {
        self.byte(field::METRICS_RUN + s)
    }
    /// The global block as one word.
    #[must_use]
    pub fn global(&self) -> Global {
        Global(u64::from_le_bytes(self.0.borrow()[SERVICE_COUNT]))
    }
    /// Flag bits ([`flag`]).
    #[must_use]
    pub fn flags(&self) -> u8 {
        self.byte(field::FLAGS)
    }
    /// Step count.
    #[must_use]
    pub fn step_count(&self) -> u8 {
        self.byte(field::STEP_COUNT)
    }
    /// Destructive actions so far.
    #[must_use]
    pub fn destructive(&self) -> u8 {
        self.byte(field::DESTRUCTIVE)
    }
    /// Invalid actions so far.
    #[must_use]
    pub fn invalid(&self) -> u8 {
        self.byte(field::INVALID)
    }
    /// Step at which the last root was fixed, 0 before.
    #[must_use]
    pub fn mitigated_at(&self) -> u8 {
        self.byte(field::MITIGATED_AT)
    }
    /// Ruleset v2: steps with users affected so far.
    #[must_use]
    pub fn budget_burned(&self) -> u8 {
        self.byte(field::BUDGET_BURNED)
    }
}

impl<T: BorrowMut<Blocks>> View<T> {
    #[inline]
    fn blocks_mut(&mut self) -> &mut Blocks {
        self.0.borrow_mut()
    }

    #[inline]
    fn byte_mut(&mut self, offset: usize) -> &mut u8 {
        &mut self.blocks_mut().as_flattened_mut()[offset]
    }

    #[inline]
    fn service_mut(&mut self, s: usize) -> &mut [u8; SERVICE_BLOCK] {
        &mut self.blocks_mut()[s]
    }

    /// Store the global block.
    #[inline]
    pub(crate) fn set_global(&mut self, global: Global) {
        self.blocks_mut()[SERVICE_COUNT] = global.0.to_le_bytes();
    }
    /// Record that service `s`'s dependencies were inspected.
    #[inline]
    pub(crate) fn set_inspected(&mut self, s: usize) {
        self.service_mut(s)[field::INSPECTED] = 1;
    }
    /// Record a `read_logs` of service `s` that showed `shown`, and its agreement run.
    #[inline]
    pub(crate) fn record_logs(&mut self, s: usize, shown: Mode) {
        self.record_read(s, field::LOGS, field::LOGS_RUN, shown);
    }
    /// Record a `query_metrics` of service `s` that showed `shown`, and its agreement run.
    #[inline]
    pub(crate) fn record_metrics(&mut self, s: usize, shown: Mode) {
        self.record_read(s, field::METRICS, field::METRICS_RUN, shown);
    }
    /// The shared rule of the two reads: the run grows while reads show the mode of the
    /// last one, and restarts at 1 otherwise.
    #[inline]
    fn record_read(&mut self, s: usize, last: usize, runs: usize, shown: Mode) {
        let shown = mode_byte(shown);
        let same = self.service_mut(s)[last] == shown;
        self.service_mut(s)[last] = shown;
        let run = self.byte_mut(runs + s);
        *run = [1, run.saturating_add(1)][usize::from(same)];
    }
    /// Record the diagnosis the agent gave service `s`.
    #[inline]
    pub(crate) fn set_diagnosis(&mut self, s: usize, diagnosis: Mode) {
        self.service_mut(s)[field::DIAGNOSIS] = mode_byte(diagnosis);
    }
    /// Add verdict bits ([`verdict`]) to service `s`.
    #[inline]
    pub(crate) fn add_verdict(&mut self, s: usize, bits: u8) {
        self.service_mut(s)[field::VERDICTS] |= bits;
    }
    /// Ruleset v2: show service `s`'s dependency edges `calls`.
    #[inline]
    pub(crate) fn set_edges(&mut self, s: usize, calls: ServiceMask) {
        self.service_mut(s)[field::INSPECTED] = EDGES_SHOWN | calls;
    }
    /// Set service `s`'s status byte.
    #[inline]
    pub(crate) fn set_status(&mut self, s: usize, status: Status) {
        self.service_mut(s)[field::STATUS] = status as u8;
    }
    /// Ruleset v2: mark service `s`'s fix as not landed yet, or landed.
    #[inline]
    pub(crate) fn set_pending(&mut self, s: usize, pending: bool) {
        let byte = &mut self.service_mut(s)[field::REMEDIATION];
        *byte = (*byte & !remediation::PENDING) | (remediation::PENDING * u8::from(pending));
    }
    /// Ruleset v2: record the error budget burned.
    #[inline]
    pub(crate) fn set_budget_burned(&mut self, steps: u8) {
        *self.byte_mut(field::BUDGET_BURNED) = steps;
    }
    /// Service `s` was fixed: recovering, not yet verified.
    #[inline]
    pub(crate) fn set_fixed(&mut self, s: usize) {
        let block = self.service_mut(s);
        block[field::STATUS] = Status::Recovering as u8;
        block[field::REMEDIATION] = remediation::FIXED;
    }
    /// Service `s` was verified after its fix and shows `status`.
    #[inline]
    pub(crate) fn set_verified(&mut self, s: usize, status: Status) {
        let block = self.service_mut(s);
        block[field::STATUS] = status as u8;
        block[field::REMEDIATION] = remediation::FIXED | remediation::VERIFIED;
    }
    /// Record the step at which the last root was fixed.
    #[inline]
    pub(crate) fn set_mitigated_at(&mut self, step: u8) {
        *self.byte_mut(field::MITIGATED_AT) = step;
    }
    /// Rewrite every service's status after a root's fix, which can end the symptoms it
    /// caused: recovering between fix and verification, else the scenario's status while
    /// broken, else healthy (six branch-free iterations).
    #[inline]
    pub(crate) fn set_statuses(
        &mut self,
        scenario: &Scenario,
        fixed: ServiceMask,
        verified: ServiceMask,
    ) {
        for s in 0..SERVICE_COUNT {
            let broken = scenario.cause[s] & !fixed != 0;
            let status = [Status::Healthy, scenario.status[s]][usize::from(broken)];
            let recovering = fixed & !verified & (1 << s) != 0;
            self.service_mut(s)[field::STATUS] =
                [status, Status::Recovering][usize::from(recovering)] as u8;
        }
    }
    /// Hide every alert (the incident is resolved).
    #[inline]
    pub(crate) fn clear_alerts(&mut self) {
        for block in &mut self.blocks_mut()[..SERVICE_COUNT] {
            block[field::ALERT] = 0;
        }
    }
}

/// The bit position of global-block byte `offset` in [`Global`]'s word.
const fn shift(offset: usize) -> u32 {
    8 * (offset - GLOBAL_OFFSET) as u32
}

/// The global block held as one little-endian word while a step runs: the step changes
/// several of its bytes, and one load and one store cost half the instructions of
/// byte-by-byte writes. Its setters are the only code that knows the bytes' positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global(u64);

impl Global {
    /// One more step: step count +1, steps remaining −1 (the caller ensures
    /// `step_count < max_steps`, so no byte carries or borrows).
    #[inline]
    pub(crate) fn next_step(&mut self) {
        self.0 = self.0 + (1 << shift(field::STEP_COUNT)) - (1 << shift(field::STEPS_REMAINING));
    }
    /// Set flag bits ([`flag`]).
    #[inline]
    pub(crate) fn set_flags(&mut self, bits: u8) {
        self.0 |= u64::from(bits) << shift(field::FLAGS);
    }
    /// Count one destructive action.
    #[inline]
    pub(crate) fn count_destructive(&mut self) {
        self.0 += 1 << shift(field::DESTRUCTIVE);
    }
    /// Count one invalid action.
    #[inline]
    pub(crate) fn count_invalid(&mut self) {
        self.0 += 1 << shift(field::INVALID);
    }
    /// Record the step's outcome: the success flag and the last error.
    #[inline]
    pub(crate) fn set_outcome(&mut self, success: bool, error: Option<ErrorCode>) {
        let success_bit = u64::from(flag::SUCCESS) << shift(field::FLAGS);
        let error_bits = 0xff << shift(field::LAST_ERROR);
        self.0 = (self.0 & !(success_bit | error_bits))
            | (u64::from(success) * success_bit)
            | u64::from(error_byte(error)) << shift(field::LAST_ERROR);
    }
    /// Mark the episode over (and resolved, when it is).
    #[inline]
    pub(crate) fn set_end(&mut self, resolved: bool) {
        self.set_flags(flag::DONE | (u8::from(resolved) * flag::RESOLVED));
    }
    /// The flags byte ([`flag`]).
    #[must_use]
    pub const fn flags(self) -> u8 {
        (self.0 >> shift(field::FLAGS)) as u8
    }
}

/// Write the observation of `env` (an [`crate::Env`], which keeps its observation blocks
/// up to date as it steps) into `out`: a copy.
#[inline]
pub fn encode(env: &impl AsRef<Blocks>, out: &mut Observation) {
    out.copy_from_slice(env.as_ref().as_flattened());
}

/// Return the observation right after `reset` into `scenario` (every root and affected
/// service broken, nothing seen, the reset's `success` flag set).
#[must_use]
pub(crate) const fn reset_blocks(scenario: &Scenario) -> Blocks {
    let mut out = [[0; SERVICE_BLOCK]; BLOCK_COUNT];
    let broken = scenario.broken_mask(0);
    let mut s = 0;
    while s < SERVICE_COUNT {
        if broken & (1 << s) != 0 {
            out[s][field::STATUS] = scenario.status[s] as u8;
        }
        if let Some(severity) = scenario.alert[s] {
            out[s][field::ALERT] = severity.priority();
        }
        s += 1;
    }
    let global = &mut out[SERVICE_COUNT];
    global[field::TIER - GLOBAL_OFFSET] = scenario.tier_code();
    global[field::STEPS_REMAINING - GLOBAL_OFFSET] = scenario.max_steps;
    global[field::MAX_STEPS - GLOBAL_OFFSET] = scenario.max_steps;
    global[field::FLAGS - GLOBAL_OFFSET] = flag::SUCCESS;
    let evidence = &mut out[SERVICE_COUNT + 2];
    evidence[field::VERSION - EVIDENCE_OFFSET - SERVICE_BLOCK] = LAYOUT_VERSION;
    evidence[field::RULESET - EVIDENCE_OFFSET - SERVICE_BLOCK] = scenario.ruleset as u8;
    out
}

/// `TASK_RESET[task]`: [`reset_blocks`] of each original task, computed at compile time
/// (a reset of an original task is a copy).
pub(crate) static TASK_RESET: [Blocks; TASK_COUNT] = [
    reset_blocks(&Scenario::task(TaskId::Easy)),
    reset_blocks(&Scenario::task(TaskId::Medium)),
    reset_blocks(&Scenario::task(TaskId::Hard)),
    reset_blocks(&Scenario::task(TaskId::Expert)),
];
