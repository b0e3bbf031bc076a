//! `GET /environment`: the vocabulary and the reward and grading rules, read from the
//! core's own constants (the `/ui/` page's "Environment" view draws them; nothing is
//! retyped here or in JavaScript): the reward clamps and per-action rewards of the
//! original rules (`incident_core::env`), rulesets v1's and v2's reward relation, and the
//! grader's weights and credits (`incident_core::grader`, `incident_core::v2`).

use incident_core::constants::milli_to_f64;
use incident_core::env::{
    REWARD_FIX_MILLI, REWARD_MAX_MILLI, REWARD_MIN_MILLI, REWARD_ROOT_DIAGNOSIS_MILLI,
    TRAJECTORY_MAX_MILLI,
};
use incident_core::grader::{
    DESTRUCTIVE_PENALTY_MILLI, ERROR_BUDGET_STEPS, Grade, INVALID_PENALTY_MILLI,
    ROOT_DIAGNOSED_MILLI, ROOT_INVESTIGATED_MILLI, V1_DESTRUCTIVE_PENALTY_MILLI,
    V1_RESET_SCORE_MILLI, WEIGHTS_PERCENT,
};
use incident_core::{ActionType, Fix, Mode, Service, Severity, Status, constants, topology};
use serde_json::{Value, json};

fn names<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    values.iter().map(|value| name(*value)).collect()
}

/// The step rewards of both rulesets.
fn reward_table() -> Value {
    json!({
        "original": {
            "correct_root_diagnosis": milli_to_f64(REWARD_ROOT_DIAGNOSIS_MILLI),
            "successful_fix": milli_to_f64(REWARD_FIX_MILLI),
            "any_other_step": milli_to_f64(REWARD_MIN_MILLI),
            "terminal_step": milli_to_f64(REWARD_MIN_MILLI),
        },
        "v1": {
            "step": "the change of the live score",
            "terminal_step_adds": milli_to_f64(V1_RESET_SCORE_MILLI),
            "sum_of_rewards": "the final score",
            "json": "exact, not clamped (a wrong fix's reward is negative)",
        },
        "v2": {
            "step": "the change of the live score (ruleset v2's grade)",
            "sum_of_rewards": "the final score",
            "json": "exact, not clamped",
        },
    })
}

/// How ruleset v2 (the `gen_graph_*` tiers) grades on top of v1's parts and weights.
fn v2_grading() -> Value {
    json!({
        "root_cause_identification": "v1's credits, but a root any of whose diagnoses was \
            rejected earns none; a no-fault control: 1 if the service that flapped was read \
            and nothing was remediated",
        "resolution": "the share of roots fixed after their diagnosis was accepted (none \
            rejected); a no-fault control: 1 once verified",
        "efficiency": "the mean of v1's step efficiency and the error budget's part: 1 while \
            the steps with users affected (the gateway broken) stay within the optimal \
            path's length, falling to 0 over error_budget_steps more",
        "error_budget_steps": ERROR_BUDGET_STEPS,
    })
}

/// The grader's weights (both rulesets) and the credits and penalties of its parts.
fn grader_weights() -> Value {
    let zero = Grade {
        root_cause_identification: 0,
        resolution: 0,
        efficiency: 0,
        safety: 0,
        score: 0,
    };
    let parts = zero.details().map(|(name, _)| name);
    let weights: serde_json::Map<String, Value> = parts
        .iter()
        .zip(WEIGHTS_PERCENT)
        .map(|(name, percent)| ((*name).to_owned(), json!(f64::from(percent) / 100.0)))
        .collect();
    let milli = |value: u16| milli_to_f64(i32::from(value));
    json!({
        "weights": weights,
        "root_diagnosed": milli(ROOT_DIAGNOSED_MILLI),
        "root_investigated": milli(ROOT_INVESTIGATED_MILLI),
        "destructive_penalty": {"original": milli(DESTRUCTIVE_PENALTY_MILLI),
            "v1": milli(V1_DESTRUCTIVE_PENALTY_MILLI)},
        "invalid_penalty": milli(INVALID_PENALTY_MILLI),
        "v2": v2_grading(),
    })
}

/// The six-service topology as the original's `dependency_graph` (service -> the services
/// it calls): what `/ui/` draws before an episode shows its own graph.
fn dependency_graph() -> Value {
    let graph: serde_json::Map<String, Value> = Service::ALL
        .iter()
        .zip(topology::DEPENDS_ON)
        .map(|(service, mask)| {
            let calls = names(&topology::services(mask).collect::<Vec<_>>(), Service::name);
            (service.name().to_owned(), json!(calls))
        })
        .collect();
    Value::Object(graph)
}

/// Return the `/environment` body.
#[must_use]
pub fn environment() -> Value {
    json!({
        "services": names(&Service::ALL, Service::name),
        "dependency_graph": dependency_graph(),
        "action_types": names(&ActionType::ALL, ActionType::name),
        "diagnoses": names(&Mode::DIAGNOSES, Mode::name),
        "fixes": names(&Fix::ALL, Fix::name),
        "statuses": names(&Status::ALL, Status::name),
        "severities": names(&Severity::ALL, Severity::name),
        "reward": {
            "step_min": milli_to_f64(REWARD_MIN_MILLI),
            "step_max": milli_to_f64(REWARD_MAX_MILLI),
            "trajectory_max": milli_to_f64(TRAJECTORY_MAX_MILLI),
        },
        "reward_table": reward_table(),
        "grader_weights": grader_weights(),
        "limits": {
            "step_count_max": constants::STEP_COUNT_MAX,
            "field_chars_max": constants::FIELD_CHARS_MAX,
            "reasoning_chars_max": constants::REASONING_CHARS_MAX,
        },
    })
}
