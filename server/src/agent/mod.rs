//! Agents: code that answers a message, streaming text and asking for
//! decisions through a [`RunContext`].
//!
//! Architecture invariant: agents never see a connection, a frame or the
//! thread's lock. Everything they do goes through the context.

pub mod openai;
mod research;

use futures_util::future::BoxFuture;
use protocol::Args;

use crate::runtime::{Resolution, RunContext};

pub use research::ResearchAgent;

/// The agent `HITL_AGENT` names: `builtin` (the default) or `openai`.
pub fn from_env() -> Result<std::sync::Arc<dyn Agent>, crate::config::ConfigError> {
    match std::env::var("HITL_AGENT").as_deref().map(str::trim) {
        Err(_) | Ok("") | Ok("builtin") => Ok(std::sync::Arc::new(ResearchAgent)),
        Ok("openai") => {
            let config = openai::OpenAiConfig::from_env()?;
            tracing::info!(?config, "agent: OpenAI-compatible");
            Ok(std::sync::Arc::new(openai::OpenAiAgent::new(config)))
        }
        Ok(other) => Err(crate::config::ConfigError::new(
            "HITL_AGENT",
            other,
            "must be `builtin` or `openai`",
        )),
    }
}

/// What a run starts from.
#[derive(Clone, Debug)]
pub enum RunInput {
    /// A new user message (already in the thread's history).
    Message(String),
    /// Go on from a checkpoint saved at an interrupt, with its resolution.
    Resume {
        checkpoint: serde_json::Value,
        resolution: Resolution,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The run was cancelled or replaced while the agent was working.
    #[error("the run was stopped")]
    Stopped,
    /// A checkpoint this agent cannot resume from.
    #[error("cannot resume: {0}")]
    BadCheckpoint(String),
    #[error("{0}")]
    Failed(String),
}

pub trait Agent: Send + Sync + 'static {
    /// Does the work of one run. Errors and panics fail the run alone.
    fn run(&self, ctx: RunContext, input: RunInput) -> BoxFuture<'static, Result<(), AgentError>>;

    /// Checks a person's edited arguments for `tool` before they are accepted
    /// (`invalid_decision` otherwise).
    fn validate_args(&self, tool: &str, args: &Args) -> Result<(), String> {
        let _ = (tool, args);
        Ok(())
    }
}
