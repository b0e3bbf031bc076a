//! The allocation-light paths (typed action parsing, responses written straight to bytes)
//! against the general ones (`serde_json::Value` in, `Value` out): same actions, same
//! errors, same bytes.

use incident_api::{Command, Session, decode, parse};
use incident_core::{ActionType, Fix, Mode, Service, Split, TaskId, Tier};
use serde_json::{Value, json};

/// The general path: bytes -> `Value` -> action (or the error it words).
fn general(bytes: &[u8]) -> Result<parse::ParsedAction, parse::ApiError> {
    match decode::parse(bytes)? {
        Some(body) => parse::parse_action(parse::step_action(&body)),
        None => Err(parse::ApiError::validation(
            "missing",
            &["body"],
            "Field required",
            Value::Null,
        )),
    }
}

/// Bodies of every shape: plain, wrapped, escaped, mistyped, duplicated, oversized.
fn bodies() -> Vec<Vec<u8>> {
    let mut texts: Vec<String> = Vec::new();
    let names = |all: &[&'static str]| {
        let mut names: Vec<String> = all.iter().map(|s| (*s).to_owned()).collect();
        names.extend(
            [
                "",
                "nope",
                "DATABASE",
                "databas\\u0065",
                "é",
                "q\\\"uote",
                "t\\tab",
                "back\\\\slash",
                "\\u0001",
            ]
            .map(String::from),
        );
        names
    };
    let services = names(&Service::ALL.map(Service::name));
    for kind in ActionType::ALL {
        for service in &services {
            texts.push(format!(
                r#"{{"action_type": "{}", "service": "{service}"}}"#,
                kind.name()
            ));
        }
        texts.push(format!(r#"{{"action_type":"{}"}}"#, kind.name()));
        texts.push(format!(
            r#"{{"action": {{"action_type": "{}", "service": "database"}}}}"#,
            kind.name()
        ));
    }
    for mode in Mode::ALL {
        texts.push(format!(
            r#"{{"action_type":"diagnose","service":"database","diagnosis":"{}","reasoning":"r"}}"#,
            mode.name()
        ));
    }
    for fix in Fix::ALL {
        texts.push(format!(
            r#"{{"action_type":"apply_fix","service":"database","fix":"{}","reasoning":null}}"#,
            fix.name()
        ));
    }
    let long = "x".repeat(101);
    let longer = "y".repeat(5001);
    texts.extend([
        String::new(),
        "   ".into(),
        "{".into(),
        "null".into(),
        "[]".into(),
        "{}".into(),
        r#"["list_services", null, null, null, null]"#.into(),
        r#"{"action_type": "read_logs", "service": "database"} x"#.into(),
        r#"{"action_type": "READ_LOGS"}"#.into(),
        r#"{"action_type": null}"#.into(),
        r#"{"action_type": 5}"#.into(),
        r#"{"action_type": "read_logs", "service": 5}"#.into(),
        r#"{"action_type": "read_logs", "service": ["database"]}"#.into(),
        r#"{"action_type": "read_logs", "service": null, "extra": 1}"#.into(),
        r#"{"action_type": "read_logs", "action_type": "list_services"}"#.into(),
        r#"{"action_type": "read_logs", "service": "database", "service": "nope"}"#.into(),
        r#"{"action": null}"#.into(),
        r#"{"action": "read_logs"}"#.into(),
        r#"{"action": ["list_services"]}"#.into(),
        r#"{"action": {"action_type": "list_services"}, "action_type": "read_logs"}"#.into(),
        format!(r#"{{"action_type": "read_logs", "service": "{long}"}}"#),
        format!(r#"{{"action_type": "read_logs", "reasoning": "{longer}"}}"#),
        format!(
            r#"{{"action_type": "read_logs", "reasoning": "{}"}}"#,
            &longer[1..]
        ),
        " \n{\"action_type\":\"list_services\"}\t".into(),
    ]);
    texts.into_iter().map(String::into_bytes).collect()
}

#[test]
fn plain_action_parsing_agrees_with_the_value_path() {
    // Goal: every body gives the same action, or the same error, on both paths.
    let mut fast = 0;
    for body in bodies() {
        let text = String::from_utf8_lossy(&body).into_owned();
        let expected = general(&body);
        if let Some(parsed) = parse::parse_plain_action(&body) {
            fast += 1;
            assert_eq!(Ok(parsed), expected.clone(), "{text}");
        }
        assert_eq!(decode::step_request(&body), expected, "{text}");
    }
    assert!(fast > 50, "the plain path took only {fast} bodies");
}

#[test]
fn responses_written_as_bytes_equal_the_value_rendering() {
    // Goal: across tasks, generated tiers and splits, seeds and every action body, the
    // bytes of a reset or step reply (HTTP body and WebSocket frame) equal the `Value`
    // rendering of the same response.
    let actions: Vec<_> = bodies()
        .iter()
        .filter_map(|body| decode::step_request(body).ok())
        .collect();
    let mut incidents: Vec<(&str, &str)> = TaskId::ALL.map(|t| (t.name(), "train")).to_vec();
    for tier in Tier::EVERY {
        incidents.extend(Split::ALL.map(|split| (tier.name(), split.name())));
    }
    for (index, (task, split)) in incidents.into_iter().enumerate() {
        // Every seed for the original tasks (a negative one too); three non-negative ones
        // (incident indices) per generated tier and split.
        let seeds = [0_i64, 1, -3, 7, 86_399, 123_456_789];
        for &seed in &seeds[if index < TaskId::ALL.len() { 0 } else { 3 }..] {
            let mut session = Session::new();
            let reset = json!({"task_id": task, "seed": seed, "split": split});
            let reply = session.apply(decode::reset_value(Some(&reset)).unwrap());
            let value = session.last_response();
            assert_eq!(reply.to_json_bytes(), value.to_string().into_bytes());
            assert_eq!(reply.to_ws_frame(), session.last_frame_reference());
            for index in 0..actions.len() {
                // Vary the order per seed so episodes reach many states.
                let action = &actions[(index * 7 + seed.unsigned_abs() as usize) % actions.len()];
                let reply = session.apply(Command::Step(action.clone()));
                let expected = session.last_response().to_string().into_bytes();
                assert_eq!(reply.to_json_bytes(), expected);
                assert_eq!(reply.to_ws_frame(), session.last_frame_reference());
                if session.env().is_done() && index % 3 == 0 {
                    session.apply(decode::reset_value(Some(&reset)).unwrap());
                }
            }
        }
    }
}
