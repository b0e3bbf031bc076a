//! OpenEnv WebSocket sessions over a real socket: isolation, capacity, limits, error frames.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use incident_host::server::Config;
use incident_tests::raw_ws;
use serde_json::{Value, json};
use support::{start, start_with};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr) -> Client {
    connect_from(Ipv4Addr::LOCALHOST, addr).await
}

/// Open a session from the loopback address `source` (any of 127.0.0.0/8 on Linux).
async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (client, response) = client_async(format!("ws://{addr}/ws"), MaybeTlsStream::Plain(stream))
        .await
        .expect("WebSocket handshake");
    assert_eq!(response.status(), 101);
    client
}

/// Read the next text frame as JSON (pings and pongs skipped); `None` when closed.
async fn next_json(client: &mut Client) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("reply in time")?;
        match message.ok()? {
            Message::Text(text) => return Some(serde_json::from_str(text.as_str()).unwrap()),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Connect and ask for the state; `true` when a session answered (not refused or closed).
async fn session_answers(addr: SocketAddr) -> bool {
    session_answers_from(Ipv4Addr::LOCALHOST, addr).await
}

/// [`session_answers`] from the loopback address `source`.
async fn session_answers_from(source: Ipv4Addr, addr: SocketAddr) -> bool {
    let mut client = connect_from(source, addr).await;
    if client
        .send(Message::text(r#"{"type":"state"}"#))
        .await
        .is_err()
    {
        return false;
    }
    next_json(&mut client)
        .await
        .is_some_and(|reply| reply["type"] == "state")
}

async fn ask(client: &mut Client, message: Value) -> Value {
    client
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
    next_json(client).await.expect("a reply frame")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_are_isolated() {
    // Goal: 24 sessions at once, each on its own task, seed and episode id, step their own
    // episode; every state echoes its episode_id and exact step_count; rewards are numbers
    // in [0, 1] (null on reset); the HTTP default episode is untouched.
    let server = start().await;
    let addr = server.local_addr();
    let http_before = support::get(addr, "/state").await.json()["step_count"].clone();
    let tasks = ["easy_task", "medium_task", "hard_task", "expert_task"];
    let sessions: Vec<_> = (0..24)
        .map(|index| {
            tokio::spawn(async move {
                let mut client = connect(addr).await;
                let episode_id = format!("ep-{index}");
                let task = tasks[index % 4];
                let reset = ask(
                    &mut client,
                    json!({"type": "reset", "data":
                    {"task_id": task, "seed": index, "episode_id": episode_id}}),
                )
                .await;
                assert_eq!(reset["type"], "observation");
                assert_eq!(reset["data"]["reward"], Value::Null);
                assert_eq!(reset["data"]["done"], false);
                let steps = index % 5 + 1;
                for _ in 0..steps {
                    let step = ask(
                        &mut client,
                        json!({"type": "step",
                        "data": {"action_type": "read_logs", "service": "database"}}),
                    )
                    .await;
                    let reward = step["data"]["reward"].as_f64().expect("numeric reward");
                    assert!((0.0..=1.0).contains(&reward));
                    tokio::task::yield_now().await;
                }
                let state = ask(&mut client, json!({"type": "state"})).await;
                assert_eq!(state["type"], "state");
                assert_eq!(state["data"]["episode_id"], episode_id.as_str());
                assert_eq!(state["data"]["step_count"], steps);
                assert_eq!(state["data"]["task_id"], task);
                assert_eq!(state["data"]["seed"], index);
                client
                    .send(Message::text(r#"{"type":"close"}"#))
                    .await
                    .unwrap();
                assert!(
                    next_json(&mut client).await.is_none(),
                    "close gets no reply"
                );
            })
        })
        .collect();
    for session in sessions {
        session.await.unwrap();
    }
    assert_eq!(
        support::get(addr, "/state").await.json()["step_count"],
        http_before
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_frames_keep_the_session_open() {
    // Goal: invalid JSON, unknown types, bad actions and bad resets answer error frames with
    // the protocol's codes, and the session keeps its episode and keeps answering.
    let server = start().await;
    let mut client = connect(server.local_addr()).await;
    ask(
        &mut client,
        json!({"type": "reset", "data": {"task_id": "hard_task", "seed": 7, "episode_id": "e"}}),
    )
    .await;
    ask(
        &mut client,
        json!({"type": "step", "data": {"action_type": "list_services"}}),
    )
    .await;
    let cases = [
        ("not json".to_owned(), "INVALID_JSON"),
        ("{\"type\": ".to_owned(), "INVALID_JSON"),
        (r#"{"type":"nope"}"#.to_owned(), "UNKNOWN_TYPE"),
        (r#"{"data":{}}"#.to_owned(), "VALIDATION_ERROR"),
        ("[1,2]".to_owned(), "VALIDATION_ERROR"),
        (
            r#"{"type":"step","data":{"action_type":"reboot"}}"#.to_owned(),
            "VALIDATION_ERROR",
        ),
        (
            r#"{"type":"step","data":{"bogus":1}}"#.to_owned(),
            "VALIDATION_ERROR",
        ),
        (r#"{"type":"step"}"#.to_owned(), "VALIDATION_ERROR"),
        (
            r#"{"type":"step","data":"read_logs"}"#.to_owned(),
            "VALIDATION_ERROR",
        ),
        (
            r#"{"type":"reset","data":{"seed":"abc"}}"#.to_owned(),
            "VALIDATION_ERROR",
        ),
        (
            r#"{"type":"reset","data":[]}"#.to_owned(),
            "VALIDATION_ERROR",
        ),
        (
            format!(
                r#"{{"type":"reset","data":{{"episode_id":"{}"}}}}"#,
                "x".repeat(300)
            ),
            "VALIDATION_ERROR",
        ),
    ];
    for (text, code) in cases {
        client.send(Message::text(text.clone())).await.unwrap();
        let reply = next_json(&mut client).await.expect("an error frame");
        assert_eq!(reply["type"], "error", "{text}");
        assert_eq!(reply["data"]["code"], code, "{text}");
        assert!(reply["data"]["message"].is_string());
    }
    let state = ask(&mut client, json!({"type": "state"})).await;
    assert_eq!(
        (
            state["data"]["episode_id"].clone(),
            state["data"]["step_count"].clone()
        ),
        (json!("e"), json!(1))
    );
    let mcp = ask(
        &mut client,
        json!({"type": "mcp", "data": {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "read_logs", "arguments": {"service": "database"}}}}),
    )
    .await;
    assert_eq!(mcp["type"], "mcp");
    assert_eq!(
        mcp["data"]["result"]["structuredContent"]["observation"]["step_number"],
        2
    );
    client
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
    server.shutdown().await;
}

/// Open two sessions on `addr`, then a third that must get one frame and a close; return
/// the two open sessions and that frame.
async fn two_sessions_then_a_refusal(addr: SocketAddr) -> (Client, Client, Value) {
    let mut first = connect(addr).await;
    let mut second = connect(addr).await;
    ask(&mut first, json!({"type": "state"})).await;
    ask(&mut second, json!({"type": "state"})).await;
    let mut third = connect(addr).await;
    let refusal = next_json(&mut third).await.expect("a refusal frame");
    assert!(
        next_json(&mut third).await.is_none(),
        "closed after the refusal"
    );
    (first, second, refusal)
}

/// Close `session` and wait (up to 2.5 s) until a new session on `addr` is served again.
async fn close_and_see_the_slot_reused(mut session: Client, addr: SocketAddr) {
    session
        .send(Message::text(r#"{"type":"close"}"#))
        .await
        .unwrap();
    assert!(next_json(&mut session).await.is_none());
    for _ in 0..50 {
        if session_answers(addr).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the freed slot was never reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_is_refused_with_an_error_frame() {
    // Goal: past --max-sessions a connection gets one CAPACITY_REACHED frame (with the
    // counts) and a close; a slot freed by a closed session is usable again.
    let mut config = Config::local();
    config.max_sessions = 2;
    let server = start_with(config).await;
    let addr = server.local_addr();
    let (first, mut second, refusal) = two_sessions_then_a_refusal(addr).await;
    assert_eq!(refusal["type"], "error");
    assert_eq!(refusal["data"]["code"], "CAPACITY_REACHED");
    assert_eq!(refusal["data"]["active_sessions"], 2);
    assert_eq!(refusal["data"]["max_sessions"], 2);
    close_and_see_the_slot_reused(first, addr).await;
    ask(&mut second, json!({"type": "state"})).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_its_share_of_sessions() {
    // Goal: past --max-sessions-per-peer an address's next session gets one
    // CAPACITY_REACHED frame (with its count and the bound) and a close, while another
    // address still opens sessions; closing a session frees its address's slot.
    let mut config = Config::local();
    config.max_sessions_per_peer = 2;
    let server = start_with(config).await;
    let addr = server.local_addr();
    let (first, mut second, refusal) = two_sessions_then_a_refusal(addr).await;
    assert_eq!(refusal["data"]["code"], "CAPACITY_REACHED", "{refusal}");
    assert_eq!(refusal["data"]["peer_sessions"], 2);
    assert_eq!(refusal["data"]["max_sessions_per_peer"], 2);
    let other = Ipv4Addr::new(127, 0, 0, 2);
    let mut elsewhere = connect_from(other, addr).await;
    assert_eq!(
        ask(&mut elsewhere, json!({"type": "state"})).await["type"],
        "state"
    );
    assert!(
        session_answers_from(other, addr).await,
        "another address is counted apart"
    );
    close_and_see_the_slot_reused(first, addr).await;
    ask(&mut second, json!({"type": "state"})).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_close_only_their_session() {
    // Goal: a message over 1 MiB closes that session with 1009 (message too big); other
    // sessions and new connections carry on.
    let server = start().await;
    let addr = server.local_addr();
    let mut bystander = connect(addr).await;
    ask(
        &mut bystander,
        json!({"type": "reset", "data": {"episode_id": "b"}}),
    )
    .await;
    let mut client = connect(addr).await;
    let huge = format!(
        r#"{{"type":"step","data":{{"action_type":"list_services","reasoning":"{}"}}}}"#,
        "x".repeat(1 << 20)
    );
    let _ = client.send(Message::text(huge)).await;
    let mut close_code = None;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(10), client.next()).await
    {
        match message {
            Ok(Message::Close(frame)) => {
                close_code = frame.map(|f| f.code);
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(close_code, Some(CloseCode::Size));
    let state = ask(&mut bystander, json!({"type": "state"})).await;
    assert_eq!(state["data"]["episode_id"], "b");
    let mut fresh = connect(addr).await;
    assert_eq!(
        ask(&mut fresh, json!({"type": "state"})).await["type"],
        "state"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_are_reaped_and_shutdown_closes_sessions() {
    // Goal: a session idle past the timeout is closed (1001) and its slot freed; a server
    // shutdown closes open sessions with 1001 too.
    let mut config = Config::local();
    config.session_idle_timeout = Duration::from_millis(300);
    config.max_sessions = 1;
    let server = start_with(config).await;
    let addr = server.local_addr();
    let mut idle = connect(addr).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.next())
        .await
        .unwrap();
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a close frame, got {other:?}"),
    }
    // Reading on sends our close reply, which completes the handshake and frees the slot.
    while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(5), idle.next()).await {}
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut active = connect(addr).await;
    assert_eq!(
        ask(&mut active, json!({"type": "state"})).await["type"],
        "state"
    );
    let stopping = tokio::spawn(server.shutdown());
    let closed = tokio::time::timeout(Duration::from_secs(5), active.next())
        .await
        .unwrap();
    assert!(
        matches!(closed, Some(Ok(Message::Close(Some(ref f)))) if f.code == CloseCode::Away),
        "{closed:?}"
    );
    drop(active);
    tokio::time::timeout(Duration::from_secs(15), stopping)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_loses_its_slot() {
    // Goal: a session whose client sends requests but never reads the replies is dropped
    // once a reply cannot be delivered within the write timeout, freeing its slot.
    let mut config = Config::local();
    config.write_timeout = Duration::from_millis(500);
    config.max_sessions = 1;
    let server = start_with(config).await;
    let addr = server.local_addr();
    let mut greedy = connect(addr).await;
    let request = Message::text(r#"{"type":"state"}"#);
    for _ in 0..20_000 {
        let sent = tokio::time::timeout(Duration::from_secs(2), greedy.feed(request.clone())).await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), greedy.flush()).await;
    let mut served = false;
    for _ in 0..100 {
        if session_answers(addr).await {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the slot of the non-reading client was never freed");
    drop(greedy);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_at_capacity_are_bounded() {
    // Goal: at --max-sessions, and at an address's --max-sessions-per-peer, refusals in
    // progress (the CAPACITY_REACHED frame and its close handshake, up to a few seconds
    // with a peer that does not answer) are bounded by WS_REFUSALS_MAX together; past it
    // an upgrade gets HTTP 503 and no socket is kept. Another address still gets a
    // session while one address's refusals fill that bound.
    for per_peer in [false, true] {
        let mut config = Config::local();
        if per_peer {
            config.max_sessions_per_peer = 1;
        } else {
            config.max_sessions = 1;
        }
        let server = start_with(config).await;
        let addr = server.local_addr();
        let mut held = connect(addr).await;
        ask(&mut held, json!({"type": "state"})).await;
        let attempts = incident_host::constants::WS_REFUSALS_MAX + 40;
        let mut statuses = Vec::new();
        let mut sockets = Vec::new();
        for _ in 0..attempts {
            let (status, socket) = raw_ws::upgrade(addr).await;
            statuses.push(status);
            sockets.push(socket);
        }
        assert!(
            statuses.iter().all(|s| matches!(s, 101 | 503)),
            "{statuses:?}"
        );
        let upgraded = statuses.iter().filter(|s| **s == 101).count();
        assert!(
            upgraded >= 1,
            "no refusal frame at all (per peer: {per_peer})"
        );
        assert!(
            upgraded < attempts,
            "all {attempts} refusals were upgraded at once (per peer: {per_peer})"
        );
        if per_peer {
            let other = Ipv4Addr::new(127, 0, 0, 2);
            assert!(
                session_answers_from(other, addr).await,
                "another address was refused"
            );
        }
        ask(&mut held, json!({"type": "state"})).await;
        drop(sockets);
        server.shutdown().await;
    }
}
