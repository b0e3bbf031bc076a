//! `/schema`, `/metadata` and `/openapi.json`: static descriptions of the server, built once.
//!
//! The JSON Schemas (2020-12) describe exactly what our responses contain; the tests
//! validate real responses against them. The observation schema lists `reward` and `done`
//! because OpenEnv's validator checks the observation merged with them.

use serde_json::{Value, json};

use incident_api::render;
use incident_core::grader::V1_RESET_SCORE_MILLI;

pub use incident_api::schema::action;

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
                    "depends_on": strings,
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
                "maximum": 1.0 + incident_core::limits::milli_to_f64(V1_RESET_SCORE_MILLI)},
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
        "reset": incident_api::schema::reset()})
}

/// Return the `/metadata` body.
#[must_use]
pub fn metadata() -> Value {
    json!({
        "name": render::BENCHMARK,
        "description": render::DESCRIPTION,
        "readme_content": null,
        "version": render::MANIFEST_VERSION,
        "author": null,
        "documentation_url": null,
    })
}

/// Every route: (path, methods, summary). The router and `/openapi.json` agree on this.
pub const ROUTES: [(&str, &[&str], &str); 19] = [
    ("/", &["GET"], "Manifest (a 307 to /ui/ for browsers)"),
    (
        "/ui/",
        &["GET"],
        "Play an episode in the browser (over /ws)",
    ),
    ("/health", &["GET"], "Liveness"),
    (
        "/tasks",
        &["GET"],
        "The four tasks (?include=generated: also the generated tiers)",
    ),
    (
        "/manifest",
        &["GET"],
        "Name, version, routes and tasks (?include=generated: also the tiers)",
    ),
    (
        "/reset",
        &["POST"],
        "Start an episode on the shared default session",
    ),
    (
        "/step",
        &["POST"],
        "Apply an action (wrapped {\"action\": ...} or flat)",
    ),
    ("/state", &["GET"], "Episode state"),
    ("/grader", &["GET"], "Live grade of the episode"),
    ("/baseline", &["GET"], "The baseline policy's next action"),
    ("/sample_action", &["GET"], "Same as /baseline"),
    (
        "/schema",
        &["GET"],
        "JSON Schemas of action, observation and state",
    ),
    ("/metadata", &["GET"], "Environment metadata"),
    (
        "/environment",
        &["GET"],
        "Vocabulary and reward rules, from the core's constants",
    ),
    ("/openapi.json", &["GET"], "This document"),
    (
        "/mcp",
        &["POST", "DELETE"],
        "JSON-RPC 2.0 (MCP tools; streamable HTTP sessions)",
    ),
    (
        "/ws",
        &["GET"],
        "OpenEnv WebSocket session (one episode per connection)",
    ),
    (
        "/docs",
        &["GET"],
        "Interactive API docs of /openapi.json (Swagger UI)",
    ),
    ("/redoc", &["GET"], "API reference of /openapi.json"),
];

/// Routes that answer an HTML page, not JSON.
pub const HTML_ROUTES: [&str; 3] = ["/ui/", "/docs", "/redoc"];

/// The documented responses of one operation (what the router really answers).
fn responses(path: &str, method: &str) -> Value {
    let json_ok = json!({"description": "Successful Response",
        "content": {"application/json": {"schema": {"type": "object"}}}});
    let html_ok = json!({"description": "An HTML page",
        "content": {"text/html": {"schema": {"type": "string"}}}});
    let mut responses = match path {
        "/" => json!({"200": json_ok, "307": {"description":
            "Redirect to /ui/ when the Accept header asks for text/html"}}),
        "/ws" => json!({
            "101": {"description": "Switching Protocols: an OpenEnv WebSocket session"},
            "400": {"description": "Not a WebSocket upgrade request (a plain GET)",
                "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"detail": {"type": "string"}}}}}},
        }),
        path if HTML_ROUTES.contains(&path) => json!({"200": html_ok}),
        _ => json!({"200": json_ok}),
    };
    if method == "POST" {
        responses["422"] = json!({"description": "Validation Error",
            "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    responses
}

/// The request body of a POST operation (`/reset` may be empty; `/step` and `/mcp` not).
fn request_body(path: &str) -> Value {
    let schema = match path {
        "/step" => action(),
        "/reset" => incident_api::schema::reset(),
        _ => json!({"type": "object"}),
    };
    json!({"required": path != "/reset", "content": {"application/json": {"schema": schema}}})
}

/// Return the `/openapi.json` body.
#[must_use]
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for (path, methods, summary) in ROUTES {
        let mut operations = serde_json::Map::new();
        for method in methods {
            let mut operation = json!({"summary": summary, "responses": responses(path, method)});
            if *method == "POST" {
                operation["requestBody"] = request_body(path);
            }
            if matches!(path, "/" | "/tasks" | "/manifest") {
                operation["parameters"] = json!([{"name": "include", "in": "query",
                    "required": false, "schema": {"type": "string", "enum": ["generated"]},
                    "description": "generated: list the generated tiers after the four tasks"}]);
            }
            operations.insert(method.to_lowercase(), operation);
        }
        paths.insert(path.to_owned(), Value::Object(operations));
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": render::BENCHMARK, "description": render::DESCRIPTION,
            "version": render::MANIFEST_VERSION},
        "paths": paths,
    })
}
