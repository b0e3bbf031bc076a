//! JSON-RPC 2.0 details of the MCP layer without a server: batches, notifications, ids
//! echoed byte for byte, and one error per bad entry.

use incident_api::Session;
use incident_api::mcp::Message;
use serde_json::{Value, json};

/// Answer `text` on `session`, as raw response text (`None`: no response is due).
fn answer(session: &mut Session, text: &str) -> Option<String> {
    let reply = Message::parse(text.as_bytes()).answer(Some(session))?;
    Some(String::from_utf8(reply).expect("UTF-8"))
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).expect("the response is JSON")
}

#[test]
fn ids_are_echoed_exactly_as_sent() {
    // Goal: a 30-digit integer, -0, a float written oddly and an escaped string come back
    // as the same bytes (a `Value` round trip would turn them into 1.2e29, 0, 1000.0 ...).
    let mut session = Session::new();
    for id in [
        "123456789012345678901234567890",
        "-0",
        "1.0e3",
        "18446744073709551616",
        r#""caf\u00e9""#,
        "null",
        "7",
    ] {
        let request = format!(r#"{{"jsonrpc": "2.0", "id": {id}, "method": "ping"}}"#);
        let reply = answer(&mut session, &request).expect("a response");
        assert_eq!(
            reply,
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#)
        );
    }
}

#[test]
fn batches_answer_each_request_in_order() {
    // Goal: one response per request (in order), none for notifications, an error for
    // each bad entry with its own id where readable.
    let mut session = Session::new();
    let batch = r#"[
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "reset", "arguments": {"task_id": "hard_task", "seed": 7}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "b", "method": "tools/call",
         "params": {"name": "read_logs", "arguments": {"service": "database"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "nope"},
        {"jsonrpc": "1.0", "id": 4, "method": "ping"},
        {"jsonrpc": "2.0", "id": {"no": 1}, "method": "ping"},
        5,
        {"jsonrpc": "2.0", "id": 6, "method": "ping", "params": 3},
        {"jsonrpc": "2.0", "id": 7, "result": {}},
        {"jsonrpc": "2.0", "id": 8}
    ]"#;
    let reply = parsed(&answer(&mut session, batch).expect("a response"));
    let replies = reply.as_array().expect("a batch answers with an array");
    let ids: Vec<&Value> = replies.iter().map(|r| &r["id"]).collect();
    assert_eq!(
        ids,
        [
            &json!(1),
            &json!("b"),
            &json!(3),
            &json!(4),
            &Value::Null,
            &Value::Null,
            &json!(6),
            &json!(8)
        ]
    );
    assert_eq!(replies[0]["result"]["isError"], false);
    assert_eq!(
        replies[1]["result"]["structuredContent"]["observation"]["step_number"],
        1
    );
    assert_eq!(replies[2]["error"]["code"], -32601);
    for bad in &replies[3..] {
        assert_eq!(bad["error"]["code"], -32600, "{bad}");
        assert!(bad["error"]["message"].is_string());
    }
    assert_eq!(session.env().step_count(), 1);
}

#[test]
fn notifications_and_empty_batches() {
    // Goal: notifications alone get no response at all; an empty batch is one Invalid
    // Request error (not an array); bytes that are not JSON are one Parse error.
    let mut session = Session::new();
    let note = r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#;
    assert_eq!(answer(&mut session, note), None);
    assert_eq!(answer(&mut session, &format!("[{note}, {note}]")), None);
    let empty = parsed(&answer(&mut session, " [ ] ").expect("an error"));
    assert_eq!(empty["error"]["code"], -32600);
    assert_eq!(empty["id"], Value::Null);
    assert_eq!(
        parsed(&answer(&mut session, "{oops").unwrap())["error"]["code"],
        -32700
    );
    assert_eq!(
        parsed(&answer(&mut session, "[1,").unwrap())["error"]["code"],
        -32700
    );
    assert_eq!(
        parsed(&answer(&mut session, "{}").unwrap())["error"]["code"],
        -32600
    );
}

#[test]
fn what_needs_a_session() {
    // Goal: initialize and ping need no session; tools do, also as notifications.
    let needs = |text: &str| Message::parse(text.as_bytes()).needs_session();
    let initializes = |text: &str| Message::parse(text.as_bytes()).initializes();
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    assert!(initializes(init) && !needs(init));
    assert!(!needs(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#));
    assert!(!needs("{}") && !needs("{oops"));
    assert!(needs(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#));
    assert!(needs(
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"state"}}"#
    ));
    assert!(
        !initializes(r#"{"jsonrpc":"2.0","method":"initialize"}"#),
        "a notification"
    );
    let batch = format!(r#"[{init}, {{"jsonrpc":"2.0","id":1,"method":"tools/list"}}]"#);
    assert!(initializes(&batch) && needs(&batch));
    // Without a session, entries that need one get an error each; the rest are answered.
    let reply = Message::parse(batch.as_bytes()).answer(None).unwrap();
    let reply: Value = serde_json::from_slice(&reply).unwrap();
    assert!(reply[0]["result"]["protocolVersion"].is_string());
    assert_eq!(reply[1]["error"]["code"], -32600);
}
