//! What the WebSocket load tools (`ws_load`, `ws_burst`) share: the options both take,
//! opening an OpenEnv session over loopback, one request and its reply, a runtime, and the
//! server's CPU time and memory from `/proc`.
//!
//! Sessions are spread over loopback source addresses ([`SESSIONS_PER_SOURCE`] each).
//! Every connection from one source address to the server's one port needs an ephemeral
//! port of its own, and Linux finds it by a linear search (`__inet_hash_connect`): 16,384
//! connections from 127.0.0.1 spent 13 s of the tool's kernel time in that search (`perf
//! record` on `ws_burst`: 67% of its samples), and while its one thread sat in `connect`
//! the sockets it had already connected could not send their upgrade requests, so the
//! server's 10 s header timeout closed about 4,000 of them ("Handshake not finished").
//! All of 127.0.0.0/8 is loopback, so each session binds an address of its group there
//! first and each search stays short.

use std::net::{Ipv4Addr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Sessions that share one loopback source address (see the module docs).
pub const SESSIONS_PER_SOURCE: usize = 1024;

const _: () = assert!(
    SESSIONS_PER_SOURCE <= incident_host::constants::MAX_SESSIONS_PER_PEER_DEFAULT,
    "one source address stays within the server's per-address session bound"
);

/// The first loopback source address; session `i` binds this plus `i / SESSIONS_PER_SOURCE`.
pub const SOURCE_BASE: Ipv4Addr = Ipv4Addr::new(127, 1, 0, 1);

/// A client's OpenEnv WebSocket.
pub type Socket = WebSocketStream<TcpStream>;

/// The options every WebSocket tool takes.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct Common {
    /// The server's port on 127.0.0.1 (loopback only).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The server's process id: also report its CPU time and memory (from `/proc`).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print one JSON line instead of text.
    #[arg(long)]
    pub json: bool,
    /// The tool's own worker threads.
    #[arg(long, default_value_t = 1, value_parser = positive)]
    pub threads: usize,
}

/// Parse a positive count (a `clap` value parser).
///
/// # Errors
/// The text is not a whole number above zero.
pub fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be positive".into()),
        Ok(count) => Ok(count),
        Err(error) => Err(error.to_string()),
    }
}

/// Return the loopback source address of session `index`.
#[must_use]
pub fn source_addr(index: usize) -> Ipv4Addr {
    let group = u32::try_from(index / SESSIONS_PER_SOURCE).unwrap_or(u32::MAX);
    Ipv4Addr::from(u32::from(SOURCE_BASE).saturating_add(group))
}

/// Open session `index`: a TCP connection from [`source_addr`] to `127.0.0.1:port` (no
/// Nagle), then the WebSocket handshake on `/ws`. Tungstenite zero-fills its whole read
/// buffer before every read, so the tools pass a small `read_buffer_bytes`.
///
/// # Errors
/// The connection or the handshake failed (the error's text).
pub async fn connect(port: u16, index: usize, read_buffer_bytes: usize) -> Result<Socket, String> {
    let text = |error: std::io::Error| error.to_string();
    let socket = TcpSocket::new_v4().map_err(text)?;
    socket
        .bind(SocketAddr::from((source_addr(index), 0)))
        .map_err(text)?;
    let stream = socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(text)?;
    stream.set_nodelay(true).map_err(text)?;
    let config = WebSocketConfig::default().read_buffer_size(read_buffer_bytes);
    let url = format!("ws://127.0.0.1:{port}/ws");
    tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map(|(socket, _)| socket)
        .map_err(|error| error.to_string())
}

/// Send one text message and return the next text reply (pings and pongs skipped).
///
/// # Errors
/// The socket failed or closed, or the reply was not a text frame.
pub async fn request(socket: &mut Socket, text: &str) -> Result<Utf8Bytes, String> {
    socket
        .send(Message::text(text))
        .await
        .map_err(|error| error.to_string())?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(reply))) => return Ok(reply),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => return Err(format!("unexpected frame {other:?}")),
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("connection closed".into()),
        }
    }
}

/// Build a multi-threaded tokio runtime with `threads` workers.
///
/// # Errors
/// The runtime could not start (the error's text).
pub fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
}

/// Return the nanoseconds a process has been on a CPU, summed over its threads
/// (`/proc/PID/task/*/schedstat`; `None` without a pid or a readable `/proc`).
#[must_use]
pub fn cpu_ns(pid: Option<u32>) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", pid?)).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Return a process's resident set in KiB (`/proc/PID/status`; `None` without a pid).
#[must_use]
pub fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_spread_over_loopback_sources() {
        // Goal: each group of SESSIONS_PER_SOURCE sessions has its own loopback address.
        assert_eq!(source_addr(0), SOURCE_BASE);
        assert_eq!(source_addr(SESSIONS_PER_SOURCE - 1), SOURCE_BASE);
        assert_eq!(
            source_addr(SESSIONS_PER_SOURCE),
            Ipv4Addr::new(127, 1, 0, 2)
        );
        assert!(source_addr(16_383).is_loopback());
    }
}
