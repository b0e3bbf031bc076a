//! A fixed workload for profilers: `cargo build --profile profiling -p incident-bench --example
//! profile`, then `valgrind --tool=callgrind target/profiling/examples/profile` (the
//! `profiling` profile is release with line tables; release itself carries no debug info).
//!
//! Arguments: the steps per environment (default 200) and optionally a generated tier's
//! wire name (`gen_hard` ...) to step that tier's train incidents instead of the original
//! tasks.

use std::num::NonZeroUsize;

use incident_bench::{ActionTape, Batch, step_parallel};
use incident_core::batch::TaskChoice;
use incident_core::scenario::{Split, Tier};

fn main() {
    let steps: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200);
    let tasks = std::env::args()
        .nth(2)
        .and_then(|name| Tier::from_name(&name))
        .map_or(TaskChoice::Uniform, |tier| {
            TaskChoice::Generated(tier, Split::Train)
        });
    let tape = ActionTape::new(7, 4096);
    let mut batch = Batch::new(4096, 42, tasks);
    let stats = step_parallel(&mut batch, &tape, 0, steps, tasks, NonZeroUsize::MIN);
    println!("{stats:?}");
}
