//! One episode as a client sees it: the core environment plus what only the API keeps
//! (the episode id and the raw strings of each action), driven by [`Command`]s.
//!
//! [`Session::apply`] is the one way into an episode: HTTP routes, WebSocket messages, MCP
//! tool calls and the runner all decode their input into a [`Command`] (refusals are
//! [`ApiError`](crate::ApiError)s, decided before anything changes), apply it, and frame the
//! [`Reply`]. A command is already validated, so applying it cannot fail, and a refused
//! request leaves the episode exactly as it was.

use incident_core::Env;
use incident_core::env::Outcome;
use incident_core::record::Lists;
use serde_json::Value;

use crate::parse::{Incident, ParsedAction, RawNames, ResetRequest};
use crate::render;
use crate::reply::{Last, Observed, Reply};

/// One request to an episode, validated (decode one with [`crate::decode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Start a new episode.
    Reset(ResetRequest),
    /// Apply one action.
    Step(ParsedAction),
    /// Read the episode state (`/state`; answer fields hidden when the session is sealed).
    State,
    /// Grade the episode as it stands (`/grader`).
    Grade,
    /// The original's baseline action for the current state (`/baseline`).
    Baseline,
}

/// One episode with its host-side records.
#[derive(Clone, Debug)]
pub struct Session {
    env: Env,
    episode_id: String,
    /// The raw strings of each history entry (same length as the core history).
    raw: Vec<RawNames>,
    /// The outcome, emitted reward and unknown-name echo of the last reset or step.
    last: Last,
    /// Whether `State` hides the answer fields, and generated incidents all get their
    /// tier's largest step budget (which would otherwise tell the root count).
    sealed: bool,
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
    /// Create the episode a fresh server holds before any reset (easy_task, seed 0),
    /// unsealed.
    #[must_use]
    pub fn new() -> Session {
        Session {
            env: Env::default(),
            episode_id: new_episode_id(),
            raw: Vec::new(),
            last: Last::RESET,
            sealed: false,
        }
    }

    /// Return this session with `State` hiding the answer fields (root causes, required
    /// fixes, affected services) when `sealed` is true; a sealed session also starts every
    /// generated incident with its tier's largest step budget, the same for all of them.
    #[must_use]
    pub fn with_sealed(mut self, sealed: bool) -> Session {
        self.sealed = sealed;
        self
    }

    /// Apply one command and return what to answer.
    pub fn apply(&mut self, command: Command) -> Reply {
        match command {
            Command::Reset(request) => {
                self.reset(request);
                Reply::Observation(self.observed())
            }
            Command::Step(parsed) => {
                self.step(parsed);
                Reply::Observation(self.observed())
            }
            Command::State => Reply::State(self.with_state(|state| crate::to_bytes(state))),
            Command::Grade => Reply::Grade(crate::to_bytes(&render::grader(&self.env))),
            Command::Baseline => Reply::Action(crate::to_bytes(&render::baseline(&self.env))),
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

    /// Return the name the last step quoted back as unknown (empty when none).
    #[must_use]
    pub fn last_unknown(&self) -> &str {
        &self.last.unknown
    }

    fn reset(&mut self, request: ResetRequest) {
        match request.task {
            Incident::Task(task) => self.env.reset(task, request.seed),
            Incident::Generated(tier, split) => {
                let mut scenario = Incident::Generated(tier, split).scenario(request.seed);
                if self.sealed {
                    // The budget grows with the root count: sealed, every incident of the
                    // tier gets the tier's largest, so `max_steps` tells nothing.
                    scenario.max_steps = incident_core::generate::max_steps_max(tier);
                }
                self.env.reset_scenario(scenario, request.seed);
            }
        }
        self.episode_id = request.episode_id.unwrap_or_else(new_episode_id);
        self.raw.clear();
        self.last = Last::RESET;
    }

    fn step(&mut self, parsed: ParsedAction) {
        let result = self.env.step(parsed.action);
        let quotes_name = matches!(
            result.outcome,
            Outcome::UnknownServiceInspected | Outcome::InvalidActionType
        );
        let unknown = match &parsed.raw.service {
            Some(name) if quotes_name => name.clone(),
            _ => String::new(),
        };
        if result.outcome != Outcome::AlreadyDone {
            self.raw.push(parsed.raw);
        }
        debug_assert_eq!(self.raw.len(), self.env.history().len());
        self.last = Last {
            outcome: result.outcome,
            reward_milli: result.reward_milli,
            unknown,
        };
    }

    /// Copy what the response of the last reset or step needs.
    fn observed(&self) -> Observed {
        Observed {
            env: self.env.clone(),
            last: self.last.clone(),
        }
    }

    /// Render `/state` with `write` (the response borrows per-call derived lists).
    fn with_state<R>(&self, write: impl FnOnce(&render::StateResponse<'_>) -> R) -> R {
        let lists = Lists::of(&self.env);
        write(&render::state(
            &self.env,
            &lists,
            &self.episode_id,
            &self.raw,
            self.sealed,
        ))
    }

    /// Return `/state` as a [`Value`] (for tests and tools; the transports use
    /// [`Command::State`]).
    #[must_use]
    pub fn state_json(&self) -> Value {
        self.with_state(|state| crate::to_value(state))
    }

    /// Render the response of the last reset or step through the `Serialize` structs of
    /// [`render`]: the slow reference that the byte renderer behind [`Reply`] must equal
    /// (used by tests and the fuzz targets).
    #[must_use]
    pub fn last_response(&self) -> Value {
        let lists = Lists::of(&self.env);
        let Last {
            outcome,
            reward_milli,
            unknown,
        } = &self.last;
        crate::to_value(&render::step_response(
            &self.env,
            &lists,
            *outcome,
            *reward_milli,
            unknown,
        ))
    }

    /// Render the last reset or step as a WebSocket `observation` frame through the
    /// `Value` tree: the slow reference for [`Reply::write_ws_frame`] (tests, fuzz).
    #[must_use]
    pub fn last_frame_reference(&self) -> String {
        let response = self.last_response();
        let reward = if self.last.outcome == Outcome::Reset {
            Value::Null
        } else {
            response["reward"].clone()
        };
        serde_json::json!({"type": "observation", "data": {
            "observation": response["observation"],
            "reward": reward,
            "done": response["done"],
            "metadata": response["info"],
        }})
        .to_string()
    }
}
