//! Write starting corpora into `fuzz/corpus/<target>/` (run from `fuzz/`:
//! `cargo run --example seed_corpus`): real request bodies, WebSocket messages, valid
//! snapshots of episodes at every stage, and action sequences.

use std::fs;
use std::path::Path;

use incident_core::constants::SNAPSHOT_BYTES_MAX;
use incident_core::{Action, Env, TaskId};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("create corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let steps = [
        r#"{"action_type":"list_services"}"#,
        r#"{"action_type":"read_logs","service":"database"}"#,
        r#"{"action":{"action_type":"query_metrics","service":"order_service"}}"#,
        r#"{"action_type":"inspect_dependencies","service":null,"reasoning":"x"}"#,
        r#"{"action_type":"diagnose","service":"database","diagnosis":"disk_full"}"#,
        r#"{"action_type":"apply_fix","service":"database","fix":"clear_disk"}"#,
        r#"{"action_type":"verify_health","service":"nop\u0065"}"#,
        r#"{"action_type":"reboot"}"#,
        r#"{"action_type":"read_logs","service":7}"#,
        r#"{not json"#,
        r#"[1,2,3]"#,
        "",
    ];
    for (i, body) in steps.iter().enumerate() {
        write("http_step_body", &format!("seed{i}"), body.as_bytes());
        write(
            "ws_frame",
            &format!("step{i}"),
            format!(r#"{{"type":"step","data":{body}}}"#).as_bytes(),
        );
    }
    let resets = [
        r#"{"task_id":"hard_task","seed":7,"episode_id":"ep-1"}"#,
        r#"{"task_id":"expert_task","seed":"12"}"#,
        r#"{"task_id":["x"],"seed":1.5}"#,
        r#"{"seed":true}"#,
        r#"{"seed":99999999999999999999}"#,
        r#"null"#,
        r#"{}"#,
        "",
        "{\"a\" 1}",
    ];
    for (i, body) in resets.iter().enumerate() {
        write("http_reset_body", &format!("seed{i}"), body.as_bytes());
        write(
            "ws_frame",
            &format!("reset{i}"),
            format!(r#"{{"type":"reset","data":{body}}}"#).as_bytes(),
        );
    }
    let messages = [
        "{\"type\":\"state\"}",
        "{\"type\":\"close\"}",
        "{\"type\":\"mcp\",\"data\":{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}}",
        "{\"type\":\"mcp\",\"data\":{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"step\",\"arguments\":{\"action_type\":\"list_services\"}}}}",
        "{\"type\":\"reset\",\"data\":{\"task_id\":\"medium_task\"}}\n{\"type\":\"step\",\"data\":{\"action_type\":\"list_services\"}}\n{\"type\":\"state\"}",
    ];
    for (i, message) in messages.iter().enumerate() {
        write("ws_frame", &format!("message{i}"), message.as_bytes());
    }
    let mut buffer = [0u8; SNAPSHOT_BYTES_MAX];
    for task in TaskId::ALL {
        for seed in [0, 1, -5, i64::MAX] {
            let mut env = Env::new(task, seed, seed as u64);
            for step in 0..=usize::from(task.task().max_steps) {
                let saved = env.save(&mut buffer).expect("save");
                write(
                    "snapshot_load",
                    &format!("{}-{seed}-{step}", task.name()),
                    saved,
                );
                let index = ((step * 37).wrapping_add(seed as usize) % 115) as u8;
                let _ = env.step(Action::from_index(index).expect("index"));
            }
        }
        let mut ops = vec![task as u8];
        ops.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
        for index in [0u8, 7, 13, 19, 30, 60, 90, 114, 200] {
            ops.extend_from_slice(&[0, index, 1, index]);
        }
        ops.extend_from_slice(&[2, 3, 1, 0, 1, 2, 6, 3, 3, 3, 9]);
        write("core_actions", task.name(), &ops);
    }
}
