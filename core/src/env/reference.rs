//! The oracle of the one step path, and a test that [`Env::apply`] agrees with it on
//! every step of random episodes of every original task and generated tier.
//!
//! It guards the step path's optimisations: the observation updated in place (here
//! recomputed from the state after every step, [`blocks`]), the cached modes (here
//! recomputed), and ruleset v1's cached credit and table-driven live score (here the
//! grade's own formula, [`grader::v1_grade`], every step).

use super::*;
use crate::obs::field;

impl Env {
    /// The rules as one plain match, every derived value recomputed.
    pub(crate) fn apply_reference(&mut self, op: Op) -> StepResult {
        if self.is_done() {
            return StepResult {
                outcome: Outcome::AlreadyDone,
                reward_milli: REWARD_MIN_MILLI,
                done: true,
                terminal: false,
            };
        }
        self.step_count += 1;
        let service = op.service;
        let s = service as usize;
        let bit = bit(service);
        let mode = self.scenario.mode_now(service, self.fixed);
        let v1 = self.scenario.ruleset == Ruleset::V1;
        // Every raw reward of the original rules below 50 clamps to 50; only a correct
        // root diagnosis (80) and a successful fix (120) survive the clamp.
        let mut reward_milli = REWARD_MIN_MILLI;
        let mut expected = Mode::Healthy;
        // The arms write only the observation bytes that record what the agent did
        // (reads, diagnoses, verdicts); the rest is recomputed from the state at the end.
        let outcome = match op.kind {
            OpKind::ListServices => {
                self.flags |= LISTED;
                Outcome::ServicesListed
            }
            OpKind::Inspect => {
                self.inspected |= bit;
                Outcome::DependenciesInspected(service)
            }
            OpKind::FullGraph => {
                self.full_graph = true;
                Outcome::FullGraphInspected
            }
            OpKind::ReadLogs => {
                let mode = self.sample(service, mode, 0);
                self.investigated |= bit;
                View::new(&mut self.obs).record_logs(s, mode);
                Outcome::LogsRead { service, mode }
            }
            OpKind::QueryMetrics => {
                let status_mode = mode;
                let mode = self.sample(service, mode, 1);
                let recovering = usize::from(self.fixed & !self.verified & bit != 0);
                let status = [
                    self.scenario.status_of(service, status_mode),
                    Status::Recovering,
                ][recovering];
                self.metrics_queried |= bit;
                View::new(&mut self.obs).record_metrics(s, mode);
                Outcome::MetricsRead {
                    service,
                    mode,
                    status,
                }
            }
            OpKind::Diagnose => {
                let diagnosis = op.diagnosis;
                let is_root = self.scenario.root_mask & bit;
                View::new(&mut self.obs).set_diagnosis(s, diagnosis);
                self.diagnosed |= bit;
                // The grader credits naming the configured root mode at any time, even
                // after the fix, when the step itself judges it incorrect (§17.4).
                let named = 0u8.wrapping_sub(u8::from(self.scenario.mode[s] == diagnosis));
                self.root_identified |= is_root & named;
                // Ruleset v1 judges against the configured root mode (a symptom's or a
                // healthy service's diagnosis is always wrong); the original against the
                // current mode.
                let configured = [Mode::Healthy, self.scenario.mode[s]][usize::from(is_root != 0)];
                let truth = [mode, configured][usize::from(v1)];
                if diagnosis == truth {
                    View::new(&mut self.obs).add_verdict(s, verdict::DIAGNOSIS_ACCEPTED);
                    self.counters.diagnosis_correct_count += 1;
                    reward_milli = [REWARD_MIN_MILLI, 80][usize::from(is_root != 0)];
                    expected = diagnosis;
                    Outcome::DiagnosisRecorded { service, diagnosis }
                } else {
                    View::new(&mut self.obs).add_verdict(s, verdict::DIAGNOSIS_REJECTED);
                    self.counters.destructive_actions += 1;
                    expected = truth;
                    Outcome::DiagnosisIncorrect(service)
                }
            }
            OpKind::ApplyFix => {
                let fix = op.fix;
                let reason = if mode == Mode::Healthy {
                    Some(FixRejection::Healthy)
                } else if self.fixed & bit != 0 {
                    Some(FixRejection::AlreadyFixed)
                } else {
                    match self.scenario.fix[s] {
                        Some(required) if required != fix => Some(FixRejection::WrongFix),
                        None if v1 => Some(FixRejection::NotRoot),
                        _ => None,
                    }
                };
                if let Some(reason) = reason {
                    self.counters.destructive_actions += 1;
                    View::new(&mut self.obs).add_verdict(s, verdict::FIX_REJECTED);
                    Outcome::FixRejected {
                        service,
                        fix,
                        reason,
                    }
                } else if self.scenario.blocked_by[s] & !self.fixed != 0 {
                    View::new(&mut self.obs).add_verdict(s, verdict::FIX_RELAPSED);
                    Outcome::FixRelapsed { service, fix }
                } else {
                    self.fixed |= bit;
                    self.counters.fix_correct_count += 1;
                    reward_milli = 120;
                    if self.scenario.root_mask & !self.fixed == 0 && self.mitigated_at == 0 {
                        self.mitigated_at = self.step_count;
                    }
                    Outcome::FixApplied { service, fix }
                }
            }
            OpKind::Verify => {
                if self.fixed & bit != 0 {
                    self.verified |= bit;
                    Outcome::VerifiedAfterFix(service)
                } else if mode == Mode::Healthy {
                    Outcome::VerifiedHealthy(service)
                } else {
                    Outcome::VerifyBeforeFix(service)
                }
            }
            OpKind::Invalid => {
                self.counters.invalid_actions += 1;
                op.failure
            }
        };
        let error = outcome.error();
        let success = outcome.success();
        self.last_error = error;
        self.last_outcome = outcome;
        let at_limit = u8::from(self.step_count >= self.scenario.max_steps) * DONE;
        let resolved = u8::from(self.scenario.root_mask & !self.verified == 0) * (RESOLVED | DONE);
        self.flags |= at_limit | resolved;
        let terminal = self.is_done();
        if v1 {
            // The live score from the grade's formula (`v1_score` is its table form).
            let tally = self.tally();
            let score = Milli::from(grader::v1_grade(&self.scenario, &tally).score);
            self.v1_credit = grader::v1_credit(&self.scenario, &tally);
            reward_milli = score - Milli::from(self.potential_milli)
                + Milli::from(terminal) * grader::V1_RESET_SCORE_MILLI;
            self.potential_milli = score as i16;
        }
        let record = Record {
            action: op.action,
            reward_milli: reward_milli as i16,
            success,
            expected,
        };
        // The history holds at most max_steps <= STEP_COUNT_MAX records (the episode is
        // not done, so step_count <= max_steps after the increment).
        let pushed = self.history.push(record);
        debug_assert!(pushed.is_ok());
        let bound = TRAJECTORY_MAX_MILLI
            + Milli::from(v1) * (V1_TRAJECTORY_MAX_MILLI - TRAJECTORY_MAX_MILLI);
        let trajectory = (Milli::from(self.trajectory_milli) + reward_milli).clamp(-bound, bound);
        self.trajectory_milli = trajectory as i16;
        if terminal {
            self.final_grade = Some(self.grade());
        }
        self.obs = blocks(self);
        // The step path's cache of every service's mode (derived from `fixed`).
        self.modes = self.scenario.modes_now(self.fixed);
        // The original rules emit the 0.05 floor at the terminal step (§6.2 step 9).
        StepResult::emitted(outcome, reward_milli, terminal, terminal & !v1)
    }
}

/// Every observation block computed from the state: the oracle of the step path's
/// in-place updates. The bytes that record the agent's reads, diagnoses and verdicts
/// exist only in the observation, so they are kept from `env`'s.
pub(crate) fn blocks(env: &Env) -> Blocks {
    let mut out = env.obs;
    let broken = env.scenario.broken_mask(env.fixed);
    for service in Service::ALL {
        let s = service as usize;
        let fixed = contains(env.fixed, service);
        let verified = contains(env.verified, service);
        let status = if fixed && !verified {
            Status::Recovering
        } else {
            [Status::Healthy, env.scenario.status[s]][usize::from(contains(broken, service))]
        };
        let alert = match env.scenario.alert[s] {
            Some(severity) if !env.is_resolved() => severity.priority(),
            _ => 0,
        };
        let block = &mut out[s];
        block[field::STATUS] = status as u8;
        block[field::ALERT] = alert;
        block[field::INSPECTED] = u8::from(contains(env.inspected, service));
        block[field::REMEDIATION] = u8::from(fixed) | u8::from(verified) << 1;
    }
    let flags = u8::from(env.listed_services())
        | u8::from(env.full_graph) << 1
        | u8::from(env.last_outcome.success()) << 2
        | u8::from(env.is_resolved()) << 3
        | u8::from(env.is_done()) << 4;
    out[SERVICE_COUNT] = [
        env.scenario.tier_code(),
        env.step_count,
        env.steps_remaining(),
        env.scenario.max_steps,
        flags,
        env.last_error.map_or(0, |code| 1 + code as u8),
        env.counters.destructive_actions,
        env.counters.invalid_actions,
    ];
    let flat = out.as_flattened_mut();
    flat[field::VERSION] = obs::LAYOUT_VERSION;
    flat[field::RULESET] = env.scenario.ruleset as u8;
    flat[field::MITIGATED_AT] = env.mitigated_at;
    flat[field::BUDGET_BURNED] = 0;
    if env.is_v2() {
        crate::env::v2::reference_blocks(env, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Arg;
    use crate::scenario::{Split, Tier};
    use crate::vocab::ActionType;

    /// A tiny xorshift for the action streams.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    /// An action for `env`: a uniformly random discrete index (out-of-range ones too), an
    /// action with missing or unknown arguments, or one of the solving moves on a root
    /// (so fixes, relapses, verifications and resolutions happen often).
    fn action(env: &Env, rng: &mut Rng) -> Action {
        let roots = env.scenario().roots();
        let root = roots[rng.below(roots.len() as u64) as usize];
        let service = Service::ALL[rng.below(6) as usize];
        match rng.below(8) {
            0 | 1 => Action::from_index(rng.below(ACTION_INDEX_SPAN) as u8).unwrap_or_default(),
            2 => Action {
                kind: ActionType::ALL.get(rng.below(8) as usize).copied(),
                service: [Arg::Missing, Arg::Unknown, Arg::Known(service)][rng.below(3) as usize],
                diagnosis: [
                    Arg::Missing,
                    Arg::Unknown,
                    Arg::Known(Mode::ALL[rng.below(8) as usize]),
                ][rng.below(3) as usize],
                fix: [
                    Arg::Missing,
                    Arg::Unknown,
                    Arg::Known(Fix::ALL[rng.below(8) as usize]),
                ][rng.below(3) as usize],
            },
            3 => Action::on(ActionType::ReadLogs, root.service),
            4 => Action::diagnose(root.service, root.mode),
            5 => Action::apply_fix(root.service, root.fix),
            6 => Action::on(ActionType::VerifyHealth, root.service),
            _ => Action::apply_fix(service, Fix::ALL[rng.below(8) as usize]),
        }
    }

    /// Discrete indices drawn, past `ACTION_COUNT` included.
    const ACTION_INDEX_SPAN: u64 = crate::constants::ACTION_COUNT as u64 + 8;

    #[test]
    fn the_one_step_path_equals_the_reference_step() {
        // Goal: the one step path leaves exactly the state (every field, the cached
        // observation included) and returns exactly the result of the branchy reference
        // step, at every step of random episodes of the four original tasks and of
        // generated incidents of every tier and split, through done and beyond.
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut scenarios: std::vec::Vec<Scenario> = TaskId::ALL
            .iter()
            .map(|&task| Scenario::task(task))
            .collect();
        for seed in 0..400 {
            for tier in Tier::ALL {
                scenarios.push(Scenario::generated(
                    seed,
                    tier,
                    Split::ALL[seed as usize % 2],
                ));
            }
        }
        let (mut steps, mut resolved) = (0, 0);
        for (index, scenario) in scenarios.iter().enumerate() {
            for episode in 0..6 {
                let mut fast = Env::with_scenario(*scenario, (index * 7 + episode) as i64, 3);
                let mut slow = fast.clone();
                for _ in 0..=crate::constants::STEP_COUNT_MAX + 2 {
                    let op = Op::decode(action(&fast, &mut rng));
                    let expected = slow.apply_reference(op);
                    assert_eq!(fast.apply(op), expected, "{op:?} on {slow:?}");
                    assert_eq!(fast, slow, "{op:?}");
                    assert_eq!(fast.obs, blocks(&fast), "{op:?} on {fast:?}");
                    steps += 1;
                }
                resolved += usize::from(fast.is_resolved());
            }
        }
        assert!(
            steps > 100_000 && resolved > 500,
            "{steps} steps, {resolved} resolved"
        );
    }
}

#[cfg(test)]
mod observation_tests {
    use super::*;
    use crate::vocab::ActionType;

    #[test]
    fn reset_observations_are_the_computed_ones() {
        // Goal: the precomputed reset observation of each original task, and the one
        // built for a generated incident, are what the state gives.
        for task in TaskId::ALL {
            let env = Env::new(task, 3, 0);
            assert_eq!(obs::reset_blocks(env.scenario()), blocks(&env));
            assert_eq!(env.obs, blocks(&env));
        }
        for tier in Tier::EVERY {
            let env = Env::with_scenario(Scenario::generated(5, tier, Split::Train), 1, 0);
            assert_eq!(env.obs, blocks(&env), "{tier:?}");
        }
    }

    #[test]
    fn solved_episodes_keep_the_computed_observation() {
        // Goal: recovering, verified and resolved states (rare under random actions) give
        // the observation computed from the state, and a resolved episode shows no alert.
        for task_id in TaskId::ALL {
            let task = task_id.task();
            let mut env = Env::new(task_id, 7, 0);
            for symptom in task.symptoms {
                let _ = env.step(Action::apply_fix(symptom.service, Fix::ALL[0]));
                assert_eq!(env.obs, blocks(&env), "{env:?}");
            }
            for root in task.roots {
                let _ = env.step(Action::apply_fix(root.service, root.fix));
                assert_eq!(env.obs, blocks(&env), "{env:?}");
                let _ = env.step(Action::on(ActionType::VerifyHealth, root.service));
                assert_eq!(env.obs, blocks(&env), "{env:?}");
            }
            assert!(env.is_resolved());
            assert!((0..SERVICE_COUNT).all(|s| env.view().alert(s) == 0));
        }
    }
}
