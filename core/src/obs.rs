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

use crate::env::Env;
use crate::limits::OBS_LEN;
use crate::topology::contains;
use crate::vocab::{SERVICE_COUNT, Service};

/// One numeric observation.
pub type Observation = [u8; OBS_LEN];

/// Bytes per service block.
pub const SERVICE_BLOCK: usize = 8;
/// Offset of the global block.
pub const GLOBAL_OFFSET: usize = SERVICE_COUNT * SERVICE_BLOCK;

const _: () = assert!(GLOBAL_OFFSET + 8 == OBS_LEN);

/// Write the observation of `env` into `out`.
pub fn encode(env: &Env, out: &mut Observation) {
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
