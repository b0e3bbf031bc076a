//! The JSON Schemas of an action and of a reset, shared by the server's `/schema` and
//! `/openapi.json` and MCP's tool list.

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
    let field = incident_core::limits::FIELD_CHARS_MAX;
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
                incident_core::limits::REASONING_CHARS_MAX,
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
                "maxLength": crate::parse::EPISODE_ID_CHARS_MAX},
        },
    })
}
