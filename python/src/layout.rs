//! `OBS_LAYOUT`: the numeric observation's layout as `incident_core::obs` declares it (its
//! byte offsets, bit sets and the values its categorical bytes take) and the fixed
//! dependency graph of `incident_core::topology`, so Python reads observations by name.
//!
//! Every value is the core's own constant or is computed from one here; the tables only
//! pair names with them, and the checks below fail the build if the core names a byte
//! these tables miss.

use incident_core::ErrorCode;
use incident_core::OBS_LEN;
use incident_core::obs::{
    self, EDGES_SHOWN, EVIDENCE_OFFSET, GLOBAL_OFFSET, LAYOUT_VERSION, SERVICE_BLOCK, field, flag,
    remediation, verdict,
};
use incident_core::scenario::{Ruleset, Scenario, Split, Tier};
use incident_core::task::TaskId;
use incident_core::topology::DEPENDS_ON;
use incident_core::vocab::{MODE_COUNT, SERVICE_COUNT, STATUS_COUNT, Severity};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyDict, PyList};

/// The fields of a service block by name: offsets within the block (service `s`'s block
/// starts at `s * SERVICE_BLOCK`).
pub const SERVICE_FIELDS: [(&str, usize); SERVICE_BLOCK] = [
    ("STATUS", field::STATUS),
    ("ALERT", field::ALERT),
    ("LOGS", field::LOGS),
    ("METRICS", field::METRICS),
    ("INSPECTED", field::INSPECTED),
    ("DIAGNOSIS", field::DIAGNOSIS),
    ("VERDICTS", field::VERDICTS),
    ("REMEDIATION", field::REMEDIATION),
];

/// The global and evidence fields by name: offsets in the observation. `LOGS_RUN` and
/// `METRICS_RUN` start one byte per service ([`RUN_FIELDS`]).
pub const FIELDS: [(&str, usize); 14] = [
    ("TIER", field::TIER),
    ("STEP_COUNT", field::STEP_COUNT),
    ("STEPS_REMAINING", field::STEPS_REMAINING),
    ("MAX_STEPS", field::MAX_STEPS),
    ("FLAGS", field::FLAGS),
    ("LAST_ERROR", field::LAST_ERROR),
    ("DESTRUCTIVE", field::DESTRUCTIVE),
    ("INVALID", field::INVALID),
    ("LOGS_RUN", field::LOGS_RUN),
    ("METRICS_RUN", field::METRICS_RUN),
    ("VERSION", field::VERSION),
    ("RULESET", field::RULESET),
    ("MITIGATED_AT", field::MITIGATED_AT),
    ("BUDGET_BURNED", field::BUDGET_BURNED),
];

/// The fields that hold one byte per service (service `s` at the offset plus `s`).
pub const RUN_FIELDS: [usize; 2] = [field::LOGS_RUN, field::METRICS_RUN];

/// The flags byte's bits ([`field::FLAGS`]).
pub const FLAGS: [(&str, u8); 5] = [
    ("LISTED", flag::LISTED),
    ("FULL_GRAPH", flag::FULL_GRAPH),
    ("SUCCESS", flag::SUCCESS),
    ("RESOLVED", flag::RESOLVED),
    ("DONE", flag::DONE),
];

/// The verdicts byte's bits ([`field::VERDICTS`]).
pub const VERDICTS: [(&str, u8); 4] = [
    ("DIAGNOSIS_ACCEPTED", verdict::DIAGNOSIS_ACCEPTED),
    ("DIAGNOSIS_REJECTED", verdict::DIAGNOSIS_REJECTED),
    ("FIX_REJECTED", verdict::FIX_REJECTED),
    ("FIX_RELAPSED", verdict::FIX_RELAPSED),
];

/// The remediation byte's bits ([`field::REMEDIATION`]).
pub const REMEDIATIONS: [(&str, u8); 3] = [
    ("FIXED", remediation::FIXED),
    ("VERIFIED", remediation::VERIFIED),
    ("PENDING", remediation::PENDING),
];

/// The ruleset byte's values ([`field::RULESET`]).
pub const RULESETS: [(&str, Ruleset); RULESET_COUNT] = [
    ("ORIGINAL", Ruleset::Original),
    ("V1", Ruleset::V1),
    ("V2", Ruleset::V2),
];

/// Values the ruleset byte takes: one past the highest ruleset the original tasks or a
/// tier plays.
pub const RULESET_COUNT: usize = ruleset_count();

const fn ruleset_count() -> usize {
    let mut highest = Ruleset::Original as usize;
    let mut i = 0;
    while i < Tier::EVERY.len() {
        let ruleset = Tier::EVERY[i].ruleset() as usize;
        if ruleset > highest {
            highest = ruleset;
        }
        i += 1;
    }
    highest + 1
}

/// Return whether the fields tile bytes `start..end` exactly: every byte named once (a run
/// field covers one byte per service).
const fn tiles(fields: &[(&str, usize)], start: usize, end: usize, runs: &[usize]) -> bool {
    let mut named = [0u8; OBS_LEN];
    let mut i = 0;
    while i < fields.len() {
        let offset = fields[i].1;
        let mut width = 1;
        let mut r = 0;
        while r < runs.len() {
            if runs[r] == offset {
                width = SERVICE_COUNT;
            }
            r += 1;
        }
        let mut byte = offset;
        while byte < offset + width {
            if byte < start || byte >= end {
                return false;
            }
            named[byte] += 1;
            byte += 1;
        }
        i += 1;
    }
    let mut byte = start;
    while byte < end {
        if named[byte] != 1 {
            return false;
        }
        byte += 1;
    }
    true
}

/// Return whether every bit of a bit set is one bit, and no two are the same.
const fn distinct_bits(bits: &[(&str, u8)]) -> bool {
    let mut seen = 0u8;
    let mut i = 0;
    while i < bits.len() {
        let bit = bits[i].1;
        if bit.count_ones() != 1 || seen & bit != 0 {
            return false;
        }
        seen |= bit;
        i += 1;
    }
    true
}

const _: () = {
    assert!(
        tiles(&SERVICE_FIELDS, 0, SERVICE_BLOCK, &[]),
        "service fields"
    );
    assert!(
        tiles(&FIELDS, GLOBAL_OFFSET, OBS_LEN, &RUN_FIELDS),
        "global fields"
    );
    assert!(EVIDENCE_OFFSET == field::LOGS_RUN);
    assert!(distinct_bits(&FLAGS) && distinct_bits(&VERDICTS) && distinct_bits(&REMEDIATIONS));
    assert!(EDGES_SHOWN.count_ones() == 1);
    let mut i = 0;
    while i < RULESET_COUNT {
        assert!(RULESETS[i].1 as usize == i, "RULESETS in code order");
        i += 1;
    }
};

/// Return how many values each categorical byte takes (0 up to the highest the core
/// writes), by field name.
#[must_use]
pub fn classes() -> Vec<(&'static str, usize)> {
    let alert = Severity::ALL.iter().map(|severity| severity.priority());
    let error = ErrorCode::ALL
        .iter()
        .map(|&code| obs::error_byte(Some(code)));
    let tier = tier_codes().into_iter().map(|(_, code)| code);
    // 0 none, else 1 + the mode's index.
    let mode = 1 + MODE_COUNT;
    vec![
        ("STATUS", STATUS_COUNT),
        ("ALERT", values_up_to(alert)),
        ("LOGS", mode),
        ("METRICS", mode),
        ("DIAGNOSIS", mode),
        ("TIER", values_up_to(tier)),
        ("LAST_ERROR", values_up_to(error)),
        ("RULESET", RULESET_COUNT),
    ]
}

/// Return the number of values from 0 up to the highest of `bytes`.
fn values_up_to(bytes: impl Iterator<Item = u8>) -> usize {
    bytes
        .map(usize::from)
        .max()
        .map_or(0, |highest| highest + 1)
}

/// Return the tier byte's value of every task id the server's reset names (each original
/// task, then each generated tier), as the core computes it for the scenario.
#[must_use]
pub fn tier_codes() -> Vec<(&'static str, u8)> {
    let tasks = TaskId::ALL
        .iter()
        .map(|&task| (task.name(), Scenario::task(task).tier_code()));
    let tiers = Tier::EVERY.iter().map(|&tier| {
        let scenario = Scenario::generated(0, tier, Split::Train);
        (tier.name(), scenario.tier_code())
    });
    tasks.chain(tiers).collect()
}

/// Return `OBS_LAYOUT`, the layout as a dict (its keys are documented in
/// `incident_env/_native.pyi`).
///
/// # Errors
/// Only if Python cannot build a dict.
pub fn obs_layout(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let rulesets = RULESETS.map(|(name, ruleset)| (name, ruleset as u8));
    let layout = PyDict::new(py);
    layout.set_item("version", LAYOUT_VERSION)?;
    layout.set_item("service_count", SERVICE_COUNT)?;
    layout.set_item("service_block", SERVICE_BLOCK)?;
    layout.set_item("global_offset", GLOBAL_OFFSET)?;
    layout.set_item("evidence_offset", EVIDENCE_OFFSET)?;
    layout.set_item("service_field", SERVICE_FIELDS.into_py_dict(py)?)?;
    layout.set_item("field", FIELDS.into_py_dict(py)?)?;
    layout.set_item("flag", FLAGS.into_py_dict(py)?)?;
    layout.set_item("verdict", VERDICTS.into_py_dict(py)?)?;
    layout.set_item("remediation", REMEDIATIONS.into_py_dict(py)?)?;
    layout.set_item("edges_shown", EDGES_SHOWN)?;
    layout.set_item("classes", classes().into_py_dict(py)?)?;
    layout.set_item("tier_code", tier_codes().into_py_dict(py)?)?;
    layout.set_item("ruleset", rulesets.into_py_dict(py)?)?;
    // A list of ints (a `Vec<u8>` would become `bytes`).
    layout.set_item("depends_on", PyList::new(py, DEPENDS_ON)?)?;
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_codes_name_every_task_id_once_and_are_dense() {
        // Goal: the tier byte's values are 0..n for the n task ids, one each, so the class
        // count (highest + 1) is exactly the number of ids.
        let mut codes: Vec<u8> = tier_codes().into_iter().map(|(_, code)| code).collect();
        codes.sort_unstable();
        let ids = crate::task_id_names().len();
        assert_eq!(codes, (0..ids as u8).collect::<Vec<_>>());
        assert_eq!(tier_codes().len(), ids);
    }

    #[test]
    fn the_tiling_check_catches_a_missing_or_doubled_byte() {
        // Goal: the build-time check of the field tables is not vacuous.
        assert!(!tiles(&FIELDS[1..], GLOBAL_OFFSET, OBS_LEN, &RUN_FIELDS));
        assert!(!tiles(&FIELDS, GLOBAL_OFFSET, OBS_LEN, &[]));
        let mut doubled = SERVICE_FIELDS;
        doubled[1].1 = doubled[0].1;
        assert!(!tiles(&doubled, 0, SERVICE_BLOCK, &[]));
        assert!(!distinct_bits(&[("A", 1), ("B", 1)]) && !distinct_bits(&[("AB", 3)]));
    }

    #[test]
    fn the_original_tasks_play_the_original_ruleset() {
        // Goal: the ruleset count's lowest value is what an original task's scenario holds.
        for task in TaskId::ALL {
            assert_eq!(Scenario::task(task).ruleset, Ruleset::Original);
        }
    }
}
