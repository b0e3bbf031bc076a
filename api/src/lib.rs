//! `incident-api`: the incident environment's JSON layer, shared by the server, the
//! runner and the Python package. std + serde_json only: no I/O, no async, no HTTP.
//!
//! One path for every transport: decode the input into a [`Command`] ([`decode`]; a
//! refusal is an [`ApiError`] and changes nothing), [`Session::apply`] it, and frame the
//! [`Reply`] (an HTTP body, an OpenEnv WebSocket frame, or MCP content).
//!
//! ```
//! use incident_api::{Command, Session, decode};
//!
//! let mut session = Session::new();
//! let reset = decode::reset(br#"{"task_id": "hard_task", "seed": 7}"#)?;
//! session.apply(reset);
//! let step = decode::step(br#"{"action_type": "read_logs", "service": "database"}"#)?;
//! let body: Vec<u8> = session.apply(step).to_json_bytes();
//! assert!(body.starts_with(b"{\"observation\":"));
//! let state = session.apply(Command::State).to_value();
//! assert_eq!(state["step_count"], 1);
//! // A refused request is an error with an HTTP status and a JSON body.
//! let refused = decode::step(b"{\"action_type\": \"reboot\"}").unwrap_err();
//! assert_eq!(refused.status, 422);
//! # Ok::<(), incident_api::ApiError>(())
//! ```
//!
//! Modules:
//! - [`constants`]: the layer's bounds, sizes and defaults.
//! - [`parse`]: JSON values into validated core values (422 errors otherwise).
//! - [`decode`]: request bytes or values into [`Command`]s (FastAPI's error shapes).
//! - [`session`]: one episode, [`Session::apply`].
//! - [`reply`]: what a command answers, framed as JSON, a WebSocket frame or a `Value`.
//! - [`render`]: core state into the original's JSON, key for key (one byte renderer for
//!   step responses).
//! - [`openenv`]: the OpenEnv WebSocket message protocol, one text message at a time.
//! - [`mcp`]: JSON-RPC 2.0 / MCP tools over a session.
//! - [`schema`]: the action's JSON Schema.
//! - [`guard`]: the no-cross-site-writes rules (`Content-Type`, `Origin`).

pub mod constants;
pub mod decode;
pub mod guard;
pub mod mcp;
pub mod openenv;
pub mod parse;
pub mod render;
pub mod reply;
pub mod schema;
pub mod session;

pub use parse::ApiError;
pub use reply::{Observed, Reply};
pub use session::{Command, Session};

/// Serialize a response to a JSON value. Our response types cannot fail to serialize
/// (string keys, finite floats), so a failure is a bug and shows as `null`.
#[must_use]
pub fn to_value(value: &impl serde::Serialize) -> serde_json::Value {
    let rendered = serde_json::to_value(value);
    debug_assert!(rendered.is_ok());
    rendered.unwrap_or(serde_json::Value::Null)
}

/// Serialize a response to JSON bytes (see [`to_value`]).
#[must_use]
pub fn to_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    let rendered = serde_json::to_vec(value);
    debug_assert!(rendered.is_ok());
    rendered.unwrap_or_else(|_| b"null".to_vec())
}
