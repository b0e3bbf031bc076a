//! `incident-host`: the transports and processes around the `incident-api` JSON layer and
//! the `incident-core` simulator.
//!
//! - [`constants`]: every bound, size, timeout and default of the host.
//! - [`server`]: the hyper HTTP + OpenEnv WebSocket server (`incident-env serve`).
//! - [`runner`]: the evaluation runner (`incident-env run`, `incident-env eval`).
//!
//! Parsing, sessions and rendering live in `incident-api` (re-exported as [`api`]).

pub use incident_api as api;

pub mod constants;
pub mod runner;
pub mod server;
