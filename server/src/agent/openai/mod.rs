//! An agent backed by any OpenAI-compatible `/v1/chat/completions` server
//! (Ollama, vLLM, llama.cpp, hosted APIs), with streaming and tool calls.
//!
//! A run is a loop of model turns. Text streams to the thread as it
//! arrives. Tool calls that need review become one interrupt (one action
//! request per call); the others run at once. Results go back to the model,
//! which takes the next turn, until it answers without calling a tool.

mod client;
mod offer;
mod policy;
mod stream;
mod tools;
mod wire;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use protocol::{
    ActionRequest, Args, ChatMessage, Decision, DecisionType, ReviewConfig, Role, ToolServerReport,
    ToolStatus,
};
use serde::{Deserialize, Serialize};

use crate::agent::mcp::{McpConfig, McpHub};
use crate::contract::{
    Agent, AgentError, ArgsError, InterruptRequest, Resolution, RunContext, RunInput,
};
pub use client::ModelError;
use offer::Offer;
pub use policy::ApprovalPolicy;
use wire::{Message, ToolCall};

/// Model turns one run may take before it is stopped: a model that keeps
/// calling tools never finishes otherwise.
const MAX_TURNS: u32 = 10;

const DEFAULT_SYSTEM_PROMPT: &str = "You are a careful research assistant. When the user asks \
for research, propose a plan by calling create_research_plan with a short topic and three to \
six concrete steps; a person reviews every plan before it is created. After a tool result, \
tell the user briefly what happened. If the person rejected the plan, acknowledge their reason \
and ask how to change it. If the request expired unanswered, say that nobody answered it (it \
was not rejected). Once a plan is created, carry it out step by step with the other tools you \
have (fetching pages, searching, reading files), then write the answer and cite the address of \
every page you used.";

pub use crate::settings::Secret;

#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// Up to and including `/v1`, e.g. `http://localhost:11434/v1`.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    pub approval: ApprovalPolicy,
    pub system_prompt: String,
    /// MCP servers whose tools the model is offered (`HITL_MCP_CONFIG`).
    pub mcp: Option<McpConfig>,
}

impl OpenAiConfig {
    /// OpenAI's own API, when `OPENAI_BASE_URL` names none.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";

    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            approval: ApprovalPolicy::default(),
            system_prompt: DEFAULT_SYSTEM_PROMPT.into(),
            mcp: None,
        }
    }
}

pub struct OpenAiAgent(Arc<Inner>);

struct Inner {
    client: client::ModelClient,
    /// Where the endpoint's failures are counted.
    metrics: Option<Arc<crate::metrics::Metrics>>,
    tools: Offer,
    approval: ApprovalPolicy,
    system_prompt: String,
    api_key: Option<Secret>,
}

/// The run's whole state at an interrupt: the conversation so far and the
/// tool calls waiting for review, in the order of the action requests.
#[derive(Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum Checkpoint {
    ToolReview {
        messages: Vec<Message>,
        reviewed: Vec<ToolCall>,
        turns: u32,
    },
}

impl OpenAiAgent {
    /// Starts the configured MCP servers, so call it within Tokio.
    pub fn new(config: OpenAiConfig) -> Self {
        let client =
            client::ModelClient::new(&config.base_url, config.model, config.api_key.clone());
        Self(Arc::new(Inner {
            client,
            metrics: None,
            tools: Offer::new(config.mcp.as_ref().map(McpHub::start)),
            approval: config.approval,
            system_prompt: config.system_prompt,
            api_key: config.api_key,
        }))
    }
}

impl OpenAiAgent {
    /// Counts the model endpoint's failures in `metrics`.
    pub fn counting(self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        let mut inner = Arc::try_unwrap(self.0).unwrap_or_else(|_| unreachable!("not shared yet"));
        inner.metrics = Some(metrics);
        Self(Arc::new(inner))
    }
}

impl Agent for OpenAiAgent {
    fn run(&self, ctx: RunContext, input: RunInput) -> BoxFuture<'static, Result<(), AgentError>> {
        let inner = self.0.clone();
        async move {
            let result = match input {
                RunInput::Message(_) => {
                    let messages = inner.conversation(&ctx.history());
                    inner.converse(&ctx, messages, 0, Vec::new()).await
                }
                RunInput::Resume {
                    checkpoint,
                    resolution,
                } => {
                    let Checkpoint::ToolReview {
                        mut messages,
                        reviewed,
                        turns,
                    } = serde_json::from_value(checkpoint)
                        .map_err(|e| AgentError::BadCheckpoint(e.to_string()))?;
                    let sent_back = inner
                        .apply(&ctx, &mut messages, &reviewed, resolution)
                        .await?;
                    inner.converse(&ctx, messages, turns, sent_back).await
                }
            };
            result.map_err(|e| inner.redact(e))
        }
        .boxed()
    }

    fn validate_args(&self, tool: &str, args: &Args) -> Result<(), ArgsError> {
        let tool =
            self.0.tools.find(tool).ok_or_else(|| {
                ArgsError::whole(format!("the tool `{tool}` is not on offer now"))
            })?;
        tool.check(args)
    }

    fn tool_servers(&self) -> Vec<ToolServerReport> {
        self.0
            .tools
            .hub()
            .map(|hub| hub.report())
            .unwrap_or_default()
    }
}

impl Inner {
    /// The thread's history as the model reads it: the system prompt, then
    /// user turns and assistant turns. Earlier tool results fold into the
    /// assistant turn they belong to: their call ids are not kept, and many
    /// chat templates insist that user and assistant alternate.
    fn conversation(&self, history: &[ChatMessage]) -> Vec<Message> {
        let mut messages = vec![Message::System {
            content: self.system_prompt.clone(),
        }];
        for message in history {
            let text = match message.role {
                Role::User => {
                    messages.push(Message::User {
                        content: message.content.clone(),
                    });
                    continue;
                }
                Role::Assistant => message.content.clone(),
                Role::Tool => format!("(Tool result: {})", message.content),
            };
            match messages.last_mut() {
                Some(Message::Assistant {
                    content: Some(content),
                    ..
                }) => {
                    content.push_str("\n\n");
                    content.push_str(&text);
                }
                _ => messages.push(Message::Assistant {
                    content: Some(text),
                    tool_calls: Vec::new(),
                }),
            }
        }
        messages
    }

    /// Model turns until the model answers without calling a tool.
    /// `sent_back` are edited calls that need a person again.
    async fn converse(
        &self,
        ctx: &RunContext,
        mut messages: Vec<Message>,
        mut turns: u32,
        mut sent_back: Vec<ToolCall>,
    ) -> Result<(), AgentError> {
        loop {
            // Servers starting, or listing what they said changed.
            if let Some(hub) = self.tools.hub() {
                hub.settled().await;
            }
            if !sent_back.is_empty() {
                let calls = std::mem::take(&mut sent_back);
                let request = self.review(&messages, &calls, turns, true)?;
                let resolution = ctx.interrupt(request).await?;
                sent_back = self.apply(ctx, &mut messages, &calls, resolution).await?;
                continue;
            }
            if turns >= MAX_TURNS {
                return Err(AgentError::Failed(format!(
                    "The model called tools for {MAX_TURNS} turns in a row without answering, so the run was stopped."
                )));
            }
            turns += 1;
            let turn = self
                .client
                .complete(&messages, &self.tools.definitions(), ctx)
                .await
                .map_err(|e| {
                    if let Some(metrics) = &self.metrics {
                        metrics.model_errors.inc();
                    }
                    AgentError::Failed(format!("The model request failed: {e}"))
                })?;
            messages.push(Message::Assistant {
                content: (!turn.text.is_empty()).then_some(turn.text),
                tool_calls: turn.tool_calls.clone(),
            });
            if turn.tool_calls.is_empty() {
                return Ok(());
            }
            let mut reviewed = Vec::new();
            for call in turn.tool_calls {
                let args = arguments(&call)?;
                let name = call.function.name.as_str();
                let checked = self
                    .tools
                    .find(name)
                    .ok_or_else(|| format!("there is no tool named `{name}`"))
                    .and_then(|tool| tool.check(&args).map(|()| tool).map_err(|e| e.to_string()))
                    .map_err(|e| format!("Error: {e}. Nothing was run."));
                match checked {
                    // The model hears what was wrong and may call again.
                    Err(error) => {
                        tracing::warn!(tool = name, %error, "model's tool call refused");
                        messages.push(tool_message(&call, error));
                    }
                    Ok(_) if self.approval.review(name, &args).is_some() => reviewed.push(call),
                    Ok(tool) => {
                        let output = tool.run(args).await.text;
                        ctx.tool_result(name, ToolStatus::Executed, &output).await;
                        messages.push(tool_message(&call, output));
                    }
                }
            }
            if reviewed.is_empty() {
                continue;
            }
            let request = self.review(&messages, &reviewed, turns, false)?;
            let resolution = ctx.interrupt(request).await?;
            sent_back = self
                .apply(ctx, &mut messages, &reviewed, resolution)
                .await?;
        }
    }

    /// One interrupt for every call that waits for a person.
    fn review(
        &self,
        messages: &[Message],
        reviewed: &[ToolCall],
        turns: u32,
        sent_back: bool,
    ) -> Result<InterruptRequest, AgentError> {
        let mut action_requests = Vec::new();
        let mut review_configs: Vec<ReviewConfig> = Vec::new();
        for call in reviewed {
            let name = &call.function.name;
            let args = arguments(call)?;
            // One config per tool name (the protocol's). Calls of one tool
            // may fall under different rules: the config allows what every
            // one of them allows, and rejecting is always allowed (it runs
            // nothing), so no call gets a decision its own rule denies.
            let allowed = self.approval.review(name, &args).unwrap_or_default();
            match review_configs.iter_mut().find(|c| c.action_name == *name) {
                None => review_configs.push(ReviewConfig {
                    action_name: name.clone(),
                    allowed_decisions: allowed.to_vec(),
                }),
                Some(config) => {
                    config.allowed_decisions.retain(|d| allowed.contains(d));
                    if config.allowed_decisions.is_empty() {
                        config.allowed_decisions.push(DecisionType::Reject);
                    }
                }
            }
            let description = if sent_back {
                format!("Your edit of `{name}` needs a decision of its own: the approval policy treats the edited arguments differently.")
            } else {
                format!("The model wants to run `{name}`.")
            };
            // The plan has its own card; any other tool gets a form built
            // from its schema.
            let args_schema = self
                .tools
                .find(name)
                .and_then(|tool| tool.schema())
                .filter(|_| name != protocol::CREATE_RESEARCH_PLAN);
            action_requests.push(ActionRequest {
                name: name.clone(),
                args,
                description,
                args_schema,
            });
        }
        let checkpoint = Checkpoint::ToolReview {
            messages: messages.to_vec(),
            reviewed: reviewed.to_vec(),
            turns,
        };
        Ok(InterruptRequest {
            action_requests,
            review_configs,
            checkpoint: serde_json::to_value(checkpoint).expect("checkpoints serialize"),
        })
    }

    /// Carries out a person's decisions (or the expiry) and tells the model.
    /// Returns the edited calls the policy sends back for a decision: an
    /// edit can turn a call that a person may edit into one they may not.
    async fn apply(
        &self,
        ctx: &RunContext,
        messages: &mut Vec<Message>,
        reviewed: &[ToolCall],
        resolution: Resolution,
    ) -> Result<Vec<ToolCall>, AgentError> {
        let decisions = match resolution {
            Resolution::Expired => {
                for call in reviewed {
                    let output = "Nobody answered the approval request before it expired, so \
                                  the tool did not run. It was not rejected: the user may not \
                                  have seen it.";
                    ctx.tool_result(&call.function.name, ToolStatus::Expired, output)
                        .await;
                    messages.push(tool_message(call, output.into()));
                }
                return Ok(Vec::new());
            }
            Resolution::Decided(decisions) if decisions.len() == reviewed.len() => decisions,
            Resolution::Decided(decisions) => {
                return Err(AgentError::Failed(format!(
                    "expected {} decisions, got {}",
                    reviewed.len(),
                    decisions.len()
                )))
            }
        };
        let mut sent_back = Vec::new();
        for (call, decision) in reviewed.iter().zip(decisions) {
            let name = &call.function.name;
            let (status, output) = match decision {
                Decision::Approve => {
                    let args = arguments(call)?;
                    ctx.authorize(name, &args)?;
                    (ToolStatus::Executed, self.run_tool(name, args).await)
                }
                Decision::Edit { edited_action } => {
                    ctx.authorize(name, &edited_action.args)?;
                    let review = self.approval.review(name, &edited_action.args);
                    if review.is_some_and(|allowed| !allowed.contains(&DecisionType::Edit)) {
                        let mut call = call.clone();
                        call.function.arguments =
                            serde_json::Value::Object(edited_action.args).to_string();
                        sent_back.push(call);
                        continue;
                    }
                    let output = self.run_tool(name, edited_action.args).await;
                    (
                        ToolStatus::Executed,
                        format!("The user edited the arguments before it ran. {output}"),
                    )
                }
                Decision::Reject { message } => {
                    let mut output =
                        "The user rejected this call, so the tool did not run.".to_owned();
                    if let Some(reason) =
                        message.as_deref().map(str::trim).filter(|r| !r.is_empty())
                    {
                        output.push_str(&format!(" Their reason: \"{reason}\""));
                    }
                    (ToolStatus::Rejected, output)
                }
                // The person's answer is the tool's result.
                Decision::Respond { message } => (ToolStatus::Responded, message),
            };
            ctx.tool_result(name, status, &output).await;
            messages.push(tool_message(call, output));
        }
        Ok(sent_back)
    }

    /// Runs a reviewed call. A tool that is gone (its server restarting) is
    /// an error the model reads, not a failed run.
    async fn run_tool(&self, name: &str, args: Args) -> String {
        match self.tools.find(name) {
            Some(tool) => tool.run(args).await.text,
            None => format!("Error: the tool `{name}` is not available now, so it did not run."),
        }
    }

    /// The API key never leaves in an error, whatever a server echoed back.
    fn redact(&self, error: AgentError) -> AgentError {
        match (error, &self.api_key) {
            (AgentError::Failed(text), Some(key)) if !key.expose().is_empty() => {
                AgentError::Failed(text.replace(key.expose(), "[redacted]"))
            }
            (error, _) => error,
        }
    }
}

/// The call's arguments as a JSON object. Anything else fails the run: the
/// model's output cannot be trusted to mean what a person would review.
fn arguments(call: &ToolCall) -> Result<Args, AgentError> {
    let text = call.function.arguments.trim();
    let text = if text.is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|e| {
        AgentError::Failed(format!(
            "The model called `{}` with arguments that are not a JSON object ({e}): {}",
            call.function.name,
            stream::excerpt(text)
        ))
    })
}

fn tool_message(call: &ToolCall, content: String) -> Message {
    Message::Tool {
        tool_call_id: call.id.clone(),
        content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_stays_out_of_debug_output() {
        let mut config = OpenAiConfig::new("http://localhost:11434/v1", "llama3.1");
        config.api_key = Some(Secret::new("sk-very-secret".into()));
        let printed = format!("{config:?}");
        assert!(!printed.contains("sk-very-secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }
}
