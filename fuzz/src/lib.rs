//! Helpers shared by the fuzz targets in `fuzz_targets/` (see `README.md`).

use incident_api::parse::ApiError;
use incident_api::{Command, Session};
use incident_core::env::{REWARD_MAX_MILLI, REWARD_MIN_MILLI};
use incident_core::vocab::{ActionType, Fix, Mode, Service};
use incident_core::{Action, Arg, Env, StepResult, TaskId};

/// A session in a state picked from `selector` (the input length, so the body bytes stay
/// untouched): any of the four tasks, 0 to 14 steps in, so done episodes are covered too;
/// sealed for odd selectors.
pub fn warm_session(selector: usize) -> Session {
    let mut session = Session::new().with_sealed(selector % 2 == 1);
    let task = TaskId::ALL[selector % TaskId::ALL.len()];
    let request = incident_api::parse::ResetRequest {
        task: incident_api::parse::Incident::Task(task),
        seed: (selector / 4) as i64,
        episode_id: Some("fuzz".to_owned()),
    };
    session.apply(Command::Reset(request));
    for step in 0..(selector / 4) % 15 {
        let index = ((step * 37 + selector) % incident_core::ACTION_COUNT) as u8;
        let action = Action::from_index(index).expect("index below ACTION_COUNT");
        let raw = incident_api::parse::RawNames::default();
        session.apply(Command::Step(incident_api::parse::ParsedAction {
            action,
            raw,
        }));
    }
    session
}

/// Check a rejected request: a 4xx status, a `detail` in the body, and the session's state
/// exactly as it was before (`before`, its `state_json`).
pub fn check_rejected(error: &ApiError, session: &Session, before: &serde_json::Value) {
    assert!(
        (400..500).contains(&error.status),
        "status {}",
        error.status
    );
    assert!(
        error.body.get("detail").is_some(),
        "no detail: {}",
        error.body
    );
    assert_eq!(
        &session.state_json(),
        before,
        "a rejected body changed the state"
    );
}

/// Reads bytes off the front of the input; zeros once it runs out.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    /// Whether any bytes are left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next byte (0 when exhausted).
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    /// The next 8 bytes as a little-endian `i64`.
    pub fn i64(&mut self) -> i64 {
        let mut bytes = [0u8; 8];
        for byte in &mut bytes {
            *byte = self.byte();
        }
        i64::from_le_bytes(bytes)
    }

    /// A task.
    pub fn task(&mut self) -> TaskId {
        TaskId::ALL[usize::from(self.byte()) % TaskId::ALL.len()]
    }

    /// A structured action: any kind (or none), each argument Missing, Unknown or any
    /// Known value (including ones the kind does not use, and `healthy` as a diagnosis).
    pub fn action(&mut self) -> Action {
        fn arg<T>(byte: u8, from_index: impl Fn(usize) -> Option<T>) -> Arg<T> {
            match byte {
                0 => Arg::Missing,
                1 => Arg::Unknown,
                other => from_index(usize::from(other - 2)).map_or(Arg::Unknown, Arg::Known),
            }
        }
        let kind = ActionType::from_index(usize::from(self.byte() % 8));
        let service = self.byte() % 8;
        let diagnosis = self.byte() % 11;
        let fix = self.byte() % 11;
        Action {
            kind,
            service: arg(service, Service::from_index),
            diagnosis: arg(diagnosis, Mode::from_index),
            fix: arg(fix, Fix::from_index),
        }
    }
}

/// Assert the invariants that must hold after every step of `env`.
pub fn check_step(env: &Env, result: StepResult) {
    if let Err(why) = env.check() {
        panic!("invariant broken: {why:?}");
    }
    assert_eq!(result.done, env.is_done(), "done flag");
    assert!(
        (REWARD_MIN_MILLI..=REWARD_MAX_MILLI).contains(&result.reward_milli),
        "reward {} out of range",
        result.reward_milli
    );
    assert!(env.step_count() <= env.scenario().max_steps, "step count");
    assert_eq!(
        env.history().len(),
        usize::from(env.step_count()),
        "history"
    );
    if result.terminal {
        assert!(
            env.is_done() && env.final_grade().is_some(),
            "terminal grade"
        );
    }
    assert_eq!(env.is_done(), env.final_grade().is_some(), "grade iff done");
}

/// Step `env` with `action` and with its discrete index (when it has one) on a copy, and
/// assert both paths agree on the result and the whole state.
pub fn step_both(env: &mut Env, action: Action) -> StepResult {
    let mut twin = env.clone();
    let result = env.step(action);
    check_step(env, result);
    if let Some(index) = action.index() {
        assert_eq!(Action::from_index(index), Some(action), "index round trip");
        let fast = twin.step_index(index);
        assert_eq!(fast, result, "step_index result for {action:?}");
        assert_eq!(&twin, env, "step_index state for {action:?}");
    }
    result
}

/// Step `env` with the discrete `index` (any byte) and with the reference path on a copy,
/// and assert both agree.
pub fn step_index_both(env: &mut Env, index: u8) -> StepResult {
    let mut twin = env.clone();
    let result = env.step_index(index);
    check_step(env, result);
    let action = Action::from_index(index).unwrap_or(Action {
        kind: None,
        ..Action::list_services()
    });
    let reference = twin.step(action);
    assert_eq!(reference, result, "step result for index {index}");
    assert_eq!(&twin, env, "step state for index {index}");
    result
}
