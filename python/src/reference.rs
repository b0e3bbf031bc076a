//! [`CoreBatch`]: the core's own batch step, for the Python benchmark's reference rate.

use incident_core::batch::{self, BatchOut, EpisodeStats, TaskChoice};
use incident_core::{Env, Milli, OBS_LEN};
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::constants::NUM_ENVS_MAX;
use crate::parse_task_choice;

/// The Rust batch: `incident_core::batch::step_batch` over environments built as
/// `VectorEnv`'s are, into Rust-owned buffers, with no Python between steps.
/// `python/bench/bench.py` times it beside `VectorEnv.step` in the same process, on the
/// same actions, so the two rates meet the same machine load.
#[pyclass(module = "incident_env._native")]
pub struct CoreBatch {
    envs: Vec<Env>,
    tasks: TaskChoice,
    observations: Vec<u8>,
    rewards_milli: Vec<Milli>,
    dones: Vec<bool>,
    stats: EpisodeStats,
}

#[pymethods]
impl CoreBatch {
    /// Create environment `i` as `Env::for_batch(seed, i, task)` for `i < num_envs`.
    #[new]
    fn new(num_envs: usize, task: &str, split: &str, seed: u64) -> PyResult<CoreBatch> {
        if !(1..=NUM_ENVS_MAX).contains(&num_envs) {
            return Err(PyValueError::new_err(format!(
                "num_envs must be in 1..={NUM_ENVS_MAX}, got {num_envs}"
            )));
        }
        let tasks = parse_task_choice(task, split)?;
        Ok(CoreBatch {
            envs: (0..num_envs as u64)
                .map(|i| Env::for_batch(seed, i, tasks))
                .collect(),
            tasks,
            observations: vec![0; num_envs * OBS_LEN],
            rewards_milli: vec![0; num_envs],
            dones: vec![false; num_envs],
            stats: EpisodeStats::default(),
        })
    }

    /// Make `calls` batch steps with the GIL released, step `k` taking row `k % rows` of
    /// `actions` (uint8, `(rows, num_envs)`); return the episodes ended so far.
    fn step_rows(
        &mut self,
        py: Python<'_>,
        actions: PyReadonlyArray2<'_, u8>,
        calls: usize,
    ) -> PyResult<u64> {
        let n = self.envs.len();
        let rows = actions.shape()[0];
        if actions.shape()[1] != n || rows == 0 {
            return Err(PyValueError::new_err(format!(
                "actions must have shape (rows >= 1, {n}), got {:?}",
                actions.shape()
            )));
        }
        let actions = actions.as_slice()?;
        py.detach(|| {
            for k in 0..calls {
                let row = &actions[(k % rows) * n..][..n];
                let out = BatchOut {
                    observations: &mut self.observations,
                    rewards_milli: &mut self.rewards_milli,
                    dones: &mut self.dones,
                };
                let stepped =
                    batch::step_batch(&mut self.envs, row, out, self.tasks, &mut self.stats);
                stepped.map_err(|err| PyValueError::new_err(err.to_string()))?;
            }
            Ok(self.stats.episodes)
        })
    }
}
