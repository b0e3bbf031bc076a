//! `GET /environment`: the vocabulary and the reward and grading rules, read from the
//! core's own constants (the `/ui/` page's "Environment" view draws them; nothing is
//! retyped in JavaScript).
//!
//! The core names its reward clamps ([`incident_core::env::REWARD_MIN_MILLI`] ...) but
//! not yet the per-action reward table or the grader weights (they are literals inside
//! the step and grade functions), so those two keys are `null` until it does.

use incident_core::env::{REWARD_MAX_MILLI, REWARD_MIN_MILLI, TRAJECTORY_MAX_MILLI};
use incident_core::{ActionType, Fix, Mode, Service, Severity, Status, limits};
use serde_json::{Value, json};

fn names<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    values.iter().map(|value| name(*value)).collect()
}

fn units(milli: i32) -> f64 {
    f64::from(milli) / 1000.0
}

/// Return the `/environment` body.
#[must_use]
pub fn environment() -> Value {
    json!({
        "services": names(&Service::ALL, Service::name),
        "action_types": names(&ActionType::ALL, ActionType::name),
        "diagnoses": names(&Mode::DIAGNOSES, Mode::name),
        "fixes": names(&Fix::ALL, Fix::name),
        "statuses": names(&Status::ALL, Status::name),
        "severities": names(&Severity::ALL, Severity::name),
        "reward": {
            "step_min": units(REWARD_MIN_MILLI),
            "step_max": units(REWARD_MAX_MILLI),
            "trajectory_max": units(TRAJECTORY_MAX_MILLI),
        },
        "reward_table": null,
        "grader_weights": null,
        "limits": {
            "step_count_max": limits::STEP_COUNT_MAX,
            "field_chars_max": limits::FIELD_CHARS_MAX,
            "reasoning_chars_max": limits::REASONING_CHARS_MAX,
        },
    })
}
