//! The incident an episode plays, as one fixed-size `Copy` value.
//!
//! A [`Scenario`] holds everything the step rules read: the roots with their modes and
//! required fixes, which services show which symptom (and which roots cause it), the
//! status a broken service shows, alerts, red herrings, how often evidence misleads,
//! which roots must be fixed before which, the step budget, the optimal step count and
//! the [`Ruleset`]. The four original tasks are four constant scenarios
//! ([`Scenario::task`]); [`crate::generate`] builds the others from a seed, a [`Tier`] and
//! a [`Split`]. An [`crate::Env`] holds its scenario by value, so the step path indexes
//! small arrays and never a per-task table.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::constants::ROOT_COUNT_MAX;
use crate::task::{Alert, Root, TASK_COUNT, TaskId};
use crate::topology::ServiceMask;
use crate::vocab::{Fix, Mode, SERVICE_COUNT, Service, Severity, Status};

/// Which rules score an episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[repr(u8)]
pub enum Ruleset {
    /// The original environment's rules, quirks included (the four original tasks).
    Original,
    /// Ruleset v1 for generated incidents: potential-based rewards whose sum is the
    /// graded score, ordering enforced, no rewards for touching symptoms (`docs/tiers.md`).
    V1,
    /// Ruleset v2 for the generated-graph tiers (`docs/tiers-v2.md`): v1's rewards and
    /// order on a per-incident dependency graph shown only once inspected, with failures
    /// that spread upstream over time, fixes that land after a delay, masked roots,
    /// no-fault controls and an error budget in the grade.
    V2,
}

/// A difficulty tier of generated incidents: the v1 family (`gen_easy` ... `gen_expert`
/// on the wire, ruleset v1) and the generated-graph family (`gen_graph_easy` ...
/// `gen_graph_expert`, ruleset v2). New tiers are appended, so a snapshot's tier index keeps
/// its meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[repr(u8)]
pub enum Tier {
    /// One root, exact evidence, an alert on every symptom.
    Easy,
    /// One or two roots, light noise.
    Medium,
    /// Two roots, noise, a red herring, silent roots and symptoms.
    Hard,
    /// Two or three roots, more noise, red herrings, roots mostly silent.
    Expert,
    /// Generated graph, one root, exact evidence, fixes land at once.
    GraphEasy,
    /// Generated graph, one or two roots, light noise, upstream spread, fix delay.
    GraphMedium,
    /// Generated graph shown only once inspected, compound and masked roots, no-fault
    /// controls, noise.
    GraphHard,
    /// Everything of `GraphHard`, more of it: evidence a single read gets wrong often.
    GraphExpert,
}

/// Number of tiers of the v1 family ([`Tier::ALL`]).
pub const TIER_COUNT: usize = 4;

/// Number of tiers of the generated-graph family ([`Tier::GRAPH`]).
pub const GRAPH_TIER_COUNT: usize = 4;

impl Tier {
    /// The v1 family's tiers (`gen_*`), easiest first.
    pub const ALL: [Tier; TIER_COUNT] = [Tier::Easy, Tier::Medium, Tier::Hard, Tier::Expert];

    /// The generated-graph family's tiers (`gen_graph_*`, ruleset v2), easiest first.
    pub const GRAPH: [Tier; GRAPH_TIER_COUNT] = [
        Tier::GraphEasy,
        Tier::GraphMedium,
        Tier::GraphHard,
        Tier::GraphExpert,
    ];

    /// Every tier of both families, in declaration order.
    pub const EVERY: [Tier; TIER_COUNT + GRAPH_TIER_COUNT] = [
        Tier::Easy,
        Tier::Medium,
        Tier::Hard,
        Tier::Expert,
        Tier::GraphEasy,
        Tier::GraphMedium,
        Tier::GraphHard,
        Tier::GraphExpert,
    ];

    /// Return the wire name (`gen_easy` ... `gen_graph_expert`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Tier::Easy => "gen_easy",
            Tier::Medium => "gen_medium",
            Tier::Hard => "gen_hard",
            Tier::Expert => "gen_expert",
            Tier::GraphEasy => "gen_graph_easy",
            Tier::GraphMedium => "gen_graph_medium",
            Tier::GraphHard => "gen_graph_hard",
            Tier::GraphExpert => "gen_graph_expert",
        }
    }

    /// Return the ruleset of the tier's incidents (its family).
    #[must_use]
    pub const fn ruleset(self) -> Ruleset {
        match self {
            Tier::Easy | Tier::Medium | Tier::Hard | Tier::Expert => Ruleset::V1,
            Tier::GraphEasy | Tier::GraphMedium | Tier::GraphHard | Tier::GraphExpert => {
                Ruleset::V2
            }
        }
    }

    /// Return the tier's level within its family: 0 easy .. 3 expert.
    #[must_use]
    pub const fn level(self) -> usize {
        self as usize % TIER_COUNT
    }

    /// Parse an exact wire name of either family.
    #[must_use]
    pub fn from_name(text: &str) -> Option<Tier> {
        Tier::EVERY.into_iter().find(|tier| tier.name() == text)
    }
}

/// Which half of the generated incidents: disjoint by structure (see [`crate::generate`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[repr(u8)]
pub enum Split {
    /// The training incidents (the default).
    #[default]
    Train,
    /// The held-out incidents.
    Test,
}

impl Split {
    /// Both splits.
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// Return the wire name (`train` / `test`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// Parse an exact wire name.
    #[must_use]
    pub fn from_name(text: &str) -> Option<Split> {
        Split::ALL.into_iter().find(|split| split.name() == text)
    }
}

/// Where a scenario comes from: enough to rebuild it (what a snapshot stores).
///
/// The first four variants serialise as the old `TaskId` did (one varint 0..3), so
/// snapshots of the original tasks keep their bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub enum Origin {
    /// `easy_task`.
    Easy,
    /// `medium_task`.
    Medium,
    /// `hard_task`.
    Hard,
    /// `expert_task`.
    Expert,
    /// A generated incident.
    Generated {
        /// Its tier.
        tier: Tier,
        /// Its split.
        split: Split,
        /// Its index within the tier and split.
        seed: u64,
    },
}

impl Origin {
    /// Return the original task, or `None` for a generated incident.
    #[must_use]
    pub const fn task_id(self) -> Option<TaskId> {
        match self {
            Origin::Easy => Some(TaskId::Easy),
            Origin::Medium => Some(TaskId::Medium),
            Origin::Hard => Some(TaskId::Hard),
            Origin::Expert => Some(TaskId::Expert),
            Origin::Generated { .. } => None,
        }
    }

    /// Return the origin of an original task.
    #[must_use]
    pub const fn of_task(task: TaskId) -> Origin {
        [Origin::Easy, Origin::Medium, Origin::Hard, Origin::Expert][task as usize]
    }
}

/// One incident: the hidden answer, what the agent can be shown, and the rules.
///
/// Per-service arrays are indexed by `Service as usize`. A service is *broken* while
/// `cause[s] & !fixed != 0` (a root's cause is itself; a symptom's the roots it depends
/// on; a healthy service's and a red herring's nothing); while broken it shows
/// `mode[s]` and `status[s]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scenario {
    /// Where it comes from (rebuilds it).
    pub origin: Origin,
    /// Which rules apply.
    pub ruleset: Ruleset,
    /// Episode length limit (the step budget).
    pub max_steps: u8,
    /// The grader's step count for full efficiency (the oracle's path).
    pub optimal_steps: u8,
    /// Number of roots (1..=`ROOT_COUNT_MAX`).
    pub root_count: u8,
    /// The roots, `root_count` of them, in the original's order (generated: deepest
    /// first, the order they must be fixed in).
    pub roots: [Root; ROOT_COUNT_MAX],
    /// Set of root services.
    pub root_mask: ServiceMask,
    /// Set of symptom (affected) services.
    pub affected_mask: ServiceMask,
    /// Set of red herrings: healthy services with a misleading alert and evidence.
    pub herring_mask: ServiceMask,
    /// Set of root modes, bit `m` for `Mode::ALL[m]`.
    pub root_mode_mask: u8,
    /// Per service: the mode shown while broken (roots: root mode; symptoms: symptom mode;
    /// others `Healthy`).
    pub mode: [Mode; SERVICE_COUNT],
    /// Per service: the status shown while broken.
    pub status: [Status; SERVICE_COUNT],
    /// Per service: the required fix (roots only).
    pub fix: [Option<Fix>; SERVICE_COUNT],
    /// Per service: the most severe alert on it, if any (hidden once resolved).
    pub alert: [Option<Severity>; SERVICE_COUNT],
    /// Per service: the roots whose being unfixed breaks it.
    pub cause: [ServiceMask; SERVICE_COUNT],
    /// Per root: the roots that must be fixed first (a fix relapses until they are).
    pub blocked_by: [ServiceMask; SERVICE_COUNT],
    /// Per service: the misleading mode a noisy read shows.
    pub decoy: [Mode; SERVICE_COUNT],
    /// Per service: percent of reads (logs or metrics) that show `decoy` instead.
    pub mislead_percent: [u8; SERVICE_COUNT],
    /// Per service: the services it calls. The incident's own graph under ruleset v2,
    /// [`crate::topology::DEPENDS_ON`] otherwise.
    pub depends_on: [ServiceMask; SERVICE_COUNT],
    /// Per service: the first step at which it shows broken (ruleset v2: a failure
    /// spreads upstream from its onset); 0 otherwise.
    pub onset: [u8; SERVICE_COUNT],
    /// Per service: the roots whose being unfixed hides its failure (ruleset v2: a root
    /// masked by the root above it, which takes every call); 0 otherwise.
    pub masked_by: [ServiceMask; SERVICE_COUNT],
    /// Ruleset v2: the steps a fix takes to land (1: at the next step); 0 otherwise.
    pub fix_delay: u8,
    /// Ruleset v2, no-fault controls: the services whose alert flaps (shown `status`
    /// until `heal_at`, then healthy; healthy all along), 0 otherwise.
    pub flap_mask: ServiceMask,
    /// Ruleset v2: the step at which the flapping services of a control self-heal.
    pub heal_at: u8,
    /// Ruleset v2: the last step at which a service's shown state changes by time alone
    /// (the latest onset or heal); later only a landing fix changes it.
    pub settle_at: u8,
}

impl Scenario {
    /// Return the scenario of an original task.
    #[must_use]
    pub const fn task(task: TaskId) -> Scenario {
        TASK_SCENARIOS[task as usize]
    }

    /// Return the roots, in order.
    #[must_use]
    pub fn roots(&self) -> &[Root] {
        let count = usize::from(self.root_count).min(ROOT_COUNT_MAX);
        &self.roots[..count]
    }

    /// Return the original task this scenario is, if any.
    #[must_use]
    pub const fn task_id(&self) -> Option<TaskId> {
        self.origin.task_id()
    }

    /// Return the wire id: `easy_task` ... or `gen_easy` ...
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self.origin {
            Origin::Generated { tier, .. } => tier.name(),
            other => match other.task_id() {
                Some(task) => task.name(),
                None => "",
            },
        }
    }

    /// Return the alerts the incident shows until it is resolved: an original task's in
    /// the original's order; a generated incident's deepest service first (the way a
    /// failure propagates up the graph; the order depends on the services only, never on
    /// which is a root),
    /// each worded by the status its service shows ([`crate::text::generated_alert`]:
    /// never by mode, so an alert does not name a root's mode).
    #[must_use]
    pub fn alerts(&self) -> Alerts<'_> {
        Alerts {
            scenario: self,
            next: 0,
        }
    }

    /// Return the tier code of the observation: 0..3 for the original tasks, 4 + tier
    /// for generated incidents.
    #[must_use]
    pub const fn tier_code(&self) -> u8 {
        match self.origin {
            Origin::Generated { tier, .. } => TASK_COUNT as u8 + tier as u8,
            other => match other.task_id() {
                Some(task) => task as u8,
                None => 0,
            },
        }
    }

    /// Return the mode `service` shows now, given the set of fixed services (every
    /// failure's onset passed).
    #[inline]
    #[must_use]
    pub const fn mode_now(&self, service: Service, fixed: ServiceMask) -> Mode {
        let s = service as usize;
        // `&`, not `&&`: no branch.
        let broken = (self.cause[s] & !fixed != 0) & (self.masked_by[s] & !fixed == 0);
        mode_if(self.mode[s], broken)
    }

    /// Return the mode every service shows at `step`, given the set of services whose
    /// fix is in effect: broken while a cause is unfixed, no masking root is unfixed and
    /// the failure's onset has passed.
    #[must_use]
    pub const fn modes_at(&self, fixed: ServiceMask, step: u8) -> [Mode; SERVICE_COUNT] {
        let mut out = [Mode::Healthy; SERVICE_COUNT];
        let mut s = 0;
        while s < SERVICE_COUNT {
            let reached = step >= self.onset[s];
            out[s] = mode_if(self.mode_now(Service::ALL[s], fixed), reached);
            s += 1;
        }
        out
    }

    /// Return the status `service` shows at `step` in `mode` (not counting
    /// `recovering`): a broken service's status, a control's flapping status until it
    /// heals, else healthy.
    #[inline]
    #[must_use]
    pub const fn status_at(&self, service: Service, mode: Mode, step: u8) -> Status {
        let s = service as usize;
        let flapping = (self.flap_mask & (1 << s) != 0) & (step < self.heal_at);
        let broken = !matches!(mode, Mode::Healthy) || flapping;
        [Status::Healthy, self.status[s]][broken as usize]
    }

    /// Return the services `service` calls in this incident's graph.
    #[inline]
    #[must_use]
    pub const fn depends_on(&self, service: Service) -> ServiceMask {
        self.depends_on[service as usize]
    }

    /// Return the mode every service shows now, given the set of fixed services.
    #[must_use]
    pub const fn modes_now(&self, fixed: ServiceMask) -> [Mode; SERVICE_COUNT] {
        let mut out = [Mode::Healthy; SERVICE_COUNT];
        let mut s = 0;
        while s < SERVICE_COUNT {
            out[s] = self.mode_now(Service::ALL[s], fixed);
            s += 1;
        }
        out
    }

    /// Return the status a service in `mode` shows (not counting `recovering`).
    #[inline]
    #[must_use]
    pub const fn status_of(&self, service: Service, mode: Mode) -> Status {
        let broken = !matches!(mode, Mode::Healthy);
        [Status::Healthy, self.status[service as usize]][broken as usize]
    }

    /// Return the set of broken services, given the set of fixed services.
    #[must_use]
    pub const fn broken_mask(&self, fixed: ServiceMask) -> ServiceMask {
        let mut out = 0;
        let mut s = 0;
        while s < SERVICE_COUNT {
            let broken = (self.cause[s] & !fixed != 0) & (self.masked_by[s] & !fixed == 0);
            out |= (broken as u8) << s;
            s += 1;
        }
        out
    }
}

/// Return `mode` if `keep`, else `Healthy`, without a branch: `Healthy` is the mode with
/// every index bit set, so the result's index is `mode | 7·!keep`, mapped back by a match
/// the compiler folds to the identity. (A plain select compiled to a data-dependent jump
/// inside the batch loop, mispredicted on about half of the random steps; a two-entry
/// table cost a load and an address computation.)
#[inline(always)]
#[must_use]
pub(crate) const fn mode_if(mode: Mode, keep: bool) -> Mode {
    let hidden = (keep as u8).wrapping_sub(1) & HEALTHY_BITS;
    mode_of_bits(mode as u8 | hidden)
}

/// The index of `Mode::Healthy`: every bit of a mode index set.
const HEALTHY_BITS: u8 = Mode::Healthy as u8;

const _: () = assert!(HEALTHY_BITS == 7 && Mode::ALL.len() == 8);

// `mode_of_bits` restates the order of `Mode::ALL`: each index maps to the mode at it.
const _: () = {
    let mut i = 0;
    while i < Mode::ALL.len() {
        assert!(mode_of_bits(i as u8) as usize == Mode::ALL[i] as usize);
        i += 1;
    }
};

/// Return the mode of index `bits & 7` (a match on the index, folded to the identity).
#[inline(always)]
const fn mode_of_bits(bits: u8) -> Mode {
    match bits & HEALTHY_BITS {
        0 => Mode::ServiceCrash,
        1 => Mode::MemoryLeak,
        2 => Mode::HighLatency,
        3 => Mode::ConnectionPoolExhaustion,
        4 => Mode::DiskFull,
        5 => Mode::CertificateExpired,
        6 => Mode::ConfigDrift,
        _ => Mode::Healthy,
    }
}

/// The alerts of a scenario ([`Scenario::alerts`]).
#[derive(Clone, Debug)]
pub struct Alerts<'a> {
    scenario: &'a Scenario,
    /// The next alert's index (original tasks), or how many services (deepest first) were
    /// passed (generated).
    next: usize,
}

impl Iterator for Alerts<'_> {
    type Item = Alert;

    fn next(&mut self) -> Option<Alert> {
        let scenario = self.scenario;
        if let Some(task) = scenario.task_id() {
            let alert = task.task().alerts.get(self.next).copied();
            self.next += 1;
            return alert;
        }
        while let Some(service) = SERVICE_COUNT
            .checked_sub(self.next + 1)
            .and_then(|index| Service::ALL.get(index).copied())
        {
            self.next += 1;
            if let Some(severity) = scenario.alert[service as usize] {
                let (title, description, runbook_hint) =
                    crate::text::generated_alert(scenario.status[service as usize]);
                return Some(Alert {
                    severity,
                    service,
                    title,
                    description,
                    runbook_hint,
                });
            }
        }
        None
    }
}

/// A padding root for unused slots.
pub(crate) const NO_ROOT: Root = Root {
    service: Service::ApiGateway,
    mode: Mode::ServiceCrash,
    fix: Fix::RestartService,
};

/// An empty scenario (no roots) to fill in.
pub(crate) const BLANK: Scenario = Scenario {
    origin: Origin::Easy,
    ruleset: Ruleset::Original,
    max_steps: 1,
    optimal_steps: 0,
    root_count: 0,
    roots: [NO_ROOT; ROOT_COUNT_MAX],
    root_mask: 0,
    affected_mask: 0,
    herring_mask: 0,
    root_mode_mask: 0,
    mode: [Mode::Healthy; SERVICE_COUNT],
    status: [Status::Healthy; SERVICE_COUNT],
    fix: [None; SERVICE_COUNT],
    alert: [None; SERVICE_COUNT],
    cause: [0; SERVICE_COUNT],
    blocked_by: [0; SERVICE_COUNT],
    decoy: [Mode::Healthy; SERVICE_COUNT],
    mislead_percent: [0; SERVICE_COUNT],
    depends_on: crate::topology::DEPENDS_ON,
    onset: [0; SERVICE_COUNT],
    masked_by: [0; SERVICE_COUNT],
    fix_delay: 0,
    flap_mask: 0,
    heal_at: 0,
    settle_at: 0,
};

/// The scenario of an original task, from its static data: a symptom is broken while
/// any root is unfixed, evidence is exact, no order is enforced.
const fn of_task(task: TaskId) -> Scenario {
    let data = task.task();
    let mut out = BLANK;
    out.origin = Origin::of_task(task);
    out.max_steps = data.max_steps;
    out.optimal_steps = data.optimal_steps;
    out.root_count = data.roots.len() as u8;
    out.root_mask = data.root_mask;
    out.affected_mask = data.affected_mask;
    out.root_mode_mask = data.root_mode_mask;
    out.mode = data.broken_mode;
    out.fix = data.required_fix;
    out.alert = data.alert_severity;
    let mut index = 0;
    while index < data.roots.len() {
        out.roots[index] = data.roots[index];
        index += 1;
    }
    let mut s = 0;
    while s < SERVICE_COUNT {
        out.status[s] = data.broken_mode[s].status();
        if data.root_mask & (1 << s) != 0 {
            out.cause[s] = 1 << s;
        } else if data.affected_mask & (1 << s) != 0 {
            out.cause[s] = data.root_mask;
        }
        s += 1;
    }
    out
}

/// The four original tasks as scenarios, indexed by [`TaskId`].
static TASK_SCENARIOS: [Scenario; TASK_COUNT] = [
    of_task(TaskId::Easy),
    of_task(TaskId::Medium),
    of_task(TaskId::Hard),
    of_task(TaskId::Expert),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_alerts_follow_the_scenario() {
        // Goal: a generated incident shows one alert per alerted service, deepest service
        // first, worded by its status.
        for seed in 0..200 {
            let scenario = Scenario::generated(seed, Tier::Expert, Split::Test);
            let alerts: heapless::Vec<Alert, SERVICE_COUNT> = scenario.alerts().collect();
            let alerted = Service::ALL
                .iter()
                .rev()
                .filter(|s| scenario.alert[**s as usize].is_some());
            assert!(
                alerted
                    .clone()
                    .copied()
                    .eq(alerts.iter().map(|a| a.service))
            );
            for alert in &alerts {
                let s = alert.service as usize;
                assert_eq!(Some(alert.severity), scenario.alert[s]);
                assert_eq!(
                    alert.title,
                    crate::text::generated_alert(scenario.status[s]).0
                );
            }
        }
    }

    #[test]
    fn task_scenarios_follow_the_task_tables() {
        // Goal: each original task's scenario carries its task's roots, modes, fixes and
        // alerts, and the broken rule gives the original's (§4).
        for task in TaskId::ALL {
            let data = task.task();
            let scenario = Scenario::task(task);
            assert_eq!(scenario.roots(), data.roots);
            assert_eq!(scenario.task_id(), Some(task));
            assert_eq!(scenario.name(), data.id);
            assert_eq!(scenario.broken_mask(0), data.root_mask | data.affected_mask);
            assert_eq!(scenario.broken_mask(data.root_mask), 0);
            assert_eq!(scenario.tier_code(), task as u8);
            assert!(scenario.alerts().eq(data.alerts.iter().copied()));
        }
    }
}
