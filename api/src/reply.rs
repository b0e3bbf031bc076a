//! What [`Session::apply`](crate::Session::apply) answers, and the framings of it: the
//! HTTP body ([`Reply::write_json`]), the OpenEnv WebSocket frame
//! ([`Reply::write_ws_frame`]) and a [`Value`] for MCP's `structuredContent`
//! ([`Reply::to_value`]). Every step response is written by one renderer
//! ([`crate::render::write_step_response`]).

use incident_core::env::Outcome;
use incident_core::{Env, Milli};
use serde_json::Value;

use crate::constants::RESPONSE_BYTES_HINT;
use crate::render;

/// The answer to one [`Command`](crate::Command).
#[derive(Clone, Debug)]
// The large variant is the common one (every step); boxing it would allocate per step.
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    /// A reset or a step: `{observation, reward, done, info}`, rendered on demand from a
    /// copy (the environment is a small plain value), so an HTTP server can render it
    /// after releasing the lock on a shared session.
    Observation(Observed),
    /// `/state`, as JSON bytes.
    State(Vec<u8>),
    /// `/grader`, as JSON bytes.
    Grade(Vec<u8>),
    /// `/baseline`, as JSON bytes.
    Action(Vec<u8>),
}

/// What the response of the last reset or step needs besides the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Last {
    pub(crate) outcome: Outcome,
    pub(crate) reward_milli: Milli,
    /// The name quoted back by an unknown-name outcome (empty otherwise).
    pub(crate) unknown: String,
}

impl Last {
    /// Straight after a reset.
    pub(crate) const RESET: Last = Last {
        outcome: Outcome::Reset,
        reward_milli: incident_core::env::REWARD_MIN_MILLI,
        unknown: String::new(),
    };
}

/// A copy of what the response of one reset or step needs.
#[derive(Clone, Debug)]
pub struct Observed {
    pub(crate) env: Env,
    pub(crate) last: Last,
}

impl Observed {
    /// Return the environment after the reset or step.
    #[must_use]
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Return what the step did (`Outcome::Reset` after a reset).
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        self.last.outcome
    }

    /// Return the reward the step emitted, in thousandths (before the original tasks'
    /// display clamp).
    #[must_use]
    pub fn reward_milli(&self) -> Milli {
        self.last.reward_milli
    }

    /// Append the response (`frame`: as a WebSocket `observation` frame instead).
    fn write(&self, out: &mut Vec<u8>, frame: bool) {
        let Last {
            outcome,
            reward_milli,
            unknown,
        } = &self.last;
        // A reset's frame carries `reward: null` (OpenEnv); its HTTP body the shown 0 (an
        // original task's clamped 0.05).
        let frame = frame.then_some(*outcome != Outcome::Reset);
        render::write_step_response(out, &self.env, *outcome, *reward_milli, unknown, frame);
    }
}

impl Reply {
    /// Return the WebSocket frame type of this reply (`observation`, `state`, `grade` or
    /// `action`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Observation(_) => "observation",
            Reply::State(_) => "state",
            Reply::Grade(_) => "grade",
            Reply::Action(_) => "action",
        }
    }

    /// Append the JSON document (the HTTP response body) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Observation(observed) => observed.write(out, false),
            Reply::State(json) | Reply::Grade(json) | Reply::Action(json) => {
                out.extend_from_slice(json);
            }
        }
    }

    /// Return the JSON document (the HTTP response body) as bytes.
    #[must_use]
    pub fn to_json_bytes(&self) -> Vec<u8> {
        match self {
            Reply::Observation(observed) => {
                let mut out = Vec::with_capacity(RESPONSE_BYTES_HINT);
                observed.write(&mut out, false);
                out
            }
            Reply::State(json) | Reply::Grade(json) | Reply::Action(json) => json.clone(),
        }
    }

    /// Append the OpenEnv WebSocket frame: `{"type":"observation","data":{observation,
    /// reward, done, metadata}}` for a reset or step (reward `null` after a reset),
    /// `{"type":<kind>,"data":<document>}` otherwise.
    pub fn write_ws_frame(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Observation(observed) => observed.write(out, true),
            Reply::State(json) | Reply::Grade(json) | Reply::Action(json) => {
                out.extend_from_slice(b"{\"type\":\"");
                out.extend_from_slice(self.kind().as_bytes());
                out.extend_from_slice(b"\",\"data\":");
                out.extend_from_slice(json);
                out.push(b'}');
            }
        }
    }

    /// Return the OpenEnv WebSocket frame as text (see [`Reply::write_ws_frame`]).
    #[must_use]
    pub fn to_ws_frame(&self) -> String {
        let mut out = Vec::with_capacity(RESPONSE_BYTES_HINT);
        self.write_ws_frame(&mut out);
        // serde_json and the renderer write UTF-8 only.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Return the JSON document as a [`Value`] (MCP's `structuredContent`, tools).
    #[must_use]
    pub fn to_value(&self) -> Value {
        let parsed = serde_json::from_slice(&self.to_json_bytes());
        debug_assert!(parsed.is_ok(), "replies are valid JSON");
        parsed.unwrap_or(Value::Null)
    }
}
