//! Generated incidents through the JSON layer: they reset from `task_id` + `seed` +
//! `split`, render in the original tasks' shapes, grade by ruleset v1, and a sealed
//! session tells nothing of the answer.

use incident_api::{Command, Session, decode};
use incident_core::oracle;
use incident_core::scenario::Ruleset;
use incident_core::topology::{DEPENDS_ON, services};
use incident_core::{Mode, Scenario, Service, Split, TaskId, Tier};
use serde_json::{Value, json};

/// Reset `session` with a JSON body and return the reply as a value.
fn reset(session: &mut Session, body: &Value) -> Value {
    let command = decode::reset_value(Some(body)).expect("a valid reset");
    session.apply(command).to_value()
}

/// Step `session` with the core oracle's next action and return the reply.
fn oracle_step(session: &mut Session) -> Value {
    let action = incident_api::render::action_json(&oracle::choose(session.env()), None);
    let command = decode::step_value(&incident_api::to_value(&action)).expect("valid action");
    session.apply(command).to_value()
}

/// The shape of a JSON value: its type, and for objects the keys with their shapes (lists
/// by the union of their items' shapes, so lengths and values do not count).
fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = items.iter().map(shape).collect();
            shapes.sort_by_key(Value::to_string);
            shapes.dedup();
            json!({ "list": shapes })
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

/// Collect every shape of every nested field seen in `values` under `path` keys.
fn shapes_by_path(value: &Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            // dependency_graph's keys are service names (values, not form).
            let keys: Vec<&str> = if path.ends_with("dependency_graph") {
                vec!["*"]
            } else {
                map.keys().map(String::as_str).collect()
            };
            out.insert(format!("{path} {{{}}}", keys.join(",")));
            for (key, child) in map {
                // dependency_graph and required_fixes are keyed by service names.
                let key = if path.ends_with("dependency_graph") {
                    "*"
                } else {
                    key
                };
                shapes_by_path(child, &format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for item in items {
                shapes_by_path(item, &format!("{path}[]"), out);
            }
        }
        other => {
            let kind = shape(other);
            out.insert(format!("{path}: {}", kind.as_str().unwrap_or("?")));
        }
    }
}

/// Every field shape of the replies of oracle and scripted episodes of `task_id`s.
fn field_shapes(task: &str, split: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let mut session = Session::new();
        let body = json!({"task_id": task, "seed": seed, "split": split});
        shapes_by_path(&reset(&mut session, &body), "step", &mut out);
        for action in [
            json!({"action_type": "read_logs", "service": "database"}),
            json!({"action_type": "query_metrics", "service": "payment_service"}),
            json!({"action_type": "inspect_dependencies", "service": "order_service"}),
        ] {
            let reply = session
                .apply(decode::step_value(&action).unwrap())
                .to_value();
            shapes_by_path(&reply, "step", &mut out);
        }
        while !session.env().is_done() {
            shapes_by_path(&oracle_step(&mut session), "step", &mut out);
        }
    }
    out
}

#[test]
fn generated_replies_have_the_original_shapes() {
    // Goal: every field of a generated incident's reset and step replies (observation with
    // logs, metrics, alerts, summaries, graph; info with the terminal grade) has a key and
    // type the original tasks' replies also have, so an agent cannot tell them by form.
    let mut original = std::collections::BTreeSet::new();
    for task in TaskId::ALL {
        original.extend(field_shapes(task.name(), "train"));
    }
    for tier in Tier::EVERY {
        for split in Split::ALL {
            let generated = field_shapes(tier.name(), split.name());
            // The graph tiers' one extra form: a summary's depends_on is null until shown.
            let hidden = "step.observation.service_summaries[].depends_on: null";
            let foreign: Vec<&String> = generated
                .difference(&original)
                .filter(|f| !(tier.ruleset() == Ruleset::V2 && f.as_str() == hidden))
                .collect();
            assert!(
                foreign.is_empty(),
                "{} {}: {foreign:#?}",
                tier.name(),
                split.name()
            );
            assert!(generated.iter().any(|f| f.contains("logs[].trace_id")));
            assert!(generated.iter().any(|f| f.contains("metrics.cpu_percent")));
            assert!(
                generated
                    .iter()
                    .any(|f| f.contains("active_alerts[].runbook_hint"))
            );
        }
    }
}

#[test]
fn a_generated_reset_plays_the_named_incident() {
    // Goal: task_id + seed + split start generated incident `seed` of that tier and split
    // (split defaulting to train), with its budget, alerts and the tier as task_id.
    let mut session = Session::new();
    let reply = reset(
        &mut session,
        &json!({"task_id": "gen_hard", "seed": 7, "split": "test"}),
    );
    let scenario = Scenario::generated(7, Tier::Hard, Split::Test);
    assert_eq!(session.env().scenario(), &scenario);
    assert_eq!(session.env().seed(), 7);
    assert_eq!(reply["info"]["task_id"], "gen_hard");
    assert_eq!(reply["observation"]["max_steps"], scenario.max_steps);
    let alerts = reply["observation"]["active_alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), scenario.alerts().count());
    for (alert, expected) in alerts.iter().zip(scenario.alerts()) {
        assert_eq!(alert["service"], expected.service.name());
        assert_eq!(alert["title"], expected.title);
        assert_eq!(alert["severity"], expected.severity.name());
    }
    let state = session.apply(Command::State).to_value();
    assert_eq!(
        (&state["task_id"], &state["difficulty"]),
        (&json!("gen_hard"), &json!("hard"))
    );
    reset(&mut session, &json!({"task_id": "gen_hard", "seed": 7}));
    assert_eq!(
        session.env().scenario(),
        &Scenario::generated(7, Tier::Hard, Split::Train)
    );
}

#[test]
fn a_refused_generated_reset_changes_nothing() {
    // Goal: an unknown tier or split is a 422 with a sentence, and the episode is as it was.
    let mut session = Session::new();
    reset(&mut session, &json!({"task_id": "gen_medium", "seed": 3}));
    oracle_step(&mut session);
    let before = session.state_json();
    for body in [
        json!({"task_id": "gen_legendary", "seed": 1}),
        json!({"task_id": "gen_hard", "split": "validation"}),
        json!({"task_id": "gen_hard", "split": 1}),
    ] {
        let error = decode::reset_value(Some(&body)).unwrap_err();
        assert_eq!(error.status, 422);
        assert!(error.body["detail"].is_string(), "{}", error.body);
    }
    assert_eq!(session.state_json(), before);
}

#[test]
fn the_grader_scores_generated_incidents_by_ruleset_v1() {
    // Goal: /grader has the four parts of ruleset v1 and the time to mitigation (null
    // before the last root's fix, then its step); the original tasks' body has no such key.
    let mut session = Session::new();
    reset(&mut session, &json!({"task_id": "gen_expert", "seed": 11}));
    let grade = session.apply(Command::Grade).to_value();
    assert_eq!(grade["task_id"], "gen_expert");
    assert_eq!(grade["score"], 0.35);
    assert_eq!(grade["time_to_mitigation"], Value::Null);
    while !session.env().is_done() {
        oracle_step(&mut session);
    }
    let grade = session.apply(Command::Grade).to_value();
    assert_eq!(grade["details"]["resolution"], 1.0);
    assert_eq!(
        grade["time_to_mitigation"],
        json!(session.env().mitigated_at().unwrap())
    );
    let core = session.env().grade();
    assert_eq!(grade["details"]["score"], f64::from(core.score) / 1000.0);
    let mut original = Session::new();
    reset(&mut original, &json!({"task_id": "hard_task", "seed": 42}));
    assert!(
        original
            .apply(Command::Grade)
            .to_value()
            .get("time_to_mitigation")
            .is_none()
    );
}

#[test]
fn a_sealed_generated_session_hides_the_answer() {
    // Goal: sealed, no /state or reply names roots, symptoms or a root's mode before the
    // agent has read evidence: no answer keys, no `expected`, and before any read the
    // replies name no failure mode at all.
    for tier in Tier::EVERY {
        for seed in 0..40 {
            let mut session = Session::new().with_sealed(true);
            let body = json!({"task_id": tier.name(), "seed": seed, "split": "test"});
            let mut seen = vec![reset(&mut session, &body).to_string()];
            let listed = json!({"action_type": "list_services"});
            seen.push(
                session
                    .apply(decode::step_value(&listed).unwrap())
                    .to_value()
                    .to_string(),
            );
            let full = json!({"action_type": "inspect_dependencies"});
            seen.push(
                session
                    .apply(decode::step_value(&full).unwrap())
                    .to_value()
                    .to_string(),
            );
            let state = session.state_json();
            for key in [
                "root_cause_services",
                "root_cause_failure_modes",
                "required_fixes",
                "affected_services",
            ] {
                assert!(state.get(key).is_none(), "{key} in sealed state");
            }
            seen.push(state.to_string());
            seen.push(session.apply(Command::Baseline).to_value().to_string());
            for text in &seen {
                for mode in Mode::DIAGNOSES {
                    assert!(
                        !text.contains(mode.name()),
                        "{} seed {seed}: {text}",
                        tier.name()
                    );
                    assert!(!text.contains(mode.spaced()), "{} seed {seed}", tier.name());
                }
            }
            while !session.env().is_done() {
                oracle_step(&mut session);
            }
            let state = session.state_json();
            assert!(
                state["diagnoses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|d| d.get("expected").is_none())
            );
        }
    }
}

#[test]
fn the_mcp_reset_tool_takes_a_tier_and_split() {
    // Goal: MCP's reset tool starts generated incident `seed` of the tier and split (the
    // same incident as the reset command), and a bad split is a tool error that changes
    // nothing.
    let mut session = Session::new();
    let call = |arguments: Value| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "reset", "arguments": arguments}})
        .to_string()
    };
    let good = call(json!({"task_id": "gen_expert", "seed": 21, "split": "test"}));
    let reply = incident_api::mcp::Message::parse(good.as_bytes()).answer(Some(&mut session));
    let reply: Value = serde_json::from_slice(&reply.expect("a response")).unwrap();
    assert!(reply.get("result").is_some(), "{reply}");
    let expected = Scenario::generated(21, Tier::Expert, Split::Test);
    assert_eq!(session.env().scenario(), &expected);
    let before = session.state_json();
    let bad = call(json!({"task_id": "gen_expert", "split": "holdout"}));
    let reply = incident_api::mcp::Message::parse(bad.as_bytes()).answer(Some(&mut session));
    let text = String::from_utf8(reply.expect("a response")).unwrap();
    assert!(text.contains("split must be"), "{text}");
    assert_eq!(session.state_json(), before);
}

#[test]
fn mcp_tools_show_a_generated_incidents_exact_rewards() {
    // Goal: over MCP's tools a generated incident's rewards are ruleset v1's exact values:
    // a wrong fix (clear_cache on the first root) shows a negative reward, and the rewards
    // of the episode, finished by the oracle, sum to the grader tool's score.
    let mut session = Session::new();
    let mut call = |name: &str, arguments: Value| -> Value {
        let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}})
        .to_string();
        let reply =
            incident_api::mcp::Message::parse(message.as_bytes()).answer(Some(&mut session));
        let reply: Value = serde_json::from_slice(&reply.expect("a response")).unwrap();
        reply["result"]["structuredContent"].clone()
    };
    call(
        "reset",
        json!({"task_id": "gen_hard", "seed": 7, "split": "test"}),
    );
    let root = Scenario::generated(7, Tier::Hard, Split::Test).roots()[0]
        .service
        .name();
    let first = call("apply_fix", json!({"service": root, "fix": "clear_cache"}));
    let mut rewards = vec![first["reward"].as_f64().unwrap()];
    assert!(rewards[0] < 0.0, "{first}");
    let mut twin = Session::new();
    twin.apply(
        decode::reset_value(Some(
            &json!({"task_id": "gen_hard", "seed": 7, "split": "test"}),
        ))
        .unwrap(),
    );
    let wrong = json!({"action_type": "apply_fix", "service": root, "fix": "clear_cache"});
    twin.apply(decode::step_value(&wrong).unwrap());
    while !twin.env().is_done() {
        let action = incident_api::render::action_json(&oracle::choose(twin.env()), None);
        let action = incident_api::to_value(&action);
        twin.apply(decode::step_value(&action).unwrap());
        rewards.push(call("step", action)["reward"].as_f64().unwrap());
    }
    let score = call("grader", json!({}))["score"].as_f64().unwrap();
    let sum: f64 = rewards.iter().sum();
    assert!((sum - score).abs() < 1e-9, "{rewards:?} {score}");
}

#[test]
fn a_graph_incident_shows_its_own_edges_once_inspected() {
    // Goal: on the graph tiers, a reset shows no edge (every summary's depends_on null, an
    // empty dependency_graph); once a service's dependencies are inspected, its summary's
    // depends_on and its dependency_graph entry are that incident's edges (names in
    // canonical order), which for some incidents differ from the fixed graph.
    let mut differs = 0;
    for tier in Tier::GRAPH {
        for seed in 0..10 {
            let mut session = Session::new();
            let start = reset(&mut session, &json!({"task_id": tier.name(), "seed": seed}));
            let observation = &start["observation"];
            assert_eq!(
                observation["dependency_graph"],
                json!({}),
                "{tier:?} {seed}"
            );
            for summary in observation["service_summaries"].as_array().unwrap() {
                assert_eq!(summary["depends_on"], Value::Null, "{tier:?} {seed}");
            }
            let scenario = *session.env().scenario();
            for service in Service::ALL {
                let inspect =
                    json!({"action_type": "inspect_dependencies", "service": service.name()});
                let reply = session
                    .apply(decode::step_value(&inspect).unwrap())
                    .to_value();
                let edges: Vec<&str> = services(scenario.depends_on(service))
                    .map(Service::name)
                    .collect();
                let observation = &reply["observation"];
                assert_eq!(
                    observation["dependency_graph"][service.name()],
                    json!(edges)
                );
                let summary = &observation["service_summaries"][service as usize];
                assert_eq!(summary["depends_on"], json!(edges), "{tier:?} {seed}");
                differs +=
                    usize::from(scenario.depends_on(service) != DEPENDS_ON[service as usize]);
                if session.env().is_done() {
                    break;
                }
            }
        }
    }
    assert!(
        differs > 0,
        "every inspected edge list was the fixed graph's"
    );
}
