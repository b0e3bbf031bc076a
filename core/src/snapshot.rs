//! Postcard snapshots of one episode (feature `serde`).
//!
//! A snapshot holds the whole environment, its generator included, so a restored
//! environment continues exactly as the original would. Restoring checks every invariant
//! ([`Env::check`]); bytes from anywhere else are rejected, never trusted.

use crate::constants::SNAPSHOT_BYTES_MAX;
use crate::env::{Env, Invariant};

/// Why a snapshot could not be written or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The output buffer is too small (give it `SNAPSHOT_BYTES_MAX` bytes).
    BufferTooSmall,
    /// The bytes are not a postcard encoding of an environment.
    Malformed,
    /// The bytes decode but are followed by trailing bytes.
    TrailingBytes,
    /// The decoded state breaks an invariant.
    Invalid(Invariant),
}

impl core::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SnapshotError::BufferTooSmall => {
                write!(
                    f,
                    "snapshot buffer too small (need at most {SNAPSHOT_BYTES_MAX} bytes)"
                )
            }
            SnapshotError::Malformed => f.write_str("snapshot bytes are malformed"),
            SnapshotError::TrailingBytes => f.write_str("snapshot has trailing bytes"),
            SnapshotError::Invalid(why) => write!(f, "snapshot state is invalid: {why}"),
        }
    }
}

impl core::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SnapshotError::Invalid(why) => Some(why),
            _ => None,
        }
    }
}

impl Env {
    /// Write a snapshot into `buffer` and return the bytes used.
    ///
    /// # Errors
    /// [`SnapshotError::BufferTooSmall`] if `buffer` cannot hold it.
    pub fn save<'b>(&self, buffer: &'b mut [u8]) -> Result<&'b mut [u8], SnapshotError> {
        postcard::to_slice(self, buffer).map_err(|_| SnapshotError::BufferTooSmall)
    }

    /// Restore an environment from a snapshot.
    ///
    /// # Errors
    /// Malformed or trailing bytes, or a state that breaks an invariant.
    pub fn load(bytes: &[u8]) -> Result<Env, SnapshotError> {
        let (mut env, rest): (Env, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(|_| SnapshotError::Malformed)?;
        if !rest.is_empty() {
            return Err(SnapshotError::TrailingBytes);
        }
        // Not stored: derived from the rest (and checked by the replay below); the
        // original rules keep it 0.
        if env.scenario.ruleset != crate::scenario::Ruleset::Original {
            env.v1_credit = crate::grader::v1_credit(&env.scenario, &env.tally());
            env.v1_budget_row = crate::grader::v1_budget_row(&env.scenario);
        }
        env.modes = env.scenario.modes_now(env.fixed);
        if env.scenario.ruleset == crate::scenario::Ruleset::V2 {
            env.v2_restore();
        }
        env.check().map_err(SnapshotError::Invalid)?;
        Ok(env)
    }
}

/// Serde of [`Env`]'s scenario as its [`Origin`]: a snapshot stores where the scenario
/// comes from and loading rebuilds it (the original tasks keep their one-byte encoding).
pub(crate) mod scenario_by_origin {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::scenario::{Origin, Scenario};

    pub(crate) fn serialize<S: Serializer>(scenario: &Scenario, out: S) -> Result<S::Ok, S::Error> {
        scenario.origin.serialize(out)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Scenario, D::Error> {
        Origin::deserialize(input).map(Origin::scenario)
    }
}
