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

const NOTEBOOK: &str = "https://notebook.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_origins_get_cors_preflights_and_headers() {
    // Goal: with --allowed-origin, a browser on that origin can write: the OPTIONS
    // preflight its JSON POST needs gets 204 with Access-Control-Allow-* (the origin, the
    // methods, Content-Type and Mcp-Session-Id), and the real responses carry the origin
    // and expose Mcp-Session-Id. A foreign origin's preflight is refused (403, no CORS
    // header) and its responses carry none.
    let mut config = Config::local();
    config.allowed_origins = vec![NOTEBOOK.to_owned()];
    let server = start_with(config).await;
    let addr = server.local_addr();
    for path in ["/reset", "/step", "/mcp"] {
        let preflight = [
            ("Origin", NOTEBOOK),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type,mcp-session-id",
            ),
        ];
        let reply = request(addr, "OPTIONS", path, &preflight, None).await;
        assert_eq!(reply.status, 204, "{path}");
        assert_eq!(reply.header("access-control-allow-origin"), Some(NOTEBOOK));
        let methods = reply
            .header("access-control-allow-methods")
            .unwrap_or_default();
        assert!(methods.contains("POST"), "{methods}");
        let allowed = reply
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for header in ["content-type", "mcp-session-id"] {
            assert!(allowed.contains(header), "{path}: {allowed}");
        }
        assert!(reply.header("vary").unwrap_or_default().contains("Origin"));
        let foreign = [
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ];
        let refused = request(addr, "OPTIONS", path, &foreign, None).await;
        assert_eq!(refused.status, 403, "{path}");
        assert_eq!(refused.header("access-control-allow-origin"), None);
    }
    let headers = [("Origin", NOTEBOOK), ("Content-Type", "application/json")];
    let reset = request(addr, "POST", "/reset", &headers, Some(RESET)).await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.header("access-control-allow-origin"), Some(NOTEBOOK));
    let init = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    let mcp = request(addr, "POST", "/mcp", &headers, Some(init)).await;
    assert_eq!(mcp.status, 200);
    let exposed = mcp
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(
        exposed.to_ascii_lowercase().contains("mcp-session-id"),
        "{exposed}"
    );
    let read = request(
        addr,
        "GET",
        "/state",
        &[("Origin", "http://evil.example")],
        None,
    )
    .await;
    assert_eq!(read.header("access-control-allow-origin"), None);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebound_host_name_is_refused_on_loopback() {
    // Goal: DNS rebinding: a page on evil.example whose name now points at 127.0.0.1
    // sends Host evil.example with a matching Origin; on a loopback connection only IP
    // literals, localhost names and --allowed-host names are this server, so it is
    // refused (reads and writes) and the episode is unchanged.
    let mut config = Config::local();
    config.allowed_hosts = vec!["incident.internal".to_owned()];
    let server = start_with(config).await;
    let addr = server.local_addr();
    let before = state(addr).await;
    let port = addr.port();
    let rebound = format!("evil.example:{port}");
    let origin = format!("http://{rebound}");
    let headers = [
        ("Host", rebound.as_str()),
        ("Origin", origin.as_str()),
        ("Content-Type", "application/json"),
    ];
    let reset = raw_with_host(addr, "POST", "/reset", &headers, RESET).await;
    assert_eq!(reset.status, 403);
    let detail = reset.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("--allowed-host"), "{detail}");
    let read = raw_with_host(addr, "GET", "/state", &headers[..1], b"").await;
    assert_eq!(read.status, 403);
    assert_eq!(state(addr).await, before);
    for host in [
        format!("localhost:{port}"),
        format!("LOCALHOST.:{port}"),
        format!("app.localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("incident.internal:{port}"),
        "localhost".to_owned(),
    ] {
        let reply = raw_with_host(addr, "GET", "/health", &[("Host", host.as_str())], b"").await;
        assert_eq!(reply.status, 200, "{host}");
    }
    server.shutdown().await;
}

/// Send one request with exactly these headers (`Host` among them) and parse the answer.
async fn raw_with_host(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> support::Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    support::parse_reply(&support::raw(addr, &bytes).await).expect("a response")
}
