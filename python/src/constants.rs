//! The extension's bounds and what its spaces need beyond the core's sizes, in one
//! place, with the compile-time checks that tie them together beside them. The sizes of
//! the environment itself (`OBS_LEN`, `ACTION_COUNT`, `STEP_COUNT_MAX`) are
//! [`incident_core::constants`], exported as they are.

/// Largest `num_envs` a `VecCore` accepts (about 1.7 GB of environments and buffers).
pub const NUM_ENVS_MAX: usize = 1 << 22;
/// Largest `num_threads` a `VecCore` accepts.
pub const NUM_THREADS_MAX: usize = 256;
/// Fewest environments a thread is given; smaller batches run on the calling thread, where
/// handing work to another thread would cost more than it saves.
pub const MIN_ENVS_PER_THREAD: usize = 1024;
/// Rows of `VecCore.flags`: terminated, truncated, ended.
pub const FLAG_ROWS: usize = 3;

/// Largest seed: batch seeds and incident seeds are unsigned 64-bit numbers.
pub const SEED_MAX: u64 = u64::MAX;

/// The numpy dtype of an observation's elements: each is one byte of the core's
/// observation.
pub const OBS_DTYPE: &str = "uint8";
/// Lowest value of an observation byte (the observation space's `low`).
pub const OBS_LOW: u8 = u8::MIN;
/// Highest value of an observation byte (the observation space's `high`).
pub const OBS_HIGH: u8 = u8::MAX;

const _: () = {
    assert!(
        NUM_ENVS_MAX < 1 << 32,
        "chunk offsets and lengths fit a u32"
    );
    assert!(NUM_THREADS_MAX >= 1 && MIN_ENVS_PER_THREAD >= 1);
};
