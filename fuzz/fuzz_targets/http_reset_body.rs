//! `POST /reset` bodies: arbitrary bytes through the router's exact path
//! (`decode::reset`: `decode::parse` with its Python-style error mapping, then
//! `parse_reset`), then `Session::apply` and the byte rendering of the reply.
//!
//! Asserts: no panic; every error is a 4xx with a `{"detail": ...}` body and leaves the
//! session's state JSON unchanged; an accepted body resets to step 0 of the requested
//! episode; the reply bytes equal the `Value` rendering (`Session::last_response`); core
//! invariants hold.
#![no_main]

use incident_api::{Command, constants, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut session = incident_fuzz::warm_session(data.len());
    let before = session.state_json();
    let request = decode::reset(data);
    // The router's path must agree with decoding the JSON value.
    if let Ok(body) = decode::parse(data) {
        assert_eq!(
            request,
            decode::reset_value(body.as_ref()),
            "value path differs"
        );
    }
    match request {
        Err(error) => incident_fuzz::check_rejected(&error, &session, &before),
        Ok(command) => {
            let Command::Reset(reset) = command else {
                panic!("decode::reset gave {command:?}");
            };
            let (task, seed) = (reset.task, reset.seed);
            if let Some(id) = &reset.episode_id {
                assert!(id.chars().count() <= constants::EPISODE_ID_CHARS_MAX);
            }
            let episode_id = reset.episode_id.clone();
            let reply = session.apply(Command::Reset(reset));
            let env = session.env();
            assert_eq!(
                (env.scenario().name(), env.seed(), env.step_count()),
                (task.name(), seed, 0)
            );
            assert!(env.check().is_ok(), "invariant broken after reset");
            if let Some(id) = episode_id {
                assert_eq!(session.episode_id(), id);
            }
            let bytes = reply.to_json_bytes();
            assert_eq!(
                String::from_utf8(bytes.clone()).expect("UTF-8"),
                session.last_response().to_string(),
                "byte rendering differs from the Value rendering"
            );
            let _: serde_json::Value = serde_json::from_slice(&bytes).expect("reply is JSON");
        }
    }
});
