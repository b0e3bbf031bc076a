//! The OpenEnv WebSocket message protocol (`openenv-protocol.md` §2), without a socket:
//! one text message in, one text frame out.
//!
//! Envelopes: `reset` (data = reset kwargs: `task_id`, `seed`, `episode_id`), `step`
//! (data = the action), `state`, `close` (no reply), `mcp` (data = a JSON-RPC request or
//! batch). Replies are `observation`, `state`, `mcp` or `error` frames; an error never
//! ends the session. The transport (framing, pings, close codes) is the server's.

use serde_json::{Value, json};

use crate::parse::{ApiError, FastAction, ObjectOnly};
use crate::{Command, Session, decode, mcp};

/// What to send after one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Send this text frame.
    Frame(String),
    /// The client asked to close: close the connection normally (1000), no frame.
    Close,
}

/// Return an `error` frame.
#[must_use]
pub fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "data": {"message": message, "code": code}})
}

/// Return the `VALIDATION_ERROR` frame of a refused request (its FastAPI-style details
/// under `errors`).
#[must_use]
pub fn validation_error(error: &ApiError) -> Value {
    let mut frame = error_frame("VALIDATION_ERROR", &error.message());
    frame["data"]["errors"] = match &error.body["detail"] {
        Value::Array(items) => Value::Array(items.clone()),
        other => json!([other]),
    };
    frame
}

/// A `step` message whose action is a plain object (see [`FastAction`]).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainStep<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    data: FastAction<'a>,
}

/// Answer one text message of a session.
pub fn answer(session: &mut Session, text: &str) -> Answer {
    match answer_unless_mcp(session, text) {
        Unless::Answered(answer) => answer,
        Unless::Mcp(request) => answer_mcp(session, &request),
    }
}

/// What [`answer_unless_mcp`] did with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unless {
    /// Any message but `mcp`: answered.
    Answered(Answer),
    /// An `mcp` message: its JSON-RPC text, to answer with [`answer_mcp`] (a batch is up
    /// to [`crate::constants::BATCH_ENTRIES_MAX`] calls: a server runs it off its I/O threads).
    Mcp(String),
}

/// Answer one text message of a session, except an `mcp` message, which is handed back.
pub fn answer_unless_mcp(session: &mut Session, text: &str) -> Unless {
    Unless::Answered(match decode_message(text) {
        Message::Command(command) => Answer::Frame(session.apply(command).to_ws_frame()),
        Message::Mcp(request) => return Unless::Mcp(request),
        Message::Refused(frame) => Answer::Frame(frame.to_string()),
        Message::Close => Answer::Close,
    })
}

/// Answer the JSON-RPC text of an `mcp` message with an `mcp` frame.
pub fn answer_mcp(session: &mut Session, request: &str) -> Answer {
    // The JSON-RPC response goes in as written (its ids as the client wrote them).
    let reply = mcp::Message::parse(request.as_bytes()).answer(Some(session));
    let mut frame = br#"{"type":"mcp","data":"#.to_vec();
    frame.extend_from_slice(reply.as_deref().unwrap_or(b"{}"));
    frame.push(b'}');
    Answer::Frame(String::from_utf8(frame).unwrap_or_default())
}

/// One decoded message.
enum Message {
    Command(Command),
    /// The text of a JSON-RPC message.
    Mcp(String),
    Refused(Value),
    Close,
}

fn decode_message(text: &str) -> Message {
    // The common message, a step with a plain action, without building a `Value`; any
    // other message, and any invalid action, takes the general path below. A step's
    // borrowed `type` is the literal `"step"` in the text, so a message without it skips
    // the typed attempt, whose failure (serde's error, its message formatted) cost more
    // than the general path itself (a reset: ~7,700 instructions under callgrind).
    if text.contains(r#""step""#)
        && let Ok(ObjectOnly(step)) = serde_json::from_str::<ObjectOnly<PlainStep<'_>>>(text)
        && step.kind == "step"
        && let Some(parsed) = step.data.validate()
    {
        return Message::Command(Command::Step(parsed));
    }
    let message: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            let message = format!("Invalid JSON: {error}");
            return Message::Refused(error_frame("INVALID_JSON", &message));
        }
    };
    let Some(kind) = message.get("type").and_then(Value::as_str) else {
        return Message::Refused(error_frame(
            "VALIDATION_ERROR",
            "Invalid message: expected a JSON object with a string \"type\"",
        ));
    };
    let data = message.get("data").filter(|data| !data.is_null());
    let decoded = match (kind, data) {
        ("reset", None | Some(Value::Object(_))) => decode::reset_value(data),
        ("reset", Some(_)) => return refused("reset data must be an object"),
        ("step", Some(action @ Value::Object(_))) => decode::step_value(action),
        ("step", _) => return refused("step data must be the action object"),
        ("state", _) => Ok(Command::State),
        ("close", _) => return Message::Close,
        ("mcp", Some(request)) => return Message::Mcp(raw_data(text, request)),
        ("mcp", None) => return refused("mcp data must be a JSON-RPC request"),
        (other, _) => {
            let message = format!("Unknown message type: {other}");
            return Message::Refused(error_frame("UNKNOWN_TYPE", &message));
        }
    };
    match decoded {
        Ok(command) => Message::Command(command),
        Err(error) => Message::Refused(validation_error(&error)),
    }
}

/// The `data` member of a message as the client wrote it (so JSON-RPC ids are echoed
/// exactly), or `data` re-serialized when it cannot be borrowed.
fn raw_data(text: &str, data: &Value) -> String {
    #[derive(serde::Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        data: &'a serde_json::value::RawValue,
    }
    serde_json::from_str::<Data<'_>>(text)
        .map_or_else(|_| data.to_string(), |raw| raw.data.get().to_owned())
}

fn refused(what: &str) -> Message {
    let message = format!("Invalid message: {what}");
    Message::Refused(error_frame("VALIDATION_ERROR", &message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(session: &mut Session, text: &str) -> Value {
        match answer(session, text) {
            Answer::Frame(frame) => serde_json::from_str(&frame).unwrap(),
            Answer::Close => Value::Null,
        }
    }

    #[test]
    fn observation_frames_equal_the_value_rendering() {
        // Goal: reset and step frames, plain and general actions alike, are byte for byte
        // the frames the `Value` path wrote.
        let steps = [
            r#"{"type":"step","data":{"action_type":"list_services"}}"#,
            r#"{"type":"step","data":{"action_type":"read_logs","service":"database"}}"#,
            r#"{"type":"step","data":{"action":{"action_type":"query_metrics","service":"order_service"}}}"#,
            r#"{"type":"step","data":{"action_type":"inspect_dependencies"}}"#,
            r#"{"type":"step","data":{"action_type":"read_logs","service":"nop\u0065"}}"#,
            r#"{"type":"step","data":{"action_type":"read_logs","service":"nope"}}"#,
            r#"{"type":"step","data":{"action_type":"diagnose","service":"database","diagnosis":"disk_full"}}"#,
            r#"{"type":"step","data":{"action_type":"apply_fix","service":"database","fix":"clear_disk"}}"#,
            r#"{"type":"step","data":{"action_type":"verify_health","service":"database"}}"#,
        ];
        for task in ["easy_task", "medium_task", "hard_task"] {
            let mut session = Session::new();
            let reset = format!(r#"{{"type":"reset","data":{{"task_id":"{task}","seed":3}}}}"#);
            let Answer::Frame(frame) = answer(&mut session, &reset) else {
                panic!("reset closed the session");
            };
            assert_eq!(frame, session.last_frame_reference());
            for round in 0..40 {
                let text = steps[(round * 5 + 1) % steps.len()];
                let Answer::Frame(frame) = answer(&mut session, text) else {
                    panic!("step closed the session");
                };
                assert_eq!(frame, session.last_frame_reference(), "{text}");
            }
        }
    }

    #[test]
    fn array_messages_never_step() {
        // Goal: a derived struct would accept `["step", {...}]`; the protocol does not.
        let mut session = Session::new();
        let answer = frame(&mut session, r#"["step",{"action_type":"list_services"}]"#);
        assert_eq!(answer["data"]["code"], "VALIDATION_ERROR");
        let answer = frame(&mut session, r#"{"type":"step","data":["list_services"]}"#);
        assert_eq!(answer["data"]["code"], "VALIDATION_ERROR");
        assert_eq!(session.env().step_count(), 0);
    }

    #[test]
    fn envelopes_follow_the_protocol() {
        // Goal: reset/step/state envelopes, the state contract, and errors that keep going.
        let mut session = Session::new();
        let reset = frame(
            &mut session,
            r#"{"type":"reset","data":{"task_id":"hard_task","seed":7,"episode_id":"ep-1"}}"#,
        );
        assert_eq!(reset["type"], "observation");
        assert_eq!(reset["data"]["reward"], Value::Null);
        assert_eq!(reset["data"]["done"], false);
        assert!(reset["data"]["observation"]["active_alerts"].is_array());
        let step = frame(
            &mut session,
            r#"{"type":"step","data":{"action_type":"list_services"}}"#,
        );
        assert!(
            step["data"]["reward"]
                .as_f64()
                .is_some_and(|r| (0.0..=1.0).contains(&r))
        );
        let state = frame(&mut session, r#"{"type":"state"}"#);
        assert_eq!(state["data"]["episode_id"], "ep-1");
        assert_eq!(state["data"]["step_count"], 1);
        assert_eq!(frame(&mut session, "nope")["data"]["code"], "INVALID_JSON");
        assert_eq!(
            frame(&mut session, r#"{"type":"nope"}"#)["data"]["code"],
            "UNKNOWN_TYPE"
        );
        let bad = frame(
            &mut session,
            r#"{"type":"step","data":{"action_type":"reboot"}}"#,
        );
        assert_eq!(bad["data"]["code"], "VALIDATION_ERROR");
        assert_eq!(
            frame(&mut session, r#"{"type":"state"}"#)["data"]["step_count"],
            1
        );
        assert_eq!(answer(&mut session, r#"{"type":"close"}"#), Answer::Close);
    }
}
