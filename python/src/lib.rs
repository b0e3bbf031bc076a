//! `incident_env._native`: the Rust side of the `incident_env` Python package.
//!
//! Thin on purpose: [`VecCore`] owns the environments and the numpy arrays a step writes
//! into, and every size and name (observation length, action count, tasks) comes from
//! `incident-core`'s constants. The Gymnasium classes, spaces and info dicts are Python
//! (`incident_env/vector.py`, `incident_env/env.py`). [`ApiSession`] is the text-level
//! episode of `incident-api` (the HTTP routes' documents), wrapped by
//! `incident_env/session.py`. [`CoreBatch`] is the core's plain batch step, the reference
//! rate of the Python benchmark. `OBS_LAYOUT` ([`layout`]) names the observation's bytes.

pub mod constants;
pub mod lanes;
pub mod layout;
mod reference;
mod session;
mod vector;

use incident_core::batch::TaskChoice;
use incident_core::constants as core_constants;
use incident_core::grader;
use incident_core::task::TaskId;
use incident_core::{ACTION_COUNT, Action, OBS_LEN, Split, Tier};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub use reference::CoreBatch;
pub use session::{ApiSession, manifest_json, tasks_json};
pub use vector::VecCore;

/// The task choices besides a single task's wire id.
const MIXED_CHOICES: [(&str, TaskChoice); 2] = [
    ("uniform", TaskChoice::Uniform),
    ("cycle", TaskChoice::Cycle),
];

/// Return the names of the dataset splits a generated tier is drawn from.
#[must_use]
pub fn split_names() -> Vec<&'static str> {
    Split::ALL.iter().map(|split| split.name()).collect()
}

/// Return the task ids a reset request names: each original task's wire id, then each
/// generated tier (`gen_easy` ...), as the server's `task_id` accepts them.
#[must_use]
pub fn task_id_names() -> Vec<&'static str> {
    let tasks = TaskId::ALL.iter().map(|task| task.name());
    tasks
        .chain(Tier::EVERY.iter().map(|tier| tier.name()))
        .collect()
}

/// Return every task choice's name: each original task's wire id, each generated tier
/// (`gen_easy` ...), then the mixtures of the original tasks.
#[must_use]
pub fn task_choice_names() -> Vec<&'static str> {
    let mut names = task_id_names();
    names.extend(MIXED_CHOICES.iter().map(|(name, _)| *name));
    names
}

/// Parse a task choice and split (the split selects the generated incidents of a tier:
/// `test` is the held-out set; the original tasks are the same in both).
///
/// # Errors
/// A `ValueError` naming the valid choices.
pub fn parse_task_choice(task: &str, split: &str) -> PyResult<TaskChoice> {
    let Some(split) = Split::from_name(split) else {
        return Err(PyValueError::new_err(format!(
            "unknown split {split:?}; expected one of {:?}",
            split_names()
        )));
    };
    if let Some(id) = TaskId::from_name(task) {
        return Ok(TaskChoice::Fixed(id));
    }
    if let Some(tier) = Tier::from_name(task) {
        return Ok(TaskChoice::Generated(tier, split));
    }
    MIXED_CHOICES
        .iter()
        .find(|(name, _)| *name == task)
        .map(|(_, choice)| *choice)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown task {task:?}; expected one of {:?}",
                task_choice_names()
            ))
        })
}

/// Return the action of every discrete index as the original's JSON action fields
/// (`action_type` and whichever of `service`, `diagnosis`, `fix` it takes).
fn action_table(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    (0..ACTION_COUNT as u8)
        .filter_map(Action::from_index)
        .map(|action| {
            let fields = PyDict::new(py);
            if let Some(kind) = action.kind {
                fields.set_item("action_type", kind.name())?;
            }
            if let Some(service) = action.service.known() {
                fields.set_item("service", service.name())?;
            }
            if let Some(diagnosis) = action.diagnosis.known() {
                fields.set_item("diagnosis", diagnosis.name())?;
            }
            if let Some(fix) = action.fix.known() {
                fields.set_item("fix", fix.name())?;
            }
            Ok(fields)
        })
        .collect()
}

/// The extension module.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("OBS_LEN", OBS_LEN)?;
    module.add("ACTION_COUNT", ACTION_COUNT)?;
    module.add("ACTIONS", action_table(module.py())?)?;
    module.add("TASK_CHOICES", task_choice_names())?;
    module.add("TASK_IDS", task_id_names())?;
    module.add("SPLITS", split_names())?;
    module.add("EPISODE_FIELDS", lanes::EPISODE_FIELDS.to_vec())?;
    module.add("OBS_LAYOUT", layout::obs_layout(module.py())?)?;
    module.add("OBS_DTYPE", constants::OBS_DTYPE)?;
    module.add("OBS_LOW", constants::OBS_LOW)?;
    module.add("OBS_HIGH", constants::OBS_HIGH)?;
    module.add("STEP_COUNT_MAX", core_constants::STEP_COUNT_MAX)?;
    module.add("SEED_MAX", constants::SEED_MAX)?;
    module.add("NEGATIVE_SEED", incident_api::parse::NEGATIVE_SEED)?;
    module.add(
        "NEGATIVE_INCIDENT_SEED",
        incident_api::parse::NEGATIVE_INCIDENT_SEED,
    )?;
    module.add("NUM_ENVS_MAX", constants::NUM_ENVS_MAX)?;
    module.add("NUM_THREADS_MAX", constants::NUM_THREADS_MAX)?;
    module.add("MIN_ENVS_PER_THREAD", constants::MIN_ENVS_PER_THREAD)?;
    module.add("FIELD_CHARS_MAX", core_constants::FIELD_CHARS_MAX)?;
    module.add("REASONING_CHARS_MAX", core_constants::REASONING_CHARS_MAX)?;
    module.add(
        "SCORE_FLOOR",
        core_constants::milli_to_f64(grader::strict(0.0).into()),
    )?;
    module.add(
        "SCORE_CEILING",
        core_constants::milli_to_f64(grader::strict(1.0).into()),
    )?;
    module.add_function(wrap_pyfunction!(tasks_json, module)?)?;
    module.add_function(wrap_pyfunction!(manifest_json, module)?)?;
    module.add_class::<VecCore>()?;
    module.add_class::<ApiSession>()?;
    module.add_class::<CoreBatch>()?;
    Ok(())
}
