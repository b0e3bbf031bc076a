//! The four incident scenarios as plain data (`behaviour.md` §3).
//!
//! A [`Task`] lists its roots and affected services in the original's order (the order
//! `/state` prints) and carries per-service tables derived from those lists at compile
//! time, so the step loop indexes instead of searching.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::topology::ServiceMask;
use crate::vocab::{Fix, MODE_COUNT, Mode, SERVICE_COUNT, Service, Severity};

/// Number of tasks.
pub const TASK_COUNT: usize = 4;

/// One of the four tasks, in `/tasks` order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[repr(u8)]
pub enum TaskId {
    /// The gateway crashed.
    #[default]
    Easy,
    /// The order service leaks memory.
    Medium,
    /// The database disk is full; the failure cascades.
    Hard,
    /// Two roots: the database disk and the payment pool.
    Expert,
}

impl TaskId {
    /// Every task, in `/tasks` order.
    pub const ALL: [TaskId; TASK_COUNT] =
        [TaskId::Easy, TaskId::Medium, TaskId::Hard, TaskId::Expert];

    /// Return the task's data.
    #[must_use]
    pub const fn task(self) -> &'static Task {
        &TASKS[self as usize]
    }

    /// Return the wire id (`easy_task` ...); the display name is `task().name`.
    #[must_use]
    #[allow(clippy::misnamed_getters)]
    pub const fn name(self) -> &'static str {
        self.task().id
    }

    /// Parse an exact wire id.
    #[must_use]
    pub fn from_name(text: &str) -> Option<TaskId> {
        TaskId::ALL.into_iter().find(|id| id.name() == text)
    }

    /// Return the task at a dense index, or `None` past the end.
    #[must_use]
    pub const fn from_index(index: usize) -> Option<TaskId> {
        if index < TASK_COUNT {
            Some(TaskId::ALL[index])
        } else {
            None
        }
    }
}

/// A static alert shown until the incident is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// How urgent it is.
    pub severity: Severity,
    /// The service it fires on.
    pub service: Service,
    /// Short title.
    pub title: &'static str,
    /// One-sentence description.
    pub description: &'static str,
    /// What to do about it.
    pub runbook_hint: &'static str,
}

/// A root cause: a service, its failure mode and the one fix that resolves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Root {
    /// The broken service.
    pub service: Service,
    /// Its configured failure mode.
    pub mode: Mode,
    /// The fix that resolves it.
    pub fix: Fix,
}

/// A symptom: an affected service and the mode it shows while any root is unremediated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symptom {
    /// The affected service.
    pub service: Service,
    /// The mode it shows (a red herring).
    pub mode: Mode,
}

/// One scenario: its text, limits, hidden answer and derived lookup tables.
#[derive(Debug)]
pub struct Task {
    /// Which task this is.
    pub task_id: TaskId,
    /// Wire id, e.g. `easy_task`.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Long description served by `/tasks`.
    pub description: &'static str,
    /// Short description of the original `openenv.yaml`.
    pub short_description: &'static str,
    /// `easy`, `medium`, `hard` or `expert`.
    pub difficulty: &'static str,
    /// Episode length limit.
    pub max_steps: u8,
    /// The grader's step budget for full efficiency.
    pub optimal_steps: u8,
    /// Root causes, in the original's order.
    pub roots: &'static [Root],
    /// Affected (symptom) services, in the original's order.
    pub symptoms: &'static [Symptom],
    /// Alerts, in the original's order.
    pub alerts: &'static [Alert],
    /// Set of root services.
    pub root_mask: ServiceMask,
    /// Set of affected services.
    pub affected_mask: ServiceMask,
    /// Set of root failure modes, bit `m` for `Mode::ALL[m]`.
    pub root_mode_mask: u8,
    /// Per service: root mode for roots, symptom mode for affected, `Healthy` otherwise.
    pub broken_mode: [Mode; SERVICE_COUNT],
    /// Per service: the required fix for roots, `None` otherwise.
    pub required_fix: [Option<Fix>; SERVICE_COUNT],
    /// Per service: the most severe alert on it, `None` if there is none.
    pub alert_severity: [Option<Severity>; SERVICE_COUNT],
}

impl Task {
    /// Return the number of root causes.
    #[must_use]
    pub const fn root_count(&self) -> usize {
        self.roots.len()
    }

    /// Return the task's id.
    #[must_use]
    pub const fn id(&self) -> TaskId {
        self.task_id
    }
}

#[allow(clippy::too_many_arguments)]
const fn task(
    task_id: TaskId,
    text: [&'static str; 5],
    max_steps: u8,
    optimal_steps: u8,
    roots: &'static [Root],
    symptoms: &'static [Symptom],
    alerts: &'static [Alert],
) -> Task {
    let mut root_mask = 0;
    let mut affected_mask = 0;
    let mut root_mode_mask = 0;
    let mut broken_mode = [Mode::Healthy; SERVICE_COUNT];
    let mut required_fix = [None; SERVICE_COUNT];
    let mut alert_severity: [Option<Severity>; SERVICE_COUNT] = [None; SERVICE_COUNT];
    let mut index = 0;
    while index < roots.len() {
        let root = roots[index];
        assert!(root_mask & (1 << root.service as u8) == 0, "duplicate root");
        assert!(root.mode as usize != Mode::Healthy as usize, "healthy root");
        root_mask |= 1 << root.service as u8;
        root_mode_mask |= 1 << root.mode as u8;
        broken_mode[root.service as usize] = root.mode;
        required_fix[root.service as usize] = Some(root.fix);
        index += 1;
    }
    index = 0;
    while index < symptoms.len() {
        let symptom = symptoms[index];
        // The original's startup validation: roots and affected services never overlap.
        assert!(root_mask & (1 << symptom.service as u8) == 0, "overlap");
        affected_mask |= 1 << symptom.service as u8;
        broken_mode[symptom.service as usize] = symptom.mode;
        index += 1;
    }
    index = 0;
    while index < alerts.len() {
        let alert = alerts[index];
        let slot = alert.service as usize;
        let stronger = match alert_severity[slot] {
            None => true,
            Some(old) => alert.severity.priority() > old.priority(),
        };
        if stronger {
            alert_severity[slot] = Some(alert.severity);
        }
        index += 1;
    }
    assert!(!roots.is_empty() && optimal_steps < max_steps);
    assert!((max_steps as usize) <= crate::constants::STEP_COUNT_MAX);
    const { assert!(MODE_COUNT <= 8) };
    Task {
        task_id,
        id: text[0],
        name: text[1],
        description: text[2],
        short_description: text[3],
        difficulty: text[4],
        max_steps,
        optimal_steps,
        roots,
        symptoms,
        alerts,
        root_mask,
        affected_mask,
        root_mode_mask,
        broken_mode,
        required_fix,
        alert_severity,
    }
}

const fn root(service: Service, mode: Mode, fix: Fix) -> Root {
    Root { service, mode, fix }
}

const fn symptom(service: Service, mode: Mode) -> Symptom {
    Symptom { service, mode }
}

const fn alert(
    severity: Severity,
    service: Service,
    title: &'static str,
    description: &'static str,
    runbook_hint: &'static str,
) -> Alert {
    Alert {
        severity,
        service,
        title,
        description,
        runbook_hint,
    }
}

use Service::{ApiGateway, Database, OrderService, PaymentService};

/// The four tasks, indexed by [`TaskId`].
pub static TASKS: [Task; TASK_COUNT] = [
    task(
        TaskId::Easy,
        [
            "easy_task",
            "Single Service Crash",
            "The API gateway has crashed and must be diagnosed from logs and restored with the correct fix.",
            "Diagnose the crashed api_gateway and restore service.",
            "easy",
        ],
        8,
        3,
        &[root(ApiGateway, Mode::ServiceCrash, Fix::RestartService)],
        &[],
        &[alert(
            Severity::Critical,
            ApiGateway,
            "Gateway Unavailable",
            "External traffic is failing with 502/503 errors because the gateway is down.",
            "Check gateway process health and recent crash logs.",
        )],
    ),
    task(
        TaskId::Medium,
        [
            "medium_task",
            "Memory Leak in Order Service",
            "The order service is leaking memory, triggering OOM restarts and degraded checkout performance.",
            "Trace degraded checkout behavior back to an order_service memory leak.",
            "medium",
        ],
        10,
        4,
        &[root(OrderService, Mode::MemoryLeak, Fix::MemoryFix)],
        &[
            symptom(ApiGateway, Mode::HighLatency),
            symptom(PaymentService, Mode::ConnectionPoolExhaustion),
        ],
        &[
            alert(
                Severity::High,
                OrderService,
                "Order Service Memory Pressure",
                "Memory usage is approaching container limits with repeated OOM events.",
                "Inspect memory behavior before applying a targeted fix.",
            ),
            alert(
                Severity::Medium,
                ApiGateway,
                "Checkout Latency Elevated",
                "Gateway latency increased because downstream order operations are unhealthy.",
                "Differentiate symptoms from root cause.",
            ),
        ],
    ),
    task(
        TaskId::Hard,
        [
            "hard_task",
            "Cascading Failure from Database Disk Saturation",
            "The database volume is full, causing connection contention in payment, timeouts in order processing, and visible API failures.",
            "Trace the dependency chain to database and resolve.",
            "hard",
        ],
        12,
        6,
        &[root(Database, Mode::DiskFull, Fix::ClearDisk)],
        &[
            symptom(PaymentService, Mode::ConnectionPoolExhaustion),
            symptom(OrderService, Mode::HighLatency),
            symptom(ApiGateway, Mode::HighLatency),
        ],
        &[
            alert(
                Severity::Critical,
                ApiGateway,
                "Gateway Error Spike",
                "Customer-facing APIs are returning elevated 503 and timeout responses.",
                "Trace dependencies instead of treating only the visible symptom.",
            ),
            alert(
                Severity::Critical,
                PaymentService,
                "Connection Pool Exhaustion",
                "Payment workers are blocked waiting for database connections.",
                "Inspect the dependency chain and database health.",
            ),
        ],
    ),
    task(
        TaskId::Expert,
        [
            "expert_task",
            "Compound Failure Across Database and Payment Plane",
            "The database is disk constrained and the payment service is also exhausting its connection pool, creating a multi-root incident that requires tracing both failure paths before the platform fully recovers.",
            "Resolve a multi-root incident across database and payment_service.",
            "expert",
        ],
        14,
        8,
        &[
            root(Database, Mode::DiskFull, Fix::ClearDisk),
            root(
                PaymentService,
                Mode::ConnectionPoolExhaustion,
                Fix::DrainConnections,
            ),
        ],
        &[
            symptom(OrderService, Mode::HighLatency),
            symptom(ApiGateway, Mode::HighLatency),
        ],
        &[
            alert(
                Severity::Critical,
                ApiGateway,
                "Customer-Facing Errors Elevated",
                "API traffic is timing out because both the payment and database paths are unhealthy.",
                "Investigate both the visible symptom and the dependency chain.",
            ),
            alert(
                Severity::Critical,
                PaymentService,
                "Payment Workers Stalled",
                "Workers are blocked waiting on connections while the database is under storage pressure.",
                "Resolve the storage and pool bottlenecks in the correct order.",
            ),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_tables_follow_the_lists() {
        // Goal: the compile-time tables agree with the ordered lists of §3.
        let hard = TaskId::Hard.task();
        assert_eq!(hard.root_mask, 1 << 5);
        assert_eq!(hard.affected_mask, 0b011001);
        assert_eq!(hard.broken_mode[4], Mode::ConnectionPoolExhaustion);
        assert_eq!(hard.required_fix[5], Some(Fix::ClearDisk));
        assert_eq!(hard.required_fix[0], None);
        let expert = TaskId::Expert.task();
        assert_eq!(expert.root_count(), 2);
        assert_eq!(expert.root_mode_mask, (1 << 4) | (1 << 3));
        assert_eq!(
            TaskId::Medium.task().alert_severity[3],
            Some(Severity::High)
        );
        for (index, id) in TaskId::ALL.iter().enumerate() {
            assert_eq!(TaskId::from_name(id.name()), Some(*id));
            assert_eq!(id.task().id(), *id);
            assert_eq!(TaskId::from_index(index), Some(*id));
        }
        assert_eq!(TaskId::from_name("nonexistent_task"), None);
    }
}
