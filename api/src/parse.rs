//! Parse request JSON into validated core values ("packet vs representation"): past this
//! module every action and reset request is trusted.
//!
//! The rules follow the original's pydantic models and its loose reset handling
//! (`behaviour.md` §6.1, §11). Where the original answered HTTP 500, we answer 422 with a
//! JSON `{"detail": ...}` that says what is wrong (`design.md`, deliberate differences).

use crate::constants::EPISODE_ID_CHARS_MAX;
use incident_core::constants::{FIELD_CHARS_MAX, REASONING_CHARS_MAX};
use incident_core::{Action, ActionType, Arg, Fix, Mode, Scenario, Service, Split, TaskId, Tier};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value, json};

/// A request the server refuses, with its status and JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status (422 for validation errors).
    pub status: u16,
    /// The JSON body, `{"detail": ...}`.
    pub body: Value,
}

impl ApiError {
    /// A 422 whose detail is a FastAPI-style list with one validation error.
    #[must_use]
    pub fn validation(kind: &str, loc: &[&str], msg: &str, input: Value) -> ApiError {
        ApiError {
            status: 422,
            body: json!({"detail": [{"type": kind, "loc": loc, "msg": msg, "input": input}]}),
        }
    }

    /// A 422 whose detail is a plain sentence.
    #[must_use]
    pub fn detail(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 422,
            body: json!({ "detail": message.into() }),
        }
    }

    /// Return a one-line description (the detail's first message).
    #[must_use]
    pub fn message(&self) -> String {
        match &self.body["detail"] {
            Value::String(text) => text.clone(),
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    let loc = item["loc"]
                        .as_array()
                        .map(|parts| {
                            parts
                                .iter()
                                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    format!("{loc}: {}", item["msg"].as_str().unwrap_or("invalid"))
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
}

impl core::fmt::Display for ApiError {
    /// `HTTP <status>: <message>`, the message as [`ApiError::message`] gives it.
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(formatter, "HTTP {}: {}", self.status, self.message())
    }
}

impl std::error::Error for ApiError {}

/// The strings an agent gave for an action's arguments, kept for display: `/state`'s
/// `action_history` echoes them, and an unknown service is quoted back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawNames {
    /// `service` as given (`None` when absent or null).
    pub service: Option<String>,
    /// `diagnosis` as given.
    pub diagnosis: Option<String>,
    /// `fix` as given.
    pub fix: Option<String>,
}

/// A validated action with the raw strings it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedAction {
    /// The core action.
    pub action: Action,
    /// The strings as given.
    pub raw: RawNames,
}

/// Return the action object of a `/step` body: the value of `"action"` when the body is an
/// object with that key, otherwise the body itself (the original's flat form).
#[must_use]
pub fn step_action(body: &Value) -> &Value {
    match body {
        Value::Object(map) if map.contains_key("action") => &map["action"],
        other => other,
    }
}

fn string_field(
    map: &Map<String, Value>,
    key: &str,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            Ok(checked_text(key, Some(text), max_chars)?.map(str::to_owned))
        }
        Some(other) => Err(ApiError::detail(format!(
            "action.{key} must be a string or null, got {}",
            type_name(other)
        ))),
    }
}

/// The length rule of a string field (both action paths use it).
fn checked_text<'t>(
    key: &str,
    text: Option<&'t str>,
    max_chars: usize,
) -> Result<Option<&'t str>, ApiError> {
    match text {
        Some(text) if text.chars().count() > max_chars => Err(ApiError::detail(format!(
            "action.{key} is {} characters long; the limit is {max_chars}",
            text.chars().count()
        ))),
        other => Ok(other),
    }
}

/// The `action_type` rule (exact case), shared by both action paths.
fn action_type(text: &str) -> Result<ActionType, ApiError> {
    ActionType::from_name(text).ok_or_else(|| {
        ApiError::detail(format!(
            "unknown action_type {text:?}; expected one of: {}",
            ActionType::ALL.map(ActionType::name).join(", ")
        ))
    })
}

/// Build the core action from a validated type and the raw strings.
fn parsed(kind: ActionType, raw: RawNames) -> ParsedAction {
    let action = Action {
        kind: Some(kind),
        service: arg(raw.service.as_ref(), Service::from_name),
        diagnosis: arg(raw.diagnosis.as_ref(), Mode::diagnosis_from_name),
        fix: arg(raw.fix.as_ref(), Fix::from_name),
    };
    ParsedAction { action, raw }
}

fn arg<T>(raw: Option<&String>, parse: impl Fn(&str) -> Option<T>) -> Arg<T> {
    match raw.map(String::as_str) {
        None | Some("") => Arg::Missing,
        Some(text) => parse(text).map_or(Arg::Unknown, Arg::Known),
    }
}

/// Validate an action object as the original's `IncidentAction` model does.
///
/// # Errors
/// A non-object, a missing or unknown `action_type` (exact case), a non-string field or
/// one over its length limit (100 characters; 5000 for `reasoning`).
pub fn parse_action(value: &Value) -> Result<ParsedAction, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::detail(format!(
            "the action must be a JSON object, got {}",
            type_name(value)
        )));
    };
    let kind = match map.get("action_type") {
        Some(Value::String(text)) => action_type(text)?,
        None | Some(Value::Null) => {
            return Err(ApiError::detail("action.action_type is required"));
        }
        Some(other) => {
            return Err(ApiError::detail(format!(
                "action.action_type must be a string, got {}",
                type_name(other)
            )));
        }
    };
    let raw = RawNames {
        service: string_field(map, "service", FIELD_CHARS_MAX)?,
        diagnosis: string_field(map, "diagnosis", FIELD_CHARS_MAX)?,
        fix: string_field(map, "fix", FIELD_CHARS_MAX)?,
    };
    string_field(map, "reasoning", REASONING_CHARS_MAX)?;
    Ok(parsed(kind, raw))
}

/// An action object whose fields are all plain (escape-free) strings or null: what almost
/// every client sends. Unknown keys (an `"action"` wrapper included), duplicate keys,
/// escapes and other types do not fit; such bodies take the [`Value`] path, which alone
/// words the errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainAction<'a> {
    action_type: &'a str,
    #[serde(default, borrow)]
    service: Option<&'a str>,
    #[serde(default, borrow)]
    diagnosis: Option<&'a str>,
    #[serde(default, borrow)]
    fix: Option<&'a str>,
    #[serde(default, borrow)]
    reasoning: Option<&'a str>,
}

/// A `T` that only a JSON object deserializes to (a derived struct also accepts an
/// array of its fields, which the protocol does not).
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Only<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Only(std::marker::PhantomData))
            .map(ObjectOnly)
    }
}

/// A plain action object, deserialized without building a [`Value`].
pub struct FastAction<'a>(PlainAction<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for FastAction<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ObjectOnly::<PlainAction<'a>>::deserialize(deserializer).map(|only| FastAction(only.0))
    }
}

impl FastAction<'_> {
    /// Validate like [`parse_action`]; `None` when [`parse_action`] would refuse it (call
    /// it on the [`Value`] to get the error).
    #[must_use]
    pub fn validate(&self) -> Option<ParsedAction> {
        let plain = &self.0;
        let kind = action_type(plain.action_type).ok()?;
        let field = |key, text| {
            let text = checked_text(key, text, FIELD_CHARS_MAX).ok()?;
            Some(text.map(str::to_owned))
        };
        let raw = RawNames {
            service: field("service", plain.service)?,
            diagnosis: field("diagnosis", plain.diagnosis)?,
            fix: field("fix", plain.fix)?,
        };
        checked_text("reasoning", plain.reasoning, REASONING_CHARS_MAX).ok()?;
        Some(parsed(kind, raw))
    }
}

/// Parse and validate a `/step` body that is one plain action object (see
/// [`FastAction`]); `None` for anything else, which [`parse_action`] then handles.
#[must_use]
pub fn parse_plain_action(bytes: &[u8]) -> Option<ParsedAction> {
    serde_json::from_slice::<FastAction<'_>>(bytes)
        .ok()?
        .validate()
}

/// The incident a reset starts: an original task, or a generated tier and split (the
/// reset seed then indexes the incident within the split).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incident {
    /// One of the four original tasks.
    Task(TaskId),
    /// A generated incident of `tier` in `split`.
    Generated(Tier, Split),
}

impl Default for Incident {
    fn default() -> Incident {
        Incident::Task(TaskId::Easy)
    }
}

impl Incident {
    /// Return the wire id (`easy_task` ... `gen_expert`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Incident::Task(task) => task.name(),
            Incident::Generated(tier, _) => tier.name(),
        }
    }

    /// Check that `seed` may start this incident: any seed for an original task, a
    /// non-negative one (an incident index) for a generated tier ([`parse_reset`] checks
    /// it; so must anything that builds a [`ResetRequest`] itself).
    ///
    /// # Errors
    /// A negative seed for a tier (422, worded by [`NEGATIVE_INCIDENT_SEED`]).
    pub fn check_seed(self, seed: i64) -> Result<(), ApiError> {
        if matches!(self, Incident::Generated(..)) && seed < 0 {
            return Err(ApiError::detail(format!(
                "{NEGATIVE_INCIDENT_SEED}, got {seed}"
            )));
        }
        Ok(())
    }

    /// Return the scenario a reset with `seed` plays: the task's, or generated incident
    /// `seed` of the tier and split ([`parse_reset`] refuses a negative one for a tier).
    #[must_use]
    pub fn scenario(self, seed: i64) -> Scenario {
        match self {
            Incident::Task(task) => Scenario::task(task),
            Incident::Generated(tier, split) => Scenario::generated(seed as u64, tier, split),
        }
    }
}

/// A validated reset request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetRequest {
    /// The incident (unknown or non-string ids fall back to easy, as in the original;
    /// an unknown `gen_*` id is refused).
    pub task: Incident,
    /// The seed.
    pub seed: i64,
    /// The OpenEnv `episode_id`, if one was given (a string of at most 255 characters).
    pub episode_id: Option<String>,
}

impl Default for ResetRequest {
    fn default() -> ResetRequest {
        ResetRequest {
            task: Incident::default(),
            seed: incident_core::env::DEFAULT_SEED,
            episode_id: None,
        }
    }
}

/// The prefix of the generated tiers' ids: an id with it must name a tier.
pub const GENERATED_PREFIX: &str = "gen_";

/// Parse `task_id` and `split`: a generated tier with its split (default `train`), an
/// original task (`split` ignored, as the original ignores unknown keys), or the
/// original's fallback to easy.
fn parse_incident(map: &Map<String, Value>) -> Result<Incident, ApiError> {
    let text = match map.get("task_id") {
        Some(Value::String(text)) => text,
        Some(Value::Array(_) | Value::Object(_)) => {
            return Err(ApiError::detail(
                "task_id must be a string such as \"easy_task\" or \"gen_hard\"",
            ));
        }
        _ => return Ok(Incident::default()),
    };
    let Some(tier) = Tier::from_name(text) else {
        if text.starts_with(GENERATED_PREFIX) {
            return Err(ApiError::detail(format!(
                "unknown generated tier {text:?}; expected one of: {}",
                Tier::EVERY.map(Tier::name).join(", ")
            )));
        }
        return Ok(Incident::Task(
            TaskId::from_name(text).unwrap_or(TaskId::Easy),
        ));
    };
    let split = match map.get("split") {
        None | Some(Value::Null) => Split::Train,
        Some(value) => value.as_str().and_then(Split::from_name).ok_or_else(|| {
            ApiError::detail(format!("split must be \"train\" or \"test\", got {value}"))
        })?,
    };
    Ok(Incident::Generated(tier, split))
}

/// The words every refusal of a negative seed starts with ([`NEGATIVE_SEED`],
/// [`NEGATIVE_INCIDENT_SEED`]).
macro_rules! non_negative_seed {
    () => {
        "seed must be a non-negative integer"
    };
}

/// The refusal of a negative seed where every seed is unsigned, followed by `, got <seed>`:
/// the Python package's batch seeds (`VectorEnv`, `IncidentResponseEnv`), unsigned 64-bit
/// numbers for every task, which the extension exports it for.
pub const NEGATIVE_SEED: &str = non_negative_seed!();

/// The refusal of a negative seed for a generated tier on every interface that resets
/// through this crate (HTTP, WebSocket, MCP, the Python `Session`, the runner) and of a
/// negative incident index in Python's `VectorEnv`, followed by `, got <seed>`. An
/// original task keeps the original's negative seeds.
pub const NEGATIVE_INCIDENT_SEED: &str = concat!(
    non_negative_seed!(),
    " for generated tiers (the incident index)"
);

/// Validate a reset body (`None` for no body at all).
///
/// # Errors
/// A body that is not an object or null; a list- or object-valued `task_id`; a seed that
/// Python's `int()` would not convert, or outside the 64-bit range, or negative for a
/// generated tier ([`NEGATIVE_INCIDENT_SEED`]); a bad `episode_id`.
pub fn parse_reset(body: Option<&Value>) -> Result<ResetRequest, ApiError> {
    let map = match body {
        None | Some(Value::Null) => return Ok(ResetRequest::default()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ApiError::validation(
                "dict_type",
                &["body"],
                "Input should be a valid dictionary",
                other.clone(),
            ));
        }
    };
    let task = parse_incident(map)?;
    let seed = match map.get("seed") {
        None | Some(Value::Null) => incident_core::env::DEFAULT_SEED,
        Some(value) => python_int(value).ok_or_else(|| {
            // A number is refused only past the 64-bit range; serde_json holds a 30-digit
            // integer as an f64, so echoing it would print a float the client never sent.
            let got = match value {
                Value::Number(_) => "a number outside it".to_owned(),
                other => other.to_string(),
            };
            ApiError::detail(format!(
                "seed must be an integer (or a numeric string) within the 64-bit range, got {got}"
            ))
        })?,
    };
    task.check_seed(seed)?;
    let episode_id = match map.get("episode_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= EPISODE_ID_CHARS_MAX => {
            Some(text.clone())
        }
        Some(_) => {
            return Err(ApiError::detail(format!(
                "episode_id must be a string of at most {EPISODE_ID_CHARS_MAX} characters"
            )));
        }
    };
    Ok(ResetRequest {
        task,
        seed,
        episode_id,
    })
}

/// Python's `int(value)` for JSON values, limited to `i64`: integers, floats truncated
/// toward zero, booleans as 0/1, and strings of an optionally signed decimal integer
/// (surrounding whitespace and single underscores between digits allowed).
#[must_use]
pub fn python_int(value: &Value) -> Option<i64> {
    match value {
        Value::Bool(flag) => Some(i64::from(*flag)),
        Value::Number(number) => number.as_i64().or_else(|| {
            let float = number.as_f64()?;
            let truncated = float.trunc();
            // Floats outside the i64 range (or an integer past it) are refused.
            (truncated.is_finite() && truncated.abs() < 9.2e18).then_some(truncated as i64)
        }),
        Value::String(text) => parse_python_int_str(text),
        _ => None,
    }
}

fn parse_python_int_str(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.as_bytes().first()? {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut value: i64 = 0;
    for byte in digits.bytes().filter(|b| *b != b'_') {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(byte - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

/// Return a short name of a JSON value's type for error messages.
#[must_use]
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_is_a_std_error() {
        // Goal: a refusal passes through `?` into `Box<dyn Error>` and prints its status
        // and detail.
        fn refuse() -> Result<(), Box<dyn std::error::Error>> {
            Err(ApiError::detail("unknown action_type \"reboot\""))?;
            Ok(())
        }
        let error = refuse().unwrap_err();
        assert_eq!(
            error.to_string(),
            "HTTP 422: unknown action_type \"reboot\""
        );
        let validation =
            ApiError::validation("missing", &["body", "seed"], "Field required", Value::Null);
        assert_eq!(
            validation.to_string(),
            format!("HTTP 422: {}", validation.message())
        );
    }

    #[test]
    fn seeds_convert_like_python_int() {
        // Goal: the loose seeds the original accepts, and the ones it refuses.
        assert_eq!(python_int(&json!(42)), Some(42));
        assert_eq!(python_int(&json!("42")), Some(42));
        assert_eq!(python_int(&json!(" -7 ")), Some(-7));
        assert_eq!(python_int(&json!("1_000")), Some(1000));
        assert_eq!(python_int(&json!(3.9)), Some(3));
        assert_eq!(python_int(&json!(-3.9)), Some(-3));
        assert_eq!(python_int(&json!(true)), Some(1));
        assert_eq!(python_int(&json!("abc")), None);
        assert_eq!(python_int(&json!("4.2")), None);
        assert_eq!(python_int(&json!("1__0")), None);
        assert_eq!(python_int(&json!([])), None);
        assert_eq!(python_int(&json!(1e300)), None);
        assert_eq!(python_int(&json!("99999999999999999999")), None);
    }

    #[test]
    fn actions_validate_like_the_pydantic_model() {
        // Goal: exact-case types, string fields with limits, unknown names kept raw.
        let parsed = parse_action(&json!({"action_type": "read_logs", "service": "nope"})).unwrap();
        assert_eq!(parsed.action.service, Arg::Unknown);
        assert_eq!(parsed.raw.service.as_deref(), Some("nope"));
        let empty = parse_action(&json!({"action_type": "diagnose", "service": ""})).unwrap();
        assert_eq!(empty.action.service, Arg::Missing);
        assert_eq!(empty.raw.service.as_deref(), Some(""));
        assert!(parse_action(&json!({"action_type": "READ_LOGS"})).is_err());
        assert!(parse_action(&json!({})).is_err());
        assert!(parse_action(&json!("read_logs")).is_err());
        assert!(parse_action(&json!({"action_type": "read_logs", "service": 5})).is_err());
        let long = "x".repeat(101);
        assert!(parse_action(&json!({"action_type": "read_logs", "service": long})).is_err());
        let healthy = parse_action(
            &json!({"action_type": "diagnose", "service": "database", "diagnosis": "healthy"}),
        )
        .unwrap();
        assert_eq!(healthy.action.diagnosis, Arg::Unknown);
    }

    #[test]
    fn reset_bodies_fall_back_like_the_original() {
        // Goal: missing or odd task ids fall back to easy; bad seeds and list ids are refused.
        assert_eq!(parse_reset(None).unwrap(), ResetRequest::default());
        let int_task = parse_reset(Some(&json!({"task_id": 5, "seed": true}))).unwrap();
        assert_eq!(
            (int_task.task, int_task.seed),
            (Incident::Task(TaskId::Easy), 1)
        );
        assert!(parse_reset(Some(&json!({"task_id": ["hard_task"]}))).is_err());
        assert!(parse_reset(Some(&json!({"seed": "abc"}))).is_err());
        // A 30-digit seed is not echoed back as the float serde_json parsed it into.
        let body: Value =
            serde_json::from_str(r#"{"seed": 123456789012345678901234567890}"#).unwrap();
        let huge = parse_reset(Some(&body)).unwrap_err().message();
        assert!(huge.contains("outside") && !huge.contains("e29"), "{huge}");
        let list = parse_reset(Some(&json!([]))).unwrap_err();
        assert_eq!(list.body["detail"][0]["type"], "dict_type");
    }

    #[test]
    fn generated_tiers_take_a_split() {
        // Goal: a tier id with an optional split (train by default); an unknown tier or
        // split is refused with a sentence naming the choices; an original task ignores
        // any split, as the original ignores unknown keys.
        let hard = parse_reset(Some(
            &json!({"task_id": "gen_hard", "seed": 7, "split": "test"}),
        ));
        assert_eq!(
            hard.unwrap().task,
            Incident::Generated(Tier::Hard, Split::Test)
        );
        let train = parse_reset(Some(&json!({"task_id": "gen_easy"}))).unwrap();
        assert_eq!(train.task, Incident::Generated(Tier::Easy, Split::Train));
        let tier = parse_reset(Some(&json!({"task_id": "gen_impossible"}))).unwrap_err();
        assert!(
            tier.message().contains("gen_easy, gen_medium"),
            "{}",
            tier.message()
        );
        for split in [json!("validation"), json!(1), json!(["test"])] {
            let bad = parse_reset(Some(&json!({"task_id": "gen_hard", "split": split})));
            assert!(bad.unwrap_err().message().contains("train"));
        }
        let task = parse_reset(Some(&json!({"task_id": "hard_task", "split": 5})));
        assert_eq!(task.unwrap().task, Incident::Task(TaskId::Hard));
    }
}
