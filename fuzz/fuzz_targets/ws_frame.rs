//! WebSocket text frames: the input, split at `\n` into up to 16 frames, goes through
//! `openenv::answer` (the per-message handler of a session) on one session, as a client
//! sending several messages would (sealed or not, by input length; see `warm_session`).
//!
//! Asserts: no panic; every reply is a JSON object whose `type` is `observation`, `state`,
//! `error` or `mcp`; no reply only for a `close` message; an `error` reply leaves the
//! session's state JSON unchanged; observation frames equal the `Value` rendering; core
//! invariants hold after every message.
#![no_main]

use incident_api::openenv::{self, Answer};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // The socket loop answers non-UTF-8 frames itself.
    };
    let mut session = incident_fuzz::warm_session(data.len());
    for message in text.split('\n').take(16) {
        let before = session.state_json();
        let Answer::Frame(reply) = openenv::answer(&mut session, message) else {
            let parsed: Value = serde_json::from_str(message).expect("close needs JSON");
            assert_eq!(parsed["type"], "close", "closed on {message:?}");
            return;
        };
        let frame: Value = serde_json::from_str(&reply).expect("reply is JSON");
        let kind = frame["type"].as_str().expect("reply has a string type");
        match kind {
            "observation" => {
                assert_eq!(reply, session.last_frame_reference(), "frame rendering");
            }
            "error" => {
                assert!(frame["data"]["code"].is_string() && frame["data"]["message"].is_string());
                assert_eq!(session.state_json(), before, "an error changed the state");
            }
            "state" => assert_eq!(frame["data"], session.state_json()),
            "mcp" => assert!(frame["data"].is_object()),
            other => panic!("unexpected reply type {other:?}"),
        }
        if let Err(why) = session.env().check() {
            panic!("invariant broken: {why:?}");
        }
    }
});
