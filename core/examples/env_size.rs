//! Print the size of one environment and of its numeric observation.

fn main() {
    println!(
        "size_of::<Env>() = {} bytes (budget {}), OBS_LEN = {} bytes",
        core::mem::size_of::<incident_core::Env>(),
        incident_core::constants::ENV_BYTES_MAX,
        incident_core::OBS_LEN
    );
}
