//! Ruleset v2's step rules (the generated-graph tiers, [`crate::generate::v2`]): the
//! timeline of an episode, the partial topology it shows and its grade.
//!
//! On top of ruleset v1, each step ends by advancing the timeline ([`Env`]'s `v2_tick`):
//!
//! - a fix applied at step `t` is in effect from step `t + fix_delay` (until then the service
//!   shows `recovering` with remediation bit 2 set, and its failure stays in effect:
//!   its symptoms stay broken, a root above it relapses, a verification fails);
//! - a symptom shows broken from its onset (the upstream spread), a masked root once the
//!   root masking it has landed, a control's flapping services heal at `heal_at`;
//! - the error budget burns one step whenever the gateway is broken (users affected).
//!
//! Edges are shown only once inspected: `inspect_dependencies(s)` shows `s`'s,
//! `list_services` the gateway's, `inspect_dependencies()` every edge shown so far (every
//! edge on the tiers whose [`GraphParams::full_graph_shown`] is set). The observation's
//! `+4` byte of a service is `0x40 | its dependency mask` once shown (0 before).
//!
//! The grade ([`grade`]) is v1's four parts (a root whose diagnosis was ever rejected
//! earns no root-cause credit, and a root fixed before its diagnosis was accepted, or
//! after one was rejected, no resolution credit), with efficiency the mean of the step
//! efficiency and the error budget's (steps with users affected beyond the optimal path,
//! against the budget). A no-fault control ends when the service whose failure flapped
//! is verified healthy after a read of it; its root-cause part is that read and its
//! resolution that verification.

use crate::env::Env;
use crate::generate::v2::{GraphParams, params};
use crate::grader::{self, ERROR_BUDGET_STEPS, Grade};
use crate::obs::verdict::DIAGNOSIS_REJECTED;
use crate::scenario::{Origin, Scenario};
use crate::topology::{ALL_SERVICES, ServiceMask};
use crate::vocab::{Mode, SERVICE_COUNT, Service, Status};

/// An episode's v2 timeline (all zero under the other rulesets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timeline {
    /// Services whose fix has landed.
    pub landed: ServiceMask,
    /// Per service: the step its fix was applied at (0: none).
    pub fixed_at: [u8; SERVICE_COUNT],
    /// Steps so far with the gateway broken (the error budget burned).
    pub burned: u8,
    /// Roots fixed on evidence: their diagnosis accepted before the fix and none
    /// rejected (any other fix lands but earns no resolution credit).
    pub informed: ServiceMask,
}

/// Return the graph parameters of the scenario's tier (a non-generated scenario reads as
/// the easiest).
fn tier_params(scenario: &Scenario) -> GraphParams {
    match scenario.origin {
        Origin::Generated { tier, .. } => params(tier),
        _ => params(crate::scenario::Tier::GraphEasy),
    }
}

impl Env {
    /// Ruleset v2 at reset: the services broken at step 0 and the controls' flapping
    /// statuses.
    pub(crate) fn v2_reset(&mut self) {
        self.timeline = Timeline::default();
        self.modes = self.scenario.modes_at(0, 0);
        self.v2_write_statuses();
    }

    /// Advance the timeline at the end of a step: land the fixes due (applied at step
    /// `t`, a fix lands at the end of step `t + fix_delay - 1`: with a delay of 1 at once),
    /// show what has spread, unmasked or healed by the next step, and burn the error
    /// budget if users are affected.
    pub(crate) fn v2_tick(&mut self) {
        let step = self.step_count;
        let pending = self.fixed & !self.timeline.landed;
        let mut landing = 0;
        if pending != 0 {
            let delay = self.scenario.fix_delay;
            for s in crate::topology::services(pending) {
                let applied = self.timeline.fixed_at[s as usize];
                landing |= u8::from(applied.saturating_add(delay) <= step + 1) << s as u8;
            }
            self.timeline.landed |= landing;
            for s in crate::topology::services(landing) {
                self.view_mut().set_pending(s as usize, false);
            }
        }
        // Time changes what is shown only until the scenario settles; a landing always.
        if landing != 0 || step <= self.scenario.settle_at {
            self.modes = self.scenario.modes_at(self.timeline.landed, step);
            self.v2_write_statuses();
        }
        let affected = self.modes[0] != Mode::Healthy;
        self.timeline.burned += u8::from(affected);
        let burned = self.timeline.burned;
        self.view_mut().set_budget_burned(burned);
    }

    /// Write every service's status byte: `recovering` between fix and verification,
    /// else the status at this step.
    fn v2_write_statuses(&mut self) {
        let recovering = self.fixed & !self.verified;
        for (s, service) in Service::ALL.into_iter().enumerate() {
            let status = self
                .scenario
                .status_at(service, self.modes[s], self.step_count);
            let shown = [status, Status::Recovering][usize::from(recovering >> s & 1 != 0)];
            self.view_mut().set_status(s, shown);
        }
    }

    /// Return whether verifying `service` healthy ends a no-fault control: it is the
    /// service whose failure flapped, and its logs or metrics were read.
    pub(crate) fn v2_control_ends(&self, service: Service) -> bool {
        let read = self.investigated | self.metrics_queried;
        crate::generate::v2::flap_origin(&self.scenario) == Some(service)
            && crate::topology::contains(read, service)
    }

    /// A fix on service `s` was accepted: it lands `fix_delay` steps from now.
    pub(crate) fn v2_fix_applied(&mut self, s: usize) {
        self.timeline.fixed_at[s] = self.step_count;
        let rejected = self.view().verdicts(s) & DIAGNOSIS_REJECTED != 0;
        self.timeline.informed |=
            self.root_identified & (1 << s) & 0u8.wrapping_sub(u8::from(!rejected));
        self.view_mut().set_pending(s, true);
    }

    /// Show the edges of the services of `mask` in the observation.
    pub(crate) fn v2_show(&mut self, mask: ServiceMask) {
        for s in crate::topology::services(mask) {
            let index = s as usize;
            let calls = self.scenario.depends_on[index];
            self.view_mut().set_edges(index, calls);
        }
    }

    /// `inspect_dependencies()`: show every edge on tiers that show the whole graph, and
    /// return the services whose edges are shown so far.
    pub(crate) fn v2_full_graph(&mut self) -> ServiceMask {
        if tier_params(&self.scenario).full_graph_shown {
            self.v2_show(ALL_SERVICES);
        }
        self.shown_services()
    }

    /// Return the services whose edges the episode has shown.
    #[must_use]
    pub fn shown_services(&self) -> ServiceMask {
        let view = self.view();
        (0..SERVICE_COUNT).fold(0, |mask, s| mask | u8::from(view.edges(s).is_some()) << s)
    }

    /// Return the services `service` calls, if the episode has shown them: always under
    /// the other rulesets (their graph is the fixed, documented one), under ruleset v2
    /// once inspected (or, for the gateway, listed).
    #[must_use]
    pub fn visible_dependencies(&self, service: Service) -> Option<ServiceMask> {
        let v2 = self.scenario.ruleset == crate::scenario::Ruleset::V2;
        let shown = !v2 || self.shown_services() & crate::topology::bit(service) != 0;
        shown.then(|| self.scenario.depends_on(service))
    }

    /// Return the v2 timeline (fixes landed, error budget burned).
    #[must_use]
    pub fn timeline(&self) -> Timeline {
        self.timeline
    }

    /// Rebuild the timeline a snapshot does not store, by replaying the history.
    #[cfg(feature = "serde")]
    pub(crate) fn v2_restore(&mut self) {
        let mut replay = Env::with_scenario(self.scenario, self.seed, self.stream);
        for record in &self.history {
            let _ = replay.step(record.action);
        }
        self.timeline = replay.timeline;
        self.modes = replay.modes;
    }
}

/// Return the services a diagnosis of which was rejected.
fn rejected_diagnoses(env: &Env) -> ServiceMask {
    let view = env.view();
    (0..SERVICE_COUNT).fold(0, |mask, s| {
        mask | u8::from(view.verdicts(s) & DIAGNOSIS_REJECTED != 0) << s
    })
}

/// Ruleset v2's grade (see the module docs), in integer thousandths.
#[must_use]
pub fn grade(env: &Env) -> Grade {
    let scenario = env.scenario();
    let read = env.investigated() | env.metrics_queried();
    let (root, resolution) = if scenario.root_count == 0 {
        // A control's diagnosis is the read of the service that flapped and no
        // remediation anywhere.
        let origin = crate::generate::v2::flap_origin(scenario);
        let remediated = env
            .history()
            .iter()
            .any(|r| r.action.kind == Some(crate::ActionType::ApplyFix));
        let looked = origin.is_some_and(|s| crate::topology::contains(read, s)) && !remediated;
        (
            1000 * u32::from(looked),
            1000 * u32::from(env.is_resolved()),
        )
    } else {
        let roots = scenario.root_mask;
        let count = |mask: ServiceMask| (mask & roots).count_ones();
        let n = u32::from(scenario.root_count);
        // A root counts as identified only if no diagnosis of it was rejected: guessing
        // through the modes earns nothing.
        let rejected = rejected_diagnoses(env);
        let identified = env.root_identified() & !rejected;
        let credit = u32::from(grader::ROOT_DIAGNOSED_MILLI) * count(identified)
            + u32::from(grader::ROOT_INVESTIGATED_MILLI) * count(identified & read);
        (
            (credit / n).min(1000),
            1000 * count(env.timeline.informed) / n,
        )
    };
    let (optimal, budget) = (scenario.optimal_steps, scenario.max_steps);
    let steps = grader::v1_efficiency(env.step_count().into(), optimal.into(), budget.into());
    // The error budget: users may be affected for the optimal path's steps and
    // `ERROR_BUDGET_STEPS` more (a control affects no user: its steps only).
    let burned = u32::from(env.timeline.burned);
    let over = burned
        .saturating_sub(optimal.into())
        .min(ERROR_BUDGET_STEPS);
    let error_budget =
        [1000 - 1000 * over / ERROR_BUDGET_STEPS, steps][usize::from(scenario.root_count == 0)];
    let efficiency = (steps + error_budget) / 2;
    let counters = env.counters();
    let safety = grader::v1_safety(counters.destructive_actions, counters.invalid_actions);
    grader::weighted([root, resolution, efficiency, safety])
}

/// Ruleset v2's live score (the reward's potential).
#[must_use]
pub fn score(env: &Env) -> crate::env::Milli {
    crate::env::Milli::from(grade(env).score)
}

/// Ruleset v2's observation bytes computed from the state (the test oracle of the step's
/// in-place writes, `env/reference.rs`): statuses over time, the edges shown (from the
/// inspections, the listing and the tier's full-graph rule), the pending bits and the
/// error budget burned.
#[cfg(test)]
pub(crate) fn reference_blocks(env: &Env, out: &mut crate::obs::Blocks) {
    use crate::obs::field;
    let scenario = &env.scenario;
    let full = env.full_graph && tier_params(scenario).full_graph_shown;
    let listed = u8::from(env.listed_services());
    let shown = env.inspected | listed | [0, ALL_SERVICES][usize::from(full)];
    let pending = env.fixed & !env.timeline.landed;
    for service in Service::ALL {
        let s = service as usize;
        let block = &mut out[s];
        block[field::STATUS] = env.status(service) as u8;
        let edges = crate::obs::EDGES_SHOWN | scenario.depends_on[s];
        block[field::INSPECTED] = [0, edges][usize::from(shown >> s & 1 != 0)];
        block[field::REMEDIATION] |= crate::obs::remediation::PENDING * (pending >> s & 1);
    }
    out.as_flattened_mut()[field::BUDGET_BURNED] = env.timeline.burned;
}
