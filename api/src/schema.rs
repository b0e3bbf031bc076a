//! Every JSON Schema (2020-12) of the protocol, declared once: an action, a reset, an
//! observation and the state, and `/schema`'s body; the server's `/schema` and
//! `/openapi.json` and MCP's tool list derive from these.
//!
//! They describe exactly what our responses contain; the tests validate real responses
//! against them. The observation schema lists `reward` and `done` because OpenEnv's
//! validator checks the observation merged with them.

use incident_core::{ActionType, Fix, Mode, Service, TaskId, Tier};
use serde_json::{Value, json};

fn names<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    values.iter().map(|value| name(*value)).collect()
}

fn nullable_string(max_chars: usize, description: String) -> Value {
    json!({"type": ["string", "null"], "maxLength": max_chars, "description": description})
}

/// Return the JSON Schema of an action (the body of `/step`, or its `action` value).
#[must_use]
pub fn action() -> Value {
    let field = incident_core::constants::FIELD_CHARS_MAX;
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "IncidentAction",
        "type": "object",
        "required": ["action_type"],
        "properties": {
            "action_type": {"type": "string", "enum": names(&ActionType::ALL, ActionType::name)},
            "service": nullable_string(field, format!(
                "target service, one of: {}", names(&Service::ALL, Service::name).join(", "))),
            "diagnosis": nullable_string(field, format!(
                "for diagnose, one of: {}", names(&Mode::DIAGNOSES, Mode::name).join(", "))),
            "fix": nullable_string(field, format!(
                "for apply_fix, one of: {}", names(&Fix::ALL, Fix::name).join(", "))),
            "reasoning": nullable_string(
                incident_core::constants::REASONING_CHARS_MAX,
                "free text, ignored by the environment".to_owned()),
        },
    })
}

/// Return the JSON Schema of a reset (the body of `/reset`, the WebSocket `reset` data, the
/// MCP `reset` tool's arguments): an original task or a generated tier, with its seed and
/// split.
#[must_use]
pub fn reset() -> Value {
    let tasks = TaskId::ALL.map(TaskId::name);
    let tiers = Tier::EVERY.map(Tier::name);
    let ids: Vec<&str> = tasks.iter().chain(&tiers).copied().collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ResetRequest",
        "type": ["object", "null"],
        "properties": {
            "task_id": {"type": "string", "examples": ids, "description": format!(
                "an original task ({}) or a generated tier ({}); any other id not starting \
                 with gen_ falls back to easy_task, as in the original",
                tasks.join(", "), tiers.join(", "))},
            "seed": {"type": ["integer", "string", "null"], "description": format!(
                "the episode seed (default {}); for a generated tier, {}",
                incident_core::env::DEFAULT_SEED, crate::render::GENERATED_SEED)},
            "split": {"type": ["string", "null"], "enum": ["train", "test", null],
                "default": "train", "description": "generated tiers: train (default) or test \
                 (the held-out incident structures); ignored for the original tasks"},
            "episode_id": {"type": ["string", "null"],
                "maxLength": crate::constants::EPISODE_ID_CHARS_MAX},
        },
    })
}

/// Return the JSON Schema of an observation (with the `reward` and `done` beside it).
#[must_use]
pub fn observation() -> Value {
    let string = json!({"type": "string"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "IncidentObservation",
        "type": "object",
        "additionalProperties": false,
        "required": ["action_result", "success", "message", "logs", "metrics",
            "service_summaries", "active_alerts", "dependency_graph", "step_number",
            "max_steps", "steps_remaining", "available_services", "available_actions"],
        "properties": {
            "action_result": string,
            "success": {"type": "boolean"},
            "message": string,
            "logs": {"type": "array", "items": {"type": "object", "required": ["service", "message"]}},
            "metrics": {"type": ["object", "null"]},
            "service_summaries": {"type": "array", "items": {
                "type": "object",
                "required": ["service_name", "status", "depends_on"],
                "properties": {
                    "service_name": string,
                    "status": string,
                    // null while a graph-tier service's edges are not shown yet.
                    "depends_on": {"type": ["array", "null"], "items": {"type": "string"}},
                },
            }},
            "active_alerts": {"type": "array", "items": {
                "type": "object",
                "required": ["severity", "service", "title", "description", "triggered_at", "runbook_hint"],
            }},
            "dependency_graph": {"type": "object", "additionalProperties": strings},
            "step_number": {"type": "integer", "minimum": 0},
            "max_steps": {"type": "integer", "minimum": 1},
            "steps_remaining": {"type": "integer", "minimum": 0},
            "available_services": strings,
            "available_actions": strings,
            // The original tasks' rewards lie in [0.05, 0.95]; a generated incident's are
            // ruleset v1's exact changes of the live score (negative for a wrong fix; the
            // terminal step adds the score at reset), which sum to its final score.
            "reward": {"type": ["number", "null"], "minimum": -1.0,
                "maximum": 1.0 + incident_core::constants::milli_to_f64(incident_core::grader::V1_RESET_SCORE_MILLI)},
            "done": {"type": "boolean"},
            "metadata": {"type": "object"},
        },
    })
}

/// Return the JSON Schema of `/state` (the answer fields are absent when sealed).
#[must_use]
pub fn state() -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let int = json!({"type": "integer", "minimum": 0});
    let number = json!({"type": "number"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "EnvironmentState",
        "type": "object",
        "required": ["episode_id", "step_count", "task_id", "difficulty", "max_steps",
            "is_resolved", "done", "seed", "trajectory_reward", "final_score",
            "final_details", "services_investigated", "dependencies_inspected",
            "metrics_queried", "diagnoses", "fixes_applied", "correct_fixes",
            "successful_verifications", "destructive_actions", "invalid_actions",
            "diagnosis_correct_count", "fix_correct_count", "action_history",
            "last_action_error"],
        "properties": {
            "episode_id": {"type": "string"},
            "step_count": int,
            "task_id": {"type": "string"},
            "difficulty": {"type": "string"},
            "max_steps": int,
            "is_resolved": {"type": "boolean"},
            "done": {"type": "boolean"},
            "seed": {"type": "integer"},
            "trajectory_reward": number,
            "final_score": number,
            "final_details": {"type": "object"},
            "services_investigated": strings,
            "dependencies_inspected": strings,
            "metrics_queried": strings,
            "diagnoses": {"type": "array", "items": {"type": "object"}},
            "fixes_applied": {"type": "array", "items": {"type": "object"}},
            "correct_fixes": strings,
            "successful_verifications": strings,
            "destructive_actions": int,
            "invalid_actions": int,
            "diagnosis_correct_count": int,
            "fix_correct_count": int,
            "root_cause_services": strings,
            "root_cause_failure_modes": strings,
            "required_fixes": {"type": "object"},
            "affected_services": strings,
            "action_history": {"type": "array", "items": {"type": "object"}},
            "last_action_error": {"type": ["string", "null"]},
        },
    })
}

/// Return the `/schema` body (OpenEnv's three schemas, plus the reset request's, which
/// lists the original tasks and the generated tiers with their `seed` and `split`).
#[must_use]
pub fn schema() -> Value {
    json!({"action": action(), "observation": observation(), "state": state(),
        "reset": reset()})
}
