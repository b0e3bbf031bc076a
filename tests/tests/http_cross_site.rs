//! No cross-site writes: what a web page on another site can send without a CORS
//! preflight (`text/plain` and form bodies, any body with a foreign `Origin`, a WebSocket
//! from a foreign page) is refused on /reset, /step, /mcp and /ws, and leaves the episode
//! as it was; the server's own origin, allowed origins and non-browser clients pass.

mod support;

use incident_host::server::Config;
use serde_json::Value;
use support::{get, request, start, start_with};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, client_async};

const STEP: &[u8] = br#"{"action_type": "list_services"}"#;
const RESET: &[u8] = br#"{"task_id": "hard_task", "seed": 3}"#;

/// `/state` without the random episode id.
async fn state(addr: std::net::SocketAddr) -> Value {
    get(addr, "/state").await.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_cross_site_requests_change_nothing() {
    // Goal: every body a page can send cross-site without a preflight gets 415 (or 403
    // with a foreign Origin) with a JSON detail, and the state stays byte for byte the same.
    let server = start().await;
    let addr = server.local_addr();
    let before = state(addr).await;
    let foreign = [("Origin", "http://evil.example")];
    for path in ["/reset", "/step", "/mcp"] {
        let body = if path == "/reset" { RESET } else { STEP };
        for content_type in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let headers = [("Content-Type", content_type)];
            let reply = request(addr, "POST", path, &headers, Some(body)).await;
            assert_eq!(reply.status, 415, "{path} {content_type}");
            assert!(reply.json()["detail"].is_string(), "{path} {content_type}");
        }
        // A foreign page, even with a JSON type (which would need a preflight) or none.
        for headers in [
            vec![foreign[0], ("Content-Type", "application/json")],
            vec![foreign[0], ("Content-Type", "text/plain")],
            vec![foreign[0]],
            vec![("Origin", "null"), ("Content-Type", "application/json")],
        ] {
            let reply = request(addr, "POST", path, &headers, Some(body)).await;
            assert_eq!(reply.status, 403, "{path} {headers:?}");
            assert!(reply.json()["detail"].is_string());
        }
    }
    assert_eq!(
        state(addr).await,
        before,
        "a refused request changed the state"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_and_allowed_origins_and_plain_clients_pass() {
    // Goal: no Origin (curl, Python), the server's own origin, an allowed origin, a JSON
    // body without a Content-Type (FastAPI reads it as JSON) and `+json` types all step.
    let mut config = Config::local();
    config.allowed_origins = vec!["https://notebook.example".to_owned()];
    let server = start_with(config).await;
    let addr = server.local_addr();
    let own = format!("http://{addr}");
    let cases: [Vec<(&str, &str)>; 5] = [
        vec![("Content-Type", "application/json")],
        vec![],
        vec![(
            "Content-Type",
            "application/merge-patch+json; charset=utf-8",
        )],
        vec![
            ("Origin", own.as_str()),
            ("Content-Type", "application/json"),
        ],
        vec![
            ("Origin", "https://notebook.example"),
            ("Content-Type", "application/json"),
        ],
    ];
    let mut steps = 0;
    for headers in &cases {
        let reply = request(addr, "POST", "/step", headers, Some(STEP)).await;
        assert_eq!(reply.status, 200, "{headers:?}");
        steps += 1;
        assert_eq!(state(addr).await["step_count"], steps);
    }
    // Reads are not guarded: a page may read /state (CORS still hides the answer from it).
    let headers = [("Origin", "http://evil.example")];
    assert_eq!(
        request(addr, "GET", "/state", &headers, None).await.status,
        200
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_from_foreign_pages_are_refused() {
    // Goal: a WebSocket handshake with a foreign Origin gets 403 (no session); the
    // server's own origin and clients without an Origin get 101.
    let server = start().await;
    let addr = server.local_addr();
    let handshake = |origin: Option<String>| async move {
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        if let Some(origin) = origin {
            let value = HeaderValue::from_str(&origin).unwrap();
            request.headers_mut().insert("Origin", value);
        }
        let stream = TcpStream::connect(addr).await.unwrap();
        match client_async(request, MaybeTlsStream::Plain(stream)).await {
            Ok((_, response)) => response.status().as_u16(),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(other) => panic!("handshake failed: {other}"),
        }
    };
    assert_eq!(handshake(Some("http://evil.example".to_owned())).await, 403);
    assert_eq!(handshake(Some(format!("http://{addr}"))).await, 101);
    assert_eq!(handshake(None).await, 101);
    server.shutdown().await;
}
