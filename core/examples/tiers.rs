//! Print, per generated tier and split, the number of distinct incident structures among
//! the first `SEEDS` seeds (a structure: the root `(service, mode)` pairs, the red
//! herrings and the alerted services; for the graph tiers also the graph, the masking,
//! the onsets and the flapping services) and the mean scores of the oracle, the rule
//! baseline and a uniformly random policy; then the graph tiers' parameters.
//!
//! `cargo run --release -p incident-core --example tiers -- [SEEDS] [EPISODES]`

use std::collections::HashSet;

use incident_core::baseline::{self, Shown};
use incident_core::scenario::{Scenario, Split, Tier};
use incident_core::{ACTION_COUNT, Action, Env, oracle};

/// The roots, herrings and alerted services, and (graph tiers; fixed otherwise) the
/// graph, masking, onsets and flapping services.
type Structure = (Vec<(u8, u8)>, u8, u8, [u8; 6], [u8; 6], [u8; 6], u8);

fn structure(s: &Scenario) -> Structure {
    let roots = s
        .roots()
        .iter()
        .map(|r| (r.service as u8, r.mode as u8))
        .collect();
    let alerted = (0..s.alert.len())
        .filter(|&i| s.alert[i].is_some())
        .fold(0, |m, i| m | 1 << i);
    (
        roots,
        s.herring_mask,
        alerted,
        s.depends_on,
        s.masked_by,
        s.onset,
        s.flap_mask,
    )
}

/// Play one episode with `policy` and return (score, steps, resolved, mitigated).
fn play(scenario: Scenario, seed: i64, mut policy: impl FnMut(&Env) -> Action) -> (u16, u8, bool) {
    let mut env = Env::with_scenario(scenario, seed, seed as u64);
    while !env.is_done() {
        let action = policy(&env);
        let _ = env.step(action);
    }
    (
        env.final_grade().map_or(0, |g| g.score),
        env.step_count(),
        env.is_resolved(),
    )
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let seeds = args.next().and_then(Result::ok).unwrap_or(100_000);
    let episodes = args.next().and_then(Result::ok).unwrap_or(1000);
    println!(
        "| tier | split | distinct structures (first {seeds} seeds) | oracle | baseline | random | oracle resolved | baseline resolved |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for tier in Tier::EVERY {
        for split in Split::ALL {
            let distinct: HashSet<_> = (0..seeds)
                .map(|seed| structure(&Scenario::generated(seed, tier, split)))
                .collect();
            let mut sums = [0u64; 3];
            let mut resolved = [0u64; 2];
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ tier as u64;
            for seed in 0..episodes {
                let scenario = Scenario::generated(seed, tier, split);
                let o = play(scenario, seed as i64, oracle::choose);
                let b = play(scenario, seed as i64, |env| {
                    let shown = Shown::LastStep {
                        outcome: env.last_outcome(),
                        unknown: "",
                    };
                    baseline::choose(env, shown).action
                });
                let r = play(scenario, seed as i64, |_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    Action::from_index((rng % ACTION_COUNT as u64) as u8).unwrap_or_default()
                });
                for (sum, result) in sums.iter_mut().zip([o, b, r]) {
                    *sum += u64::from(result.0);
                }
                resolved[0] += u64::from(o.2);
                resolved[1] += u64::from(b.2);
            }
            let mean = |sum: u64| sum as f64 / 1000.0 / episodes as f64;
            println!(
                "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.1}% | {:.1}% |",
                tier.name(),
                split.name(),
                distinct.len(),
                mean(sums[0]),
                mean(sums[1]),
                mean(sums[2]),
                100.0 * resolved[0] as f64 / episodes as f64,
                100.0 * resolved[1] as f64 / episodes as f64,
            );
        }
    }
    println!();
    for tier in Tier::GRAPH {
        println!(
            "{}: {:?}",
            tier.name(),
            incident_core::generate::v2::params(tier)
        );
    }
}
