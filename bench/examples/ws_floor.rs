//! The machine's floor for `ws_load`: a WebSocket server on the same stack as
//! `incident-env serve` (tokio's multi-threaded runtime with its defaults, hyper's http1
//! upgrade, tokio-tungstenite with the server's socket settings) that does no work of its
//! own. Not part of the server; a bench tool.
//!
//! ```text
//! cargo build --release -p incident-bench --example ws_floor
//! target/release/examples/ws_floor --port 18083 [--runtime multi|current] [--stack hyper|plain]
//! ws_load --port 18083 --server-pid PID ...     # the same load and CPU accounting as ours
//! ```
//!
//! Every reply is bytes rendered once at start by `incident-api` for the load's own
//! episode (`easy_task`, `list_services` until done), so the load tool sees the same
//! frames, sizes and resets as from our server: the server's CPU per message measured
//! against this is what the machine (kernel, tokio, hyper, tungstenite) costs before any
//! code of ours runs. `--stack plain` skips hyper (tungstenite's own handshake on the TCP
//! stream); `--runtime current` is tokio's single-threaded runtime.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use incident_api::Session;
use incident_api::openenv::{Answer, answer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The options.
#[derive(clap::Parser, Debug)]
struct Options {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 18083)]
    port: u16,
    /// Tokio runtime: `multi` (as `incident-env serve`) or `current` (one thread).
    #[arg(long, default_value = "multi")]
    runtime: String,
    /// `hyper` (the upgrade path of `incident-env serve`) or `plain` (tungstenite alone).
    #[arg(long, default_value = "hyper")]
    stack: String,
}

/// The replies of one episode as the load tool plays it: the reset's, then each step's
/// until the one that ends it.
fn episode_frames() -> Vec<Utf8Bytes> {
    let mut session = Session::new();
    let mut frames = Vec::new();
    let mut text = r#"{"type":"reset","data":{"task_id":"easy_task","seed":1}}"#;
    loop {
        let Answer::Frame(frame) = answer(&mut session, text) else {
            unreachable!("reset and step always answer with a frame")
        };
        let done = frame.contains(r#""done":true"#);
        frames.push(Utf8Bytes::from(frame));
        if done || frames.len() > 1000 {
            return frames;
        }
        text = r#"{"type":"step","data":{"action_type":"list_services"}}"#;
    }
}

/// The same socket bounds as the server's (`host/src/server/ws.rs`).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size((1 << 20) + 4096)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// Answer every data message with the next frame of the episode (the reset's after a reset).
async fn session<S>(mut socket: WebSocketStream<S>, frames: Arc<Vec<Utf8Bytes>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut next = 0;
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if text.as_str().starts_with(r#"{"type":"reset""#) {
            next = 0;
        }
        let frame = frames[next.min(frames.len() - 1)].clone();
        next += 1;
        if socket.send(Message::Text(frame)).await.is_err() {
            return;
        }
    }
}

/// Answer `GET /ws` with 101 and run the session on the upgraded connection.
fn upgrade(mut request: Request<Incoming>, frames: Arc<Vec<Utf8Bytes>>) -> Response<String> {
    let mut response = Response::new(String::new());
    let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let io = TokioIo::new(upgraded);
            let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(socket_config()));
            session(socket.await, frames).await;
        }
    });
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

async fn serve(options: Options) -> std::io::Result<()> {
    let frames = Arc::new(episode_frames());
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port))).await?;
    eprintln!(
        "ws_floor: listening on {} ({} runtime, {} stack, {} frames per episode)",
        listener.local_addr()?,
        options.runtime,
        options.stack,
        frames.len()
    );
    let plain = options.stack == "plain";
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let frames = frames.clone();
        tokio::spawn(async move {
            if plain {
                let config = Some(socket_config());
                if let Ok(socket) =
                    tokio_tungstenite::accept_async_with_config(stream, config).await
                {
                    session(socket, frames).await;
                }
                return;
            }
            let service = hyper::service::service_fn(move |request| {
                let frames = frames.clone();
                async move { Ok::<_, std::convert::Infallible>(upgrade(request, frames)) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let _ = connection.await;
        });
    }
}

fn main() -> std::io::Result<()> {
    let options = <Options as clap::Parser>::parse();
    let mut builder = if options.runtime == "current" {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()?.block_on(serve(options))
}
