//! The JSON Schema of an action, shared by the server's `/schema` and MCP's tool list.

use incident_core::{ActionType, Fix, Mode, Service};
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
