//! Agents: code that answers a message, streaming text and asking for
//! decisions through a [`RunContext`] (the contract is in [`crate::contract`]).
//!
//! Architecture invariant: agents never see a connection, a frame or the
//! thread's lock. Everything they do goes through the context.

pub mod mcp;
pub mod openai;
mod research;
mod schema;

pub use crate::contract::{
    Agent, AgentError, ArgsError, InterruptRequest, Resolution, RunContext, RunInput,
};
pub use research::ResearchAgent;

/// The agent the settings name.
pub fn from_settings(
    settings: &crate::settings::AgentSettings,
    metrics: &std::sync::Arc<crate::metrics::Metrics>,
) -> std::sync::Arc<dyn Agent> {
    use crate::settings::AgentSettings;
    match settings {
        AgentSettings::Builtin => std::sync::Arc::new(ResearchAgent),
        AgentSettings::OpenAi(config) => {
            tracing::info!(?config, "agent: OpenAI-compatible");
            let agent = openai::OpenAiAgent::new(config.clone()).counting(metrics.clone());
            std::sync::Arc::new(agent)
        }
    }
}
