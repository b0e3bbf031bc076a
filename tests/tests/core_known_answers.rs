//! Known-answer tests of the core: sizes, pinned snapshot bytes, the baseline grades of
//! `behaviour.md` §13, the worked grader values of §8 and the rejection of tampered
//! snapshots.

use incident_core::baseline::{self, Shown};
use incident_core::constants::{ENV_BYTES_MAX, SNAPSHOT_BYTES_MAX};
use incident_core::env::Invariant;
use incident_core::grader::Grade;
use incident_core::snapshot::SnapshotError;
use incident_core::{Action, ActionType, Env, Fix, Mode, Service, TaskId};
use serde_json::{Value, json};

#[test]
fn env_fits_its_byte_budget() {
    // Goal: one environment stays within the documented budget of a few hundred bytes.
    let size = size_of::<Env>();
    println!("size_of::<Env>() = {size} bytes (budget {ENV_BYTES_MAX})");
    assert!(size <= ENV_BYTES_MAX, "{size} > {ENV_BYTES_MAX}");
}

/// The short seeded episode whose snapshot is pinned below.
fn pinned_episode() -> Env {
    let mut env = Env::new(TaskId::Hard, 42, 7);
    for action in [
        Action::list_services(),
        Action::on(ActionType::ReadLogs, Service::Database),
        Action::diagnose(Service::Database, Mode::DiskFull),
        Action::apply_fix(Service::Database, Fix::ClearDisk),
    ] {
        let _ = env.step(action);
    }
    env
}

/// The postcard snapshot of [`pinned_episode`], computed once and pinned: any change to
/// the state layout or its encoding shows up here (and old snapshots stop loading).
///
/// Reading guide: the scenario's origin 2 (hard; the four original tasks encode as the old
/// task id did), step_count 4, flags 4 (listed), trajectory 300 (zigzag varint `216, 4`),
/// seed 42 (zigzag 84), the service masks (database = 32), ..., then four history
/// records, the last `1, 3, 2, 5, 0, 2, 2, 240, 1, 1, 7` (apply_fix, known database, no diagnosis, known clear_disk, reward 120 as a zigzag
/// `i16` since ruleset v1's rewards may be negative, success, expected healthy), then
/// `mitigated_at` 4 (the fix at step 4 mitigated the only root), the v1 potential 0,
/// stream 7, draws 0, then the 72 bytes of the cached numeric observation
/// (`core/src/obs.rs`, layout v2: six service blocks, the last (database)
/// `4, 0, 5, 0, 0, 5, 1, 1`: recovering, logs and diagnosis of disk_full, diagnosis
/// accepted, fixed; the global block `2, 4, 8, 12, 5, 0, 0, 0`; the evidence blocks: a
/// logs run of 1 on the database, layout version 2, ruleset 0, mitigated at step 4).
/// What the agent read, diagnosed and was told is stored once, in the observation.
const PINNED_SNAPSHOT: &[u8] = &[
    2, 4, 4, 216, 4, 84, 32, 0, 0, 0, 32, 0, 32, 32, 0, 0, 1, 1, 0, 17, 5, 2, 0, 4, 1, 5, 0, 0, 0,
    100, 1, 7, 1, 0, 2, 5, 0, 0, 100, 1, 7, 1, 2, 2, 5, 2, 4, 0, 160, 1, 1, 4, 1, 3, 2, 5, 0, 2, 2,
    240, 1, 1, 7, 4, 0, 7, 0,
    // The cached observation: six service blocks, the global block, two evidence blocks.
    0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 4, 0, 0, 0, 0, 0, 0, 4, 0, 5, 0, 0, 5, 1, 1, 2, 4, 8, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 2, 0, 4, 0,
];

#[test]
fn snapshot_bytes_are_pinned() {
    // Goal: the exact postcard bytes of a short seeded episode do not drift, and they load
    // back into the same environment.
    let env = pinned_episode();
    let mut buffer = [0u8; SNAPSHOT_BYTES_MAX];
    let bytes = env.save(&mut buffer).expect("fits");
    println!("snapshot ({} bytes): {bytes:?}", bytes.len());
    assert_eq!(&*bytes, PINNED_SNAPSHOT);
    assert_eq!(Env::load(PINNED_SNAPSHOT), Ok(env));
}

fn grade_json(grade: &Grade) -> Value {
    let mut details = serde_json::Map::new();
    for (key, value) in grade.details() {
        details.insert(key.into(), json!(f64::from(value) / 1000.0));
    }
    Value::Object(details)
}

#[test]
fn snapshot_baseline_grades_match_the_readme_table() {
    // Goal: the /baseline-driven loop (the policy sees the fresh snapshot observation)
    // reproduces §13's table for every task and the seeds the original was run with:
    // steps 7/7/12/14 and scores 0.8/0.86/0.117/0.117 with their components.
    let table = [
        (TaskId::Easy, 7, [950, 950, 200, 950, 800]),
        (TaskId::Medium, 7, [950, 950, 500, 950, 860]),
        (TaskId::Hard, 12, [50, 50, 50, 500, 117]),
        (TaskId::Expert, 14, [50, 50, 50, 500, 117]),
    ];
    for (task, steps, [root, resolution, efficiency, safety, score]) in table {
        for seed in [42, 0, 7, 12345] {
            let mut env = Env::new(task, seed, 0);
            while !env.is_done() {
                let _ = env.step(baseline::choose(&env, Shown::Snapshot).action);
            }
            let context = format!("{} seed {seed}", task.name());
            assert_eq!(env.step_count(), steps, "{context}");
            let expected = Grade {
                root_cause_identification: root,
                resolution,
                efficiency,
                safety,
                score,
            };
            assert_eq!(env.final_grade(), Some(expected), "{context}");
            println!("{context}: {}", grade_json(&expected));
        }
    }
}

fn play(task: TaskId, actions: &[Action]) -> Env {
    let mut env = Env::new(task, 42, 0);
    for action in actions {
        let _ = env.step(*action);
    }
    env
}

#[test]
fn worked_grader_values_of_section_8() {
    // Goal: §8's worked values: 0.195 straight after reset (every task); easy with
    // read_logs, diagnose, fix, verify -> 0.92; the same without read_logs -> 0.862.
    for task in TaskId::ALL {
        let grade = Env::new(task, 42, 0).grade();
        assert_eq!(
            grade.details().map(|(_, v)| v),
            [50, 50, 100, 950, 195],
            "{}",
            task.name()
        );
    }
    let gateway = Service::ApiGateway;
    let diagnose = Action::diagnose(gateway, Mode::ServiceCrash);
    let fix = Action::apply_fix(gateway, Fix::RestartService);
    let verify = Action::on(ActionType::VerifyHealth, gateway);
    let read = Action::on(ActionType::ReadLogs, gateway);

    let full = play(TaskId::Easy, &[read, diagnose, fix, verify]);
    assert!(full.is_resolved() && full.is_done());
    let grade = full.final_grade().expect("resolved");
    assert_eq!(grade.details().map(|(_, v)| v), [950, 950, 800, 950, 920]);

    let blind = play(TaskId::Easy, &[diagnose, fix, verify]);
    let grade = blind.final_grade().expect("resolved");
    // 0.35·0.7 + 0.3·0.95 + 0.2·0.95 + 0.15·0.95 is 0.8625 in decimal but just below the tie
    // in binary, so Python's round gives 0.862.
    assert_eq!(grade.details().map(|(_, v)| v), [700, 950, 950, 950, 862]);
}

#[test]
fn easy_quirk_run_scores_0_702() {
    // Goal: §12's quirk total on easy (fix first, diagnose after the fix, pad to
    // max_steps): root 0.95 even though the late diagnosis was judged incorrect, resolution
    // 0.95, efficiency 0.05, safety 0.5 -> 0.702 (the quirks2-easy trace's final grade).
    let gateway = Service::ApiGateway;
    let env = play(
        TaskId::Easy,
        &[
            Action::apply_fix(gateway, Fix::RestartService),
            Action::on(ActionType::QueryMetrics, gateway),
            Action::on(ActionType::ReadLogs, gateway),
            Action::diagnose(gateway, Mode::ServiceCrash),
            Action::new(ActionType::InspectDependencies),
            Action::new(ActionType::InspectDependencies),
            Action::on(ActionType::InspectDependencies, Service::Database),
            Action::list_services(),
        ],
    );
    assert!(env.is_done() && !env.is_resolved());
    assert_eq!(env.counters().destructive_actions, 1);
    let grade = env.final_grade().expect("done at max_steps");
    assert_eq!(grade.details().map(|(_, v)| v), [950, 950, 50, 500, 702]);
}

/// Save `env` after editing its serde form with `edit`, then try to load it.
fn tampered(env: &Env, edit: impl FnOnce(&mut Value)) -> Result<Env, SnapshotError> {
    let mut value = serde_json::to_value(env).expect("serializable");
    edit(&mut value);
    let forged: Env = serde_json::from_value(value).expect("still an Env");
    let mut buffer = [0u8; SNAPSHOT_BYTES_MAX];
    let bytes = forged.save(&mut buffer).expect("fits");
    Env::load(bytes)
}

#[test]
fn tampered_snapshots_are_refused() {
    // Goal: a snapshot whose fields disagree with its own history is refused by
    // Env::load (a mask or counter the history does not explain would make Lists::of
    // panic in debug and let counters overflow).
    let env = pinned_episode();
    assert!(
        tampered(&env, |_| {}).is_ok(),
        "an untouched round trip loads"
    );
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 5] = [
        ("logs read nowhere", |v| v["investigated"] = json!(0)),
        ("counter at 255", |v| {
            v["counters"]["destructive_actions"] = json!(255)
        }),
        ("fix not in the history", |v| v["fixed"] = json!(0b100001)),
        ("trajectory", |v| v["trajectory_milli"] = json!(900)),
        ("last error", |v| v["last_error"] = json!("UnknownService")),
    ];
    for (name, edit) in cases {
        assert_eq!(
            tampered(&env, edit),
            Err(SnapshotError::Invalid(Invariant::History)),
            "{name}"
        );
    }
    // A forged history record with a reward the action never earns is refused too.
    let forged = tampered(&env, |v| v["history"][0]["reward_milli"] = json!(120));
    assert_eq!(forged, Err(SnapshotError::Invalid(Invariant::History)));
}
