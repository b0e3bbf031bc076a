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
//! | +4 | its dependencies were inspected | 0 / 1 |
//! | +5 | last diagnosis the agent recorded for it | 0 none, else 1 + mode index |
//! | +6 | verdicts the agent received | bit 0 a diagnosis accepted, bit 1 a diagnosis rejected, bit 2 a fix rejected, bit 3 a fix relapsed (v1) |
//! | +7 | remediation | bit 0 fixed successfully, bit 1 verified after the fix |
//!
//! Then 8 global bytes at 48:
//!
//! | offset | field |
//! |---|---|
//! | 48 | tier code: 0 easy .. 3 expert for the original tasks, 4 + tier for generated incidents |
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
//! | 69 | ruleset: 0 original, 1 v1 |
//! | 70 | step at which the last root was fixed (time to mitigation), 0 before |
//! | 71 | reserved, 0 |
//!
//! Nothing here reveals the hidden answer: statuses and alerts are in every HTTP
//! observation, and the rest records the results of the agent's own actions.

use crate::env::Env;
#[cfg(test)]
use crate::env::{DONE, LISTED, RESOLVED};
use crate::limits::OBS_LEN;
use crate::scenario::Scenario;
use crate::task::{TASK_COUNT, TaskId};
#[cfg(test)]
use crate::topology::contains;
#[cfg(test)]
use crate::vocab::Service;
use crate::vocab::{SERVICE_COUNT, Status};

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
    /// Reserved, always 0.
    pub const RESERVED: usize = EVIDENCE_OFFSET + 15;

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
/// form [`Env`] caches it in.
pub type Blocks = [[u8; SERVICE_BLOCK]; BLOCK_COUNT];

/// Blocks of the observation: six services, the global block, two evidence blocks.
pub const BLOCK_COUNT: usize = SERVICE_COUNT + 3;

/// Write the observation of `env` into `out`.
///
/// The environment keeps its observation up to date as it steps (see [`Env::step`] and
/// [`Env::step_index`]), so this is a 56-byte copy.
#[inline]
pub fn encode(env: &Env, out: &mut Observation) {
    out.copy_from_slice(env.obs.as_flattened());
}

#[cfg(test)]
/// Return the broken-service mask of `env` (the rule of [`Env::mode`] on whole masks).
#[inline]
pub(crate) fn broken_mask(env: &Env) -> u8 {
    env.scenario.broken_mask(env.fixed)
}

#[cfg(test)]
/// Return the 8-byte block of `service` computed from the state (`broken` is
/// [`broken_mask`]), assembled as one `u64`.
#[inline]
pub(crate) fn service_block(env: &Env, broken: u8, service: Service) -> [u8; SERVICE_BLOCK] {
    let index = service as usize;
    let bit = 1u8 << index;
    let fixed = env.fixed & bit != 0;
    let verified = env.verified & bit != 0;
    let scenario = &env.scenario;
    // `Env::status`: recovering between fix and verification, else the mode's status.
    let status = if fixed && !verified {
        Status::Recovering
    } else {
        [Status::Healthy, scenario.status[index]][usize::from(broken & bit != 0)]
    };
    let severity = match scenario.alert[index] {
        Some(severity) if !env.is_resolved() => severity.priority(),
        _ => 0,
    };
    let seen = env.seen[index];
    [
        status as u8,
        severity,
        seen.logs,
        seen.metrics,
        u8::from(env.inspected & bit != 0),
        seen.diagnosis,
        seen.verdicts,
        u8::from(fixed) | u8::from(verified) << 1,
    ]
}

/// Return the global block computed from the state.
#[cfg(test)]
pub(crate) fn global_block(env: &Env) -> [u8; SERVICE_BLOCK] {
    let scenario = &env.scenario;
    // Bit 0 listed, 1 full graph, 2 success, 3 resolved, 4 done.
    let flags = u64::from(env.flags & LISTED) >> 2
        | (u64::from(env.full_graph) << 1)
        | (u64::from(env.last_outcome.success()) << 2)
        | (u64::from(env.flags & RESOLVED) << 2)
        | (u64::from(env.flags & DONE) << 4);
    let counters = env.counters;
    // Assembled as one word: byte-by-byte stores cost twice the instructions.
    let word = u64::from(scenario.tier_code())
        | u64::from(env.step_count) << 8
        | u64::from(scenario.max_steps.saturating_sub(env.step_count)) << 16
        | u64::from(scenario.max_steps) << 24
        | flags << 32
        | u64::from(env.last_error.map_or(0, |code| 1 + code as u8)) << 40
        | u64::from(counters.destructive_actions) << 48
        | u64::from(counters.invalid_actions) << 56;
    word.to_le_bytes()
}

/// Global block as a little-endian `u64`: the flags byte's `services listed` bit.
pub(crate) const GLOBAL_LISTED: u64 = 1 << 32;
/// Global block: the flags byte's `full graph inspected` bit.
pub(crate) const GLOBAL_FULL_GRAPH: u64 = 2 << 32;
/// Global block: one invalid action (added to byte 55).
pub(crate) const GLOBAL_INVALID_ONE: u64 = 1 << 56;
/// Global block: one destructive action (added to byte 54).
pub(crate) const GLOBAL_DESTRUCTIVE_ONE: u64 = 1 << 48;
/// Global block: the bits a step's outcome decides (flags bit 2 `success`, byte 53 error).
pub(crate) const GLOBAL_OUTCOME: u64 = 4 << 32 | 0xff << 40;

/// Return the global block's outcome bits (see [`GLOBAL_OUTCOME`]) for `success` and the
/// error byte `error`.
#[inline]
pub(crate) const fn global_outcome(success: bool, error: u8) -> u64 {
    (success as u64) << 34 | (error as u64) << 40
}

/// Return the global block's bits set when the episode ends: flags bit 4 `done`, and bit 3
/// when it ended `resolved`.
#[inline]
pub(crate) const fn global_end(resolved: bool) -> u64 {
    (resolved as u64) << 35 | 1 << 36
}

/// Return every block computed from the state (what [`Env`] caches).
#[cfg(test)]
pub(crate) fn blocks(env: &Env) -> Blocks {
    let broken = broken_mask(env);
    let mut out = [[0; SERVICE_BLOCK]; BLOCK_COUNT];
    for (block, service) in out.iter_mut().zip(Service::ALL) {
        *block = service_block(env, broken, service);
    }
    out[SERVICE_COUNT] = global_block(env);
    let flat = out.as_flattened_mut();
    for (index, seen) in env.seen().iter().enumerate() {
        flat[field::LOGS_RUN + index] = seen.logs_run;
        flat[field::METRICS_RUN + index] = seen.metrics_run;
    }
    flat[field::VERSION] = LAYOUT_VERSION;
    flat[field::RULESET] = env.scenario().ruleset as u8;
    flat[field::MITIGATED_AT] = env.mitigated_at().unwrap_or(0);
    out
}

/// Recompute every service block from the state (what the reference step did after any
/// change of `fixed` or `verified`).
#[cfg(test)]
pub(crate) fn refresh_services_reference(env: &mut Env) {
    let broken = broken_mask(env);
    for service in Service::ALL {
        env.obs[service as usize] = service_block(env, broken, service);
    }
}

/// Rewrite every service's status byte after a root's fix, which can end the symptoms it
/// caused: recovering between fix and verification, else the scenario's status while
/// broken, else healthy (six branch-free iterations).
pub(crate) fn refresh_statuses(env: &mut Env) {
    let (fixed, verified) = (env.fixed, env.verified);
    for s in 0..SERVICE_COUNT {
        let bit = 1u8 << s;
        let broken = env.scenario.cause[s] & !fixed != 0;
        let status = [Status::Healthy, env.scenario.status[s]][usize::from(broken)];
        let recovering = fixed & !verified & bit != 0;
        env.obs[s][field::STATUS] = [status, Status::Recovering][usize::from(recovering)] as u8;
    }
}

/// Hide every alert (the incident is resolved).
pub(crate) fn clear_alerts(env: &mut Env) {
    for block in &mut env.obs[..SERVICE_COUNT] {
        block[field::ALERT] = 0;
    }
}

/// Return the observation right after `reset` into `scenario` (every root and affected
/// service broken, nothing seen, `success` set by the reset outcome).
#[must_use]
pub(crate) const fn reset_blocks(scenario: &Scenario) -> Blocks {
    let mut out = [[0; SERVICE_BLOCK]; BLOCK_COUNT];
    let broken = scenario.broken_mask(0);
    let mut s = 0;
    while s < SERVICE_COUNT {
        if broken & (1 << s) != 0 {
            out[s][0] = scenario.status[s] as u8;
        }
        if let Some(severity) = scenario.alert[s] {
            out[s][1] = severity.priority();
        }
        s += 1;
    }
    // Flags: only bit 2, the reset outcome's success.
    let steps = scenario.max_steps;
    out[SERVICE_COUNT] = [scenario.tier_code(), 0, steps, steps, 4, 0, 0, 0];
    out[SERVICE_COUNT + 2] = [0, 0, 0, 0, LAYOUT_VERSION, scenario.ruleset as u8, 0, 0];
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

/// The straightforward encoder `encode` must agree with, byte for byte.
#[cfg(test)]
fn encode_reference(env: &Env, out: &mut Observation) {
    let task = env.scenario();
    let resolved = env.is_resolved();
    let seen = env.seen();
    for service in Service::ALL {
        let index = service as usize;
        let block = &mut out[index * SERVICE_BLOCK..(index + 1) * SERVICE_BLOCK];
        let severity = if resolved {
            0
        } else {
            task.alert[index].map_or(0, |s| s.priority())
        };
        let remediation = u8::from(contains(env.fixed(), service))
            | (u8::from(contains(env.verified(), service)) << 1);
        block.copy_from_slice(&[
            env.status(service) as u8,
            severity,
            seen[index].logs,
            seen[index].metrics,
            u8::from(contains(env.inspected(), service)),
            seen[index].diagnosis,
            seen[index].verdicts,
            remediation,
        ]);
    }
    let flags = u8::from(env.listed_services())
        | (u8::from(env.full_graph_inspected()) << 1)
        | (u8::from(env.last_outcome().success()) << 2)
        | (u8::from(resolved) << 3)
        | (u8::from(env.is_done()) << 4);
    let counters = env.counters();
    for (index, seen) in seen.iter().enumerate() {
        out[field::LOGS_RUN + index] = seen.logs_run;
        out[field::METRICS_RUN + index] = seen.metrics_run;
    }
    out[field::VERSION] = LAYOUT_VERSION;
    out[field::RULESET] = env.scenario().ruleset as u8;
    out[field::MITIGATED_AT] = env.mitigated_at().unwrap_or(0);
    out[field::RESERVED] = 0;
    out[GLOBAL_OFFSET..EVIDENCE_OFFSET].copy_from_slice(&[
        task.tier_code(),
        env.step_count(),
        env.steps_remaining(),
        task.max_steps,
        flags,
        env.last_error().map_or(0, |code| 1 + code as u8),
        counters.destructive_actions,
        counters.invalid_actions,
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::ACTION_COUNT;

    #[test]
    fn encode_matches_the_reference_on_random_trajectories() {
        // Goal: the cached observation (kept up to date incrementally by `step_index` and
        // recomputed by `step`) holds exactly the bytes of the field-by-field encoder, in
        // every task, at every step, including after done and out-of-range indices.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for episode in 0..4000 {
            let task = TaskId::ALL[episode % TASK_COUNT];
            let mut env = Env::new(task, episode as i64, 0);
            // Bias towards the task's own services so fixes and verifications happen.
            for _ in 0..20 {
                let index = match next(4) {
                    0 => next(ACTION_COUNT as u64 + 8),
                    _ => next(ACTION_COUNT as u64),
                } as u8;
                if episode % 2 == 0 {
                    let _ = env.step_index(index);
                } else {
                    let action = crate::action::Action::from_index(index).unwrap_or_default();
                    let _ = env.step(action);
                }
                assert_eq!(env.obs, blocks(&env), "{env:?}");
                let (mut fast, mut slow) = ([0; OBS_LEN], [0; OBS_LEN]);
                encode(&env, &mut fast);
                encode_reference(&env, &mut slow);
                assert_eq!(fast, slow, "{env:?}");
            }
        }
    }

    #[test]
    fn reset_observations_are_the_computed_ones() {
        // Goal: the precomputed reset observation of each task is what the encoder gives.
        for task in TaskId::ALL {
            let env = Env::new(task, 3, 0);
            assert_eq!(reset_blocks(env.scenario()), blocks(&env));
            let (mut fast, mut slow) = ([0; OBS_LEN], [0; OBS_LEN]);
            encode(&env, &mut fast);
            encode_reference(&env, &mut slow);
            assert_eq!(fast, slow);
        }
    }

    #[test]
    fn encode_matches_the_reference_on_solved_episodes() {
        // Goal: recovering, verified and resolved states (rare under random actions) agree.
        use crate::action::Action;
        use crate::vocab::ActionType;
        for task_id in TaskId::ALL {
            let task = task_id.task();
            let mut env = Env::new(task_id, 7, 0);
            let check = |env: &Env| {
                let (mut fast, mut slow) = ([0; OBS_LEN], [0; OBS_LEN]);
                encode(env, &mut fast);
                encode_reference(env, &mut slow);
                assert_eq!(fast, slow, "{env:?}");
            };
            for symptom in task.symptoms {
                let _ = env.step(Action::apply_fix(
                    symptom.service,
                    crate::vocab::Fix::ALL[0],
                ));
                check(&env);
            }
            for root in task.roots {
                let _ = env.step(Action::apply_fix(root.service, root.fix));
                check(&env);
                let _ = env.step(Action::on(ActionType::VerifyHealth, root.service));
                check(&env);
            }
            let _ = env.step(Action::list_services());
            check(&env);
        }
    }
}
