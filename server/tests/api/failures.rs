//! Rule 7: a failing run fails alone. Also: several action requests in one
//! interrupt, and decision types a review config does not allow.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use protocol::{ActionRequest, Args, Decision, DecisionType, ReviewConfig, ToolStatus};
use serde_json::json;
use server::agent::{Agent, AgentError, ResearchAgent, RunInput};
use server::agent::{InterruptRequest, Resolution};
use server::settings::Runs;

use crate::helpers::*;

/// Misbehaves on cue; otherwise the built-in agent.
struct ScriptedAgent;

impl Agent for ScriptedAgent {
    fn run(
        &self,
        ctx: server::agent::RunContext,
        input: RunInput,
    ) -> BoxFuture<'static, Result<(), AgentError>> {
        let RunInput::Message(message) = input.clone() else {
            return ResearchAgent.run(ctx, input);
        };
        async move {
            match message.as_str() {
                "panic" => {
                    ctx.emit_text("about to fall over").await;
                    panic!("the agent tripped");
                }
                "fail" => Err(AgentError::Failed("the model is unavailable".into())),
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(())
                }
                "wait" => {
                    ctx.emit_text("working").await;
                    let resolution = ctx.interrupt(two_actions()).await?;
                    ctx.emit_text(&format!("{resolution:?}")).await;
                    Ok(())
                }
                "two actions" => {
                    let Resolution::Decided(decisions) = ctx.interrupt(two_actions()).await? else {
                        return Ok(());
                    };
                    for (decision, name) in
                        decisions.iter().zip(["create_research_plan", "send_email"])
                    {
                        let status = match decision {
                            Decision::Reject { .. } => ToolStatus::Rejected,
                            _ => ToolStatus::Executed,
                        };
                        ctx.tool_result(name, status, name).await;
                    }
                    Ok(())
                }
                _ => ResearchAgent.run(ctx, input).await,
            }
        }
        .boxed()
    }

    fn validate_args(&self, tool: &str, args: &Args) -> Result<(), server::agent::ArgsError> {
        ResearchAgent.validate_args(tool, args)
    }
}

fn two_actions() -> InterruptRequest {
    let plan = json!({"topic": "t", "steps": ["a"]});
    InterruptRequest {
        action_requests: vec![
            ActionRequest {
                name: "create_research_plan".into(),
                args: plan.as_object().unwrap().clone(),
                description: "plan".into(),
                args_schema: None,
            },
            ActionRequest {
                name: "send_email".into(),
                args: json!({"to": "team"}).as_object().unwrap().clone(),
                description: "email".into(),
                args_schema: None,
            },
        ],
        review_configs: vec![
            ReviewConfig {
                action_name: "create_research_plan".into(),
                allowed_decisions: DecisionType::ALL.to_vec(),
            },
            ReviewConfig {
                action_name: "send_email".into(),
                allowed_decisions: vec![DecisionType::Approve, DecisionType::Reject],
            },
        ],
        checkpoint: serde_json::Value::Null,
    }
}

async fn scripted(config: Runs) -> TestServer {
    TestServer::with(config, Arc::new(ScriptedAgent)).await
}

async fn run_to_end(server: &TestServer, message: &str) -> Vec<serde_json::Value> {
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message(message).await;
    let frames = client.recv_until("run_finished").await;
    // The thread is usable again.
    client.send_message("research plan for recovery").await;
    let interrupt = client.recv_type("interrupt").await;
    client.approve(&interrupt).await;
    assert_eq!(
        client.recv_type("run_finished").await["status"],
        "completed"
    );
    frames
}

#[tokio::test]
async fn a_panicking_or_failing_agent_fails_its_run_alone() {
    let server = scripted(fast_config()).await;
    // A bystander thread waits on an interrupt the whole time.
    let (_, mut bystander, interrupt) = server.interrupted("research plan for bystanders").await;

    let frames = run_to_end(&server, "panic").await;
    let finished = frames.last().unwrap();
    assert_eq!(finished["status"], "failed");
    assert!(
        finished["error"]
            .as_str()
            .unwrap()
            .contains("the agent tripped"),
        "{finished}"
    );

    let frames = run_to_end(&server, "fail").await;
    assert_eq!(frames.last().unwrap()["status"], "failed");
    assert_eq!(frames.last().unwrap()["error"], "the model is unavailable");

    bystander.expect_silence(Duration::from_millis(50)).await;
    bystander.approve(&interrupt).await;
    assert_eq!(
        bystander.recv_type("run_finished").await["status"],
        "completed"
    );
}

#[tokio::test]
async fn a_run_over_its_budget_fails_but_waiting_for_a_person_does_not_count() {
    let config = Runs {
        run_timeout: Duration::from_millis(500),
        ..fast_config()
    };
    let server = scripted(config).await;
    let frames = run_to_end(&server, "slow").await;
    let finished = frames.last().unwrap();
    assert_eq!(finished["status"], "failed");
    assert!(
        finished["error"].as_str().unwrap().contains("budget"),
        "{finished}"
    );

    // Waits three budgets' worth for the decision, then completes.
    let (_, mut client, interrupt) = server.interrupted("wait").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "approve"}, {"type": "approve"}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed", "{frames:#?}");
}

#[tokio::test]
async fn several_action_requests_are_decided_together() {
    let server = scripted(fast_config()).await;
    let (_, mut client, interrupt) = server.interrupted("two actions").await;
    assert_eq!(interrupt["action_requests"].as_array().unwrap().len(), 2);
    let id = &interrupt["interrupt_id"];

    // `edit` is not allowed for send_email.
    let edit =
        json!({"type": "edit", "edited_action": {"name": "send_email", "args": {"to": "all"}}});
    client.decide(id, json!([{"type": "approve"}, edit])).await;
    let error = client.recv().await;
    assert_eq!(error["code"], "invalid_decision");
    assert!(
        error["error"].as_str().unwrap().contains("send_email"),
        "{error}"
    );
    client.decide(id, json!([{"type": "approve"}])).await;
    assert_eq!(client.recv().await["code"], "invalid_decision");

    client
        .decide(
            id,
            json!([{"type": "approve"}, {"type": "reject", "message": "no spam"}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    let results: Vec<_> = of_type(&frames, "tool_result")
        .iter()
        .map(|r| (r["name"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        results,
        [
            (json!("create_research_plan"), json!("executed")),
            (json!("send_email"), json!("rejected"))
        ]
    );
}
