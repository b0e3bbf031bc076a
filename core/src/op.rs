//! An action decoded once into the operation the step applies.
//!
//! [`Op::decode`] settles every argument question of an [`Action`] (missing, unknown,
//! `healthy` as a diagnosis, an unknown action type) up front, so [`crate::Env`]'s one
//! step path only applies operations on valid values. [`OPS`] holds the 115 discrete
//! actions decoded at compile time; `Env::step(action)` and `Env::step_index(index)` both
//! end in the same `Env::apply(op)`.

use crate::action::{ACTIONS, Action, Arg};
use crate::constants::ACTION_COUNT;
use crate::outcome::Outcome;
use crate::vocab::{ActionType, Fix, Mode, Service};

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// `list_services`.
    ListServices,
    /// `inspect_dependencies` of one service.
    Inspect,
    /// `inspect_dependencies` without a service.
    FullGraph,
    /// `read_logs`.
    ReadLogs,
    /// `query_metrics`.
    QueryMetrics,
    /// `diagnose` with a valid diagnosis.
    Diagnose,
    /// `apply_fix` with a valid fix.
    ApplyFix,
    /// `verify_health`.
    Verify,
    /// An invalid action: counts as invalid and has the fixed outcome `failure`.
    Invalid,
}

/// One decoded action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// The action as given (stored in the history).
    pub action: Action,
    /// What it does.
    pub kind: OpKind,
    /// The service (`api_gateway`, unused, where there is none).
    pub service: Service,
    /// The diagnosis of a `diagnose` (unused otherwise).
    pub diagnosis: Mode,
    /// The fix of an `apply_fix` (unused otherwise).
    pub fix: Fix,
    /// The outcome of an [`OpKind::Invalid`] operation (unused otherwise).
    pub failure: Outcome,
}

impl Op {
    /// Decode `action` (the argument rules of `behaviour.md` §6).
    #[must_use]
    pub const fn decode(action: Action) -> Op {
        let mut op = Op {
            action,
            kind: OpKind::Invalid,
            service: Service::ApiGateway,
            diagnosis: Mode::Healthy,
            fix: Fix::RestartService,
            failure: Outcome::InvalidActionType,
        };
        let service = match action.service {
            Arg::Known(service) => Some(service),
            _ => None,
        };
        if let Some(service) = service {
            op.service = service;
        }
        let Some(kind) = action.kind else {
            return op;
        };
        let (kind, failure) = match kind {
            ActionType::ListServices => (OpKind::ListServices, Outcome::InvalidActionType),
            ActionType::InspectDependencies => match action.service {
                Arg::Known(_) => (OpKind::Inspect, Outcome::InvalidActionType),
                Arg::Missing => (OpKind::FullGraph, Outcome::InvalidActionType),
                Arg::Unknown => (OpKind::Invalid, Outcome::UnknownServiceInspected),
            },
            ActionType::ReadLogs => needs(service, OpKind::ReadLogs, Outcome::LogsFailed),
            ActionType::QueryMetrics => {
                needs(service, OpKind::QueryMetrics, Outcome::MetricsFailed)
            }
            ActionType::VerifyHealth => {
                needs(service, OpKind::Verify, Outcome::VerifyInvalidService)
            }
            ActionType::Diagnose => match (service, action.diagnosis) {
                (None, _) => (OpKind::Invalid, Outcome::DiagnoseInvalidService),
                (Some(_), Arg::Known(diagnosis)) if diagnosis.is_diagnosis() => {
                    op.diagnosis = diagnosis;
                    (OpKind::Diagnose, Outcome::InvalidActionType)
                }
                (Some(_), _) => (OpKind::Invalid, Outcome::DiagnoseInvalidDiagnosis),
            },
            ActionType::ApplyFix => match (service, action.fix) {
                (None, _) => (OpKind::Invalid, Outcome::FixInvalidService),
                (Some(_), Arg::Known(fix)) => {
                    op.fix = fix;
                    (OpKind::ApplyFix, Outcome::InvalidActionType)
                }
                (Some(_), _) => (OpKind::Invalid, Outcome::FixInvalidFix),
            },
        };
        op.kind = kind;
        op.failure = failure;
        op
    }
}

const fn needs(service: Option<Service>, kind: OpKind, failure: Outcome) -> (OpKind, Outcome) {
    match service {
        Some(_) => (kind, Outcome::InvalidActionType),
        None => (OpKind::Invalid, failure),
    }
}

/// The operation of an out-of-range discrete index: an unknown action type.
pub const INVALID_TYPE: Op = Op::decode(Action {
    kind: None,
    ..Action::list_services()
});

/// `OPS[index]`: discrete action `index` decoded at compile time.
pub static OPS: [Op; ACTION_COUNT] = {
    let mut out = [INVALID_TYPE; ACTION_COUNT];
    let mut index = 0;
    while index < ACTION_COUNT {
        out[index] = Op::decode(ACTIONS[index]);
        index += 1;
    }
    out
};

/// Return the operation of discrete index `index` (any byte).
#[inline]
#[must_use]
pub fn of_index(index: u8) -> Op {
    match OPS.get(usize::from(index)) {
        Some(op) => *op,
        None => INVALID_TYPE,
    }
}
