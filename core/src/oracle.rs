//! The oracle policy: it reads the hidden answer from the (unsealed) scenario.
//!
//! For each root in order (generated incidents list them deepest first, the order they
//! must be fixed in): `read_logs`, `diagnose` with the root's mode, `apply_fix` with its
//! fix, `verify_health`. Its path is the scenario's `optimal_steps`; it is the upper
//! reference of the eval tables and the validity tests, never something an agent sees.

use crate::action::Action;
use crate::env::Env;
use crate::topology::contains;
use crate::vocab::ActionType;

/// Return the oracle's next action for `env`.
#[must_use]
pub fn choose(env: &Env) -> Action {
    let scenario = env.scenario();
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
