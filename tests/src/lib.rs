//! Shared helpers of the integration tests.
//!
//! - [`trace`]: reads the reference traces recorded from the original Python server
//!   (`tests/reference/*.jsonl`, a copy of `../shared/reference`).
//! - [`adapter`]: the test-side stand-in for the HTTP layer: turns a JSON `/step` or
//!   `/reset` body into core calls, rejecting what the original rejected with 422/500
//!   before the environment is touched.
//! - [`render`]: what the original would have answered, as `serde_json::Value`, built only
//!   from the core's state and its text module; compared against the recorded bodies.
//! - [`assert_json_eq`]: a JSON comparison that names the first differing path and also
//!   checks key order.

use serde_json::Value;

pub mod trace {
    //! The reference traces: one HTTP exchange per JSON line.

    use std::path::{Path, PathBuf};

    use serde_json::Value;

    /// Return the folder of the reference traces (`tests/reference`, a copy of
    /// `../shared/reference` kept in the repository so that a bare clone passes), or panic
    /// with a message saying where it was looked for.
    #[must_use]
    pub fn reference_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference");
        assert!(
            dir.is_dir(),
            "reference traces not found at {} (they are committed in tests/reference)",
            dir.display()
        );
        dir
    }

    /// Return the path of one reference file, or panic if it is missing.
    #[must_use]
    pub fn reference_file(name: &str) -> PathBuf {
        let path = reference_dir().join(name);
        assert!(path.is_file(), "reference file missing: {}", path.display());
        path
    }

    /// Return every `*.jsonl` trace, sorted by name.
    #[must_use]
    pub fn jsonl_files() -> Vec<PathBuf> {
        let dir = reference_dir();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no *.jsonl files in {}", dir.display());
        files
    }

    /// The body of a recorded request.
    #[derive(Clone, Debug, PartialEq)]
    pub enum Body {
        /// No body at all (a GET, or a POST sent without one).
        Absent,
        /// A JSON body (including a raw body that parses as JSON, such as `null`).
        Json(Value),
        /// A body that is not JSON.
        Invalid(String),
    }

    /// One recorded HTTP exchange.
    #[derive(Clone, Debug)]
    pub struct Exchange {
        /// File name, for messages.
        pub file: String,
        /// 1-based position within the file.
        pub seq: u64,
        /// The optional label.
        pub label: Option<String>,
        /// `GET` or `POST`.
        pub method: String,
        /// The request path.
        pub path: String,
        /// The request body.
        pub body: Body,
        /// The response status.
        pub status: u16,
        /// The response body when it was JSON.
        pub json: Option<Value>,
    }

    impl Exchange {
        /// Return a short description for assertion messages.
        #[must_use]
        pub fn context(&self) -> String {
            format!(
                "{} seq {} ({} {}{})",
                self.file,
                self.seq,
                self.method,
                self.path,
                self.label
                    .as_deref()
                    .map(|l| format!(", label {l}"))
                    .unwrap_or_default()
            )
        }

        /// Return the JSON response body, or panic.
        #[must_use]
        pub fn response(&self) -> &Value {
            self.json
                .as_ref()
                .unwrap_or_else(|| panic!("{}: response is not JSON", self.context()))
        }
    }

    /// Read one JSON Lines trace.
    #[must_use]
    pub fn load(path: &Path) -> Vec<Exchange> {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let value: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{file}: bad JSON line: {e}"));
                let request = &value["request"];
                let response = &value["response"];
                let body = if let Some(body) = request.get("body") {
                    Body::Json(body.clone())
                } else if let Some(raw) = request.get("raw_body").and_then(Value::as_str) {
                    serde_json::from_str(raw)
                        .map_or_else(|_| Body::Invalid(raw.to_owned()), Body::Json)
                } else {
                    Body::Absent
                };
                Exchange {
                    file: file.clone(),
                    seq: value["seq"].as_u64().expect("seq"),
                    label: value
                        .get("label")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    method: request["method"].as_str().expect("method").to_owned(),
                    path: request["path"].as_str().expect("path").to_owned(),
                    body,
                    status: u16::try_from(response["status"].as_u64().expect("status"))
                        .expect("status fits u16"),
                    json: response.get("json").cloned(),
                }
            })
            .collect()
    }
}

pub mod adapter {
    //! JSON requests to core calls, with the original's request validation.
    //!
    //! `/step` accepts `{"action": {...}}` or, when there is no `action` key, a flat action.
    //! The original validates the action with pydantic before touching the environment;
    //! anything it rejects (HTTP 422/500) is an `Err` here and leaves the environment as it
    //! was. `/reset` takes an optional object `{task_id?, seed?}`.

    use incident_core::constants::{FIELD_CHARS_MAX, REASONING_CHARS_MAX};
    use incident_core::env::DEFAULT_SEED;
    use incident_core::{Action, ActionType, Arg, Env, Fix, Mode, Service, StepResult, TaskId};
    use serde_json::{Map, Value};

    use crate::trace::Body;

    /// Why a `/step` request is rejected before reaching the environment.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum StepRejection {
        /// No body (422 in the original).
        NoBody,
        /// A body that is not JSON (422).
        InvalidJson,
        /// The body, or its `action`, is not a JSON object (500).
        NotAnObject,
        /// `action_type` is absent or null (500).
        MissingActionType,
        /// `action_type` is not one of the seven exact names, or not a string (500).
        BadActionType,
        /// A field that must be a string (or null) is something else (500).
        NonStringField(&'static str),
        /// A field is longer than the original's limit in characters (500).
        FieldTooLong(&'static str),
    }

    /// Why a `/reset` request is rejected.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ResetRejection {
        /// A body that is not JSON (422).
        InvalidJson,
        /// A JSON body that is not an object or null (422).
        NotAnObject,
        /// A `task_id` Python cannot hash (a list or an object; 500).
        UnhashableTaskId,
        /// A `seed` `int()` cannot convert (500). The original had already switched its
        /// scenario config to `task` when it failed (its partial-reset bug); we change
        /// nothing, which is our deliberate deviation.
        BadSeed {
            /// The task the original half-switched to.
            task: TaskId,
        },
    }

    /// The action fields exactly as sent (absent and `null` are `None`).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct RawAction {
        /// `action_type` (validated).
        pub action_type: String,
        /// `service`.
        pub service: Option<String>,
        /// `diagnosis`.
        pub diagnosis: Option<String>,
        /// `fix`.
        pub fix: Option<String>,
    }

    /// A validated `/step` request.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ParsedAction {
        /// The core action.
        pub action: Action,
        /// The fields as sent, for `action_history` and unknown-name echoes.
        pub raw: RawAction,
    }

    impl ParsedAction {
        /// Return the raw name the original echoes for an unknown service.
        #[must_use]
        pub fn unknown(&self) -> &str {
            self.raw.service.as_deref().unwrap_or("")
        }
    }

    /// Map a field to an argument: absent, `null` or `""` is missing; a name outside the
    /// vocabulary is unknown.
    fn arg<T>(raw: Option<&str>, parse: impl Fn(&str) -> Option<T>) -> Arg<T> {
        match raw {
            None | Some("") => Arg::Missing,
            Some(text) => parse(text).map_or(Arg::Unknown, Arg::Known),
        }
    }

    fn string_field(
        object: &Map<String, Value>,
        name: &'static str,
        max_chars: usize,
    ) -> Result<Option<String>, StepRejection> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.chars().count() > max_chars => {
                Err(StepRejection::FieldTooLong(name))
            }
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(StepRejection::NonStringField(name)),
        }
    }

    /// Validate a `/step` JSON body (wrapped or flat) like the original's pydantic model.
    ///
    /// # Errors
    /// Everything the original answered with 422 or 500.
    pub fn parse_action(body: &Value) -> Result<ParsedAction, StepRejection> {
        let Value::Object(outer) = body else {
            return Err(StepRejection::NotAnObject);
        };
        let action = outer.get("action").unwrap_or(body);
        let Value::Object(object) = action else {
            return Err(StepRejection::NotAnObject);
        };
        let kind = match object.get("action_type") {
            None | Some(Value::Null) => return Err(StepRejection::MissingActionType),
            Some(Value::String(text)) => {
                ActionType::from_name(text).ok_or(StepRejection::BadActionType)?
            }
            Some(_) => return Err(StepRejection::BadActionType),
        };
        let service = string_field(object, "service", FIELD_CHARS_MAX)?;
        let diagnosis = string_field(object, "diagnosis", FIELD_CHARS_MAX)?;
        let fix = string_field(object, "fix", FIELD_CHARS_MAX)?;
        // Validated, then dropped: the original stores the reasoning nowhere.
        string_field(object, "reasoning", REASONING_CHARS_MAX)?;
        let action = Action {
            kind: Some(kind),
            service: arg(service.as_deref(), Service::from_name),
            // `healthy` is a mode but not a diagnosis: unknown.
            diagnosis: arg(diagnosis.as_deref(), Mode::diagnosis_from_name),
            fix: arg(fix.as_deref(), Fix::from_name),
        };
        Ok(ParsedAction {
            action,
            raw: RawAction {
                action_type: kind.name().to_owned(),
                service,
                diagnosis,
                fix,
            },
        })
    }

    /// Validate a recorded `/step` body.
    ///
    /// # Errors
    /// See [`parse_action`]; no body and invalid JSON are rejected too.
    pub fn parse_step_body(body: &Body) -> Result<ParsedAction, StepRejection> {
        match body {
            Body::Absent => Err(StepRejection::NoBody),
            Body::Invalid(_) => Err(StepRejection::InvalidJson),
            Body::Json(value) => parse_action(value),
        }
    }

    /// The outcome of an accepted `/step`.
    #[derive(Clone, Debug)]
    pub struct Stepped {
        /// The core's step result.
        pub result: StepResult,
        /// The request as parsed.
        pub parsed: ParsedAction,
    }

    /// Validate a `/step` body and, only if it is accepted, apply it to `env`.
    ///
    /// # Errors
    /// The rejection; `env` is untouched.
    pub fn apply_step(env: &mut Env, body: &Body) -> Result<Stepped, StepRejection> {
        let parsed = parse_step_body(body)?;
        let result = env.step(parsed.action);
        Ok(Stepped { result, parsed })
    }

    /// Python's `int()` of a string: surrounding whitespace, an optional sign, ASCII digits
    /// with single underscores between them. Values outside `i64` are rejected (we store
    /// seeds as `i64`; the original's are unbounded).
    #[must_use]
    pub fn python_int_of_str(text: &str) -> Option<i64> {
        let text = text.trim();
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let bytes = digits.as_bytes();
        let well_formed = !bytes.is_empty()
            && bytes.first().is_some_and(u8::is_ascii_digit)
            && bytes.last().is_some_and(u8::is_ascii_digit)
            && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
            && !digits.contains("__");
        if !well_formed {
            return None;
        }
        let clean: String = digits.chars().filter(|c| *c != '_').collect();
        let magnitude: i128 = clean.parse().ok()?;
        i64::try_from(if negative { -magnitude } else { magnitude }).ok()
    }

    /// Python's `int()` of a JSON seed: integers as they are, floats truncated toward zero,
    /// booleans 0/1, numeric strings parsed; anything else fails.
    #[must_use]
    pub fn python_int(value: &Value) -> Option<i64> {
        match value {
            Value::Bool(flag) => Some(i64::from(*flag)),
            Value::Number(number) => {
                if let Some(int) = number.as_i64() {
                    Some(int)
                } else if number.is_u64() {
                    None
                } else {
                    let float = number.as_f64()?.trunc();
                    // -2^63 is exact; 2^63 is the first float out of range.
                    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
                    (float.is_finite() && (-LIMIT..LIMIT).contains(&float)).then_some(float as i64)
                }
            }
            Value::String(text) => python_int_of_str(text),
            _ => None,
        }
    }

    /// A validated `/reset` request.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ResetRequest {
        /// The task (unknown or non-string ids fall back to easy).
        pub task: TaskId,
        /// The seed (12345 when absent or null).
        pub seed: i64,
    }

    /// Validate a recorded `/reset` body.
    ///
    /// # Errors
    /// What the original answered with 422 or 500.
    pub fn parse_reset_body(body: &Body) -> Result<ResetRequest, ResetRejection> {
        let object = match body {
            Body::Absent | Body::Json(Value::Null) => {
                return Ok(ResetRequest {
                    task: TaskId::Easy,
                    seed: DEFAULT_SEED,
                });
            }
            Body::Invalid(_) => return Err(ResetRejection::InvalidJson),
            Body::Json(Value::Object(object)) => object,
            Body::Json(_) => return Err(ResetRejection::NotAnObject),
        };
        let task = match object.get("task_id") {
            Some(Value::Array(_) | Value::Object(_)) => {
                return Err(ResetRejection::UnhashableTaskId);
            }
            Some(Value::String(name)) => TaskId::from_name(name).unwrap_or(TaskId::Easy),
            _ => TaskId::Easy,
        };
        let seed = match object.get("seed") {
            None | Some(Value::Null) => DEFAULT_SEED,
            Some(value) => python_int(value).ok_or(ResetRejection::BadSeed { task })?,
        };
        Ok(ResetRequest { task, seed })
    }

    /// Validate a `/reset` body and, only if it is accepted, reset `env`.
    ///
    /// # Errors
    /// The rejection; `env` is untouched.
    pub fn apply_reset(env: &mut Env, body: &Body) -> Result<ResetRequest, ResetRejection> {
        let request = parse_reset_body(body)?;
        env.reset(request.task, request.seed);
        Ok(request)
    }
}

pub mod render {
    //! The original's JSON answers, rendered from the core's state.

    use incident_core::baseline::Choice;
    use incident_core::env::{ErrorCode, Milli, Outcome};
    use incident_core::grader::Grade;
    use incident_core::record::{Inspected, Lists};
    use incident_core::text::{self, ActionResult, METRICS, Message, Timestamp};
    use incident_core::topology::{DEPENDS_ON, services};
    use incident_core::{ActionType, Env, Service, StepResult, TaskId};
    use serde_json::{Map, Value, json};

    use crate::adapter::RawAction;

    /// Thousandths as the float the original prints.
    #[must_use]
    pub fn milli(value: impl Into<i64>) -> Value {
        json!(value.into() as f64 / 1000.0)
    }

    /// Thousandths clamped into [0.05, 0.95], as `/state` and `info` show them.
    #[must_use]
    pub fn clamped(value: Milli) -> Value {
        milli(value.clamp(50, 950))
    }

    fn names(list: impl IntoIterator<Item = Service>) -> Value {
        list.into_iter().map(|s| json!(s.name())).collect()
    }

    /// The `active_alerts` of `task` at `seed`, shown until the episode is resolved.
    #[must_use]
    pub fn alerts(task: TaskId, seed: i64) -> Value {
        let at = Timestamp::base(seed).to_string();
        task.task()
            .alerts
            .iter()
            .map(|a| {
                json!({
                    "severity": a.severity.name(),
                    "service": a.service.name(),
                    "title": a.title,
                    "description": a.description,
                    "triggered_at": at,
                    "runbook_hint": a.runbook_hint,
                })
            })
            .collect()
    }

    fn graph_entry(map: &mut Map<String, Value>, service: Service) {
        map.insert(
            service.name().to_owned(),
            names(services(DEPENDS_ON[service as usize])),
        );
    }

    /// The `dependency_graph` of the observation.
    #[must_use]
    pub fn dependency_graph(env: &Env) -> Value {
        let inspected = Lists::of(env).dependencies_inspected;
        let mut map = Map::new();
        if inspected.contains(&Inspected::Full) {
            Service::ALL
                .into_iter()
                .for_each(|s| graph_entry(&mut map, s));
        } else {
            for entry in inspected {
                if let Inspected::Service(s) = entry {
                    graph_entry(&mut map, s);
                }
            }
        }
        Value::Object(map)
    }

    /// The four log lines of a `read_logs` of `service` in `mode` at the env's current step.
    #[must_use]
    pub fn logs(env: &Env, service: Service, mode: incident_core::Mode) -> Value {
        text::log_events(env.seed(), service, mode, env.step_count())
            .iter()
            .map(|event| {
                json!({
                    "timestamp": event.timestamp.to_string(),
                    "level": event.level,
                    "service": event.service.name(),
                    "message": event.message,
                    "trace_id": event.trace_id().to_string(),
                })
            })
            .collect()
    }

    /// The metrics object of a `query_metrics`.
    #[must_use]
    pub fn metrics(
        service: Service,
        mode: incident_core::Mode,
        status: incident_core::Status,
    ) -> Value {
        let m = &METRICS[mode as usize];
        json!({
            "service_name": service.name(),
            "cpu_percent": m.cpu_percent,
            "memory_mb": m.memory_mb,
            "memory_limit_mb": m.memory_limit_mb,
            "request_latency_p50_ms": m.request_latency_p50_ms,
            "request_latency_p99_ms": m.request_latency_p99_ms,
            "error_rate_percent": m.error_rate_percent,
            "active_connections": m.active_connections,
            "connection_pool_size": m.connection_pool_size,
            "disk_used_gb": m.disk_used_gb,
            "disk_total_gb": m.disk_total_gb,
            "status": status.name(),
            "uptime_seconds": m.uptime_seconds,
        })
    }

    /// The HTTP `observation` after a step with `outcome` (`unknown`: the raw name echoed).
    #[must_use]
    pub fn observation(env: &Env, outcome: Outcome, unknown: &str) -> Value {
        let (logs, metrics) = match outcome {
            Outcome::LogsRead { service, mode } => (logs(env, service, mode), Value::Null),
            Outcome::MetricsRead {
                service,
                mode,
                status,
            } => (json!([]), metrics(service, mode, status)),
            _ => (json!([]), Value::Null),
        };
        let summaries: Value = Service::ALL
            .into_iter()
            .map(|s| {
                json!({
                    "service_name": s.name(),
                    "status": env.status(s).name(),
                    "depends_on": names(services(DEPENDS_ON[s as usize])),
                })
            })
            .collect();
        let active_alerts = if env.is_resolved() {
            json!([])
        } else {
            alerts(original(env), env.seed())
        };
        json!({
            "action_result": ActionResult { outcome, unknown }.to_string(),
            "success": outcome.success(),
            "message": Message { outcome }.to_string(),
            "logs": logs,
            "metrics": metrics,
            "service_summaries": summaries,
            "active_alerts": active_alerts,
            "dependency_graph": dependency_graph(env),
            "step_number": env.step_count(),
            "max_steps": original(env).task().max_steps,
            "steps_remaining": env.steps_remaining(),
            "available_services": names(Service::ALL),
            "available_actions": ActionType::ALL.iter().map(|a| json!(a.name())).collect::<Value>(),
        })
    }

    /// The original task `env` plays (this renderer covers only those).
    ///
    /// # Panics
    /// On a generated incident.
    #[must_use]
    pub fn original(env: &Env) -> TaskId {
        env.task_id()
            .expect("the reference renderer covers the original tasks")
    }

    /// The `details` object of a grade.
    #[must_use]
    pub fn details(grade: &Grade) -> Value {
        let mut map = Map::new();
        for (key, value) in grade.details() {
            map.insert(key.to_owned(), milli(value));
        }
        Value::Object(map)
    }

    fn error(code: Option<ErrorCode>) -> Value {
        code.map_or(Value::Null, |c| json!(c.name()))
    }

    /// The whole `/step` response after `result`.
    #[must_use]
    pub fn step_response(env: &Env, result: &StepResult, unknown: &str) -> Value {
        let mut info = json!({
            "task_id": original(env).name(),
            "last_action_error": error(result.outcome.error()),
            "trajectory_reward": clamped(env.trajectory_milli()),
        });
        if let (Some(grade), false) = (env.final_grade(), result.outcome == Outcome::AlreadyDone) {
            info["grader_score"] = milli(grade.score);
            info["grader_details"] = details(&grade);
        }
        json!({
            "observation": observation(env, result.outcome, unknown),
            "reward": clamped(result.reward_milli),
            "done": result.done,
            "info": info,
        })
    }

    /// The whole `/reset` response.
    #[must_use]
    pub fn reset_response(env: &Env) -> Value {
        json!({
            "observation": observation(env, Outcome::Reset, ""),
            "reward": 0.05,
            "done": false,
            "info": {
                "task_id": original(env).name(),
                "last_action_error": null,
                "trajectory_reward": clamped(env.trajectory_milli()),
            },
        })
    }

    /// The live `/grader` response.
    #[must_use]
    pub fn grader_response(env: &Env) -> Value {
        let grade = env.grade();
        json!({
            "task_id": original(env).name(),
            "score": milli(grade.score),
            "details": details(&grade),
        })
    }

    fn raw_field(value: &Option<String>) -> Value {
        value.as_ref().map_or(Value::Null, |text| json!(text))
    }

    /// The `/state` response, except `episode_id` (random in the original), which is
    /// rendered as `null`. `raw` holds the requests as sent, one per history record.
    ///
    /// # Panics
    /// If `raw` and the history disagree in length.
    #[must_use]
    pub fn state(env: &Env, raw: &[RawAction]) -> Value {
        let task = original(env).task();
        let lists = Lists::of(env);
        assert_eq!(
            raw.len(),
            env.history().len(),
            "one raw request per history record"
        );
        let inspected: Value = lists
            .dependencies_inspected
            .iter()
            .map(|entry| match entry {
                Inspected::Service(s) => json!(s.name()),
                Inspected::Full => json!("full"),
            })
            .collect();
        let diagnoses: Value = lists
            .diagnoses
            .iter()
            .map(|d| {
                json!({
                    "service": d.service.name(),
                    "diagnosis": d.diagnosis.name(),
                    "expected": d.expected.name(),
                    "correct": d.correct,
                })
            })
            .collect();
        let fixes: Value = lists
            .fixes_applied
            .iter()
            .map(|f| {
                let mut record = json!({
                    "service": f.service.name(),
                    "fix": f.fix.name(),
                    "success": f.success,
                });
                if !f.success {
                    record["destructive"] = json!(true);
                }
                record
            })
            .collect();
        let history: Value = env
            .history()
            .iter()
            .zip(raw)
            .enumerate()
            .map(|(index, (record, raw))| {
                json!({
                    "step": index + 1,
                    "action_type": raw.action_type,
                    "service": raw_field(&raw.service),
                    "diagnosis": raw_field(&raw.diagnosis),
                    "fix": raw_field(&raw.fix),
                    "reward": milli(record.reward_milli),
                    "success": record.success,
                })
            })
            .collect();
        let mut required = Map::new();
        for root in task.roots {
            required.insert(root.service.name().to_owned(), json!(root.fix.name()));
        }
        let counters = env.counters();
        let trajectory = env.trajectory_milli();
        json!({
            "episode_id": null,
            "step_count": env.step_count(),
            "task_id": task.id,
            "difficulty": task.difficulty,
            "max_steps": task.max_steps,
            "is_resolved": env.is_resolved(),
            "done": env.is_done(),
            "seed": env.seed(),
            "trajectory_reward": clamped(if trajectory == 0 { 50 } else { trajectory }),
            "final_score": env.final_grade().map_or(json!(0.05), |g| milli(g.score)),
            "final_details": env.final_grade().map_or(json!({}), |g| details(&g)),
            "services_investigated": names(lists.services_investigated.iter().copied()),
            "dependencies_inspected": inspected,
            "metrics_queried": names(lists.metrics_queried.iter().copied()),
            "diagnoses": diagnoses,
            "fixes_applied": fixes,
            "correct_fixes": names(lists.correct_fixes.iter().copied()),
            "successful_verifications": names(lists.successful_verifications.iter().copied()),
            "destructive_actions": counters.destructive_actions,
            "invalid_actions": counters.invalid_actions,
            "diagnosis_correct_count": counters.diagnosis_correct_count,
            "fix_correct_count": counters.fix_correct_count,
            "root_cause_services": names(task.roots.iter().map(|r| r.service)),
            "root_cause_failure_modes": task.roots.iter().map(|r| json!(r.mode.name())).collect::<Value>(),
            "required_fixes": required,
            "affected_services": names(task.symptoms.iter().map(|s| s.service)),
            "action_history": history,
            "last_action_error": error(env.last_error()),
        })
    }

    /// The `/baseline` answer for a choice: no nulls, key order action_type, service,
    /// diagnosis, fix, reasoning.
    #[must_use]
    pub fn choice(choice: &Choice) -> Value {
        let action = choice.action;
        let mut map = Map::new();
        let kind = action
            .kind
            .expect("the baseline only picks the seven action types");
        map.insert("action_type".into(), json!(kind.name()));
        if let Some(service) = action.service.known() {
            map.insert("service".into(), json!(service.name()));
        }
        if let Some(diagnosis) = action.diagnosis.known() {
            map.insert("diagnosis".into(), json!(diagnosis.name()));
        }
        if let Some(fix) = action.fix.known() {
            map.insert("fix".into(), json!(fix.name()));
        }
        map.insert("reasoning".into(), json!(choice.reasoning().to_string()));
        Value::Object(map)
    }
}

/// Find the first difference between two JSON values, object key order included, and
/// return its path and a description.
#[must_use]
pub fn json_diff(expected: &Value, actual: &Value) -> Option<(String, String)> {
    fn walk(path: &mut String, expected: &Value, actual: &Value) -> Option<(String, String)> {
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => {
                let ek: Vec<&String> = e.keys().collect();
                let ak: Vec<&String> = a.keys().collect();
                for (key, ev) in e {
                    let Some(av) = a.get(key) else {
                        return Some((format!("{path}.{key}"), "missing in actual".into()));
                    };
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    let found = walk(path, ev, av);
                    path.truncate(len);
                    if found.is_some() {
                        return found;
                    }
                }
                if ek != ak {
                    return Some((
                        path.clone(),
                        format!("keys differ (or their order): expected {ek:?}, actual {ak:?}"),
                    ));
                }
                None
            }
            (Value::Array(e), Value::Array(a)) => {
                for (index, (ev, av)) in e.iter().zip(a).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    let found = walk(path, ev, av);
                    path.truncate(len);
                    if found.is_some() {
                        return found;
                    }
                }
                (e.len() != a.len()).then(|| {
                    (
                        path.clone(),
                        format!("length: expected {}, actual {}", e.len(), a.len()),
                    )
                })
            }
            _ => (expected != actual).then(|| {
                (
                    path.clone(),
                    format!("expected {expected}, actual {actual}"),
                )
            }),
        }
    }
    walk(&mut String::from("$"), expected, actual)
}

/// Assert two JSON values are equal, key order included, naming the first difference.
///
/// # Panics
/// If they differ.
pub fn assert_json_eq(context: &str, expected: &Value, actual: &Value) {
    if let Some((path, what)) = json_diff(expected, actual) {
        panic!("{context}: JSON differs at {path}: {what}");
    }
}

/// The README's Rust snippets, compiled and run as doctests (`cargo test -p incident-tests
/// --doc`, part of `cargo test --workspace`) so that they cannot rot.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct Readme;

/// The Rust snippets of `docs/tiers.md`, doctests like the README's.
#[doc = include_str!("../../docs/tiers.md")]
#[cfg(doctest)]
pub struct TiersPage;

/// Helpers of the core's episode tests (`core_generated`, `core_graph`).
pub mod episode {
    use incident_core::{Env, OBS_LEN, obs};

    /// Return the numeric observation of `env`.
    #[must_use]
    pub fn observation(env: &Env) -> [u8; OBS_LEN] {
        let mut out = [0; OBS_LEN];
        obs::encode(env, &mut out);
        out
    }

    /// Return the final score of an ended episode as a fraction (0 before it ends).
    #[must_use]
    pub fn score(env: &Env) -> f64 {
        incident_core::constants::milli_to_f64(env.final_grade().map_or(0, |g| g.score.into()))
    }
}

/// A WebSocket upgrade written by hand, for the tests that hold sockets the way a client
/// library would not (unread refusals, raw frames): `ws_sessions` and the host's `abuse`.
pub mod raw_ws {
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// How long the answer's head may take.
    pub const HEAD_WAIT: Duration = Duration::from_secs(10);

    /// Send a `/ws` upgrade over a new connection to `addr` and return the answer's status
    /// with the socket, read only up to the end of the head (so a refusal in progress
    /// stays in progress and a 101's frames are left for the caller).
    ///
    /// # Panics
    /// If the connection fails, or the head is cut or takes longer than [`HEAD_WAIT`].
    pub async fn upgrade(addr: SocketAddr) -> (u16, TcpStream) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the upgrade");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let read = tokio::time::timeout(HEAD_WAIT, stream.read(&mut byte)).await;
            assert_eq!(
                read.expect("an answer in time").expect("read"),
                1,
                "answer cut"
            );
            head.push(byte[0]);
        }
        let status = String::from_utf8_lossy(head.get(9..12).unwrap_or_default())
            .parse()
            .expect("a status line");
        (status, stream)
    }

    /// Open a WebSocket session by hand and return the raw stream after its 101.
    ///
    /// # Panics
    /// As [`upgrade`], or if the answer is not a 101.
    pub async fn open(addr: SocketAddr) -> TcpStream {
        let (status, stream) = upgrade(addr).await;
        assert_eq!(status, 101, "the upgrade was refused");
        stream
    }
}
