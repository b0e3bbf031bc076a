//! `incident-core`: the DevOps incident-response environment as a `#![no_std]`,
//! allocation-free, fixed-size simulator.
//!
//! # Bird's-eye view
//!
//! Six microservices form a dependency graph (`api_gateway` → `auth_service` /
//! `order_service` → `user_service` / `payment_service` → `database`). Each of four tasks
//! breaks one or two *roots* and makes upstream *symptom* services look sick; the alerts
//! sit on the symptoms. An agent investigates (`read_logs`, `query_metrics`,
//! `inspect_dependencies`, `list_services`), diagnoses, fixes and verifies. Every step
//! pays a dense reward; a deterministic grader scores the episode.
//!
//! The behaviour is the original Python environment's, exactly, quirks included
//! (`shared/spec/behaviour.md`): the same rewards, errors, statuses and grades for every
//! action sequence. The text the original shows lives here as static data
//! ([`text`]) so the host renders byte-identical JSON and the [`baseline`] policy reads the
//! same words.
//!
//! # Layers
//!
//! Lower first; a module names only modules of lower layers (`tests/tests/module_graph.rs`
//! fails on a cycle):
//!
//! 1. [`vocab`] (closed vocabularies), [`seed`] (the seed mix).
//! 2. [`constants`] (bounds, sizes, reward units), [`topology`] (the bitmask graph).
//! 3. [`action`] (validated actions, the 115 discrete indices), [`outcome`] (what a step
//!    did), [`task`] (the four tasks' data).
//! 4. [`op`] (decoded actions), [`text`] (strings, logs, metrics).
//! 5. [`scenario`]: one incident, everything the rules read.
//! 6. [`generate`] (generated incidents), [`grader`] (the four-part score over plain data
//!    and an exact `round(x, 3)`), [`obs`] (the numeric observation).
//! 7. [`mod@env`]: one episode: `reset`, `step`, every handler, ruleset v2's timeline
//!    ([`env::v2`]) and the live grade.
//! 8. [`record`] (the original's ordered lists from the history), `snapshot` (feature
//!    `serde`: postcard snapshots), [`batch`] (many environments at once), [`baseline`]
//!    (the original's rule-based policy), [`oracle`] (the policy that reads the answer).
//!
//! # Invariants
//!
//! - No `std`, no `alloc`, no I/O, no clock. Randomness comes only from each
//!   environment's seeded `Xoshiro128PlusPlus` and is used only to pick auto-reset episodes.
//! - No input panics: every [`Action`] (and every discrete index, valid or not) is a step
//!   outcome with the original's error code.
//! - Every buffer has a bound, named in [`constants`]: the history holds at most
//!   `STEP_COUNT_MAX` records, and `size_of::<Env>()` is checked against `ENV_BYTES_MAX` at
//!   compile time.
//! - Rewards, scores and trajectories are integers in thousandths ([`Milli`]).
#![cfg_attr(not(test), no_std)]

pub mod action;
pub mod baseline;
pub mod batch;
pub mod constants;
pub mod env;
pub mod generate;
pub mod grader;
pub mod obs;
pub mod op;
pub mod oracle;
pub mod outcome;
pub mod record;
pub mod scenario;
pub mod seed;
#[cfg(feature = "serde")]
pub mod snapshot;
pub mod task;
pub mod text;
pub mod topology;
pub mod vocab;

pub use action::{Action, Arg};
pub use constants::{ACTION_COUNT, OBS_LEN};
pub use env::{Env, ErrorCode, Milli, Outcome, StepResult};
pub use grader::Grade;
pub use scenario::{Scenario, Split, Tier};
pub use task::{Task, TaskId};
pub use vocab::{ActionType, Fix, Mode, Service, Severity, Status};
