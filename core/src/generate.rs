//! Generated incidents: `generate(seed, tier, split) -> Scenario`, deterministic, bounded,
//! allocation-free.
//!
//! # What an incident contains
//!
//! - **Roots**: 1 to 3 `(service, mode)` pairs on distinct services, drawn with the
//!   plausibility weights of [`PLAUSIBILITY`] (`disk_full` only on the database,
//!   `certificate_expired` on the services that terminate TLS ...). Each mode has one
//!   fix ([`fix_for`]); `clear_cache` fixes nothing.
//! - **Symptoms**: every service that depends (transitively) on a root is broken while
//!   that root is unfixed. The mode its evidence shows depends on the nearest root's mode
//!   and the distance ([`symptom_of`]); a service hit by several roots shows the nearest.
//! - **Statuses**: every broken service, root or symptom, shows a status drawn on its own
//!   from the tier's [`TierParams::status_percent`] (degraded, critical, down), whatever
//!   its role and mode.
//! - **Alerts**: on the gateway (customer-facing; every root is the gateway or below it, so
//!   every incident pages), and on each other broken service with a chance that depends
//!   only on what the graph shows of it at reset, never on its role or mode: the tier's
//!   [`TierParams::alert_above_percent`] if one of its dependencies is broken too (it
//!   returns their errors: the upstream symptoms a failure shows), else
//!   [`TierParams::alert_bottom_percent`] (a broken service with no broken dependency, at
//!   the bottom of the broken set: the graph already shows it is a root). So a root may
//!   be silent (a bottom root mostly is), and alerts sit mostly on symptoms: 76 / 73 / 69 /
//!   62% of the alerts on broken services, easy .. expert (docs/tiers.md). Severities follow the
//!   status (critical for critical and down, high for degraded).
//! - **Red herrings** (hard, expert): a healthy service with a low/medium alert whose logs
//!   and metrics show a misleading mode half of the time; fixing it is destructive.
//! - **Noise**: a read of a root or symptom shows a fixed confusable mode
//!   ([`decoy_of`]) with the tier's probability, a fresh seeded sample per read.
//! - **Order**: a root that depends on another root relapses when fixed first
//!   (`blocked_by`): roots must be fixed deepest first.
//! - **Budget**: `optimal_steps = 4 × roots` (read_logs, diagnose, apply_fix,
//!   verify_health per root), `max_steps = optimal + slack(tier)`.
//!
//! # What reset shows, and what it does not
//!
//! Before any read, an agent sees which services are broken, their statuses and the
//! alerts. Given the set of broken services, the statuses and alerts are independent
//! draws that ignore which services are roots and what their modes are (a status's chances
//! are the tier's; an alert's depend only on the service and the set of broken services),
//! so they tell a root from a symptom no better than the dependency graph itself does (a
//! broken service none of whose dependencies is broken must be a root; one above a broken
//! dependency may be either), and they never name a mode. Only evidence does: the logs and
//! metrics of a read. `tests/tests/core_generated.rs` checks this statistically, service
//! by service and for the whole reset pattern of all services at once (chi-square tests
//! of independence from the roots and their modes within each set of broken services).
//! The symptom's *mode* still depends on its root's mode and distance: that is evidence,
//! shown only by a read.
//!
//! # The split
//!
//! The structure of an incident is its set of root `(service, mode)` pairs. A pair in
//! [`TEST_PAIRS`], or a multi-root set of services in [`TEST_SHAPES`], makes the incident a
//! test incident; train incidents have neither. Seeds index incidents within a split
//! (rejection sampling over at most [`ATTEMPTS_MAX`] draws, then a deterministic
//! fallback), so no test structure is ever generated in train and vice versa.

use crate::constants::ROOT_COUNT_MAX;
use crate::scenario::{BLANK, Origin, Ruleset, Scenario, Split, TIER_COUNT, Tier};
use crate::task::{Root, TaskId};
use crate::topology::{ALL_SERVICES, DEPENDED_BY, DEPENDS_ON, ServiceMask};
use crate::vocab::{
    DIAGNOSIS_COUNT, Fix, MODE_COUNT, Mode, SERVICE_COUNT, STATUS_COUNT, Service, Severity, Status,
};

#[cfg(test)]
mod reference;
pub mod v2;

/// Draws of root structures before the deterministic fallback.
pub const ATTEMPTS_MAX: usize = 64;

/// The parameters of one tier (docs/tiers.md's table is this data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierParams {
    /// Percent chance of each root count 1, 2, 3 (summing to 100).
    pub root_count_percent: [u8; ROOT_COUNT_MAX],
    /// Percent of reads of a broken service that show its decoy.
    pub noise_percent: u8,
    /// Most red herrings.
    pub herrings_max: u8,
    /// Percent chance that a broken service other than the gateway has an alert when one
    /// of its dependencies is broken too, root or symptom alike.
    pub alert_above_percent: u8,
    /// Percent chance that a broken service other than the gateway has an alert when none
    /// of its dependencies is broken (such a service must be a root, which the graph shows
    /// anyway).
    pub alert_bottom_percent: u8,
    /// Percent chance of each status a broken service shows: degraded, critical, down
    /// (summing to 100), drawn per service whatever its role and mode.
    pub status_percent: [u8; 3],
    /// Steps of slack over the optimal path.
    pub slack_steps: u8,
}

/// Steps of the optimal path per root: `read_logs`, `diagnose`, `apply_fix`,
/// `verify_health`.
pub const STEPS_PER_ROOT: u8 = 4;

impl TierParams {
    /// Return the most roots an incident of the tier has.
    #[must_use]
    pub const fn roots_max(&self) -> u8 {
        roots_max(self.root_count_percent)
    }

    /// Return the largest step budget of the tier's incidents.
    #[must_use]
    pub const fn max_steps_max(&self) -> u8 {
        STEPS_PER_ROOT * self.roots_max() + self.slack_steps
    }
}

/// Return the most roots of the root-count percentages `percent` (at least 1).
#[must_use]
pub(crate) const fn roots_max(percent: [u8; ROOT_COUNT_MAX]) -> u8 {
    let mut count = ROOT_COUNT_MAX;
    while count > 1 && percent[count - 1] == 0 {
        count -= 1;
    }
    count as u8
}

/// Percent of reads of a red herring that show its misleading mode.
pub const HERRING_MISLEAD_PERCENT: u8 = 50;

/// Return the v1 parameters of `tier`'s level (a graph tier's own are [`v2::params`]).
#[must_use]
pub const fn params(tier: Tier) -> TierParams {
    match Tier::ALL[tier.level()] {
        Tier::Easy => TierParams {
            root_count_percent: [100, 0, 0],
            noise_percent: 0,
            herrings_max: 0,
            alert_above_percent: 100,
            alert_bottom_percent: 50,
            status_percent: [40, 35, 25],
            slack_steps: 4,
        },
        Tier::Medium => TierParams {
            root_count_percent: [60, 40, 0],
            noise_percent: 10,
            herrings_max: 0,
            alert_above_percent: 90,
            alert_bottom_percent: 30,
            status_percent: [45, 35, 20],
            slack_steps: 6,
        },
        Tier::Hard => TierParams {
            root_count_percent: [0, 100, 0],
            noise_percent: 20,
            herrings_max: 1,
            alert_above_percent: 80,
            alert_bottom_percent: 15,
            status_percent: [50, 30, 20],
            slack_steps: 8,
        },
        _ => TierParams {
            root_count_percent: [0, 50, 50],
            noise_percent: 25,
            herrings_max: 2,
            alert_above_percent: 70,
            alert_bottom_percent: 5,
            status_percent: [55, 30, 15],
            slack_steps: 8,
        },
    }
}

/// `PLAUSIBILITY[service][mode]`: relative weight of a root with that mode on that
/// service (0: never). Modes in `Mode::DIAGNOSES` order: crash, leak, latency, pool, disk,
/// certificate, drift.
pub const PLAUSIBILITY: [[u8; 7]; SERVICE_COUNT] = [
    // api_gateway: crashes, TLS termination, routing config, overload.
    [3, 1, 2, 0, 0, 3, 3],
    // auth_service: token-signing certificates, crashes, config, leaks.
    [2, 2, 1, 0, 0, 3, 2],
    // user_service: leaks, latency, crashes, config.
    [2, 3, 2, 1, 0, 0, 2],
    // order_service: leaks, crashes, latency, config, pool.
    [2, 3, 2, 1, 0, 0, 2],
    // payment_service: pools, the bank's TLS certificate, crashes, leaks, config.
    [1, 2, 1, 3, 0, 3, 1],
    // database: disk, pool, latency, config, leak (stateful: the only disk_full).
    [1, 1, 2, 3, 4, 0, 2],
];

/// Root pairs reserved for the test split.
pub const TEST_PAIRS: [(Service, Mode); 6] = [
    (Service::ApiGateway, Mode::ConfigDrift),
    (Service::AuthService, Mode::ServiceCrash),
    (Service::UserService, Mode::MemoryLeak),
    (Service::OrderService, Mode::HighLatency),
    (Service::PaymentService, Mode::CertificateExpired),
    (Service::Database, Mode::HighLatency),
];

/// Multi-root service sets reserved for the test split (bit `i` for `Service::ALL[i]`).
pub const TEST_SHAPES: [ServiceMask; 3] = [
    // auth + payment
    0b01_0010, // user + order
    0b00_1100, // gateway + user + database
    0b10_0101,
];

/// Return the one fix of a failure mode.
#[must_use]
pub const fn fix_for(mode: Mode) -> Fix {
    match mode {
        Mode::ServiceCrash | Mode::Healthy => Fix::RestartService,
        Mode::MemoryLeak => Fix::MemoryFix,
        Mode::HighLatency => Fix::ScaleUp,
        Mode::ConnectionPoolExhaustion => Fix::DrainConnections,
        Mode::DiskFull => Fix::ClearDisk,
        Mode::CertificateExpired => Fix::RenewCertificate,
        Mode::ConfigDrift => Fix::RollbackConfig,
    }
}

/// Return the mode a noisy read of a service in `mode` shows instead.
#[must_use]
pub const fn decoy_of(mode: Mode) -> Mode {
    match mode {
        Mode::ServiceCrash => Mode::MemoryLeak,
        Mode::MemoryLeak => Mode::ServiceCrash,
        Mode::HighLatency => Mode::ConnectionPoolExhaustion,
        Mode::ConnectionPoolExhaustion => Mode::HighLatency,
        Mode::DiskFull => Mode::HighLatency,
        Mode::CertificateExpired => Mode::ServiceCrash,
        Mode::ConfigDrift => Mode::HighLatency,
        Mode::Healthy => Mode::MemoryLeak,
    }
}

/// Return the mode the evidence of a service shows at `distance` (1 = a direct caller)
/// above a root in `root_mode` on `root` (its status is drawn apart: [`generate`]).
#[must_use]
pub const fn symptom_of(root_mode: Mode, root: Service, distance: u8) -> Mode {
    let pooled = matches!(root, Service::Database | Service::PaymentService);
    if distance == 1
        && pooled
        && matches!(
            root_mode,
            Mode::DiskFull | Mode::ConnectionPoolExhaustion | Mode::HighLatency
        )
    {
        Mode::ConnectionPoolExhaustion
    } else {
        Mode::HighLatency
    }
}

/// A counter-based generator: SplitMix64 of `(key, counter)`.
struct Draws {
    key: u64,
    counter: u64,
}

impl Draws {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        crate::seed::stream_seed(self.key, self.counter)
    }

    /// A value below `bound` (> 0).
    fn below(&mut self, bound: u32) -> u32 {
        (((self.next() >> 32) * u64::from(bound)) >> 32) as u32
    }

    fn percent(&mut self, percent: u8) -> bool {
        self.below(100) < u32::from(percent)
    }
}

/// Root pairs of one structure, and how many.
#[derive(Clone, Copy)]
struct Roots {
    pairs: [(Service, Mode); ROOT_COUNT_MAX],
    count: usize,
}

impl Roots {
    fn mask(&self) -> ServiceMask {
        let mut mask = 0;
        for &(service, _) in &self.pairs[..self.count] {
            mask |= 1 << service as u8;
        }
        mask
    }

    /// [`is_test_structure`] of these roots, from bit tables of the reserved pairs and
    /// shapes.
    fn is_test(&self) -> bool {
        let mut reserved = 0;
        for &(service, mode) in &self.pairs[..self.count] {
            reserved |= TEST_MODES[service as usize] >> mode as u8 & 1;
        }
        let shape = self.count > 1 && TEST_SHAPE_SET >> self.mask() & 1 != 0;
        reserved != 0 || shape
    }
}

/// `TEST_MODES[s]`: bit `mode` set for every pair `(s, mode)` of [`TEST_PAIRS`].
const TEST_MODES: [u8; SERVICE_COUNT] = {
    let mut out = [0; SERVICE_COUNT];
    let mut index = 0;
    while index < TEST_PAIRS.len() {
        let (service, mode) = TEST_PAIRS[index];
        out[service as usize] |= 1 << mode as u8;
        index += 1;
    }
    out
};

/// Bit `mask` set for every service set of [`TEST_SHAPES`].
const TEST_SHAPE_SET: u64 = {
    let mut out = 0;
    let mut index = 0;
    while index < TEST_SHAPES.len() {
        out |= 1 << TEST_SHAPES[index];
        index += 1;
    }
    out
};

/// Return whether a root structure belongs to the test split.
#[must_use]
pub fn is_test_structure(pairs: &[(Service, Mode)]) -> bool {
    let mut mask: ServiceMask = 0;
    let mut reserved = false;
    for pair in pairs {
        mask |= 1 << pair.0 as u8;
        reserved |= TEST_PAIRS.contains(pair);
    }
    reserved || (pairs.len() > 1 && TEST_SHAPES.contains(&mask))
}

/// Draw one plausible `(service, mode)` pair on a service outside `taken`: weight unit
/// `pick` of the free services' [`PLAUSIBILITY`] rows, read row by row, found in the table
/// of every row's units ([`PAIR_OF_UNIT`]) once the taken rows before it are skipped.
fn draw_pair(draws: &mut Draws, taken: ServiceMask) -> (Service, Mode) {
    let taken = taken & ALL_SERVICES;
    let mut pick = draws.below(FREE_WEIGHT[usize::from(taken)].max(1));
    // The taken rows in order (the others add nothing): one that starts at or before the
    // unit pushes it past itself.
    for s in services_of(taken) {
        let (start, weight) = (ROW_START[s], ROW_WEIGHT[s]);
        pick += weight * u32::from(pick >= start);
    }
    match PAIR_OF_UNIT.get(pick as usize) {
        Some(&(service, mode)) => (service, mode),
        None => (Service::Database, Mode::DiskFull),
    }
}

/// `FREE_WEIGHT[taken]`: the sum of the plausibility weights of the services outside
/// `taken`.
static FREE_WEIGHT: [u32; 1 << SERVICE_COUNT] = {
    let mut out = [0; 1 << SERVICE_COUNT];
    let mut taken = 0;
    while taken < 1 << SERVICE_COUNT {
        let mut s = 0;
        while s < SERVICE_COUNT {
            if taken & (1 << s) == 0 {
                out[taken] += ROW_WEIGHT[s];
            }
            s += 1;
        }
        taken += 1;
    }
    out
};

/// The sum of every weight of [`PLAUSIBILITY`].
const WEIGHT_TOTAL: u32 = {
    let mut total = 0;
    let mut s = 0;
    while s < SERVICE_COUNT {
        total += ROW_WEIGHT[s];
        s += 1;
    }
    total
};

/// `ROW_WEIGHT[s]`: the sum of service `s`'s plausibility weights.
const ROW_WEIGHT: [u32; SERVICE_COUNT] = {
    let mut out = [0; SERVICE_COUNT];
    let mut s = 0;
    while s < SERVICE_COUNT {
        let mut m = 0;
        while m < DIAGNOSIS_COUNT {
            out[s] += PLAUSIBILITY[s][m] as u32;
            m += 1;
        }
        s += 1;
    }
    out
};

/// `ROW_START[s]`: the first weight unit of service `s`'s row.
const ROW_START: [u32; SERVICE_COUNT] = {
    let mut out = [0; SERVICE_COUNT];
    let mut s = 1;
    while s < SERVICE_COUNT {
        out[s] = out[s - 1] + ROW_WEIGHT[s - 1];
        s += 1;
    }
    out
};

/// `PAIR_OF_UNIT[unit]`: the `(service, mode)` pair weight unit `unit` of
/// [`PLAUSIBILITY`] belongs to, the rows read in order.
static PAIR_OF_UNIT: [(Service, Mode); WEIGHT_TOTAL as usize] = {
    let mut out = [(Service::Database, Mode::DiskFull); WEIGHT_TOTAL as usize];
    let mut unit = 0;
    let mut s = 0;
    while s < SERVICE_COUNT {
        let mut m = 0;
        while m < DIAGNOSIS_COUNT {
            let mut w = 0;
            while w < PLAUSIBILITY[s][m] {
                out[unit] = (Service::ALL[s], Mode::DIAGNOSES[m]);
                unit += 1;
                w += 1;
            }
            m += 1;
        }
        s += 1;
    }
    out
};

fn draw_roots(draws: &mut Draws, count: usize) -> Roots {
    let mut roots = Roots {
        pairs: [(Service::Database, Mode::DiskFull); ROOT_COUNT_MAX],
        count,
    };
    let mut taken = 0;
    for slot in 0..count {
        roots.pairs[slot] = draw_pair(draws, taken);
        taken |= 1 << roots.pairs[slot].0 as u8;
    }
    roots
}

/// A deterministic structure of `count` roots in `split` (used when sampling fails).
fn fallback(count: usize, split: Split) -> Roots {
    let train = [
        (Service::Database, Mode::DiskFull),
        (Service::PaymentService, Mode::ConnectionPoolExhaustion),
        (Service::ApiGateway, Mode::ServiceCrash),
    ];
    let test = [
        (Service::PaymentService, Mode::CertificateExpired),
        (Service::Database, Mode::DiskFull),
        (Service::ApiGateway, Mode::ServiceCrash),
    ];
    Roots {
        pairs: if split == Split::Test { test } else { train },
        count,
    }
}

/// Return the root count for a tier's percentages.
fn draw_count(draws: &mut Draws, percent: [u8; ROOT_COUNT_MAX]) -> usize {
    let mut pick = draws.below(100);
    for (index, &p) in percent.iter().enumerate() {
        if pick < u32::from(p) {
            return index + 1;
        }
        pick -= u32::from(p);
    }
    1
}

impl Scenario {
    /// Return generated incident `seed` of `tier` in `split` ([`generate`]).
    #[must_use]
    pub fn generated(seed: u64, tier: Tier, split: Split) -> Scenario {
        generate(seed, tier, split)
    }
}

impl Origin {
    /// Return the scenario this origin names (generating it if need be).
    #[must_use]
    pub fn scenario(self) -> Scenario {
        match self {
            Origin::Generated { tier, split, seed } => generate(seed, tier, split),
            other => Scenario::task(other.task_id().unwrap_or(TaskId::Easy)),
        }
    }
}

/// Return the generated incident `seed` of `tier` in `split`.
#[must_use]
pub fn generate(seed: u64, tier: Tier, split: Split) -> Scenario {
    let mut out = BLANK;
    generate_into(seed, tier, split, &mut out);
    out
}

/// Return the largest step budget of `tier`'s incidents, from the parameters of the
/// family that generates it ([`params`] or [`v2::params`]).
#[must_use]
pub const fn max_steps_max(tier: Tier) -> u8 {
    match tier.ruleset() {
        Ruleset::V2 => v2::params(tier).max_steps_max(),
        Ruleset::Original | Ruleset::V1 => params(tier).max_steps_max(),
    }
}

/// Write the generated incident `seed` of `tier` in `split` into `out` (whatever it held):
/// [`generate`] in place, so an environment's auto-reset generates into its own scenario
/// instead of copying a returned one in.
pub fn generate_into(seed: u64, tier: Tier, split: Split, out: &mut Scenario) {
    if tier.ruleset() == Ruleset::V2 {
        return v2::generate_into(seed, tier, split, out);
    }
    let key = seed ^ (u64::from(tier as u8) << 56) ^ (u64::from(split as u8) << 62);
    let mut draws = Draws {
        key: crate::seed::stream_seed(0x1_9c1d_e47e, key),
        counter: 0,
    };
    let params = params(tier);
    let count = draw_count(&mut draws, params.root_count_percent);
    let drawn = (0..ATTEMPTS_MAX)
        .map(|_| draw_roots(&mut draws, count))
        .find(|candidate| candidate.is_test() == (split == Split::Test));
    let roots = drawn.unwrap_or_else(|| fallback(count, split));
    *out = BLANK;
    out.origin = Origin::Generated { tier, split, seed };
    out.ruleset = Ruleset::V1;
    place_roots(out, &roots);
    propagate(out);
    draw_statuses(out, &mut draws, params.status_percent);
    alert(out, &mut draws, tier);
    add_herrings(out, &mut draws, params.herrings_max);
    // The broken services (those with a cause) read noisily; the others keep their
    // values (a red herring's decoy and percent).
    let broken = out.root_mask | out.affected_mask;
    for s in 0..SERVICE_COUNT {
        let hit = broken >> s & 1 != 0;
        out.decoy[s] = [out.decoy[s], DECOY_OF[out.mode[s] as usize]][usize::from(hit)];
        out.mislead_percent[s] = [out.mislead_percent[s], params.noise_percent][usize::from(hit)];
    }
    out.optimal_steps = STEPS_PER_ROOT * out.root_count;
    out.max_steps = out.optimal_steps + params.slack_steps;
}

/// Write the roots deepest first (descending canonical index: a service depends only on
/// later ones), with their fixes and order constraints. The services of a structure are
/// distinct, so the order is the root mask's bits from the highest down.
fn place_roots(out: &mut Scenario, roots: &Roots) {
    let mut mode_of = [Mode::Healthy; SERVICE_COUNT];
    for &(service, mode) in &roots.pairs[..roots.count] {
        mode_of[service as usize] = mode;
    }
    let root_mask = roots.mask();
    out.root_count = root_mask.count_ones() as u8;
    let mut left = root_mask;
    for slot in &mut out.roots[..usize::from(out.root_count)] {
        let s = 7 - left.leading_zeros() as usize;
        left &= !(1 << s);
        let (service, mode) = (Service::ALL[s], mode_of[s]);
        let fix = FIX_OF[mode as usize];
        *slot = Root { service, mode, fix };
        out.mode[s] = mode;
        out.fix[s] = Some(fix);
        out.cause[s] = 1 << s;
        out.blocked_by[s] = descendants(service) & root_mask;
        out.root_mode_mask |= 1 << mode as u8;
    }
    out.root_mask = root_mask;
}

/// Return every service `service` depends on, transitively (a table computed at compile
/// time).
#[must_use]
pub fn descendants(service: Service) -> ServiceMask {
    DESCENDANTS[service as usize]
}

/// `DESCENDANTS[s]`: every service `s` depends on, transitively.
static DESCENDANTS: [ServiceMask; SERVICE_COUNT] = {
    let mut out = [0; SERVICE_COUNT];
    let mut service = 0;
    while service < SERVICE_COUNT {
        let mut mask = DEPENDS_ON[service];
        // The graph has depth < SERVICE_COUNT: that many expansions reach the closure.
        let mut round = 0;
        while round < SERVICE_COUNT {
            let mut next = mask;
            let mut s = 0;
            while s < SERVICE_COUNT {
                if mask & (1 << s) != 0 {
                    next |= DEPENDS_ON[s];
                }
                s += 1;
            }
            mask = next;
            round += 1;
        }
        out[service] = mask;
        service += 1;
    }
    out
};

/// Mark every service above a root as its symptom, with the nearest root's mode (the
/// earlier root, deepest first, on a tie).
fn propagate(out: &mut Scenario) {
    let mut best = [u8::MAX; SERVICE_COUNT];
    for slot in 0..usize::from(out.root_count) {
        let root = out.roots[slot];
        let r = root.service as usize;
        let above = CALLERS[r] & !out.root_mask;
        out.affected_mask |= above;
        let direct = SYMPTOM_OF_DIRECT_CALLER[r][root.mode as usize];
        // Every service, the callers by mask (no branch per service).
        for s in 0..SERVICE_COUNT {
            let hit = above >> s & 1;
            out.cause[s] |= hit << r;
            let distance = DISTANCE_UP[r][s];
            let nearer = (hit != 0) & (distance < best[s]);
            best[s] = [best[s], distance][usize::from(nearer)];
            // `symptom_of(root.mode, root.service, distance)`, from a table.
            let symptom = [Mode::HighLatency, direct][usize::from(distance == 1)];
            out.mode[s] = [out.mode[s], symptom][usize::from(nearer)];
        }
    }
}

/// `SYMPTOM_OF_DIRECT_CALLER[r][mode]`: [`symptom_of`] a direct caller of a root on `r`
/// in `mode` (every farther caller shows `HighLatency`).
static SYMPTOM_OF_DIRECT_CALLER: [[Mode; MODE_COUNT]; SERVICE_COUNT] = {
    let mut out = [[Mode::HighLatency; MODE_COUNT]; SERVICE_COUNT];
    let mut r = 0;
    while r < SERVICE_COUNT {
        let mut m = 0;
        while m < MODE_COUNT {
            out[r][m] = symptom_of(Mode::ALL[m], Service::ALL[r], 1);
            m += 1;
        }
        r += 1;
    }
    out
};

/// `DECOY_OF[mode]`: [`decoy_of`] as a table.
static DECOY_OF: [Mode; MODE_COUNT] = {
    let mut out = [Mode::Healthy; MODE_COUNT];
    let mut m = 0;
    while m < MODE_COUNT {
        out[m] = decoy_of(Mode::ALL[m]);
        m += 1;
    }
    out
};

/// `FIX_OF[mode]`: [`fix_for`] as a table.
static FIX_OF: [Fix; MODE_COUNT] = {
    let mut out = [Fix::RestartService; MODE_COUNT];
    let mut m = 0;
    while m < MODE_COUNT {
        out[m] = fix_for(Mode::ALL[m]);
        m += 1;
    }
    out
};

/// `CALLERS[r]`: every service that depends on `r`, transitively.
static CALLERS: [ServiceMask; SERVICE_COUNT] = {
    let mut out = [0; SERVICE_COUNT];
    let mut r = 0;
    while r < SERVICE_COUNT {
        let mut s = 0;
        while s < SERVICE_COUNT {
            if DISTANCE_UP[r][s] != 0 {
                out[r] |= 1 << s;
            }
            s += 1;
        }
        r += 1;
    }
    out
};

/// `DISTANCE_UP[r][s]`: the fewest dependency edges from caller `s` down to `r` (1: `s`
/// calls `r` directly), 0 if `s` does not depend on `r` (a breadth-first walk up
/// [`DEPENDED_BY`] at compile time).
static DISTANCE_UP: [[u8; SERVICE_COUNT]; SERVICE_COUNT] = {
    let mut out = [[0; SERVICE_COUNT]; SERVICE_COUNT];
    let mut r = 0;
    while r < SERVICE_COUNT {
        let mut frontier: ServiceMask = 1 << r;
        let mut distance = 1;
        while distance <= SERVICE_COUNT {
            let mut callers = 0;
            let mut s = 0;
            while s < SERVICE_COUNT {
                if frontier & (1 << s) != 0 {
                    callers |= DEPENDED_BY[s];
                }
                s += 1;
            }
            let mut s = 0;
            while s < SERVICE_COUNT {
                if callers & (1 << s) != 0 && out[r][s] == 0 {
                    out[r][s] = distance as u8;
                }
                s += 1;
            }
            frontier = callers;
            distance += 1;
        }
        r += 1;
    }
    out
};

const fn severity_of(status: Status) -> Severity {
    match status {
        Status::Down | Status::Critical => Severity::Critical,
        Status::Degraded => Severity::High,
        Status::Healthy | Status::Recovering => Severity::Medium,
    }
}

/// The statuses a broken service shows, in [`draw_statuses`]' order of percentages.
const DRAWN_STATUSES: [Status; 3] = [Status::Degraded, Status::Critical, Status::Down];

/// Give every broken service (root or symptom, canonical order) a status drawn from the
/// tier's percentages, independent of its role and mode.
fn draw_statuses(out: &mut Scenario, draws: &mut Draws, percent: [u8; 3]) {
    let [first, second, third] = percent.map(u32::from);
    let drawn = [
        DRAWN_STATUSES[0],
        DRAWN_STATUSES[1],
        DRAWN_STATUSES[2],
        Status::Degraded,
    ];
    for s in services_of(out.root_mask | out.affected_mask) {
        let pick = draws.below(100);
        // The percentages in turn: the first whose running sum exceeds the pick, else
        // `Degraded` (percentages that sum to less than 100).
        let passed = usize::from(pick >= first)
            + usize::from(pick >= first + second)
            + usize::from(pick >= first + second + third);
        out.status[s] = drawn[passed];
    }
}

/// Alerts: the gateway (customer-facing, broken in every incident: every service is
/// below it), and each other broken service with the tier's chance for a service above a
/// broken dependency or at the bottom of the broken set: a function of the set of broken
/// services, root or symptom alike, whatever the modes.
///
/// The chance and the alert are loads from tables indexed by the condition (as selects,
/// both compiled to jumps, mispredicted on about one draw in three); every service but
/// the gateway has no alert before this.
fn alert(out: &mut Scenario, draws: &mut Draws, tier: Tier) {
    let broken = out.root_mask | out.affected_mask;
    if broken & 1 != 0 {
        out.alert[0] = Some(severity_of(out.status[0]));
    }
    let percent = &ALERT_PERCENT[tier.level()];
    for s in services_of(broken & !1) {
        let above = DEPENDS_ON[s] & broken != 0;
        let alerted = draws.percent(percent[usize::from(above)]);
        debug_assert!(out.alert[s].is_none());
        out.alert[s] = ALERT_IF[usize::from(alerted)][out.status[s] as usize];
    }
}

/// `ALERT_PERCENT[tier]`: the tier's alert chance at the bottom of the broken set and
/// above a broken dependency ([`TierParams`]).
static ALERT_PERCENT: [[u8; 2]; TIER_COUNT] = {
    let mut out = [[0; 2]; TIER_COUNT];
    let mut tier = 0;
    while tier < TIER_COUNT {
        let p = params(Tier::ALL[tier]);
        out[tier] = [p.alert_bottom_percent, p.alert_above_percent];
        tier += 1;
    }
    out
};

/// `ALERT_IF[alerted][status]`: the alert of a broken service in `status`, if drawn.
static ALERT_IF: [[Option<Severity>; STATUS_COUNT]; 2] = {
    let mut out = [[None; STATUS_COUNT]; 2];
    let mut status = 0;
    while status < STATUS_COUNT {
        out[1][status] = Some(severity_of(Status::ALL[status]));
        status += 1;
    }
    out
};

/// Return the service indices of `mask`, in canonical order (one iteration per service
/// in it, not per service).
fn services_of(mask: ServiceMask) -> impl Iterator<Item = usize> {
    let mut left = mask & ALL_SERVICES;
    core::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let s = left.trailing_zeros() as usize;
        left &= left - 1;
        Some(s)
    })
}

fn add_herrings(out: &mut Scenario, draws: &mut Draws, herrings_max: u8) {
    for _ in 0..herrings_max {
        let healthy =
            !(out.root_mask | out.affected_mask | out.herring_mask) & crate::topology::ALL_SERVICES;
        let candidates = healthy.count_ones();
        if candidates == 0 {
            return;
        }
        // The pick-th healthy service in canonical order.
        let mut pick = draws.below(candidates);
        let mut chosen = SERVICE_COUNT;
        for s in 0..SERVICE_COUNT {
            // `&` on the conditions, not `&&`: no branch per service.
            let hit = healthy & (1 << s) != 0;
            chosen = [chosen, s][usize::from(hit & (pick == 0) & (chosen == SERVICE_COUNT))];
            pick -= u32::from(hit & (pick > 0));
        }
        let Some(mislead) = out.mislead_percent.get_mut(chosen) else {
            return;
        };
        *mislead = HERRING_MISLEAD_PERCENT;
        out.herring_mask |= 1 << chosen;
        out.alert[chosen] = Some([Severity::Low, Severity::Medium][draws.below(2) as usize]);
        out.decoy[chosen] = Mode::DIAGNOSES[draws.below(MODE_COUNT as u32 - 1) as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_percentages_sum_to_100() {
        // Goal: every tier's root-count and status percentages are distributions, and an
        // alert percentage is a percentage.
        for tier in Tier::ALL {
            let p = params(tier);
            assert_eq!(
                p.root_count_percent
                    .iter()
                    .map(|&x| u32::from(x))
                    .sum::<u32>(),
                100
            );
            assert_eq!(
                p.status_percent.iter().map(|&x| u32::from(x)).sum::<u32>(),
                100
            );
            assert!(p.alert_above_percent <= 100 && p.alert_bottom_percent <= 100);
            assert!(p.noise_percent <= 100);
        }
    }

    #[test]
    fn generated_incidents_are_well_formed() {
        // Goal: a few thousand incidents of every tier and split have 1..=3 roots with
        // plausible modes and their fixes, symptoms exactly above the roots, at least one
        // alert (the gateway's), a drawn status on every broken service, order constraints
        // only between roots, and the split's structure.
        for tier in Tier::ALL {
            for split in Split::ALL {
                for seed in 0..2000 {
                    let s = generate(seed, tier, split);
                    let roots = s.roots();
                    assert!((1..=ROOT_COUNT_MAX).contains(&roots.len()));
                    let pairs: std::vec::Vec<_> =
                        roots.iter().map(|r| (r.service, r.mode)).collect();
                    assert_eq!(is_test_structure(&pairs), split == Split::Test, "{s:?}");
                    let mut above = 0;
                    for root in roots {
                        let m = Mode::DIAGNOSES.iter().position(|&d| d == root.mode);
                        assert!(PLAUSIBILITY[root.service as usize][m.unwrap()] > 0);
                        assert_eq!(root.fix, fix_for(root.mode));
                        for c in Service::ALL {
                            if descendants(c) & (1 << root.service as u8) != 0 {
                                above |= 1 << c as u8;
                            }
                        }
                    }
                    assert_eq!(s.affected_mask, above & !s.root_mask, "{s:?}");
                    // The gateway is broken and alerted in every incident.
                    assert_eq!((s.root_mask | s.affected_mask) & 1, 1, "{s:?}");
                    assert!(s.alert[0].is_some(), "{s:?}");
                    for service in 0..SERVICE_COUNT {
                        let broken = (s.root_mask | s.affected_mask) & (1 << service) != 0;
                        assert_eq!(broken, DRAWN_STATUSES.contains(&s.status[service]));
                    }
                    assert_eq!(s.herring_mask & (s.root_mask | s.affected_mask), 0);
                    assert!(s.max_steps as usize <= crate::constants::STEP_COUNT_MAX);
                    assert!(s.max_steps <= params(tier).max_steps_max());
                    assert!(s.root_count <= params(tier).roots_max());
                    assert_eq!(s, generate(seed, tier, split));
                }
            }
        }
    }
}
