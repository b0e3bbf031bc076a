//! Agent actions: the validated structured form and the discrete index form.
//!
//! The host parses JSON into an [`Action`] once. Past that point an action is trusted:
//! each argument is [`Arg::Missing`], [`Arg::Unknown`] (a string the vocabulary does not
//! know; the host keeps the text for display) or [`Arg::Known`]. The environment handles
//! every combination without panicking, exactly as the original does.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::constants::ACTION_COUNT;
use crate::vocab::{ActionType, DIAGNOSIS_COUNT, FIX_COUNT, Fix, Mode, SERVICE_COUNT, Service};

/// One argument of an action as the agent gave it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub enum Arg<T> {
    /// Absent, `null` or the empty string.
    #[default]
    Missing,
    /// A string outside the vocabulary.
    Unknown,
    /// A valid value.
    Known(T),
}

impl<T: Copy> Arg<T> {
    /// Return the valid value, if any.
    #[must_use]
    pub const fn known(self) -> Option<T> {
        match self {
            Arg::Known(value) => Some(value),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Arg<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Arg::Missing, Arg::Known)
    }
}

/// A validated agent action. `kind == None` is an action type outside the seven, reachable
/// only through an out-of-range discrete index; it is answered with `invalid_action_type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Action {
    /// The action type.
    pub kind: Option<ActionType>,
    /// The `service` argument.
    pub service: Arg<Service>,
    /// The `diagnosis` argument (`healthy` is [`Arg::Unknown`]).
    pub diagnosis: Arg<Mode>,
    /// The `fix` argument.
    pub fix: Arg<Fix>,
}

impl Action {
    /// Build an action of `kind` with no arguments.
    #[must_use]
    pub const fn new(kind: ActionType) -> Action {
        Action {
            kind: Some(kind),
            service: Arg::Missing,
            diagnosis: Arg::Missing,
            fix: Arg::Missing,
        }
    }

    /// Build `list_services`.
    #[must_use]
    pub const fn list_services() -> Action {
        Action::new(ActionType::ListServices)
    }

    /// Build an action of `kind` on `service`.
    #[must_use]
    pub const fn on(kind: ActionType, service: Service) -> Action {
        Action {
            service: Arg::Known(service),
            ..Action::new(kind)
        }
    }

    /// Build `diagnose(service, diagnosis)`.
    #[must_use]
    pub const fn diagnose(service: Service, diagnosis: Mode) -> Action {
        Action {
            diagnosis: Arg::Known(diagnosis),
            ..Action::on(ActionType::Diagnose, service)
        }
    }

    /// Build `apply_fix(service, fix)`.
    #[must_use]
    pub const fn apply_fix(service: Service, fix: Fix) -> Action {
        Action {
            fix: Arg::Known(fix),
            ..Action::on(ActionType::ApplyFix, service)
        }
    }

    /// Return the discrete index of this action, or `None` if it is not one of the
    /// [`ACTION_COUNT`] canonical actions (missing or unknown arguments, an argument the
    /// type does not use, a full-graph inspection, a diagnosis of `healthy`).
    #[must_use]
    pub fn index(self) -> Option<u8> {
        let kind = self.kind?;
        let service = |action: Action| action.service.known().map(|s| s as usize);
        let index = match kind {
            ActionType::ListServices => (self.service == Arg::Missing).then_some(0)?,
            _ if kind_needs_only_service(kind) => {
                let block = match kind {
                    ActionType::ReadLogs => 0,
                    ActionType::QueryMetrics => 1,
                    ActionType::InspectDependencies => 2,
                    _ => 3,
                };
                1 + block * SERVICE_COUNT + service(self)?
            }
            ActionType::Diagnose => {
                let diagnosis = self.diagnosis.known().filter(|d| d.is_diagnosis())?;
                DIAGNOSE_BASE + service(self)? * DIAGNOSIS_COUNT + diagnosis as usize
            }
            _ => {
                let fix = self.fix.known()?;
                FIX_BASE + service(self)? * FIX_COUNT + fix as usize
            }
        };
        let extra_diagnosis = kind != ActionType::Diagnose && self.diagnosis != Arg::Missing;
        let extra_fix = kind != ActionType::ApplyFix && self.fix != Arg::Missing;
        if extra_diagnosis || extra_fix {
            return None;
        }
        debug_assert!(index < ACTION_COUNT);
        Some(index as u8)
    }

    /// Return the action at a discrete index, or `None` for `index >= ACTION_COUNT`.
    #[must_use]
    pub fn from_index(index: u8) -> Option<Action> {
        ACTIONS.get(index as usize).copied()
    }
}

const fn kind_needs_only_service(kind: ActionType) -> bool {
    matches!(
        kind,
        ActionType::ReadLogs
            | ActionType::QueryMetrics
            | ActionType::InspectDependencies
            | ActionType::VerifyHealth
    )
}

const DIAGNOSE_BASE: usize = 1 + 4 * SERVICE_COUNT;
const FIX_BASE: usize = DIAGNOSE_BASE + SERVICE_COUNT * DIAGNOSIS_COUNT;

/// Every discrete action, by index: `0` list_services; `1..7` read_logs, `7..13`
/// query_metrics, `13..19` inspect_dependencies, `19..25` verify_health (service in
/// canonical order); `25..67` diagnose (service-major, diagnosis-minor); `67..115`
/// apply_fix (service-major, fix-minor).
pub static ACTIONS: [Action; ACTION_COUNT] = build_actions();

const fn build_actions() -> [Action; ACTION_COUNT] {
    let mut out = [Action::list_services(); ACTION_COUNT];
    let blocks = [
        ActionType::ReadLogs,
        ActionType::QueryMetrics,
        ActionType::InspectDependencies,
        ActionType::VerifyHealth,
    ];
    let mut s = 0;
    while s < SERVICE_COUNT {
        let service = Service::ALL[s];
        let mut block = 0;
        while block < blocks.len() {
            out[1 + block * SERVICE_COUNT + s] = Action::on(blocks[block], service);
            block += 1;
        }
        let mut d = 0;
        while d < DIAGNOSIS_COUNT {
            out[DIAGNOSE_BASE + s * DIAGNOSIS_COUNT + d] =
                Action::diagnose(service, Mode::DIAGNOSES[d]);
            d += 1;
        }
        let mut f = 0;
        while f < FIX_COUNT {
            out[FIX_BASE + s * FIX_COUNT + f] = Action::apply_fix(service, Fix::ALL[f]);
            f += 1;
        }
        s += 1;
    }
    out
}

/// A set of discrete actions, bit `i` for action index `i`.
pub type ActionMask = u128;

/// The mask of every discrete action.
pub const ALL_ACTIONS: ActionMask = (1 << ACTION_COUNT) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_round_trips() {
        // Goal: index -> action -> index is the identity on 0..115 and out of range is None.
        for index in 0..ACTION_COUNT as u8 {
            let action = Action::from_index(index).unwrap();
            assert_eq!(action.index(), Some(index), "{action:?}");
        }
        assert_eq!(Action::from_index(ACTION_COUNT as u8), None);
        assert_eq!(Action::from_index(255), None);
    }

    #[test]
    fn non_canonical_actions_have_no_index() {
        // Goal: anything outside the 115 canonical shapes maps to None, not to a neighbour.
        let full_graph = Action::new(ActionType::InspectDependencies);
        assert_eq!(full_graph.index(), None);
        let unknown = Action {
            service: Arg::Unknown,
            ..Action::new(ActionType::ReadLogs)
        };
        assert_eq!(unknown.index(), None);
        let healthy = Action::diagnose(Service::Database, Mode::Healthy);
        assert_eq!(healthy.index(), None);
        let extra = Action {
            fix: Arg::Known(Fix::ClearDisk),
            ..Action::on(ActionType::ReadLogs, Service::Database)
        };
        assert_eq!(extra.index(), None);
        let no_kind = Action::default();
        assert_eq!(
            Action {
                kind: None,
                ..no_kind
            }
            .index(),
            None
        );
        assert_eq!(
            Action::apply_fix(Service::Database, Fix::ClearCache).index(),
            Some(114)
        );
        assert_eq!(
            Action::diagnose(Service::ApiGateway, Mode::ServiceCrash).index(),
            Some(25)
        );
    }
}
