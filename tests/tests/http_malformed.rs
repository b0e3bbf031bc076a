//! Malformed input over real HTTP: every answer is a 4xx (JSON when a route answered), never
//! a 5xx or a crash, and the shared episode is unchanged afterwards; slow clients cannot
//! stall others.

mod support;

use std::time::{Duration, Instant};

use incident_host::server::Config;
use serde_json::{Value, json};
use support::{get, parse_reply, post_json, post_raw, raw, request, start, start_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Start an episode with one step, and return the state we expect to survive.
async fn prepared(addr: std::net::SocketAddr) -> String {
    post_json(addr, "/reset", &json!({"task_id": "hard_task", "seed": 7})).await;
    post_json(
        addr,
        "/step",
        &json!({"action": {"action_type": "read_logs", "service": "database"}}),
    )
    .await;
    get(addr, "/state").await.json().to_string()
}

fn nested(depth: usize) -> Vec<u8> {
    let mut body = b"{\"action\":".to_vec();
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.push(b'}');
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_4xx_json_and_change_nothing() {
    // Goal: broken, truncated, mistyped, oversized and deeply nested bodies on /reset and
    // /step are refused with a 4xx JSON body and leave the episode exactly as it was.
    let server = start().await;
    let addr = server.local_addr();
    let before = prepared(addr).await;
    let long = "x".repeat(10_000);
    let huge = vec![b' '; 70 * 1024];
    // (label, body, refused by /reset too): /reset ignores unknown keys, as the original.
    let bodies: Vec<(&str, Vec<u8>, bool)> = vec![
        ("broken", b"{not json".to_vec(), true),
        (
            "truncated",
            b"{\"action\": {\"action_type\": \"read_l".to_vec(),
            true,
        ),
        (
            "truncated object",
            b"{\"task_id\": \"hard_task\",".to_vec(),
            true,
        ),
        ("trailing garbage", b"{\"seed\": 1} trailing".to_vec(), true),
        ("whitespace only", b"   ".to_vec(), true),
        (
            "invalid utf-8",
            b"{\"task_id\": \"\xff\xfe\"}".to_vec(),
            true,
        ),
        ("nul bytes", b"\0\0\0\0".to_vec(), true),
        ("bad escape", b"{\"task_id\": \"\\q\"}".to_vec(), true),
        (
            "lone surrogate",
            b"{\"task_id\": \"\\ud800\"}".to_vec(),
            true,
        ),
        ("list body", b"[1, 2, 3]".to_vec(), true),
        ("string body", b"\"read_logs\"".to_vec(), true),
        ("number body", b"12".to_vec(), true),
        (
            "wrong seed type",
            br#"{"task_id": "hard_task", "seed": [1]}"#.to_vec(),
            true,
        ),
        (
            "seed string",
            br#"{"task_id": "hard_task", "seed": "abc"}"#.to_vec(),
            true,
        ),
        ("seed too big", br#"{"seed": 1e300}"#.to_vec(), true),
        (
            "seed huge int",
            br#"{"seed": 123456789012345678901234567890}"#.to_vec(),
            true,
        ),
        ("task list", br#"{"task_id": ["hard_task"]}"#.to_vec(), true),
        ("task object", br#"{"task_id": {"a": 1}}"#.to_vec(), true),
        ("episode id number", br#"{"episode_id": 5}"#.to_vec(), true),
        (
            "action type number",
            br#"{"action": {"action_type": 5}}"#.to_vec(),
            false,
        ),
        ("action null", br#"{"action": null}"#.to_vec(), false),
        (
            "action list",
            br#"{"action": ["read_logs"]}"#.to_vec(),
            false,
        ),
        (
            "service number",
            br#"{"action": {"action_type": "read_logs", "service": 5}}"#.to_vec(),
            false,
        ),
        (
            "service object",
            br#"{"action": {"action_type": "read_logs", "service": {}}}"#.to_vec(),
            false,
        ),
        (
            "long service",
            format!(r#"{{"action": {{"action_type": "read_logs", "service": "{long}"}}}}"#)
                .into_bytes(),
            false,
        ),
        (
            "long reasoning",
            format!(r#"{{"action": {{"action_type": "list_services", "reasoning": "{long}"}}}}"#)
                .into_bytes(),
            false,
        ),
        ("deep nesting", nested(20_000), true),
        ("oversized body", huge, true),
    ];
    for (label, body, bad_reset) in &bodies {
        let paths: &[&str] = if *bad_reset {
            &["/reset", "/step"]
        } else {
            &["/step"]
        };
        for path in paths {
            let reply = post_raw(addr, path, body).await;
            assert!(
                (400..500).contains(&reply.status),
                "{label} on {path}: {}",
                reply.status
            );
            let detail = &reply.json()["detail"];
            assert!(
                detail.is_string() || detail.is_array(),
                "{label} on {path}: {detail}"
            );
            let after = get(addr, "/state").await.json().to_string();
            assert_eq!(after, before, "{label} on {path} changed the episode");
        }
    }
    let oversized = post_raw(addr, "/step", &vec![b'{'; 65 * 1024]).await;
    assert_eq!(oversized.status, 413);
    server.shutdown().await;
}

/// `bytes` with every `Host: x` replaced by `host` (other bytes untouched).
fn with_host(bytes: &[u8], host: &[u8]) -> Vec<u8> {
    let placeholder = b"Host: x";
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest
        .windows(placeholder.len())
        .position(|w| w == placeholder)
    {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(host);
        rest = &rest[at + placeholder.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_requests_never_get_5xx() {
    // Goal: garbage on the socket, odd methods, huge headers, a lying Content-Length and
    // a chunked body past the limit get a 4xx (or a closed socket), never a 5xx; the
    // episode is unchanged and the server keeps serving.
    let server = start().await;
    let addr = server.local_addr();
    let before = prepared(addr).await;
    let big_header = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let mut chunked = b"POST /reset HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    // Each case names the server properly (`Host: x` alone is refused on loopback).
    let host = format!("Host: {addr}");
    for _ in 0..80 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend(std::iter::repeat_n(b' ', 0x400));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec()),
        ("not http", b"hello there\r\n\r\n".to_vec()),
        ("bad version", b"GET /health HTTP/9.9\r\n\r\n".to_vec()),
        ("bad header", b"GET /health HTTP/1.1\r\nHost x\r\n\r\n".to_vec()),
        ("huge header", big_header.into_bytes()),
        ("lying length", b"POST /reset HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{}".to_vec()),
        ("bad length", b"POST /reset HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}".to_vec()),
        ("chunked past the limit", chunked),
        ("odd method", b"BREW /step HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("delete", b"DELETE /state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("options", b"OPTIONS /step HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("ws without upgrade", b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("long path", format!("GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "p".repeat(5000)).into_bytes()),
    ];
    for (label, bytes) in &inputs {
        let bytes = with_host(bytes, host.as_bytes());
        let out = raw(addr, &bytes).await;
        if let Some(reply) = parse_reply(&out) {
            assert!(
                (400..500).contains(&reply.status),
                "{label}: status {}",
                reply.status
            );
        }
        assert_eq!(
            get(addr, "/state").await.json().to_string(),
            before,
            "{label} changed the episode"
        );
    }
    let wrong_method = request(addr, "PUT", "/step", &[], Some(b"{}")).await;
    assert_eq!(
        (wrong_method.status, wrong_method.json()),
        (405, json!({"detail": "Method Not Allowed"}))
    );
    assert_eq!(get(addr, "/health").await.status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_stall_others() {
    // Goal: a client trickling its headers or its body is cut off by the timeouts, and
    // meanwhile other clients are answered at once.
    let mut config = Config::local();
    config.header_read_timeout = Duration::from_secs(1);
    config.body_read_timeout = Duration::from_secs(1);
    let server = start_with(config).await;
    let addr = server.local_addr();
    let before = prepared(addr).await;

    let trickle_headers = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        for byte in b"POST /reset HTTP/1.1\r\nHost: slow\r\nX-Slow: yes\r\n" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
        (started.elapsed(), out)
    });
    let trickle_body = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /reset HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{{\"task_id\":"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
        out
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(get(addr, "/health").await.status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "a slow client stalled another"
        );
    }
    let (elapsed, out) = trickle_headers.await.unwrap();
    assert!(
        elapsed < Duration::from_secs(5),
        "the header trickler was not cut off: {elapsed:?}"
    );
    if let Some(reply) = parse_reply(&out) {
        assert!((400..500).contains(&reply.status));
    }
    let body_reply = parse_reply(&trickle_body.await.unwrap()).expect("a 408 for the slow body");
    assert_eq!(body_reply.status, 408);
    assert!(body_reply.json()["detail"].is_string());
    assert_eq!(get(addr, "/state").await.json().to_string(), before);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_http_clients_share_one_episode_consistently() {
    // Goal: 32 clients stepping the shared episode at once each get a whole response, and
    // the step count adds up (no lost or torn updates).
    let server = start().await;
    let addr = server.local_addr();
    post_json(
        addr,
        "/reset",
        &json!({"task_id": "expert_task", "seed": 1}),
    )
    .await;
    let clients: Vec<_> = (0..32)
        .map(|_| {
            tokio::spawn(async move {
                post_json(addr, "/step", &json!({"action_type": "list_services"}))
                    .await
                    .json()
            })
        })
        .collect();
    let mut numbers: Vec<i64> = Vec::new();
    for client in clients {
        let reply: Value = client.await.unwrap();
        numbers.push(reply["observation"]["step_number"].as_i64().unwrap());
    }
    numbers.sort_unstable();
    let max_steps = get(addr, "/state").await.json()["max_steps"]
        .as_i64()
        .unwrap();
    let state = get(addr, "/state").await.json();
    assert_eq!(state["step_count"].as_i64().unwrap(), max_steps.min(32));
    assert!(numbers.iter().all(|n| *n >= 1 && *n <= max_steps));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_shed_for_new_clients() {
    // Goal: with every connection slot taken by silent clients, a new client is served at
    // once (long before the header read timeout) because the oldest silent one is shed.
    let mut config = Config::local();
    config.connections_max = 2;
    config.header_read_timeout = Duration::from_secs(30);
    let server = start_with(config).await;
    let addr = server.local_addr();
    // The server orders silent clients by when it first waited on them: space the two
    // connects so that order is the connect order even on a loaded machine.
    let mut silent: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(5), get(addr, "/health"))
        .await
        .expect("served while the silent clients are connected");
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    let mut byte = [0u8; 1];
    let oldest = tokio::time::timeout(Duration::from_secs(5), silent[0].read(&mut byte)).await;
    assert!(
        matches!(oldest, Ok(Ok(0) | Err(_))),
        "the oldest silent client was not shed: {oldest:?}"
    );
    server.shutdown().await;
}

/// The WebSocket reply to one message.
async fn ws_ask(addr: std::net::SocketAddr, message: &Value) -> Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/ws");
    let (mut client, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    client
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(support::REPLY_TIMEOUT, client.next()).await;
    let Ok(Some(Ok(Message::Text(text)))) = reply else {
        panic!("no reply to {message}: {reply:?}");
    };
    serde_json::from_str(text.as_str()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_incident_seeds_are_refused_on_every_interface() {
    // Goal: a generated tier's seed is an incident index: a negative one, written as a
    // number, a float or a string, is refused with the same sentence over HTTP, the
    // WebSocket and the MCP reset tool, and the episode is unchanged; an original task
    // keeps the original's negative seeds.
    let server = start().await;
    let addr = server.local_addr();
    let before = prepared(addr).await;
    let wording = "seed must be a non-negative integer for generated tiers (the incident index)";
    for seed in [
        json!(-1),
        json!("-1"),
        json!(" -7 "),
        json!(-1.5),
        json!(i64::MIN),
    ] {
        let body = json!({"task_id": "gen_hard", "seed": seed, "split": "test"});
        let http = post_json(addr, "/reset", &body).await;
        assert_eq!(http.status, 422, "{seed}");
        let detail = http.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(detail.starts_with(wording), "{seed}: {detail}");
        let ws = ws_ask(addr, &json!({"type": "reset", "data": body})).await;
        assert_eq!(ws["data"]["code"], "VALIDATION_ERROR", "{seed}: {ws}");
        assert_eq!(ws["data"]["message"], detail, "{seed}");
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "reset", "arguments": body}});
        let mcp = ws_ask(addr, &json!({"type": "mcp", "data": call})).await;
        let result = &mcp["data"]["result"];
        assert_eq!(result["isError"], true, "{seed}: {mcp}");
        assert_eq!(result["structuredContent"]["detail"], detail, "{seed}");
    }
    assert_eq!(get(addr, "/state").await.json().to_string(), before);
    for seed in [json!(-5), json!("-5")] {
        let body = json!({"task_id": "hard_task", "seed": seed});
        let reset = post_json(addr, "/reset", &body).await;
        assert_eq!(reset.status, 200, "{seed}");
        assert_eq!(get(addr, "/state").await.json()["seed"], -5);
    }
    let zero = json!({"task_id": "gen_hard", "seed": "-0"});
    assert_eq!(post_json(addr, "/reset", &zero).await.status, 200);
    server.shutdown().await;
}

/// The JSON nesting limit `host/SERVER.md`'s limits table states.
fn documented_nesting_levels() -> usize {
    let doc = include_str!("../../host/SERVER.md");
    let row = doc
        .lines()
        .find(|line| line.starts_with("| JSON nesting |"))
        .expect("SERVER.md has a JSON nesting row");
    let figure = row.split('|').nth(2).unwrap_or_default().trim();
    figure
        .split_whitespace()
        .next()
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no number in {row:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_nesting_limit_is_the_enforced_one() {
    // Goal: a body nested exactly as deep as SERVER.md says is read as JSON (then refused
    // for its shape), one level deeper is `json_invalid`; counted with the outer object.
    let server = start().await;
    let addr = server.local_addr();
    let levels = documented_nesting_levels();
    assert_eq!(levels, incident_api::constants::JSON_NESTING_MAX);
    let kind = |reply: support::Reply| reply.json()["detail"][0]["type"].clone();
    let at_limit = post_raw(addr, "/step", &nested(levels - 1)).await;
    assert_eq!(at_limit.status, 422);
    assert_ne!(kind(at_limit), "json_invalid", "{levels} levels");
    let over = post_raw(addr, "/step", &nested(levels)).await;
    assert_eq!(kind(over), "json_invalid", "{} levels", levels + 1);
    server.shutdown().await;
}
