//! JSON-RPC 2.0 / MCP tools over one [`Session`]: the server's `POST /mcp` and a
//! WebSocket `mcp` message both answer through [`handle`].
//!
//! Tools: `reset`, `step` (any action), one tool per action type (`list_services`,
//! `read_logs`, ...), `state`, `grader` and `baseline` (the rule agent's next action, which
//! the `/ui/` page asks for over its own WebSocket session). A tool whose arguments are
//! refused answers a result with `isError: true` (MCP's convention); protocol problems are
//! JSON-RPC errors.

use incident_core::ActionType;
use serde_json::{Map, Value, json};

use crate::parse::ApiError;
use crate::{Command, Session, decode};

/// JSON-RPC: the bytes are not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: unknown method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: bad parameters.
pub const INVALID_PARAMS: i64 = -32602;

/// MCP protocol version we answer `initialize` with when the client names none.
pub const PROTOCOL_VERSION: &str = "2025-03-26";

/// Return a JSON-RPC error response.
#[must_use]
pub fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// Answer one JSON-RPC request; `None` for a notification (no reply is due).
pub fn handle(request: &Value, session: &mut Session) -> Option<Value> {
    let Value::Object(map) = request else {
        return Some(error(Value::Null, INVALID_REQUEST, "Invalid Request"));
    };
    let id = match map.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => Some(id.clone()),
        Some(_) => {
            return Some(error(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: bad id",
            ));
        }
        None => None,
    };
    let reply_id = id.clone().unwrap_or(Value::Null);
    let Some(Value::String(method)) = map.get("method") else {
        return Some(error(reply_id, INVALID_REQUEST, "Invalid Request"));
    };
    if map.get("jsonrpc") != Some(&Value::from("2.0")) {
        return Some(error(
            reply_id,
            INVALID_REQUEST,
            "Invalid Request: jsonrpc must be \"2.0\"",
        ));
    }
    let params = map.get("params").cloned().unwrap_or_else(|| json!({}));
    let answer = match method.as_str() {
        "initialize" => Ok(json!({
            "protocolVersion": params.get("protocolVersion").cloned()
                .unwrap_or_else(|| Value::from(PROTOCOL_VERSION)),
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": crate::render::BENCHMARK, "version": crate::render::MANIFEST_VERSION},
        })),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": tools()})),
        "tools/call" => call(&params, session),
        method if method.starts_with("notifications/") => Ok(json!({})),
        _ => Err((METHOD_NOT_FOUND, format!("Method not found: {method}"))),
    };
    let id = id?;
    Some(match answer {
        Ok(value) => result(id, value),
        Err((code, message)) => error(id, code, &message),
    })
}

fn tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "name": name,
        "description": description,
        "inputSchema": {"type": "object", "properties": properties, "required": required},
    })
}

fn string_property(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

/// Return the tool list of `tools/list`.
#[must_use]
pub fn tools() -> Vec<Value> {
    let service = string_property("target service, e.g. database");
    let mut list = vec![
        tool(
            "reset",
            "Start a new episode.",
            json!({"task_id": string_property("easy_task, medium_task, hard_task or expert_task"),
                "seed": {"type": "integer"},
                "episode_id": string_property("episode id to echo in state")}),
            &[],
        ),
        tool(
            "step",
            "Apply any action (the same object as POST /step).",
            crate::schema::action()["properties"].clone(),
            &["action_type"],
        ),
    ];
    for kind in ActionType::ALL {
        let (properties, required): (Value, &[&str]) = match kind.name() {
            "list_services" => (json!({}), &[]),
            "inspect_dependencies" => (json!({"service": service}), &[]),
            "diagnose" => (
                json!({"service": service, "diagnosis": string_property("failure mode")}),
                &["service", "diagnosis"],
            ),
            "apply_fix" => (
                json!({"service": service, "fix": string_property("remediation")}),
                &["service", "fix"],
            ),
            _ => (json!({"service": service}), &["service"]),
        };
        let description = format!("Step with action_type {}.", kind.name());
        list.push(tool(kind.name(), &description, properties, required));
    }
    list.push(tool("state", "Return the episode state.", json!({}), &[]));
    list.push(tool("grader", "Return the live grade.", json!({}), &[]));
    list.push(tool(
        "baseline",
        "Return the baseline policy's next action (as GET /baseline), without stepping.",
        json!({}),
        &[],
    ));
    list
}

fn content(value: Value, is_error: bool) -> Value {
    json!({
        "content": [{"type": "text", "text": value.to_string()}],
        "structuredContent": value,
        "isError": is_error,
    })
}

fn refused(error: &ApiError) -> Value {
    content(error.body.clone(), true)
}

fn call(params: &Value, session: &mut Session) -> Result<Value, (i64, String)> {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Err((
            INVALID_PARAMS,
            "tools/call needs a string \"name\"".to_owned(),
        ));
    };
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err((INVALID_PARAMS, "arguments must be an object".to_owned())),
    };
    let command = match name {
        "reset" => decode::reset_value(Some(&Value::Object(arguments))),
        "step" => decode::step_value(&Value::Object(arguments)),
        "state" => Ok(Command::State),
        "grader" => Ok(Command::Grade),
        "baseline" => Ok(Command::Baseline),
        name if ActionType::from_name(name).is_some() => {
            let mut action = arguments;
            action.insert("action_type".to_owned(), Value::from(name));
            crate::parse::parse_action(&Value::Object(action)).map(Command::Step)
        }
        _ => return Err((INVALID_PARAMS, format!("Unknown tool: {name}"))),
    };
    Ok(match command {
        Ok(command) => content(session.apply(command).to_value(), false),
        Err(error) => refused(&error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_tool_answers_the_sessions_next_action_without_stepping() {
        // Goal: the `baseline` tool equals GET /baseline for the same session and leaves the
        // episode where it was (the UI's "Ask the baseline" relies on both).
        let mut session = Session::new();
        let reset = json!({"task_id": "hard_task", "seed": 42});
        session.apply(decode::reset_value(Some(&reset)).unwrap());
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "baseline"}});
        let answer = handle(&call, &mut session).unwrap();
        assert_eq!(answer["result"]["isError"], false);
        let direct = session.apply(Command::Baseline).to_value();
        assert_eq!(answer["result"]["structuredContent"], direct);
        assert_eq!(
            answer["result"]["structuredContent"]["action_type"],
            "list_services"
        );
        assert_eq!(session.env().step_count(), 0);
        assert!(tools().iter().any(|tool| tool["name"] == "baseline"));
    }
}
