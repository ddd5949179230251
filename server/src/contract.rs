//! The agent contract: what an agent is, what a run starts from, and the
//! one handle through which it streams text, asks a person and reports tool
//! results. The runtime implements [`RunHost`]; agents use [`RunContext`].
//! Neither `agent` nor `runtime` imports the other: both import this.
//!
//! Invariant: nothing here names a connection, a frame or a lock.

use std::future::Future;
use std::time::Duration;

use futures_util::future::BoxFuture;
use protocol::{
    ActionRequest, Args, ChatMessage, Decision, FieldError, ReviewConfig, ToolServerReport,
    ToolStatus,
};

pub trait Agent: Send + Sync + 'static {
    /// Does the work of one run. Errors and panics fail the run alone.
    fn run(&self, ctx: RunContext, input: RunInput) -> BoxFuture<'static, Result<(), AgentError>>;

    /// Checks a person's edited arguments for `tool` before they are accepted
    /// (`invalid_decision` otherwise).
    fn validate_args(&self, tool: &str, args: &Args) -> Result<(), ArgsError> {
        let _ = (tool, args);
        Ok(())
    }

    /// The tool servers the agent uses, and how they are.
    fn tool_servers(&self) -> Vec<ToolServerReport> {
        Vec::new()
    }
}

/// Why a tool's arguments were refused: a sentence, and what is wrong with
/// each field (JSON Pointers within the arguments).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ArgsError {
    pub message: String,
    pub details: Vec<FieldError>,
}

impl ArgsError {
    /// An error about the arguments as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// An error about one field.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            details: vec![FieldError {
                path: path.into(),
                message: message.clone(),
            }],
            message,
        }
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

/// How an interrupt was answered, as the agent sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// A person decided: one decision per action request, in order.
    Decided(Vec<Decision>),
    /// Nobody decided before `expires_at`. Not a rejection: nobody said no.
    Expired,
}

/// What an agent asks a person to review.
#[derive(Clone, Debug)]
pub struct InterruptRequest {
    pub action_requests: Vec<ActionRequest>,
    pub review_configs: Vec<ReviewConfig>,
    /// Everything the agent needs to go on from this point in a fresh
    /// process; it gets it back as [`RunInput::Resume`].
    pub checkpoint: serde_json::Value,
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

/// What the runtime provides a run. Agents call it through [`RunContext`].
pub trait RunHost: Send + Sync + 'static {
    fn run_id(&self) -> &str;
    fn history(&self) -> Vec<ChatMessage>;
    fn stream_delay(&self) -> Duration;
    fn emit_text(&self, chunk: &str);
    fn tool_result(&self, name: &str, status: ToolStatus, output: &str);
    fn interrupt(&self, request: InterruptRequest)
        -> BoxFuture<'_, Result<Resolution, AgentError>>;
    fn authorize(&self, tool: &str, args: &Args) -> Result<(), AgentError>;
    /// A wait while storage is behind, if it is (back-pressure).
    fn room(&self) -> Option<BoxFuture<'_, ()>>;
}

/// The agent's handle on its run.
pub struct RunContext(Box<dyn RunHost>);

impl RunContext {
    pub fn new(host: impl RunHost) -> Self {
        Self(Box::new(host))
    }

    pub fn run_id(&self) -> &str {
        self.0.run_id()
    }

    /// The thread's messages so far, this run's user message included.
    pub fn history(&self) -> Vec<ChatMessage> {
        self.0.history()
    }

    /// The configured pause between streamed chunks.
    pub fn stream_delay(&self) -> Duration {
        self.0.stream_delay()
    }

    /// Streams a chunk of assistant text to everyone watching the thread,
    /// then waits while storage is behind: a fast agent slows down rather
    /// than filling memory with what is not yet saved.
    pub async fn emit_text(&self, chunk: &str) {
        self.0.emit_text(chunk);
        self.room().await;
    }

    pub async fn tool_result(&self, name: &str, status: ToolStatus, output: &str) {
        self.0.tool_result(name, status, output);
        self.room().await;
    }

    async fn room(&self) {
        if let Some(wait) = self.0.room() {
            wait.await;
        }
    }

    /// Asks a person to review tool calls and waits for the answer: the
    /// counterpart of LangGraph's `interrupt()`. The run's time budget stops
    /// while it waits; after the decision timeout it returns
    /// [`Resolution::Expired`].
    ///
    /// The host's future itself, not an `async fn` around it: a waiting
    /// run keeps it, and an `async fn` would keep the request twice more.
    pub fn interrupt(
        &self,
        request: InterruptRequest,
    ) -> impl Future<Output = Result<Resolution, AgentError>> + Send + '_ {
        self.0.interrupt(request)
    }

    /// Call before running a reviewed tool: `Ok` only if a person approved
    /// `tool` with exactly these arguments (as proposed, or as they edited
    /// them) in the run's latest decision: the arguments whose digest its
    /// receipt names. Anything else fails the run and the tool does not run.
    pub fn authorize(&self, tool: &str, args: &Args) -> Result<(), AgentError> {
        self.0.authorize(tool, args)
    }
}
