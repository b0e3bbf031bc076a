//! `serve --sealed` reveals nothing about the hidden answer at reset: every incident of a
//! generated tier starts with the same step budget, so `max_steps` cannot tell how many
//! roots it has.

mod support;

use std::collections::BTreeSet;

use incident_core::Tier;
use incident_host::server::Config;
use serde_json::json;
use support::{get, post_json, start_with};

/// Incidents per tier whose budgets are compared (enough to meet every root count).
const INCIDENTS: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_resets_give_every_incident_of_a_tier_one_budget() {
    // Goal: unsealed, budgets differ with the root count on the tiers whose root count
    // varies (so the test sees the leak); sealed, every incident of the tier has the tier's largest budget (the one
    // `/tasks?include=generated` lists), on the observation and in /state.
    let open = start_with(Config::local()).await;
    let mut config = Config::local();
    config.sealed = true;
    let sealed = start_with(config).await;
    let listed = get(open.local_addr(), "/tasks?include=generated")
        .await
        .json();
    let mut leaking_tiers = 0;
    for tier in Tier::EVERY {
        let tier_max = listed["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|task| task["task_id"] == tier.name())
            .map(|task| task["max_steps"].clone())
            .expect("the tier is listed");
        let mut open_budgets = BTreeSet::new();
        let mut sealed_budgets = BTreeSet::new();
        for seed in 0..INCIDENTS {
            let reset = json!({"task_id": tier.name(), "seed": seed});
            let plain = post_json(open.local_addr(), "/reset", &reset).await.json();
            open_budgets.insert(plain["observation"]["max_steps"].to_string());
            let hidden = post_json(sealed.local_addr(), "/reset", &reset)
                .await
                .json();
            let observation = &hidden["observation"];
            assert_eq!(observation["max_steps"], tier_max, "{tier:?} seed {seed}");
            assert_eq!(observation["steps_remaining"], tier_max);
            let state = get(sealed.local_addr(), "/state").await.json();
            sealed_budgets.insert(state["max_steps"].to_string());
        }
        leaking_tiers += usize::from(open_budgets.len() > 1);
        assert_eq!(sealed_budgets.len(), 1, "{tier:?}: {sealed_budgets:?}");
    }
    // gen_medium (1 or 2 roots) and gen_expert (2 or 3) differ unsealed.
    assert!(
        leaking_tiers >= 2,
        "unsealed budgets vary on {leaking_tiers} tiers"
    );
    open.shutdown().await;
    sealed.shutdown().await;
}
