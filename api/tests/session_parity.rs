//! Replay the reference traces through [`Session`] (no HTTP) and compare whole JSON bodies.

use incident_api::{Command, Session, decode};
use serde_json::Value;

/// Replace every `episode_id` string with a placeholder after checking it is a string.
fn normalise(mut value: Value) -> Value {
    if let Some(id) = value.get_mut("episode_id") {
        assert!(id.is_string(), "episode_id must be a string");
        *id = Value::from("<episode>");
    }
    value
}

/// Answer one recorded request the way the HTTP layer does (body bytes decoded into a
/// command, applied, the reply read as JSON): `Ok(json)` or `Err(status)`.
fn answer(session: &mut Session, request: &Value) -> Result<Value, u16> {
    let method = request["method"].as_str().unwrap();
    let path = request["path"].as_str().unwrap();
    let body: Vec<u8> = if request.get("no_body").is_some() {
        Vec::new()
    } else if let Some(raw) = request.get("raw_body") {
        raw.as_str().unwrap().as_bytes().to_vec()
    } else {
        request
            .get("body")
            .map_or_else(Vec::new, |b| b.to_string().into_bytes())
    };
    let command = match (method, path) {
        ("POST", "/reset") => decode::reset(&body),
        ("POST", "/step") => decode::step(&body),
        ("GET", "/state") => Ok(Command::State),
        ("GET", "/grader") => Ok(Command::Grade),
        ("GET", "/baseline" | "/sample_action") => Ok(Command::Baseline),
        _ => return Err(0),
    };
    let reply = session.apply(command.map_err(|e| e.status)?);
    Ok(serde_json::from_slice(&reply.to_json_bytes()).unwrap())
}

#[test]
fn session_reproduces_every_reference_body() {
    // Goal: every /reset, /step, /state, /grader and /baseline body of every reference
    // file equals ours as JSON (episode_id only as a string); recorded 500s are 422s here,
    // and the partial-reset window (a deliberate deviation) is skipped for alerts/grader.
    let mut compared = 0;
    let files = incident_tests::trace::jsonl_files();
    for file in &files {
        let mut session = Session::new();
        let mut after_partial_reset = false;
        for (line_number, line) in std::fs::read_to_string(file).unwrap().lines().enumerate() {
            let exchange: Value = serde_json::from_str(line).unwrap();
            let request = &exchange["request"];
            let response = &exchange["response"];
            let recorded_status = response["status"].as_u64().unwrap() as u16;
            let before = session.state_json();
            let ours = answer(&mut session, request);
            let at = format!("{}:{}", file.display(), line_number + 1);
            match ours {
                Err(0) => continue,
                Err(status) => {
                    assert!(
                        recorded_status >= 422,
                        "{at}: we refused ({status}) a request the original accepted"
                    );
                    assert_eq!(
                        session.state_json(),
                        before,
                        "{at}: a refused request changed state"
                    );
                    if request["path"] == "/reset" && recorded_status == 500 {
                        after_partial_reset = true;
                    }
                }
                Ok(ours) => {
                    assert_eq!(
                        recorded_status, 200,
                        "{at}: we accepted a request the original refused"
                    );
                    if request["path"] == "/reset" {
                        after_partial_reset = false;
                    }
                    let mut expected = normalise(response["json"].clone());
                    let mut ours = normalise(ours);
                    if after_partial_reset {
                        // The original's half-applied reset swapped its config: alerts and grades
                        // use the new task there. We refuse the reset whole (design.md).
                        for value in [&mut expected, &mut ours] {
                            if let Some(obs) = value.get_mut("observation") {
                                obs["active_alerts"] = Value::Null;
                            }
                            if request["path"] == "/grader" {
                                *value = Value::Null;
                            }
                        }
                    }
                    // Compare the serialized text so key order counts too (map equality ignores it).
                    assert_eq!(ours.to_string(), expected.to_string(), "{at}: body differs");
                    compared += 1;
                }
            }
        }
    }
    println!(
        "compared {compared} reference bodies from {} files",
        files.len()
    );
    assert!(compared > 300, "too few exchanges compared: {compared}");
}
