//! The numeric observation: a fixed-size byte array of what the agent has legitimately
//! seen, for RL training.
//!
//! Layout (`OBS_LEN` = 56 bytes). For each service `s` in canonical order, 8 bytes at
//! `8 * s`:
//!
//! | offset | field | values |
//! |---|---|---|
//! | +0 | status shown in the summaries | 0 healthy, 1 degraded, 2 critical, 3 down, 4 recovering |
//! | +1 | most severe visible alert on the service | 0 none (or resolved), 1 low, 2 medium, 3 high, 4 critical |
//! | +2 | mode the last `read_logs` of it showed | 0 never read, else 1 + mode index |
//! | +3 | mode the last `query_metrics` of it showed | 0 never queried, else 1 + mode index |
//! | +4 | its dependencies were inspected | 0 / 1 |
//! | +5 | last diagnosis the agent recorded for it | 0 none, else 1 + mode index |
//! | +6 | verdicts the agent received | bit 0 a diagnosis accepted, bit 1 a diagnosis rejected, bit 2 a fix rejected |
//! | +7 | remediation | bit 0 fixed successfully, bit 1 verified after the fix |
//!
//! Then 8 global bytes at 48:
//!
//! | offset | field |
//! |---|---|
//! | 48 | task index (0 easy .. 3 expert) |
//! | 49 | step count |
//! | 50 | steps remaining |
//! | 51 | max steps |
//! | 52 | flags: bit 0 services listed, bit 1 full graph inspected, bit 2 last action succeeded, bit 3 resolved, bit 4 done |
//! | 53 | last error: 0 none, else 1 + index in `ErrorCode::ALL` |
//! | 54 | destructive actions so far |
//! | 55 | invalid actions so far |
//!
//! Nothing here reveals the hidden answer: statuses and alerts are in every HTTP
//! observation, and the rest records the results of the agent's own actions.

use crate::env::{DONE, Env, LISTED, RESOLVED};
use crate::limits::OBS_LEN;
use crate::task::{TASK_COUNT, TaskId};
#[cfg(test)]
use crate::topology::contains;
use crate::vocab::{SERVICE_COUNT, Service, Status};

/// One numeric observation.
pub type Observation = [u8; OBS_LEN];

/// Bytes per service block.
pub const SERVICE_BLOCK: usize = 8;
/// Offset of the global block.
pub const GLOBAL_OFFSET: usize = SERVICE_COUNT * SERVICE_BLOCK;

const _: () = assert!(GLOBAL_OFFSET + 8 == OBS_LEN);

/// Bit of a [`DYNAMIC`] index: the service was fixed.
const FIXED_BIT: usize = 1;
/// Bit of a [`DYNAMIC`] index: the service was verified.
const VERIFIED_BIT: usize = 2;
/// Bit of a [`DYNAMIC`] index: the service's mode is broken (see [`Env::mode`]).
const BROKEN_BIT: usize = 4;
/// Bit of a [`DYNAMIC`] index: the service's dependencies were inspected.
const INSPECTED_BIT: usize = 8;

/// `DYNAMIC[task][resolved][service][index]`: the service block's bytes 0 (status),
/// 1 (alert severity), 4 (inspected) and 7 (remediation) as a little-endian `u64`, for
/// every combination of the four per-service bits of `index`. The remaining bytes come
/// from [`crate::env::Seen`].
static DYNAMIC: [[[[u64; 16]; SERVICE_COUNT]; 2]; TASK_COUNT] = {
    let mut out = [[[[0; 16]; SERVICE_COUNT]; 2]; TASK_COUNT];
    let mut t = 0;
    while t < TASK_COUNT {
        let task = TaskId::ALL[t].task();
        let mut resolved = 0;
        while resolved < 2 {
            let mut s = 0;
            while s < SERVICE_COUNT {
                let mut index = 0;
                while index < 16 {
                    let fixed = index & FIXED_BIT != 0;
                    let verified = index & VERIFIED_BIT != 0;
                    // `Env::status`: recovering between fix and verification, else the
                    // mode's status.
                    let status = if fixed && !verified {
                        Status::Recovering as u64
                    } else if index & BROKEN_BIT != 0 {
                        task.broken_mode[s].status() as u64
                    } else {
                        Status::Healthy as u64
                    };
                    let severity = match task.alert_severity[s] {
                        Some(severity) if resolved == 0 => severity.priority() as u64,
                        _ => 0,
                    };
                    let inspected = (index & INSPECTED_BIT != 0) as u64;
                    let remediation = fixed as u64 | (verified as u64) << 1;
                    out[t][resolved][s][index] =
                        status | severity << 8 | inspected << 32 | remediation << 56;
                    index += 1;
                }
                s += 1;
            }
            resolved += 1;
        }
        t += 1;
    }
    out
};

/// The observation as seven 8-byte blocks (six services, then the global block): the
/// form [`Env`] caches it in.
pub type Blocks = [[u8; SERVICE_BLOCK]; SERVICE_COUNT + 1];

/// Write the observation of `env` into `out`.
///
/// The environment keeps its observation up to date as it steps (see [`Env::step`] and
/// [`Env::step_index`]), so this is a 56-byte copy.
#[inline]
pub fn encode(env: &Env, out: &mut Observation) {
    out.copy_from_slice(env.obs.as_flattened());
}

/// Return the broken-service mask of `env` (the rule of [`Env::mode`] on whole masks): a
/// root is broken until fixed; an affected service while any root is unfixed.
#[inline]
pub(crate) fn broken_mask(env: &Env) -> u8 {
    let task = env.task();
    let unfixed_roots = task.root_mask & !env.fixed;
    let affected_broken = task.affected_mask & 0u8.wrapping_sub(u8::from(unfixed_roots != 0));
    unfixed_roots | affected_broken
}

/// Return the 8-byte block of `service` computed from the state (`broken` is
/// [`broken_mask`]).
///
/// Branch-free: the four masks that decide a service's status, alert, inspection and
/// remediation bytes are packed one per byte of a `u32`, the service's four bits are
/// gathered with one multiplication into an index of the precomputed [`DYNAMIC`] table,
/// and the block is assembled as one `u64`. The status follows the rule of
/// [`Env::status`] evaluated on whole service masks.
#[inline]
pub(crate) fn service_block(env: &Env, broken: u8, service: Service) -> [u8; SERVICE_BLOCK] {
    let index = service as usize;
    let masks = u32::from_le_bytes([env.fixed, env.verified, broken, env.inspected]);
    let table = &DYNAMIC[env.task as usize][usize::from(env.is_resolved())];
    // Bits index, 8 + index, 16 + index, 24 + index -> bits 21..25 (no carries: the
    // partial products land on distinct positions).
    let spread = (masks >> index) & 0x0101_0101;
    let gathered = ((spread.wrapping_mul(0x0020_4081) >> 21) & 0xf) as usize;
    let seen = env.seen[index];
    // One 4-byte load: logs, metrics, diagnosis, verdicts go to bytes 2, 3, 5, 6.
    let seen = u64::from(u32::from_le_bytes([
        seen.logs,
        seen.metrics,
        seen.diagnosis,
        seen.verdicts,
    ]));
    let word = table[index][gathered] | (seen & 0xffff) << 16 | (seen & 0xffff_0000) << 24;
    word.to_le_bytes()
}

/// Return the global block computed from the state.
#[inline]
pub(crate) fn global_block(env: &Env) -> [u8; SERVICE_BLOCK] {
    let task = env.task();
    // Bit 0 listed, 1 full graph, 2 success, 3 resolved, 4 done.
    let flags = u64::from(env.flags & LISTED) >> 2
        | (u64::from(env.full_graph) << 1)
        | (u64::from(env.last_outcome.success()) << 2)
        | (u64::from(env.flags & RESOLVED) << 2)
        | (u64::from(env.flags & DONE) << 4);
    let counters = env.counters;
    // Assembled as one word: byte-by-byte stores cost twice the instructions.
    let word = env.task as u64
        | u64::from(env.step_count) << 8
        | u64::from(task.max_steps.saturating_sub(env.step_count)) << 16
        | u64::from(task.max_steps) << 24
        | flags << 32
        | u64::from(env.last_error.map_or(0, |code| 1 + code as u8)) << 40
        | u64::from(counters.destructive_actions) << 48
        | u64::from(counters.invalid_actions) << 56;
    word.to_le_bytes()
}

/// Global block as a little-endian `u64`: the flags byte's `services listed` bit.
pub(crate) const GLOBAL_LISTED: u64 = 1 << 32;
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
pub(crate) fn blocks(env: &Env) -> Blocks {
    let broken = broken_mask(env);
    let mut out = [[0; SERVICE_BLOCK]; SERVICE_COUNT + 1];
    for (block, service) in out.iter_mut().zip(Service::ALL) {
        *block = service_block(env, broken, service);
    }
    out[SERVICE_COUNT] = global_block(env);
    out
}

/// Refresh the service blocks' status, alert and remediation bytes of every service after
/// `fixed` or `verified` changed (which changes modes, statuses and, on resolution, alerts).
pub(crate) fn refresh_services(env: &mut Env) {
    let broken = broken_mask(env);
    for service in Service::ALL {
        env.obs[service as usize] = service_block(env, broken, service);
    }
}

/// `RESET[task]`: the observation right after `reset` (every root and affected service
/// broken, nothing seen, `success` set by the reset outcome).
pub(crate) static RESET: [Blocks; TASK_COUNT] = {
    let mut out = [[[0; SERVICE_BLOCK]; SERVICE_COUNT + 1]; TASK_COUNT];
    let mut t = 0;
    while t < TASK_COUNT {
        let task = TaskId::ALL[t].task();
        let broken = task.root_mask | task.affected_mask;
        let mut s = 0;
        while s < SERVICE_COUNT {
            let index = if broken & (1 << s) != 0 {
                BROKEN_BIT
            } else {
                0
            };
            out[t][s] = DYNAMIC[t][0][s][index].to_le_bytes();
            s += 1;
        }
        // Flags: only bit 2, the reset outcome's success.
        out[t][SERVICE_COUNT] = [t as u8, 0, task.max_steps, task.max_steps, 4, 0, 0, 0];
        t += 1;
    }
    out
};

/// The straightforward encoder `encode` must agree with, byte for byte.
#[cfg(test)]
fn encode_reference(env: &Env, out: &mut Observation) {
    let task = env.task();
    let resolved = env.is_resolved();
    let seen = env.seen();
    for service in Service::ALL {
        let index = service as usize;
        let block = &mut out[index * SERVICE_BLOCK..(index + 1) * SERVICE_BLOCK];
        let severity = if resolved {
            0
        } else {
            task.alert_severity[index].map_or(0, |s| s.priority())
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
    out[GLOBAL_OFFSET..].copy_from_slice(&[
        env.task_id() as u8,
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
            assert_eq!(RESET[task as usize], blocks(&env));
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
