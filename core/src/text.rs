//! The original's observation text as static data: result and message strings, log
//! templates, metric tables, timestamps and the MD5-derived log choice (`behaviour.md`
//! §6, §10).
//!
//! Nothing here allocates: strings are `&'static str` and dynamic text is a
//! [`core::fmt::Display`] value the caller writes wherever it likes.

use core::fmt::{self, Display, Formatter, Write};

use md5::{Digest, Md5};

use crate::outcome::{FixRejection, Outcome};
use crate::topology::{DEPENDS_ON, ServiceMask, services};
use crate::vocab::{ActionType, MODE_COUNT, Mode, Service, Status};

/// Reset `action_result`.
pub const RESET_RESULT: &str =
    "Environment reset. Pager alert fired for a new production incident.";
/// Reset `message`.
pub const RESET_MESSAGE: &str =
    "Begin by reviewing active alerts and investigating the most critical service.";
/// `action_result` of the observation `/baseline` shows its policy.
pub const SNAPSHOT_RESULT: &str = "Current environment snapshot.";
/// `message` of the observation `/baseline` shows its policy.
pub const SNAPSHOT_MESSAGE: &str = "State snapshot.";

/// The `action_result` text of an outcome. `unknown` is the agent's raw string where the
/// original echoes it (an unknown service to inspect, an unknown action type).
#[derive(Clone, Copy, Debug)]
pub struct ActionResult<'a> {
    /// The outcome to describe.
    pub outcome: Outcome,
    /// The raw unknown name, if the outcome echoes one.
    pub unknown: &'a str,
}

/// The `message` text of an outcome.
#[derive(Clone, Copy, Debug)]
pub struct Message {
    /// The outcome to describe.
    pub outcome: Outcome,
}

impl Display for ActionResult<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::Reset => f.write_str(RESET_RESULT),
            Outcome::AlreadyDone => f.write_str("Episode is already complete."),
            Outcome::ServicesListed => f.write_str("Available services listed."),
            Outcome::DependenciesInspected(s) | Outcome::EdgesShown { service: s, .. } => {
                write!(f, "Dependencies inspected for {s}.")
            }
            Outcome::GraphShown(_) => {
                f.write_str("Dependency graph inspected (edges shown so far).")
            }
            Outcome::UnknownServiceInspected => write!(f, "Unknown service '{}'.", self.unknown),
            Outcome::FullGraphInspected => f.write_str("Full dependency graph inspected."),
            Outcome::LogsFailed => f.write_str("Log retrieval failed."),
            Outcome::LogsRead { service, .. } => write!(f, "Retrieved logs for {service}."),
            Outcome::MetricsFailed => f.write_str("Metrics query failed."),
            Outcome::MetricsRead { service, .. } => write!(f, "Retrieved metrics for {service}."),
            Outcome::DiagnoseInvalidService | Outcome::DiagnoseInvalidDiagnosis => {
                f.write_str("Diagnosis failed.")
            }
            Outcome::DiagnosisRecorded { service, .. } => {
                write!(f, "Diagnosis recorded for {service}.")
            }
            Outcome::DiagnosisIncorrect(s) => write!(f, "Diagnosis for {s} appears incorrect."),
            Outcome::FixInvalidService | Outcome::FixInvalidFix => f.write_str("Fix failed."),
            Outcome::FixRejected { service, fix, .. } => {
                write!(f, "Fix {fix} on {service} was ineffective/destructive.")
            }
            Outcome::FixApplied { service, .. } => {
                write!(f, "Fix applied successfully to {service}.")
            }
            Outcome::FixRelapsed { service, fix } => {
                write!(f, "Fix {fix} on {service} did not hold.")
            }
            Outcome::VerifyInvalidService => f.write_str("Verification failed."),
            Outcome::VerifiedAfterFix(s) | Outcome::VerifiedHealthy(s) => {
                write!(f, "Health verified for {s}.")
            }
            Outcome::VerifyBeforeFix(s) => write!(f, "Verification failed for {s}."),
            Outcome::InvalidActionType => write!(f, "Unknown action_type '{}'.", self.unknown),
        }
    }
}

impl Display for Message {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::Reset => f.write_str(RESET_MESSAGE),
            Outcome::AlreadyDone => f.write_str("Reset the environment to start a new task."),
            Outcome::ServicesListed => join(f, Service::ALL.iter(), ", "),
            Outcome::DependenciesInspected(s) => depends_on(f, s, DEPENDS_ON[s as usize]),
            Outcome::EdgesShown {
                service,
                depends_on: mask,
            } => depends_on(f, service, mask),
            Outcome::GraphShown(shown) => {
                f.write_str("Dependencies shown for: ")?;
                if shown == 0 {
                    f.write_str("no service yet")
                } else {
                    join(f, services(shown), ", ")
                }
            }
            Outcome::UnknownServiceInspected => {
                f.write_str("Use one of the known services from the topology.")
            }
            Outcome::FullGraphInspected => PythonGraph.fmt(f),
            Outcome::LogsFailed => f.write_str("Provide a valid service to read logs from."),
            Outcome::LogsRead { mode, .. } => write!(
                f,
                "Recent logs show a pattern most consistent with {}.",
                mode.spaced()
            ),
            Outcome::MetricsFailed => f.write_str("Provide a valid service to query metrics for."),
            Outcome::MetricsRead { mode, status, .. } => write!(
                f,
                "Metrics indicate status={status} with signal resembling {}.",
                mode.spaced()
            ),
            Outcome::DiagnoseInvalidService
            | Outcome::FixInvalidService
            | Outcome::VerifyInvalidService => f.write_str("Provide a valid service."),
            Outcome::DiagnoseInvalidDiagnosis => f.write_str("Provide a valid diagnosis value."),
            Outcome::DiagnosisRecorded { diagnosis, .. } => {
                write!(f, "The observed symptoms align with {diagnosis}.")
            }
            Outcome::DiagnosisIncorrect(_) => f.write_str(
                "Observed evidence does not support this diagnosis. Re-evaluate logs and metrics.",
            ),
            Outcome::FixInvalidFix => f.write_str("Provide a valid fix value."),
            Outcome::FixRejected {
                service, reason, ..
            } => match reason {
                FixRejection::Healthy => f.write_str("Avoid remediating healthy services."),
                FixRejection::AlreadyFixed => {
                    write!(f, "Service {service} has already been fixed.")
                }
                FixRejection::WrongFix => {
                    f.write_str("This remediation did not resolve the current failure mode.")
                }
                FixRejection::NotRoot => f.write_str(
                    "This service is failing because of a dependency; remediate the root cause.",
                ),
            },
            Outcome::FixRelapsed { service, .. } => write!(
                f,
                "{service} relapsed: a service it depends on is still failing. Fix that first."
            ),
            Outcome::FixApplied { service, fix } => {
                write!(f, "{service} is recovering after {fix}.")
            }
            Outcome::VerifiedAfterFix(s) => write!(f, "{s} is healthy after remediation."),
            Outcome::VerifiedHealthy(s) => write!(f, "{s} is already healthy."),
            Outcome::VerifyBeforeFix(_) => {
                f.write_str("Apply the correct remediation before verifying recovery.")
            }
            Outcome::InvalidActionType => {
                f.write_str("Valid action types: ")?;
                join(f, ActionType::ALL.iter(), ", ")
            }
        }
    }
}

fn join<T: Display>(
    f: &mut Formatter<'_>,
    items: impl Iterator<Item = T>,
    separator: &str,
) -> fmt::Result {
    for (index, item) in items.enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

/// The Python `str()` of the full dependency graph dict.
#[derive(Clone, Copy, Debug)]
pub struct PythonGraph;

impl Display for PythonGraph {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        python_graph(
            f,
            Service::ALL
                .into_iter()
                .map(|s| (s, DEPENDS_ON[s as usize])),
        )
    }
}

/// Write the Python `str()` of a dependency dict with `entries` (service, its calls).
fn python_graph(
    f: &mut Formatter<'_>,
    entries: impl Iterator<Item = (Service, ServiceMask)>,
) -> fmt::Result {
    f.write_char('{')?;
    for (index, (service, calls)) in entries.enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "'{service}': [")?;
        for (dep_index, dep) in services(calls).enumerate() {
            if dep_index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "'{dep}'")?;
        }
        f.write_char(']')?;
    }
    f.write_char('}')
}

/// Write "`service` depends on: ..." for the services of `calls`.
fn depends_on(f: &mut Formatter<'_>, service: Service, calls: ServiceMask) -> fmt::Result {
    write!(f, "{service} depends on: ")?;
    if calls == 0 {
        f.write_str("no downstream services")
    } else {
        join(f, services(calls), ", ")
    }
}

// ---------------------------------------------------------------------------------------
// Time

/// Seconds of 2026-01-01T12:00:00Z after 2026-01-01T00:00:00Z.
const BASE_SECONDS: u32 = 12 * 3600;
/// Seconds in a day; the seed offset wraps at this.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// A UTC instant in early January 2026, in seconds after 2026-01-01T00:00:00Z; it
/// displays as `2026-01-DDTHH:MM:SSZ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub u32);

impl Timestamp {
    /// Return the episode base time: 2026-01-01T12:00:00Z plus `seed mod 86400` seconds
    /// (Python's non-negative modulo). Alerts fire at this instant.
    #[must_use]
    pub fn base(seed: i64) -> Timestamp {
        Timestamp(BASE_SECONDS + seed.rem_euclid(SECONDS_PER_DAY) as u32)
    }
}

impl Display for Timestamp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let day = 1 + self.0 / 86_400;
        let seconds = self.0 % 86_400;
        write!(
            f,
            "2026-01-{day:02}T{:02}:{:02}:{:02}Z",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

// ---------------------------------------------------------------------------------------
// Logs

/// Log lines per `read_logs`.
pub const LOGS_PER_READ: usize = 4;
/// Templates per mode.
pub const TEMPLATES_PER_MODE: usize = 8;

/// One log template: level and message.
pub type Template = (&'static str, &'static str);

/// `LOG_TEMPLATES[mode]`: the eight templates of each mode, in index order.
///
/// The spec records one line each for the two modes no original task can produce
/// (`certificate_expired`, `config_drift`); it is their first template here, followed by
/// seven of ours, for the generated incidents that reach them.
pub static LOG_TEMPLATES: [[Template; TEMPLATES_PER_MODE]; MODE_COUNT] = [
    [
        ("FATAL", "Main worker exited unexpectedly with signal 11"),
        ("ERROR", "Readiness probe failed: connection refused"),
        (
            "FATAL",
            "Process supervisor detected crash loop after 5 restarts",
        ),
        (
            "ERROR",
            "Upstream requests failing because process is not listening",
        ),
        ("FATAL", "Container terminated with exit code 137"),
        ("ERROR", "Socket bind failed after process teardown"),
        ("WARN", "CrashLoopBackOff detected for deployment replicas"),
        ("ERROR", "No healthy workers available to accept traffic"),
    ],
    [
        ("WARN", "Resident memory climbed to 92% of limit over 15m"),
        (
            "ERROR",
            "OOM killer terminated worker after allocation failure",
        ),
        ("WARN", "Garbage collection pause exceeded 2400ms threshold"),
        (
            "ERROR",
            "Allocator unable to reserve memory for request context",
        ),
        (
            "WARN",
            "Heap growth trend is non-linear and still increasing",
        ),
        (
            "ERROR",
            "Request queue backlog growing under memory pressure",
        ),
        ("WARN", "Container restarted after repeated OOM events"),
        ("ERROR", "Memory usage did not fall after full GC cycle"),
    ],
    [
        ("WARN", "P99 latency breached SLO: 4230ms > 250ms"),
        ("WARN", "Thread pool saturation reached 100/100 workers"),
        (
            "ERROR",
            "Client requests timing out waiting for upstream response",
        ),
        (
            "WARN",
            "Latency regression observed across dependent RPC calls",
        ),
        (
            "ERROR",
            "Timeout while awaiting downstream checkout dependency",
        ),
        (
            "WARN",
            "Queue depth increasing faster than service throughput",
        ),
        ("ERROR", "Slow requests exceed alert threshold for 10m"),
        ("WARN", "Autoscaler lagging behind burst traffic demand"),
    ],
    [
        (
            "ERROR",
            "Database connection pool exhausted: 100/100 in use",
        ),
        ("WARN", "Average wait time for pool checkout is 5100ms"),
        (
            "ERROR",
            "Request aborted because no DB connection became available",
        ),
        ("WARN", "Long-lived transactions are holding pool slots"),
        ("ERROR", "Pool starvation causing circuit breaker to open"),
        ("WARN", "Retry storm detected against backing datastore"),
        ("ERROR", "Timed out acquiring pooled connection"),
        ("WARN", "Connection leak suspected in payment workflow"),
    ],
    [
        ("ERROR", "No space left on device while writing WAL segment"),
        ("FATAL", "Database checkpoint failed: disk allocation error"),
        (
            "ERROR",
            "Temporary file creation failed during query execution",
        ),
        ("WARN", "Filesystem usage at 99.2% on primary volume"),
        (
            "ERROR",
            "Archive log shipping stalled because target volume is full",
        ),
        (
            "FATAL",
            "Write-ahead logging suspended due to disk pressure",
        ),
        (
            "WARN",
            "Background vacuum cannot complete on saturated disk",
        ),
        (
            "ERROR",
            "Replication lag increasing after storage write failures",
        ),
    ],
    [
        ("ERROR", "TLS handshake failed: certificate has expired"),
        (
            "ERROR",
            "x509: certificate is not valid after its NotAfter date",
        ),
        ("WARN", "Peer rejected client certificate during mutual TLS"),
        (
            "ERROR",
            "Outbound HTTPS calls failing with certificate verify failed",
        ),
        (
            "WARN",
            "Certificate expiry monitor reports 0 days remaining",
        ),
        (
            "ERROR",
            "Secure channel could not be established with upstream",
        ),
        (
            "WARN",
            "TLS session resumption disabled after handshake errors",
        ),
        (
            "ERROR",
            "Handshake failures account for most rejected connections",
        ),
    ],
    [
        (
            "ERROR",
            "Loaded DB_HOST does not match expected cluster endpoint",
        ),
        (
            "WARN",
            "Configuration checksum differs from the deployed release",
        ),
        (
            "ERROR",
            "Feature flag set to an unsupported value after reload",
        ),
        (
            "WARN",
            "Runtime config drifted from the version in source control",
        ),
        (
            "ERROR",
            "Requests routed to a decommissioned backend after config change",
        ),
        (
            "WARN",
            "Hot reload applied an unreviewed configuration change",
        ),
        (
            "ERROR",
            "Timeout settings differ from the validated baseline",
        ),
        (
            "WARN",
            "Config audit found keys overridden outside the pipeline",
        ),
    ],
    [
        ("INFO", "Health check OK for all worker threads"),
        ("INFO", "Processed requests within normal latency envelope"),
        ("DEBUG", "Connection reuse remains within target range"),
        ("INFO", "Background jobs completed successfully"),
        ("DEBUG", "Cache hit ratio steady above 93%"),
        ("INFO", "No error budget burn detected in the last interval"),
        ("DEBUG", "Resource utilization remains within baseline"),
        ("INFO", "Heartbeat and readiness probes are passing"),
    ],
];

/// One rendered-on-demand log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// When it happened.
    pub timestamp: Timestamp,
    /// `INFO`, `WARN` ...
    pub level: &'static str,
    /// The service it came from.
    pub service: Service,
    /// The template text.
    pub message: &'static str,
    /// Position 0..4 within the read; the trace id ends with it.
    pub position: u8,
    /// First eight hex digits of `md5("{seed}:{service}")`.
    pub trace_hex: [u8; 8],
}

impl LogEvent {
    /// Return the trace id, `trace-<8 hex>-<position>`.
    #[must_use]
    pub fn trace_id(&self) -> TraceId {
        TraceId {
            hex: self.trace_hex,
            position: self.position,
        }
    }
}

/// A log line's trace id, displayed as `trace-<8 hex>-<position>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceId {
    hex: [u8; 8],
    position: u8,
}

impl Display for TraceId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let hex = core::str::from_utf8(&self.hex).map_err(|_| fmt::Error)?;
        write!(f, "trace-{hex}-{}", self.position)
    }
}

/// Return the four log lines `read_logs` shows for `service` in `mode` at `step`
/// (the already incremented step count).
#[must_use]
pub fn log_events(seed: i64, service: Service, mode: Mode, step: u8) -> [LogEvent; LOGS_PER_READ] {
    let choice = md5_prefix(format_args!("{seed}:{service}:{mode}:{step}"));
    let first = u32::from_be_bytes(choice) as usize % TEMPLATES_PER_MODE;
    let trace_hex = hex8(md5_prefix(format_args!("{seed}:{service}")));
    let base = Timestamp::base(seed).0;
    core::array::from_fn(|position| {
        let (level, message) =
            LOG_TEMPLATES[mode as usize][(first + position) % TEMPLATES_PER_MODE];
        LogEvent {
            timestamp: Timestamp(base - (LOGS_PER_READ - position) as u32 * 15),
            level,
            service,
            message,
            position: position as u8,
            trace_hex,
        }
    })
}

/// Return the first four bytes of the MD5 of formatted text (at most 128 bytes).
fn md5_prefix(args: fmt::Arguments<'_>) -> [u8; 4] {
    let mut text: heapless::String<128> = heapless::String::new();
    // The inputs are a decimal i64 (at most 20 bytes), a service and a mode name (at most
    // 26 each) and a step count: always well under 128 bytes.
    let written = text.write_fmt(args);
    debug_assert!(written.is_ok());
    let digest = Md5::digest(text.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

fn hex8(bytes: [u8; 4]) -> [u8; 8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; 8];
    for (index, byte) in bytes.iter().enumerate() {
        out[2 * index] = DIGITS[usize::from(byte >> 4)];
        out[2 * index + 1] = DIGITS[usize::from(byte & 15)];
    }
    out
}

// ---------------------------------------------------------------------------------------
// Metrics

/// The numbers `query_metrics` shows for a mode (the seed has no effect).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricValues {
    /// CPU use.
    pub cpu_percent: f64,
    /// Resident memory.
    pub memory_mb: f64,
    /// Memory limit.
    pub memory_limit_mb: f64,
    /// Median latency.
    pub request_latency_p50_ms: f64,
    /// Tail latency.
    pub request_latency_p99_ms: f64,
    /// Error rate.
    pub error_rate_percent: f64,
    /// Connections in use.
    pub active_connections: u32,
    /// Pool size.
    pub connection_pool_size: u32,
    /// Disk used.
    pub disk_used_gb: f64,
    /// Disk size.
    pub disk_total_gb: f64,
    /// Uptime.
    pub uptime_seconds: f64,
}

const fn metric_row(
    [cpu, memory, p50, p99, errors]: [f64; 5],
    active_connections: u32,
    disk_used_gb: f64,
    uptime_seconds: f64,
) -> MetricValues {
    MetricValues {
        cpu_percent: cpu,
        memory_mb: memory,
        memory_limit_mb: 2048.0,
        request_latency_p50_ms: p50,
        request_latency_p99_ms: p99,
        error_rate_percent: errors,
        active_connections,
        connection_pool_size: 100,
        disk_used_gb,
        disk_total_gb: 100.0,
        uptime_seconds,
    }
}

const HEALTHY_METRICS: MetricValues =
    metric_row([18.0, 512.0, 18.0, 55.0, 0.1], 18, 24.0, 172_800.0);

/// `METRICS[mode]`: the metric values of each mode (`behaviour.md` §10).
pub static METRICS: [MetricValues; MODE_COUNT] = [
    metric_row([0.0, 0.0, 0.0, 0.0, 100.0], 0, 24.0, 0.0),
    metric_row([77.0, 1900.0, 280.0, 4200.0, 12.5], 18, 24.0, 172_800.0),
    metric_row([54.0, 980.0, 1100.0, 6200.0, 9.7], 91, 24.0, 172_800.0),
    metric_row([36.0, 840.0, 2400.0, 12000.0, 27.0], 100, 24.0, 172_800.0),
    metric_row([14.0, 1100.0, 900.0, 14000.0, 41.0], 18, 99.2, 172_800.0),
    // certificate_expired: cheap, fast failures (handshakes rejected), idle connections.
    metric_row([9.0, 540.0, 12.0, 40.0, 63.0], 2, 24.0, 172_800.0),
    // config_drift: a recent reload, moderate errors and latency.
    metric_row([31.0, 610.0, 140.0, 1900.0, 18.0], 40, 24.0, 1_260.0),
    HEALTHY_METRICS,
];

/// The title, description and runbook hint of a generated incident's alert on a service
/// with `status` (by status, never by mode: an alert does not name a root's mode).
#[must_use]
pub const fn generated_alert(status: Status) -> (&'static str, &'static str, &'static str) {
    match status {
        Status::Down => (
            "Service Unavailable",
            "Requests to the service are failing.",
            "Check the service before its callers.",
        ),
        Status::Critical => (
            "Service Critical",
            "The service is close to failing.",
            "Gather evidence before remediating.",
        ),
        Status::Degraded => (
            "Service Degraded",
            "The service is slow or failing part of its requests.",
            "Differentiate symptoms from root cause.",
        ),
        Status::Healthy | Status::Recovering => (
            "Anomaly Detected",
            "An unusual signal was observed on the service.",
            "Investigate before acting.",
        ),
    }
}

/// A float as Python's `repr` prints it (`18.0`, `0.1`, `99.2`).
#[derive(Clone, Copy, Debug)]
pub struct PythonFloat(pub f64);

impl Display for PythonFloat {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let value = self.0;
        if value.is_finite() && value.abs() < 1e15 && value == (value as i64) as f64 {
            write!(f, "{value:.1}")
        } else {
            write!(f, "{value}")
        }
    }
}

/// The Python `str()` of the metrics dict of `service` (the baseline reads it).
#[derive(Clone, Copy, Debug)]
pub struct PythonMetrics {
    /// The service queried.
    pub service: Service,
    /// Its mode (selects the numbers).
    pub mode: Mode,
    /// Its status.
    pub status: Status,
}

impl Display for PythonMetrics {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let m = &METRICS[self.mode as usize];
        write!(
            f,
            "{{'service_name': '{}', 'cpu_percent': {}, 'memory_mb': {}, 'memory_limit_mb': {}, \
             'request_latency_p50_ms': {}, 'request_latency_p99_ms': {}, \
             'error_rate_percent': {}, 'active_connections': {}, 'connection_pool_size': {}, \
             'disk_used_gb': {}, 'disk_total_gb': {}, 'status': '{}', 'uptime_seconds': {}}}",
            self.service,
            PythonFloat(m.cpu_percent),
            PythonFloat(m.memory_mb),
            PythonFloat(m.memory_limit_mb),
            PythonFloat(m.request_latency_p50_ms),
            PythonFloat(m.request_latency_p99_ms),
            PythonFloat(m.error_rate_percent),
            m.active_connections,
            m.connection_pool_size,
            PythonFloat(m.disk_used_gb),
            PythonFloat(m.disk_total_gb),
            self.status,
            PythonFloat(m.uptime_seconds),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_text_is_the_python_dict() {
        // Goal: the full-graph message equals the original's str() of its dict, byte for byte.
        assert_eq!(
            PythonGraph.to_string(),
            "{'api_gateway': ['auth_service', 'order_service'], 'auth_service': ['user_service'], \
             'user_service': ['database'], 'order_service': ['payment_service', 'database'], \
             'payment_service': ['database'], 'database': []}"
        );
    }

    #[test]
    fn timestamps_follow_the_seed() {
        // Goal: base time is 12:00:00 plus seed mod 86400, with Python's modulo for negatives.
        assert_eq!(Timestamp::base(42).to_string(), "2026-01-01T12:00:42Z");
        assert_eq!(Timestamp::base(-5).to_string(), "2026-01-02T11:59:55Z");
        assert_eq!(Timestamp::base(0).to_string(), "2026-01-01T12:00:00Z");
    }

    #[test]
    fn log_choice_matches_the_spec_example() {
        // Goal: §10's example: seed 42, api_gateway, high_latency, step 2 -> template 0,
        // trace-669d52b3-k, timestamps 11:59:42 .. 12:00:27.
        let events = log_events(42, Service::ApiGateway, Mode::HighLatency, 2);
        assert_eq!(events[0].message, LOG_TEMPLATES[2][0].1);
        assert_eq!(events[3].trace_id().to_string(), "trace-669d52b3-3");
        assert_eq!(events[0].timestamp.to_string(), "2026-01-01T11:59:42Z");
        assert_eq!(events[3].timestamp.to_string(), "2026-01-01T12:00:27Z");
    }

    #[test]
    fn python_floats_keep_their_point() {
        // Goal: integral floats print with `.0`, others in shortest form.
        assert_eq!(PythonFloat(18.0).to_string(), "18.0");
        assert_eq!(PythonFloat(0.1).to_string(), "0.1");
        assert_eq!(PythonFloat(172_800.0).to_string(), "172800.0");
        assert_eq!(PythonFloat(99.2).to_string(), "99.2");
    }
}
