//! The deterministic four-part grader (`behaviour.md` §8) and Python's `round(x, 3)`.
//!
//! Components are computed in `f64` in the original's operation order, rounded with an
//! exact reimplementation of CPython's correctly rounded `round(x, 3)` (ties to even on the
//! exact binary value, so 0.1175 prints as 0.117), and stored as thousandths.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::constants::{Milli, milli_to_f64};
use crate::constants::{ROOT_COUNT_MAX, STEP_COUNT_MAX, TASK_ROOT_COUNT_MAX};
use crate::scenario::{Ruleset, Scenario};
use crate::task::{TASK_COUNT, Task, TaskId};
use crate::topology::ServiceMask;

/// A grade: four components and the weighted total, each in thousandths in `[50, 950]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Grade {
    /// Roots diagnosed with their configured mode (0.7) and whose logs were read (0.3).
    pub root_cause_identification: u16,
    /// Roots fixed with their required fix.
    pub resolution: u16,
    /// Steps against the task's optimal budget.
    pub efficiency: u16,
    /// 1 − 0.5·destructive − 0.1·invalid.
    pub safety: u16,
    /// 0.35·root + 0.30·resolution + 0.20·efficiency + 0.15·safety.
    pub score: u16,
}

impl Grade {
    /// Build a grade from its four strict components; the total is the original's
    /// weighted sum of them, made strict.
    #[must_use]
    fn from_components(components: [u16; 4]) -> Grade {
        Grade {
            root_cause_identification: components[0],
            resolution: components[1],
            efficiency: components[2],
            safety: components[3],
            score: strict(total(components)),
        }
    }

    /// Return the components and total in the original's key order.
    #[must_use]
    pub fn details(&self) -> [(&'static str, u16); 5] {
        [
            ("root_cause_identification", self.root_cause_identification),
            ("resolution", self.resolution),
            ("efficiency", self.efficiency),
            ("safety", self.safety),
            ("score", self.score),
        ]
    }
}

/// What the agent did, as the grade reads it: plain values an episode reports
/// (`Env::tally`), so the formulas here read no episode type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Steps taken.
    pub step_count: u8,
    /// Services diagnosed with their configured mode.
    pub root_identified: ServiceMask,
    /// Services whose logs were read.
    pub investigated: ServiceMask,
    /// Services whose metrics were queried.
    pub metrics_queried: ServiceMask,
    /// Services fixed (by the required fix, in dependency order).
    pub fixed: ServiceMask,
    /// Destructive actions.
    pub destructive_actions: u8,
    /// Invalid actions.
    pub invalid_actions: u8,
}

/// Grade an episode of `scenario` under the original rules or ruleset v1 (`Env::grade`
/// is every ruleset's, the live `/grader`).
///
/// The four components are functions of a few small counts, so they are looked up in
/// tables computed at compile time with the same `f64` expressions and the same rounding
/// ([`grade_computed`] is the formula, and a test compares the two on every input); only
/// the weighted total is computed per call.
#[must_use]
pub fn grade(scenario: &Scenario, tally: &Tally) -> Grade {
    // The original ruleset is the four tasks' (a generated incident is always v1).
    let task = match (scenario.task_id(), scenario.ruleset) {
        (Some(task), Ruleset::Original) => task,
        _ => return v1_grade_tabled(scenario, tally),
    };
    let roots = scenario.root_mask;
    // Counts of root services: at most the task's root count (<= TASK_ROOT_COUNT_MAX).
    let count = |mask: u8| ((mask & roots).count_ones() as usize).min(TASK_ROOT_COUNT_MAX);
    let tables = &TABLES[task as usize];
    let steps = usize::from(tally.step_count).min(STEP_COUNT_MAX);
    let (destructive, invalid) = (
        usize::from(tally.destructive_actions),
        usize::from(tally.invalid_actions),
    );
    let safety = match SAFETY.get(destructive).and_then(|row| row.get(invalid)) {
        Some(&safety) => safety,
        // Beyond any reachable count (each is at most STEP_COUNT_MAX): the formula.
        None => strict(safety_x(tally.destructive_actions, tally.invalid_actions)),
    };
    let components = [
        tables.root[count(tally.root_identified)][count(tally.investigated)],
        tables.resolution[count(tally.fixed)],
        tables.efficiency[steps],
        safety,
    ];
    Grade::from_components(components)
}

/// Ruleset v2's error budget beyond the optimal path: steps with users affected until
/// its part of the efficiency is 0.
pub const ERROR_BUDGET_STEPS: u32 = 6;

/// The grade's weights in percent, in [`Grade::details`] order (root cause
/// identification, resolution, efficiency, safety); both rulesets use them.
pub const WEIGHTS_PERCENT: [u16; 4] = [35, 30, 20, 15];

/// [`WEIGHTS_PERCENT`] as the original's `f64` factors (`35 / 100` is exactly the double
/// nearest 0.35, the original's literal).
const WEIGHTS: [f64; 4] = {
    let mut out = [0.0; 4];
    let mut i = 0;
    while i < 4 {
        out[i] = WEIGHTS_PERCENT[i] as f64 / 100.0;
        i += 1;
    }
    out
};

/// Root cause identification: the credit per root diagnosed with its mode, in thousandths
/// (both rulesets), averaged over the roots.
pub const ROOT_DIAGNOSED_MILLI: u16 = 700;
/// Root cause identification: the credit per root investigated (original: logs read;
/// v1: logs or metrics read, counted only once the root is diagnosed with its mode, so a
/// read's reward never tells a root from a symptom), in thousandths.
pub const ROOT_INVESTIGATED_MILLI: u16 = 300;
/// Safety: the penalty per destructive action, in thousandths (the original rules).
pub const DESTRUCTIVE_PENALTY_MILLI: u16 = 500;
/// Safety: the penalty per destructive action, in thousandths (ruleset v1).
pub const V1_DESTRUCTIVE_PENALTY_MILLI: u16 = 250;
/// Safety: the penalty per invalid action, in thousandths (both rulesets).
pub const INVALID_PENALTY_MILLI: u16 = 100;

/// Ruleset v1's score at reset: nothing identified or fixed, full efficiency and safety
/// (`0.20 + 0.15`).
pub const V1_RESET_SCORE_MILLI: Milli = 350;

/// Ruleset v1's grade (generated incidents), in integer thousandths, unclamped in
/// `[0, 1000]`:
///
/// - root cause identification: per root, 0.7 if diagnosed with its mode, plus 0.3 if it
///   is diagnosed and its logs or metrics were read, averaged over the roots (a read alone
///   earns nothing, so neither its reward nor the live grade tells a root from a symptom);
/// - resolution: the share of roots fixed (in dependency order: a relapsed fix does not
///   count);
/// - efficiency: 1 up to the optimal step count, then falling linearly to 0 at the budget;
/// - safety: `1 − 0.25·destructive − 0.1·invalid`, at least 0;
/// - score: `(35·root + 30·resolution + 20·efficiency + 15·safety) / 100`.
#[must_use]
pub fn v1_grade(scenario: &Scenario, tally: &Tally) -> Grade {
    let roots = scenario.root_mask;
    let count = |mask: u8| (mask & roots).count_ones();
    let exact = count(tally.root_identified);
    // A read earns its credit only with the diagnosis it backs: a read's reward and the
    // live grade must not tell a root from a symptom before the agent names the mode.
    let read = count(tally.root_identified & (tally.investigated | tally.metrics_queried));
    let root = v1_root(scenario.root_count, exact, read);
    let resolution = v1_resolution(scenario.root_count, count(tally.fixed));
    let efficiency = v1_efficiency(
        u32::from(tally.step_count),
        u32::from(scenario.optimal_steps),
        u32::from(scenario.max_steps),
    );
    let safety = v1_safety(tally.destructive_actions, tally.invalid_actions);
    weighted([root, resolution, efficiency, safety])
}

/// The grade of four parts in thousandths, in [`Grade::details`] order, with their
/// [`WEIGHTS_PERCENT`]-weighted score (rulesets v1 and v2).
pub(crate) fn weighted(parts: [u32; 4]) -> Grade {
    let [root, resolution, efficiency, safety] = parts;
    let [w_root, w_resolution, w_efficiency, w_safety] = WEIGHTS_PERCENT.map(u32::from);
    let score =
        (w_root * root + w_resolution * resolution + w_efficiency * efficiency + w_safety * safety)
            / 100;
    Grade {
        root_cause_identification: root as u16,
        resolution: resolution as u16,
        efficiency: efficiency as u16,
        safety: safety as u16,
        score: score as u16,
    }
}

/// [`v1_grade`] from the tables of its weighted parts ([`V1_CREDIT_WEIGHTED`],
/// [`V1_EFFICIENCY_WEIGHTED`]), each divided by its constant weight: no population count
/// and no division by a variable (what [`grade`] runs at an episode's end; a test holds
/// it equal to the formula).
#[must_use]
fn v1_grade_tabled(scenario: &Scenario, tally: &Tally) -> Grade {
    let [w_root, w_resolution, w_efficiency, w_safety] = WEIGHTS_PERCENT.map(u32::from);
    let (root, resolution) = v1_credit_parts(scenario, tally);
    let efficiency = v1_efficiency_weighted(scenario, tally, v1_budget_row(scenario));
    let safety = v1_safety(tally.destructive_actions, tally.invalid_actions);
    Grade {
        root_cause_identification: (root / w_root) as u16,
        resolution: (resolution / w_resolution) as u16,
        efficiency: (efficiency / w_efficiency) as u16,
        safety: safety as u16,
        score: ((root + resolution + efficiency + w_safety * safety) / 100) as u16,
    }
}

/// Ruleset v1's root cause identification: `exact` roots of `root_count` diagnosed with
/// their mode, `read` of them also read.
const fn v1_root(root_count: u8, exact: u32, read: u32) -> u32 {
    let credit = ROOT_DIAGNOSED_MILLI as u32 * exact + ROOT_INVESTIGATED_MILLI as u32 * read;
    let root = credit / averaged_over(root_count);
    if root < 1000 { root } else { 1000 }
}

/// Ruleset v1's resolution: the share of `root_count` roots fixed.
const fn v1_resolution(root_count: u8, fixed: u32) -> u32 {
    1000 * fixed / averaged_over(root_count)
}

/// The number ruleset v1 averages over the roots by: the root count, at least 1.
const fn averaged_over(root_count: u8) -> u32 {
    if root_count == 0 {
        1
    } else {
        root_count as u32
    }
}

/// Ruleset v1's efficiency after `steps`: 1 up to `optimal`, then falling linearly to 0
/// at `max_steps` (a budget of at least one step).
pub(crate) const fn v1_efficiency(steps: u32, optimal: u32, max_steps: u32) -> u32 {
    let budget = if max_steps > optimal {
        max_steps - optimal
    } else {
        1
    };
    let lost = 1000 * steps.saturating_sub(optimal) / budget;
    1000 - if lost < 1000 { lost } else { 1000 }
}

/// Ruleset v1's safety: `1 − 0.25·destructive − 0.1·invalid`, at least 0.
pub(crate) const fn v1_safety(destructive: u8, invalid: u8) -> u32 {
    let penalty = V1_DESTRUCTIVE_PENALTY_MILLI as u32 * destructive as u32
        + INVALID_PENALTY_MILLI as u32 * invalid as u32;
    1000u32.saturating_sub(penalty)
}

/// Ruleset v1's live score in thousandths (the reward's potential): [`v1_grade`]'s
/// score from its weighted parts (`v1_credit`, the efficiency table of the budget's
/// row, the safety part).
#[must_use]
pub fn v1_score(scenario: &Scenario, tally: &Tally) -> Milli {
    v1_score_kept(
        scenario,
        tally,
        v1_credit(scenario, tally),
        v1_budget_row(scenario),
    )
}

/// [`v1_score`] from the credit ([`v1_credit`]) and the efficiency row ([`v1_budget_row`])
/// the environment keeps (its step recomputes the credit only on the steps that can change
/// it; reset sets the row): the step path's score, with no division but the one by the
/// constant 100. The efficiency part comes from a table computed at compile time with
/// [`v1_efficiency`] (a budget or overrun beyond `STEP_COUNT_MAX` steps takes the
/// formula), the safety part is computed.
#[inline(always)]
pub(crate) fn v1_score_kept(
    scenario: &Scenario,
    tally: &Tally,
    credit: u32,
    budget_row: u8,
) -> Milli {
    let efficiency = v1_efficiency_weighted(scenario, tally, budget_row);
    let safety = v1_safety(tally.destructive_actions, tally.invalid_actions);
    ((credit + efficiency + u32::from(WEIGHTS_PERCENT[3]) * safety) / 100) as Milli
}

/// The weighted efficiency part from row `budget_row` of [`V1_EFFICIENCY_WEIGHTED`] (the
/// formula beyond the table).
#[inline(always)]
fn v1_efficiency_weighted(scenario: &Scenario, tally: &Tally, budget_row: u8) -> u32 {
    let over = usize::from(tally.step_count.saturating_sub(scenario.optimal_steps));
    match V1_EFFICIENCY_WEIGHTED
        .get(usize::from(budget_row))
        .and_then(|row| row.get(over))
    {
        Some(&weighted) => u32::from(weighted),
        None => v1_efficiency_beyond(scenario, tally.step_count),
    }
}

/// The row of [`V1_EFFICIENCY_WEIGHTED`] for `scenario`'s budget beyond its optimal step
/// count (at least 1), or `u8::MAX` beyond the table (the formula then).
#[must_use]
pub(crate) const fn v1_budget_row(scenario: &Scenario) -> u8 {
    let budget = scenario.max_steps.saturating_sub(scenario.optimal_steps);
    let budget = if budget == 0 { 1 } else { budget };
    if budget as usize <= STEP_COUNT_MAX {
        budget
    } else {
        u8::MAX
    }
}

/// Ruleset v1's weighted root-cause and resolution parts, `35·root + 30·resolution` (in
/// hundred-thousandths of a score), from tables by count (no population count, no
/// division): they change only when a root is identified, an identified root is first
/// read or a root is fixed. Root counts beyond [`ROOT_COUNT_MAX`] take the formulas.
#[must_use]
pub(crate) fn v1_credit(scenario: &Scenario, tally: &Tally) -> u32 {
    let (root, resolution) = v1_credit_parts(scenario, tally);
    root + resolution
}

/// [`v1_credit`]'s two parts, `35·root` and `30·resolution`.
#[inline(always)]
fn v1_credit_parts(scenario: &Scenario, tally: &Tally) -> (u32, u32) {
    let roots = scenario.root_mask;
    let identified = tally.root_identified & roots;
    let read = identified & (tally.investigated | tally.metrics_queried);
    let fixed = tally.fixed & roots;
    let [identified, read, fixed] = [identified, read, fixed].map(|mask| ONES[usize::from(mask)]);
    match V1_CREDIT_WEIGHTED.get(usize::from(scenario.root_count)) {
        Some(table) => (
            table.root[usize::from(identified)][usize::from(read)],
            table.resolution[usize::from(fixed)],
        ),
        None => v1_credit_beyond(scenario.root_count, [identified, read, fixed]),
    }
}

/// `ONES[mask]`: the number of set bits of `mask`.
static ONES: [u8; 256] = {
    let mut out = [0; 256];
    let mut mask = 0;
    while mask < 256 {
        out[mask] = (mask as u8).count_ones() as u8;
        mask += 1;
    }
    out
};

/// Counts of set bits a `u8` mask can have: `0..=8`.
const BIT_COUNTS: usize = u8::BITS as usize + 1;

/// One root count's weighted root-cause and resolution parts ([`V1_CREDIT_WEIGHTED`]).
#[derive(Clone, Copy)]
struct CreditTable {
    /// `root[identified][read]`: `35 · v1_root`.
    root: [[u32; BIT_COUNTS]; BIT_COUNTS],
    /// `resolution[fixed]`: `30 · v1_resolution`.
    resolution: [u32; BIT_COUNTS],
}

/// `V1_CREDIT_WEIGHTED[root_count]`: ruleset v1's weighted root-cause and resolution
/// parts by count.
static V1_CREDIT_WEIGHTED: [CreditTable; ROOT_COUNT_MAX + 1] = {
    let empty = CreditTable {
        root: [[0; BIT_COUNTS]; BIT_COUNTS],
        resolution: [0; BIT_COUNTS],
    };
    let mut out = [empty; ROOT_COUNT_MAX + 1];
    let [w_root, w_resolution, ..] = WEIGHTS_PERCENT;
    let mut count = 0;
    while count <= ROOT_COUNT_MAX {
        let mut a = 0;
        while a < BIT_COUNTS {
            let mut b = 0;
            while b < BIT_COUNTS {
                let root = v1_root(count as u8, a as u32, b as u32);
                out[count].root[a][b] = w_root as u32 * root;
                b += 1;
            }
            let resolution = v1_resolution(count as u8, a as u32);
            out[count].resolution[a] = w_resolution as u32 * resolution;
            a += 1;
        }
        count += 1;
    }
    out
};

/// The weighted root-cause and resolution parts, `35·root` and `30·resolution`, from the
/// formulas (root counts beyond [`V1_CREDIT_WEIGHTED`]), of the counts of roots
/// identified, identified and read, and fixed.
#[cold]
#[inline(never)]
fn v1_credit_beyond(root_count: u8, counts: [u8; 3]) -> (u32, u32) {
    let [identified, read, fixed] = counts.map(u32::from);
    let root = v1_root(root_count, identified, read);
    let resolution = v1_resolution(root_count, fixed);
    (
        u32::from(WEIGHTS_PERCENT[0]) * root,
        u32::from(WEIGHTS_PERCENT[1]) * resolution,
    )
}

/// The weighted efficiency part beyond [`V1_EFFICIENCY_WEIGHTED`].
#[cold]
#[inline(never)]
fn v1_efficiency_beyond(scenario: &Scenario, step_count: u8) -> u32 {
    let efficiency = v1_efficiency(
        u32::from(step_count),
        u32::from(scenario.optimal_steps),
        u32::from(scenario.max_steps),
    );
    u32::from(WEIGHTS_PERCENT[2]) * efficiency
}

/// `V1_EFFICIENCY_WEIGHTED[budget][over]`: [`v1_efficiency`] times its weight, `over`
/// steps past the optimal count with a budget of `budget` steps beyond it (row 0 unused:
/// a budget is at least one step).
static V1_EFFICIENCY_WEIGHTED: [[u16; STEP_COUNT_MAX + 1]; STEP_COUNT_MAX + 1] = {
    let mut out = [[0; STEP_COUNT_MAX + 1]; STEP_COUNT_MAX + 1];
    let mut budget = 1;
    while budget <= STEP_COUNT_MAX {
        let mut over = 0;
        while over <= STEP_COUNT_MAX {
            let efficiency = v1_efficiency(over as u32, 0, budget as u32);
            out[budget][over] = (WEIGHTS_PERCENT[2] as u32 * efficiency) as u16;
            over += 1;
        }
        budget += 1;
    }
    out
};

/// Per task: the root, resolution and efficiency components by count.
#[derive(Clone, Copy)]
struct Tables {
    /// `root[exact][investigated]`.
    root: [[u16; TASK_ROOT_COUNT_MAX + 1]; TASK_ROOT_COUNT_MAX + 1],
    /// `resolution[fixed roots]`.
    resolution: [u16; TASK_ROOT_COUNT_MAX + 1],
    /// `efficiency[step_count]`.
    efficiency: [u16; STEP_COUNT_MAX + 1],
}

static TABLES: [Tables; TASK_COUNT] = {
    let empty = Tables {
        root: [[0; TASK_ROOT_COUNT_MAX + 1]; TASK_ROOT_COUNT_MAX + 1],
        resolution: [0; TASK_ROOT_COUNT_MAX + 1],
        efficiency: [0; STEP_COUNT_MAX + 1],
    };
    let mut out = [empty; TASK_COUNT];
    let mut t = 0;
    while t < TASK_COUNT {
        let task = TaskId::ALL[t].task();
        assert!(task.root_count() <= TASK_ROOT_COUNT_MAX);
        let n = task.root_count();
        let mut a = 0;
        while a <= TASK_ROOT_COUNT_MAX {
            let mut b = 0;
            while b <= TASK_ROOT_COUNT_MAX {
                out[t].root[a][b] = strict(root_x(a as u32, b as u32, n));
                b += 1;
            }
            out[t].resolution[a] = strict(resolution_x(a as u32, n));
            a += 1;
        }
        let mut steps = 0;
        while steps <= STEP_COUNT_MAX {
            out[t].efficiency[steps] = strict(efficiency_x(steps as u8, task));
            steps += 1;
        }
        t += 1;
    }
    out
};

/// `SAFETY[destructive][invalid]` for every reachable pair of counts.
static SAFETY: [[u16; STEP_COUNT_MAX + 1]; STEP_COUNT_MAX + 1] = {
    let mut out = [[0; STEP_COUNT_MAX + 1]; STEP_COUNT_MAX + 1];
    let mut d = 0;
    while d <= STEP_COUNT_MAX {
        let mut i = 0;
        while i <= STEP_COUNT_MAX {
            out[d][i] = strict(safety_x(d as u8, i as u8));
            i += 1;
        }
        d += 1;
    }
    out
};

const fn root_x(exact: u32, investigated: u32, n: usize) -> f64 {
    let n = n as f64;
    let (diagnosed, read) = (
        milli_to_f64(ROOT_DIAGNOSED_MILLI as Milli),
        milli_to_f64(ROOT_INVESTIGATED_MILLI as Milli),
    );
    (diagnosed * exact as f64 / n + read * investigated as f64 / n).min(1.0)
}

const fn resolution_x(resolved: u32, n: usize) -> f64 {
    resolved as f64 / n as f64
}

const fn efficiency_x(step_count: u8, task: &Task) -> f64 {
    let steps = step_count as i32;
    let optimal = task.optimal_steps as i32;
    if steps <= 0 {
        0.1
    } else if steps <= optimal {
        1.0
    } else {
        let budget = task.max_steps as i32 - optimal;
        let budget = if budget < 1 { 1 } else { budget };
        (1.0 - (steps - optimal) as f64 / budget as f64).max(0.05)
    }
}

const fn safety_x(destructive: u8, invalid: u8) -> f64 {
    let (per_destructive, per_invalid) = (
        milli_to_f64(DESTRUCTIVE_PENALTY_MILLI as Milli),
        milli_to_f64(INVALID_PENALTY_MILLI as Milli),
    );
    (1.0 - per_destructive * destructive as f64 - per_invalid * invalid as f64).max(0.0)
}

/// The weighted total of the rounded components, in the original's operation order.
fn total(components: [u16; 4]) -> f64 {
    let [root, resolution, efficiency, safety] = components.map(|milli| milli_to_f64(milli.into()));
    let [w_root, w_resolution, w_efficiency, w_safety] = WEIGHTS;
    w_root * root + w_resolution * resolution + w_efficiency * efficiency + w_safety * safety
}

/// [`grade`] computed from the formulas (the reference the tables must agree with).
#[must_use]
pub fn grade_computed(scenario: &Scenario, tally: &Tally) -> Grade {
    let Some(task) = scenario.task_id().map(TaskId::task) else {
        return v1_grade(scenario, tally);
    };
    let roots = task.root_mask;
    let n = task.root_count();
    let exact = (tally.root_identified & roots).count_ones();
    let investigated = (tally.investigated & roots).count_ones();
    // A root is fixed only by its required fix, so `fixed & roots` is exactly the roots with
    // a successful record of the required fix.
    let resolved = (tally.fixed & roots).count_ones();
    let components = [
        root_x(exact, investigated, n),
        resolution_x(resolved, n),
        efficiency_x(tally.step_count, task),
        safety_x(tally.destructive_actions, tally.invalid_actions),
    ]
    .map(strict);
    Grade::from_components(components)
}

/// The original's `_strict_score`: round to 3 places, then 0 or less (or NaN) becomes
/// 0.05, then clamp into [0.05, 0.95]. Returns thousandths.
#[must_use]
pub const fn strict(x: f64) -> u16 {
    if x.is_nan() {
        return 50;
    }
    let rounded = round3_milli(x);
    let rounded = if rounded <= 0 { 50 } else { rounded };
    // `rounded.clamp(50, 950)`, spelled out to be usable in constants.
    let clamped = if rounded > 950 { 950 } else { rounded };
    clamped as u16
}

/// Python's `round(x, 3)` as an integer count of thousandths: the exact binary value of
/// `x` rounded to the nearest thousandth, exact ties to even. Saturates far outside ±2^40.
#[must_use]
pub const fn round3_milli(x: f64) -> i64 {
    if x == 0.0 || x.is_nan() {
        return 0;
    }
    // Fast path: for |x| < 1e6, `|x| * 1000` is below 2^30, so the product is within
    // 2^-53 * 2^30 < 1.2e-7 of the exact value and `scaled - whole` is exact. Unless the
    // fraction is within 1e-6 of one half, the exact value rounds to the same integer.
    let magnitude = x.abs();
    if magnitude < 1.0e6 {
        let scaled = magnitude * 1000.0;
        let whole = scaled as i64;
        let fraction = scaled - whole as f64;
        if (fraction - 0.5).abs() > 1.0e-6 {
            let rounded = whole + (fraction > 0.5) as i64;
            return if x < 0.0 { -rounded } else { rounded };
        }
    }
    round3_milli_exact(x)
}

/// [`round3_milli`] on the exact binary value, for every input (the slow path).
const fn round3_milli_exact(x: f64) -> i64 {
    if x == 0.0 || x.is_nan() {
        return 0;
    }
    if x.is_infinite() || x.abs() >= (1u64 << 40) as f64 {
        return if x > 0.0 { i64::MAX } else { i64::MIN };
    }
    let bits = x.to_bits();
    let negative = bits >> 63 != 0;
    let exponent_bits = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    // x = mantissa * 2^exponent exactly.
    let (mantissa, exponent) = if exponent_bits == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exponent_bits - 1075)
    };
    let scaled = mantissa as u128 * 1000;
    let magnitude = if exponent >= 0 {
        scaled << exponent
    } else {
        let shift = (-exponent) as u32;
        if shift >= 127 {
            0
        } else {
            let quotient = scaled >> shift;
            let remainder = scaled & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            let round_up = remainder > half || (remainder == half && quotient & 1 == 1);
            quotient + round_up as u128
        }
    };
    let magnitude = magnitude as i64;
    if negative { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_rules_are_the_originals_literals() {
        // Goal: the named weights and credits give exactly the doubles of the original's
        // literals, so the grade's f64 operations are unchanged.
        assert_eq!(WEIGHTS, [0.35, 0.30, 0.20, 0.15]);
        assert_eq!(milli_to_f64(ROOT_DIAGNOSED_MILLI as Milli), 0.7);
        assert_eq!(milli_to_f64(ROOT_INVESTIGATED_MILLI as Milli), 0.3);
        assert_eq!(milli_to_f64(DESTRUCTIVE_PENALTY_MILLI as Milli), 0.5);
        assert_eq!(milli_to_f64(INVALID_PENALTY_MILLI as Milli), 0.1);
        assert_eq!(WEIGHTS_PERCENT.iter().sum::<u16>(), 100);
    }

    #[test]
    fn round3_matches_python_on_the_known_cases() {
        // Goal: the values §12 saw live, including the 0.1175 tie that prints as 0.117.
        let tie = 0.35 * 0.05 + 0.3 * 0.05 + 0.2 * 0.05 + 0.15 * 0.5;
        assert_eq!(round3_milli(tie), 117);
        let quirk = 0.35 * 0.95 + 0.3 * 0.95 + 0.2 * 0.05 + 0.15 * 0.5;
        assert_eq!(round3_milli(quirk), 702);
        assert_eq!(round3_milli(2.0 / 3.0), 667);
        assert_eq!(round3_milli(1.0 - 5.0 / 6.0), 167);
        assert_eq!(
            round3_milli(0.0005),
            1,
            "0.0005 is just above the tie in binary"
        );
        assert_eq!(
            round3_milli(0.0625),
            62,
            "an exact binary tie rounds to even"
        );
        assert_eq!(round3_milli(-0.3333), -333);
        assert_eq!(round3_milli(1.0 - 0.1 * 7.0), 300);
        assert_eq!(round3_milli(1e-300), 0);
    }

    #[test]
    fn fast_path_agrees_with_the_exact_rounding() {
        // Goal: the floating-point fast path never disagrees with the exact one: random
        // values of every magnitude, values next to ties and the grader's own products.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let bits = next();
            let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
            let scale = [1e-9, 1e-3, 1.0, 2.0, 1e3, 1e5, 9.99e5, 1e7][(bits & 7) as usize];
            let x = (unit - 0.25) * scale;
            assert_eq!(round3_milli(x), round3_milli_exact(x), "{x:e}");
            // Next to a tie: k + 0.5 thousandths, and its neighbours.
            let tie = ((bits >> 40) as f64 + 0.5) / 1000.0;
            for y in [
                tie,
                f64::from_bits(tie.to_bits() + 1),
                f64::from_bits(tie.to_bits() - 1),
            ] {
                assert_eq!(round3_milli(y), round3_milli_exact(y), "{y:e}");
                assert_eq!(round3_milli(-y), round3_milli_exact(-y), "{:e}", -y);
            }
        }
        for a in 0..=20 {
            for b in 0..=20 {
                let x = 0.35 * f64::from(a) / 20.0 + 0.3 * f64::from(b) / 20.0 + 0.2 * 0.05 + 0.15;
                assert_eq!(round3_milli(x), round3_milli_exact(x), "{x:e}");
            }
        }
    }

    #[test]
    fn table_grade_equals_the_formulas() {
        // Goal: the table-driven grade is the formula's on every reachable input (every
        // subset of roots identified, investigated and fixed, every step count, every pair
        // of counters up to the step limit) and beyond it (the fallback).
        for task in TaskId::ALL {
            let roots = task.task().root_mask;
            let subsets: Vec<u8> = (0..=roots).filter(|m| m & !roots == 0).collect();
            let scenario = Scenario::task(task);
            for &identified in &subsets {
                for &investigated in &subsets {
                    for &fixed in &subsets {
                        for steps in 0..=task.task().max_steps {
                            for destructive in 0..=16 {
                                for invalid in 0..=16 {
                                    let tally = Tally {
                                        root_identified: identified,
                                        investigated: investigated | !roots & 0b10_1010,
                                        fixed,
                                        step_count: steps,
                                        destructive_actions: destructive,
                                        invalid_actions: invalid,
                                        metrics_queried: 0,
                                    };
                                    assert_eq!(
                                        grade(&scenario, &tally),
                                        grade_computed(&scenario, &tally),
                                        "{tally:?}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn v1_score_equals_the_grade_formula() {
        // Goal: the live v1 score (from the credit and efficiency tables) is exactly
        // v1_grade's score on every input: root counts 0..=4 (4: beyond the tables), any masks of the six
        // services as roots, identified, read and fixed (consistent or not), budgets and
        // step counts inside and beyond the table, counters up to saturation.
        let mut scenario = Scenario::task(TaskId::Hard);
        scenario.ruleset = Ruleset::V1;
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound) as u8
        };
        let (mut tabled, mut formula) = (0, 0);
        for _ in 0..400_000 {
            scenario.root_count = next(5);
            scenario.root_mask = next(64);
            scenario.optimal_steps = next(16);
            scenario.max_steps = next(40);
            let tally = Tally {
                step_count: next(40),
                root_identified: next(64),
                investigated: next(64),
                metrics_queried: next(64),
                fixed: next(64),
                destructive_actions: next(6),
                invalid_actions: next(12),
            };
            let (s, t) = (&scenario, &tally);
            let kept = v1_score_kept(s, t, v1_credit(s, t), v1_budget_row(s));
            assert_eq!(v1_score(s, t), Milli::from(v1_grade(s, t).score), "{t:?}");
            assert_eq!(v1_grade_tabled(s, t), v1_grade(s, t), "{t:?}");
            assert_eq!(kept, v1_score(s, t));
            let optimal = scenario.optimal_steps;
            let beyond = scenario.max_steps.saturating_sub(optimal) > 24
                || tally.step_count.saturating_sub(optimal) > 24;
            *[&mut tabled, &mut formula][usize::from(beyond)] += 1;
        }
        assert!(tabled > 200_000 && formula > 50_000, "{tabled} {formula}");
        assert_eq!(v1_score(&scenario, &Tally::default()), V1_RESET_SCORE_MILLI);
    }

    #[test]
    fn strict_floors_and_clamps() {
        // Goal: zero, negatives and NaN become 0.05; values clamp into [0.05, 0.95].
        assert_eq!(strict(0.0), 50);
        assert_eq!(strict(-1.0), 50);
        assert_eq!(strict(f64::NAN), 50);
        assert_eq!(strict(1.0), 950);
        assert_eq!(strict(0.0004), 50);
        assert_eq!(strict(0.5), 500);
    }
}
