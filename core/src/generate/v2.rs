//! The generated-graph family (`gen_graph_*`, ruleset v2): incidents on a dependency
//! graph drawn per incident, with time, compound and masked roots and no-fault controls.
//! Deterministic, bounded, allocation-free, like [`super::generate`].
//!
//! # What an incident contains (`docs/tiers-v2.md`)
//!
//! - **Graph**: the gateway on top, the other five services in a drawn order below it;
//!   each calls at least one service above it in that order ... every service is
//!   reachable from the gateway, and the database is a leaf (it calls nothing). Extra
//!   edges down the order with [`GraphParams::edge_percent`]. So the deepest broken
//!   service is no fixed place.
//! - **Roots**: as in v1 (plausibility weights, one fix per mode, the same structural
//!   split on the root pairs), fixed deepest first in the incident's graph.
//! - **Masking** ([`GraphParams::mask_percent`], two roots or more): the root above
//!   another becomes its only caller and hides it: the lower root shows healthy until the
//!   upper one's fix lands.
//! - **Shared dependency** ([`GraphParams::shared_percent`]): two roots call one healthy
//!   service below both, which carries a misleading alert and evidence.
//! - **Spread**: a symptom at distance `d` from its nearest root shows broken from step
//!   `spread_steps · (d − 1)` (direct callers at reset).
//! - **Controls** ([`GraphParams::control_percent`]): no root; one service and its direct
//!   callers show a status and alerts until they self-heal at `heal_at`, and read noisily.
//!   The right play is to read and verify, never to remediate.
//! - **Evidence**: a read of a broken or flapping service shows a decoy drawn per service
//!   (any other mode, `healthy` included for a broken one) with the tier's
//!   [`GraphParams::noise_percent`].
//! - **Alerts**: the gateway when it is broken at reset, each other service broken at
//!   reset with [`GraphParams::alert_percent`] whatever its role (an incident may show
//!   statuses only).

use super::{Draws, FIX_OF, HERRING_MISLEAD_PERCENT, Roots, draw_count, draw_roots, fallback};
use crate::constants::{ROOT_COUNT_MAX, STEP_COUNT_MAX};
use crate::scenario::{BLANK, Origin, Ruleset, Scenario, Split, Tier};
use crate::task::Root;
use crate::topology::ServiceMask;
use crate::vocab::{MODE_COUNT, Mode, SERVICE_COUNT, Service, Severity, Status};

/// The parameters of one tier of the family (`examples/tiers.rs` prints them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphParams {
    /// Percent chance of each root count 1, 2, 3 (summing to 100) of a real incident.
    pub root_count_percent: [u8; ROOT_COUNT_MAX],
    /// Percent of incidents that are no-fault controls (no root, a flapping alert).
    pub control_percent: u8,
    /// Percent of multi-root incidents in which one root masks another.
    pub mask_percent: u8,
    /// Percent of multi-root incidents in which two roots share a healthy dependency.
    pub shared_percent: u8,
    /// Percent of reads of a broken or flapping service that show its decoy.
    pub noise_percent: u8,
    /// Most red herrings (healthy services with a misleading alert and evidence).
    pub herrings_max: u8,
    /// Percent chance that a service other than the gateway, broken at reset, has an
    /// alert (whatever its role).
    pub alert_percent: u8,
    /// Percent chance of each status a broken service shows: degraded, critical, down.
    pub status_percent: [u8; 3],
    /// Percent chance of each extra edge down the drawn order.
    pub edge_percent: u8,
    /// Steps per hop of the upstream spread (0: every symptom at reset).
    pub spread_steps: u8,
    /// Steps a fix takes to land (1: the next step).
    pub fix_delay: u8,
    /// Steps of slack over the optimal path (the budget is capped at `STEP_COUNT_MAX`).
    pub slack_steps: u8,
    /// Whether `inspect_dependencies` without a service shows the whole graph (else
    /// only the edges of services inspected one by one are ever shown).
    pub full_graph_shown: bool,
}

impl GraphParams {
    /// Return the most roots a real incident of the tier has.
    #[must_use]
    pub const fn roots_max(&self) -> u8 {
        super::roots_max(self.root_count_percent)
    }

    /// Return a bound on the step budget of the tier's incidents: per root the four
    /// steps of the oracle's path and at most `fix_delay` steps of waiting, plus the
    /// slack, capped at `STEP_COUNT_MAX`.
    #[must_use]
    pub const fn max_steps_max(&self) -> u8 {
        let bound = (4 + self.fix_delay) * self.roots_max() + self.slack_steps;
        if (bound as usize) < STEP_COUNT_MAX {
            bound
        } else {
            STEP_COUNT_MAX as u8
        }
    }
}

/// Return the parameters of graph tier `tier` (a v1 tier reads as the graph tier of its
/// level).
#[must_use]
pub const fn params(tier: Tier) -> GraphParams {
    match tier.level() {
        0 => GraphParams {
            root_count_percent: [100, 0, 0],
            control_percent: 0,
            mask_percent: 0,
            shared_percent: 0,
            noise_percent: 0,
            herrings_max: 0,
            alert_percent: 60,
            status_percent: [40, 35, 25],
            edge_percent: 25,
            spread_steps: 0,
            fix_delay: 1,
            slack_steps: 6,
            full_graph_shown: true,
        },
        1 => GraphParams {
            root_count_percent: [60, 40, 0],
            control_percent: 10,
            mask_percent: 20,
            shared_percent: 20,
            noise_percent: 15,
            herrings_max: 1,
            alert_percent: 50,
            status_percent: [45, 35, 20],
            edge_percent: 30,
            spread_steps: 2,
            fix_delay: 2,
            slack_steps: 8,
            full_graph_shown: true,
        },
        2 => GraphParams {
            root_count_percent: [30, 50, 20],
            control_percent: 15,
            mask_percent: 35,
            shared_percent: 35,
            noise_percent: 30,
            herrings_max: 1,
            alert_percent: 40,
            status_percent: [50, 30, 20],
            edge_percent: 35,
            spread_steps: 2,
            fix_delay: 2,
            slack_steps: 10,
            full_graph_shown: false,
        },
        _ => GraphParams {
            root_count_percent: [20, 40, 40],
            control_percent: 20,
            mask_percent: 50,
            shared_percent: 50,
            noise_percent: 40,
            herrings_max: 2,
            alert_percent: 30,
            status_percent: [55, 30, 15],
            edge_percent: 40,
            spread_steps: 1,
            fix_delay: 3,
            slack_steps: 12,
            full_graph_shown: false,
        },
    }
}

/// Write generated-graph incident `seed` of `tier` in `split` into `out`.
pub fn generate_into(seed: u64, tier: Tier, split: Split, out: &mut Scenario) {
    let key = seed ^ (u64::from(tier as u8) << 56) ^ (u64::from(split as u8) << 62);
    let mut draws = Draws {
        key: crate::seed::stream_seed(0x2_9c1d_e47e, key),
        counter: 0,
    };
    let p = params(tier);
    *out = BLANK;
    out.origin = Origin::Generated { tier, split, seed };
    out.ruleset = Ruleset::V2;
    out.fix_delay = p.fix_delay.max(1);
    let order = draw_graph(out, &mut draws, p.edge_percent);
    let control = draws.percent(p.control_percent);
    let count = draw_count(&mut draws, p.root_count_percent);
    let drawn = (0..super::ATTEMPTS_MAX)
        .map(|_| draw_roots(&mut draws, count))
        .find(|candidate| candidate.is_test() == (split == Split::Test));
    let roots = drawn.unwrap_or_else(|| fallback(count, split));
    let mut shared = None;
    if !control {
        let masked = roots.count > 1 && draws.percent(p.mask_percent);
        let masker = mask_pair(out, &order, &roots, masked);
        shared = share_dependency(out, &order, &roots, draws.percent(p.shared_percent));
        place_roots(out, &order, &roots, masker);
        propagate(out, p.spread_steps);
    } else {
        flap(out, &mut draws);
    }
    draw_statuses(out, &mut draws, p.status_percent);
    alert(out, &mut draws, p.alert_percent);
    if let Some(d) = shared.filter(|&d| out.cause[d] == 0) {
        mark_herring(out, &mut draws, d);
    }
    for _ in 0..p.herrings_max {
        let healthy = !(out.root_mask | out.affected_mask | out.herring_mask | out.flap_mask);
        if let Some(s) = pick(&mut draws, healthy & crate::topology::ALL_SERVICES) {
            mark_herring(out, &mut draws, s);
        }
    }
    add_noise(out, &mut draws, p.noise_percent);
    out.settle_at = out.onset.iter().copied().fold(out.heal_at, u8::max);
    out.optimal_steps = oracle_steps(out);
    let budget = usize::from(out.optimal_steps + p.slack_steps).min(STEP_COUNT_MAX);
    out.max_steps = budget as u8;
}

/// Draw the graph into `out.depends_on` and return the drawn order (gateway first).
fn draw_graph(out: &mut Scenario, draws: &mut Draws, edge_percent: u8) -> [usize; SERVICE_COUNT] {
    let mut order = [0, 1, 2, 3, 4, 5];
    // Fisher-Yates over positions 1..6: the gateway stays on top.
    for i in (2..SERVICE_COUNT).rev() {
        let j = 1 + draws.below(i as u32) as usize;
        order.swap(i, j);
    }
    out.depends_on = [0; SERVICE_COUNT];
    let leaf = Service::Database as usize;
    for k in 1..SERVICE_COUNT {
        // A caller above it in the order that may call (not the database).
        let callers = k - usize::from(order[..k].contains(&leaf));
        let mut nth = draws.below(callers as u32) as usize;
        for &c in &order[..k] {
            if c == leaf {
                continue;
            }
            if nth == 0 {
                out.depends_on[c] |= 1 << order[k];
                break;
            }
            nth -= 1;
        }
    }
    for i in 1..SERVICE_COUNT {
        for j in i + 1..SERVICE_COUNT {
            if order[i] != leaf && draws.percent(edge_percent) {
                out.depends_on[order[i]] |= 1 << order[j];
            }
        }
    }
    order
}

/// Return the position of every service in `order`.
fn ranks(order: &[usize; SERVICE_COUNT]) -> [usize; SERVICE_COUNT] {
    let mut out = [0; SERVICE_COUNT];
    for (rank, &s) in order.iter().enumerate() {
        out[s] = rank;
    }
    out
}

/// If `masked`, make the highest of the roots that can call (not the database) the only
/// caller of the lowest root, which it then masks; return the masking root.
fn mask_pair(
    out: &mut Scenario,
    order: &[usize; SERVICE_COUNT],
    roots: &Roots,
    masked: bool,
) -> Option<(usize, usize)> {
    if !masked {
        return None;
    }
    let rank = ranks(order);
    let services = roots.pairs[..roots.count].iter().map(|p| p.0 as usize);
    let upper = services
        .clone()
        .filter(|&s| s != Service::Database as usize)
        .min_by_key(|&s| rank[s])?;
    let lower = services.max_by_key(|&s| rank[s])?;
    if rank[lower] <= rank[upper] {
        return None;
    }
    for calls in &mut out.depends_on {
        *calls &= !(1 << lower);
    }
    out.depends_on[upper] |= 1 << lower;
    Some((upper, lower))
}

/// If `shared`, let the two highest roots that can call both call one service below
/// both that is no root; return it.
fn share_dependency(
    out: &mut Scenario,
    order: &[usize; SERVICE_COUNT],
    roots: &Roots,
    shared: bool,
) -> Option<usize> {
    if !shared || roots.count < 2 {
        return None;
    }
    let rank = ranks(order);
    let mask = roots.mask();
    let mut callers = roots.pairs[..roots.count]
        .iter()
        .map(|p| p.0 as usize)
        .filter(|&s| s != Service::Database as usize);
    let (a, b) = (callers.next()?, callers.next()?);
    let below = rank[a].max(rank[b]);
    let d = order[below + 1..]
        .iter()
        .copied()
        .find(|&d| mask & (1 << d) == 0)?;
    out.depends_on[a] |= 1 << d;
    out.depends_on[b] |= 1 << d;
    Some(d)
}

/// Return every service `s` calls, transitively, in the incident's graph.
fn descendants(out: &Scenario, s: usize) -> ServiceMask {
    let mut mask = out.depends_on[s];
    for _ in 0..SERVICE_COUNT {
        let mut next = mask;
        for (t, &calls) in out.depends_on.iter().enumerate() {
            next |= calls & 0u8.wrapping_sub(mask >> t & 1);
        }
        mask = next;
    }
    mask
}

/// Write the roots in fix order (deepest in the drawn order first; a masked root right
/// after the root that masks it), their fixes and order constraints.
fn place_roots(
    out: &mut Scenario,
    order: &[usize; SERVICE_COUNT],
    roots: &Roots,
    masker: Option<(usize, usize)>,
) {
    let mut mode_of = [Mode::Healthy; SERVICE_COUNT];
    for &(service, mode) in &roots.pairs[..roots.count] {
        mode_of[service as usize] = mode;
    }
    let root_mask = roots.mask();
    let mut sequence = [0usize; SERVICE_COUNT];
    let mut len = 0;
    for &s in order.iter().rev() {
        let is_masked = masker.is_some_and(|(_, lower)| lower == s);
        if root_mask & (1 << s) != 0 && !is_masked {
            sequence[len] = s;
            len += 1;
        }
        if let Some((upper, lower)) = masker.filter(|&(upper, _)| upper == s) {
            debug_assert!(upper == s);
            sequence[len] = lower;
            len += 1;
        }
    }
    out.root_count = len as u8;
    for (slot, &s) in sequence[..len].iter().enumerate() {
        let (service, mode) = (Service::ALL[s], mode_of[s]);
        let fix = FIX_OF[mode as usize];
        out.roots[slot] = Root { service, mode, fix };
        out.mode[s] = mode;
        out.fix[s] = Some(fix);
        out.cause[s] = 1 << s;
        out.blocked_by[s] = descendants(out, s) & root_mask;
        out.root_mode_mask |= 1 << mode as u8;
    }
    if let Some((upper, lower)) = masker {
        out.masked_by[lower] = 1 << upper;
        out.blocked_by[upper] &= !(1 << lower);
    }
    out.root_mask = root_mask;
}

/// Mark every caller (transitive) of a root as its symptom, with the nearest root's
/// symptom mode, and its onset from the distance to that root.
fn propagate(out: &mut Scenario, spread_steps: u8) {
    let mut best = [u8::MAX; SERVICE_COUNT];
    for slot in 0..usize::from(out.root_count) {
        let root = out.roots[slot];
        let r = root.service as usize;
        let distance = distances_up(out, r);
        for s in 0..SERVICE_COUNT {
            let d = distance[s];
            if d == 0 || out.root_mask & (1 << s) != 0 {
                continue;
            }
            out.affected_mask |= 1 << s;
            out.cause[s] |= 1 << r;
            if d < best[s] {
                best[s] = d;
                out.mode[s] = super::symptom_of(root.mode, root.service, d);
                out.onset[s] = spread_steps.saturating_mul(d - 1);
            }
        }
    }
}

/// `distance[s]`: the fewest edges from `s` down to `r` in the incident's graph, 0 if
/// `s` does not depend on `r`.
fn distances_up(out: &Scenario, r: usize) -> [u8; SERVICE_COUNT] {
    let mut distance = [0u8; SERVICE_COUNT];
    let mut frontier: ServiceMask = 1 << r;
    for d in 1..=SERVICE_COUNT as u8 {
        let mut callers = 0;
        for (s, &calls) in out.depends_on.iter().enumerate() {
            callers |= u8::from(calls & frontier != 0) << s;
        }
        for (s, slot) in distance.iter_mut().enumerate() {
            if callers & (1 << s) != 0 && *slot == 0 && s != r {
                *slot = d;
            }
        }
        frontier = callers;
    }
    distance
}

/// A no-fault control: a drawn service and its direct callers flap until `heal_at`.
fn flap(out: &mut Scenario, draws: &mut Draws) {
    let f = draws.below(SERVICE_COUNT as u32) as usize;
    let mut mask = 1 << f;
    for (s, &calls) in out.depends_on.iter().enumerate() {
        mask |= u8::from(calls & (1 << f) != 0) << s;
    }
    out.flap_mask = mask;
    out.herring_mask = mask;
    out.heal_at = 2 + draws.below(3) as u8;
}

/// Return the service of a control whose callers flap with it (the one of `flap_mask`
/// that calls no other flapping service), if the scenario is a control.
#[must_use]
pub fn flap_origin(scenario: &Scenario) -> Option<Service> {
    let mask = scenario.flap_mask;
    Service::ALL
        .into_iter()
        .find(|&s| mask & (1 << s as u8) != 0 && scenario.depends_on(s) & mask == 0)
}

/// Give every broken or flapping service a drawn status (canonical order).
fn draw_statuses(out: &mut Scenario, draws: &mut Draws, percent: [u8; 3]) {
    let [first, second, third] = percent.map(u32::from);
    for s in super::services_of(out.root_mask | out.affected_mask | out.flap_mask) {
        let pick = draws.below(100);
        let passed = usize::from(pick >= first)
            + usize::from(pick >= first + second)
            + usize::from(pick >= first + second + third);
        out.status[s] = [
            Status::Degraded,
            Status::Critical,
            Status::Down,
            Status::Degraded,
        ][passed];
    }
}

/// Alerts on the services shown broken (or flapping) at reset: the gateway always, the
/// others with `percent` each, whatever their role (an incident may page on statuses
/// alone: a rule such as "at least one alert" would tie alerts to the broken set's size).
fn alert(out: &mut Scenario, draws: &mut Draws, percent: u8) {
    let shown = reset_broken(out);
    for s in super::services_of(shown) {
        if s == 0 || draws.percent(percent) {
            out.alert[s] = Some(super::severity_of(out.status[s]));
        }
    }
}

/// Return the services that show broken (or flapping) at reset.
#[must_use]
pub fn reset_broken(out: &Scenario) -> ServiceMask {
    let modes = out.modes_at(0, 0);
    let mut mask = out.flap_mask;
    for (s, mode) in modes.iter().enumerate() {
        mask |= u8::from(*mode != Mode::Healthy) << s;
    }
    mask
}

/// Return a drawn service of `mask`, if any.
fn pick(draws: &mut Draws, mask: ServiceMask) -> Option<usize> {
    let count = mask.count_ones();
    if count == 0 {
        return None;
    }
    super::services_of(mask).nth(draws.below(count) as usize)
}

/// Make healthy service `s` a red herring: a low or medium alert, a misleading mode.
fn mark_herring(out: &mut Scenario, draws: &mut Draws, s: usize) {
    out.herring_mask |= 1 << s;
    out.mislead_percent[s] = HERRING_MISLEAD_PERCENT;
    out.alert[s] = Some([Severity::Low, Severity::Medium][draws.below(2) as usize]);
    out.decoy[s] = Mode::DIAGNOSES[draws.below(MODE_COUNT as u32 - 1) as usize];
}

/// Give every broken service a decoy (any other mode, `healthy` included) and every
/// flapping one a failure mode, read with the tier's noise.
fn add_noise(out: &mut Scenario, draws: &mut Draws, noise_percent: u8) {
    for s in super::services_of(out.root_mask | out.affected_mask) {
        let other = draws.below(MODE_COUNT as u32 - 1) as u8;
        let index = other + u8::from(other >= out.mode[s] as u8);
        out.decoy[s] = Mode::ALL[usize::from(index)];
        out.mislead_percent[s] = noise_percent;
    }
    for s in super::services_of(out.flap_mask) {
        out.decoy[s] = Mode::DIAGNOSES[draws.below(MODE_COUNT as u32 - 1) as usize];
        out.mislead_percent[s] = noise_percent;
    }
}

/// The oracle's step count ([`crate::oracle`]): per root in fix order a read, a
/// diagnosis, a fix once the roots below it have landed and a verification once its own
/// fix has, a later root's read or diagnosis while waiting, else a wasted step; a
/// control's read and verification.
fn oracle_steps(out: &Scenario) -> u8 {
    if out.root_count == 0 {
        return 2;
    }
    let roots = &out.roots[..usize::from(out.root_count)];
    // Per root: stage 0 unread, 1 read, 2 diagnosed, 3 fixed, 4 verified; fix step.
    let mut stage = [0u8; ROOT_COUNT_MAX];
    let mut fixed_at = [0u8; ROOT_COUNT_MAX];
    let mut step = 0u8;
    while stage[..roots.len()].iter().any(|&st| st < 4) && usize::from(step) < STEP_COUNT_MAX {
        step += 1;
        let landed = |stage: &[u8], fixed_at: &[u8], i: usize| {
            stage[i] >= 3 && step >= fixed_at[i] + out.fix_delay
        };
        let landed_mask = (0..roots.len())
            .filter(|&i| landed(&stage, &fixed_at, i))
            .fold(0u8, |m, i| m | 1 << roots[i].service as u8);
        if let Some(i) = (0..roots.len()).find(|&i| stage[i] == 3 && landed(&stage, &fixed_at, i)) {
            stage[i] = 4;
            continue;
        }
        let Some(next) = (0..roots.len()).find(|&i| stage[i] < 3) else {
            continue;
        };
        let r = roots[next].service as usize;
        if stage[next] < 2 {
            stage[next] += 1;
        } else if (out.blocked_by[r] | out.masked_by[r]) & !landed_mask == 0 {
            stage[next] = 3;
            fixed_at[next] = step;
        } else if let Some(later) = (next + 1..roots.len()).find(|&i| stage[i] < 2) {
            stage[later] += 1;
        }
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphs_are_rooted_acyclic_and_keep_the_database_a_leaf() {
        // Goal: every generated graph reaches every service from the gateway, the
        // database calls nothing, nothing calls the gateway, and the graphs differ.
        let mut distinct = std::collections::HashSet::new();
        for tier in Tier::GRAPH {
            for seed in 0..3000 {
                let s = crate::generate::generate(seed, tier, Split::Train);
                assert_eq!(s.depends_on[Service::Database as usize], 0, "{s:?}");
                assert!(s.depends_on.iter().all(|&calls| calls & 1 == 0), "{s:?}");
                let reach = descendants(&s, 0) | 1;
                assert_eq!(reach, crate::topology::ALL_SERVICES, "{s:?}");
                for service in 0..SERVICE_COUNT {
                    assert_eq!(descendants(&s, service) & (1 << service), 0, "{s:?}");
                }
                distinct.insert(s.depends_on);
            }
        }
        assert!(distinct.len() > 500, "{}", distinct.len());
    }

    #[test]
    fn incidents_are_well_formed() {
        // Goal: roots in fix order (none depends on a later unmasked one), symptoms
        // exactly above the roots, controls without roots, a page at reset, budgets
        // within bounds, and the same incident for the same arguments.
        for tier in Tier::GRAPH {
            for split in Split::ALL {
                for seed in 0..2000 {
                    let s = crate::generate::generate(seed, tier, split);
                    assert_eq!(s.ruleset, Ruleset::V2);
                    assert_eq!(s.root_count == 0, s.flap_mask != 0, "{s:?}");
                    let mut above = 0;
                    for (i, root) in s.roots().iter().enumerate() {
                        let r = root.service as usize;
                        for later in &s.roots()[i + 1..] {
                            let l = later.service as usize;
                            if s.masked_by[l] == 0 {
                                assert_eq!(descendants(&s, r) & (1 << l), 0, "{s:?}");
                            }
                        }
                        for c in 0..SERVICE_COUNT {
                            above |= u8::from(descendants(&s, c) & (1 << r) != 0) << c;
                        }
                    }
                    assert_eq!(s.affected_mask, above & !s.root_mask, "{s:?}");
                    assert_ne!(reset_broken(&s), 0, "{s:?}");
                    assert!(s.optimal_steps < s.max_steps, "{s:?}");
                    assert!(s.max_steps <= params(tier).max_steps_max(), "{s:?}");
                    assert_eq!(s, crate::generate::generate(seed, tier, split));
                }
            }
        }
    }
}
