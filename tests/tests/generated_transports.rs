//! Generated incidents over every transport: the same (tier, split, seed) and actions give
//! byte-identical JSON in-process (`incident_api::Session`), over HTTP and over the OpenEnv
//! WebSocket, episode id aside; bad tiers and splits are refused on each, changing nothing.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use incident_api::{Command, Session, decode};
use incident_core::{Scenario, Split, Tier};
use serde_json::{Value, json};
use support::{get, post_json, start};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The incidents compared: every tier and split, two seeds each (one negative).
fn incidents() -> Vec<Value> {
    let mut out = Vec::new();
    for tier in Tier::EVERY {
        for split in Split::ALL {
            for seed in [7_i64, 12_345] {
                out.push(json!({"task_id": tier.name(), "seed": seed, "split": split.name()}));
            }
        }
    }
    out
}

/// The in-process episode: the reply bytes of the reset and of each step (the oracle's
/// path after a few reads), the WebSocket frames, and the final state and grade.
struct Played {
    actions: Vec<Value>,
    bodies: Vec<String>,
    frames: Vec<String>,
    state: Value,
    grade: String,
}

fn play_in_process(reset: &Value) -> Played {
    let mut session = Session::new();
    let reply = session.apply(decode::reset_value(Some(reset)).unwrap());
    let mut played = Played {
        actions: Vec::new(),
        bodies: vec![String::from_utf8(reply.to_json_bytes()).unwrap()],
        frames: vec![reply.to_ws_frame()],
        state: Value::Null,
        grade: String::new(),
    };
    let reads = ["api_gateway", "database", "payment_service"]
        .map(|service| json!({"action_type": "query_metrics", "service": service}));
    let mut scripted = reads.into_iter();
    while !session.env().is_done() {
        let action = scripted.next().unwrap_or_else(|| {
            let next = incident_core::oracle::choose(session.env());
            incident_api::to_value(&incident_api::render::action_json(&next, None))
        });
        let reply = session.apply(decode::step_value(&action).unwrap());
        played
            .bodies
            .push(String::from_utf8(reply.to_json_bytes()).unwrap());
        played.frames.push(reply.to_ws_frame());
        played.actions.push(action);
    }
    played.state = without_episode_id(session.state_json());
    played.grade = String::from_utf8(session.apply(Command::Grade).to_json_bytes()).unwrap();
    played
}

fn without_episode_id(mut state: Value) -> Value {
    assert!(state["episode_id"].is_string());
    state["episode_id"] = Value::Null;
    state
}

async fn connect(addr: SocketAddr) -> Client {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (client, _) = client_async(format!("ws://{addr}/ws"), MaybeTlsStream::Plain(stream))
        .await
        .expect("WebSocket handshake");
    client
}

/// Send one message and return the next text frame as it came.
async fn ask(client: &mut Client, message: &Value) -> String {
    client
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), client.next()).await;
        if let Ok(Some(Ok(Message::Text(text)))) = next {
            return text.as_str().to_owned();
        }
        assert!(next.is_ok(), "a reply in time");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_incident_is_the_same_bytes_on_every_transport() {
    // Goal: for each tier, split and seed, the reset and step bodies over HTTP equal the
    // in-process bytes exactly, so do the WebSocket frames, and the states (episode id
    // aside) and grades agree; a second in-process run gives the same bytes again.
    let server = start().await;
    let addr = server.local_addr();
    for reset in incidents() {
        let played = play_in_process(&reset);
        assert_eq!(play_in_process(&reset).bodies, played.bodies, "{reset}");
        let http = post_json(addr, "/reset", &reset).await;
        assert_eq!(http.status, 200);
        let mut bodies = vec![String::from_utf8(http.body.clone()).unwrap()];
        for action in &played.actions {
            let reply = post_json(addr, "/step", &json!({ "action": action })).await;
            bodies.push(String::from_utf8(reply.body.clone()).unwrap());
        }
        assert_eq!(bodies, played.bodies, "HTTP {reset}");
        assert_eq!(
            without_episode_id(get(addr, "/state").await.json()),
            played.state
        );
        let grade = get(addr, "/grader").await;
        assert_eq!(String::from_utf8(grade.body.clone()).unwrap(), played.grade);

        let mut client = connect(addr).await;
        let mut frames = vec![ask(&mut client, &json!({"type": "reset", "data": reset})).await];
        for action in &played.actions {
            frames.push(ask(&mut client, &json!({"type": "step", "data": action})).await);
        }
        assert_eq!(frames, played.frames, "WebSocket {reset}");
        let state: Value =
            serde_json::from_str(&ask(&mut client, &json!({"type": "state"})).await).unwrap();
        assert_eq!(without_episode_id(state["data"].clone()), played.state);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tiers_and_splits_are_refused_on_every_transport() {
    // Goal: an unknown tier or split gets a 422 JSON detail over HTTP and a
    // VALIDATION_ERROR frame over WebSocket, and neither episode changes.
    let server = start().await;
    let addr = server.local_addr();
    let good = json!({"task_id": "gen_medium", "seed": 5, "split": "test"});
    post_json(addr, "/reset", &good).await;
    let before = get(addr, "/state").await.json();
    let mut client = connect(addr).await;
    ask(&mut client, &json!({"type": "reset", "data": good})).await;
    let ws_before = ask(&mut client, &json!({"type": "state"})).await;
    for bad in [
        json!({"task_id": "gen_nightmare", "seed": 1}),
        json!({"task_id": "gen_hard", "seed": 1, "split": "validation"}),
        json!({"task_id": "gen_hard", "seed": 1, "split": true}),
    ] {
        let reply = post_json(addr, "/reset", &bad).await;
        assert_eq!(reply.status, 422, "{bad}");
        assert!(reply.json()["detail"].is_string(), "{bad}");
        let frame: Value =
            serde_json::from_str(&ask(&mut client, &json!({"type": "reset", "data": bad})).await)
                .unwrap();
        assert_eq!(frame["type"], "error", "{bad}");
        assert_eq!(frame["data"]["code"], "VALIDATION_ERROR", "{bad}");
    }
    assert_eq!(get(addr, "/state").await.json(), before);
    assert_eq!(ask(&mut client, &json!({"type": "state"})).await, ws_before);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tiers_are_listed_wherever_resets_are_described() {
    // Goal: /schema's reset schema, /openapi.json's /reset body and MCP's reset tool name the
    // tiers and the split; /tasks and /manifest list them only with ?include=generated (the
    // plain bodies are the original's, checked byte for byte by http_parity).
    let server = start().await;
    let addr = server.local_addr();
    let reset = get(addr, "/schema").await.json()["reset"].clone();
    let ids = reset["properties"]["task_id"]["examples"]
        .as_array()
        .unwrap();
    for tier in Tier::EVERY {
        assert!(ids.contains(&json!(tier.name())), "{}", tier.name());
    }
    assert_eq!(reset["properties"]["split"]["default"], "train");
    let openapi = get(addr, "/openapi.json").await.json();
    let body = &openapi["paths"]["/reset"]["post"]["requestBody"]["content"]["application/json"];
    assert_eq!(body["schema"], reset);
    for path in ["/tasks", "/manifest"] {
        let parameter = &openapi["paths"][path]["get"]["parameters"][0];
        assert_eq!(parameter["name"], "include", "{path}");
    }
    let tasks = get(addr, "/tasks?include=generated").await.json();
    assert_eq!(tasks["count"], 4 + Tier::EVERY.len());
    let tier = &tasks["tasks"][6];
    assert_eq!(
        (&tier["task_id"], &tier["splits"]),
        (&json!("gen_hard"), &json!(["train", "test"]))
    );
    assert_eq!(get(addr, "/tasks").await.json()["count"], 4);
    let tools = incident_api::mcp::tools();
    let reset_tool = tools.iter().find(|tool| tool["name"] == "reset").unwrap();
    assert_eq!(reset_tool["inputSchema"]["properties"], reset["properties"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_server_hides_generated_answers_on_every_transport() {
    // Goal: with --sealed, /state over HTTP and WebSocket and the MCP state tool carry no
    // answer field for a generated incident, and no diagnosis shows its `expected`.
    let mut config = incident_host::server::Config::local();
    config.sealed = true;
    let server = support::start_with(config).await;
    let addr = server.local_addr();
    let reset = json!({"task_id": "gen_expert", "seed": 3, "split": "test"});
    let diagnose =
        json!({"action_type": "diagnose", "service": "database", "diagnosis": "disk_full"});
    post_json(addr, "/reset", &reset).await;
    post_json(addr, "/step", &diagnose).await;
    let mut client = connect(addr).await;
    ask(&mut client, &json!({"type": "reset", "data": reset})).await;
    ask(&mut client, &json!({"type": "step", "data": diagnose})).await;
    let ws: Value =
        serde_json::from_str(&ask(&mut client, &json!({"type": "state"})).await).unwrap();
    for state in [get(addr, "/state").await.json(), ws["data"].clone()] {
        for key in [
            "root_cause_services",
            "root_cause_failure_modes",
            "required_fixes",
            "affected_services",
        ] {
            assert!(state.get(key).is_none(), "{key}: {state}");
        }
        assert_eq!(state["task_id"], "gen_expert");
        assert!(state["diagnoses"][0].get("expected").is_none(), "{state}");
    }
    server.shutdown().await;
}

/// The actions of one generated episode with a wrong fix: `clear_cache` (which fixes
/// nothing) on the first root, then the oracle's path.
fn with_a_wrong_fix(reset: &Value) -> Vec<Value> {
    let mut session = Session::new();
    session.apply(decode::reset_value(Some(reset)).unwrap());
    let root = session.env().scenario().roots()[0].service.name();
    let mut actions =
        vec![json!({"action_type": "apply_fix", "service": root, "fix": "clear_cache"})];
    session.apply(decode::step_value(&actions[0]).unwrap());
    while !session.env().is_done() {
        let next = incident_core::oracle::choose(session.env());
        let action = incident_api::to_value(&incident_api::render::action_json(&next, None));
        session.apply(decode::step_value(&action).unwrap());
        actions.push(action);
    }
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_rewards_are_exact_and_sum_to_the_score_over_http_and_websocket() {
    // Goal: a generated incident's JSON rewards are rulesets v1's and v2's exact values, not the
    // original's [0.05, 0.95] display: over HTTP and over the WebSocket, a wrong fix shows a
    // negative reward, and the emitted rewards of the episode sum to its /grader score, its
    // final score and its terminal grader_score and trajectory_reward (within float
    // rounding), on every tier.
    let server = start().await;
    let addr = server.local_addr();
    for tier in Tier::EVERY {
        // The first test incident from 7 on with a root (a graph tier's may be a no-fault
        // control).
        let seed = (7..)
            .find(|&seed| Scenario::generated(seed, tier, Split::Test).root_count > 0)
            .unwrap();
        let reset = json!({"task_id": tier.name(), "seed": seed, "split": "test"});
        let actions = with_a_wrong_fix(&reset);
        post_json(addr, "/reset", &reset).await;
        let mut client = connect(addr).await;
        ask(&mut client, &json!({"type": "reset", "data": reset})).await;
        let (mut http, mut ws) = (Vec::new(), Vec::new());
        let mut last = (Value::Null, Value::Null);
        for action in &actions {
            let reply = post_json(addr, "/step", &json!({ "action": action }))
                .await
                .json();
            http.push(reply["reward"].as_f64().unwrap());
            let frame: Value = serde_json::from_str(
                &ask(&mut client, &json!({"type": "step", "data": action})).await,
            )
            .unwrap();
            ws.push(frame["data"]["reward"].as_f64().unwrap());
            last = (reply["info"].clone(), frame["data"]["metadata"].clone());
        }
        assert!(http[0] < 0.0 && ws[0] < 0.0, "{tier:?}: {http:?} {ws:?}");
        assert_eq!(http, ws, "{tier:?}");
        let sum: f64 = http.iter().sum();
        let grade = get(addr, "/grader").await.json()["score"].as_f64().unwrap();
        let state: Value =
            serde_json::from_str(&ask(&mut client, &json!({"type": "state"})).await).unwrap();
        let finals = [
            grade,
            get(addr, "/state").await.json()["final_score"]
                .as_f64()
                .unwrap(),
            state["data"]["final_score"].as_f64().unwrap(),
            last.0["grader_score"].as_f64().unwrap(),
            last.0["trajectory_reward"].as_f64().unwrap(),
            last.1["grader_score"].as_f64().unwrap(),
        ];
        for score in finals {
            assert!(
                (sum - score).abs() < 1e-9,
                "{tier:?}: sum {sum} vs {finals:?}"
            );
        }
        assert!(
            grade > 0.9,
            "{tier:?}: the oracle's path still resolves it: {grade}"
        );
    }
    server.shutdown().await;
}
