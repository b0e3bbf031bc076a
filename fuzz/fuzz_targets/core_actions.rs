//! The core simulator: arbitrary bytes decode to a task, a seed, a stream and a sequence
//! of operations: a discrete index (any byte, 0..=255), `step(Action::from_index)`, a
//! structured action (any kind or none; each argument Missing, Unknown or any Known value,
//! used or not by the kind), or a reset.
//!
//! Asserts: no panic; after every step `check()` is Ok, the reward is in range, the step
//! count and history agree, `done` matches; `step_index` and `step` agree on the result
//! and the whole state; a snapshot round-trips.
#![no_main]

use incident_core::constants::SNAPSHOT_BYTES_MAX;
use incident_core::{Action, Env};
use incident_fuzz::Input;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let task = input.task();
    let seed = input.i64();
    let stream = input.i64() as u64;
    let mut env = Env::new(task, seed, stream);
    assert!(env.check().is_ok(), "fresh env invalid");
    let mut ops = 0;
    while !input.is_empty() && ops < 64 {
        ops += 1;
        match input.byte() % 4 {
            0 => {
                let index = input.byte();
                incident_fuzz::step_index_both(&mut env, index);
            }
            1 => {
                let index = input.byte();
                let action = Action::from_index(index).unwrap_or(Action {
                    kind: None,
                    ..Action::list_services()
                });
                incident_fuzz::step_both(&mut env, action);
            }
            2 => {
                let action = input.action();
                incident_fuzz::step_both(&mut env, action);
            }
            _ => {
                let task = input.task();
                let seed = input.i64();
                env.reset(task, seed);
                assert!(env.check().is_ok(), "reset env invalid");
                assert_eq!(
                    (env.task_id(), env.seed(), env.step_count()),
                    (Some(task), seed, 0)
                );
            }
        }
    }
    let mut buffer = [0u8; SNAPSHOT_BYTES_MAX];
    let saved = env
        .save(&mut buffer)
        .expect("every env fits the snapshot buffer");
    assert_eq!(Env::load(saved), Ok(env), "snapshot round trip");
});
