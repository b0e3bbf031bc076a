//! A fixed workload for profilers: `cargo build --profile profiling -p incident-bench --example
//! profile`, then `valgrind --tool=callgrind target/profiling/examples/profile` (the
//! `profiling` profile is release with line tables; release itself carries no debug info).

use std::num::NonZeroUsize;

use incident_bench::{ActionTape, Batch, step_parallel};
use incident_core::batch::TaskChoice;

fn main() {
    let steps: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200);
    let tape = ActionTape::new(7, 4096);
    let mut batch = Batch::new(4096, 42, TaskChoice::Uniform);
    let stats = step_parallel(
        &mut batch,
        &tape,
        0,
        steps,
        TaskChoice::Uniform,
        NonZeroUsize::MIN,
    );
    println!("{stats:?}");
}
