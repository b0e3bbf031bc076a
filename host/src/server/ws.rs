//! OpenEnv WebSocket sessions (`GET /ws`): one [`Session`] per connection, the transport
//! around [`incident_api::openenv`] (which answers each message). Framing, pings and the
//! close handshake are
//! tokio-tungstenite's; messages and frames over [`FRAME_BYTES_MAX`] are refused
//! (the connection is closed with 1009), protocol errors close with 1002 and text that is
//! not UTF-8 with 1007. What waits to be written is capped
//! ([`WS_WRITE_BUFFER_BYTES_MAX`]); a peer that does not take a reply or a pong
//! within the write timeout is dropped, and until it takes it nothing more is read from it.
//! A session without a data message for the idle timeout (pings and pongs do not count) is
//! closed with 1001; so is every session when the server shuts down.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::header::{
    CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::peers::PeerSlot;
use super::respond::{HttpResponse, detail};
use super::{Peer, Shared};
use crate::constants::{
    FRAME_BYTES_MAX, WS_CLOSE_REASON_BYTES_MAX, WS_CLOSE_WAIT, WS_READ_BUFFER_BYTES,
    WS_WRITE_BUFFER_BYTES_MAX,
};
use incident_api::Session;
use incident_api::openenv::{self, Answer, Unless, error_frame};

fn header_has<B>(request: &Request<B>, name: hyper::header::HeaderName, token: &str) -> bool {
    request.headers().get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// Answer `GET /ws`: 101 and a spawned session task (or, at `--max-sessions` or the
/// address's `--max-sessions-per-peer`, a spawned refusal), 400 for a non-WebSocket
/// request, 503 when [`crate::constants::WS_REFUSALS_MAX`] refusals are already in progress.
pub fn upgrade<B>(mut request: Request<B>, shared: &Arc<Shared>) -> HttpResponse
where
    B: Send + 'static,
{
    let Some(key) = upgrade_key(&request) else {
        return detail(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket upgrade (OpenEnv session protocol)",
        );
    };
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |peer| peer.remote);
    let admitted = match admit(shared, peer) {
        Ok(admitted) => Ok(admitted),
        Err(full) => match shared.ws_refusals.clone().try_acquire_owned() {
            Ok(refusal) => Err((refusal, full)),
            Err(_) => {
                return detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &at_capacity(shared, full, peer),
                );
            }
        },
    };
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut request);
    let shared = shared.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let socket = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(socket_config()),
        )
        .await;
        match admitted {
            Ok(admitted) => run(socket, admitted, &shared).await,
            Err((_refusal, full)) => refuse(socket, full, peer, &shared).await,
        }
    });
    switching_protocols(&accept)
}

/// The `Sec-WebSocket-Key` of a WebSocket (version 13) upgrade request; `None` for any
/// other request.
fn upgrade_key<B>(request: &Request<B>) -> Option<HeaderValue> {
    let key = request.headers().get(SEC_WEBSOCKET_KEY).cloned();
    let is_upgrade = header_has(request, CONNECTION, "upgrade")
        && header_has(request, UPGRADE, "websocket")
        && request
            .headers()
            .get(SEC_WEBSOCKET_VERSION)
            .is_some_and(|version| version == "13");
    key.filter(|_| is_upgrade)
}

/// The 101 response that accepts an upgrade (`accept`: the derived `Sec-WebSocket-Accept`).
fn switching_protocols(accept: &str) -> HttpResponse {
    let mut response = Response::new(http_body_util::Full::new(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The bounds of one WebSocket connection: messages and frames in and out are capped at
/// [`FRAME_BYTES_MAX`]; frames are written as soon as they are sent (no write batching);
/// what waits to be written (replies, pongs, a close) is capped at
/// [`WS_WRITE_BUFFER_BYTES_MAX`], so a peer that never reads cannot grow it.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_WRITE_BUFFER_BYTES_MAX)
        .max_message_size(Some(FRAME_BYTES_MAX))
        .max_frame_size(Some(FRAME_BYTES_MAX))
}

/// What a running session holds: its slot of `--max-sessions` and of its address's
/// `--max-sessions-per-peer` (both freed when the session ends).
struct Admitted {
    _slot: OwnedSemaphorePermit,
    _peer: PeerSlot,
}

/// Which bound refused a session.
#[derive(Clone, Copy, Debug)]
enum Full {
    /// `--max-sessions` sessions are open.
    Table,
    /// The address holds `--max-sessions-per-peer` sessions.
    Peer,
}

/// Take a session slot for `peer`, or say which bound is full.
fn admit(shared: &Shared, peer: IpAddr) -> Result<Admitted, Full> {
    let slot = shared
        .ws_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| Full::Table)?;
    let peer = shared.ws_peers.enter(peer).ok_or(Full::Peer)?;
    Ok(Admitted {
        _slot: slot,
        _peer: peer,
    })
}

/// Why a session is refused at a bound.
fn at_capacity(shared: &Shared, full: Full, peer: IpAddr) -> String {
    match full {
        Full::Table => format!(
            "Server at capacity: {} WebSocket sessions are open",
            shared.config.max_sessions
        ),
        Full::Peer => format!(
            "Too many sessions: this address has {} WebSocket sessions open \
             (--max-sessions-per-peer); close one first",
            shared.ws_peers.held(peer)
        ),
    }
}

/// Send the `CAPACITY_REACHED` frame of a refused session (with the bound's figures),
/// then close.
async fn refuse(mut socket: Socket, full: Full, peer: IpAddr, shared: &Shared) {
    let mut frame = error_frame("CAPACITY_REACHED", &at_capacity(shared, full, peer));
    let data = &mut frame["data"];
    match full {
        Full::Table => {
            data["active_sessions"] = Value::from(shared.active_sessions());
            data["max_sessions"] = Value::from(shared.config.max_sessions);
        }
        Full::Peer => {
            data["peer_sessions"] = Value::from(shared.ws_peers.held(peer));
            data["max_sessions_per_peer"] = Value::from(shared.config.max_sessions_per_peer);
        }
    }
    if send(&mut socket, &frame, WS_CLOSE_WAIT).await {
        close(&mut socket, CloseCode::Normal, "").await;
    }
}

/// Send one frame; `false` when the socket failed or the client did not take it in time
/// (a client that never reads must not hold its session slot forever).
async fn send(socket: &mut Socket, frame: &Value, within: Duration) -> bool {
    send_text(socket, frame.to_string(), within).await
}

/// Send one text frame (see [`send`]); a reply over [`FRAME_BYTES_MAX`] is not sent:
/// the session is closed with 1009 (message too big) instead.
async fn send_text<S>(socket: &mut WebSocketStream<S>, text: String, within: Duration) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if text.len() > FRAME_BYTES_MAX {
        close(socket, CloseCode::Size, "reply larger than 1 MiB").await;
        return false;
    }
    matches!(
        bounded(within, socket.send(Message::text(text))).await,
        Some(Ok(()))
    )
}

/// Run `work` to its end within `limit` (`None` past it). It is polled once before a
/// timer is armed: a socket almost always takes a reply at once, and arming and dropping
/// a timer per message was measurable on the step path.
async fn bounded<F: Future>(limit: Duration, work: F) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    let first = std::future::poll_fn(|context| Poll::Ready(work.as_mut().poll(context))).await;
    match first {
        Poll::Ready(output) => Some(output),
        Poll::Pending => tokio::time::timeout(limit, work).await.ok(),
    }
}

async fn close<S>(socket: &mut WebSocketStream<S>, code: CloseCode, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if let Ok(Ok(())) = tokio::time::timeout(WS_CLOSE_WAIT, socket.close(Some(frame))).await {
        // Read until the client's close reply so the handshake completes cleanly.
        let wait = async { while let Some(Ok(_)) = socket.next().await {} };
        let _ = tokio::time::timeout(WS_CLOSE_WAIT, wait).await;
    }
}

/// Serve one session: answer each data message until the peer leaves, a read fails, the
/// session is idle too long or the server shuts down.
async fn run(mut socket: Socket, _admitted: Admitted, shared: &Shared) {
    let mut session = Session::new().with_sealed(shared.config.sealed);
    let mut shutdown = shared.shutdown.clone();
    let idle = shared.config.session_idle_timeout;
    let stall = shared.config.write_timeout;
    // One shutdown waiter and one idle timer for the whole session, not one of each per
    // message: the timer is re-armed only when it fires early (the session was active).
    let shutdown_signal = shutdown.changed();
    tokio::pin!(shutdown_signal);
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    // Only data messages are activity: a peer that only pings or pongs is idle.
    let mut active_at = Instant::now();
    loop {
        let next = next_message(
            &mut socket,
            idle_timer.as_mut(),
            shutdown_signal.as_mut(),
            active_at + idle,
        );
        let message = match next.await {
            None => return,
            Some(Err(error)) => return fail(&mut socket, &error).await,
            Some(Ok(message)) => message,
        };
        let text = match incoming(&message) {
            Incoming::Text(text) => text,
            Incoming::NotUtf8 => {
                active_at = Instant::now();
                if !send(&mut socket, &not_utf8(), stall).await {
                    return;
                }
                continue;
            }
            // tungstenite has queued the pong: write it before reading on, so a peer that
            // pings without reading is held back by TCP and dropped after the write timeout.
            Incoming::Ping => {
                if !flush(&mut socket, stall).await {
                    return;
                }
                continue;
            }
            Incoming::Control => continue,
        };
        active_at = Instant::now();
        let answer = match openenv::answer_unless_mcp(&mut session, text) {
            Unless::Answered(answer) => answer,
            Unless::Mcp(request) => match answer_mcp(session, request, shared).await {
                Some((back, answer)) => {
                    session = back;
                    answer
                }
                None => return,
            },
        };
        if !reply(&mut socket, answer, stall).await {
            return;
        }
    }
}

/// The next message from the peer; `None` when the stream ended, or when the session was
/// idle past `idle_due` (`idle_timer` fired then) or `shutdown_signal` fired (then
/// closed with 1001).
async fn next_message<F: Future>(
    socket: &mut Socket,
    mut idle_timer: Pin<&mut Sleep>,
    mut shutdown_signal: Pin<&mut F>,
    idle_due: Instant,
) -> Option<Result<Message, WsError>> {
    loop {
        return tokio::select! {
            // The socket first: when a message is waiting, the idle timer and the
            // shutdown watch are not polled at all (they are whenever it has nothing).
            biased;
            next = socket.next() => next,
            () = &mut idle_timer => {
                if Instant::now() < idle_due {
                    idle_timer.as_mut().reset(idle_due);
                    continue;
                }
                close(socket, CloseCode::Away, "session idle timeout").await;
                None
            }
            _ = &mut shutdown_signal => {
                close(socket, CloseCode::Away, "server shutting down").await;
                None
            }
        };
    }
}

/// What a message asks of the session loop.
enum Incoming<'m> {
    /// Text to answer (a text message, or a binary one that is UTF-8).
    Text(&'m str),
    /// A binary message that is not UTF-8 (answered with `INVALID_JSON`).
    NotUtf8,
    /// A ping, whose pong tungstenite has queued.
    Ping,
    /// A pong (ignored) or a close (echoed by tungstenite, which then ends the stream).
    Control,
}

/// The `INVALID_JSON` frame answering a binary message that is not UTF-8.
fn not_utf8() -> Value {
    error_frame("INVALID_JSON", "Invalid JSON: not UTF-8 text")
}

/// Sort a message for the session loop.
fn incoming(message: &Message) -> Incoming<'_> {
    match message {
        Message::Text(text) => Incoming::Text(text.as_str()),
        Message::Binary(bytes) => {
            std::str::from_utf8(bytes).map_or(Incoming::NotUtf8, Incoming::Text)
        }
        Message::Ping(_) => Incoming::Ping,
        _ => Incoming::Control,
    }
}

/// Send an answer's frame, or close for a `close` message; `false` when the session ends.
async fn reply(socket: &mut Socket, answer: Answer, stall: Duration) -> bool {
    match answer {
        Answer::Frame(frame) => send_text(socket, frame, stall).await,
        Answer::Close => {
            close(socket, CloseCode::Normal, "").await;
            false
        }
    }
}

/// Answer an `mcp` message off the I/O threads ([`super::mcp::off_thread`]), the session
/// moved there and back; `None` if that failed (the session is then ended).
async fn answer_mcp(
    mut session: Session,
    request: String,
    shared: &Shared,
) -> Option<(Session, Answer)> {
    super::mcp::off_thread(shared, move || {
        let answer = openenv::answer_mcp(&mut session, &request);
        (session, answer)
    })
    .await
}

/// Write what is queued (a pong); `false` when the peer did not take it in time.
async fn flush(socket: &mut Socket, within: Duration) -> bool {
    matches!(bounded(within, socket.flush()).await, Some(Ok(())))
}

/// End a session after a read error: close with the code RFC 6455 gives it (1009 too
/// big, 1002 protocol error, 1007 invalid UTF-8), or just drop a broken connection.
async fn fail(socket: &mut Socket, error: &WsError) {
    match error {
        WsError::Capacity(_) => {
            close(socket, CloseCode::Size, "message larger than 1 MiB").await;
        }
        WsError::Protocol(problem) => {
            let reason = problem.to_string();
            close(socket, CloseCode::Protocol, truncated(&reason)).await;
        }
        WsError::Utf8(_) => {
            close(socket, CloseCode::Invalid, "text frame is not valid UTF-8").await;
        }
        _ => {}
    }
}

/// Cut a close reason to the [`WS_CLOSE_REASON_BYTES_MAX`] bytes a close frame has room
/// for, on a char boundary.
fn truncated(reason: &str) -> &str {
    let mut end = reason.len().min(WS_CLOSE_REASON_BYTES_MAX);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reply_over_the_frame_limit_closes_with_1009() {
        // Goal: a text frame over FRAME_BYTES_MAX is never sent: the peer gets close 1009
        // (as SERVER.md promises) rather than a dropped connection.
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let mut server =
            WebSocketStream::from_raw_socket(ours, Role::Server, Some(socket_config())).await;
        let mut client = WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
        let reply = "x".repeat(FRAME_BYTES_MAX + 1);
        let sending =
            tokio::spawn(async move { send_text(&mut server, reply, WS_CLOSE_WAIT).await });
        let first = client.next().await;
        let Some(Ok(Message::Close(Some(frame)))) = first else {
            let length = first.map(|message| message.map(|m| m.len()));
            panic!("expected a close frame, got a message of length {length:?}");
        };
        assert_eq!(frame.code, CloseCode::Size);
        while client.next().await.is_some() {}
        assert!(!sending.await.unwrap(), "the reply counted as sent");
    }
}
