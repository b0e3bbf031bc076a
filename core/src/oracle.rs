//! The oracle policy: it reads the hidden answer from the (unsealed) scenario.
//!
//! For each root in order (generated incidents list them deepest first, the order they
//! must be fixed in): `read_logs`, `diagnose` with the root's mode, `apply_fix` with its
//! fix, `verify_health`. Its path is the scenario's `optimal_steps`; it is the upper
//! reference of the eval tables and the validity tests, never something an agent sees.
//!
//! Ruleset v2 ([`crate::env::v2`]): fixes land after a delay, so it verifies a root as soon as
//! its fix has landed, fixes the next root once the roots below it (and the root masking
//! it) have landed, and spends a wait on the next root's read or diagnosis (else on
//! `list_services`); a no-fault control is a read of the flapping service and its
//! verification. Its path is the scenario's `optimal_steps` (`generate::v2` counts it).

use crate::action::Action;
use crate::env::Env;
use crate::scenario::Ruleset;
use crate::topology::contains;
use crate::vocab::ActionType;

/// Return the oracle's next action for `env`.
#[must_use]
pub fn choose(env: &Env) -> Action {
    let scenario = env.scenario();
    if scenario.ruleset == Ruleset::V2 {
        return choose_v2(env);
    }
    for root in scenario.roots() {
        let service = root.service;
        if contains(env.verified(), service) {
            continue;
        }
        return if !contains(env.investigated(), service) {
            Action::on(ActionType::ReadLogs, service)
        } else if !contains(env.root_identified(), service) {
            Action::diagnose(service, root.mode)
        } else if !contains(env.fixed(), service) {
            Action::apply_fix(service, root.fix)
        } else {
            Action::on(ActionType::VerifyHealth, service)
        };
    }
    Action::list_services()
}

/// The oracle of ruleset v2 (see the module docs).
fn choose_v2(env: &Env) -> Action {
    let scenario = env.scenario();
    if let Some(flap) = crate::generate::v2::flap_origin(scenario) {
        let read = env.investigated() | env.metrics_queried();
        return if contains(read, flap) {
            Action::on(ActionType::VerifyHealth, flap)
        } else {
            Action::on(ActionType::ReadLogs, flap)
        };
    }
    let landed = env.timeline().landed;
    let roots = scenario.roots();
    if let Some(root) = roots
        .iter()
        .find(|r| contains(landed & !env.verified(), r.service))
    {
        return Action::on(ActionType::VerifyHealth, root.service);
    }
    let Some(next) = roots.iter().position(|r| !contains(env.fixed(), r.service)) else {
        return Action::list_services();
    };
    let prepare = |root: &crate::task::Root| {
        if !contains(env.investigated(), root.service) {
            Some(Action::on(ActionType::ReadLogs, root.service))
        } else if !contains(env.root_identified(), root.service) {
            Some(Action::diagnose(root.service, root.mode))
        } else {
            None
        }
    };
    let root = roots[next];
    let s = root.service as usize;
    let waits_on = scenario.blocked_by[s] | scenario.masked_by[s];
    prepare(&root)
        .or_else(|| (waits_on & !landed == 0).then(|| Action::apply_fix(root.service, root.fix)))
        .or_else(|| roots[next + 1..].iter().find_map(prepare))
        .unwrap_or_else(Action::list_services)
}
