//! The LLM policy (being built).

use incident_core::TaskId;

use super::episode::{Policy, View, baseline_action};
use crate::parse::ParsedAction;

/// Options of the LLM endpoint.
#[derive(Clone, Debug, clap::Args)]
pub struct LlmArgs {
    /// The model name (printed in `[START]` for every policy, as the original does).
    #[arg(long, env = "MODEL_NAME", default_value = super::DEFAULT_MODEL)]
    pub model: String,
    /// The OpenAI-compatible base URL (`/chat/completions` is appended).
    #[arg(long, env = "API_BASE_URL", default_value = super::DEFAULT_API_BASE_URL)]
    pub api_base_url: String,
}

/// The LLM endpoint's resolved configuration.
#[derive(Clone, Debug)]
pub struct LlmConfig {
    /// The model name.
    pub model: String,
}

impl LlmArgs {
    /// Resolve the configuration.
    ///
    /// # Errors
    /// No API key in the environment.
    pub fn config(&self) -> Result<LlmConfig, String> {
        Err("the LLM policy is not built yet".into())
    }
}

/// The LLM policy.
#[derive(Debug)]
pub struct LlmPolicy {
    _config: LlmConfig,
}

impl LlmPolicy {
    /// Create the policy.
    #[must_use]
    pub fn new(config: LlmConfig) -> LlmPolicy {
        LlmPolicy { _config: config }
    }
}

impl Policy for LlmPolicy {
    fn begin_task(&mut self, _task: TaskId) {}
    fn choose(&mut self, view: &View<'_>) -> ParsedAction {
        baseline_action(view.mirror, view.last_unknown)
    }
}
