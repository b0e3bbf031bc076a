//! WebSocket load generator: N concurrent OpenEnv sessions stepping as fast as they can.
//!
//! ```text
//! cargo run --release -p incident-bench --bin ws_load -- --port 8000 [--sessions 64]
//!     [--secs 10] [--threads 1] [--server-pid PID] [--json]
//! ```
//!
//! `bash bench/ws/run.sh` builds both binaries, starts a server and runs this at 64 and
//! 1,024 sessions.
//!
//! Each session connects to `ws://127.0.0.1:PORT/ws` (loopback only), sends
//! `{"type":"reset","data":{"task_id":"easy_task","seed":S}}`, then
//! `{"type":"step","data":{"action_type":"list_services"}}` over and over, reading exactly
//! one reply per request, and resets again when a reply has `data.done == true`. The run is
//! bounded: it stops after `--secs` seconds. It prints steps/s over all sessions and the
//! p50/p99/max latency of one step (request sent to reply read). With `--server-pid` it
//! also prints the server's on-CPU time per message (steps and resets), summed over its
//! threads from `/proc/PID/task/*/schedstat`: on a shared machine the rate depends on
//! what else runs, the CPU per message much less.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use incident_bench::ws::{self, Common, Socket};
use serde::Deserialize;

/// Bytes the client's WebSocket reads per call: tungstenite zero-fills its whole read
/// buffer (128 KiB by default) before every read; replies are ~2 KiB, so a small buffer
/// keeps the generator's own cost down.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// N concurrent OpenEnv sessions stepping as fast as they can, for a bounded time.
#[derive(Clone, Copy, Debug, Parser)]
struct Options {
    #[command(flatten)]
    common: Common,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 64, value_parser = ws::positive)]
    sessions: usize,
    /// How long to run, seconds (1-600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    secs: u64,
}

/// The part of a reply the generator reads.
#[derive(Deserialize)]
struct Reply {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: ReplyData,
}

#[derive(Default, Deserialize)]
struct ReplyData {
    #[serde(default)]
    done: bool,
}

/// What one session measured.
#[derive(Default)]
struct SessionResult {
    /// Latency of every step, nanoseconds.
    step_ns: Vec<u64>,
    /// Resets sent (the first one included).
    resets: u64,
    /// Error replies or transport failures.
    errors: u64,
}

/// Send one text frame and parse its reply; `Err` on a transport failure or a closed socket.
async fn request(socket: &mut Socket, text: &str) -> Result<Reply, String> {
    let reply = ws::request(socket, text).await?;
    serde_json::from_str(reply.as_str()).map_err(|e| e.to_string())
}

async fn session(port: u16, index: usize, deadline: Instant) -> SessionResult {
    let mut result = SessionResult {
        step_ns: Vec::with_capacity(1 << 16),
        ..SessionResult::default()
    };
    let mut socket = match ws::connect(port, index, READ_BUFFER_BYTES).await {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("session {index}: connect failed: {error}");
            result.errors += 1;
            return result;
        }
    };
    let step = r#"{"type":"step","data":{"action_type":"list_services"}}"#;
    let mut seed = index as u64 * 1_000_003;
    let mut needs_reset = true;
    while Instant::now() < deadline {
        if needs_reset {
            seed += 1;
            let reset =
                format!(r#"{{"type":"reset","data":{{"task_id":"easy_task","seed":{seed}}}}}"#);
            result.resets += 1;
            match request(&mut socket, &reset).await {
                Ok(reply) if reply.kind == "observation" => needs_reset = false,
                Ok(_) => result.errors += 1,
                Err(error) => {
                    eprintln!("session {index}: {error}");
                    result.errors += 1;
                    break;
                }
            }
            continue;
        }
        let start = Instant::now();
        match request(&mut socket, step).await {
            Ok(reply) => {
                result.step_ns.push(start.elapsed().as_nanos() as u64);
                if reply.kind != "observation" {
                    result.errors += 1;
                }
                needs_reset = reply.data.done;
            }
            Err(error) => {
                eprintln!("session {index}: {error}");
                result.errors += 1;
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    result
}

fn percentile(sorted: &[u64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match ws::runtime(options.common.threads) {
        Ok(runtime) => runtime,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let cpu_before = ws::cpu_ns(options.common.server_pid);
    let (results, elapsed) = runtime.block_on(run_sessions(options));
    let summary = Summary::of(&results, elapsed, cpu_before, options.common.server_pid);
    summary.print(options.sessions, options.common.json);
    if summary.errors > 0 || summary.steps == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Run `options.sessions` sessions to the deadline; what each measured and the time taken.
async fn run_sessions(options: Options) -> (Vec<SessionResult>, Duration) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(options.secs);
    let tasks: Vec<_> = (0..options.sessions)
        .map(|index| tokio::spawn(session(options.common.port, index, deadline)))
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap_or_default());
    }
    (results, start.elapsed())
}

/// The run's totals and step latencies (microseconds).
struct Summary {
    seconds: f64,
    steps: usize,
    resets: u64,
    errors: u64,
    steps_per_sec: f64,
    p50: f64,
    p99: f64,
    max: f64,
    /// Server CPU per message (steps and resets), microseconds, or `null` when unknown.
    cpu_us: String,
}

impl Summary {
    /// Sum the sessions' results; the server's CPU time is read again once the
    /// latencies are gathered.
    fn of(
        results: &[SessionResult],
        elapsed: Duration,
        cpu_before: Option<u64>,
        server_pid: Option<u32>,
    ) -> Self {
        let mut latencies: Vec<u64> = results
            .iter()
            .flat_map(|r| r.step_ns.iter().copied())
            .collect();
        let cpu_after = ws::cpu_ns(server_pid);
        latencies.sort_unstable();
        let steps = latencies.len();
        let resets: u64 = results.iter().map(|r| r.resets).sum();
        let seconds = elapsed.as_secs_f64();
        let messages = steps as u64 + resets;
        let cpu_us = match (cpu_before, cpu_after) {
            (Some(before), Some(after)) if messages > 0 => {
                format!("{:.2}", (after - before) as f64 / 1e3 / messages as f64)
            }
            _ => "null".into(),
        };
        Summary {
            seconds,
            steps,
            resets,
            errors: results.iter().map(|r| r.errors).sum(),
            steps_per_sec: steps as f64 / seconds,
            p50: percentile(&latencies, 0.50) / 1e3,
            p99: percentile(&latencies, 0.99) / 1e3,
            max: latencies.last().copied().unwrap_or(0) as f64 / 1e3,
            cpu_us,
        }
    }

    /// Print the summary: one JSON object (the report's row), or lines of text.
    fn print(&self, sessions: usize, json: bool) {
        let Summary {
            seconds,
            steps,
            resets,
            errors,
            steps_per_sec,
            p50,
            p99,
            max,
            ref cpu_us,
        } = *self;
        if json {
            println!(
                "{{\"scenario\": \"ws_sessions_{sessions}\", \"sessions\": {sessions}, \"seconds\": {seconds:.3}, \"steps\": {steps}, \"resets\": {resets}, \"errors\": {errors}, \"steps_per_sec\": {steps_per_sec:.0}, \"p50_us\": {p50:.1}, \"p99_us\": {p99:.1}, \"max_us\": {max:.1}, \"server_cpu_us_per_message\": {cpu_us}}}"
            );
        } else {
            println!(
                "{sessions} sessions, {seconds:.2} s: {steps} steps ({resets} resets, {errors} errors)"
            );
            println!("steps/s: {steps_per_sec:.0}");
            println!("step latency: p50 {p50:.1} us, p99 {p99:.1} us, max {max:.1} us");
            println!("server CPU per message (steps and resets): {cpu_us} us");
        }
    }
}
