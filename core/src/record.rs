//! The original's ordered state lists, derived from the action history.
//!
//! The original appends to `services_investigated`, `dependencies_inspected`,
//! `metrics_queried`, `correct_fixes`, `successful_verifications`, `diagnoses` and
//! `fixes_applied` as steps happen. Replaying the history with a few masks gives the same
//! lists in the same order, so the environment stores each fact once.

use heapless::Vec as BoundedVec;

use crate::action::Arg;
use crate::constants::STEP_COUNT_MAX;
use crate::env::{Env, Record};
use crate::topology::{ServiceMask, bit, contains};
use crate::vocab::{ActionType, Fix, Mode, SERVICE_COUNT, Service};

/// An entry of `dependencies_inspected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inspected {
    /// One service.
    Service(Service),
    /// The `"full"` sentinel.
    Full,
}

/// An entry of `diagnoses`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiagnosisRecord {
    /// The service diagnosed.
    pub service: Service,
    /// The diagnosis given.
    pub diagnosis: Mode,
    /// The service's mode at the time.
    pub expected: Mode,
    /// Whether they matched.
    pub correct: bool,
}

/// An entry of `fixes_applied`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixRecord {
    /// The service.
    pub service: Service,
    /// The fix.
    pub fix: Fix,
    /// Whether it succeeded (otherwise it was destructive).
    pub success: bool,
}

/// Ordered services, at most six.
pub type ServiceList = BoundedVec<Service, SERVICE_COUNT, u8>;

/// The ordered lists of `/state`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lists {
    /// `services_investigated`.
    pub services_investigated: ServiceList,
    /// `dependencies_inspected`.
    pub dependencies_inspected: BoundedVec<Inspected, { SERVICE_COUNT + 1 }, u8>,
    /// `metrics_queried`.
    pub metrics_queried: ServiceList,
    /// `diagnoses`.
    pub diagnoses: BoundedVec<DiagnosisRecord, STEP_COUNT_MAX, u8>,
    /// `fixes_applied`.
    pub fixes_applied: BoundedVec<FixRecord, STEP_COUNT_MAX, u8>,
    /// `correct_fixes` (its keys, in insertion order).
    pub correct_fixes: ServiceList,
    /// `successful_verifications`.
    pub successful_verifications: ServiceList,
}

fn push_once(list: &mut ServiceList, seen: &mut ServiceMask, service: Service) {
    if !contains(*seen, service) {
        *seen |= bit(service);
        // At most six distinct services: the push cannot fail.
        let _ = list.push(service);
    }
}

impl Lists {
    /// Derive the lists from an environment's history.
    #[must_use]
    pub fn of(env: &Env) -> Lists {
        let mut lists = Lists::default();
        let (mut investigated, mut queried, mut inspected) = (0, 0, 0);
        let (mut fixed, mut verified) = (0, 0);
        let mut full = false;
        for record in env.history() {
            lists.apply(
                record,
                [
                    &mut investigated,
                    &mut queried,
                    &mut inspected,
                    &mut fixed,
                    &mut verified,
                ],
                &mut full,
            );
        }
        debug_assert_eq!(investigated, env.investigated());
        debug_assert_eq!(fixed, env.fixed());
        debug_assert_eq!(verified, env.verified());
        lists
    }

    fn apply(&mut self, record: &Record, masks: [&mut ServiceMask; 5], full: &mut bool) {
        let [investigated, queried, inspected, fixed, verified] = masks;
        let action = record.action;
        let service = action.service.known();
        match (action.kind, service) {
            (Some(ActionType::ReadLogs), Some(s)) => {
                push_once(&mut self.services_investigated, investigated, s);
            }
            (Some(ActionType::QueryMetrics), Some(s)) => {
                push_once(&mut self.metrics_queried, queried, s);
            }
            (Some(ActionType::InspectDependencies), Some(s)) if !contains(*inspected, s) => {
                *inspected |= bit(s);
                let _ = self.dependencies_inspected.push(Inspected::Service(s));
            }
            (Some(ActionType::InspectDependencies), None)
                if action.service == Arg::Missing && !*full =>
            {
                *full = true;
                let _ = self.dependencies_inspected.push(Inspected::Full);
            }
            (Some(ActionType::Diagnose), Some(s)) => {
                if let Some(diagnosis) = action.diagnosis.known().filter(|d| d.is_diagnosis()) {
                    let _ = self.diagnoses.push(DiagnosisRecord {
                        service: s,
                        diagnosis,
                        expected: record.expected,
                        correct: record.success,
                    });
                }
            }
            (Some(ActionType::ApplyFix), Some(s)) => {
                if let Some(fix) = action.fix.known() {
                    let _ = self.fixes_applied.push(FixRecord {
                        service: s,
                        fix,
                        success: record.success,
                    });
                    if record.success {
                        push_once(&mut self.correct_fixes, fixed, s);
                    }
                }
            }
            // A fixed service's verification fails only while its fix has not landed
            // (ruleset v2).
            (Some(ActionType::VerifyHealth), Some(s)) if contains(*fixed, s) && record.success => {
                push_once(&mut self.successful_verifications, verified, s);
            }
            _ => {}
        }
    }
}
