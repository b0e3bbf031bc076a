//! `incident-host`: everything that knows JSON, HTTP, WebSocket and text I/O around the
//! `incident-core` simulator.
//!
//! - [`parse`]: request JSON into validated core values (422 errors otherwise).
//! - [`render`]: core state into the original's JSON, key for key.
//! - [`session`]: one episode with its host-side records, JSON in and JSON out.
//! - [`server`]: the hyper HTTP + OpenEnv WebSocket server (`incident-env serve`).
//! - [`runner`]: the evaluation runner (`incident-env run`, `incident-env eval`).

pub mod parse;
pub mod render;
pub mod runner;
pub mod server;
pub mod session;
