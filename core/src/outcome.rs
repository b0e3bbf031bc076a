//! What a step did: its [`Outcome`] (everything the original's texts need), the
//! [`ErrorCode`] it reports and why a fix was rejected. A leaf over the vocabularies, so
//! the decoder, the texts and the observation read outcomes without the environment.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::topology::ServiceMask;
use crate::vocab::{Fix, Mode, Service, Status};

/// The `last_action_error` codes of the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[repr(u8)]
pub enum ErrorCode {
    /// `read_logs` without a valid service.
    ReadLogsRequiresValidService,
    /// `query_metrics` without a valid service.
    QueryMetricsRequiresValidService,
    /// `inspect_dependencies` on an unknown service.
    UnknownService,
    /// `diagnose` without a valid service.
    DiagnoseRequiresValidService,
    /// `diagnose` without a valid diagnosis.
    DiagnoseRequiresValidDiagnosis,
    /// A diagnosis that does not match the service's current mode.
    IncorrectDiagnosis,
    /// `apply_fix` without a valid service.
    ApplyFixRequiresValidService,
    /// `apply_fix` without a valid fix.
    ApplyFixRequiresValidFix,
    /// A fix on a healthy or already fixed service, or the wrong fix on a root.
    DestructiveAction,
    /// `verify_health` without a valid service.
    VerifyHealthRequiresValidService,
    /// `verify_health` on a broken service that was not fixed.
    VerificationBeforeFix,
    /// A step after the episode ended (never stored in the state).
    EpisodeAlreadyDone,
    /// An action type outside the seven.
    InvalidActionType,
    /// Ruleset v1: the right fix on a root that depends on a root still broken (it
    /// relapsed).
    DependencyStillBroken,
}

impl ErrorCode {
    /// Every code, in declaration order (the observation encodes `1 + index`).
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::ReadLogsRequiresValidService,
        ErrorCode::QueryMetricsRequiresValidService,
        ErrorCode::UnknownService,
        ErrorCode::DiagnoseRequiresValidService,
        ErrorCode::DiagnoseRequiresValidDiagnosis,
        ErrorCode::IncorrectDiagnosis,
        ErrorCode::ApplyFixRequiresValidService,
        ErrorCode::ApplyFixRequiresValidFix,
        ErrorCode::DestructiveAction,
        ErrorCode::VerifyHealthRequiresValidService,
        ErrorCode::VerificationBeforeFix,
        ErrorCode::EpisodeAlreadyDone,
        ErrorCode::InvalidActionType,
        ErrorCode::DependencyStillBroken,
    ];

    /// Return the wire string.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::ReadLogsRequiresValidService => "read_logs_requires_valid_service",
            ErrorCode::QueryMetricsRequiresValidService => "query_metrics_requires_valid_service",
            ErrorCode::UnknownService => "unknown_service",
            ErrorCode::DiagnoseRequiresValidService => "diagnose_requires_valid_service",
            ErrorCode::DiagnoseRequiresValidDiagnosis => "diagnose_requires_valid_diagnosis",
            ErrorCode::IncorrectDiagnosis => "incorrect_diagnosis",
            ErrorCode::ApplyFixRequiresValidService => "apply_fix_requires_valid_service",
            ErrorCode::ApplyFixRequiresValidFix => "apply_fix_requires_valid_fix",
            ErrorCode::DestructiveAction => "destructive_action",
            ErrorCode::VerifyHealthRequiresValidService => "verify_health_requires_valid_service",
            ErrorCode::VerificationBeforeFix => "verification_before_fix",
            ErrorCode::EpisodeAlreadyDone => "episode_already_done",
            ErrorCode::InvalidActionType => "invalid_action_type",
            ErrorCode::DependencyStillBroken => "dependency_still_broken",
        }
    }

    /// Parse a wire string.
    #[must_use]
    pub fn from_name(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|code| code.name() == text)
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a fix was ineffective or destructive (the first matching reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub enum FixRejection {
    /// The service's current mode is healthy.
    Healthy,
    /// The service was already fixed.
    AlreadyFixed,
    /// The wrong fix for a root.
    WrongFix,
    /// Ruleset v1: a fix on a broken service that is not a root (a symptom).
    NotRoot,
}

/// What a step did, with everything needed to render the original's texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub enum Outcome {
    /// The episode was reset.
    Reset,
    /// A step after the episode ended; nothing changed.
    AlreadyDone,
    /// `list_services`.
    ServicesListed,
    /// `inspect_dependencies` on a known service.
    DependenciesInspected(Service),
    /// `inspect_dependencies` on an unknown service (still `success: true`).
    UnknownServiceInspected,
    /// `inspect_dependencies` without a service.
    FullGraphInspected,
    /// `read_logs` without a valid service.
    LogsFailed,
    /// `read_logs` on a service in `mode`; the observation carries four log lines.
    LogsRead {
        /// The service read.
        service: Service,
        /// Its mode at the time.
        mode: Mode,
    },
    /// `query_metrics` without a valid service.
    MetricsFailed,
    /// `query_metrics` on a service; the observation carries its metrics.
    MetricsRead {
        /// The service queried.
        service: Service,
        /// Its mode at the time (selects the numbers).
        mode: Mode,
        /// Its status at the time.
        status: Status,
    },
    /// `diagnose` without a valid service.
    DiagnoseInvalidService,
    /// `diagnose` without a valid diagnosis.
    DiagnoseInvalidDiagnosis,
    /// A correct diagnosis.
    DiagnosisRecorded {
        /// The service diagnosed.
        service: Service,
        /// The (correct) diagnosis.
        diagnosis: Mode,
    },
    /// An incorrect diagnosis (destructive).
    DiagnosisIncorrect(Service),
    /// `apply_fix` without a valid service.
    FixInvalidService,
    /// `apply_fix` without a valid fix.
    FixInvalidFix,
    /// An ineffective or destructive fix.
    FixRejected {
        /// The service.
        service: Service,
        /// The fix tried.
        fix: Fix,
        /// Why it was rejected.
        reason: FixRejection,
    },
    /// A successful fix.
    FixApplied {
        /// The service.
        service: Service,
        /// The fix.
        fix: Fix,
    },
    /// `verify_health` without a valid service.
    VerifyInvalidService,
    /// `verify_health` on a fixed service.
    VerifiedAfterFix(Service),
    /// `verify_health` on a service that is healthy without a fix.
    VerifiedHealthy(Service),
    /// `verify_health` on a broken, unfixed service.
    VerifyBeforeFix(Service),
    /// An action type outside the seven.
    InvalidActionType,
    /// Ruleset v1: the right fix on a root whose own dependency is still broken; it
    /// relapsed at once (fix the deeper root first).
    FixRelapsed {
        /// The service.
        service: Service,
        /// The fix.
        fix: Fix,
    },
    /// Ruleset v2: `inspect_dependencies` on a known service, with its edges in the
    /// incident's graph.
    EdgesShown {
        /// The service inspected.
        service: Service,
        /// The services it calls.
        depends_on: ServiceMask,
    },
    /// Ruleset v2: `inspect_dependencies` without a service: the services whose edges
    /// are shown so far (the edges themselves are in the observation; a payload of one
    /// byte keeps `Outcome` at four bytes).
    GraphShown(ServiceMask),
}

impl Outcome {
    /// Return the observation's `success` flag: every outcome without an [`Outcome::error`]
    /// and `UnknownServiceInspected`. Spelled out as one `matches!` (a table lookup), which
    /// costs about 6 fewer instructions per step than deriving it from `error`.
    #[must_use]
    pub const fn success(self) -> bool {
        matches!(
            self,
            Outcome::Reset
                | Outcome::ServicesListed
                | Outcome::DependenciesInspected(_)
                | Outcome::EdgesShown { .. }
                | Outcome::GraphShown(_)
                | Outcome::UnknownServiceInspected
                | Outcome::FullGraphInspected
                | Outcome::LogsRead { .. }
                | Outcome::MetricsRead { .. }
                | Outcome::DiagnosisRecorded { .. }
                | Outcome::FixApplied { .. }
                | Outcome::VerifiedAfterFix(_)
                | Outcome::VerifiedHealthy(_)
        )
    }

    /// Return the error code this outcome reports, if any.
    #[must_use]
    pub const fn error(self) -> Option<ErrorCode> {
        // One arm per variant, each a constant: compiles to a table lookup, not a jump.
        match self {
            Outcome::AlreadyDone => Some(ErrorCode::EpisodeAlreadyDone),
            Outcome::UnknownServiceInspected => Some(ErrorCode::UnknownService),
            Outcome::LogsFailed => Some(ErrorCode::ReadLogsRequiresValidService),
            Outcome::MetricsFailed => Some(ErrorCode::QueryMetricsRequiresValidService),
            Outcome::DiagnoseInvalidService => Some(ErrorCode::DiagnoseRequiresValidService),
            Outcome::DiagnoseInvalidDiagnosis => Some(ErrorCode::DiagnoseRequiresValidDiagnosis),
            Outcome::DiagnosisIncorrect(_) => Some(ErrorCode::IncorrectDiagnosis),
            Outcome::FixInvalidService => Some(ErrorCode::ApplyFixRequiresValidService),
            Outcome::FixInvalidFix => Some(ErrorCode::ApplyFixRequiresValidFix),
            Outcome::FixRejected { .. } => Some(ErrorCode::DestructiveAction),
            Outcome::VerifyInvalidService => Some(ErrorCode::VerifyHealthRequiresValidService),
            Outcome::VerifyBeforeFix(_) => Some(ErrorCode::VerificationBeforeFix),
            Outcome::InvalidActionType => Some(ErrorCode::InvalidActionType),
            Outcome::FixRelapsed { .. } => Some(ErrorCode::DependencyStillBroken),
            Outcome::Reset
            | Outcome::ServicesListed
            | Outcome::DependenciesInspected(_)
            | Outcome::EdgesShown { .. }
            | Outcome::GraphShown(_)
            | Outcome::FullGraphInspected
            | Outcome::LogsRead { .. }
            | Outcome::MetricsRead { .. }
            | Outcome::DiagnosisRecorded { .. }
            | Outcome::FixApplied { .. }
            | Outcome::VerifiedAfterFix(_)
            | Outcome::VerifiedHealthy(_) => None,
        }
    }
}
