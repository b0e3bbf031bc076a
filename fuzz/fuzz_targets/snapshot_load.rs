//! Snapshots: arbitrary bytes into `Env::load`.
//!
//! Asserts: no panic; a loaded environment passes `check()`, saves to a canonical
//! encoding that loads equal; stepping it with every discrete index class, an out-of-range
//! index and structured actions with Missing/Unknown arguments never panics, the fast
//! (`step_index`) and reference (`step`) paths agree, and `check()` stays Ok.
#![no_main]

use incident_core::constants::SNAPSHOT_BYTES_MAX;
use incident_core::{Action, Arg, Env};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(env) = Env::load(data) else {
        return;
    };
    assert!(env.check().is_ok(), "load returned an invalid env");
    let mut buffer = [0u8; SNAPSHOT_BYTES_MAX];
    // postcard accepts overlong varints, so `data` need not be the canonical encoding;
    // the canonical one must load to the same env and save to itself.
    let saved = env.save(&mut buffer).expect("a loaded env saves").to_vec();
    let reloaded = Env::load(&saved).expect("a saved env loads");
    assert_eq!(reloaded, env, "reload differs");
    let mut again = [0u8; SNAPSHOT_BYTES_MAX];
    assert_eq!(
        reloaded.save(&mut again).expect("saves"),
        &saved[..],
        "save not canonical"
    );

    for start in [0u8, 3, 57, 101] {
        let mut stepped = env.clone();
        for k in 0..16u8 {
            let index = start.wrapping_add(k.wrapping_mul(29)) % 120; // 115..119: out of range
            incident_fuzz::step_index_both(&mut stepped, index);
        }
        incident_fuzz::step_index_both(&mut stepped, 255);
    }
    let mut stepped = env.clone();
    let odd = [
        Action {
            kind: None,
            ..Action::list_services()
        },
        Action {
            service: Arg::Unknown,
            ..Action::list_services()
        },
        Action {
            diagnosis: Arg::Unknown,
            fix: Arg::Unknown,
            ..Action::list_services()
        },
    ];
    for action in odd {
        incident_fuzz::step_both(&mut stepped, action);
    }
});
