//! The original's rule-based baseline policy (`behaviour.md` §13) as a pure function of the
//! state and the observation it is shown.
//!
//! The policy reads text: it lowercases the observation's message, result, alerts, log
//! lines and metrics dict and looks for keywords. We render exactly that text into a
//! bounded stack buffer and search it, so the choice matches the original for every
//! observation, including ones that echo an agent's unknown service name.

use core::fmt::{self, Display, Formatter, Write};

use crate::action::Action;
use crate::constants::SIGNAL_BYTES_MAX;
use crate::env::Env;
use crate::outcome::Outcome;
use crate::text::{self, ActionResult, Message, PythonMetrics};
use crate::topology::contains;
use crate::vocab::{ActionType, Fix, Mode, Service};

/// What observation the policy is shown.
#[derive(Clone, Copy, Debug)]
pub enum Shown<'a> {
    /// The fresh snapshot `GET /baseline` builds: fixed texts, no logs, no metrics.
    Snapshot,
    /// The observation returned by the environment's most recent reset or step (what
    /// `eval_baseline.py` and `inference.py` pass).
    LastStep {
        /// That step's outcome.
        outcome: Outcome,
        /// The raw unknown name the outcome echoes, if any.
        unknown: &'a str,
    },
}

/// Which decision rule fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Rule 1: nothing done yet.
    Enumerate,
    /// Rule 2: read the target's logs.
    ReadLogs,
    /// Rule 3: inspect the target's dependencies.
    TraceDependencies,
    /// Rule 5: query the target's metrics.
    QueryMetrics,
    /// Rule 6: diagnose the target.
    Diagnose,
    /// Rule 7: fix the target.
    ApplyFix,
    /// Rule 8: verify the target.
    Verify,
    /// Rule 9: look around the target again.
    Reinspect,
}

/// The policy's decision: an action, the rule and the inferred diagnosis and fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The action to take.
    pub action: Action,
    /// The rule that chose it.
    pub rule: Rule,
    /// The service the policy focuses on.
    pub target: Service,
    /// The diagnosis inferred from the text (or the `service_crash` fallback).
    pub diagnosis: Mode,
    /// The fix inferred from the text (or the `restart_service` fallback).
    pub fix: Fix,
}

impl Choice {
    /// Return the original's `reasoning` string.
    #[must_use]
    pub fn reasoning(&self) -> Reasoning {
        Reasoning(*self)
    }
}

/// The `reasoning` text of a [`Choice`].
#[derive(Clone, Copy, Debug)]
pub struct Reasoning(Choice);

impl Display for Reasoning {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let Choice {
            rule,
            target: t,
            diagnosis: d,
            fix,
            ..
        } = self.0;
        match rule {
            Rule::Enumerate => {
                f.write_str("Enumerate service topology before triage. confidence=0.82")
            }
            Rule::ReadLogs => write!(
                f,
                "Start on the alerting service {t} to avoid blind remediation. confidence=0.84"
            ),
            Rule::TraceDependencies => write!(
                f,
                "Trace downstream dependencies from {t} to find root causes. confidence=0.80"
            ),
            Rule::QueryMetrics => write!(
                f,
                "Check service metrics to confirm the nature of the incident on {t}. confidence=0.77"
            ),
            Rule::Diagnose => write!(f, "Symptoms strongly suggest {d} on {t}. confidence=0.84"),
            Rule::ApplyFix => write!(
                f,
                "Apply the most likely corrective action {fix} to {t}. confidence=0.81"
            ),
            Rule::Verify => write!(
                f,
                "Verify whether {t} is healthy after investigation or remediation. confidence=0.88"
            ),
            Rule::Reinspect => write!(
                f,
                "Inspect dependency relationships around {t} to locate remaining root causes. confidence=0.72"
            ),
        }
    }
}

/// Keyword groups, checked in order; the first group with a hit decides.
const GROUPS: [(&[&str], Mode, Fix); 3] = [
    (
        &[
            "status=down",
            "gateway is down",
            "crash",
            "crashloop",
            "connection refused",
            "worker exited",
        ],
        Mode::ServiceCrash,
        Fix::RestartService,
    ),
    (
        &[
            "disk full",
            "no space left",
            "storage pressure",
            "wal",
            "filesystem usage",
        ],
        Mode::DiskFull,
        Fix::ClearDisk,
    ),
    (
        &["memory", "oom", "heap", "allocator", "garbage collection"],
        Mode::MemoryLeak,
        Fix::MemoryFix,
    ),
];

/// Choose the next action for `env` given what the policy is shown.
#[must_use]
pub fn choose(env: &Env, shown: Shown<'_>) -> Choice {
    let (diagnosis, fix) = infer(env, shown);
    let target = target(env);
    let choice = |action, rule| Choice {
        action,
        rule,
        target,
        diagnosis,
        fix,
    };
    if env.history().is_empty() {
        return choice(Action::list_services(), Rule::Enumerate);
    }
    let on = |kind| Action::on(kind, target);
    if !contains(env.investigated(), target) {
        choice(on(ActionType::ReadLogs), Rule::ReadLogs)
    } else if !contains(env.inspected(), target) {
        choice(on(ActionType::InspectDependencies), Rule::TraceDependencies)
    } else if !contains(env.metrics_queried(), target) {
        choice(on(ActionType::QueryMetrics), Rule::QueryMetrics)
    } else if !contains(env.diagnosed(), target) {
        choice(Action::diagnose(target, diagnosis), Rule::Diagnose)
    } else if !contains(env.fixed(), target) {
        choice(Action::apply_fix(target, fix), Rule::ApplyFix)
    } else if !contains(env.verified(), target) {
        choice(on(ActionType::VerifyHealth), Rule::Verify)
    } else {
        choice(on(ActionType::InspectDependencies), Rule::Reinspect)
    }
}

/// The target: the first alert by severity (stable), else the worst service by status
/// (stable), in canonical order on ties.
fn target(env: &Env) -> Service {
    if !env.is_resolved() {
        let best =
            env.scenario()
                .alerts()
                .fold(None::<crate::task::Alert>, |best, alert| match best {
                    Some(b) if b.severity.priority() >= alert.severity.priority() => Some(b),
                    _ => Some(alert),
                });
        if let Some(alert) = best {
            return alert.service;
        }
    }
    let mut best = Service::ApiGateway;
    for service in Service::ALL {
        if env.status(service).priority() > env.status(best).priority() {
            best = service;
        }
    }
    best
}

/// Lowercase the observation's text and return the first matching group's diagnosis and
/// fix, or the `service_crash` / `restart_service` fallback.
fn infer(env: &Env, shown: Shown<'_>) -> (Mode, Fix) {
    let mut signal = Lowercase(heapless::String::new());
    // The longest signal is under half of SIGNAL_BYTES_MAX (see constants); a longer one
    // would be cut, never overflow.
    let _ = write_signal(&mut signal, env, shown);
    let text = signal.0.as_str();
    GROUPS
        .iter()
        .find(|(keywords, _, _)| keywords.iter().any(|keyword| text.contains(keyword)))
        .map_or(
            (Mode::ServiceCrash, Fix::RestartService),
            |(_, mode, fix)| (*mode, *fix),
        )
}

fn write_signal(out: &mut impl Write, env: &Env, shown: Shown<'_>) -> fmt::Result {
    let (outcome, unknown) = match shown {
        Shown::Snapshot => {
            write!(out, "{} {}", text::SNAPSHOT_MESSAGE, text::SNAPSHOT_RESULT)?;
            (None, "")
        }
        Shown::LastStep { outcome, unknown } => {
            write!(
                out,
                "{} {}",
                Message { outcome },
                ActionResult { outcome, unknown }
            )?;
            (Some(outcome), unknown)
        }
    };
    let _ = unknown;
    if !env.is_resolved() {
        for alert in env.scenario().alerts() {
            write!(
                out,
                " {} {} {}",
                alert.title, alert.description, alert.runbook_hint
            )?;
        }
    }
    match outcome {
        Some(Outcome::LogsRead { service, mode }) => {
            for event in text::log_events(env.seed(), service, mode, env.step_count()) {
                write!(out, " {}", event.message)?;
            }
        }
        Some(Outcome::MetricsRead {
            service,
            mode,
            status,
        }) => {
            write!(
                out,
                " {}",
                PythonMetrics {
                    service,
                    mode,
                    status
                }
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// A writer that lowercases like Python's `str.lower` into a bounded buffer.
struct Lowercase(heapless::String<SIGNAL_BYTES_MAX>);

impl Write for Lowercase {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for character in text.chars() {
            for lower in character.to_lowercase() {
                self.0.push(lower).map_err(|_| fmt::Error)?;
            }
        }
        Ok(())
    }
}
