//! MCP's streamable HTTP transport (`POST /mcp`, `DELETE /mcp`): one episode per MCP
//! session, the JSON-RPC itself being [`incident_api::mcp`]'s.
//!
//! A POST holding an `initialize` request without an `Mcp-Session-Id` opens a session: the
//! response carries its id in `Mcp-Session-Id`, and every later request must send it back
//! (400 without it, 404 once the id is unknown or expired; the client then initializes
//! again). `DELETE /mcp` with the header ends the session. Sessions are bounded
//! (`--max-sessions`, the same figure as WebSocket sessions, counted apart: 503 beyond)
//! and reaped after the session idle timeout. Messages that need no session (a parse
//! error, invalid entries, `ping`) are answered without one, always with HTTP 200, as
//! OpenEnv's validator expects of `POST /mcp` with `{}`. Every message is answered on a
//! blocking thread ([`off_thread`]), as are WebSocket `mcp` messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use incident_api::Session;
use incident_api::mcp::{self, Message};

use super::Shared;
use super::router::{HttpResponse, json_bytes, read_body};

/// The session header of MCP's streamable HTTP transport.
pub const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");

/// One MCP session's episode and when it was last used.
#[derive(Debug)]
struct Slot {
    session: Arc<Mutex<Session>>,
    used: Instant,
}

/// The open MCP sessions, bounded and reaped.
#[derive(Debug)]
pub struct McpSessions {
    slots: Mutex<HashMap<String, Slot>>,
    max: usize,
    idle: Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Sessions validate before they mutate, so a poisoned lock holds a whole state.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl McpSessions {
    /// Create an empty table of at most `max` sessions, each closed after `idle` unused.
    #[must_use]
    pub fn new(max: usize, idle: Duration) -> McpSessions {
        McpSessions {
            slots: Mutex::new(HashMap::new()),
            max,
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

    /// Open a session (reaping expired ones first); `None` at the bound.
    fn open(&self, session: Session) -> Option<(String, Arc<Mutex<Session>>)> {
        let mut slots = lock(&self.slots);
        let now = Instant::now();
        slots.retain(|_, slot| now.duration_since(slot.used) < self.idle);
        if slots.len() >= self.max {
            return None;
        }
        let id = incident_api::session::new_episode_id();
        let session = Arc::new(Mutex::new(session));
        let slot = Slot {
            session: session.clone(),
            used: now,
        };
        slots.insert(id.clone(), slot);
        Some((id, session))
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
        Some(slot.session.clone())
    }

    /// End a session; `false` when it was not open.
    fn close(&self, id: &str) -> bool {
        lock(&self.slots).remove(id).is_some()
    }
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

fn unknown_session() -> HttpResponse {
    let message = "Session not found: initialize a new MCP session";
    refuse(StatusCode::NOT_FOUND, mcp::SESSION_NOT_FOUND, message)
}

/// Run `work` (answering an MCP message) on the blocking pool, at most
/// [`super::MCP_WORKERS_MAX`] at once; `None` if it panicked.
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
    let bytes = match read_body(request, shared).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let worker = shared.clone();
    off_thread(shared, move || respond(&worker, id, &bytes))
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

/// Answer a `POST /mcp` body for the session `id` names (or the one it opens).
fn respond(shared: &Shared, id: Option<String>, bytes: &[u8]) -> HttpResponse {
    let message = Message::parse(bytes);
    let (session, new_id) = match id {
        Some(id) => match shared.mcp.get(&id) {
            Some(session) => (Some(session), None),
            None => return unknown_session(),
        },
        None if message.initializes() => {
            let fresh = Session::new().with_sealed(shared.config.sealed);
            match shared.mcp.open(fresh) {
                Some((id, session)) => (Some(session), Some(id)),
                None => {
                    let message = format!(
                        "Server at capacity: {} MCP sessions are open",
                        shared.config.max_sessions
                    );
                    return refuse(StatusCode::SERVICE_UNAVAILABLE, mcp::SERVER_BUSY, &message);
                }
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
        let sessions = McpSessions::new(2, Duration::from_millis(50));
        let (first, _) = sessions.open(Session::new()).expect("first");
        let (second, _) = sessions.open(Session::new()).expect("second");
        assert!(sessions.open(Session::new()).is_none(), "bound of 2");
        assert!(sessions.close(&second));
        assert!(!sessions.close(&second), "closed twice");
        let (third, _) = sessions.open(Session::new()).expect("a slot was freed");
        assert!(sessions.get(&first).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(sessions.get(&third).is_none(), "expired");
        assert!(
            sessions.open(Session::new()).is_some(),
            "expired slots are reaped"
        );
        assert_eq!(sessions.len(), 1);
    }
}
