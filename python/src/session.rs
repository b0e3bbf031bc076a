//! [`ApiSession`]: one text-level episode through `incident-api`, the same
//! decode -> `Session::apply` -> render path as the HTTP routes.

use incident_api::render::{self, Listing};
use incident_api::{ApiError, Command, Session, decode};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// One episode answering with the HTTP routes' exact JSON documents, as bytes.
///
/// Each method returns `(status, body)`: 200 and the route's response body, or the
/// route's error status (422 ...) and its JSON error body; a refused request changes
/// nothing. The Python class `incident_env.Session` turns these into dicts.
#[pyclass(module = "incident_env._native")]
pub struct ApiSession {
    session: Session,
}

/// A status and a JSON body.
type Answer<'py> = (u16, Bound<'py, PyBytes>);

#[pymethods]
impl ApiSession {
    /// Create the episode a fresh server holds (easy_task, seed 0); `sealed` hides the
    /// answer fields from `state()` as `serve --sealed` does.
    #[new]
    #[pyo3(signature = (sealed = false))]
    fn new(sealed: bool) -> ApiSession {
        ApiSession {
            session: Session::new().with_sealed(sealed),
        }
    }

    /// `POST /reset` with `body` (JSON bytes; empty for no body).
    fn reset<'py>(&mut self, py: Python<'py>, body: &[u8]) -> Answer<'py> {
        self.answer(py, decode::reset(body))
    }

    /// `POST /step` with `body` (JSON bytes: an action, or `{"action": ...}`).
    fn step<'py>(&mut self, py: Python<'py>, body: &[u8]) -> Answer<'py> {
        self.answer(py, decode::step(body))
    }

    /// `GET /state`.
    fn state<'py>(&mut self, py: Python<'py>) -> Answer<'py> {
        self.answer(py, Ok(Command::State))
    }

    /// `GET /grader`.
    fn grade<'py>(&mut self, py: Python<'py>) -> Answer<'py> {
        self.answer(py, Ok(Command::Grade))
    }

    /// `GET /baseline`.
    fn baseline<'py>(&mut self, py: Python<'py>) -> Answer<'py> {
        self.answer(py, Ok(Command::Baseline))
    }
}

/// `GET /tasks` (`?include=generated` with `generated`): the task definitions, as JSON.
#[pyfunction]
#[pyo3(signature = (generated = false))]
pub fn tasks_json(py: Python<'_>, generated: bool) -> Bound<'_, PyBytes> {
    PyBytes::new(
        py,
        &incident_api::to_bytes(&render::tasks(listing(generated))),
    )
}

/// `GET /manifest` (`?include=generated` with `generated`), as JSON.
#[pyfunction]
#[pyo3(signature = (generated = false))]
pub fn manifest_json(py: Python<'_>, generated: bool) -> Bound<'_, PyBytes> {
    PyBytes::new(
        py,
        &incident_api::to_bytes(&render::manifest(listing(generated))),
    )
}

/// The listing of `/tasks` and `/manifest`: the original tasks, or also the tiers.
fn listing(generated: bool) -> Listing {
    if generated {
        Listing::WithGenerated
    } else {
        Listing::Original
    }
}

impl ApiSession {
    /// Apply a decoded command, or answer its refusal.
    fn answer<'py>(&mut self, py: Python<'py>, command: Result<Command, ApiError>) -> Answer<'py> {
        match command {
            Ok(command) => (
                200,
                PyBytes::new(py, &self.session.apply(command).to_json_bytes()),
            ),
            Err(error) => (
                error.status,
                PyBytes::new(py, &incident_api::to_bytes(&error.body)),
            ),
        }
    }
}
