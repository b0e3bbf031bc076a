//! The LLM policy: ask an OpenAI-compatible chat-completions endpoint for each action,
//! parse the reply as the original does, and fall back to the baseline on any failure.
//!
//! Unlike the original, the prompt shows only what an agent has observed: the state's
//! `task_id`, `step_count`, `max_steps` and `last_action_error`, the last observation and
//! the steps taken. Never the roots, the required fixes or the affected services.

use std::io::ErrorKind;
use std::time::Duration;

use incident_api::parse::Incident;
use incident_core::{ActionType, Fix, Mode, Service};
use serde_json::{Map, Value, json};

use super::episode::{Policy, Taken, View, baseline_action};
use crate::constants::{
    API_BASE_URL_DEFAULT, LLM_BACKOFF_FIRST, LLM_CONNECT_TIMEOUT, LLM_ERROR_SNIPPET_CHARS,
    LLM_FAILURE_STREAK_MAX, LLM_HISTORY_SHOWN_MAX, LLM_MAX_RETRIES_DEFAULT, LLM_MAX_TOKENS_DEFAULT,
    LLM_REPLY_SNIPPET_CHARS, LLM_RESULT_CHARS_MAX, LLM_TEMPERATURE, LLM_TIMEOUT_SECS_DEFAULT,
    MODEL_DEFAULT,
};
use incident_api::parse::{self, ParsedAction};

/// The environment variables the API key is read from, in order.
pub const KEY_VARIABLES: [&str; 3] = ["HF_TOKEN", "API_KEY", "OPENAI_API_KEY"];

/// Options of the LLM endpoint.
#[derive(Clone, Debug, clap::Args)]
pub struct LlmArgs {
    /// The model name (`run` prints it in `[START]` for every policy, as the original does).
    #[arg(long, env = "MODEL_NAME", default_value = MODEL_DEFAULT)]
    pub model: String,
    /// The OpenAI-compatible base URL (`/chat/completions` is appended).
    #[arg(long, env = "API_BASE_URL", default_value = API_BASE_URL_DEFAULT)]
    pub api_base_url: String,
    /// The total time one LLM request may take, in seconds.
    #[arg(long, env = "LLM_TIMEOUT_SECS", default_value_t = LLM_TIMEOUT_SECS_DEFAULT)]
    pub llm_timeout_secs: f64,
    /// Retries after a failed LLM request (timeouts, HTTP 429 and 5xx).
    #[arg(long, env = "LLM_MAX_RETRIES", default_value_t = LLM_MAX_RETRIES_DEFAULT)]
    pub llm_max_retries: u32,
    /// The completion budget of one reply, in tokens (`max_tokens`).
    #[arg(long, env = "LLM_MAX_TOKENS", default_value_t = LLM_MAX_TOKENS_DEFAULT,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub llm_max_tokens: u32,
}

/// The LLM endpoint's resolved configuration.
#[derive(Clone)]
pub struct LlmConfig {
    /// The model name.
    pub model: String,
    /// The full chat-completions URL.
    pub url: String,
    /// The bearer key.
    pub key: String,
    /// The total time one request may take.
    pub timeout: Duration,
    /// Retries after a retryable failure.
    pub retries_max: u32,
    /// The completion budget of one reply, in tokens.
    pub max_tokens: u32,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("model", &self.model)
            .field("url", &self.url)
            .field("key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retries_max", &self.retries_max)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

/// Return the API key from the first non-empty of [`KEY_VARIABLES`].
#[must_use]
pub fn key_from_env() -> Option<String> {
    KEY_VARIABLES
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
}

impl LlmArgs {
    /// Resolve the configuration, reading the key from the environment.
    ///
    /// # Errors
    /// No API key, or a timeout that is not a positive number.
    pub fn config(&self) -> Result<LlmConfig, String> {
        let key = key_from_env().ok_or_else(|| {
            format!(
                "--policy llm needs an API key: set {} (or {}), or run with --policy baseline",
                KEY_VARIABLES[0],
                KEY_VARIABLES[1..].join(" / ")
            )
        })?;
        if !(self.llm_timeout_secs.is_finite() && self.llm_timeout_secs > 0.0) {
            return Err(format!(
                "LLM_TIMEOUT_SECS must be a positive number of seconds, got {}",
                self.llm_timeout_secs
            ));
        }
        Ok(LlmConfig {
            model: self.model.clone(),
            url: format!(
                "{}/chat/completions",
                self.api_base_url.trim_end_matches('/')
            ),
            key,
            timeout: Duration::from_secs_f64(self.llm_timeout_secs),
            retries_max: self.llm_max_retries,
            max_tokens: self.llm_max_tokens,
        })
    }
}

/// The system prompt: the SRE instructions and the enum lists.
#[must_use]
pub fn system_prompt() -> String {
    let names = |list: &[&str]| list.join(", ");
    let actions: Vec<&str> = ActionType::ALL.iter().map(|a| a.name()).collect();
    let services: Vec<&str> = Service::ALL.iter().map(|s| s.name()).collect();
    let diagnoses: Vec<&str> = Mode::DIAGNOSES.iter().map(|m| m.name()).collect();
    let fixes: Vec<&str> = Fix::ALL.iter().map(|f| f.name()).collect();
    format!(
        "You are an expert site reliability engineer responding to a production incident in a \
         microservice platform. Alerts often sit on symptom services; the root cause may be \
         further down the dependency chain.\n\
         Work like a careful SRE: read logs and query metrics, inspect dependencies to trace \
         symptoms to their root causes, diagnose each root cause service with its failure \
         mode, apply the matching fix to that service, then verify its health. There may be \
         more than one root cause. Avoid destructive actions: a wrong diagnosis, a wrong fix, \
         a fix on a healthy service or a repeated fix is penalised. Use few steps.\n\
         Reply with one JSON object only, no prose: \
         {{\"action_type\": ..., \"service\": ..., \"diagnosis\": ..., \"fix\": ..., \
         \"reasoning\": ...}}; leave out the keys an action does not use.\n\
         action_type: one of {}.\n\
         service: one of {}.\n\
         diagnosis (for diagnose): one of {}.\n\
         fix (for apply_fix): one of {}.",
        names(&actions),
        names(&services),
        names(&diagnoses),
        names(&fixes),
    )
}

/// Rebuild a JSON value with every object's keys sorted (`json.dumps(sort_keys=True)`).
#[must_use]
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                out.insert(key.clone(), sorted(&map[key]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The public part of `/state` the prompt shows: nothing an agent has not observed.
#[must_use]
pub fn public_state(state: &Value) -> Value {
    sorted(&json!({
        "task_id": state["task_id"],
        "step_count": state["step_count"],
        "max_steps": state["max_steps"],
        "last_action_error": state["last_action_error"],
    }))
}

/// The user prompt: the steps so far, the public state, the observation, the question.
#[must_use]
pub fn user_prompt(state: &Value, observation: &Value, taken: &[Taken]) -> String {
    let mut parts = Vec::new();
    if !taken.is_empty() {
        let start = taken.len().saturating_sub(LLM_HISTORY_SHOWN_MAX);
        let lines: Vec<String> = taken[start..]
            .iter()
            .map(|t| {
                let result: String = t.result.chars().take(LLM_RESULT_CHARS_MAX).collect();
                format!(
                    "{}:{}:reward={:.2}:result={result}",
                    t.action_type, t.service, t.reward
                )
            })
            .collect();
        parts.push(format!("ACTIONS TAKEN SO FAR:\n{}", lines.join("\n")));
    }
    let pretty = serde_json::to_string_pretty(&public_state(state)).unwrap_or_default();
    parts.push(format!("CURRENT STATE:\n{pretty}"));
    let observed = serde_json::to_string(&sorted(observation)).unwrap_or_default();
    parts.push(format!("CURRENT OBSERVATION:\n{observed}"));
    parts.push("What is your next action? Return JSON only.".to_owned());
    parts.join("\n\n")
}

/// Find the action object in a reply: a fenced code block first, then the whole text,
/// then the span from the first `{` to the last `}`.
#[must_use]
pub fn extract_json(text: &str) -> Option<Value> {
    let object = |candidate: &str| match serde_json::from_str::<Value>(candidate.trim()) {
        Ok(value @ Value::Object(_)) => Some(value),
        _ => None,
    };
    for block in fenced_blocks(text) {
        if let Some(value) = object(block) {
            return Some(value);
        }
    }
    if let Some(value) = object(text) {
        return Some(value);
    }
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (start < end).then(|| object(&text[start..=end])).flatten()
}

/// The contents of each ```` ``` ```` fenced block (a `json` tag is dropped).
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(close) = after.find("```") else {
            break;
        };
        let inner = &after[..close];
        let inner = inner
            .strip_prefix("json")
            .or_else(|| inner.strip_prefix("JSON"))
            .unwrap_or(inner);
        blocks.push(inner);
        rest = &after[close + 3..];
    }
    blocks
}

/// Parse a reply into a validated action.
///
/// # Errors
/// No JSON object in the reply, or one [`parse::parse_action`] refuses.
pub fn parse_reply(text: &str) -> Result<ParsedAction, String> {
    let value = extract_json(text).ok_or("no JSON object in the reply")?;
    parse::parse_action(parse::step_action(&value)).map_err(|error| error.message())
}

/// Why a request failed, and whether trying again may help.
#[derive(Debug)]
struct Failure {
    message: String,
    retryable: bool,
}

/// A chat-completions client with timeouts and bounded retries.
#[derive(Clone, Debug)]
pub struct LlmClient {
    config: LlmConfig,
    agent: ureq::Agent,
}

impl LlmClient {
    /// Create a client.
    #[must_use]
    pub fn new(config: LlmConfig) -> LlmClient {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(LLM_CONNECT_TIMEOUT.min(config.timeout)))
            .timeout_global(Some(config.timeout))
            .build()
            .new_agent();
        LlmClient { config, agent }
    }

    /// Ask for a completion of `[system, user]` and return the reply text.
    ///
    /// # Errors
    /// The last failure, described, after the retries are spent (a refused connection or
    /// a 4xx other than 429 is not retried).
    pub fn complete(&self, system: &str, user: &str) -> Result<String, String> {
        let body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": LLM_TEMPERATURE,
            "max_tokens": self.config.max_tokens,
        })
        .to_string();
        let mut backoff = LLM_BACKOFF_FIRST;
        let mut attempt = 0;
        loop {
            match self.attempt(&body) {
                Ok(text) => return Ok(text),
                Err(failure) if failure.retryable && attempt < self.config.retries_max => {
                    attempt += 1;
                    std::thread::sleep(backoff);
                    backoff *= 2;
                }
                Err(failure) => return Err(failure.message),
            }
        }
    }

    fn attempt(&self, body: &str) -> Result<String, Failure> {
        let url = &self.config.url;
        let sent = self
            .agent
            .post(url)
            .header("Authorization", &format!("Bearer {}", self.config.key))
            .header("Content-Type", "application/json")
            .send(body);
        let mut response = sent.map_err(|error| transport_failure(url, &error))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| transport_failure(url, &error))?;
        if !(200..300).contains(&status) {
            let snippet: String = text.chars().take(LLM_ERROR_SNIPPET_CHARS).collect();
            return Err(Failure {
                message: format!("POST {url}: HTTP {status}: {snippet}"),
                retryable: status == 429 || status >= 500,
            });
        }
        let value: Value = serde_json::from_str(&text).map_err(|error| Failure {
            message: format!("POST {url}: the answer is not JSON: {error}"),
            retryable: false,
        })?;
        value["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Failure {
                message: format!("POST {url}: no choices[0].message.content in the answer"),
                retryable: false,
            })
    }
}

fn transport_failure(url: &str, error: &ureq::Error) -> Failure {
    let refused = matches!(error, ureq::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused)
        || matches!(error, ureq::Error::ConnectionFailed);
    let message = match error {
        ureq::Error::Timeout(_) => format!("POST {url}: timed out ({error})"),
        _ if refused => format!("POST {url}: connection refused; is the endpoint up?"),
        _ => format!("POST {url}: {error}"),
    };
    Failure {
        message,
        retryable: !refused && !matches!(error, ureq::Error::BadUri(_)),
    }
}

/// The LLM policy with the baseline as fallback.
#[derive(Debug)]
pub struct LlmPolicy {
    client: LlmClient,
    system: String,
    task: Option<Incident>,
    failure_streak: u32,
    /// How many steps the LLM chose and how many fell back, over the whole run.
    pub counts: (u32, u32),
}

impl LlmPolicy {
    /// Create the policy.
    #[must_use]
    pub fn new(config: LlmConfig) -> LlmPolicy {
        LlmPolicy {
            client: LlmClient::new(config),
            system: system_prompt(),
            task: None,
            failure_streak: 0,
            counts: (0, 0),
        }
    }

    fn ask(&self, view: &View<'_>) -> Result<ParsedAction, String> {
        let user = user_prompt(view.state, view.observation, view.taken);
        let reply = self.client.complete(&self.system, &user)?;
        parse_reply(&reply).map_err(|error| {
            let snippet: String = reply.chars().take(LLM_REPLY_SNIPPET_CHARS).collect();
            format!("unusable reply ({error}): {snippet:?}")
        })
    }
}

impl Policy for LlmPolicy {
    fn begin_task(&mut self, task: Incident) {
        self.task = Some(task);
        self.failure_streak = 0;
    }

    fn choose(&mut self, view: &View<'_>) -> ParsedAction {
        let step = view.taken.len() + 1;
        let task = self.task.map_or("?", Incident::name);
        if self.failure_streak < LLM_FAILURE_STREAK_MAX {
            match self.ask(view) {
                Ok(parsed) => {
                    self.failure_streak = 0;
                    self.counts.0 += 1;
                    return parsed;
                }
                Err(error) => {
                    self.failure_streak += 1;
                    eprintln!("[llm] {task} step {step}: {error}; using the baseline");
                    if self.failure_streak == LLM_FAILURE_STREAK_MAX {
                        eprintln!(
                            "[llm] {task}: {LLM_FAILURE_STREAK_MAX} consecutive failures; \
                             using the baseline for the rest of this task"
                        );
                    }
                }
            }
        }
        self.counts.1 += 1;
        baseline_action(view.mirror, view.last_unknown)
    }

    fn report(&self) -> Option<String> {
        let (model, fallback) = self.counts;
        Some(format!(
            "[llm] the model chose {model} of {} steps; the baseline chose {fallback}",
            model + fallback
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use incident_api::parse::ResetRequest;
    use incident_api::{Command, Session};

    #[test]
    fn prompt_after_reset_on_hard_task_hides_the_answer() {
        // Goal: the prompt shows only observed facts, never the hidden roots or fixes.
        let mut session = Session::new();
        session.apply(Command::Reset(ResetRequest {
            task: Incident::Task(incident_core::TaskId::Hard),
            seed: 12345,
            episode_id: None,
        }));
        let state = session.state_json();
        assert!(
            state.get("root_cause_services").is_some(),
            "unsealed state has the answer"
        );
        let observation = session.last_response()["observation"].clone();
        let user = user_prompt(&state, &observation, &[]);
        for hidden in [
            "root_cause",
            "unresolved_root_services",
            "required_fixes",
            "affected_services",
            "expected",
            "clear_disk",
            "disk_full",
        ] {
            assert!(!user.contains(hidden), "the prompt leaks {hidden}: {user}");
        }
        let state_part = user
            .split("CURRENT STATE:")
            .nth(1)
            .and_then(|rest| rest.split("CURRENT OBSERVATION:").next())
            .unwrap_or_default();
        assert!(!state_part.contains("database"), "{state_part}");
        assert!(user.contains("\"task_id\": \"hard_task\""), "{user}");
        assert!(user.ends_with("What is your next action? Return JSON only."));
        let system = system_prompt();
        assert!(!system.contains("root_cause_services") && !system.contains("required_fixes"));
    }

    #[test]
    fn replies_parse_like_the_original() {
        // Goal: fenced blocks win, then the whole text, then the outermost braces.
        let fenced = "Sure.\n```json\n{\"action_type\": \"read_logs\", \"service\": \"database\"}\n```\n{\"action_type\": \"list_services\"}";
        let parsed = parse_reply(fenced).map(|p| p.raw.service);
        assert_eq!(parsed, Ok(Some("database".to_owned())));
        let whole = "{\"action_type\": \"list_services\"}";
        assert!(parse_reply(whole).is_ok());
        let prose =
            "I think {\"action_type\": \"verify_health\", \"service\": \"api_gateway\"} is best";
        assert_eq!(
            parse_reply(prose).map(|p| p.action.kind),
            Ok(Some(ActionType::VerifyHealth))
        );
        assert!(parse_reply("no idea").is_err());
        assert!(parse_reply("{\"action_type\": \"reboot\"}").is_err());
        assert!(parse_reply("{\"action\": {\"action_type\": \"list_services\"}}").is_ok());
    }

    #[test]
    fn history_shows_the_last_six_steps() {
        // Goal: at most six entries, each `type:service:reward=x.xx:result=<80 chars>`.
        let taken: Vec<Taken> = (0..8)
            .map(|i| Taken {
                action_type: "read_logs",
                service: format!("s{i}"),
                reward: 0.05,
                result: "x".repeat(100),
            })
            .collect();
        let user = user_prompt(&json!({}), &json!({}), &taken);
        assert!(!user.contains(":s1:") && user.contains(":s2:") && user.contains(":s7:"));
        let line = format!("read_logs:s7:reward=0.05:result={}\n", "x".repeat(80));
        assert!(user.contains(&line), "{user}");
    }
}
