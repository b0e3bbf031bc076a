//! The throughput report's command line: `--help` prints the usage and exits at once
//! instead of running the benchmark, and an unknown argument is refused.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn help_prints_the_usage_without_running_the_benchmark() {
    // Goal: `throughput --help` answers in moments with its usage, no scenario rows.
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_throughput"))
        .arg("--help")
        .output()
        .expect("run throughput");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("usage: throughput"), "{stdout}");
    assert!(!stdout.contains("single_env"), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn unknown_arguments_are_refused() {
    // Goal: a typo is an error (exit status 2), not a silent full run.
    let output = Command::new(env!("CARGO_BIN_EXE_throughput"))
        .arg("--jsn")
        .output()
        .expect("run throughput");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--jsn"));
}
