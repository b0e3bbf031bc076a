//! `POST /reset` bodies: arbitrary bytes through the router's exact path
//! (`json_body::parse` with its Python-style error mapping, then `parse_reset`), then
//! `Session::reset` and the byte rendering of the reply.
//!
//! Asserts: no panic; every error is a 4xx with a `{"detail": ...}` body and leaves the
//! session's state JSON unchanged; an accepted body resets to step 0 of the requested
//! episode; the reply bytes equal the `Value` path (`Session::reset_json`); core
//! invariants hold.
#![no_main]

use incident_host::parse;
use incident_host::server::json_body;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut session = incident_fuzz::warm_session(data.len());
    let before = session.state_json(false);
    let request = json_body::parse(data).and_then(|body| {
        let request = parse::parse_reset(body.as_ref());
        // The Value path (`Session::reset_json`) must agree on a copy.
        let mut twin = session.clone();
        match (&request, twin.reset_json(body.as_ref())) {
            (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
            (ours, theirs) => panic!("parse_reset {ours:?} but reset_json {theirs:?}"),
        }
        request
    });
    match request {
        Err(error) => {
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
                session.state_json(false),
                before,
                "a rejected body changed the state"
            );
        }
        Ok(reset) => {
            let (task, seed) = (reset.task, reset.seed);
            if let Some(id) = &reset.episode_id {
                assert!(id.chars().count() <= parse::EPISODE_ID_CHARS_MAX);
            }
            let episode_id = reset.episode_id.clone();
            session.reset(reset);
            let env = session.env();
            assert_eq!(
                (env.task_id(), env.seed(), env.step_count()),
                (task, seed, 0)
            );
            assert!(env.check().is_ok(), "invariant broken after reset");
            if let Some(id) = episode_id {
                assert_eq!(session.episode_id(), id);
            }
            let bytes = session.reply().to_bytes();
            assert_eq!(
                String::from_utf8(bytes.clone()).expect("UTF-8"),
                session.last_response().to_string(),
                "byte rendering differs from the Value rendering"
            );
            let _: serde_json::Value = serde_json::from_slice(&bytes).expect("reply is JSON");
        }
    }
});
