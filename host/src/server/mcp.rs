//! MCP's streamable HTTP transport (`POST /mcp`, `DELETE /mcp`): one episode per MCP
//! session, the JSON-RPC itself being [`incident_api::mcp`]'s.
//!
//! A POST holding an `initialize` request without an `Mcp-Session-Id` opens a session: the
//! response carries its id in `Mcp-Session-Id`, and every later request must send it back
//! (400 without it, 404 once the id is unknown or expired; the client then initializes
//! again). `DELETE /mcp` with the header ends the session. Sessions are bounded
//! (`--max-sessions`, the same figure as WebSocket sessions, counted apart) and reaped
//! after the session idle timeout; one address holds at most `--max-sessions-per-peer`
//! of them. At either bound the oldest session never used after its `initialize` (a
//! bare `initialize` flood) makes room; only when all are in use is the newcomer refused
//! (503). Messages that need no session (a parse
//! error, invalid entries, `ping`) are answered without one, always with HTTP 200, as
//! OpenEnv's validator expects of `POST /mcp` with `{}`. Every message is answered on a
//! blocking thread ([`off_thread`]), as are WebSocket `mcp` messages.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use incident_api::Session;
use incident_api::mcp::{self, Message};

use super::peers::peer_key;
use super::respond::{HttpResponse, json_bytes, read_body};
use super::{Peer, Shared};

/// The session header of MCP's streamable HTTP transport.
pub const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");

/// One MCP session's episode, who opened it and when it was last used.
#[derive(Debug)]
struct Slot {
    session: Arc<Mutex<Session>>,
    used: Instant,
    /// The opener's address ([`peer_key`]).
    peer: IpAddr,
    /// Whether a request has named the session since its `initialize`.
    in_use: bool,
}

/// The open MCP sessions, bounded (in all and per address) and reaped.
#[derive(Debug)]
pub struct McpSessions {
    slots: Mutex<HashMap<String, Slot>>,
    max: usize,
    per_peer: usize,
    idle: Duration,
}

/// Why a session could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtBound {
    /// The table holds `--max-sessions` sessions in use.
    Table,
    /// The address holds `--max-sessions-per-peer` sessions in use.
    Peer,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Sessions validate before they mutate, so a poisoned lock holds a whole state.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl McpSessions {
    /// Create an empty table of at most `max` sessions, `per_peer` of them per address,
    /// each closed after `idle` unused.
    #[must_use]
    pub fn new(max: usize, per_peer: usize, idle: Duration) -> McpSessions {
        McpSessions {
            slots: Mutex::new(HashMap::new()),
            max,
            per_peer,
            idle,
        }
    }

    /// Return the number of open sessions.
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    /// Whether no session is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Open a session for `peer` (reaping expired ones first; at a bound, closing the
    /// oldest session not in use that counts against it); `Err` when every session
    /// counted against the bound is in use.
    fn open(
        &self,
        session: Session,
        peer: IpAddr,
    ) -> Result<(String, Arc<Mutex<Session>>), AtBound> {
        let peer = peer_key(peer);
        let mut slots = lock(&self.slots);
        let now = Instant::now();
        slots.retain(|_, slot| now.duration_since(slot.used) < self.idle);
        if slots.values().filter(|slot| slot.peer == peer).count() >= self.per_peer {
            evict_unused(&mut slots, |slot| slot.peer == peer).ok_or(AtBound::Peer)?;
        } else if slots.len() >= self.max {
            evict_unused(&mut slots, |_| true).ok_or(AtBound::Table)?;
        }
        let id = incident_api::session::new_episode_id();
        let session = Arc::new(Mutex::new(session));
        let slot = Slot {
            session: session.clone(),
            used: now,
            peer,
            in_use: false,
        };
        slots.insert(id.clone(), slot);
        Ok((id, session))
    }

    /// Return a live session and mark it used; an expired one is removed.
    fn get(&self, id: &str) -> Option<Arc<Mutex<Session>>> {
        let mut slots = lock(&self.slots);
        let now = Instant::now();
        let slot = slots.get_mut(id)?;
        if now.duration_since(slot.used) >= self.idle {
            slots.remove(id);
            return None;
        }
        slot.used = now;
        slot.in_use = true;
        Some(slot.session.clone())
    }

    /// End a session; `false` when it was not open.
    fn close(&self, id: &str) -> bool {
        lock(&self.slots).remove(id).is_some()
    }
}

/// Close the oldest session not in use among those `counted`; `None` when there is none.
fn evict_unused(slots: &mut HashMap<String, Slot>, counted: impl Fn(&Slot) -> bool) -> Option<()> {
    let oldest = slots
        .iter()
        .filter(|(_, slot)| !slot.in_use && counted(slot))
        .min_by_key(|(_, slot)| slot.used)
        .map(|(id, _)| id.clone())?;
    slots.remove(&oldest).map(|_| ())
}

/// A JSON-RPC error (id `null`) with an HTTP status.
fn refuse(status: StatusCode, code: i64, message: &str) -> HttpResponse {
    json_bytes(status, mcp::error_bytes(code, message))
}

/// The request's `Mcp-Session-Id`: `Ok(None)` when absent, `Err` (the 400 to answer)
/// when it is not text.
fn session_id<B>(request: &Request<B>) -> Result<Option<String>, Box<HttpResponse>> {
    match request.headers().get(SESSION_HEADER) {
        None => Ok(None),
        Some(value) => value.to_str().map(|id| Some(id.to_owned())).map_err(|_| {
            let message = "Bad Request: Mcp-Session-Id is not text";
            Box::new(refuse(
                StatusCode::BAD_REQUEST,
                mcp::INVALID_REQUEST,
                message,
            ))
        }),
    }
}

/// The 503 of a bound whose sessions are all in use.
fn at_capacity(full: AtBound, config: &super::Config) -> HttpResponse {
    let message = match full {
        AtBound::Table => format!(
            "Server at capacity: {} MCP sessions are open and in use",
            config.max_sessions
        ),
        AtBound::Peer => format!(
            "Too many sessions: this address has {} MCP sessions open and in use \
             (--max-sessions-per-peer); end some with DELETE /mcp",
            config.max_sessions_per_peer
        ),
    };
    refuse(StatusCode::SERVICE_UNAVAILABLE, mcp::SERVER_BUSY, &message)
}

fn unknown_session() -> HttpResponse {
    let message = "Session not found: initialize a new MCP session";
    refuse(StatusCode::NOT_FOUND, mcp::SESSION_NOT_FOUND, message)
}

/// Run `work` (answering an MCP message) on the blocking pool, at most
/// [`crate::constants::MCP_WORKERS_MAX`] at once; `None` if it panicked.
pub async fn off_thread<T, F>(shared: &Shared, work: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let _permit = shared.mcp_workers.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// Answer `POST /mcp`.
pub async fn post<B>(request: Request<B>, shared: &Arc<Shared>) -> HttpResponse
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let id = match session_id(&request) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |peer| peer.remote);
    let bytes = match read_body(
        request,
        shared.config.body_limit_bytes,
        shared.config.body_read_timeout,
    )
    .await
    {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let worker = shared.clone();
    off_thread(shared, move || respond(&worker, id, &bytes, peer))
        .await
        .unwrap_or_else(|| {
            let message = "Internal error: the message could not be answered";
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                mcp::INTERNAL_ERROR,
                message,
            )
        })
}

/// Answer a `POST /mcp` body for the session `id` names (or the one it opens for `peer`).
fn respond(shared: &Shared, id: Option<String>, bytes: &[u8], peer: IpAddr) -> HttpResponse {
    let message = Message::parse(bytes);
    let (session, new_id) = match id {
        Some(id) => match shared.mcp.get(&id) {
            Some(session) => (Some(session), None),
            None => return unknown_session(),
        },
        None if message.initializes() => {
            let fresh = Session::new().with_sealed(shared.config.sealed);
            match shared.mcp.open(fresh, peer) {
                Ok((id, session)) => (Some(session), Some(id)),
                Err(full) => return at_capacity(full, &shared.config),
            }
        }
        None if message.needs_session() => {
            let message = "Bad Request: Mcp-Session-Id header is required (initialize first)";
            return refuse(StatusCode::BAD_REQUEST, mcp::INVALID_REQUEST, message);
        }
        None => (None, None),
    };
    let answer = match &session {
        Some(session) => message.answer(Some(&mut lock(session))),
        None => message.answer(None),
    };
    let mut response = match answer {
        Some(body) => json_bytes(StatusCode::OK, body),
        None => empty(StatusCode::ACCEPTED),
    };
    if let Some(value) = new_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    response
}

/// Answer `DELETE /mcp`: 204 after ending the named session.
#[must_use]
pub fn delete<B>(request: &Request<B>, shared: &Shared) -> HttpResponse {
    match session_id(request) {
        Err(response) => *response,
        Ok(None) => {
            let message = "Bad Request: Mcp-Session-Id header is required";
            refuse(StatusCode::BAD_REQUEST, mcp::INVALID_REQUEST, message)
        }
        Ok(Some(id)) if shared.mcp.close(&id) => empty(StatusCode::NO_CONTENT),
        Ok(Some(_)) => unknown_session(),
    }
}

fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_bounded_and_reaped() {
        // Goal: at the bound a new session is refused until one expires or is closed;
        // an expired id is unknown.
        let sessions = McpSessions::new(2, 2, Duration::from_millis(50));
        let open = || sessions.open(Session::new(), LOCAL);
        let (first, _) = open().expect("first");
        let (second, _) = open().expect("second");
        assert!(sessions.get(&first).is_some() && sessions.get(&second).is_some());
        assert_eq!(
            open().unwrap_err(),
            AtBound::Peer,
            "bound of 2, both in use"
        );
        assert!(sessions.close(&second));
        assert!(!sessions.close(&second), "closed twice");
        let (third, _) = open().expect("a slot was freed");
        assert!(sessions.get(&first).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(sessions.get(&third).is_none(), "expired");
        assert!(open().is_ok(), "expired slots are reaped");
        assert_eq!(sessions.len(), 1);
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn unused_sessions_make_room_and_peers_are_counted_apart() {
        // Goal: at the table's bound the oldest unused session is closed (from any peer),
        // sessions in use never are; a peer at its own bound closes only its own unused
        // sessions, so another peer still opens sessions.
        let sessions = McpSessions::new(4, 3, Duration::from_secs(60));
        let other: IpAddr = "192.0.2.7".parse().unwrap();
        let (used, _) = sessions.open(Session::new(), other).unwrap();
        assert!(sessions.get(&used).is_some());
        let (old_unused, _) = sessions.open(Session::new(), other).unwrap();
        let mut local = Vec::new();
        for _ in 0..5 {
            local.push(sessions.open(Session::new(), LOCAL).unwrap().0);
        }
        assert_eq!(sessions.len(), 4);
        assert!(sessions.get(&used).is_some(), "a session in use was closed");
        assert!(
            sessions.get(&old_unused).is_none(),
            "the oldest unused stayed"
        );
        for id in &local[2..] {
            assert!(sessions.get(id).is_some());
        }
        assert_eq!(
            sessions.open(Session::new(), LOCAL).unwrap_err(),
            AtBound::Peer
        );
        assert_eq!(
            sessions.open(Session::new(), other).unwrap_err(),
            AtBound::Table
        );
    }
}
