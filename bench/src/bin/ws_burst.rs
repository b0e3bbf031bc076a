//! WebSocket burst: N OpenEnv sessions connect at the same moment, are all held open, and
//! each steps; reports how many succeeded, how long the burst took and (with
//! `--server-pid`) the server's memory per held session.
//!
//! ```text
//! bash bench/ws/burst.sh                  # builds, starts a server, runs 16,384 sessions
//! ws_burst --port 8000 [--sessions 16384] [--server-pid PID] [--json]
//! ```
//!
//! Every session is spawned at once and connects to `ws://127.0.0.1:PORT/ws` (loopback
//! only); once all are connected (or failed), each sends a reset and reads its
//! observation, then all step once (`read_logs` on `database`) and read the reply, while
//! every socket stays open. The run exits non-zero unless every session connected,
//! reset and stepped. It raises its own file limit (the `rlimit` crate) to hold N sockets.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Longest the whole burst (connect, reset, step) may take.
const BURST_DEADLINE: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug)]
struct Options {
    port: u16,
    sessions: usize,
    server_pid: Option<u32>,
    json: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        port: 8000,
        sessions: 16_384,
        server_pid: None,
        json: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                options.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--sessions" => {
                options.sessions = value("--sessions")?
                    .parse()
                    .map_err(|e| format!("--sessions: {e}"))?;
            }
            "--server-pid" => {
                options.server_pid = Some(
                    value("--server-pid")?
                        .parse()
                        .map_err(|e| format!("--server-pid: {e}"))?,
                );
            }
            "--json" => options.json = true,
            "-h" | "--help" => {
                return Err(
                    "usage: ws_burst [--port 8000] [--sessions 16384] [--server-pid PID] [--json]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.sessions == 0 {
        return Err("--sessions must be positive".into());
    }
    Ok(options)
}

/// The server's resident set in KiB (`/proc/PID/status`), when a pid was given.
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn connect(port: u16) -> Result<Socket, String> {
    let url = format!("ws://127.0.0.1:{port}/ws");
    let config = WebSocketConfig::default().read_buffer_size(4096);
    tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
        .await
        .map(|(socket, _)| socket)
        .map_err(|error| error.to_string())
}

/// Send one message and read the reply; `Ok` when it is an observation.
async fn exchange(socket: &mut Socket, text: String) -> Result<(), String> {
    socket
        .send(Message::text(text))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(reply)))
                if reply.as_str().starts_with(r#"{"type":"observation""#) =>
            {
                return Ok(());
            }
            Some(Ok(Message::Text(reply))) => {
                return Err(reply.as_str().chars().take(200).collect());
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => return Err(format!("unexpected frame {other:?}")),
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("connection closed".into()),
        }
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

async fn burst(options: Options) -> Result<String, String> {
    let before = rss_kib(options.server_pid);
    let start = Instant::now();
    let connects: Vec<_> = (0..options.sessions)
        .map(|_| tokio::spawn(connect(options.port)))
        .collect();
    let mut sockets = Vec::with_capacity(options.sessions);
    let mut first_error = None;
    for task in connects {
        match task.await.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(socket) => sockets.push(socket),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
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
    let per_session = match (before, rss_kib(options.server_pid)) {
        (Some(before), Some(after)) => {
            format!(
                "{:.1}",
                after.saturating_sub(before) as f64 / held.max(1) as f64
            )
        }
        _ => "null".into(),
    };
    let line = if options.json {
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
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
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
