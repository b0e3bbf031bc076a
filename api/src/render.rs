//! Render core state as the original's JSON, key for key (`behaviour.md` §5, §9, §11).
//!
//! Every response is a `#[derive(Serialize)]` struct whose field order is the original's
//! key order and whose strings borrow the core's static text, so rendering is one pass
//! straight into the output buffer.

use incident_core::constants::milli_to_f64;
use incident_core::env::{Outcome, REWARD_MAX_MILLI, REWARD_MIN_MILLI};
use incident_core::generate::{self, v2};
use incident_core::grader::Grade;
use incident_core::record::{Inspected, Lists};
use incident_core::scenario::Ruleset;
use incident_core::task::{Alert, Root};
use incident_core::text::{
    self, ActionResult, LOGS_PER_READ, LogEvent, METRICS, Message, Timestamp, TraceId,
};
use incident_core::topology::{ServiceMask, services};
use incident_core::{ActionType, Env, Milli, Scenario, Service, Split, TaskId, Tier};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::parse::{GENERATED_PREFIX, RawNames};

mod bytes;
pub use bytes::write_step_response;

/// Name of the benchmark in `/tasks`, `/manifest` and the runner's output.
pub const BENCHMARK: &str = "devops_incident_env";
/// Version `/manifest` reports.
pub const MANIFEST_VERSION: &str = "1.0.0";
/// Description `/manifest` reports.
pub const DESCRIPTION: &str = "DevOps Incident Response RL Environment for SRE triage";
/// The original's route list in `/manifest`.
pub const MANIFEST_ROUTES: [&str; 10] = [
    "/",
    "/health",
    "/tasks",
    "/manifest",
    "/reset",
    "/step",
    "/state",
    "/grader",
    "/baseline",
    "/sample_action",
];

/// A reward or score as the JSON replies show it: for the original tasks the original's
/// display clamp into [0.05, 0.95] (a 0 shows as 0.05); for a generated incident ruleset
/// v1's exact value (a wrong fix's reward is negative), so its emitted rewards sum to its
/// score.
#[must_use]
pub fn shown(scenario: &Scenario, milli: Milli) -> f64 {
    match scenario.ruleset {
        Ruleset::Original => milli_to_f64(milli.clamp(REWARD_MIN_MILLI, REWARD_MAX_MILLI)),
        Ruleset::V1 | Ruleset::V2 => milli_to_f64(milli),
    }
}

/// A value written as a JSON string through its `Display` impl, without an intermediate
/// `String` (`Serializer::collect_str` escapes each written fragment in place).
#[derive(Clone, Copy)]
pub struct DisplayStr<T>(pub T);

impl<T: std::fmt::Display> Serialize for DisplayStr<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// One service summary.
#[derive(Serialize)]
pub struct Summary {
    service_name: &'static str,
    status: &'static str,
    /// The services it calls, `null` while the episode has not shown them (ruleset v2).
    depends_on: Option<DependsOn>,
}

/// A dependency list, serialized from its bitmask in canonical order.
#[derive(Clone, Copy)]
pub struct DependsOn(pub ServiceMask);

impl Serialize for DependsOn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(services(self.0).map(Service::name))
    }
}

/// One active alert.
#[derive(Serialize)]
pub struct AlertJson {
    severity: &'static str,
    service: &'static str,
    title: &'static str,
    description: &'static str,
    triggered_at: DisplayStr<Timestamp>,
    runbook_hint: &'static str,
}

impl AlertJson {
    fn new(alert: &Alert, seed: i64) -> AlertJson {
        AlertJson {
            severity: alert.severity.name(),
            service: alert.service.name(),
            title: alert.title,
            description: alert.description,
            triggered_at: DisplayStr(Timestamp::base(seed)),
            runbook_hint: alert.runbook_hint,
        }
    }
}

/// One log line.
#[derive(Serialize)]
pub struct LogJson {
    timestamp: DisplayStr<Timestamp>,
    level: &'static str,
    service: &'static str,
    message: &'static str,
    trace_id: DisplayStr<TraceId>,
}

impl LogJson {
    fn new(event: &LogEvent) -> LogJson {
        LogJson {
            timestamp: DisplayStr(event.timestamp),
            level: event.level,
            service: event.service.name(),
            message: event.message,
            trace_id: DisplayStr(event.trace_id()),
        }
    }
}

/// The `logs` list: the four lines of a `read_logs`, `[]` after any other action.
pub struct Logs(Option<[LogEvent; LOGS_PER_READ]>);

impl Serialize for Logs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().flatten().map(LogJson::new))
    }
}

/// The metrics object of `query_metrics`.
#[derive(Serialize)]
pub struct MetricsJson {
    service_name: &'static str,
    cpu_percent: f64,
    memory_mb: f64,
    memory_limit_mb: f64,
    request_latency_p50_ms: f64,
    request_latency_p99_ms: f64,
    error_rate_percent: f64,
    active_connections: u32,
    connection_pool_size: u32,
    disk_used_gb: f64,
    disk_total_gb: f64,
    status: &'static str,
    uptime_seconds: f64,
}

/// The `dependency_graph` object: the original's (inspected services in order, or the
/// whole graph once `full` was inspected); under ruleset v2 every service whose edges
/// the episode has shown, in canonical order.
pub struct Graph<'a>(pub &'a Env, pub &'a Lists);

impl Serialize for Graph<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Graph(env, lists) = *self;
        let inspected = &lists.dependencies_inspected;
        let mut map = serializer.serialize_map(None)?;
        let every = env.scenario().ruleset == Ruleset::V2 || inspected.contains(&Inspected::Full);
        let mut all = Service::ALL.into_iter();
        let mut listed = inspected.iter().filter_map(|entry| match entry {
            Inspected::Service(service) => Some(*service),
            Inspected::Full => None,
        });
        let order: &mut dyn Iterator<Item = Service> = if every { &mut all } else { &mut listed };
        for service in order {
            if let Some(mask) = env.visible_dependencies(service) {
                map.serialize_entry(service.name(), &DependsOn(mask))?;
            }
        }
        map.end()
    }
}

/// The six service summaries in canonical order, serialized straight from the env.
#[derive(Clone, Copy)]
pub struct Summaries<'a>(pub &'a Env);

impl Serialize for Summaries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(Service::ALL.iter().map(|&service| Summary {
            service_name: service.name(),
            status: self.0.status(service).name(),
            depends_on: self.0.visible_dependencies(service).map(DependsOn),
        }))
    }
}

/// The active alerts (`[]` once resolved), serialized straight from the env.
#[derive(Clone, Copy)]
pub struct Alerts<'a>(pub &'a Env);

impl Serialize for Alerts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let env = self.0;
        let alerts = env.scenario().alerts().take_while(|_| !env.is_resolved());
        serializer.collect_seq(alerts.map(|alert| AlertJson::new(&alert, env.seed())))
    }
}

/// The HTTP `observation` object.
#[derive(Serialize)]
pub struct Observation<'a> {
    action_result: DisplayStr<ActionResult<'a>>,
    success: bool,
    message: DisplayStr<Message>,
    logs: Logs,
    metrics: Option<MetricsJson>,
    service_summaries: Summaries<'a>,
    active_alerts: Alerts<'a>,
    dependency_graph: Graph<'a>,
    step_number: u8,
    max_steps: u8,
    steps_remaining: u8,
    available_services: [&'static str; 6],
    available_actions: [&'static str; 7],
}

/// Build the observation after `outcome` (the env already reflects the step).
#[must_use]
pub fn observation<'a>(
    env: &'a Env,
    lists: &'a Lists,
    outcome: Outcome,
    unknown: &'a str,
) -> Observation<'a> {
    let logs = match outcome {
        Outcome::LogsRead { service, mode } => Some(text::log_events(
            env.seed(),
            service,
            mode,
            env.step_count(),
        )),
        _ => None,
    };
    let metrics = match outcome {
        Outcome::MetricsRead {
            service,
            mode,
            status,
        } => {
            let m = &METRICS[mode as usize];
            Some(MetricsJson {
                service_name: service.name(),
                cpu_percent: m.cpu_percent,
                memory_mb: m.memory_mb,
                memory_limit_mb: m.memory_limit_mb,
                request_latency_p50_ms: m.request_latency_p50_ms,
                request_latency_p99_ms: m.request_latency_p99_ms,
                error_rate_percent: m.error_rate_percent,
                active_connections: m.active_connections,
                connection_pool_size: m.connection_pool_size,
                disk_used_gb: m.disk_used_gb,
                disk_total_gb: m.disk_total_gb,
                status: status.name(),
                uptime_seconds: m.uptime_seconds,
            })
        }
        _ => None,
    };
    Observation {
        action_result: DisplayStr(ActionResult { outcome, unknown }),
        success: outcome.success(),
        message: DisplayStr(Message { outcome }),
        logs: Logs(logs),
        metrics,
        service_summaries: Summaries(env),
        active_alerts: Alerts(env),
        dependency_graph: Graph(env, lists),
        step_number: env.step_count(),
        max_steps: env.scenario().max_steps,
        steps_remaining: env.steps_remaining(),
        available_services: Service::ALL.map(Service::name),
        available_actions: ActionType::ALL.map(ActionType::name),
    }
}

/// The grader details object, in the original's key order.
#[derive(Clone, Copy)]
pub struct Details(pub Grade);

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        for (key, milli) in self.0.details() {
            map.serialize_entry(key, &milli_to_f64(milli.into()))?;
        }
        map.end()
    }
}

/// The `info` object of a step response.
#[derive(Serialize)]
pub struct Info {
    task_id: &'static str,
    last_action_error: Option<&'static str>,
    trajectory_reward: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    grader_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grader_details: Option<Details>,
}

/// The `{observation, reward, done, info}` response of `/reset` and `/step`.
#[derive(Serialize)]
pub struct StepResponse<'a> {
    /// The observation.
    pub observation: Observation<'a>,
    /// The emitted reward ([`shown`]: the original tasks' clamped to [0.05, 0.95]).
    pub reward: f64,
    /// Whether the episode is over.
    pub done: bool,
    /// Task, error, trajectory and (on the terminal step) the grade.
    pub info: Info,
}

/// Build the response of a reset (`outcome == Reset`), a step, or a step after done.
#[must_use]
pub fn step_response<'a>(
    env: &'a Env,
    lists: &'a Lists,
    outcome: Outcome,
    reward_milli: Milli,
    unknown: &'a str,
) -> StepResponse<'a> {
    let after_done = outcome == Outcome::AlreadyDone;
    let grade = env.final_grade().filter(|_| !after_done);
    StepResponse {
        observation: observation(env, lists, outcome, unknown),
        reward: shown(env.scenario(), reward_milli),
        done: env.is_done(),
        info: Info {
            task_id: env.scenario().name(),
            last_action_error: outcome.error().map(|code| code.name()),
            trajectory_reward: shown(env.scenario(), env.trajectory_milli()),
            grader_score: grade.map(|g| shown(env.scenario(), Milli::from(g.score))),
            grader_details: grade.map(Details),
        },
    }
}

/// The `/grader` response.
#[derive(Serialize)]
pub struct GraderResponse {
    task_id: &'static str,
    score: f64,
    details: Details,
    /// Generated incidents only: the step the last root was fixed at (`null` before).
    #[serde(skip_serializing_if = "Option::is_none")]
    time_to_mitigation: Option<Option<u8>>,
}

/// Grade the episode as it stands (the original's live `/grader`; ruleset v1's for a
/// generated incident, with its time to mitigation).
#[must_use]
pub fn grader(env: &Env) -> GraderResponse {
    let grade = env.grade();
    GraderResponse {
        task_id: env.scenario().name(),
        score: shown(env.scenario(), Milli::from(grade.score)),
        details: Details(grade),
        time_to_mitigation: env.task_id().is_none().then(|| env.mitigated_at()),
    }
}

/// A task definition of `/tasks` and `/manifest`.
#[derive(Clone, Debug, Serialize)]
pub struct TaskDefinition {
    task_id: &'static str,
    name: String,
    description: String,
    difficulty: &'static str,
    /// The step budget (a generated tier's largest).
    max_steps: u8,
    /// Generated tiers only: the splits a reset may name, the default first.
    #[serde(skip_serializing_if = "Option::is_none")]
    splits: Option<[&'static str; 2]>,
    /// Generated tiers only: what `seed` means.
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<&'static str>,
}

/// What `seed` means for a generated tier (`/tasks`, the reset schema, MCP).
pub const GENERATED_SEED: &str = "the incident's index within the tier and split (a non-negative 64-bit integer), also the episode seed";

/// Which tasks `/tasks` and `/manifest` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// The four original tasks (the original's bodies, byte for byte).
    Original,
    /// The four original tasks, then the generated tiers (`?include=generated`).
    WithGenerated,
}

/// The four task definitions in order, then the tiers' when `listing` asks for them.
#[must_use]
pub fn task_definitions(listing: Listing) -> Vec<TaskDefinition> {
    let originals = TaskId::ALL.iter().map(|id| {
        let task = id.task();
        TaskDefinition {
            task_id: task.id,
            name: task.name.to_owned(),
            description: task.description.to_owned(),
            difficulty: task.difficulty,
            max_steps: task.max_steps,
            splits: None,
            seed: None,
        }
    });
    let tiers = Tier::EVERY.map(tier_definition);
    let generated = if listing == Listing::WithGenerated {
        &tiers[..]
    } else {
        &[]
    };
    originals.chain(generated.iter().cloned()).collect()
}

/// A generated tier's definition, worded from its parameters (`generate::params`,
/// `generate::v2::params`).
#[must_use]
pub fn tier_definition(tier: Tier) -> TaskDefinition {
    let level = Tier::ALL[tier.level()].name();
    let difficulty = level.strip_prefix(GENERATED_PREFIX).unwrap_or(level);
    let (name, description) = match tier.ruleset() {
        Ruleset::V2 => (
            format!("Generated graph incident ({difficulty})"),
            graph_tier_description(&v2::params(tier)),
        ),
        Ruleset::Original | Ruleset::V1 => (
            format!("Generated incident ({difficulty})"),
            tier_description(&generate::params(tier)),
        ),
    };
    TaskDefinition {
        task_id: tier.name(),
        name,
        description,
        difficulty,
        max_steps: generate::max_steps_max(tier),
        splits: Some(Split::ALL.map(Split::name)),
        seed: Some(GENERATED_SEED),
    }
}

/// "1 or 2 root causes" ("1, 2 or 3 root causes") from a tier's root-count percentages.
fn root_counts(percent: &[u8], roots_max: u8) -> String {
    let counts: Vec<String> = (1..=roots_max)
        .filter(|&n| percent[usize::from(n) - 1] > 0)
        .map(|n| n.to_string())
        .collect();
    let plural = if roots_max > 1 { "s" } else { "" };
    let listed = match counts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => counts.concat(),
    };
    format!("{listed} root cause{plural}")
}

/// "1 step", "2 steps".
fn steps(count: u8) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} step{plural}")
}

/// "no red herrings", "up to 1 red herring", "up to 2 red herrings".
fn herrings(most: u8) -> String {
    match most {
        0 => "no red herrings".to_owned(),
        1 => "up to 1 red herring".to_owned(),
        n => format!("up to {n} red herrings"),
    }
}

/// "exact evidence" or "15% of reads misleading".
fn noise(percent: u8) -> String {
    match percent {
        0 => "exact evidence".to_owned(),
        n => format!("{n}% of reads misleading"),
    }
}

/// The description of a v1 tier (`gen_*`).
fn tier_description(params: &generate::TierParams) -> String {
    let above = match params.alert_above_percent {
        100 => "every other broken service above a broken dependency".to_owned(),
        n => format!("{n}% of the other broken services above a broken dependency"),
    };
    format!(
        "A generated incident on the six-service graph: {}, {}, {}, alerts on the gateway, \
         on {above} and on {}% of those with none. Train and test splits differ by \
         structure; scored by ruleset v1.",
        root_counts(&params.root_count_percent, params.roots_max()),
        noise(params.noise_percent),
        herrings(params.herrings_max),
        params.alert_bottom_percent
    )
}

/// The description of a graph tier (`gen_graph_*`): the clauses its parameters make true.
fn graph_tier_description(params: &v2::GraphParams) -> String {
    let shown = if params.full_graph_shown {
        "of one service or of all"
    } else {
        "of one service at a time"
    };
    let mut clauses = vec![root_counts(&params.root_count_percent, params.roots_max())];
    if params.control_percent > 0 {
        clauses.push(format!(
            "{}% no-fault controls (a flapping alert that heals by itself: investigate, do \
             not remediate)",
            params.control_percent
        ));
    }
    if params.roots_max() > 1 {
        clauses.push(format!(
            "{}% of multi-root incidents with a root masking another and {}% with two roots \
             sharing a dependency",
            params.mask_percent, params.shared_percent
        ));
    }
    clauses.push(noise(params.noise_percent));
    clauses.push(herrings(params.herrings_max));
    clauses.push(match params.spread_steps {
        0 => "every symptom showing from the start".to_owned(),
        n => format!("symptoms spreading upstream one hop every {}", steps(n)),
    });
    clauses.push(format!(
        "fixes landing {} after they are applied",
        steps(params.fix_delay)
    ));
    format!(
        "A generated incident on a dependency graph drawn per incident (gateway on top, \
         database a leaf), its edges shown only by inspect_dependencies {shown}: {}, and an \
         error budget that burns while users are affected. Train and test splits differ by \
         structure; scored by ruleset v2.",
        clauses.join(", ")
    )
}

/// The `/tasks` response.
#[derive(Serialize)]
pub struct TasksResponse {
    benchmark: &'static str,
    count: usize,
    tasks: Vec<TaskDefinition>,
}

/// Build `/tasks`.
#[must_use]
pub fn tasks(listing: Listing) -> TasksResponse {
    let tasks = task_definitions(listing);
    TasksResponse {
        benchmark: BENCHMARK,
        count: tasks.len(),
        tasks,
    }
}

/// The `/manifest` (and `GET /` for non-browsers) response.
#[derive(Serialize)]
pub struct ManifestResponse {
    name: &'static str,
    version: &'static str,
    description: &'static str,
    port: u16,
    routes: [&'static str; 10],
    tasks: Vec<TaskDefinition>,
}

/// Build `/manifest`.
#[must_use]
pub fn manifest(listing: Listing) -> ManifestResponse {
    ManifestResponse {
        name: BENCHMARK,
        version: MANIFEST_VERSION,
        description: DESCRIPTION,
        port: crate::constants::PORT_DEFAULT,
        routes: MANIFEST_ROUTES,
        tasks: task_definitions(listing),
    }
}

/// An action as JSON without nulls (`/baseline`, `/sample_action`, the runner's prompts).
#[derive(Serialize)]
pub struct ActionJson<'a> {
    /// The action type.
    pub action_type: &'static str,
    /// The service, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'a str>,
    /// The diagnosis, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<&'a str>,
    /// The fix, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'a str>,
    /// Why, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
}

/// Render the baseline's next action from the `/baseline` snapshot observation.
#[must_use]
pub fn baseline(env: &Env) -> ActionJson<'static> {
    let choice = incident_core::baseline::choose(env, incident_core::baseline::Shown::Snapshot);
    action_json(&choice.action, Some(choice.reasoning().to_string()))
}

/// Render a core action (known arguments only) as JSON without nulls.
#[must_use]
pub fn action_json(
    action: &incident_core::Action,
    reasoning: Option<String>,
) -> ActionJson<'static> {
    ActionJson {
        action_type: action.kind.map_or("unknown", ActionType::name),
        service: action.service.known().map(Service::name),
        diagnosis: action.diagnosis.known().map(incident_core::Mode::name),
        fix: action.fix.known().map(incident_core::Fix::name),
        reasoning,
    }
}

/// One `action_history` entry.
#[derive(Serialize)]
pub struct HistoryJson<'a> {
    step: usize,
    action_type: &'static str,
    service: Option<&'a str>,
    diagnosis: Option<&'a str>,
    fix: Option<&'a str>,
    reward: f64,
    success: bool,
}

/// One `diagnoses` record.
#[derive(Serialize)]
pub struct DiagnosisJson {
    service: &'static str,
    diagnosis: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'static str>,
    correct: bool,
}

/// One `fixes_applied` record (`destructive: true` only on failed ones).
#[derive(Serialize)]
pub struct FixJson {
    service: &'static str,
    fix: &'static str,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    destructive: Option<bool>,
}

/// `required_fixes`: root service to fix, in root order.
pub struct RequiredFixes<'a>(pub &'a [Root]);

impl Serialize for RequiredFixes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let roots = self.0;
        let mut map = serializer.serialize_map(Some(roots.len()))?;
        for root in roots {
            map.serialize_entry(root.service.name(), root.fix.name())?;
        }
        map.end()
    }
}

/// The answer fields of `/state` that `--sealed` hides.
#[derive(Serialize)]
pub struct Answer<'a> {
    root_cause_services: Vec<&'static str>,
    root_cause_failure_modes: Vec<&'static str>,
    required_fixes: RequiredFixes<'a>,
    affected_services: Vec<&'static str>,
}

/// The `/state` response (`EnvironmentState` in the original's key order).
#[derive(Serialize)]
pub struct StateResponse<'a> {
    episode_id: &'a str,
    step_count: u8,
    task_id: &'static str,
    difficulty: &'static str,
    max_steps: u8,
    is_resolved: bool,
    done: bool,
    seed: i64,
    trajectory_reward: f64,
    final_score: f64,
    final_details: FinalDetails,
    services_investigated: Vec<&'static str>,
    dependencies_inspected: Vec<&'static str>,
    metrics_queried: Vec<&'static str>,
    diagnoses: Vec<DiagnosisJson>,
    fixes_applied: Vec<FixJson>,
    correct_fixes: Vec<&'static str>,
    successful_verifications: Vec<&'static str>,
    destructive_actions: u8,
    invalid_actions: u8,
    diagnosis_correct_count: u8,
    fix_correct_count: u8,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    answer: Option<Answer<'a>>,
    action_history: Vec<HistoryJson<'a>>,
    last_action_error: Option<&'static str>,
}

/// `final_details`: `{}` until the episode is graded.
pub struct FinalDetails(pub Option<Grade>);

impl Serialize for FinalDetails {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(grade) => Details(grade).serialize(serializer),
            None => serializer.serialize_map(Some(0))?.end(),
        }
    }
}

/// The `difficulty` of a scenario: the task's, or the tier's (`gen_hard` is `hard`).
#[must_use]
pub fn difficulty(scenario: &Scenario) -> &'static str {
    match scenario.task_id() {
        Some(task) => task.task().difficulty,
        None => {
            let name = scenario.name();
            name.strip_prefix(GENERATED_PREFIX).unwrap_or(name)
        }
    }
}

/// The affected (symptom) services: the task's in the original's order, a generated
/// incident's in canonical order.
fn affected(scenario: &Scenario) -> Vec<&'static str> {
    match scenario.task_id() {
        Some(task) => task
            .task()
            .symptoms
            .iter()
            .map(|s| s.service.name())
            .collect(),
        None => services(scenario.affected_mask)
            .map(Service::name)
            .collect(),
    }
}

fn names(list: &[Service]) -> Vec<&'static str> {
    list.iter().map(|s| s.name()).collect()
}

/// Build `/state`. `raw` holds the strings of each history entry; `sealed` hides the
/// answer (roots, modes, fixes, affected services and each diagnosis's `expected`).
#[must_use]
pub fn state<'a>(
    env: &'a Env,
    lists: &'a Lists,
    episode_id: &'a str,
    raw: &'a [RawNames],
    sealed: bool,
) -> StateResponse<'a> {
    let scenario = env.scenario();
    let counters = env.counters();
    StateResponse {
        episode_id,
        step_count: env.step_count(),
        task_id: scenario.name(),
        difficulty: difficulty(scenario),
        max_steps: scenario.max_steps,
        is_resolved: env.is_resolved(),
        done: env.is_done(),
        seed: env.seed(),
        trajectory_reward: shown(scenario, env.trajectory_milli()),
        final_score: shown(
            scenario,
            env.final_grade().map_or(0, |g| Milli::from(g.score)),
        ),
        final_details: FinalDetails(env.final_grade()),
        services_investigated: names(&lists.services_investigated),
        dependencies_inspected: dependencies_inspected(lists),
        metrics_queried: names(&lists.metrics_queried),
        diagnoses: diagnoses(lists, sealed),
        fixes_applied: fixes_applied(lists),
        correct_fixes: names(&lists.correct_fixes),
        successful_verifications: names(&lists.successful_verifications),
        destructive_actions: counters.destructive_actions,
        invalid_actions: counters.invalid_actions,
        diagnosis_correct_count: counters.diagnosis_correct_count,
        fix_correct_count: counters.fix_correct_count,
        answer: (!sealed).then(|| answer(scenario)),
        action_history: action_history(env, raw),
        last_action_error: env.last_error().map(|code| code.name()),
    }
}

/// `action_history`: each step's record with the strings the agent sent (`raw[index]`).
fn action_history<'a>(env: &Env, raw: &'a [RawNames]) -> Vec<HistoryJson<'a>> {
    let pick = |raw: Option<&'a String>| raw.map(String::as_str);
    env.history()
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let given = raw.get(index);
            HistoryJson {
                step: index + 1,
                action_type: record.action.kind.map_or("unknown", ActionType::name),
                service: pick(given.and_then(|g| g.service.as_ref())),
                diagnosis: pick(given.and_then(|g| g.diagnosis.as_ref())),
                fix: pick(given.and_then(|g| g.fix.as_ref())),
                reward: milli_to_f64(Milli::from(record.reward_milli)),
                success: record.success,
            }
        })
        .collect()
}

/// `dependencies_inspected`: each inspected service's name, `full` for the whole graph.
fn dependencies_inspected(lists: &Lists) -> Vec<&'static str> {
    lists
        .dependencies_inspected
        .iter()
        .map(|entry| match entry {
            Inspected::Service(service) => service.name(),
            Inspected::Full => "full",
        })
        .collect()
}

/// `diagnoses`: each diagnosis made, with the expected mode unless `sealed`.
fn diagnoses(lists: &Lists, sealed: bool) -> Vec<DiagnosisJson> {
    lists
        .diagnoses
        .iter()
        .map(|d| DiagnosisJson {
            service: d.service.name(),
            diagnosis: d.diagnosis.name(),
            expected: (!sealed).then(|| d.expected.name()),
            correct: d.correct,
        })
        .collect()
}

/// `fixes_applied`: each fix applied, failed ones marked destructive.
fn fixes_applied(lists: &Lists) -> Vec<FixJson> {
    lists
        .fixes_applied
        .iter()
        .map(|f| FixJson {
            service: f.service.name(),
            fix: f.fix.name(),
            success: f.success,
            destructive: (!f.success).then_some(true),
        })
        .collect()
}

/// The answer fields: the roots' services, modes and fixes, and the affected services.
fn answer(scenario: &Scenario) -> Answer<'_> {
    let roots = scenario.roots();
    Answer {
        root_cause_services: roots.iter().map(|r| r.service.name()).collect(),
        root_cause_failure_modes: roots.iter().map(|r| r.mode.name()).collect(),
        required_fixes: RequiredFixes(roots),
        affected_services: affected(scenario),
    }
}
