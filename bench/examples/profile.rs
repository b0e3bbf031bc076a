//! A fixed workload for profilers: `valgrind --tool=callgrind target/release/examples/profile`.

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
