//! The core's constants in one place: bounds, sizes, reward units and the values derived
//! from them, with the compile-time checks that tie them together beside them.

use crate::vocab::{DIAGNOSIS_COUNT, FIX_COUNT, SERVICE_COUNT};

/// The longest episode of any scenario (the original expert task has 14 steps, generated
/// expert incidents up to 20); bounds the action history.
pub const STEP_COUNT_MAX: usize = 24;

/// Most root causes one incident has (generated incidents have 1 to 3).
pub const ROOT_COUNT_MAX: usize = 3;

/// Most root causes one of the four original tasks has (the original grade's tables are
/// sized for it).
pub const TASK_ROOT_COUNT_MAX: usize = 2;

/// Number of discrete actions: list_services, 6 x read_logs, query_metrics,
/// inspect_dependencies, verify_health, 6 x 7 diagnose and 6 x 8 apply_fix.
pub const ACTION_COUNT: usize =
    1 + 4 * SERVICE_COUNT + SERVICE_COUNT * DIAGNOSIS_COUNT + SERVICE_COUNT * FIX_COUNT;

/// Bytes of one numeric observation (see [`crate::obs`]).
pub const OBS_LEN: usize = 72;

/// Budget for `size_of::<Env>()`, which holds its scenario by value (`cargo run -p
/// incident-core --example env_size` prints the size); asserted beside `Env`.
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
    assert!(TASK_ROOT_COUNT_MAX <= ROOT_COUNT_MAX);
};

/// Rewards, scores and trajectories are integers in thousandths.
pub type Milli = i32;

/// Thousandths per unit.
pub const MILLI_PER_UNIT: Milli = 1000;

/// Return thousandths as the `f64` the original holds: one division, so the nearest double
/// to the decimal (what Python's `round(x, 3)` and the original's literals give). The one
/// conversion every crate uses.
#[must_use]
pub const fn milli_to_f64(milli: Milli) -> f64 {
    milli as f64 / MILLI_PER_UNIT as f64
}

/// Every step reward is clamped into `[REWARD_MIN_MILLI, REWARD_MAX_MILLI]`.
pub const REWARD_MIN_MILLI: Milli = 50;
/// Upper clamp of a step reward.
pub const REWARD_MAX_MILLI: Milli = 950;
/// The trajectory reward is clamped into `[-TRAJECTORY_MAX_MILLI, TRAJECTORY_MAX_MILLI]`.
pub const TRAJECTORY_MAX_MILLI: Milli = 950;
/// The original rules' reward for a correct diagnosis of a root (the only diagnosis reward
/// above the floor).
pub const REWARD_ROOT_DIAGNOSIS_MILLI: Milli = 80;
/// The original rules' reward for a successful fix (every other raw reward of the original
/// is below the floor, so it emits [`REWARD_MIN_MILLI`]).
pub const REWARD_FIX_MILLI: Milli = 120;
/// Ruleset v1's trajectory bound (its rewards sum to a score in `[0, 1000]`).
pub const V1_TRAJECTORY_MAX_MILLI: Milli = MILLI_PER_UNIT;

const _: () = {
    assert!(REWARD_MIN_MILLI < REWARD_ROOT_DIAGNOSIS_MILLI);
    assert!(REWARD_ROOT_DIAGNOSIS_MILLI < REWARD_FIX_MILLI);
    assert!(REWARD_FIX_MILLI < REWARD_MAX_MILLI && REWARD_MAX_MILLI < MILLI_PER_UNIT);
    assert!(
        V1_TRAJECTORY_MAX_MILLI as i64 <= i16::MAX as i64,
        "trajectories fit the i16 the state keeps"
    );
    assert!(
        (STEP_COUNT_MAX as i64) * (REWARD_MAX_MILLI as i64) < i16::MAX as i64,
        "an unclamped sum of step rewards fits an i16"
    );
};
