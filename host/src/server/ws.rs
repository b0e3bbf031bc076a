//! OpenEnv WebSocket sessions (`GET /ws`): one [`Session`] per connection.
//!
//! Envelopes (`openenv-protocol.md` §2): `reset` (data = reset kwargs: `task_id`, `seed`,
//! `episode_id`), `step` (data = the action), `state`, `close` (no reply, close 1000),
//! `mcp` (data = a JSON-RPC request). Replies are `observation`, `state`, `mcp` or `error`
//! frames; an error never ends the session. Framing, pings and the close handshake are
//! tokio-tungstenite's; messages and frames over [`super::FRAME_BYTES_MAX`] are refused
//! (the connection is closed with 1009), protocol errors close with 1002 and text that is
//! not UTF-8 with 1007. What waits to be written is capped
//! ([`super::WS_WRITE_BUFFER_BYTES_MAX`]); a peer that does not take a reply or a pong
//! within the write timeout is dropped, and until it takes it nothing more is read from it.
//! A session without a data message for the idle timeout (pings and pongs do not count) is
//! closed with 1001; so is every session when the server shuts down.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::header::{
    CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::router::{HttpResponse, detail};
use super::{FRAME_BYTES_MAX, Shared, WS_WRITE_BUFFER_BYTES_MAX, mcp};
use crate::parse::{self, ApiError, FastAction, ObjectOnly};
use crate::session::Session;

/// Bytes tungstenite reads per call. Its default (128 KiB) is zero-filled before every
/// read, which cost more than the rest of a step; messages are ~100 bytes, and larger
/// ones (up to [`FRAME_BYTES_MAX`]) simply take several reads.
const READ_BUFFER_BYTES: usize = 4096;

/// How long we wait for the client's close reply after sending a close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

fn header_has<B>(request: &Request<B>, name: hyper::header::HeaderName, token: &str) -> bool {
    request.headers().get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// Answer `GET /ws`: 101 and a spawned session task, or 400 for a non-WebSocket request.
pub fn upgrade<B>(mut request: Request<B>, shared: &Arc<Shared>) -> HttpResponse
where
    B: Send + 'static,
{
    let key = request.headers().get(SEC_WEBSOCKET_KEY).cloned();
    let is_upgrade = header_has(&request, CONNECTION, "upgrade")
        && header_has(&request, UPGRADE, "websocket")
        && request
            .headers()
            .get(SEC_WEBSOCKET_VERSION)
            .is_some_and(|version| version == "13");
    let Some(key) = key.filter(|_| is_upgrade) else {
        return detail(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket upgrade (OpenEnv session protocol)",
        );
    };
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut request);
    let permit = shared.ws_slots.clone().try_acquire_owned().ok();
    let shared = shared.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let socket = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(socket_config()),
        )
        .await;
        match permit {
            Some(permit) => run(socket, permit, &shared).await,
            None => refuse(socket, &shared).await,
        }
    });
    let mut response = Response::new(http_body_util::Full::new(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The bounds of one WebSocket connection: messages and frames in and out are capped at
/// [`FRAME_BYTES_MAX`]; frames are written as soon as they are sent (no write batching);
/// what waits to be written (replies, pongs, a close) is capped at
/// [`WS_WRITE_BUFFER_BYTES_MAX`], so a peer that never reads cannot grow it.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_WRITE_BUFFER_BYTES_MAX)
        .max_message_size(Some(FRAME_BYTES_MAX))
        .max_frame_size(Some(FRAME_BYTES_MAX))
}

/// Return an `error` frame.
#[must_use]
pub fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "data": {"message": message, "code": code}})
}

async fn refuse(mut socket: Socket, shared: &Shared) {
    let mut frame = error_frame(
        "CAPACITY_REACHED",
        &format!(
            "Server at capacity: {} WebSocket sessions are open",
            shared.config.max_sessions
        ),
    );
    frame["data"]["active_sessions"] = Value::from(shared.active_sessions());
    frame["data"]["max_sessions"] = Value::from(shared.config.max_sessions);
    if send(&mut socket, &frame, CLOSE_WAIT).await {
        close(&mut socket, CloseCode::Normal, "").await;
    }
}

/// Send one frame; `false` when the socket failed or the client did not take it in time
/// (a client that never reads must not hold its session slot forever).
async fn send(socket: &mut Socket, frame: &Value, within: Duration) -> bool {
    send_text(socket, frame.to_string(), within).await
}

/// Send one text frame (see [`send`]).
async fn send_text(socket: &mut Socket, text: String, within: Duration) -> bool {
    let message = Message::text(text);
    matches!(
        tokio::time::timeout(within, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn close(socket: &mut Socket, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if let Ok(Ok(())) = tokio::time::timeout(CLOSE_WAIT, socket.close(Some(frame))).await {
        // Read until the client's close reply so the handshake completes cleanly.
        let wait = async { while let Some(Ok(_)) = socket.next().await {} };
        let _ = tokio::time::timeout(CLOSE_WAIT, wait).await;
    }
}

/// What to do after one message.
enum Reply {
    /// Send this JSON text.
    Frame(String),
    Close,
}

async fn run(mut socket: Socket, _permit: OwnedSemaphorePermit, shared: &Shared) {
    let mut session = Session::new();
    let mut shutdown = shared.shutdown.clone();
    let idle = shared.config.session_idle_timeout;
    let stall = shared.config.write_timeout;
    // One shutdown waiter and one idle timer for the whole session, not one of each per
    // message: the timer is re-armed only when it fires early (the session was active).
    let shutdown_signal = shutdown.changed();
    tokio::pin!(shutdown_signal);
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    // Only data messages are activity: a peer that only pings or pongs is idle.
    let mut active_at = Instant::now();
    loop {
        let next = tokio::select! {
            next = socket.next() => next,
            () = &mut idle_timer => {
                let due = active_at + idle;
                if Instant::now() < due {
                    idle_timer.as_mut().reset(due);
                    continue;
                }
                close(&mut socket, CloseCode::Away, "session idle timeout").await;
                return;
            }
            _ = &mut shutdown_signal => {
                close(&mut socket, CloseCode::Away, "server shutting down").await;
                return;
            }
        };
        let message = match next {
            None => return,
            Some(Err(error)) => return fail(&mut socket, &error).await,
            Some(Ok(message)) => message,
        };
        let text = match &message {
            Message::Text(text) => text.as_str(),
            Message::Binary(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    active_at = Instant::now();
                    let frame = error_frame("INVALID_JSON", "Invalid JSON: not UTF-8 text");
                    if !send(&mut socket, &frame, stall).await {
                        return;
                    }
                    continue;
                }
            },
            // tungstenite has queued the pong: write it before reading on, so a peer that
            // pings without reading is held back by TCP and dropped after the write timeout.
            Message::Ping(_) => {
                if !flush(&mut socket, stall).await {
                    return;
                }
                continue;
            }
            // Pongs are ignored; a close is echoed by tungstenite and ends the stream.
            _ => continue,
        };
        active_at = Instant::now();
        match handle_text(&mut session, text, shared.config.sealed) {
            Reply::Frame(frame) => {
                if !send_text(&mut socket, frame, stall).await {
                    return;
                }
            }
            Reply::Close => {
                close(&mut socket, CloseCode::Normal, "").await;
                return;
            }
        }
    }
}

/// Write what is queued (a pong); `false` when the peer did not take it in time.
async fn flush(socket: &mut Socket, within: Duration) -> bool {
    matches!(
        tokio::time::timeout(within, socket.flush()).await,
        Ok(Ok(()))
    )
}

/// End a session after a read error: close with the code RFC 6455 gives it (1009 too
/// big, 1002 protocol error, 1007 invalid UTF-8), or just drop a broken connection.
async fn fail(socket: &mut Socket, error: &WsError) {
    match error {
        WsError::Capacity(_) => {
            close(socket, CloseCode::Size, "message larger than 1 MiB").await;
        }
        WsError::Protocol(problem) => {
            let reason = problem.to_string();
            close(socket, CloseCode::Protocol, truncated(&reason)).await;
        }
        WsError::Utf8(_) => {
            close(socket, CloseCode::Invalid, "text frame is not valid UTF-8").await;
        }
        _ => {}
    }
}

/// Cut a close reason to the 123 bytes a close frame has room for, on a char boundary.
fn truncated(reason: &str) -> &str {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

fn validation_error(error: &ApiError) -> Value {
    let mut frame = error_frame("VALIDATION_ERROR", &error.message());
    frame["data"]["errors"] = match &error.body["detail"] {
        Value::Array(items) => Value::Array(items.clone()),
        other => json!([other]),
    };
    frame
}

/// Render the last reset or step of `session` as an `observation` frame.
fn observation_frame(session: &Session, with_reward: bool) -> String {
    let mut out = Vec::with_capacity(crate::session::RESPONSE_BYTES_HINT);
    session.write_last_frame(&mut out, with_reward);
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
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

/// Answer one incoming text frame of a WebSocket session: `Some(reply frame JSON)`, or
/// `None` for a `close` message (the socket is then closed with 1000). Public so fuzz
/// targets and tests can drive the protocol without a socket.
#[must_use]
pub fn handle_frame(session: &mut Session, text: &str, sealed: bool) -> Option<String> {
    match handle_text(session, text, sealed) {
        Reply::Frame(frame) => Some(frame),
        Reply::Close => None,
    }
}

/// Answer one text message of a session.
fn handle_text(session: &mut Session, text: &str, sealed: bool) -> Reply {
    // The common message, a step with a plain action, without building a `Value`; any
    // other message, and any invalid action, takes the general path below.
    if let Ok(ObjectOnly(step)) = serde_json::from_str::<ObjectOnly<PlainStep<'_>>>(text)
        && step.kind == "step"
        && let Some(parsed) = step.data.validate()
    {
        session.step(parsed);
        return Reply::Frame(observation_frame(session, true));
    }
    match handle_value(session, text, sealed) {
        Answer::Frame(frame) => Reply::Frame(frame.to_string()),
        Answer::Observation { with_reward } => {
            Reply::Frame(observation_frame(session, with_reward))
        }
        Answer::Close => Reply::Close,
    }
}

/// What [`handle_value`] answers.
enum Answer {
    /// This frame.
    Frame(Value),
    /// The session's last reset or step as an `observation` frame.
    Observation {
        with_reward: bool,
    },
    Close,
}

/// Answer one text message through a parsed [`Value`].
fn handle_value(session: &mut Session, text: &str, sealed: bool) -> Answer {
    let message: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            return Answer::Frame(error_frame(
                "INVALID_JSON",
                &format!("Invalid JSON: {error}"),
            ));
        }
    };
    let Some(kind) = message.get("type").and_then(Value::as_str) else {
        return Answer::Frame(error_frame(
            "VALIDATION_ERROR",
            "Invalid message: expected a JSON object with a string \"type\"",
        ));
    };
    let data = message.get("data").filter(|data| !data.is_null());
    let frame = match kind {
        "reset" => match data {
            None | Some(Value::Object(_)) => match parse::parse_reset(data) {
                Ok(request) => {
                    session.reset(request);
                    return Answer::Observation { with_reward: false };
                }
                Err(error) => validation_error(&error),
            },
            Some(_) => error_frame(
                "VALIDATION_ERROR",
                "Invalid message: reset data must be an object",
            ),
        },
        "step" => match data {
            Some(action @ Value::Object(_)) => {
                match parse::parse_action(parse::step_action(action)) {
                    Ok(parsed) => {
                        session.step(parsed);
                        return Answer::Observation { with_reward: true };
                    }
                    Err(error) => validation_error(&error),
                }
            }
            _ => error_frame(
                "VALIDATION_ERROR",
                "Invalid message: step data must be the action object",
            ),
        },
        "state" => json!({"type": "state", "data": session.state_json(sealed)}),
        "close" => return Answer::Close,
        "mcp" => match data {
            Some(request) => json!({"type": "mcp", "data": mcp::handle(request, session, sealed)
                .unwrap_or_else(|| json!({}))}),
            None => error_frame(
                "VALIDATION_ERROR",
                "Invalid message: mcp data must be a JSON-RPC request",
            ),
        },
        other => error_frame("UNKNOWN_TYPE", &format!("Unknown message type: {other}")),
    };
    Answer::Frame(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(session: &mut Session, text: &str) -> Value {
        match handle_text(session, text, false) {
            Reply::Frame(frame) => serde_json::from_str(&frame).unwrap(),
            Reply::Close => Value::Null,
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
            r#"{"type":"step","data":{"action_type":"diagnose","service":"database","diagnosis":"disk_full"}}"#,
            r#"{"type":"step","data":{"action_type":"apply_fix","service":"database","fix":"clear_disk"}}"#,
            r#"{"type":"step","data":{"action_type":"verify_health","service":"database"}}"#,
        ];
        for task in ["easy_task", "medium_task", "hard_task"] {
            let mut session = Session::new();
            let reset = format!(r#"{{"type":"reset","data":{{"task_id":"{task}","seed":3}}}}"#);
            let Reply::Frame(frame) = handle_text(&mut session, &reset, false) else {
                panic!("reset closed the session");
            };
            assert_eq!(frame, session.last_frame_reference(false));
            for round in 0..40 {
                let text = steps[(round * 5 + 1) % steps.len()];
                let Reply::Frame(frame) = handle_text(&mut session, text, false) else {
                    panic!("step closed the session");
                };
                assert_eq!(frame, session.last_frame_reference(true), "{text}");
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
        assert!(matches!(
            handle_text(&mut session, r#"{"type":"close"}"#, false),
            Reply::Close
        ));
    }
}
