//! Replay every reference trace over real HTTP against a fresh in-process server and compare
//! each response with the recorded one; check our responses against our own `/schema`.

mod support;

use incident_core::Tier;
use incident_tests::trace::jsonl_files as reference_files;
use serde_json::{Value, json};
use support::{Reply, get, post_json, request, schema_violation, start};

/// Replace a top-level `episode_id` with a placeholder after checking it is a string.
fn normalise(mut value: Value) -> Value {
    if let Some(id) = value.get_mut("episode_id") {
        assert!(id.is_string(), "episode_id must be a string");
        *id = Value::from("<episode>");
    }
    value
}

/// Send one recorded request as the recorder did (JSON bodies with their content type).
async fn send(addr: std::net::SocketAddr, recorded: &Value) -> Reply {
    let method = recorded["method"].as_str().unwrap();
    let path = recorded["path"].as_str().unwrap();
    let mut headers: Vec<(String, String)> = recorded
        .get("headers")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let body: Option<Vec<u8>> = if recorded.get("no_body").is_some() {
        None
    } else if let Some(raw) = recorded.get("raw_body") {
        Some(raw.as_str().unwrap().as_bytes().to_vec())
    } else {
        recorded.get("body").map(|b| serde_json::to_vec(b).unwrap())
    };
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    request(addr, method, path, &headers, body.as_deref()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reference_exchange_replays_over_http() {
    // Goal: each reference file, on a fresh server, gets the recorded status and JSON body
    // (key order included; episode_id only as a string; recorded 500s as 422 JSON), and the
    // same redirect; the partial-reset window (a deliberate deviation) skips alerts/grader.
    let mut matched = 0;
    let mut deviations = 0;
    let files = reference_files();
    for file in &files {
        let server = start().await;
        let addr = server.local_addr();
        let mut after_partial_reset = false;
        for (line_number, line) in std::fs::read_to_string(file).unwrap().lines().enumerate() {
            let exchange: Value = serde_json::from_str(line).unwrap();
            let (recorded, expected) = (&exchange["request"], &exchange["response"]);
            let at = format!("{}:{}", file.display(), line_number + 1);
            let reply = send(addr, recorded).await;
            let status = expected["status"].as_u64().unwrap() as u16;
            if status == 500 {
                assert_eq!(reply.status, 422, "{at}: a recorded 500 must be a 422");
                assert!(
                    reply.json()["detail"].is_string(),
                    "{at}: 422 needs a detail"
                );
                if recorded["path"] == "/reset" {
                    after_partial_reset = true;
                }
                deviations += 1;
                continue;
            }
            assert_eq!(reply.status, status, "{at}: status");
            if let Some(location) = expected.get("location") {
                assert_eq!(
                    reply.header("location"),
                    location.as_str(),
                    "{at}: location"
                );
            }
            if expected["content_type"] == "application/json" {
                assert_eq!(
                    reply.header("content-type"),
                    Some("application/json"),
                    "{at}"
                );
            }
            let Some(json) = expected.get("json") else {
                matched += 1;
                continue;
            };
            if recorded["path"] == "/reset" && status == 200 {
                after_partial_reset = false;
            }
            let mut want = normalise(json.clone());
            let mut ours = normalise(reply.json());
            if after_partial_reset {
                for value in [&mut want, &mut ours] {
                    if let Some(observation) = value.get_mut("observation") {
                        observation["active_alerts"] = Value::Null;
                    }
                    if recorded["path"] == "/grader" {
                        *value = Value::Null;
                    }
                }
            }
            assert_eq!(ours.to_string(), want.to_string(), "{at}: body differs");
            matched += 1;
        }
        server.shutdown().await;
    }
    println!(
        "http parity: {matched} exchanges matched, {deviations} recorded 500s answered 422, {} files",
        files.len()
    );
    let total: usize = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
        .sum();
    assert_eq!(
        matched + deviations,
        total,
        "every exchange is accounted for"
    );
    assert!(matched > 400, "too few exchanges matched: {matched}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_validate_against_our_schema() {
    // Goal: /schema describes what we really send: observations (with reward and done),
    // state (open and sealed) and actions from /baseline, over a whole baseline episode of
    // every task and generated tier (whose reset bodies fit the reset schema).
    let server = start().await;
    let addr = server.local_addr();
    let schema = get(addr, "/schema").await.json();
    let check = |name: &str, value: &Value| {
        if let Some(problem) = schema_violation(&schema[name], value, name) {
            panic!("{problem}");
        }
    };
    let tasks = ["easy_task", "medium_task", "hard_task", "expert_task"];
    for task in tasks.into_iter().chain(Tier::EVERY.map(Tier::name)) {
        let body = json!({"task_id": task, "seed": 3, "split": "test"});
        check("reset", &body);
        let mut reply = post_json(addr, "/reset", &body).await.json();
        for _ in 0..40 {
            let mut merged = reply["observation"].clone();
            merged["reward"] = reply["reward"].clone();
            merged["done"] = reply["done"].clone();
            check("observation", &merged);
            check("state", &get(addr, "/state").await.json());
            if reply["done"] == true {
                break;
            }
            let action = get(addr, "/baseline").await.json();
            check("action", &action);
            reply = post_json(addr, "/step", &json!({ "action": action }))
                .await
                .json();
        }
        assert_eq!(reply["done"], true, "{task}: the baseline finishes");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openenv_http_routes_have_the_validator_shapes() {
    // Goal: the routes `openenv validate --url` reads, with the shapes it requires.
    let server = start().await;
    let addr = server.local_addr();
    let openapi = get(addr, "/openapi.json").await.json();
    assert_eq!(openapi["info"]["version"], "1.0.0");
    for path in [
        "/reset",
        "/step",
        "/state",
        "/health",
        "/schema",
        "/metadata",
        "/mcp",
        "/ws",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "openapi lists {path}");
    }
    let metadata = get(addr, "/metadata").await.json();
    assert!(metadata["name"].is_string() && metadata["description"].is_string());
    let schema = get(addr, "/schema").await.json();
    for key in ["action", "observation", "state"] {
        assert!(schema[key].is_object(), "/schema.{key}");
    }
    let empty = post_json(addr, "/mcp", &json!({})).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json()["error"]["code"], -32600);
    let garbage = support::post_raw(addr, "/mcp", b"{oops").await;
    assert_eq!(
        (garbage.status, garbage.json()["error"]["code"].clone()),
        (200, json!(-32700))
    );
    // MCP sessions and tools: tests/tests/http_mcp.rs.
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_state_hides_the_answer() {
    // Goal: --sealed removes roots, fixes, affected services and each diagnosis's expected.
    let mut config = incident_host::server::Config::local();
    config.sealed = true;
    let server = support::start_with(config).await;
    let addr = server.local_addr();
    post_json(addr, "/reset", &json!({"task_id": "hard_task", "seed": 1})).await;
    let action = json!({"action": {"action_type": "diagnose", "service": "database", "diagnosis": "disk_full"}});
    post_json(addr, "/step", &action).await;
    let state = get(addr, "/state").await.json();
    for key in [
        "root_cause_services",
        "root_cause_failure_modes",
        "required_fixes",
        "affected_services",
    ] {
        assert!(state.get(key).is_none(), "sealed state shows {key}");
    }
    assert!(state["diagnoses"][0].get("expected").is_none());
    assert_eq!(state["step_count"], 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openenv_yaml_agrees_with_manifest_and_tasks() {
    // Goal: openenv.yaml (no tabs, so valid YAML unlike the original's) names the same
    // environment, version and tasks, in order, as /manifest and /tasks (the four tasks,
    // then with ?include=generated the tiers and their splits), and carries the
    // validation block with the reward range our step rewards live in.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openenv.yaml");
    let yaml = std::fs::read_to_string(&path).expect("openenv.yaml at the repo root");
    assert!(!yaml.contains('\t'), "openenv.yaml must not contain tabs");
    let server = start().await;
    let addr = server.local_addr();
    let manifest = get(addr, "/manifest").await.json();
    let lines: Vec<&str> = yaml.lines().map(str::trim_end).collect();
    let has = |line: &str| lines.contains(&line);
    assert!(has(&format!(
        "name: {}",
        manifest["name"].as_str().unwrap()
    )));
    assert!(has(&format!(
        "version: \"{}\"",
        manifest["version"].as_str().unwrap()
    )));
    assert!(has(&format!("description: {}", manifest["description"])));
    assert!(has(&format!("port: {}", manifest["port"])));
    let mut at = 0;
    let listed = get(addr, "/tasks?include=generated").await.json()["tasks"].clone();
    let listed = listed.as_array().unwrap();
    let originals = get(addr, "/tasks").await.json()["tasks"].clone();
    assert_eq!(
        listed[..4],
        originals.as_array().unwrap()[..],
        "the four tasks first"
    );
    assert_eq!(
        listed.len(),
        4 + Tier::EVERY.len(),
        "and the tiers after them"
    );
    let manifest_all = get(addr, "/manifest?include=generated").await.json();
    assert_eq!(manifest_all["tasks"].as_array().unwrap(), listed);
    for task in listed {
        let mut expected = vec![
            format!("  - id: {}", task["task_id"].as_str().unwrap()),
            format!("    name: {}", task["name"]),
            format!("    description: {}", task["description"]),
            format!("    difficulty: {}", task["difficulty"].as_str().unwrap()),
            format!("    max_steps: {}", task["max_steps"]),
        ];
        if let Some(splits) = task["splits"].as_array() {
            let names: Vec<&str> = splits.iter().filter_map(Value::as_str).collect();
            expected.push(format!("    splits: [{}]", names.join(", ")));
        }
        let start_line = lines[at..]
            .iter()
            .position(|line| *line == expected[0])
            .unwrap_or_else(|| panic!("openenv.yaml lacks {}", expected[0]))
            + at;
        for (offset, line) in expected.iter().enumerate() {
            assert_eq!(lines[start_line + offset], line, "openenv.yaml task entry");
        }
        at = start_line + expected.len();
    }
    assert!(has("validation:") && has("    range: [0.0, 1.0]"));
    server.shutdown().await;
}
