//! The HTTP + OpenEnv server (`incident-env serve`): bare hyper 1.x (`http1`) on tokio.
//!
//! Bird's-eye view:
//! - [`bind`] binds a listener and spawns the accept loop; every connection runs on its own
//!   task, so a slow or broken client only ever stalls itself.
//! - [`router`] is the one `match (method, path)` listing every route.
//! - The original's HTTP routes act on one shared default [`Session`] behind a mutex that is
//!   held only while the (allocation-light, microsecond) episode call runs, never across I/O.
//! - `GET /ws` upgrades to a WebSocket ([`ws`]): each connection owns its own [`Session`].
//! - Every transport takes the one path of `incident-api`: decode the request into a
//!   [`incident_api::Command`], [`Session::apply`] it, frame the [`incident_api::Reply`]
//!   (JSON-RPC 2.0 for `POST /mcp` and WebSocket `mcp` messages: [`incident_api::mcp`]).
//!   [`schema`] holds `/schema`, `/metadata` and `/openapi.json`.
//!
//! Limits (all in [`Config`], defaults in [`crate::constants`]; `host/SERVER.md` lists
//! each with what happens at it): request bodies are capped at [`BODY_LIMIT_BYTES_DEFAULT`] (413 beyond),
//! headers must arrive within [`HEADER_READ_TIMEOUT_SECS_DEFAULT`] and bodies within
//! [`BODY_READ_TIMEOUT_SECS_DEFAULT`] (408); at most [`CONNECTIONS_MAX_DEFAULT`] HTTP
//! connections are open at once, and at the bound the one waiting longest for its client
//! (idle, or not taking its response) is shed ([`conns`]); an HTTP write blocked for
//! [`WRITE_TIMEOUT_SECS_DEFAULT`] drops its connection; the listen backlog is
//! [`LISTEN_BACKLOG`]. At most [`MAX_SESSIONS_DEFAULT`]
//! WebSocket sessions run at once, [`MAX_SESSIONS_PER_PEER_DEFAULT`] per client address
//! (`CAPACITY_REACHED` beyond, with at most
//! [`WS_REFUSALS_MAX`] refusals in progress: HTTP 503 past them); WebSocket messages are
//! capped at [`crate::constants::FRAME_BYTES_MAX`] and what waits to be written at
//! [`crate::constants::WS_WRITE_BUFFER_BYTES_MAX`]; a peer that does not take a reply or pong within
//! [`WRITE_TIMEOUT_SECS_DEFAULT`] is dropped, and a session without a data message for
//! [`SESSION_IDLE_TIMEOUT_SECS_DEFAULT`] is closed. `serve` raises its file limit to the
//! hard limit and shrinks the connection and session bounds to fit it
//! ([`fit_to_file_limit`]).

pub mod assets;
pub mod browser;
pub mod conns;
pub mod environment;
pub mod mcp;
pub mod peers;
pub mod respond;
pub mod router;
pub mod schema;
pub mod ws;

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Request;
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::constants::{
    ACCEPT_BACKOFF, BODY_LIMIT_BYTES_DEFAULT, BODY_READ_TIMEOUT_SECS_DEFAULT,
    CONNECTIONS_MAX_DEFAULT, FDS_RESERVED, HEAD_BYTES_MAX, HEADER_READ_TIMEOUT_SECS_DEFAULT,
    HOST_DEFAULT, LISTEN_BACKLOG, MAX_SESSIONS_DEFAULT, MAX_SESSIONS_PER_PEER_DEFAULT,
    MCP_WORKERS_MAX, PORT_DEFAULT, SEND_BUFFER_BYTES, SESSION_IDLE_TIMEOUT_SECS_DEFAULT,
    SESSIONS_CLOSE_GRACE, SHUTDOWN_GRACE_SECS, WRITE_TIMEOUT_SECS_DEFAULT, WS_REFUSALS_MAX,
};
use conns::{Connections, Slot};
use incident_api::Session;

/// Options of `incident-env serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = HOST_DEFAULT)]
    pub host: String,
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = PORT_DEFAULT, value_parser = parse_port)]
    pub port: u16,
    /// Hide the answer fields (root causes, required fixes, affected services) from
    /// `/state` and WebSocket state.
    #[arg(long)]
    pub sealed: bool,
    /// Most WebSocket sessions at once (further connections get `CAPACITY_REACHED`), and
    /// most MCP sessions.
    #[arg(long, default_value_t = MAX_SESSIONS_DEFAULT)]
    pub max_sessions: usize,
    /// Most WebSocket sessions, and most MCP sessions, one client address holds (IPv6:
    /// per /64).
    #[arg(long, default_value_t = MAX_SESSIONS_PER_PEER_DEFAULT)]
    pub max_sessions_per_peer: usize,
    /// Close a WebSocket session after this many seconds without a message.
    #[arg(long, default_value_t = SESSION_IDLE_TIMEOUT_SECS_DEFAULT)]
    pub session_idle_timeout_secs: u64,
    /// Largest request body in bytes (413 beyond).
    #[arg(long, default_value_t = BODY_LIMIT_BYTES_DEFAULT)]
    pub body_limit_bytes: usize,
    /// Seconds a client has to send a request's headers.
    #[arg(long, default_value_t = HEADER_READ_TIMEOUT_SECS_DEFAULT)]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body (408 beyond).
    #[arg(long, default_value_t = BODY_READ_TIMEOUT_SECS_DEFAULT)]
    pub body_read_timeout_secs: u64,
    /// Most HTTP connections open at once; at the bound the longest-idle one is shed.
    #[arg(long, default_value_t = CONNECTIONS_MAX_DEFAULT)]
    pub max_connections: usize,
    /// Seconds a write may stay blocked (an HTTP response, a WebSocket reply or pong) before
    /// the peer is dropped.
    #[arg(long, default_value_t = WRITE_TIMEOUT_SECS_DEFAULT)]
    pub write_timeout_secs: u64,
    /// A browser origin (such as `https://notebook.example`) allowed to reset, step, use
    /// MCP and open WebSocket sessions besides the server's own; repeatable, `*` for any.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// A host name (such as `incident.internal`) that names this server in `Host` on a
    /// loopback connection, besides IP addresses and localhost; repeatable.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
}

/// Parse `--port` or `PORT`; the error names both, since clap's does not say which one
/// the bad value came from.
fn parse_port(text: &str) -> Result<u16, String> {
    text.parse().map_err(|_| {
        "expected a port number 0-65535 (from --port or the PORT environment variable)".to_owned()
    })
}

/// The addresses of a request's connection (an extension the server adds to every
/// request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The client's address.
    pub remote: std::net::IpAddr,
    /// The server address the client connected to (loopback: see [`browser::check_host`]).
    pub local: std::net::IpAddr,
}

/// Everything the server needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to bind (port 0 picks a free port).
    pub addr: SocketAddr,
    /// Hide the answer fields from `/state` and WebSocket state.
    pub sealed: bool,
    /// Most WebSocket sessions at once, and most MCP sessions.
    pub max_sessions: usize,
    /// Most WebSocket sessions, and most MCP sessions, one address holds.
    pub max_sessions_per_peer: usize,
    /// Idle time after which a WebSocket session is closed.
    pub session_idle_timeout: Duration,
    /// Largest request body in bytes.
    pub body_limit_bytes: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's body.
    pub body_read_timeout: Duration,
    /// Most HTTP connections open at once.
    pub connections_max: usize,
    /// Time a write may stay blocked before the peer is dropped (HTTP and WebSocket).
    pub write_timeout: Duration,
    /// Browser origins allowed besides the server's own (`*`: any).
    pub allowed_origins: Vec<String>,
    /// Host names that name this server on a loopback connection besides IP addresses
    /// and localhost.
    pub allowed_hosts: Vec<String>,
}

impl Config {
    /// Return the defaults on `127.0.0.1:0` (for tests and local tools).
    #[must_use]
    pub fn local() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            sealed: false,
            max_sessions: MAX_SESSIONS_DEFAULT,
            max_sessions_per_peer: MAX_SESSIONS_PER_PEER_DEFAULT,
            session_idle_timeout: Duration::from_secs(SESSION_IDLE_TIMEOUT_SECS_DEFAULT),
            body_limit_bytes: BODY_LIMIT_BYTES_DEFAULT,
            header_read_timeout: Duration::from_secs(HEADER_READ_TIMEOUT_SECS_DEFAULT),
            body_read_timeout: Duration::from_secs(BODY_READ_TIMEOUT_SECS_DEFAULT),
            connections_max: CONNECTIONS_MAX_DEFAULT,
            write_timeout: Duration::from_secs(WRITE_TIMEOUT_SECS_DEFAULT),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }

    /// Build a configuration from the command line.
    ///
    /// # Errors
    /// The host and port do not resolve to an address.
    pub fn from_args(args: &ServeArgs) -> io::Result<Config> {
        let addr = (args.host.as_str(), args.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::other(format!("{} does not resolve", args.host)))?;
        Ok(Config {
            addr,
            sealed: args.sealed,
            max_sessions: args.max_sessions,
            max_sessions_per_peer: args.max_sessions_per_peer.max(1),
            session_idle_timeout: Duration::from_secs(args.session_idle_timeout_secs.max(1)),
            body_limit_bytes: args.body_limit_bytes,
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
            body_read_timeout: Duration::from_secs(args.body_read_timeout_secs.max(1)),
            connections_max: args.max_connections.max(1),
            write_timeout: Duration::from_secs(args.write_timeout_secs.max(1)),
            allowed_origins: args.allowed_origins.clone(),
            allowed_hosts: args.allowed_hosts.clone(),
        })
    }
}

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// The default episode of the original's HTTP routes.
    session: Mutex<Session>,
    /// One permit per WebSocket session slot.
    pub ws_slots: Arc<Semaphore>,
    /// One permit per WebSocket refusal in progress ([`WS_REFUSALS_MAX`]).
    pub ws_refusals: Arc<Semaphore>,
    /// The WebSocket sessions each address holds (`--max-sessions-per-peer`).
    pub ws_peers: Arc<peers::PeerCounts>,
    /// The MCP sessions of `POST /mcp` (one episode each).
    pub mcp: mcp::McpSessions,
    /// One permit per MCP message being answered ([`MCP_WORKERS_MAX`]).
    pub mcp_workers: Semaphore,
    /// Becomes `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// Create the shared state of a fresh server.
    #[must_use]
    pub fn new(config: Config, shutdown: watch::Receiver<bool>) -> Shared {
        Shared {
            ws_slots: Arc::new(Semaphore::new(config.max_sessions)),
            ws_refusals: Arc::new(Semaphore::new(WS_REFUSALS_MAX)),
            ws_peers: Arc::new(peers::PeerCounts::new(config.max_sessions_per_peer)),
            session: Mutex::new(Session::new().with_sealed(config.sealed)),
            mcp: mcp::McpSessions::new(
                config.max_sessions,
                config.max_sessions_per_peer,
                config.session_idle_timeout,
            ),
            mcp_workers: Semaphore::new(MCP_WORKERS_MAX),
            config,
            shutdown,
        }
    }

    /// Lock the default episode. A panic while locked cannot leave it half-changed
    /// (sessions validate before they mutate), so a poisoned lock is still usable.
    pub fn session(&self) -> MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Return the number of WebSocket sessions running now.
    #[must_use]
    pub fn active_sessions(&self) -> usize {
        self.config
            .max_sessions
            .saturating_sub(self.ws_slots.available_permits())
    }
}

/// A running server: its address and the means to stop it.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept_loop: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Running {
    /// Return the bound address (with the real port when port 0 was asked).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let open requests finish (up to [`SHUTDOWN_GRACE_SECS`]), close
    /// WebSocket sessions with 1001, and wait for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.accept_loop.await;
        // WebSocket sessions run on their own tasks: give their close handshakes a moment.
        let deadline = tokio::time::Instant::now() + SESSIONS_CLOSE_GRACE;
        while self.shared.active_sessions() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Bind `config.addr` and start serving on the current tokio runtime.
///
/// # Errors
/// The address cannot be bound.
pub async fn bind(config: Config) -> io::Result<Running> {
    let listener = listen(config.addr)?;
    let addr = listener.local_addr()?;
    let (shutdown, receiver) = watch::channel(false);
    let shared = Arc::new(Shared::new(config, receiver));
    let accept_loop = tokio::spawn(accept_loop(listener, shared.clone()));
    Ok(Running {
        addr,
        shutdown,
        accept_loop,
        shared,
    })
}

/// Bind with an explicit [`LISTEN_BACKLOG`] (tokio's `bind` asks for 1024).
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(SEND_BUFFER_BYTES)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut connections = JoinSet::new();
    let table = Connections::new(shared.config.connections_max);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &table) => accepted,
            _ = shutdown.changed() => break,
        };
        while connections.try_join_next().is_some() {}
        match accepted {
            Ok((stream, peer, slot)) => {
                connections.spawn(serve_connection(stream, peer, slot, shared.clone()));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
    drop(listener);
    let grace = Duration::from_secs(SHUTDOWN_GRACE_SECS);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        connections.abort_all();
    }
}

/// Accept a connection, then find it a slot (shedding an idle one at the bound).
async fn accept(
    listener: &TcpListener,
    table: &Arc<Connections>,
) -> io::Result<(TcpStream, Peer, Slot)> {
    let (stream, remote) = listener.accept().await?;
    let local = stream.local_addr()?;
    let slot = table.open().await;
    let peer = Peer {
        remote: remote.ip(),
        local: local.ip(),
    };
    Ok((stream, peer, slot))
}

/// A request body that marks its connection busy once it has fully arrived.
struct Tracked {
    inner: Incoming,
    slot: Arc<Slot>,
}

impl hyper::body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        if let Poll::Ready(None) = polled {
            self.slot.busy();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

async fn serve_connection(stream: TcpStream, peer: Peer, slot: Slot, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let slot = Arc::new(slot);
    let mut shutdown = shared.shutdown.clone();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.header_read_timeout)
        .max_header_size(HEAD_BYTES_MAX);
    let service_shared = shared.clone();
    let service_slot = slot.clone();
    let service = service_fn(move |mut request: Request<Incoming>| {
        let shared = service_shared.clone();
        let slot = service_slot.clone();
        request.extensions_mut().insert(peer);
        async move {
            if request.body().is_end_stream() {
                slot.busy();
            }
            let request = request.map(|inner| Tracked {
                inner,
                slot: slot.clone(),
            });
            let response = router::route(request, &shared).await;
            slot.done();
            Ok::<_, Infallible>(response)
        }
    });
    let connection = builder
        .serve_connection(TokioIo::new(slot.watch(stream)), service)
        .with_upgrades();
    tokio::pin!(connection);
    loop {
        tokio::select! {
            // The connection first: a request that arrived is read before a shed is heeded.
            biased;
            _ = connection.as_mut() => return,
            // The client has not taken a byte of its response for the write timeout.
            () = slot.write_stalled(shared.config.write_timeout) => return,
            // Chosen to make room for a new client: dropping the connection closes it,
            // unless reading found its request (the server was behind, not the client).
            () = slot.shed() => {
                if slot.is_idle() {
                    return;
                }
                slot.spare();
            }
            _ = shutdown.changed() => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
                return;
            }
        }
    }
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(stream) => stream,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Raise the process's file limit to its hard limit, then shrink the connection and
/// session bounds to what it allows (saying so on stderr).
fn fit_file_limit(config: &mut Config) {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
        Err(error) => {
            eprintln!("incident-env serve: cannot read the file limit ({error}); bounds kept");
            return;
        }
    };
    let (connections, sessions) =
        fit_to_file_limit(config.connections_max, config.max_sessions, limit);
    if (connections, sessions) != (config.connections_max, config.max_sessions) {
        eprintln!(
            "incident-env serve: the file limit is {limit}: --max-connections {connections} \
             (asked {}), --max-sessions {sessions} (asked {})",
            config.connections_max, config.max_sessions
        );
        config.connections_max = connections;
        config.max_sessions = sessions;
    }
}

/// Return `(connections, sessions)` that fit in `limit` file descriptors with
/// [`FDS_RESERVED`] to spare: unchanged when they fit, else sessions get at most half.
#[must_use]
pub fn fit_to_file_limit(connections: usize, sessions: usize, limit: usize) -> (usize, usize) {
    let budget = limit.saturating_sub(FDS_RESERVED).max(2);
    if connections.saturating_add(sessions) <= budget {
        return (connections, sessions);
    }
    let sessions = sessions.min(budget / 2).max(1);
    (connections.min(budget - sessions).max(1), sessions)
}

/// Run the server until SIGINT/SIGTERM, then shut down gracefully.
#[must_use]
pub fn main(args: ServeArgs) -> ExitCode {
    let config = match Config::from_args(&args) {
        Ok(mut config) => {
            fit_file_limit(&mut config);
            config
        }
        Err(error) => {
            eprintln!(
                "incident-env serve: bad address {}:{}: {error}",
                args.host, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("incident-env serve: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let sealed = config.sealed;
        let running = match bind(config).await {
            Ok(running) => running,
            Err(error) => {
                eprintln!(
                    "incident-env serve: cannot listen on {}:{}: {error}",
                    args.host, args.port
                );
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "incident-env serve: listening on http://{} (WebSocket /ws{})",
            running.local_addr(),
            if sealed { ", sealed state" } else { "" }
        );
        wait_for_signal().await;
        eprintln!("incident-env serve: shutting down");
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_get_the_bounded_send_buffer() {
        // Goal: the listener's send buffer is what accepted sockets inherit: asked
        // SEND_BUFFER_BYTES (the kernel doubles it), not the autotuned default.
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let socket = TcpSocket::from_std_stream(accepted.into_std().unwrap());
        let size = socket.send_buffer_size().unwrap();
        assert!(
            (SEND_BUFFER_BYTES..=2 * SEND_BUFFER_BYTES).contains(&size),
            "send buffer {size}"
        );
    }

    #[test]
    fn bounds_shrink_to_the_file_limit() {
        // Goal: bounds that fit are kept; bounds that do not are shrunk so that
        // connections + sessions + the reserve fit, sessions getting at most half.
        assert_eq!(fit_to_file_limit(16_384, 16_384, 1 << 20), (16_384, 16_384));
        let (connections, sessions) = fit_to_file_limit(16_384, 16_384, 20_000);
        assert!(connections + sessions + FDS_RESERVED <= 20_000);
        assert_eq!(sessions, (20_000 - FDS_RESERVED) / 2);
        assert_eq!(fit_to_file_limit(100, 16_384, 20_000), (100, 16_384));
        let (connections, sessions) = fit_to_file_limit(1024, 64, 10);
        assert!(connections >= 1 && sessions >= 1);
    }
}
