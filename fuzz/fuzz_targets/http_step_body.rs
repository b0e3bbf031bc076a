//! `POST /step` bodies: arbitrary bytes through the router's exact path
//! (`decode::step`: the typed fast path, else JSON decode with the Python-style error
//! mapping, `step_action`, `parse_action`), then `Session::apply` and the byte rendering
//! of the reply.
//!
//! Asserts: no panic; every error is a 4xx with a `{"detail": ...}` body and leaves the
//! session's state JSON unchanged; the fast path agrees with the `Value` path whenever it
//! accepts a body; the reply bytes equal the `Value` rendering; core invariants hold.
#![no_main]

use incident_api::{Command, Reply, decode, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut session = incident_fuzz::warm_session(data.len());
    let before = session.state_json();

    // The Value path alone, as the router took it before the fast path existed.
    let value_path = match decode::parse(data) {
        Ok(Some(body)) => parse::parse_action(parse::step_action(&body)),
        Ok(None) => Err(parse::ApiError::validation(
            "missing",
            &["body"],
            "Field required",
            serde_json::Value::Null,
        )),
        Err(error) => Err(error),
    };
    if let Some(fast) = parse::parse_plain_action(data) {
        assert_eq!(
            Ok(fast),
            value_path,
            "fast path disagrees with the Value path"
        );
    }

    match decode::step(data) {
        Err(error) => {
            incident_fuzz::check_rejected(&error, &session, &before);
            assert_eq!(
                Err(error),
                value_path,
                "router error differs from the Value path"
            );
        }
        Ok(command) => {
            let Command::Step(parsed) = command else {
                panic!("decode::step gave {command:?}");
            };
            assert_eq!(Ok(parsed.clone()), value_path, "router action differs");
            // The session's step is the core's step.
            let mut twin = session.env().clone();
            let result = twin.step(parsed.action);
            let reply = session.apply(Command::Step(parsed));
            let Reply::Observation(observed) = &reply else {
                panic!("a step answered {}", reply.kind());
            };
            assert_eq!(
                observed.env(),
                &twin,
                "session step differs from the core's"
            );
            assert_eq!(
                (observed.outcome(), observed.reward_milli()),
                (result.outcome, result.reward_milli)
            );
            incident_fuzz::check_step(observed.env(), result);
            let bytes = reply.to_json_bytes();
            let value = session.last_response();
            assert_eq!(
                String::from_utf8(bytes.clone()).expect("UTF-8"),
                value.to_string(),
                "byte rendering differs from the Value rendering"
            );
            let _: serde_json::Value = serde_json::from_slice(&bytes).expect("reply is JSON");
        }
    }
});
