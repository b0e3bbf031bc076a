//! One episode as a client sees it: the core environment plus what only the host keeps
//! (the episode id and the raw strings of each action), with JSON in and JSON out.
//!
//! The HTTP routes share one [`Session`]; every WebSocket connection owns one. Every
//! method validates first and mutates only on success, so a rejected request leaves the
//! episode exactly as it was.

use incident_core::env::Outcome;
use incident_core::record::Lists;
use incident_core::{Env, Milli};
use serde_json::Value;

use crate::parse::{self, ApiError, ParsedAction, RawNames, ResetRequest};
use crate::render;

/// One episode with its host-side records.
#[derive(Clone, Debug)]
pub struct Session {
    env: Env,
    episode_id: String,
    /// The raw strings of each history entry (same length as the core history).
    raw: Vec<RawNames>,
    /// The outcome, emitted reward and unknown-name echo of the last reset or step.
    last: (Outcome, Milli, String),
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

/// Generate a random UUID4 string (the original's `episode_id`).
#[must_use]
pub fn new_episode_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Session {
    /// Create the episode a fresh server holds before any reset (easy_task, seed 0).
    #[must_use]
    pub fn new() -> Session {
        Session {
            env: Env::default(),
            episode_id: new_episode_id(),
            raw: Vec::new(),
            last: (
                Outcome::Reset,
                incident_core::env::REWARD_MIN_MILLI,
                String::new(),
            ),
        }
    }

    /// Return the core environment.
    #[must_use]
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Return the episode id.
    #[must_use]
    pub fn episode_id(&self) -> &str {
        &self.episode_id
    }

    /// Return the raw strings of each step's action.
    #[must_use]
    pub fn raw_history(&self) -> &[RawNames] {
        &self.raw
    }

    /// Start a new episode (the episode id is the request's, or a new UUID4).
    pub fn reset(&mut self, request: ResetRequest) {
        self.env.reset(request.task, request.seed);
        self.episode_id = request.episode_id.unwrap_or_else(new_episode_id);
        self.raw.clear();
        self.last = (
            Outcome::Reset,
            incident_core::env::REWARD_MIN_MILLI,
            String::new(),
        );
    }

    /// Apply a validated action and return the core's result.
    pub fn step(&mut self, parsed: ParsedAction) -> incident_core::StepResult {
        let result = self.env.step(parsed.action);
        let unknown = parsed.raw.service.clone().unwrap_or_default();
        if result.outcome != Outcome::AlreadyDone {
            self.raw.push(parsed.raw);
        }
        debug_assert_eq!(self.raw.len(), self.env.history().len());
        self.last = (result.outcome, result.reward_milli, unknown);
        result
    }

    /// Parse a reset body, reset, and return the response JSON.
    ///
    /// # Errors
    /// A body [`parse::parse_reset`] refuses; nothing changes then.
    pub fn reset_json(&mut self, body: Option<&Value>) -> Result<Value, ApiError> {
        let request = parse::parse_reset(body)?;
        self.reset(request);
        Ok(self.last_response())
    }

    /// Parse an action object, step, and return the response JSON.
    ///
    /// # Errors
    /// An action [`parse::parse_action`] refuses; nothing changes then.
    pub fn step_json(&mut self, action: &Value) -> Result<Value, ApiError> {
        let parsed = parse::parse_action(action)?;
        self.step(parsed);
        Ok(self.last_response())
    }

    /// Return the response of the last reset or step (`{observation, reward, done, info}`).
    #[must_use]
    pub fn last_response(&self) -> Value {
        let lists = Lists::of(&self.env);
        let (outcome, reward, unknown) = &self.last;
        to_value(&render::step_response(
            &self.env, &lists, *outcome, *reward, unknown,
        ))
    }

    /// Write the response of the last reset or step as JSON bytes.
    #[must_use]
    pub fn last_response_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RESPONSE_BYTES_HINT);
        self.write_last_response(&mut out);
        out
    }

    /// Append the response of the last reset or step to `out` as JSON bytes.
    pub fn write_last_response(&self, out: &mut Vec<u8>) {
        write_response(&self.env, &self.last, out, None);
    }

    /// Append the last reset or step as a WebSocket `observation` frame to `out`
    /// (`with_reward` false after a reset: the frame's reward is `null`).
    pub fn write_last_frame(&self, out: &mut Vec<u8>, with_reward: bool) {
        write_response(&self.env, &self.last, out, Some(with_reward));
    }

    /// Render the last reset or step as a WebSocket `observation` frame through the
    /// `Value` tree: the slow reference that [`Session::write_last_frame`]'s bytes must
    /// equal (used by tests and the fuzz targets).
    #[must_use]
    pub fn last_frame_reference(&self, with_reward: bool) -> String {
        let response = self.last_response();
        let reward = if with_reward {
            response["reward"].clone()
        } else {
            Value::Null
        };
        serde_json::json!({"type": "observation", "data": {
            "observation": response["observation"],
            "reward": reward,
            "done": response["done"],
            "metadata": response["info"],
        }})
        .to_string()
    }

    /// Copy what the response of the last reset or step needs, so it can be rendered
    /// after a lock on the session is released.
    #[must_use]
    pub fn reply(&self) -> Reply {
        Reply {
            env: self.env.clone(),
            last: self.last.clone(),
        }
    }

    /// Return `/state` (`sealed` hides the answer fields).
    #[must_use]
    pub fn state_json(&self, sealed: bool) -> Value {
        let lists = Lists::of(&self.env);
        to_value(&render::state(
            &self.env,
            &lists,
            &self.episode_id,
            &self.raw,
            sealed,
        ))
    }

    /// Return `/grader`.
    #[must_use]
    pub fn grader_json(&self) -> Value {
        to_value(&render::grader(&self.env))
    }

    /// Return `/baseline` (and `/sample_action`).
    #[must_use]
    pub fn baseline_json(&self) -> Value {
        to_value(&render::baseline(&self.env))
    }
}

/// Typical size of a step response (1.7 to 2.5 KB); one allocation holds it.
pub const RESPONSE_BYTES_HINT: usize = 4096;

/// A copy of what the response of one reset or step needs (the environment is a small
/// plain value), rendered without holding the session.
#[derive(Clone, Debug)]
pub struct Reply {
    env: Env,
    last: (Outcome, Milli, String),
}

impl Reply {
    /// Render the `{observation, reward, done, info}` response as JSON bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RESPONSE_BYTES_HINT);
        write_response(&self.env, &self.last, &mut out, None);
        out
    }
}

/// Append a step response (or, with `frame = Some(with_reward)`, its WebSocket
/// `observation` frame) to `out`.
fn write_response(
    env: &Env,
    last: &(Outcome, Milli, String),
    out: &mut Vec<u8>,
    frame: Option<bool>,
) {
    let (outcome, reward, unknown) = last;
    render::write_step_response(out, env, *outcome, *reward, unknown, frame);
}

/// Serialize a response to a JSON value. Our response types cannot fail to serialize
/// (string keys, finite floats), so a failure is a bug and shows as `null`.
#[must_use]
pub fn to_value(value: &impl serde::Serialize) -> Value {
    let rendered = serde_json::to_value(value);
    debug_assert!(rendered.is_ok());
    rendered.unwrap_or(Value::Null)
}

/// Serialize a response to JSON bytes (see [`to_value`]).
#[must_use]
pub fn to_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    let rendered = serde_json::to_vec(value);
    debug_assert!(rendered.is_ok());
    rendered.unwrap_or_else(|_| b"null".to_vec())
}
