//! Benchmarks and the throughput report of the incident environment.
