//! The `/reset` and `/step` response (and its WebSocket `observation` frame) written as
//! bytes from pre-rendered fragments.
//!
//! Almost all of a response is constant text: the six service summaries for each status,
//! the dependency lists, the alerts of each task around their timestamp, the metric
//! tables, the `available_*` lists and every key. Those fragments are rendered once, by
//! serde_json from the same values the [`Serialize`](serde::Serialize) structs of
//! [`super`] use, and copied per response; the few dynamic strings are copied as they are
//! when they need no escaping (serde_json escapes only `"`, `\` and control characters)
//! and go through serde_json otherwise. The result is byte for byte what serializing
//! [`super::StepResponse`] gives (`tests/fast_paths.rs` and the WebSocket tests check it).

use std::fmt::Display;
use std::io::Write as _;
use std::ops::Not as _;
use std::sync::LazyLock;

use incident_core::env::Outcome;
use incident_core::record::{Inspected, Lists};
use incident_core::scenario::Ruleset;
use incident_core::task::Alert;
use incident_core::text::{self, ActionResult, LogEvent, METRICS, Message, Timestamp};
use incident_core::topology::DEPENDS_ON;
use incident_core::vocab::{MODE_COUNT, SERVICE_COUNT, STATUS_COUNT};
use incident_core::{ActionType, Env, Milli, Mode, Service, Status, TaskId};
use serde::Serialize;

use super::{DependsOn, Details, Graph, Summaries, shown};

/// Whether serde_json writes `text` unchanged between its quotes (branch-free, so the
/// loop vectorises).
fn needs_no_escape(text: &[u8]) -> bool {
    text.iter()
        .fold(false, |escape, &b| {
            escape | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
        .not()
}

/// Append a JSON value as serde_json writes it.
fn push_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    let written = serde_json::to_writer(&mut *out, value);
    debug_assert!(written.is_ok());
}

/// Append a JSON string.
fn push_str(out: &mut Vec<u8>, text: &str) {
    if needs_no_escape(text.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        push_json(out, text);
    }
}

/// Append a `Display` value as a JSON string (serde_json's `collect_str`).
fn push_display(out: &mut Vec<u8>, value: impl Display) {
    out.push(b'"');
    let start = out.len();
    let written = write!(out, "{value}");
    debug_assert!(written.is_ok());
    if needs_no_escape(&out[start..]) {
        out.push(b'"');
    } else {
        let text = String::from_utf8_lossy(&out[start..]).into_owned();
        out.truncate(start - 1);
        push_json(out, text.as_str());
    }
}

/// Append two decimal digits.
fn push_2digits(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&[b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]);
}

/// Append a [`Timestamp`] as a JSON string, as its `Display` writes it
/// (`2026-01-DDTHH:MM:SSZ`) without the formatting machinery.
fn push_timestamp(out: &mut Vec<u8>, stamp: Timestamp) {
    let day = 1 + stamp.0 / 86_400;
    if day >= 100 {
        return push_display(out, stamp);
    }
    let seconds = stamp.0 % 86_400;
    out.extend_from_slice(b"\"2026-01-");
    push_2digits(out, day);
    out.push(b'T');
    push_2digits(out, seconds / 3600);
    out.push(b':');
    push_2digits(out, seconds / 60 % 60);
    out.push(b':');
    push_2digits(out, seconds % 60);
    out.extend_from_slice(b"Z\"");
}

/// Append a log line's trace id (`trace-<8 hex>-<position>`) as a JSON string.
fn push_trace_id(out: &mut Vec<u8>, event: &LogEvent) {
    if !event.trace_hex.iter().all(u8::is_ascii_hexdigit) || event.position > 9 {
        return push_display(out, event.trace_id());
    }
    out.extend_from_slice(b"\"trace-");
    out.extend_from_slice(&event.trace_hex);
    out.extend_from_slice(&[b'-', b'0' + event.position, b'"']);
}

fn json(value: &(impl Serialize + ?Sized)) -> String {
    let mut out = Vec::new();
    push_json(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// An alert's text before and after its `triggered_at` value.
fn alert_fragments(alert: &Alert) -> (String, String) {
    let before = format!(
        "{{\"severity\":{},\"service\":{},\"title\":{},\"description\":{},\"triggered_at\":",
        json(alert.severity.name()),
        json(alert.service.name()),
        json(alert.title),
        json(alert.description),
    );
    let after = format!(",\"runbook_hint\":{}}}", json(alert.runbook_hint));
    (before, after)
}

/// Append the active alerts (the inside of the list): an original task's from its
/// rendered fragments, a generated incident's rendered here.
fn alerts(out: &mut Vec<u8>, env: &Env, fragments: &Fragments) {
    if env.is_resolved() {
        return;
    }
    let mut stamp = Vec::with_capacity(24);
    push_timestamp(&mut stamp, Timestamp::base(env.seed()));
    let mut write = |index: usize, (before, after): &(String, String)| {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(before.as_bytes());
        out.extend_from_slice(&stamp);
        out.extend_from_slice(after.as_bytes());
    };
    match env.task_id() {
        Some(task) => {
            for (index, pair) in fragments.alerts[task as usize].iter().enumerate() {
                write(index, pair);
            }
        }
        None => {
            for (index, alert) in env.scenario().alerts().enumerate() {
                write(index, &alert_fragments(&alert));
            }
        }
    }
}

/// The fragments, rendered once.
struct Fragments {
    /// `{"service_name":..,"status":..,"depends_on":[..]}` per service and status.
    summaries: [[String; STATUS_COUNT]; SERVICE_COUNT],
    /// `"service":[..]` per service (a `dependency_graph` entry).
    graph: [String; SERVICE_COUNT],
    /// The whole `dependency_graph` object once `full` was inspected.
    graph_full: String,
    /// Per task, per alert: the text before and after the `triggered_at` value.
    alerts: Vec<Vec<(String, String)>>,
    /// Per mode: the metrics object between `service_name`'s value and `status`'s value,
    /// and after `status`'s value.
    metrics: [(String, String); MODE_COUNT],
    /// `,"available_services":[..],"available_actions":[..]}` (ends the observation).
    available: String,
}

static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| {
    let summaries = Service::ALL.map(|service| {
        Status::ALL.map(|status| {
            json(&super::Summary {
                service_name: service.name(),
                status: status.name(),
                depends_on: Some(DependsOn(DEPENDS_ON[service as usize])),
            })
        })
    });
    let graph = Service::ALL.map(|service| {
        let depends_on = DependsOn(DEPENDS_ON[service as usize]);
        format!("{}:{}", json(service.name()), json(&depends_on))
    });
    let graph_full = format!("{{{}}}", graph.join(","));
    let alerts = TaskId::ALL
        .iter()
        .map(|task| task.task().alerts.iter().map(alert_fragments).collect())
        .collect();
    let metrics = Mode::ALL.map(|mode| {
        let m = &METRICS[mode as usize];
        let middle = format!(
            ",\"cpu_percent\":{},\"memory_mb\":{},\"memory_limit_mb\":{},\
             \"request_latency_p50_ms\":{},\"request_latency_p99_ms\":{},\
             \"error_rate_percent\":{},\"active_connections\":{},\"connection_pool_size\":{},\
             \"disk_used_gb\":{},\"disk_total_gb\":{},\"status\":",
            json(&m.cpu_percent),
            json(&m.memory_mb),
            json(&m.memory_limit_mb),
            json(&m.request_latency_p50_ms),
            json(&m.request_latency_p99_ms),
            json(&m.error_rate_percent),
            json(&m.active_connections),
            json(&m.connection_pool_size),
            json(&m.disk_used_gb),
            json(&m.disk_total_gb),
        );
        let tail = format!(",\"uptime_seconds\":{}}}", json(&m.uptime_seconds));
        (middle, tail)
    });
    let available = format!(
        ",\"available_services\":{},\"available_actions\":{}}}",
        json(&Service::ALL.map(Service::name)),
        json(&ActionType::ALL.map(ActionType::name)),
    );
    Fragments {
        summaries,
        graph,
        graph_full,
        alerts,
        metrics,
        available,
    }
});

/// Append the six summaries of the fixed graph (the original tasks, ruleset v1).
fn summaries(out: &mut Vec<u8>, env: &Env, fragments: &Fragments) {
    out.push(b'[');
    for (index, service) in Service::ALL.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        let summary = &fragments.summaries[service as usize][env.status(service) as usize];
        out.extend_from_slice(summary.as_bytes());
    }
    out.push(b']');
}

/// Append the `observation` object.
fn observation(out: &mut Vec<u8>, env: &Env, outcome: Outcome, unknown: &str) {
    let fragments = &*FRAGMENTS;
    out.extend_from_slice(b"{\"action_result\":");
    push_display(out, ActionResult { outcome, unknown });
    out.extend_from_slice(if outcome.success() {
        b",\"success\":true,\"message\":"
    } else {
        b",\"success\":false,\"message\":"
    });
    push_display(out, Message { outcome });
    out.extend_from_slice(b",\"logs\":[");
    logs(out, env, outcome);
    out.extend_from_slice(b"],\"metrics\":");
    metrics(out, outcome, fragments);
    out.extend_from_slice(b",\"service_summaries\":");
    let per_incident = env.scenario().ruleset == Ruleset::V2;
    if per_incident {
        push_json(out, &Summaries(env));
    } else {
        summaries(out, env, fragments);
    }
    out.extend_from_slice(b",\"active_alerts\":[");
    alerts(out, env, fragments);
    out.extend_from_slice(b"],\"dependency_graph\":");
    dependency_graph(out, env, fragments, per_incident);
    out.extend_from_slice(b",\"step_number\":");
    push_json(out, &env.step_count());
    out.extend_from_slice(b",\"max_steps\":");
    push_json(out, &env.scenario().max_steps);
    out.extend_from_slice(b",\"steps_remaining\":");
    push_json(out, &env.steps_remaining());
    out.extend_from_slice(fragments.available.as_bytes());
}

/// Append the log lines a `read_logs` outcome shows (the inside of the list; none for
/// any other outcome).
fn logs(out: &mut Vec<u8>, env: &Env, outcome: Outcome) {
    let Outcome::LogsRead { service, mode } = outcome else {
        return;
    };
    for (index, event) in text::log_events(env.seed(), service, mode, env.step_count())
        .iter()
        .enumerate()
    {
        out.extend_from_slice(if index == 0 {
            b"{\"timestamp\":"
        } else {
            b",{\"timestamp\":"
        });
        push_timestamp(out, event.timestamp);
        out.extend_from_slice(b",\"level\":");
        push_str(out, event.level);
        out.extend_from_slice(b",\"service\":");
        push_str(out, event.service.name());
        out.extend_from_slice(b",\"message\":");
        push_str(out, event.message);
        out.extend_from_slice(b",\"trace_id\":");
        push_trace_id(out, event);
        out.push(b'}');
    }
}

/// Append the metrics object a `query_metrics` outcome shows, `null` for any other.
fn metrics(out: &mut Vec<u8>, outcome: Outcome, fragments: &Fragments) {
    let Outcome::MetricsRead {
        service,
        mode,
        status,
    } = outcome
    else {
        out.extend_from_slice(b"null");
        return;
    };
    let (middle, tail) = &fragments.metrics[mode as usize];
    out.extend_from_slice(b"{\"service_name\":");
    push_str(out, service.name());
    out.extend_from_slice(middle.as_bytes());
    push_str(out, status.name());
    out.extend_from_slice(tail.as_bytes());
}

/// Append the `dependency_graph` object: a per-incident graph rendered here, the fixed
/// graph's from its fragments (whole once `full` was inspected, else each inspected
/// service's entry).
fn dependency_graph(out: &mut Vec<u8>, env: &Env, fragments: &Fragments, per_incident: bool) {
    let lists = Lists::of(env);
    let inspected = &lists.dependencies_inspected;
    if per_incident {
        push_json(out, &Graph(env, &lists));
    } else if inspected.contains(&Inspected::Full) {
        out.extend_from_slice(fragments.graph_full.as_bytes());
    } else {
        out.push(b'{');
        let mut first = true;
        for entry in inspected {
            if let Inspected::Service(service) = entry {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(fragments.graph[*service as usize].as_bytes());
            }
        }
        out.push(b'}');
    }
}

/// Append the `info` object (the frame's `metadata`).
fn info(out: &mut Vec<u8>, env: &Env, outcome: Outcome) {
    out.extend_from_slice(b"{\"task_id\":");
    push_str(out, env.scenario().name());
    out.extend_from_slice(b",\"last_action_error\":");
    match outcome.error() {
        Some(code) => push_str(out, code.name()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"trajectory_reward\":");
    push_json(out, &shown(env.scenario(), env.trajectory_milli()));
    let after_done = outcome == Outcome::AlreadyDone;
    if let Some(grade) = env.final_grade().filter(|_| !after_done) {
        out.extend_from_slice(b",\"grader_score\":");
        push_json(out, &shown(env.scenario(), Milli::from(grade.score)));
        out.extend_from_slice(b",\"grader_details\":");
        push_json(out, &Details(grade));
    }
    out.push(b'}');
}

/// Append the `{observation, reward, done, info}` response of a reset or step, or, with
/// `frame = Some(with_reward)`, the WebSocket frame
/// `{"type":"observation","data":{"observation","reward","done","metadata"}}` (its reward
/// `null` when `with_reward` is false).
pub fn write_step_response(
    out: &mut Vec<u8>,
    env: &Env,
    outcome: Outcome,
    reward_milli: Milli,
    unknown: &str,
    frame: Option<bool>,
) {
    let reward = shown(env.scenario(), reward_milli);
    if frame.is_some() {
        out.extend_from_slice(b"{\"type\":\"observation\",\"data\":{\"observation\":");
    } else {
        out.extend_from_slice(b"{\"observation\":");
    }
    observation(out, env, outcome, unknown);
    out.extend_from_slice(b",\"reward\":");
    if frame == Some(false) {
        out.extend_from_slice(b"null");
    } else {
        push_json(out, &reward);
    }
    out.extend_from_slice(if env.is_done() {
        b",\"done\":true,"
    } else {
        b",\"done\":false,"
    });
    out.extend_from_slice(if frame.is_some() {
        b"\"metadata\":"
    } else {
        b"\"info\":"
    });
    info(out, env, outcome);
    out.extend_from_slice(if frame.is_some() { b"}}" } else { b"}" });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_indexed_by_discriminant() {
        // Goal: the fragment tables are built in `ALL` order and indexed with `as usize`;
        // both agree only while each `ALL[i] as usize == i`.
        assert!(
            Service::ALL
                .iter()
                .enumerate()
                .all(|(i, &v)| v as usize == i)
        );
        assert!(
            Status::ALL
                .iter()
                .enumerate()
                .all(|(i, &v)| v as usize == i)
        );
        assert!(Mode::ALL.iter().enumerate().all(|(i, &v)| v as usize == i));
        assert!(
            TaskId::ALL
                .iter()
                .enumerate()
                .all(|(i, &v)| v as usize == i)
        );
    }

    #[test]
    fn strings_escape_exactly_as_serde_json_does() {
        // Goal: the unescaped copy is taken only when serde_json would copy too.
        for byte in 0_u8..=0x7f {
            let text = format!("a{}b", char::from(byte));
            let mut ours = Vec::new();
            push_str(&mut ours, &text);
            assert_eq!(ours, serde_json::to_vec(&text).unwrap(), "byte {byte:#x}");
            let mut shown = Vec::new();
            push_display(&mut shown, &text);
            assert_eq!(shown, ours, "byte {byte:#x}");
        }
        let mut ours = Vec::new();
        push_str(&mut ours, "é\u{2028}😀");
        assert_eq!(ours, serde_json::to_vec("é\u{2028}😀").unwrap());
    }

    #[test]
    fn timestamps_and_trace_ids_match_their_display() {
        // Goal: the hand-written formats equal core's `Display` for every second of the
        // two days timestamps can fall on, and for every log line position.
        for seconds in (0..2 * 86_400).step_by(7) {
            let stamp = Timestamp(seconds);
            let mut ours = Vec::new();
            push_timestamp(&mut ours, stamp);
            assert_eq!(ours, serde_json::to_vec(&stamp.to_string()).unwrap());
        }
        for event in text::log_events(-5, Service::Database, Mode::DiskFull, 3) {
            let mut ours = Vec::new();
            push_trace_id(&mut ours, &event);
            let expected = serde_json::to_vec(&event.trace_id().to_string()).unwrap();
            assert_eq!(ours, expected);
        }
    }
}
