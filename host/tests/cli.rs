//! The command line and the packaging as a new user meets them: error messages that name
//! their source, help that promises only what happens, JSON figures as the grader rounds
//! them, a Docker build context and image that behave, a release build without debug info.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn incident_env(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_incident-env"));
    command.args(args).stdin(Stdio::null());
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().expect("run incident-env")
}

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_bad_port_variable_is_named_in_the_error() {
    // Goal: `PORT=abc incident-env serve` fails at once and says the PORT variable is
    // where the bad value may come from (clap alone only names `--port`).
    let output = incident_env(&["serve", "--host", "127.0.0.1"], &[("PORT", "abc")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'abc'"), "{stderr}");
    assert!(stderr.contains("PORT environment variable"), "{stderr}");
}

#[test]
fn eval_help_promises_no_start_lines() {
    // Goal: `eval` prints a table or JSON, never `[START]` lines, so its help must not
    // say it does (the model option it shares with `run` must not mention them).
    let output = incident_env(&["eval", "--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--episodes"), "{help}");
    let promises = help
        .lines()
        .filter(|line| line.contains("[START]") && !line.contains("`run`"))
        .count();
    assert_eq!(promises, 0, "{help}");
}

#[test]
fn eval_json_rounds_to_the_graders_three_decimals() {
    // Goal: the mean of seven 0.8 scores prints as 0.8, not 0.8000000000000002.
    let output = incident_env(
        &["eval", "--json", "--episodes", "7", "--task", "easy_task"],
        &[],
    );
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["tasks"][0]["mean"].to_string(), "0.8");
}

#[test]
fn the_docker_context_leaves_out_build_and_tool_folders() {
    // Goal: `.dockerignore` keeps fuzz builds and corpora, virtualenvs, node_modules and
    // Python build folders out of the build context (1.4 GB after a fuzz build).
    let ignore = repo_file(".dockerignore");
    let lines: Vec<&str> = ignore.lines().map(str::trim).collect();
    for pattern in [
        "target/",
        "fuzz/target/",
        "fuzz/corpus/",
        "fuzz/artifacts/",
        "**/.venv/",
        "**/venv/",
        "**/node_modules/",
        "**/__pycache__/",
        "**/build/",
        "**/dist/",
        "**/*.egg-info/",
    ] {
        assert!(
            lines.contains(&pattern),
            "{pattern} missing from .dockerignore"
        );
    }
}

#[test]
fn the_image_listens_on_the_port_variable() {
    // Goal: `docker run -e PORT=9000` moves the server and its health check: the CMD and
    // HEALTHCHECK take the port from PORT (8000 by default), never a fixed `--port`.
    let dockerfile = repo_file("Dockerfile");
    assert!(dockerfile.contains("ENV PORT=8000"), "{dockerfile}");
    let cmd = dockerfile
        .lines()
        .find(|line| line.starts_with("CMD"))
        .expect("a CMD");
    assert!(!cmd.contains("--port"), "{cmd}");
    assert!(dockerfile.contains("${PORT}/health"), "{dockerfile}");
}

#[test]
fn release_builds_carry_no_debug_info() {
    // Goal: `[profile.release]` has no `debug` (it makes binaries large); profiling uses
    // its own `profiling` profile that inherits release and adds it.
    let manifest = repo_file("Cargo.toml");
    let section = |name: &str| -> Vec<String> {
        manifest
            .lines()
            .skip_while(|line| line.trim() != name)
            .skip(1)
            .take_while(|line| !line.starts_with('['))
            .map(|line| line.trim().to_owned())
            .collect()
    };
    let release = section("[profile.release]");
    assert!(!release.is_empty(), "no [profile.release]");
    assert!(
        release.iter().all(|line| !line.starts_with("debug")),
        "{release:?}"
    );
    let profiling = section("[profile.profiling]");
    assert!(profiling.contains(&"inherits = \"release\"".to_owned()));
    assert!(profiling.iter().any(|line| line.starts_with("debug")));
}
