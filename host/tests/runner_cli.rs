//! End-to-end tests of `incident-env run` and `incident-env eval`: the baseline's output
//! against the reference, the LLM policy against a fake OpenAI-compatible server on
//! `127.0.0.1:0` (good, fenced, garbage, failing, hanging and dead endpoints), the
//! missing-key error, and `--env-url` against the real server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use incident_core::{Action, Env, Fix, Mode, Service, TaskId};
use serde_json::{Value, json};

const MODEL: &str = "test/model-7b";
const KEY: &str = "test-key-123";

fn reference() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/reference/inference-stdout-fallback.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The reference lines of one task (its `[START]` through its `[END]`).
fn reference_task(task: &str) -> String {
    let text = reference();
    let start = text
        .find(&format!("[START] task={task} "))
        .expect("task in reference");
    let end = start + text[start..].find("[END]").expect("end line");
    let end = end + text[end..].find('\n').map_or(text.len() - end, |n| n + 1);
    text[start..end].to_owned()
}

/// `text` with the `[START]` lines naming the fake endpoint's model.
fn as_model(text: &str) -> String {
    text.replace("model=Qwen/Qwen2.5-72B-Instruct", &format!("model={MODEL}"))
}

/// A command for the binary with a clean environment for the runner's variables.
fn incident_env() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_incident-env"));
    for name in [
        "HF_TOKEN",
        "API_KEY",
        "OPENAI_API_KEY",
        "API_BASE_URL",
        "MODEL_NAME",
        "ENV_URL",
        "LLM_TIMEOUT_SECS",
        "LLM_MAX_RETRIES",
        "LLM_MAX_TOKENS",
    ] {
        command.env_remove(name);
    }
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Assert that the run's stderr contains `text`.
fn assert_logged(output: &Output, text: &str) {
    let log = stderr(output);
    assert!(log.contains(text), "{log}");
}

/// What the fake endpoint does with a request.
#[derive(Clone, Copy, Debug)]
enum Script {
    /// Answer the optimal action as plain JSON.
    Optimal,
    /// Answer the optimal action in a fenced block with prose around it.
    Fenced,
    /// Answer prose with no JSON.
    Garbage,
    /// Answer HTTP 500.
    ServerError,
    /// Never answer.
    Hang,
}

/// A fake OpenAI-compatible server: checks every request's shape and answers per script.
struct FakeLlm {
    base_url: String,
    requests: Arc<AtomicUsize>,
    problems: Arc<Mutex<Vec<String>>>,
}

/// The optimal action sequence of each task (behaviour.md §3: read the root's logs,
/// diagnose it, apply its fix, verify it; for each root).
fn optimal(task: TaskId) -> Vec<Value> {
    let roots: &[(&str, &str, &str)] = match task {
        TaskId::Easy => &[("api_gateway", "service_crash", "restart_service")],
        TaskId::Medium => &[("order_service", "memory_leak", "memory_fix")],
        TaskId::Hard => &[("database", "disk_full", "clear_disk")],
        TaskId::Expert => &[
            ("database", "disk_full", "clear_disk"),
            (
                "payment_service",
                "connection_pool_exhaustion",
                "drain_connections",
            ),
        ],
    };
    roots
        .iter()
        .flat_map(|(service, diagnosis, fix)| {
            [
                json!({"action_type": "read_logs", "service": service}),
                json!({"action_type": "diagnose", "service": service, "diagnosis": diagnosis,
                       "reasoning": "the logs point here"}),
                json!({"action_type": "apply_fix", "service": service, "fix": fix}),
                json!({"action_type": "verify_health", "service": service}),
            ]
        })
        .collect()
}

/// The grader's score for the optimal sequence, replayed on the core.
fn optimal_score(task: TaskId) -> f64 {
    let mut env = Env::new(task, 12345, 0);
    for action in optimal(task) {
        let service = Service::from_name(action["service"].as_str().unwrap_or("")).unwrap();
        let kind =
            incident_core::ActionType::from_name(action["action_type"].as_str().unwrap()).unwrap();
        let core = match (action["diagnosis"].as_str(), action["fix"].as_str()) {
            (Some(d), _) => Action::diagnose(service, Mode::diagnosis_from_name(d).unwrap()),
            (_, Some(f)) => Action::apply_fix(service, Fix::from_name(f).unwrap()),
            _ => Action::on(kind, service),
        };
        env.step(core);
    }
    assert!(env.is_done() && env.is_resolved());
    f64::from(env.final_grade().unwrap().score) / 1000.0
}

/// A request's path, lowercased header names with values, and body.
type Request = (String, Vec<(String, String)>, Vec<u8>);

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, headers, body))
}

/// Check one request's shape (`max_tokens` the completion budget asked for); return the
/// problems found.
fn check_request(
    path: &str,
    headers: &[(String, String)],
    body: &Value,
    max_tokens: u32,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: &str| {
        if !ok {
            problems.push(format!("{what}: {body}"));
        }
    };
    expect(path == "/v1/chat/completions", "path");
    let auth = headers.iter().find(|(name, _)| name == "authorization");
    expect(
        auth.map(|(_, v)| v.as_str()) == Some(&format!("Bearer {KEY}")),
        "bearer key",
    );
    expect(body["model"] == MODEL, "model");
    expect(body["temperature"] == 0.1, "temperature");
    expect(body["max_tokens"] == max_tokens, "max_tokens");
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["role"].as_str()).collect())
        .unwrap_or_default();
    expect(roles == ["system", "user"], "roles");
    let user = body["messages"][1]["content"].as_str().unwrap_or("");
    expect(user.contains("CURRENT STATE:"), "state section");
    expect(!user.contains("root_cause"), "no answer in the prompt");
    problems
}

/// The task and step count the prompt shows.
fn prompt_position(body: &Value) -> (TaskId, usize) {
    let user = body["messages"][1]["content"].as_str().unwrap_or("");
    let state_text = user
        .split("CURRENT STATE:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or("{}");
    let state: Value = serde_json::from_str(state_text).unwrap_or(Value::Null);
    let task = TaskId::from_name(state["task_id"].as_str().unwrap_or("")).unwrap_or_default();
    let step = state["step_count"].as_u64().unwrap_or(0) as usize;
    (task, step)
}

fn answer(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = if status == 200 {
        "OK"
    } else {
        "Internal Server Error"
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn serve(mut stream: TcpStream, script: Script, max_tokens: u32, problems: &Mutex<Vec<String>>) {
    let Some((path, headers, raw)) = read_request(&mut stream) else {
        return;
    };
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    problems
        .lock()
        .unwrap()
        .extend(check_request(&path, &headers, &body, max_tokens));
    let (task, step) = prompt_position(&body);
    let action = optimal(task).get(step).cloned().unwrap_or(Value::Null);
    let content = match script {
        Script::Optimal => action.to_string(),
        Script::Fenced => format!("Let me think.\n```json\n{action:#}\n```\nDone."),
        Script::Garbage => "I would restart everything, honestly.".to_owned(),
        Script::ServerError => {
            answer(&mut stream, 500, r#"{"error":"overloaded"}"#);
            return;
        }
        Script::Hang => {
            std::thread::sleep(Duration::from_secs(20));
            return;
        }
    };
    let reply =
        json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]});
    answer(&mut stream, 200, &reply.to_string());
}

impl FakeLlm {
    fn start(script: Script) -> FakeLlm {
        FakeLlm::expecting(script, incident_host::constants::LLM_MAX_TOKENS_DEFAULT)
    }

    /// Start a fake endpoint that expects `max_tokens` in every request.
    fn expecting(script: Script, max_tokens: u32) -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let problems = Arc::new(Mutex::new(Vec::new()));
        let (count, found) = (requests.clone(), problems.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let found = found.clone();
                std::thread::spawn(move || serve(stream, script, max_tokens, &found));
            }
        });
        FakeLlm {
            base_url,
            requests,
            problems,
        }
    }

    fn run(&self, extra: &[&str], envs: &[(&str, &str)]) -> (Output, Duration) {
        let mut command = incident_env();
        command
            .args(["run", "--policy", "llm"])
            .args(extra)
            .env("API_BASE_URL", &self.base_url)
            .env("MODEL_NAME", MODEL)
            .env("HF_TOKEN", KEY);
        for (name, value) in envs {
            command.env(name, value);
        }
        let started = Instant::now();
        let output = command.output().unwrap();
        (output, started.elapsed())
    }

    fn assert_clean(&self) {
        let problems = self.problems.lock().unwrap();
        assert!(problems.is_empty(), "bad requests: {problems:#?}");
    }
}

/// The `[END]` score of each task in `out`.
fn end_scores(out: &str) -> Vec<f64> {
    out.lines()
        .filter(|line| line.starts_with("[END]"))
        .map(|line| {
            let score = line
                .split("score=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            score.parse().unwrap()
        })
        .collect()
}

#[test]
fn baseline_output_equals_the_reference() {
    // Goal: `run --policy baseline` prints the original's fallback run line for line.
    let output = incident_env()
        .args(["run", "--policy", "baseline"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), reference());
}

#[test]
fn baseline_summary_json_has_the_scores() {
    // Goal: --summary-json writes each task's score, success and rewards.
    let path = std::env::temp_dir().join(format!("runner-summary-{}.json", std::process::id()));
    let output = incident_env()
        .args(["run", "--policy", "baseline", "--summary-json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let _ = std::fs::remove_file(&path);
    let scores: Vec<f64> = summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, [0.8, 0.86, 0.117, 0.117]);
    assert_eq!(summary["tasks"][2]["steps"], 12);
    assert_eq!(summary["policy"], "baseline");
}

#[test]
fn llm_answering_optimally_scores_the_optimum() {
    // Goal: well-formed optimal replies are followed, and score what the grader gives
    // the optimal sequences (0.92 easy; 0.95 otherwise), on all four tasks.
    for script in [Script::Optimal, Script::Fenced] {
        let fake = FakeLlm::start(script);
        let (output, _) = fake.run(&[], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        fake.assert_clean();
        let expected: Vec<f64> = TaskId::ALL.iter().map(|&t| optimal_score(t)).collect();
        assert_eq!(expected, [0.92, 0.95, 0.95, 0.95]);
        let out = stdout(&output);
        assert_eq!(end_scores(&out), expected, "{script:?}: {out}");
        assert!(out.contains("[START] task=easy_task env=devops_incident_env model=test/model-7b"));
        assert!(out.contains(
            "[STEP] step=4 action=verify_health(database) reward=0.050 done=true error=null"
        ));
        assert!(
            out.contains("[END] success=true steps=8 score=0.950"),
            "{out}"
        );
        assert_eq!(fake.requests.load(Ordering::SeqCst), 4 + 4 + 4 + 8);
    }
}

#[test]
fn garbage_replies_fall_back_to_the_baseline() {
    // Goal: unusable replies give exactly the baseline's run, and the LLM is asked only
    // three times per task before it is given up on for that task.
    let fake = FakeLlm::start(Script::Garbage);
    let (output, _) = fake.run(&[], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    fake.assert_clean();
    assert_eq!(stdout(&output), as_model(&reference()));
    assert_eq!(fake.requests.load(Ordering::SeqCst), 3 * 4);
    assert_logged(&output, "no JSON object");
    assert_logged(
        &output,
        "[llm] the model chose 0 of 40 steps; the baseline chose 40",
    );
}

#[test]
fn the_completion_budget_is_configurable() {
    // Goal: LLM_MAX_TOKENS (--llm-max-tokens) is the max_tokens every request asks for
    // (a small local model answers sooner); 0 is refused before anything runs.
    let fake = FakeLlm::expecting(Script::Optimal, 48);
    let (output, _) = fake.run(&["--task", "easy_task"], &[("LLM_MAX_TOKENS", "48")]);
    assert!(output.status.success(), "{}", stderr(&output));
    fake.assert_clean();
    assert_eq!(fake.requests.load(Ordering::SeqCst), 4);
    let (refused, _) = fake.run(&["--llm-max-tokens", "0"], &[]);
    assert!(!refused.status.success() && stdout(&refused).is_empty());
    assert_eq!(fake.requests.load(Ordering::SeqCst), 4);
}

#[test]
fn every_tier_the_api_accepts_is_a_task() {
    // Goal: `--task` takes each generated tier of every family (the list the api parses
    // from), and an unknown gen_ id is refused naming them all.
    for tier in incident_core::Tier::EVERY {
        let output = incident_env()
            .args([
                "run",
                "--policy",
                "baseline",
                "--seed",
                "3",
                "--task",
                tier.name(),
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            tier.name(),
            stderr(&output)
        );
        let out = stdout(&output);
        let start = format!("[START] task={} env=devops_incident_env", tier.name());
        assert!(
            out.starts_with(&start) && out.contains("[END] success="),
            "{out}"
        );
    }
    let output = incident_env()
        .args(["run", "--policy", "baseline", "--task", "gen_nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_logged(&output, "gen_graph_expert");
}

#[test]
fn server_errors_are_retried_then_fall_back() {
    // Goal: HTTP 500 is retried (LLM_MAX_RETRIES times), then the baseline steps in.
    let fake = FakeLlm::start(Script::ServerError);
    let (output, _) = fake.run(&["--task", "easy_task"], &[("LLM_MAX_RETRIES", "1")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), as_model(&reference_task("easy_task")));
    assert_eq!(fake.requests.load(Ordering::SeqCst), 3 * 2);
    assert_logged(&output, "HTTP 500");
}

#[test]
fn a_hanging_endpoint_times_out() {
    // Goal: a endpoint that never answers costs the timeout per try, never a hang.
    let fake = FakeLlm::start(Script::Hang);
    let (output, elapsed) = fake.run(
        &["--task", "easy_task"],
        &[("LLM_TIMEOUT_SECS", "0.5"), ("LLM_MAX_RETRIES", "0")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), as_model(&reference_task("easy_task")));
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_logged(&output, "timed out");
}

#[test]
fn a_dead_endpoint_fails_fast_and_clearly() {
    // Goal: connection refused is not retried; the run falls back and ends quickly.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let output = incident_env()
        .args(["run"])
        .env("API_BASE_URL", format!("http://127.0.0.1:{port}/v1"))
        .env("HF_TOKEN", KEY)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), reference());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_logged(&output, "connection refused");
}

#[test]
fn a_missing_key_stops_at_once() {
    // Goal: --policy llm without any key exits non-zero with a clear message, no output.
    let output = incident_env().args(["run"]).output().unwrap();
    assert!(!output.status.success());
    assert!(stdout(&output).is_empty());
    let message = stderr(&output);
    assert!(
        message.contains("HF_TOKEN") && message.contains("--policy baseline"),
        "{message}"
    );
}

/// Start a server on a free loopback port; return its runtime, handle and base URL.
fn local_server() -> (
    tokio::runtime::Runtime,
    incident_host::server::Running,
    String,
) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let running = runtime
        .block_on(incident_host::server::bind(
            incident_host::server::Config::local(),
        ))
        .unwrap();
    let url = format!("http://{}", running.local_addr());
    (runtime, running, url)
}

#[test]
fn env_url_drives_a_running_server() {
    // Goal: --env-url against the real server gives the reference output too.
    let (runtime, running, url) = local_server();
    let output = incident_env()
        .args(["run", "--policy", "baseline", "--env-url", &url])
        .output()
        .unwrap();
    runtime.block_on(running.shutdown());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), reference());
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}

#[test]
fn env_url_to_a_dead_server_reports_the_failure() {
    // Goal: a failed reset still prints [START] and an [END] with the floor score.
    let output = incident_env()
        .args(["run", "--policy", "baseline", "--task", "hard_task"])
        .args(["--env-url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "[START] task=hard_task env=devops_incident_env model=Qwen/Qwen2.5-72B-Instruct\n\
         [END] success=false steps=0 score=0.050 rewards=\n"
    );
    assert_logged(&output, "reset failed");
}

#[test]
fn eval_prints_the_table_and_json() {
    // Goal: eval's JSON has one row per task with the baseline's fixed scores.
    let output = incident_env()
        .args(["eval", "--policy", "baseline", "--episodes", "50", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    let means: Vec<f64> = value["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["mean"].as_f64().unwrap())
        .collect();
    assert_eq!(means.len(), 4);
    assert!((means[0] - 0.8).abs() < 1e-9 && (means[2] - 0.117).abs() < 1e-9);
    assert_eq!(value["tasks"][0]["episodes"], 50);
    let table = incident_env()
        .args(["eval", "--episodes", "3", "--task", "medium_task"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&table).lines().nth(2),
        Some("| medium_task | 3 | 0.860 | 0.860 | 0.860 | 100.0% | 7.00 |")
    );
}

#[test]
fn run_plays_a_generated_tier_in_process_and_remotely_alike() {
    // Goal: `run --task gen_hard --split test --seed N` plays generated incident N of that
    // split (its budget bounds the steps), and against a server (--env-url) prints the same
    // lines with no mirror warning; the summary JSON names the split.
    let args = [
        "run", "--policy", "baseline", "--task", "gen_hard", "--split", "test", "--seed", "7",
    ];
    let local = incident_env().args(args).output().unwrap();
    assert!(local.status.success(), "{}", stderr(&local));
    let out = stdout(&local);
    assert!(
        out.starts_with("[START] task=gen_hard env=devops_incident_env"),
        "{out}"
    );
    let budget = incident_core::Scenario::generated(
        7,
        incident_core::Tier::Hard,
        incident_core::Split::Test,
    )
    .max_steps;
    let steps = out
        .lines()
        .filter(|line| line.starts_with("[STEP]"))
        .count();
    assert!(steps >= 1 && steps <= usize::from(budget), "{out}");
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.starts_with("[END] success="))
    );
    let other_seed = incident_env()
        .args([
            "run", "--policy", "baseline", "--task", "gen_hard", "--split", "test", "--seed", "8",
        ])
        .output()
        .unwrap();
    let train = incident_env()
        .args([
            "run", "--policy", "baseline", "--task", "gen_hard", "--seed", "7",
        ])
        .output()
        .unwrap();
    assert!(
        stdout(&other_seed) != out || stdout(&train) != out,
        "seed and split matter"
    );

    let (runtime, running, url) = local_server();
    let summary = std::env::temp_dir().join(format!("gen-summary-{}.json", std::process::id()));
    let remote = incident_env()
        .args(args)
        .args(["--env-url", &url, "--summary-json"])
        .arg(&summary)
        .output()
        .unwrap();
    runtime.block_on(running.shutdown());
    assert!(remote.status.success(), "{}", stderr(&remote));
    assert_eq!(stdout(&remote), out);
    assert!(!stderr(&remote).contains("warning"), "{}", stderr(&remote));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let _ = std::fs::remove_file(&summary);
    assert_eq!(
        (&json["tasks"][0]["task_id"], &json["tasks"][0]["split"]),
        (&Value::from("gen_hard"), &Value::from("test"))
    );
}

#[test]
fn eval_prints_a_table_per_tier_and_split() {
    // Goal: eval adds one row per generated tier and split with the oracle's, the
    // baseline's and the random policy's mean scores (oracle 1.000, resolving everything),
    // in Markdown and in JSON; --task/--split pick rows; a bad tier or split is refused.
    let output = incident_env()
        .args(["eval", "--episodes", "6", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["tasks"].as_array().unwrap().len(), 4);
    let rows = value["generated"].as_array().unwrap();
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["task_id"].as_str().unwrap(),
                r["split"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        labels[..3],
        ["gen_easy train", "gen_easy test", "gen_medium train"]
    );
    assert_eq!(
        labels.len(),
        16,
        "8 tiers (gen_* and gen_graph_*), 2 splits"
    );
    assert_eq!(labels[8], "gen_graph_easy train");
    for row in rows {
        let [oracle, baseline, random] =
            ["oracle", "baseline", "random"].map(|key| row[key].as_f64().unwrap());
        assert_eq!(
            (oracle, &row["oracle_resolved"]),
            (1.0, &Value::from(1.0)),
            "{row}"
        );
        assert!(baseline < 1.0 && random < 1.0, "{row}");
    }
    let table = incident_env()
        .args([
            "eval",
            "--episodes",
            "4",
            "--task",
            "gen_expert",
            "--split",
            "test",
        ])
        .output()
        .unwrap();
    let text = stdout(&table);
    assert!(
        text.starts_with("| tier | split | episodes | oracle | baseline | random |"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .starts_with("| gen_expert | test | 4 | 1.000 |"),
        "{text}"
    );
    for bad in [["--task", "gen_godlike"], ["--split", "validation"]] {
        let refused = incident_env().args(["eval"]).args(bad).output().unwrap();
        assert_eq!(refused.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn negative_seeds_of_generated_tiers_are_refused() {
    // Goal: `run` and `eval` refuse a seed no server reset accepts for a generated tier
    // (negative, or an eval range that wraps past the 64-bit range) with the server's
    // message, before playing anything; an original task keeps its negative seeds.
    let refusals = [
        vec![
            "run", "--policy", "baseline", "--task", "gen_easy", "--seed", "-1",
        ],
        vec![
            "eval",
            "--task",
            "gen_graph_hard",
            "--seed",
            "-5",
            "--episodes",
            "2",
        ],
        vec![
            "eval",
            "--task",
            "gen_easy",
            "--seed",
            "9223372036854775807",
            "--episodes",
            "2",
        ],
    ];
    for args in refusals {
        let output = incident_env().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
        assert_logged(&output, incident_api::parse::NEGATIVE_INCIDENT_SEED);
    }
    let original = incident_env()
        .args([
            "run",
            "--policy",
            "baseline",
            "--task",
            "easy_task",
            "--seed",
            "-1",
        ])
        .output()
        .unwrap();
    assert!(original.status.success(), "{}", stderr(&original));
}
