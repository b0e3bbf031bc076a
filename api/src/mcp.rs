//! JSON-RPC 2.0 / MCP tools over one [`Session`]: the server's `POST /mcp` (one
//! [`Session`] per MCP session) and a WebSocket `mcp` message (the connection's session)
//! both answer through [`Message`].
//!
//! JSON-RPC 2.0 as written: a message is one request or a batch (an array); a batch gets
//! one response per request, in order, and none for notifications (no `id`); a message
//! of only notifications gets no response at all; an empty batch is one Invalid Request
//! error. Request ids are echoed byte for byte as sent (`serde_json`'s `RawValue`: a
//! 30-digit integer or `-0` comes back as written). Every bad entry gets its own error
//! (id `null` when its id could not be read).
//!
//! Bounds: a batch runs at most [`BATCH_ENTRIES_MAX`] entries, and no entry is started
//! once the reply holds [`REPLY_BYTES_MAX`] bytes; the entries not run get one Invalid
//! Request error (id `null`) saying how many, so one message can neither build an
//! unbounded reply nor run unbounded work.
//!
//! Tools: `reset`, `step` (any action), one tool per action type (`list_services`,
//! `read_logs`, ...), `state`, `grader` and `baseline` (the rule agent's next action, which
//! the `/ui/` page asks for over its own WebSocket session). A tool whose arguments are
//! refused answers a result with `isError: true` (MCP's convention); protocol problems are
//! JSON-RPC errors.

use incident_core::ActionType;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::constants::{BATCH_ENTRIES_MAX, REPLY_BYTES_MAX};
use crate::parse::{ApiError, ObjectOnly};
use crate::{Command, Session, decode};

/// JSON-RPC: the bytes are not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: unknown method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: bad parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC: the server failed answering (a bug; never expected).
pub const INTERNAL_ERROR: i64 = -32603;
/// Server error (implementation-defined range): no MCP session slot is free.
pub const SERVER_BUSY: i64 = -32000;
/// Server error: the `Mcp-Session-Id` names no live session (as MCP's SDKs answer).
pub const SESSION_NOT_FOUND: i64 = -32001;

/// The methods that act on or read a session's episode (an MCP session is needed).
pub const SESSION_METHODS: [&str; 2] = ["tools/list", "tools/call"];

/// MCP protocol version we answer `initialize` with when the client names none.
pub const PROTOCOL_VERSION: &str = "2025-03-26";

/// Return a JSON-RPC error response (id `null`) as bytes, for refusals outside any
/// message (a missing or unknown session).
#[must_use]
pub fn error_bytes(code: i64, message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    write_error(&mut out, "null", code, message);
    out
}

fn write_error(out: &mut Vec<u8>, id: &str, code: i64, message: &str) {
    let error = json!({"code": code, "message": message});
    write_response(out, id, "error", &error);
}

fn write_response(out: &mut Vec<u8>, id: &str, key: &str, value: &Value) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(&crate::to_bytes(value));
    out.push(b'}');
}

/// One JSON-RPC message: a single entry or a batch, parsed with its ids kept as text.
#[derive(Debug)]
pub struct Message<'a> {
    shape: Shape<'a>,
}

#[derive(Debug)]
enum Shape<'a> {
    /// Not JSON, or an empty batch: this one error answers the message.
    Refused(i64, &'static str),
    Single(Entry<'a>),
    /// The first [`BATCH_ENTRIES_MAX`] entries, and how many followed them (not parsed).
    Batch(Vec<Entry<'a>>, usize),
}

/// One entry of a message.
#[derive(Debug)]
enum Entry<'a> {
    /// A request (`id` set) or a notification (`id` `None`).
    Call {
        id: Option<&'a str>,
        method: String,
        params: Value,
    },
    /// A response from the client (we send no requests, so it is ignored).
    Response,
    /// Not a valid request: answered with this error, under this id (`null` if unreadable).
    Invalid { id: &'a str, message: &'static str },
}

/// The members of an entry; `id` and `result`/`error` keep "present but null" apart
/// from "absent".
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    jsonrpc: Option<Value>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default)]
    method: Option<Value>,
    #[serde(default)]
    params: Option<Value>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// Whether a raw id is a string, a number or null (JSON-RPC's id types).
fn valid_id(raw: &str) -> bool {
    matches!(
        raw.as_bytes().first(),
        Some(b'"' | b'-' | b'0'..=b'9' | b'n')
    )
}

impl<'a> Entry<'a> {
    fn parse(raw: &'a RawValue) -> Entry<'a> {
        let invalid = |id, message| Entry::Invalid { id, message };
        let Ok(ObjectOnly(envelope)) = serde_json::from_str::<ObjectOnly<Envelope<'a>>>(raw.get())
        else {
            return invalid("null", "Invalid Request: not a JSON-RPC object");
        };
        let id = match envelope.id.map(RawValue::get) {
            Some(id) if !valid_id(id) => {
                return invalid(
                    "null",
                    "Invalid Request: id must be a string, number or null",
                );
            }
            other => other,
        };
        let reply_id = id.unwrap_or("null");
        if envelope.jsonrpc != Some(Value::from("2.0")) {
            return invalid(reply_id, "Invalid Request: jsonrpc must be \"2.0\"");
        }
        let method = match envelope.method {
            Some(Value::String(method)) => method,
            None if envelope.result.is_some() || envelope.error.is_some() => {
                return Entry::Response;
            }
            _ => return invalid(reply_id, "Invalid Request: method must be a string"),
        };
        let params = match envelope.params {
            None => json!({}),
            Some(params @ (Value::Object(_) | Value::Array(_))) => params,
            Some(_) => {
                return invalid(
                    reply_id,
                    "Invalid Request: params must be an object or array",
                );
            }
        };
        Entry::Call { id, method, params }
    }

    /// Whether answering this entry acts on or reads a session: the tool methods
    /// ([`SESSION_METHODS`]); `initialize`, `ping`, notifications, unknown methods (`-32601`)
    /// and invalid entries are answered without one.
    fn needs_session(&self) -> bool {
        match self {
            Entry::Call { method, .. } => SESSION_METHODS.contains(&method.as_str()),
            Entry::Response | Entry::Invalid { .. } => false,
        }
    }

    /// Append this entry's response (nothing for notifications and responses); `true`
    /// when something was written.
    fn answer(&self, session: Option<&mut Session>, out: &mut Vec<u8>) -> bool {
        match self {
            Entry::Invalid { id, message } => write_error(out, id, INVALID_REQUEST, message),
            Entry::Response => return false,
            Entry::Call { id, method, params } => {
                let answer = match session {
                    Some(session) => call_method(method, params, session),
                    None if self.needs_session() => Err((
                        INVALID_REQUEST,
                        "Bad Request: this method needs an MCP session".to_owned(),
                    )),
                    None => call_method(method, params, &mut Session::new()),
                };
                let Some(id) = id else {
                    return false;
                };
                match answer {
                    Ok(value) => write_response(out, id, "result", &value),
                    Err((code, message)) => write_error(out, id, code, &message),
                }
            }
        }
        true
    }
}

impl<'a> Message<'a> {
    /// Parse a message (a JSON-RPC request, notification or batch).
    #[must_use]
    pub fn parse(bytes: &'a [u8]) -> Message<'a> {
        let shape = match serde_json::from_slice::<&RawValue>(bytes) {
            Err(_) => Shape::Refused(PARSE_ERROR, "Parse error"),
            Ok(raw) if raw.get().starts_with('[') => {
                match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
                    Ok(entries) if entries.is_empty() => {
                        Shape::Refused(INVALID_REQUEST, "Invalid Request: empty batch")
                    }
                    Ok(entries) => {
                        let beyond = entries.len().saturating_sub(BATCH_ENTRIES_MAX);
                        let parsed = entries.into_iter().take(BATCH_ENTRIES_MAX);
                        Shape::Batch(parsed.map(Entry::parse).collect(), beyond)
                    }
                    Err(_) => Shape::Refused(PARSE_ERROR, "Parse error"),
                }
            }
            Ok(raw) => Shape::Single(Entry::parse(raw)),
        };
        Message { shape }
    }

    fn entries(&self) -> &[Entry<'a>] {
        match &self.shape {
            Shape::Refused(..) => &[],
            Shape::Single(entry) => std::slice::from_ref(entry),
            Shape::Batch(entries, _) => entries,
        }
    }

    /// Whether the message holds an `initialize` request (it opens an MCP session).
    #[must_use]
    pub fn initializes(&self) -> bool {
        self.entries().iter().any(|entry| {
            matches!(entry, Entry::Call { id: Some(_), method, .. } if method == "initialize")
        })
    }

    /// Whether answering the message needs a session (some entry acts on an episode).
    #[must_use]
    pub fn needs_session(&self) -> bool {
        self.entries().iter().any(Entry::needs_session)
    }

    /// Answer the message: `Some(response JSON)`, or `None` when no response is due (only
    /// notifications and responses). Without a session, entries that need one get an
    /// error each.
    #[must_use]
    pub fn answer(&self, mut session: Option<&mut Session>) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match &self.shape {
            Shape::Refused(code, message) => write_error(&mut out, "null", *code, message),
            Shape::Single(entry) => {
                if !entry.answer(session, &mut out) {
                    return None;
                }
            }
            Shape::Batch(entries, beyond) => {
                out.push(b'[');
                let mut answered = 0;
                let mut run = 0;
                for entry in entries {
                    if out.len() >= REPLY_BYTES_MAX {
                        break;
                    }
                    run += 1;
                    let mark = out.len();
                    if answered > 0 {
                        out.push(b',');
                    }
                    if entry.answer(session.as_deref_mut(), &mut out) {
                        answered += 1;
                    } else {
                        out.truncate(mark);
                    }
                }
                let not_run = entries.len() - run + beyond;
                if not_run > 0 {
                    if answered > 0 {
                        out.push(b',');
                    }
                    write_error(&mut out, "null", INVALID_REQUEST, &over_bound(run, not_run));
                    answered += 1;
                }
                if answered == 0 {
                    return None;
                }
                out.push(b']');
            }
        }
        Some(out)
    }
}

/// The error for the entries of a batch past its bounds.
fn over_bound(run: usize, not_run: usize) -> String {
    format!(
        "Invalid Request: a batch runs at most {BATCH_ENTRIES_MAX} entries and replies up to \
         {REPLY_BYTES_MAX} bytes: the first {run} were run, the other {not_run} not run \
         (send them again in smaller batches)"
    )
}

/// Answer one request's method.
fn call_method(
    method: &str,
    params: &Value,
    session: &mut Session,
) -> Result<Value, (i64, String)> {
    match method {
        "initialize" => Ok(json!({
            "protocolVersion": params.get("protocolVersion").cloned()
                .unwrap_or_else(|| Value::from(PROTOCOL_VERSION)),
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": crate::render::BENCHMARK, "version": crate::render::MANIFEST_VERSION},
        })),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": tools()})),
        "tools/call" => call(params, session),
        method if method.starts_with("notifications/") => Ok(json!({})),
        _ => Err((METHOD_NOT_FOUND, format!("Method not found: {method}"))),
    }
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
            "Start a new episode: an original task, or a generated tier with its seed and split.",
            crate::schema::reset()["properties"].clone(),
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
        let text = call.to_string();
        let answer = Message::parse(text.as_bytes()).answer(Some(&mut session));
        let answer: Value = serde_json::from_slice(&answer.unwrap()).unwrap();
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
