//! [`VecCore`]: a batch of environments and the numpy arrays its steps write into.

use std::num::NonZeroUsize;

use incident_core::baseline::{self, Shown};
use incident_core::batch::{self, TaskChoice};
use incident_core::scenario::Scenario;
use incident_core::{Action, Env, OBS_LEN, oracle};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::constants::{FLAG_ROWS, NUM_ENVS_MAX, NUM_THREADS_MAX};
use crate::lanes::{Batch, EPISODE_FIELDS, Lanes};
use crate::parse_task_choice;

/// A batch of incident environments stepping in place into numpy arrays it owns.
///
/// The arrays are allocated once; `step` and `reset` overwrite them (the Python classes
/// hand out read-only views of them). Environment `i` of a batch seeded with `seed` is
/// `Env::for_batch(seed, i, task)`, so results do not depend on `num_threads`, whose
/// worker threads are started once, here.
#[pyclass(module = "incident_env._native")]
pub struct VecCore {
    /// The environments, their task choice and the step's own state and threads.
    batch: Batch,
    /// Actions narrowed to bytes when they arrive as `int64`.
    scratch: Vec<u8>,
    /// `(num_envs, OBS_LEN)` uint8: the current observations.
    #[pyo3(get)]
    observations: Py<PyArray2<u8>>,
    /// `(num_envs, OBS_LEN)` uint8: the last observation of each episode that ended.
    #[pyo3(get)]
    final_observations: Py<PyArray2<u8>>,
    /// `(num_envs,)` float32: the last step's rewards.
    #[pyo3(get)]
    rewards: Py<PyArray1<f32>>,
    /// `(3, num_envs)` bool: rows terminated, truncated, ended (either).
    #[pyo3(get)]
    flags: Py<PyArray2<bool>>,
    /// `(len(EPISODE_FIELDS), num_envs)` float32: return and grade of each ended episode.
    #[pyo3(get)]
    episode: Py<PyArray2<f32>>,
    /// `(num_envs,)` int32: length of each ended episode.
    #[pyo3(get)]
    lengths: Py<PyArray1<i32>>,
    /// `(num_envs,)` float64: wall-clock seconds of each ended episode.
    #[pyo3(get)]
    times: Py<PyArray1<f64>>,
}

/// Actions as numpy gives them: bytes (the fast path) or `int64`, which is narrowed (any
/// value outside `0..=255` becomes 255, an unknown action, never a wrapped valid one).
#[derive(FromPyObject)]
enum Actions<'py> {
    Bytes(PyReadonlyArray1<'py, u8>),
    Wide(PyReadonlyArray1<'py, i64>),
}

#[pymethods]
impl VecCore {
    /// Create `num_envs` environments for `task`/`split`, seeded from `seed`, stepping on up
    /// to `num_threads` threads (`VectorEnv`'s arguments, whose defaults are Python's).
    #[new]
    fn new(
        py: Python<'_>,
        num_envs: usize,
        task: &str,
        split: &str,
        seed: u64,
        num_threads: usize,
    ) -> PyResult<VecCore> {
        check_range("num_envs", num_envs, NUM_ENVS_MAX)?;
        check_range("num_threads", num_threads, NUM_THREADS_MAX)?;
        let tasks = parse_task_choice(task, split)?;
        let envs = (0..num_envs as u64)
            .map(|i| Env::for_batch(seed, i, tasks))
            .collect();
        let threads = NonZeroUsize::new(num_threads).unwrap_or(NonZeroUsize::MIN);
        let batch = Batch::new(envs, tasks, threads).map_err(|err| {
            PyRuntimeError::new_err(format!("cannot start the worker threads: {err}"))
        })?;
        let core = VecCore {
            batch,
            scratch: vec![0; num_envs],
            observations: PyArray2::zeros(py, [num_envs, OBS_LEN], false).unbind(),
            final_observations: PyArray2::zeros(py, [num_envs, OBS_LEN], false).unbind(),
            rewards: PyArray1::zeros(py, num_envs, false).unbind(),
            flags: PyArray2::zeros(py, [FLAG_ROWS, num_envs], false).unbind(),
            episode: PyArray2::zeros(py, [EPISODE_FIELDS.len(), num_envs], false).unbind(),
            lengths: PyArray1::zeros(py, num_envs, false).unbind(),
            times: PyArray1::zeros(py, num_envs, false).unbind(),
        };
        core.observe(py)?;
        Ok(core)
    }

    /// Return the number of environments.
    fn __len__(&self) -> usize {
        self.batch.envs.len()
    }

    /// Return the number of persistent worker threads a step uses besides the calling one.
    #[getter]
    fn workers(&self) -> usize {
        self.batch.workers()
    }

    /// Choose the task of every later (auto-)reset.
    fn set_task(&mut self, task: &str, split: &str) -> PyResult<()> {
        self.batch.tasks = parse_task_choice(task, split)?;
        Ok(())
    }

    /// Start new episodes: with `seed`, environment `i` is rebuilt as
    /// `Env::for_batch(seed, i, task)`; without, each draws its next episode from its own
    /// generator. `mask` (bool, one per environment) limits the reset to where it is true.
    /// Writes `observations`.
    #[pyo3(signature = (seed = None, mask = None))]
    fn reset(
        &mut self,
        py: Python<'_>,
        seed: Option<u64>,
        mask: Option<PyReadonlyArray1<'_, bool>>,
    ) -> PyResult<()> {
        let mask = match &mask {
            Some(mask) => Some(self.checked(mask.as_slice()?, "mask")?),
            None => None,
        };
        let tasks = self.batch.tasks;
        for (i, env) in self.batch.envs.iter_mut().enumerate() {
            if mask.is_some_and(|mask| !mask[i]) {
                continue;
            }
            match seed {
                Some(seed) => *env = Env::for_batch(seed, i as u64, tasks),
                None => env.auto_reset(tasks),
            }
        }
        self.batch.restart_clock(mask);
        self.observe(py)
    }

    /// Rebuild environment `i` as generated incident `seeds[i]` of the current tier and
    /// split (`Env::with_scenario(Scenario::generated(seed, tier, split), seed, seed)`,
    /// as the core's `tiers` example numbers incidents), so an
    /// evaluation can play a fixed, documented set of incidents. Writes `observations`.
    fn reset_incidents(
        &mut self,
        py: Python<'_>,
        seeds: PyReadonlyArray1<'_, u64>,
    ) -> PyResult<()> {
        let TaskChoice::Generated(tier, split) = self.batch.tasks else {
            return Err(PyValueError::new_err(
                "reset_incidents needs a generated tier (gen_easy ... gen_expert)",
            ));
        };
        let seeds = self.checked(seeds.as_slice()?, "seeds")?;
        for (env, &seed) in self.batch.envs.iter_mut().zip(seeds) {
            let scenario = Scenario::generated(seed, tier, split);
            *env = Env::with_scenario(scenario, seed as i64, seed);
        }
        self.batch.restart_clock(None);
        self.observe(py)
    }

    /// Return the discrete action (uint8, one per environment) that `policy` chooses now:
    /// `"oracle"` (reads the hidden answer: the upper reference) or `"baseline"` (the
    /// original's rule baseline, shown the last step's observation).
    fn policy_actions<'py>(
        &self,
        py: Python<'py>,
        policy: &str,
    ) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let choose: fn(&Env) -> Action = match policy {
            "oracle" => oracle::choose,
            "baseline" => |env| {
                let shown = Shown::LastStep {
                    outcome: env.last_outcome(),
                    unknown: "",
                };
                baseline::choose(env, shown).action
            },
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown policy {other:?}; expected \"oracle\" or \"baseline\""
                )));
            }
        };
        // Both policies only choose indexed actions; anything else would be 255 (unknown).
        let actions: Vec<u8> = self
            .batch
            .envs
            .iter()
            .map(|env| choose(env).index().unwrap_or(u8::MAX))
            .collect();
        Ok(PyArray1::from_vec(py, actions))
    }

    /// Step environment `i` with `actions[i]` (uint8 or int64, one per environment) with
    /// the GIL released, write every array, and return how many episodes ended. Where
    /// `held` (bool, one per environment) is true, the environment ignores its action and
    /// keeps its state, showing its observation, reward 0 and neither flag (the step after
    /// an episode end under `NEXT_STEP` autoreset).
    #[pyo3(signature = (actions, held = None))]
    fn step(
        &mut self,
        py: Python<'_>,
        actions: Actions<'_>,
        held: Option<PyReadonlyArray1<'_, bool>>,
    ) -> PyResult<usize> {
        let n = self.batch.envs.len();
        let actions: &[u8] = match &actions {
            Actions::Bytes(actions) => checked(n, actions.as_slice()?, "actions")?,
            Actions::Wide(actions) => {
                let wide = checked(n, actions.as_slice()?, "actions")?;
                for (byte, &action) in self.scratch.iter_mut().zip(wide) {
                    *byte = u8::try_from(action).unwrap_or(u8::MAX);
                }
                &self.scratch
            }
        };
        let mut observations = self.observations.bind(py).try_readwrite().map_err(busy)?;
        let mut finals = self
            .final_observations
            .bind(py)
            .try_readwrite()
            .map_err(busy)?;
        let mut rewards = self.rewards.bind(py).try_readwrite().map_err(busy)?;
        let mut flags = self.flags.bind(py).try_readwrite().map_err(busy)?;
        let mut episode = self.episode.bind(py).try_readwrite().map_err(busy)?;
        let mut lengths = self.lengths.bind(py).try_readwrite().map_err(busy)?;
        let mut times = self.times.bind(py).try_readwrite().map_err(busy)?;
        let (terminated, rest) = flags.as_slice_mut()?.split_at_mut(n);
        let (truncated, ended) = rest.split_at_mut(n);
        let mut rows = episode.as_slice_mut()?.chunks_exact_mut(n);
        let episode = std::array::from_fn(|_| rows.next().unwrap_or_default());
        let out = Lanes {
            observations: observations.as_slice_mut()?,
            final_observations: finals.as_slice_mut()?,
            rewards: rewards.as_slice_mut()?,
            terminated,
            truncated,
            ended,
            episode,
            lengths: lengths.as_slice_mut()?,
            times: times.as_slice_mut()?,
        };
        let held = match &held {
            Some(held) => Some(checked(n, held.as_slice()?, "held")?),
            None => None,
        };
        let batch = &mut self.batch;
        py.detach(move || match held {
            Some(held) => batch.step_holding(actions, held, out),
            None => batch.step(actions, out),
        })
        .map_err(|err| PyRuntimeError::new_err(err.to_string()))
    }
}

impl VecCore {
    /// Write every environment's current observation into `observations`.
    fn observe(&self, py: Python<'_>) -> PyResult<()> {
        let mut observations = self.observations.bind(py).try_readwrite().map_err(busy)?;
        batch::observe_batch(&self.batch.envs, observations.as_slice_mut()?)
            .map_err(|err| PyRuntimeError::new_err(err.to_string()))
    }

    /// Return `values` if it has one entry per environment.
    fn checked<'a, T>(&self, values: &'a [T], what: &str) -> PyResult<&'a [T]> {
        checked(self.batch.envs.len(), values, what)
    }
}

/// Return `values` if it has `n` entries (one per environment).
fn checked<'a, T>(n: usize, values: &'a [T], what: &str) -> PyResult<&'a [T]> {
    if values.len() == n {
        Ok(values)
    } else {
        Err(PyValueError::new_err(format!(
            "{what} has {} entries; expected one per environment ({n})",
            values.len()
        )))
    }
}

/// Reject a count outside `1..=max`.
fn check_range(what: &str, value: usize, max: usize) -> PyResult<()> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "{what} must be in 1..={max}, got {value}"
        )))
    }
}

/// The error for an output array that is borrowed elsewhere or made read-only.
fn busy(err: numpy::BorrowError) -> PyErr {
    PyRuntimeError::new_err(format!("an output array is not writable: {err}"))
}
