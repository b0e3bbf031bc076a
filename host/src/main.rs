//! `incident-env`: the command-line entry point.

fn main() {}
