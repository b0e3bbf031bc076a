//! The host's bounds, sizes, timeouts and defaults in one place (the server's and the
//! runner's), with the compile-time checks that tie them together beside them.
//! `host/SERVER.md` lists each server bound with what happens at it. The JSON layer's own
//! bounds (nesting, MCP batches, `episode_id`) are [`incident_api::constants`]; the
//! core's (observation, actions, rewards) [`incident_core::constants`].

use std::time::Duration;

use incident_core::constants::{REWARD_MAX_MILLI, REWARD_MIN_MILLI, milli_to_f64};

// --- HTTP -------------------------------------------------------------------------------

/// The address `serve` listens on by default (every interface).
pub const HOST_DEFAULT: &str = "0.0.0.0";
/// The port `serve` listens on by default (the original's, which `/manifest` states).
pub const PORT_DEFAULT: u16 = incident_api::constants::PORT_DEFAULT;
/// Default cap on a request body (64 KiB; the largest legitimate body is under 6 KiB).
pub const BODY_LIMIT_BYTES_DEFAULT: usize = 64 * 1024;
/// Largest request head (start line and headers); 431 beyond.
pub const HEAD_BYTES_MAX: usize = 64 * 1024;
/// Default time a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT_SECS_DEFAULT: u64 = 10;
/// Default time a client has to send a request's body once its headers arrived.
pub const BODY_READ_TIMEOUT_SECS_DEFAULT: u64 = 10;
/// Default time a write may stay blocked (an HTTP client not taking its response, a
/// WebSocket peer not taking a reply or pong) before the connection is dropped.
pub const WRITE_TIMEOUT_SECS_DEFAULT: u64 = 10;
/// Default number of HTTP connections open at once; at the bound the connection idle
/// longest is shed for a new one (`server::conns`).
pub const CONNECTIONS_MAX_DEFAULT: usize = 16_384;
/// Youngest idle connection that may be shed to make room (see `server::conns`).
pub const SHED_IDLE_MIN: Duration = Duration::from_millis(100);
/// Listen backlog asked of the kernel (Linux caps it at `net.core.somaxconn`, 4096 by
/// default): connections that arrived but were not accepted yet.
pub const LISTEN_BACKLOG: u32 = 16_384;
/// Kernel send buffer asked for every connection (set on the listener, which accepted
/// sockets inherit; Linux doubles it, so 256 KiB). It bounds the kernel memory a client
/// that never reads can hold per connection (autotuning grows it to `tcp_wmem`'s 4 MiB)
/// and how long the server spends filling such buffers: 200 never-reading downloaders
/// took 2 s of the server's CPU at the default, 0.2-0.4 s with this. It still allows
/// 5 MB/s per connection at a 50 ms round trip.
pub const SEND_BUFFER_BYTES: u32 = 128 * 1024;
/// How long the accept loop waits after a failed accept (out of file descriptors and the
/// like) instead of spinning.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// File descriptors kept for everything but connections and sessions (the listener,
/// stdio, the runtime's epoll and wakers, the [`WS_REFUSALS_MAX`] refusals in progress).
pub const FDS_RESERVED: usize = 256;
/// Time open connections get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE_SECS: u64 = 10;
/// Time WebSocket sessions get for their close handshakes once the accept loop ended.
pub const SESSIONS_CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Assets smaller than this are sent as they are (gzip would gain little).
pub const GZIP_MIN_BYTES: usize = 1024;
/// How long a browser may cache a CORS preflight's answer (`Access-Control-Max-Age`).
pub const CORS_MAX_AGE_SECS: u64 = 600;

// --- Sessions ---------------------------------------------------------------------------

/// Default number of WebSocket sessions that may run at once (a GRPO-style trainer opens
/// one per generation; memory per session is measured in `docs/benchmarks.md`), and of MCP
/// sessions.
pub const MAX_SESSIONS_DEFAULT: usize = 16_384;
/// Default number of WebSocket sessions, and of MCP sessions, one address may hold (a
/// trainer on one host opens hundreds, one per generation; a quarter of the table, so one
/// address cannot fill it).
pub const MAX_SESSIONS_PER_PEER_DEFAULT: usize = MAX_SESSIONS_DEFAULT / 4;
/// Default idle time after which a WebSocket or MCP session is closed (10 minutes).
pub const SESSION_IDLE_TIMEOUT_SECS_DEFAULT: u64 = 600;
/// Most MCP messages answered at once (each on a blocking thread, off the I/O threads:
/// a batch is up to [`incident_api::constants::BATCH_ENTRIES_MAX`] calls); others wait
/// their turn.
pub const MCP_WORKERS_MAX: usize = 4;

// --- WebSocket --------------------------------------------------------------------------

/// Largest WebSocket message or frame accepted or sent (1 MiB, OpenEnv's validator limit).
pub const FRAME_BYTES_MAX: usize = 1 << 20;
/// Most bytes waiting to be written on one WebSocket (a reply up to [`FRAME_BYTES_MAX`],
/// plus room for a pong and a close frame); the buffer grows only as needed.
pub const WS_WRITE_BUFFER_BYTES_MAX: usize = FRAME_BYTES_MAX + 4096;
/// Bytes tungstenite reads per call, and the read buffer each session keeps. Its default
/// (128 KiB) is zero-filled before every read, which cost more than the rest of a step;
/// 4 KiB still showed as `memset` in the profile and was a third of a held session's
/// memory. Messages are ~100 bytes; larger ones (up to [`FRAME_BYTES_MAX`]) simply take
/// several reads.
pub const WS_READ_BUFFER_BYTES: usize = 1024;
/// How long the server waits for the client's close reply after sending a close frame
/// (and for a refused client to take its `CAPACITY_REACHED` frame).
pub const WS_CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Longest close reason, in bytes: a close frame's payload is at most 125 bytes (RFC 6455
/// §5.5), 2 of them the code.
pub const WS_CLOSE_REASON_BYTES_MAX: usize = 125 - 2;
/// Most WebSocket refusals in progress at once (at `--max-sessions` or an address's
/// `--max-sessions-per-peer`: the `CAPACITY_REACHED` frame and its close handshake, a few
/// seconds at most); past it an upgrade is answered HTTP 503 without upgrading.
pub const WS_REFUSALS_MAX: usize = 64;

const _: () = {
    assert!(BODY_LIMIT_BYTES_DEFAULT <= FRAME_BYTES_MAX);
    assert!(
        WS_REFUSALS_MAX < FDS_RESERVED,
        "refusals hold reserved descriptors"
    );
    assert!(MAX_SESSIONS_PER_PEER_DEFAULT >= 1);
    assert!(MAX_SESSIONS_PER_PEER_DEFAULT <= MAX_SESSIONS_DEFAULT);
    assert!(WS_READ_BUFFER_BYTES <= FRAME_BYTES_MAX);
    assert!(
        incident_api::constants::REPLY_BYTES_MAX < FRAME_BYTES_MAX,
        "a bounded MCP reply fits one WebSocket frame"
    );
    assert!(SESSIONS_CLOSE_GRACE.as_secs() <= SHUTDOWN_GRACE_SECS);
};

// --- Runner (`incident-env run` / `eval`) -----------------------------------------------

/// The model name printed (and asked for) when `MODEL_NAME` is unset.
pub const MODEL_DEFAULT: &str = "Qwen/Qwen2.5-72B-Instruct";
/// The chat-completions base URL used when `API_BASE_URL` is unset.
pub const API_BASE_URL_DEFAULT: &str = "https://router.huggingface.co/v1";
/// The emitted reward's floor for the original tasks (the original clamps every printed
/// reward): the core's step-reward floor.
pub const REWARD_SHOWN_MIN: f64 = milli_to_f64(REWARD_MIN_MILLI);
/// The emitted reward's ceiling for the original tasks.
pub const REWARD_SHOWN_MAX: f64 = milli_to_f64(REWARD_MAX_MILLI);
/// A score at or above this counts as a success.
pub const SUCCESS_SCORE_MIN: f64 = 0.5;
/// The environment client's per-request timeout (the original's `client.py`: 15 s).
pub const ENV_TIMEOUT: Duration = Duration::from_secs(15);
/// Episodes per task `eval` plays unless `--episodes` says otherwise.
pub const EVAL_EPISODES_DEFAULT: u32 = 100;
/// How often `eval`'s progress line is redrawn.
pub const EVAL_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// Consecutive failures after which the LLM is not asked again in the same task.
pub const LLM_FAILURE_STREAK_MAX: u32 = 3;
/// How many of the latest steps the LLM prompt lists.
pub const LLM_HISTORY_SHOWN_MAX: usize = 6;
/// How many characters of each step's result the LLM prompt shows.
pub const LLM_RESULT_CHARS_MAX: usize = 80;
/// The sampling temperature (the original's).
pub const LLM_TEMPERATURE: f64 = 0.1;
/// The completion budget, unless `--llm-max-tokens` says otherwise (the original's).
pub const LLM_MAX_TOKENS_DEFAULT: u32 = 220;
/// The total time one LLM request may take unless `--llm-timeout-secs` says otherwise.
pub const LLM_TIMEOUT_SECS_DEFAULT: f64 = 30.0;
/// Retries after a failed LLM request unless `--llm-max-retries` says otherwise.
pub const LLM_MAX_RETRIES_DEFAULT: u32 = 2;
/// The LLM connection timeout (at most the request's own).
pub const LLM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first LLM retry's backoff; each further retry doubles it.
pub const LLM_BACKOFF_FIRST: Duration = Duration::from_millis(250);
/// Characters of a failed LLM answer quoted in the diagnostic (an HTTP error's body).
pub const LLM_ERROR_SNIPPET_CHARS: usize = 200;
/// Characters of an unparsable LLM reply quoted in the diagnostic.
pub const LLM_REPLY_SNIPPET_CHARS: usize = 120;

const _: () = {
    assert!(REWARD_SHOWN_MIN < SUCCESS_SCORE_MIN && SUCCESS_SCORE_MIN < REWARD_SHOWN_MAX);
    assert!(
        LLM_MAX_TOKENS_DEFAULT >= 1,
        "--llm-max-tokens is at least 1"
    );
    assert!(LLM_FAILURE_STREAK_MAX >= 1);
};
