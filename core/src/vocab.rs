//! The closed vocabularies of the environment: services, action types, failure modes,
//! fixes, statuses and alert severities, with their wire names.
//!
//! Every enum is `#[repr(u8)]` with dense discriminants in the original's canonical order,
//! so a value doubles as an index into the tables of [`crate::topology`] and [`crate::task`].

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $all:ident, $count:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in canonical order.
            pub const $all: [$name; $count] = [$($name::$variant,)+];

            /// Return the wire name (the original's string value).
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parse an exact, case-sensitive wire name.
            #[must_use]
            pub fn from_name(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Return the dense index of this value (its position in canonical order).
            #[must_use]
            pub const fn index(self) -> usize {
                self as usize
            }

            /// Return the value at a dense index, or `None` past the end.
            #[must_use]
            pub const fn from_index(index: usize) -> Option<Self> {
                if index < $count { Some(Self::$all[index]) } else { None }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

/// Number of services in the topology.
pub const SERVICE_COUNT: usize = 6;
/// Number of agent-visible action types.
pub const ACTION_TYPE_COUNT: usize = 7;
/// Number of valid diagnoses (failure modes an agent may name; `healthy` is not one).
pub const DIAGNOSIS_COUNT: usize = 7;
/// Number of failure modes including the internal `healthy`.
pub const MODE_COUNT: usize = 8;
/// Number of remediation fixes.
pub const FIX_COUNT: usize = 8;
/// Number of service statuses.
pub const STATUS_COUNT: usize = 5;
/// Number of alert severities.
pub const SEVERITY_COUNT: usize = 4;

vocabulary! {
    /// One of the six microservices, in canonical order.
    Service, ALL, SERVICE_COUNT {
        /// The public entry point; depends on auth and order.
        ApiGateway = "api_gateway",
        /// Authentication; depends on user.
        AuthService = "auth_service",
        /// User accounts; depends on the database.
        UserService = "user_service",
        /// Orders; depends on payment and the database.
        OrderService = "order_service",
        /// Payments; depends on the database.
        PaymentService = "payment_service",
        /// The shared database; depends on nothing.
        Database = "database",
    }
}

vocabulary! {
    /// The kind of an agent action, in the original's `available_actions` order.
    ActionType, ALL, ACTION_TYPE_COUNT {
        /// Read four recent log lines of a service.
        ReadLogs = "read_logs",
        /// Query a service's metrics.
        QueryMetrics = "query_metrics",
        /// Name a service's failure mode.
        Diagnose = "diagnose",
        /// Apply a remediation to a service.
        ApplyFix = "apply_fix",
        /// Check that a service recovered.
        VerifyHealth = "verify_health",
        /// List the services.
        ListServices = "list_services",
        /// Show one service's dependencies, or the whole graph without a service.
        InspectDependencies = "inspect_dependencies",
    }
}

vocabulary! {
    /// A failure mode; the first seven are the valid diagnoses, `Healthy` is internal.
    Mode, ALL, MODE_COUNT {
        /// The process is down.
        ServiceCrash = "service_crash",
        /// Memory grows until OOM.
        MemoryLeak = "memory_leak",
        /// Requests are slow.
        HighLatency = "high_latency",
        /// No pooled connection is free.
        ConnectionPoolExhaustion = "connection_pool_exhaustion",
        /// The volume is full.
        DiskFull = "disk_full",
        /// A TLS certificate expired (no task uses it).
        CertificateExpired = "certificate_expired",
        /// Configuration drifted (no task uses it).
        ConfigDrift = "config_drift",
        /// Nothing is wrong; not a valid diagnosis.
        Healthy = "healthy",
    }
}

vocabulary! {
    /// A remediation an agent may apply.
    Fix, ALL, FIX_COUNT {
        /// Restart the process.
        RestartService = "restart_service",
        /// Apply the memory fix.
        MemoryFix = "memory_fix",
        /// Free disk space.
        ClearDisk = "clear_disk",
        /// Add replicas.
        ScaleUp = "scale_up",
        /// Roll the configuration back.
        RollbackConfig = "rollback_config",
        /// Renew the certificate.
        RenewCertificate = "renew_certificate",
        /// Drain pooled connections.
        DrainConnections = "drain_connections",
        /// Clear caches.
        ClearCache = "clear_cache",
    }
}

vocabulary! {
    /// The status a service summary shows.
    Status, ALL, STATUS_COUNT {
        /// Working normally.
        Healthy = "healthy",
        /// Working, slowly or partially.
        Degraded = "degraded",
        /// Close to failing.
        Critical = "critical",
        /// Not serving.
        Down = "down",
        /// Fixed but not yet verified.
        Recovering = "recovering",
    }
}

vocabulary! {
    /// The severity of an alert.
    Severity, ALL, SEVERITY_COUNT {
        /// Page now.
        Critical = "critical",
        /// Urgent.
        High = "high",
        /// Important.
        Medium = "medium",
        /// Informational.
        Low = "low",
    }
}

impl Mode {
    /// The seven valid diagnoses, in canonical order.
    pub const DIAGNOSES: [Mode; DIAGNOSIS_COUNT] = [
        Mode::ServiceCrash,
        Mode::MemoryLeak,
        Mode::HighLatency,
        Mode::ConnectionPoolExhaustion,
        Mode::DiskFull,
        Mode::CertificateExpired,
        Mode::ConfigDrift,
    ];

    /// Parse a valid diagnosis name; `healthy` and anything else give `None`.
    #[must_use]
    pub fn diagnosis_from_name(text: &str) -> Option<Mode> {
        Mode::from_name(text).filter(|mode| mode.is_diagnosis())
    }

    /// Return whether this mode is a valid diagnosis (every mode but `Healthy`).
    #[must_use]
    pub const fn is_diagnosis(self) -> bool {
        !matches!(self, Mode::Healthy)
    }

    /// Return the status this mode shows when the service is not recovering.
    #[must_use]
    pub const fn status(self) -> Status {
        match self {
            Mode::ServiceCrash => Status::Down,
            Mode::MemoryLeak | Mode::DiskFull | Mode::CertificateExpired => Status::Critical,
            Mode::HighLatency | Mode::ConnectionPoolExhaustion | Mode::ConfigDrift => {
                Status::Degraded
            }
            Mode::Healthy => Status::Healthy,
        }
    }

    /// Return the name with every `_` replaced by a space (`service crash`).
    #[must_use]
    pub const fn spaced(self) -> &'static str {
        match self {
            Mode::ServiceCrash => "service crash",
            Mode::MemoryLeak => "memory leak",
            Mode::HighLatency => "high latency",
            Mode::ConnectionPoolExhaustion => "connection pool exhaustion",
            Mode::DiskFull => "disk full",
            Mode::CertificateExpired => "certificate expired",
            Mode::ConfigDrift => "config drift",
            Mode::Healthy => "healthy",
        }
    }
}

impl Status {
    /// Return the baseline's sort priority (critical and down 4, degraded 3, recovering 2,
    /// healthy 1).
    #[must_use]
    pub const fn priority(self) -> u8 {
        match self {
            Status::Critical | Status::Down => 4,
            Status::Degraded => 3,
            Status::Recovering => 2,
            Status::Healthy => 1,
        }
    }
}

impl Severity {
    /// Return the baseline's sort priority (critical 4, high 3, medium 2, low 1).
    #[must_use]
    pub const fn priority(self) -> u8 {
        match self {
            Severity::Critical => 4,
            Severity::High => 3,
            Severity::Medium => 2,
            Severity::Low => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_canonical_order() {
        // Goal: every name parses back to its value and indices are dense.
        for (index, service) in Service::ALL.iter().enumerate() {
            assert_eq!(Service::from_name(service.name()), Some(*service));
            assert_eq!(service.index(), index);
        }
        for mode in Mode::ALL {
            assert_eq!(Mode::from_name(mode.name()), Some(mode));
            assert_eq!(mode.spaced().replace(' ', "_"), mode.name());
        }
        for fix in Fix::ALL {
            assert_eq!(Fix::from_name(fix.name()), Some(fix));
        }
        assert_eq!(Mode::diagnosis_from_name("healthy"), None);
        assert_eq!(Mode::diagnosis_from_name("disk_full"), Some(Mode::DiskFull));
        assert_eq!(ActionType::from_name("READ_LOGS"), None);
        assert_eq!(Service::from_index(SERVICE_COUNT), None);
    }
}
