//! `/metadata`, the routes and `/openapi.json`: static descriptions of the server. The JSON
//! Schemas they embed (and `/schema`'s body) are declared once, in
//! [`incident_api::schema`].

use serde_json::{Value, json};

use incident_api::render;
use incident_api::schema::action;

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
