//! MCP over streamable HTTP (`POST /mcp`, `DELETE /mcp`): each MCP session its own
//! episode, `Mcp-Session-Id` issued at initialize and required after, unknown ids 404,
//! sessions bounded; the tools, batches and exact ids over the wire.

mod support;

use std::net::SocketAddr;

use incident_host::server::Config;
use serde_json::{Value, json};
use support::{Reply, get, post_json, request, start, start_with};

const JSON: (&str, &str) = ("Content-Type", "application/json");

async fn post(addr: SocketAddr, session: Option<&str>, body: &str) -> Reply {
    let mut headers = vec![JSON];
    if let Some(id) = session {
        headers.push(("Mcp-Session-Id", id));
    }
    request(addr, "POST", "/mcp", &headers, Some(body.as_bytes())).await
}

/// Initialize a session and return its id.
async fn initialize(addr: SocketAddr) -> String {
    let body = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
    let reply = post(addr, None, body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["result"]["serverInfo"]["name"],
        "devops_incident_env"
    );
    let id = reply
        .header("Mcp-Session-Id")
        .expect("a session id")
        .to_owned();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let accepted = post(addr, Some(&id), note).await;
    assert_eq!((accepted.status, accepted.body.len()), (202, 0));
    id
}

fn call(id: u32, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}})
    .to_string()
}

async fn tool(addr: SocketAddr, session: &str, name: &str, arguments: Value) -> Value {
    let reply = post(addr, Some(session), &call(1, name, arguments)).await;
    assert_eq!(reply.status, 200, "{name}");
    reply.json()["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mcp_session_is_its_own_episode() {
    // Goal: two MCP sessions at once step their own episodes; neither touches the other
    // nor the HTTP default episode.
    let server = start().await;
    let addr = server.local_addr();
    let before = get(addr, "/state").await.json();
    let (a, b) = (initialize(addr).await, initialize(addr).await);
    assert_ne!(a, b);
    let reset = tool(
        addr,
        &a,
        "reset",
        json!({"task_id": "hard_task", "seed": 7}),
    )
    .await;
    assert_eq!(reset["isError"], false);
    tool(
        addr,
        &b,
        "reset",
        json!({"task_id": "easy_task", "seed": 1}),
    )
    .await;
    let step = tool(addr, &a, "read_logs", json!({"service": "database"})).await;
    assert_eq!(step["structuredContent"]["observation"]["step_number"], 1);
    let bad = tool(addr, &a, "step", json!({"action_type": "reboot"})).await;
    assert_eq!(bad["isError"], true);
    let state_a = tool(addr, &a, "state", json!({})).await["structuredContent"].clone();
    let state_b = tool(addr, &b, "state", json!({})).await["structuredContent"].clone();
    assert_eq!(
        (&state_a["task_id"], &state_a["step_count"]),
        (&json!("hard_task"), &json!(1))
    );
    assert_eq!(
        (&state_b["task_id"], &state_b["step_count"]),
        (&json!("easy_task"), &json!(0))
    );
    assert_eq!(
        get(addr, "/state").await.json(),
        before,
        "the HTTP episode moved"
    );
    let tools = post(
        addr,
        Some(&a),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    )
    .await;
    let names: Vec<String> = tools.json()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    for name in ["reset", "step", "state", "grader", "read_logs", "apply_fix"] {
        assert!(names.iter().any(|n| n == name), "tool {name}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_ids_are_required_and_checked() {
    // Goal: no id -> 400, an unknown id -> 404, DELETE ends a session (then 404), and
    // messages that need no session (OpenEnv's `{}` probe, garbage, ping) still get 200.
    let server = start().await;
    let addr = server.local_addr();
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let missing = post(addr, None, list).await;
    assert_eq!(
        (missing.status, missing.json()["error"]["code"].clone()),
        (400, json!(-32600))
    );
    let step = call(1, "list_services", json!({}));
    assert_eq!(post(addr, None, &step).await.status, 400);
    let unknown = post(addr, Some("no-such-session"), list).await;
    assert_eq!(
        (unknown.status, unknown.json()["error"]["code"].clone()),
        (404, json!(-32001))
    );
    let probe = post_json(addr, "/mcp", &json!({})).await;
    assert_eq!(
        (probe.status, probe.json()["error"]["code"].clone()),
        (200, json!(-32600))
    );
    let ping = post(addr, None, r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#).await;
    assert_eq!((ping.status, ping.json()["id"].clone()), (200, json!("p")));
    let id = initialize(addr).await;
    assert_eq!(post(addr, Some(&id), list).await.status, 200);
    let delete = |session: Option<String>| async move {
        let headers: Vec<(&str, &str)> = session
            .as_deref()
            .map(|id| vec![("Mcp-Session-Id", id)])
            .unwrap_or_default();
        request(addr, "DELETE", "/mcp", &headers, None).await.status
    };
    assert_eq!(delete(None).await, 400);
    assert_eq!(delete(Some(id.clone())).await, 204);
    assert_eq!(delete(Some(id.clone())).await, 404);
    assert_eq!(post(addr, Some(&id), list).await.status, 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_bounded() {
    // Goal: past --max-sessions an initialize gets 503 with a JSON-RPC error; ending a
    // session frees its slot.
    let mut config = Config::local();
    config.max_sessions = 2;
    let server = start_with(config).await;
    let addr = server.local_addr();
    let first = initialize(addr).await;
    initialize(addr).await;
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    let full = post(addr, None, init).await;
    assert_eq!(
        (full.status, full.json()["error"]["code"].clone()),
        (503, json!(-32000))
    );
    let headers = [("Mcp-Session-Id", first.as_str())];
    assert_eq!(
        request(addr, "DELETE", "/mcp", &headers, None).await.status,
        204
    );
    assert_eq!(post(addr, None, init).await.status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_ids_survive_the_wire() {
    // Goal: over HTTP a batch gets one response per request in order, ids byte for byte
    // (a 30-digit integer, -0), nothing for its notifications, and an empty batch one error.
    let server = start().await;
    let addr = server.local_addr();
    let id = initialize(addr).await;
    let batch = r#"[{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"},
        {"jsonrpc":"2.0","method":"notifications/initialized"},
        {"jsonrpc":"2.0","id":-0,"method":"tools/call","params":{"name":"grader"}},
        {"jsonrpc":"2.0","id":9,"method":"nope"}]"#;
    let reply = post(addr, Some(&id), batch).await;
    let text = String::from_utf8(reply.body.clone()).unwrap();
    assert!(text.starts_with(r#"[{"jsonrpc":"2.0","id":123456789012345678901234567890,"result":{}},{"jsonrpc":"2.0","id":-0,"result":"#), "{text}");
    let replies = reply.json();
    assert_eq!(replies.as_array().map(Vec::len), Some(3));
    assert_eq!(replies[2]["error"]["code"], -32601);
    let empty = post(addr, Some(&id), "[]").await;
    assert_eq!(
        (empty.status, empty.json()["error"]["code"].clone()),
        (200, json!(-32600))
    );
    let notes = r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#;
    assert_eq!(post(addr, Some(&id), notes).await.status, 202);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_without_a_session_is_method_not_found() {
    // Goal: as SERVER.md says, an unknown method needs no session: HTTP 200 and -32601,
    // alone or in a batch; a known method that needs a session still gets 400.
    let server = start().await;
    let addr = server.local_addr();
    let unknown = post(addr, None, r#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#).await;
    assert_eq!(
        (unknown.status, unknown.json()["error"]["code"].clone()),
        (200, json!(-32601))
    );
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"resources/list"}]"#;
    let both = post(addr, None, batch).await;
    assert_eq!(both.status, 200);
    assert_eq!(both.json()[1]["error"]["code"], -32601);
    let list = post(
        addr,
        None,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    )
    .await;
    assert_eq!(list.status, 400);
    server.shutdown().await;
}

/// A batch of `count` `tools/list` calls (ids 0..count).
fn tools_list_batch(count: usize) -> String {
    let calls: Vec<String> = (0..count)
        .map(|id| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#))
        .collect();
    format!("[{}]", calls.join(","))
}

/// Check a bounded batch reply: at most BATCH_ENTRIES_MAX answers in order, then one
/// error (id null) for the entries not run; return how many were answered.
fn check_bounded_batch(reply: &Value, sent: usize) -> usize {
    let entries = reply.as_array().expect("a batch reply");
    let (last, answered) = entries.split_last().expect("not empty");
    assert!(answered.len() <= incident_api::constants::BATCH_ENTRIES_MAX);
    for (index, entry) in answered.iter().enumerate() {
        assert_eq!(entry["id"], index, "answers in order");
        assert!(entry["result"]["tools"].is_array());
    }
    assert_eq!(last["id"], Value::Null);
    assert_eq!(last["error"]["code"], -32600);
    let message = last["error"]["message"].as_str().unwrap();
    let rest = sent - answered.len();
    assert!(message.contains(&format!("{rest} not run")), "{message}");
    answered.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_bounded_in_calls_and_reply_bytes_over_http() {
    // Goal: a 64 KiB POST /mcp of ~1,300 tools/list calls (5.7 MB of answers unbounded)
    // gets at most BATCH_ENTRIES_MAX answers within REPLY_BYTES_MAX (plus one answer),
    // then one JSON-RPC error for the rest; the session still works after.
    use incident_api::constants::{BATCH_ENTRIES_MAX, REPLY_BYTES_MAX};
    let server = start().await;
    let addr = server.local_addr();
    let id = initialize(addr).await;
    let mut count = 0;
    while tools_list_batch(count + 1).len() < 64 * 1024 - 64 {
        count += 1;
    }
    assert!(count > BATCH_ENTRIES_MAX);
    let reply = post(addr, Some(&id), &tools_list_batch(count)).await;
    assert_eq!(reply.status, 200);
    let one_answer = post(
        addr,
        Some(&id),
        r#"{"jsonrpc":"2.0","id":0,"method":"tools/list"}"#,
    )
    .await
    .body
    .len();
    println!(
        "{count} calls: {} reply bytes ({one_answer} per answer)",
        reply.body.len()
    );
    assert!(reply.body.len() <= REPLY_BYTES_MAX + 2 * one_answer);
    check_bounded_batch(&reply.json(), count);
    let small = post(addr, Some(&id), &tools_list_batch(3)).await.json();
    assert_eq!(
        small.as_array().map(Vec::len),
        Some(3),
        "a small batch is whole"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_in_a_websocket_mcp_message_is_bounded() {
    // Goal: one ~1 MiB WebSocket `mcp` message of ~22,000 tools/list calls gets one
    // bounded `mcp` frame (under the 1 MiB frame limit: the connection is not dropped),
    // ending with the error for the calls not run, and the session answers on.
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let server = start().await;
    let addr = server.local_addr();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut client, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .unwrap();
    let mut count = 20_000;
    while tools_list_batch(count + 1).len() < (1 << 20) - 64 {
        count += 1;
    }
    let message = format!(r#"{{"type":"mcp","data":{}}}"#, tools_list_batch(count));
    client.send(Message::text(message)).await.unwrap();
    let reply = tokio::time::timeout(support::REPLY_TIMEOUT, client.next()).await;
    let Ok(Some(Ok(Message::Text(text)))) = reply else {
        panic!("no mcp frame: {reply:?}");
    };
    assert!(text.len() < 1 << 20, "{} bytes", text.len());
    let frame: Value = serde_json::from_str(text.as_str()).unwrap();
    assert_eq!(frame["type"], "mcp");
    check_bounded_batch(&frame["data"], count);
    client
        .send(Message::text(r#"{"type":"state"}"#))
        .await
        .unwrap();
    let state = tokio::time::timeout(support::REPLY_TIMEOUT, client.next()).await;
    assert!(
        matches!(&state, Ok(Some(Ok(Message::Text(text)))) if text.as_str().starts_with(r#"{"type":"state""#)),
        "{state:?}"
    );
    server.shutdown().await;
}

/// Send a bare `initialize` (never followed up) and return the HTTP status.
async fn bare_initialize(addr: SocketAddr) -> (u16, Value) {
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    let reply = post(addr, None, init).await;
    (reply.status, reply.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_initializes_cannot_lock_out_mcp() {
    // Goal: a flood of initialize requests never followed up (sessions opened and not
    // used) does not fill the table: at the bound the oldest unused session makes room,
    // so every newcomer is served and the sessions in use are untouched.
    let mut config = Config::local();
    config.max_sessions = 8;
    let server = start_with(config).await;
    let addr = server.local_addr();
    let used = [initialize(addr).await, initialize(addr).await];
    for attempt in 0..40 {
        let (status, body) = bare_initialize(addr).await;
        assert_eq!(status, 200, "bare initialize {attempt}: {body}");
    }
    let newcomer = initialize(addr).await;
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    for id in used.iter().chain([&newcomer]) {
        assert_eq!(post(addr, Some(id), list).await.status, 200, "{id}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_per_peer_are_bounded() {
    // Goal: one address holds at most --max-sessions-per-peer sessions: past it its own
    // oldest unused session makes room, and with all of them in use it gets 503 (while
    // the table itself has room).
    let mut config = Config::local();
    config.max_sessions = 16;
    config.max_sessions_per_peer = 4;
    let server = start_with(config).await;
    let addr = server.local_addr();
    let mut used = Vec::new();
    for _ in 0..3 {
        used.push(initialize(addr).await);
    }
    for _ in 0..5 {
        assert_eq!(bare_initialize(addr).await.0, 200);
    }
    used.push(initialize(addr).await);
    let (status, body) = bare_initialize(addr).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (503, json!(-32000))
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("this address"), "{message}");
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    for id in &used {
        assert_eq!(post(addr, Some(id), list).await.status, 200, "{id}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainer_holds_hundreds_of_sessions_under_the_default_bounds() {
    // Goal: the per-address bound leaves room for a GRPO-style trainer on one host: 600
    // sessions opened from one address, then each used, all answer.
    let server = start().await;
    let addr = server.local_addr();
    let mut ids = Vec::new();
    for _ in 0..600 {
        ids.push(initialize(addr).await);
    }
    for id in &ids {
        let grade = tool(addr, id, "grader", json!({})).await;
        assert_eq!(grade["isError"], false, "{id}");
    }
    server.shutdown().await;
}
