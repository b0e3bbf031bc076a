//! WebSocket burst: N OpenEnv sessions connect at the same moment, are all held open, and
//! each steps; reports how many succeeded, how long the burst took and (with
//! `--server-pid`) the server's memory per held session.
//!
//! ```text
//! bash bench/ws/burst.sh                  # builds, starts a server, runs 16,384 sessions
//! ws_burst --port 8000 [--sessions 16384] [--threads 1] [--server-pid PID] [--json]
//! ```
//!
//! Every session is spawned at once and connects to `ws://127.0.0.1:PORT/ws` (loopback
//! only); once all are connected (or failed), each sends a reset and reads its
//! observation, then all step once (`read_logs` on `database`) and read the reply, while
//! every socket stays open. The run exits non-zero unless every session connected,
//! reset and stepped. It raises its own file limit (the `rlimit` crate) to hold N sockets,
//! and spreads the sessions over loopback source addresses ([`incident_bench::ws`] says
//! why).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use incident_bench::ws::{self, Common, Socket};
use tokio::task::JoinHandle;

/// Longest the whole burst (connect, reset, step) may take.
const BURST_DEADLINE: Duration = Duration::from_secs(120);

/// Connections started before the spawner lets the started ones go on (see
/// [`spawn_connects`]).
const CONNECTS_PER_YIELD: usize = 64;

/// Bytes each client WebSocket reads per call (replies are ~2 KiB).
const READ_BUFFER_BYTES: usize = 4096;

/// N OpenEnv sessions connect at once, are all held, and each resets and steps.
#[derive(Clone, Copy, Debug, Parser)]
struct Options {
    #[command(flatten)]
    common: Common,
    /// Sessions to open at once (default: the server's default bound).
    #[arg(long, default_value_t = incident_host::constants::MAX_SESSIONS_DEFAULT,
          value_parser = ws::positive)]
    sessions: usize,
}

/// Send one message and read the reply; `Ok` when it is an observation.
async fn exchange(socket: &mut Socket, text: String) -> Result<(), String> {
    let reply = ws::request(socket, &text).await?;
    if reply.as_str().starts_with(r#"{"type":"observation""#) {
        Ok(())
    } else {
        Err(reply.as_str().chars().take(200).collect())
    }
}

/// Run one phase over every socket at once; return the failures (first message kept).
async fn phase(
    sockets: Vec<Socket>,
    message: impl Fn(usize) -> String,
) -> (Vec<Socket>, usize, Option<String>) {
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(index, mut socket)| {
            let text = message(index);
            tokio::spawn(async move {
                let result = exchange(&mut socket, text).await;
                (socket, result)
            })
        })
        .collect();
    let (mut kept, mut failures, mut first) = (Vec::new(), 0, None);
    for task in tasks {
        match task.await {
            Ok((socket, Ok(()))) => kept.push(socket),
            Ok((_, Err(error))) => {
                failures += 1;
                first.get_or_insert(error);
            }
            Err(error) => {
                failures += 1;
                first.get_or_insert(error.to_string());
            }
        }
    }
    (kept, failures, first)
}

/// Start every session's connection at once, as fast as the tool can, from a worker
/// thread that yields after every [`CONNECTS_PER_YIELD`]: the sessions already connected
/// then send their upgrade requests at once instead of queueing behind the connections
/// not yet started (tokio runs freshly spawned tasks before those woken later once its
/// local queue overflows, so without the yields the first sockets sat silent for seconds,
/// and a server at its connection bound rightly shed them as idle).
async fn spawn_connects(
    options: Options,
    start: Instant,
) -> Result<Vec<JoinHandle<Result<Socket, String>>>, tokio::task::JoinError> {
    tokio::spawn(async move {
        let mut connects = Vec::with_capacity(options.sessions);
        for index in 0..options.sessions {
            connects.push(tokio::spawn(async move {
                let connected = ws::connect(options.common.port, index, READ_BUFFER_BYTES).await;
                connected.map_err(|error| {
                    format!("{error} after {:.2} s", start.elapsed().as_secs_f64())
                })
            }));
            if index % CONNECTS_PER_YIELD == CONNECTS_PER_YIELD - 1 {
                tokio::task::yield_now().await;
            }
        }
        connects
    })
    .await
}

/// Wait for every connect: the sockets that connected, and the first error of those that
/// did not.
async fn connected_sockets(
    connects: Vec<JoinHandle<Result<Socket, String>>>,
) -> (Vec<Socket>, Option<String>) {
    let mut sockets = Vec::with_capacity(connects.len());
    let mut first_error = None;
    for task in connects {
        match task
            .await
            .map_err(|e| e.to_string())
            .and_then(|result| result)
        {
            Ok(socket) => sockets.push(socket),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    (sockets, first_error)
}

/// The server's RSS growth since `before` per held session, KiB (`null` when unknown).
fn rss_kib_per_session(before: Option<u64>, server_pid: Option<u32>, held: usize) -> String {
    match (before, ws::rss_kib(server_pid)) {
        (Some(before), Some(after)) => {
            format!(
                "{:.1}",
                after.saturating_sub(before) as f64 / held.max(1) as f64
            )
        }
        _ => "null".into(),
    }
}

/// Open the sessions, reset and step each while all are held, and report the server's
/// RSS per session; `Err` (with the report) unless every session got through.
async fn burst(options: Options) -> Result<String, String> {
    let before = ws::rss_kib(options.common.server_pid);
    let start = Instant::now();
    let connects = spawn_connects(options, start)
        .await
        .map_err(|e| e.to_string())?;
    let (sockets, first_error) = connected_sockets(connects).await;
    let connect_secs = start.elapsed().as_secs_f64();
    let connected = sockets.len();
    let (sockets, reset_failures, reset_error) = phase(sockets, |index| {
        format!(r#"{{"type":"reset","data":{{"task_id":"hard_task","seed":{index}}}}}"#)
    })
    .await;
    let (sockets, step_failures, step_error) = phase(sockets, |_| {
        r#"{"type":"step","data":{"action_type":"read_logs","service":"database"}}"#.to_owned()
    })
    .await;
    let total_secs = start.elapsed().as_secs_f64();
    let held = sockets.len();
    let per_session = rss_kib_per_session(before, options.common.server_pid, held);
    let line = if options.common.json {
        format!(
            "{{\"scenario\": \"ws_burst\", \"sessions\": {}, \"connected\": {connected}, \"stepped\": {held}, \"connect_secs\": {connect_secs:.2}, \"total_secs\": {total_secs:.2}, \"server_rss_kib_per_session\": {per_session}}}",
            options.sessions
        )
    } else {
        format!(
            "{} sessions: {connected} connected in {connect_secs:.2} s, {held} reset and stepped while all held ({total_secs:.2} s in all); server RSS per held session: {per_session} KiB",
            options.sessions
        )
    };
    drop(sockets);
    let error = first_error.or(reset_error).or(step_error);
    if held == options.sessions {
        Ok(line)
    } else {
        Err(format!(
            "{line}\n{} connect, {reset_failures} reset and {step_failures} step failures; first: {}",
            options.sessions - connected,
            error.unwrap_or_default()
        ))
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    // Each session is one socket here; keep room for the runtime's own.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit >= options.sessions as u64 + 64 => {}
        Ok(limit) => {
            eprintln!(
                "the file limit ({limit}) is too low for {} sessions",
                options.sessions
            );
            return ExitCode::FAILURE;
        }
        Err(error) => eprintln!("cannot raise the file limit: {error}"),
    }
    let runtime = match ws::runtime(options.common.threads) {
        Ok(runtime) => runtime,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::time::timeout(BURST_DEADLINE, burst(options))
            .await
            .unwrap_or_else(|_| Err(format!("the burst took longer than {BURST_DEADLINE:?}")))
    });
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("{message}");
            ExitCode::FAILURE
        }
    }
}
