//! Every bound of the core in one place, with the compile-time checks that tie them together.

use crate::vocab::{DIAGNOSIS_COUNT, FIX_COUNT, SERVICE_COUNT};

/// The longest episode of any scenario (the original expert task has 14 steps, generated
/// expert incidents up to 20); bounds the action history.
pub const STEP_COUNT_MAX: usize = 24;

/// Most root causes one incident has (generated incidents have 1 to 3).
pub const ROOT_COUNT_MAX: usize = 3;

/// Number of discrete actions: list_services, 6 x read_logs, query_metrics,
/// inspect_dependencies, verify_health, 6 x 7 diagnose and 6 x 8 apply_fix.
pub const ACTION_COUNT: usize =
    1 + 4 * SERVICE_COUNT + SERVICE_COUNT * DIAGNOSIS_COUNT + SERVICE_COUNT * FIX_COUNT;

/// Bytes of one numeric observation (see [`crate::obs`]).
pub const OBS_LEN: usize = 72;

/// Budget for `size_of::<Env>()`: raised from 256 to 512 bytes when `Env` started to
/// hold its scenario by value (`cargo run -p incident-core --example env_size` prints the
/// size).
pub const ENV_BYTES_MAX: usize = 512;

/// Capacity of the buffer the baseline renders its signal text into; the longest
/// possible signal (full-graph message, two alerts, four log lines, the metrics dict and a
/// 100-character unknown name) is under 2 KiB.
pub const SIGNAL_BYTES_MAX: usize = 4096;

/// Longest string field the host accepts in an action (the original's pydantic limit).
pub const FIELD_CHARS_MAX: usize = 100;

/// Longest `reasoning` the host accepts (the original's pydantic limit).
pub const REASONING_CHARS_MAX: usize = 5000;

/// Largest postcard snapshot of one environment.
pub const SNAPSHOT_BYTES_MAX: usize = 512;

const _: () = {
    assert!(ACTION_COUNT == 115);
    assert!(
        ACTION_COUNT <= u8::MAX as usize,
        "action indices fit a byte"
    );
    assert!(STEP_COUNT_MAX < 64, "step counts fit the observation byte");
    assert!(core::mem::size_of::<crate::Env>() <= ENV_BYTES_MAX);
};
