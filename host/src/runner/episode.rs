//! One task run the way the original's `inference.py` runs it: reset, then for each step
//! read the state, choose an action, step, and print a `[STEP]` line; finally read the
//! grade and print `[END]`.
//!
//! The environment is either in-process (a [`Session`]) or a server driven over its HTTP
//! API ([`RemoteEnv`]). Either way a local [`Session`] *mirror* replays every action: the
//! environment is deterministic for a task and seed, so the mirror is exactly what the
//! server holds, and the baseline policy (which reads core state) can run against it.

use std::io::{self, Write};

use incident_core::Env;
use serde_json::{Value, json};

use incident_api::parse::{Incident, ParsedAction, ResetRequest};
use incident_api::{Command, Session};

use crate::constants::{ENV_TIMEOUT, REWARD_SHOWN_MAX, REWARD_SHOWN_MIN, SUCCESS_SCORE_MIN};

/// One step taken so far, as the LLM prompt shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Taken {
    /// The action type's name.
    pub action_type: &'static str,
    /// The service as given (empty when none).
    pub service: String,
    /// The emitted reward as printed (`printed`).
    pub reward: f64,
    /// The observation's `action_result`.
    pub result: String,
}

/// What a policy sees before choosing: the mirror environment (for the baseline), and
/// what an agent observed: the state's public fields, the last observation, the steps so far.
pub struct View<'a> {
    /// The local mirror of the episode (the baseline reads it; never shown to an LLM).
    pub mirror: &'a Env,
    /// The raw service name the last step gave (the baseline's text may echo it).
    pub last_unknown: &'a str,
    /// The `/state` response read before this step.
    pub state: &'a Value,
    /// The observation of the last reset or step.
    pub observation: &'a Value,
    /// The steps taken so far in this task.
    pub taken: &'a [Taken],
}

/// A policy: chooses one validated action per step.
pub trait Policy {
    /// Start a new task (resets per-task state such as a failure streak).
    fn begin_task(&mut self, task: Incident);
    /// Choose the next action.
    fn choose(&mut self, view: &View<'_>) -> ParsedAction;
    /// A line for stderr at the end of a run (what chose the steps), if the policy has one.
    fn report(&self) -> Option<String> {
        None
    }
}

/// The original's rule-based baseline, fed the previous step's observation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Baseline;

/// Choose the baseline's action for `env` given the last step's echo, as a parsed action.
#[must_use]
pub fn baseline_action(env: &Env, last_unknown: &str) -> ParsedAction {
    let shown = incident_core::baseline::Shown::LastStep {
        outcome: env.last_outcome(),
        unknown: last_unknown,
    };
    let choice = incident_core::baseline::choose(env, shown);
    let json = incident_api::to_value(&incident_api::render::action_json(
        &choice.action,
        Some(choice.reasoning().to_string()),
    ));
    let parsed = incident_api::parse::parse_action(&json);
    debug_assert!(parsed.is_ok(), "the baseline's actions are valid");
    parsed.unwrap_or_else(|_| ParsedAction {
        action: choice.action,
        raw: incident_api::parse::RawNames::default(),
    })
}

impl Policy for Baseline {
    fn begin_task(&mut self, _task: Incident) {}

    fn choose(&mut self, view: &View<'_>) -> ParsedAction {
        baseline_action(view.mirror, view.last_unknown)
    }
}

/// A running environment server driven over the original's HTTP API (`client.py`).
#[derive(Clone, Debug)]
pub struct RemoteEnv {
    agent: ureq::Agent,
    base_url: String,
}

impl RemoteEnv {
    /// Create a client for the server at `base_url` (for example `http://127.0.0.1:8000`).
    #[must_use]
    pub fn new(base_url: &str) -> RemoteEnv {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(ENV_TIMEOUT))
            .build()
            .new_agent();
        RemoteEnv {
            agent,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// POST /reset `{task_id, seed}` (and `split` for a generated tier).
    ///
    /// # Errors
    /// A transport error or a non-2xx answer, described.
    pub fn reset(&self, task: Incident, seed: i64) -> Result<Value, String> {
        let mut body = json!({"task_id": task.name(), "seed": seed});
        if let Incident::Generated(_, split) = task {
            body["split"] = split.name().into();
        }
        self.call("POST", "/reset", Some(&body))
    }

    /// POST /step `{"action": action}`.
    ///
    /// # Errors
    /// A transport error or a non-2xx answer, described.
    pub fn step(&self, action: &Value) -> Result<Value, String> {
        self.call("POST", "/step", Some(&json!({ "action": action })))
    }

    /// GET /state.
    ///
    /// # Errors
    /// A transport error or a non-2xx answer, described.
    pub fn state(&self) -> Result<Value, String> {
        self.call("GET", "/state", None)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base_url);
        let response = match body {
            Some(body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
            None => self.agent.get(&url).call(),
        };
        let mut response = response.map_err(|error| format!("{method} {url}: {error}"))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| format!("{method} {url}: reading the body: {error}"))?;
        if !(200..300).contains(&status) {
            return Err(format!("{method} {url}: HTTP {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|error| format!("{method} {url}: bad JSON: {error}"))
    }
}

/// The result of one task run (`[END]`'s fields).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TaskSummary {
    /// The task id (a tier's for a generated incident).
    pub task_id: &'static str,
    /// The split, for a generated incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<&'static str>,
    /// The seed it was reset with.
    pub seed: i64,
    /// The final score as printed (`printed`: an original task's clamped to
    /// [0.05, 0.95]).
    pub score: f64,
    /// Whether the score reached [`SUCCESS_SCORE_MIN`].
    pub success: bool,
    /// The number of steps printed.
    pub steps: usize,
    /// Each printed step's reward.
    pub rewards: Vec<f64>,
}

/// A reward or score the server sent (`None`: missing), as the runner prints it: an
/// original task's clamped to [0.05, 0.95] (as the original's inference script prints
/// it), a generated incident's as sent (ruleset v1's exact value; 0 when missing).
fn printed(task: Incident, value: Option<f64>) -> f64 {
    match task {
        Incident::Task(_) => match value {
            Some(x) if !x.is_nan() => x.clamp(REWARD_SHOWN_MIN, REWARD_SHOWN_MAX),
            _ => REWARD_SHOWN_MIN,
        },
        Incident::Generated(..) => value.filter(|x| x.is_finite()).unwrap_or(0.0),
    }
}

/// The environment a task runs against: the mirror, plus the server when remote.
struct Backend<'a> {
    mirror: Session,
    remote: Option<&'a RemoteEnv>,
}

impl Backend<'_> {
    fn reset(&mut self, task: Incident, seed: i64) -> Result<Value, String> {
        let reply = self.mirror.apply(Command::Reset(ResetRequest {
            task,
            seed,
            episode_id: None,
        }));
        match self.remote {
            Some(remote) => remote.reset(task, seed),
            None => Ok(reply.to_value()),
        }
    }

    fn step(&mut self, parsed: ParsedAction, action: &Value) -> Result<Value, String> {
        let reply = self.mirror.apply(Command::Step(parsed));
        match self.remote {
            Some(remote) => remote.step(action),
            None => Ok(reply.to_value()),
        }
    }

    fn state(&self) -> Result<Value, String> {
        match self.remote {
            Some(remote) => remote.state(),
            None => Ok(self.mirror.state_json()),
        }
    }
}

/// The JSON an action is sent as: the raw strings given, nulls left out.
fn action_value(parsed: &ParsedAction) -> Value {
    let mut map = serde_json::Map::new();
    let kind = parsed
        .action
        .kind
        .map_or("unknown", incident_core::ActionType::name);
    map.insert("action_type".into(), kind.into());
    let raw = &parsed.raw;
    for (key, field) in [
        ("service", &raw.service),
        ("diagnosis", &raw.diagnosis),
        ("fix", &raw.fix),
    ] {
        if let Some(text) = field {
            map.insert(key.into(), text.clone().into());
        }
    }
    Value::Object(map)
}

/// Run one task and print its `[START]`, `[STEP]` and `[END]` lines to `out`; warnings
/// (a remote server that disagrees with the mirror) go to `log`.
///
/// # Errors
/// Only a failure to write to `out` or `log`.
pub fn run_task(
    task: Incident,
    seed: i64,
    model: &str,
    policy: &mut dyn Policy,
    remote: Option<&RemoteEnv>,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> io::Result<TaskSummary> {
    writeln!(
        out,
        "[START] task={} env={} model={model}",
        task.name(),
        incident_api::render::BENCHMARK
    )?;
    let mut backend = Backend {
        mirror: Session::new(),
        remote,
    };
    let mut rewards = Vec::new();
    let outcome = run_steps(task, seed, policy, &mut backend, &mut rewards, out, log);
    let score = match backend.state() {
        Ok(state) => printed(task, state["final_score"].as_f64()),
        Err(error) => {
            writeln!(log, "[runner] reading the final state failed: {error}")?;
            printed(task, None)
        }
    };
    let success = score >= SUCCESS_SCORE_MIN;
    let list: Vec<String> = rewards.iter().map(|r| format!("{r:.3}")).collect();
    writeln!(
        out,
        "[END] success={success} steps={} score={score:.3} rewards={}",
        rewards.len(),
        list.join(",")
    )?;
    outcome?;
    Ok(TaskSummary {
        task_id: task.name(),
        split: split_of(task),
        seed,
        score,
        success,
        steps: rewards.len(),
        rewards,
    })
}

/// The split of a generated incident.
fn split_of(task: Incident) -> Option<&'static str> {
    match task {
        Incident::Generated(_, split) => Some(split.name()),
        Incident::Task(_) => None,
    }
}

/// Reset, then play the task's steps (choose, step, print the `[STEP]` line, remember
/// it for the prompt) until the episode is done or out of steps.
fn run_steps(
    task: Incident,
    seed: i64,
    policy: &mut dyn Policy,
    backend: &mut Backend<'_>,
    rewards: &mut Vec<f64>,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> io::Result<()> {
    policy.begin_task(task);
    let mut response = match backend.reset(task, seed) {
        Ok(response) => response,
        Err(error) => {
            writeln!(log, "[runner] reset failed: {error}")?;
            return Ok(());
        }
    };
    let mut taken: Vec<Taken> = Vec::new();
    let mut last_unknown = String::new();
    for step in 1..=task.scenario(seed).max_steps {
        if response["done"].as_bool() == Some(true) {
            break;
        }
        let state = backend.state().unwrap_or(Value::Null);
        let parsed = policy.choose(&View {
            mirror: backend.mirror.env(),
            last_unknown: &last_unknown,
            state: &state,
            observation: &response["observation"],
            taken: &taken,
        });
        let action = action_value(&parsed);
        let label = step_label(&action, &parsed);
        last_unknown = parsed.raw.service.clone().unwrap_or_default();
        let service = last_unknown.clone();
        response = match backend.step(parsed, &action) {
            Ok(response) => response,
            Err(error) => return failed_step(task, step, &label, &error, rewards, out),
        };
        let reward = printed(task, response["reward"].as_f64());
        check_mirror(backend, reward, step, log)?;
        let done = response["done"].as_bool().unwrap_or(false);
        let error = last_action_error(backend);
        rewards.push(reward);
        writeln!(
            out,
            "[STEP] step={step} action={label} reward={reward:.3} done={done} error={error}"
        )?;
        taken.push(Taken {
            action_type: action_type_name(&action),
            service,
            reward,
            result: action_result(&response),
        });
        if done {
            break;
        }
    }
    Ok(())
}

/// A step's `action=` label: the action type and the service as given, `read_logs(api)`.
fn step_label(action: &Value, parsed: &ParsedAction) -> String {
    format!(
        "{}({})",
        action["action_type"].as_str().unwrap_or("unknown"),
        parsed.raw.service.as_deref().unwrap_or("")
    )
}

/// Record and print a step the environment did not answer (`error` says why): its
/// reward is what [`printed`] shows for a missing one, and it ends the task.
fn failed_step(
    task: Incident,
    step: u8,
    label: &str,
    error: &str,
    rewards: &mut Vec<f64>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let reward = printed(task, None);
    rewards.push(reward);
    writeln!(
        out,
        "[STEP] step={step} action={label} reward={reward:.3} done=true error={error}"
    )
}

/// A step response's `action_result` (empty when missing).
fn action_result(response: &Value) -> String {
    response["observation"]["action_result"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// The state's `last_action_error` as a `[STEP]` line prints it (`null` when none), or
/// why the state could not be read.
fn last_action_error(backend: &Backend<'_>) -> String {
    match backend.state() {
        Ok(state) => state["last_action_error"]
            .as_str()
            .unwrap_or("null")
            .to_owned(),
        Err(error) => error,
    }
}

fn action_type_name(action: &Value) -> &'static str {
    action["action_type"]
        .as_str()
        .and_then(incident_core::ActionType::from_name)
        .map_or("unknown", incident_core::ActionType::name)
}

/// Warn when a remote server's reward differs from the mirror's (another
/// implementation, or a server shared with another client).
fn check_mirror(
    backend: &Backend<'_>,
    reward: f64,
    step: u8,
    log: &mut dyn Write,
) -> io::Result<()> {
    if backend.remote.is_none() {
        return Ok(());
    }
    let emitted = backend.mirror.last_response()["reward"]
        .as_f64()
        .unwrap_or(REWARD_SHOWN_MIN);
    if (emitted - reward).abs() > 1e-9 {
        writeln!(
            log,
            "[runner] warning: step {step}: the server's reward {reward:.3} differs from the \
             local replay's {emitted:.3}; the baseline may see a different episode"
        )?;
    }
    Ok(())
}
