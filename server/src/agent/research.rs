//! The built-in research agent of PROTOCOL.md: no model, no network.

use std::future::Future;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use protocol::{
    ActionRequest, Args, Decision, DecisionType, ResearchPlan, ReviewConfig, ToolStatus,
    CREATE_RESEARCH_PLAN,
};
use serde::{Deserialize, Serialize};

use crate::contract::{
    Agent, AgentError, ArgsError, InterruptRequest, Resolution, RunContext, RunInput,
};

/// Streamed text is cut into chunks of about this many characters.
const CHUNK_CHARS: usize = 24;

#[derive(Default)]
pub struct ResearchAgent;

/// The agent's whole state at its one interrupt.
#[derive(Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum Checkpoint {
    PlanReview { plan: ResearchPlan },
}

impl Agent for ResearchAgent {
    fn run(&self, ctx: RunContext, input: RunInput) -> BoxFuture<'static, Result<(), AgentError>> {
        // One future per way in, boxed as it is: a run waiting for a
        // decision keeps its future, sized for the larger of the two if
        // one `async` block held both.
        match input {
            RunInput::Message(message) => propose(ctx, topic_of(&message)).boxed(),
            RunInput::Resume {
                checkpoint,
                resolution,
            } => async move {
                let Checkpoint::PlanReview { plan } = serde_json::from_value(checkpoint)
                    .map_err(|e| AgentError::BadCheckpoint(e.to_string()))?;
                carry_out(&ctx, plan, resolution).await
            }
            .boxed(),
        }
    }

    fn validate_args(&self, tool: &str, args: &Args) -> Result<(), ArgsError> {
        match tool {
            CREATE_RESEARCH_PLAN => ResearchPlan::parse(args)
                .map(drop)
                .map_err(|e| ArgsError::field(e.path(), e.to_string())),
            other => Err(ArgsError::whole(format!("unknown tool `{other}`"))),
        }
    }
}

/// Not an `async fn`, which would keep its arguments twice: a run waiting
/// for a decision keeps this future.
#[allow(clippy::manual_async_fn)] // kept as a `fn`: see above
fn propose(
    ctx: RunContext,
    topic: String,
) -> impl Future<Output = Result<(), AgentError>> + Send + 'static {
    async move {
        // Boxed, as what follows the decision is: a waiting run's future need
        // not have room for the streaming before it.
        Box::pin(say(
            &ctx,
            &format!(
                "I'll draft a research plan on {topic} and ask for your approval before I create it.\n"
            ),
        ))
        .await;
        let plan = default_plan(&topic);
        let request = InterruptRequest {
            action_requests: vec![ActionRequest {
                name: CREATE_RESEARCH_PLAN.into(),
                args: plan.to_args(),
                description: format!(
                    "Create a {}-step research plan on {topic}.",
                    plan.steps().len()
                ),
                args_schema: None,
            }],
            review_configs: vec![ReviewConfig {
                action_name: CREATE_RESEARCH_PLAN.into(),
                allowed_decisions: DecisionType::ALL.to_vec(),
            }],
            checkpoint: serde_json::to_value(Checkpoint::PlanReview { plan: plan.clone() })
                .expect("checkpoints serialize"),
        };
        let resolution = ctx.interrupt(request).await?;
        Box::pin(carry_out(&ctx, plan, resolution)).await
    }
}

/// Everything after the interrupt: the part a resumed run replays.
async fn carry_out(
    ctx: &RunContext,
    plan: ResearchPlan,
    resolution: Resolution,
) -> Result<(), AgentError> {
    let decision = match resolution {
        Resolution::Expired => {
            ctx.tool_result(
                CREATE_RESEARCH_PLAN,
                ToolStatus::Expired,
                "The approval request expired unanswered; the plan was not created.",
            )
            .await;
            say(ctx, "The approval request expired unanswered, so I did not create the plan. Send a message when you want to try again.\n").await;
            return Ok(());
        }
        Resolution::Decided(mut decisions) if decisions.len() == 1 => decisions.remove(0),
        Resolution::Decided(decisions) => {
            return Err(AgentError::Failed(format!(
                "expected one decision, got {}",
                decisions.len()
            )))
        }
    };
    match decision {
        Decision::Approve => execute(ctx, &plan, &plan.to_args()).await,
        Decision::Edit { edited_action } => {
            let edited = ResearchPlan::parse(&edited_action.args)
                .map_err(|e| AgentError::Failed(format!("edited plan is invalid: {e}")))?;
            say(ctx, "Using your edited plan.\n").await;
            execute(ctx, &edited, &edited_action.args).await
        }
        Decision::Reject { message } => {
            ctx.tool_result(
                CREATE_RESEARCH_PLAN,
                ToolStatus::Rejected,
                "The plan was rejected; nothing was created.",
            )
            .await;
            let reply = match message.as_deref().map(str::trim) {
                Some(reason) if !reason.is_empty() => format!(
                    "Understood, I won't create the plan. You said: \"{reason}\". Tell me how you'd like to change it.\n"
                ),
                _ => "Understood, I won't create the plan.\n".to_owned(),
            };
            say(ctx, &reply).await;
            Ok(())
        }
        // Its review config never offers `respond`; the runtime refuses it.
        Decision::Respond { .. } => Err(AgentError::Failed(
            "`respond` is not a decision this agent offers".into(),
        )),
    }
}

/// Runs the plan; `approved` are the arguments as the person approved them.
async fn execute(ctx: &RunContext, plan: &ResearchPlan, approved: &Args) -> Result<(), AgentError> {
    ctx.authorize(CREATE_RESEARCH_PLAN, approved)?;
    let topic = plan.topic();
    say(ctx, &format!("Researching {topic}:\n")).await;
    for (i, step) in plan.steps().iter().enumerate() {
        say(
            ctx,
            &format!(
                "{}. {step}: gathered sources and notes on {topic}.\n",
                i + 1
            ),
        )
        .await;
    }
    ctx.tool_result(
        CREATE_RESEARCH_PLAN,
        ToolStatus::Executed,
        &format!(
            "Created a {}-step research plan on {topic}.",
            plan.steps().len()
        ),
    )
    .await;
    say(ctx, "The research plan is done.\n").await;
    Ok(())
}

/// Streams `text` in word-aligned chunks, paced by the configured delay.
/// Without a delay there is nothing to pace: the text goes out whole.
async fn say(ctx: &RunContext, text: &str) {
    let delay = ctx.stream_delay();
    if delay == Duration::ZERO {
        ctx.emit_text(text).await;
        return;
    }
    for chunk in chunks(text, CHUNK_CHARS) {
        tokio::time::sleep(delay).await;
        ctx.emit_text(chunk).await;
    }
}

/// Splits after whitespace once a chunk reaches `size` characters.
fn chunks(text: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut count = 0;
        let cut = rest
            .char_indices()
            .find(|&(_, c)| {
                count += 1;
                count >= size && c.is_whitespace()
            })
            .map_or(rest.len(), |(i, c)| i + c.len_utf8());
        let (chunk, tail) = rest.split_at(cut);
        rest = tail;
        Some(chunk)
    })
}

/// "Create a research plan for Anthropic" → "Anthropic".
fn topic_of(message: &str) -> String {
    let trimmed = message.trim();
    let lower = trimmed.to_lowercase();
    let start = [" for ", " on ", " about ", " into "]
        .iter()
        .filter_map(|marker| lower.rfind(marker).map(|i| i + marker.len()))
        .max()
        .filter(|&i| lower.len() == trimmed.len() && i < trimmed.len());
    let clean = |s: &str| -> String {
        let s = s.trim_matches(|c: char| c.is_whitespace() || ".!?\"'".contains(c));
        s.chars().take(120).collect()
    };
    let topic = start.map(|i| clean(&trimmed[i..])).unwrap_or_default();
    if !topic.is_empty() {
        return topic;
    }
    let whole = clean(trimmed);
    if whole.is_empty() {
        "your question".into()
    } else {
        whole
    }
}

fn default_plan(topic: &str) -> ResearchPlan {
    let steps = [
        format!("Survey the background and history of {topic}"),
        format!("Identify the key people, products and publications of {topic}"),
        format!("Compare {topic} with its closest alternatives"),
        format!("Summarize open questions and risks around {topic}"),
    ];
    ResearchPlan::new(topic, &steps).expect("the default plan is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_topic_from_the_message() {
        assert_eq!(
            topic_of("Create a research plan for Anthropic"),
            "Anthropic"
        );
        assert_eq!(
            topic_of("research plan on the Rust compiler."),
            "the Rust compiler"
        );
        assert_eq!(topic_of("Tell me about   Tokio  "), "Tokio");
        assert_eq!(
            topic_of("quantum error correction"),
            "quantum error correction"
        );
        assert_eq!(topic_of("plan for ?"), "plan for");
    }

    #[test]
    fn chunks_cover_the_text_at_word_boundaries() {
        let text = "I'll draft a research plan on Anthropic and ask for your approval.";
        let parts: Vec<_> = chunks(text, 10).collect();
        assert!(parts.len() > 3);
        assert_eq!(parts.concat(), text);
        assert!(parts[..parts.len() - 1].iter().all(|p| p.ends_with(' ')));
        assert_eq!(chunks("", 10).count(), 0);
        assert_eq!(chunks("żółć gęś", 2).collect::<String>(), "żółć gęś");
    }
}
