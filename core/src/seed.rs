//! Seed streams: the one mixing function every generator in the core derives its seeds
//! from (batch streams, auto-reset draws, evidence noise, incident generation). A leaf,
//! so the modules that draw seeds do not depend on each other.

/// Return the seed of draw `index` of stream `base_seed` (SplitMix64 of the pair, so
/// neighbouring indices get unrelated values).
#[must_use]
pub const fn stream_seed(base_seed: u64, index: u64) -> u64 {
    let mut z = base_seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
