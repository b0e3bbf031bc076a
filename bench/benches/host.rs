//! Criterion benches of the host's JSON layer: render one step response and parse one
//! step request, as the HTTP and WebSocket servers do per request.
//!
//! Run with `cargo bench -p incident-bench --bench host`.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use incident_api::{Session, decode, parse};
use serde_json::{Value, json};

/// A `/step` body with a service argument (the common shape).
const STEP_BODY: &[u8] = br#"{"action_type": "read_logs", "service": "database"}"#;

fn json_layer(c: &mut Criterion) {
    let mut group = c.benchmark_group("host");
    group.throughput(Throughput::Elements(1));
    // Render: the response to a read_logs step (log lines included), as bytes.
    let mut session = Session::new();
    session.apply(
        decode::reset_value(Some(&json!({"task_id": "hard_task", "seed": 1}))).expect("reset"),
    );
    let reply = session.apply(decode::step(STEP_BODY).expect("valid step"));
    group.bench_function("render_step_response", |b| {
        b.iter(|| black_box(&reply).to_json_bytes());
    });
    // Parse: bytes -> validated action, as `POST /step` does (a plain action object is
    // deserialized directly; anything else goes through a `Value`).
    group.bench_function("parse_step_request", |b| {
        b.iter(|| decode::step_request(black_box(STEP_BODY)).is_ok());
    });
    // The general path every non-plain body takes: bytes -> `Value` -> validated action.
    group.bench_function("parse_step_request_value", |b| {
        b.iter(|| {
            let body: Value = serde_json::from_slice(black_box(STEP_BODY)).expect("json");
            parse::parse_action(parse::step_action(&body)).is_ok()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = json_layer
}
criterion_main!(benches);
