//! The oracle of the one step path: a plain step that recomputes every service block
//! after a fix or verification, and a test that [`Env::apply`]
//! agrees with it on every step of random episodes of every original task and generated
//! tier.

use super::*;

impl Env {
    /// The plain step path, kept as the oracle the one step path is compared with.
    ///
    /// The cached observation is updated in place: the one or two bytes the operation
    /// changes in its service's block and the global block; every service's status,
    /// alert and remediation bytes only when `fixed` or `verified` changed.
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
        let (fixed_before, verified_before) = (self.fixed, self.verified);
        let mode = self.scenario.mode_now(service, self.fixed);
        let v1 = self.scenario.ruleset == Ruleset::V1;
        // Every raw reward of the original rules below 50 clamps to 50; only a correct
        // root diagnosis (80) and a successful fix (120) survive the clamp.
        let mut reward_milli = REWARD_MIN_MILLI;
        let mut expected = Mode::Healthy;
        // The global block, updated in place rather than rebuilt: step count +1 and steps
        // remaining −1 (no carry or borrow: the episode is not done, so
        // step_count < max_steps before the increment); the arms add their own changes
        // (listed and full-graph bits, destructive and invalid counters), the success bit
        // and the error byte are replaced after the match and resolved/done are set at
        // the terminal step.
        let mut global = u64::from_le_bytes(self.obs[SERVICE_COUNT]) + (1 << 8) - (1 << 16);
        let outcome = match op.kind {
            OpKind::ListServices => {
                self.flags |= LISTED;
                global |= obs::GLOBAL_LISTED;
                Outcome::ServicesListed
            }
            OpKind::Inspect => {
                self.inspected |= bit;
                self.obs[s][field::INSPECTED] = 1;
                Outcome::DependenciesInspected(service)
            }
            OpKind::FullGraph => {
                self.full_graph = true;
                global |= obs::GLOBAL_FULL_GRAPH;
                Outcome::FullGraphInspected
            }
            OpKind::ReadLogs => {
                let mode = self.sample(service, mode, 0);
                self.investigated |= bit;
                let seen = &mut self.seen[s];
                seen.logs_run = run_after(seen.logs, seen.logs_run, mode);
                seen.logs = 1 + mode as u8;
                self.obs[s][field::LOGS] = seen.logs;
                self.obs.as_flattened_mut()[field::LOGS_RUN + s] = seen.logs_run;
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
                let seen = &mut self.seen[s];
                seen.metrics_run = run_after(seen.metrics, seen.metrics_run, mode);
                seen.metrics = 1 + mode as u8;
                self.obs[s][field::METRICS] = seen.metrics;
                self.obs.as_flattened_mut()[field::METRICS_RUN + s] = seen.metrics_run;
                Outcome::MetricsRead {
                    service,
                    mode,
                    status,
                }
            }
            OpKind::Diagnose => {
                let diagnosis = op.diagnosis;
                let is_root = self.scenario.root_mask & bit;
                self.seen[s].diagnosis = 1 + diagnosis as u8;
                self.obs[s][field::DIAGNOSIS] = 1 + diagnosis as u8;
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
                    self.seen[s].verdicts |= 1;
                    self.obs[s][field::VERDICTS] |= 1;
                    self.counters.diagnosis_correct_count += 1;
                    reward_milli = [REWARD_MIN_MILLI, 80][usize::from(is_root != 0)];
                    expected = diagnosis;
                    Outcome::DiagnosisRecorded { service, diagnosis }
                } else {
                    self.seen[s].verdicts |= 2;
                    self.obs[s][field::VERDICTS] |= 2;
                    self.counters.destructive_actions += 1;
                    global += obs::GLOBAL_DESTRUCTIVE_ONE;
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
                    global += obs::GLOBAL_DESTRUCTIVE_ONE;
                    self.seen[s].verdicts |= 4;
                    self.obs[s][field::VERDICTS] |= 4;
                    Outcome::FixRejected {
                        service,
                        fix,
                        reason,
                    }
                } else if self.scenario.blocked_by[s] & !self.fixed != 0 {
                    self.seen[s].verdicts |= 8;
                    self.obs[s][field::VERDICTS] |= 8;
                    Outcome::FixRelapsed { service, fix }
                } else {
                    self.fixed |= bit;
                    self.counters.fix_correct_count += 1;
                    reward_milli = 120;
                    if self.scenario.root_mask & !self.fixed == 0 && self.mitigated_at == 0 {
                        self.mitigated_at = self.step_count;
                        self.obs.as_flattened_mut()[field::MITIGATED_AT] = self.step_count;
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
                global += obs::GLOBAL_INVALID_ONE;
                op.failure
            }
        };
        let error = outcome.error();
        let success = outcome.success();
        self.last_error = error;
        self.last_outcome = outcome;
        global = global & !obs::GLOBAL_OUTCOME
            | obs::global_outcome(success, error.map_or(0, |code| 1 + code as u8));
        let at_limit = u8::from(self.step_count >= self.scenario.max_steps) * DONE;
        let resolved = u8::from(self.scenario.root_mask & !self.verified == 0) * (RESOLVED | DONE);
        self.flags |= at_limit | resolved;
        let terminal = self.is_done();
        if v1 {
            // The live score from the grade's formula (`v1_score` is its table form).
            let score = Milli::from(grader::v1_grade(self).score);
            self.v1_credit = grader::v1_credit(self);
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
            self.final_grade = Some(grader::grade(self));
            global |= obs::global_end(self.is_resolved());
        }
        // The arms above wrote the touched service's own bytes; only a new fix or
        // verification changes other bytes: modes, statuses, remediation and (on
        // resolution) alerts of any service.
        if (self.fixed ^ fixed_before) | (self.verified ^ verified_before) != 0 {
            obs::refresh_services_reference(self);
            // The step path's cache of every service's mode (derived from `fixed`).
            self.modes = self.scenario.modes_now(self.fixed);
        }
        self.obs[SERVICE_COUNT] = global.to_le_bytes();
        // The original rules emit the 0.05 floor at the terminal step (§6.2 step 9).
        StepResult::emitted(outcome, reward_milli, terminal, terminal & !v1)
    }
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
    const ACTION_INDEX_SPAN: u64 = crate::limits::ACTION_COUNT as u64 + 8;

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
                for _ in 0..=crate::limits::STEP_COUNT_MAX + 2 {
                    let op = Op::decode(action(&fast, &mut rng));
                    let expected = slow.apply_reference(op);
                    assert_eq!(fast.apply(op), expected, "{op:?} on {slow:?}");
                    assert_eq!(fast, slow, "{op:?}");
                    assert_eq!(fast.obs, obs::blocks(&fast), "{op:?} on {fast:?}");
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
