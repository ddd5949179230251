//! The happy paths: approve, edit, reject, and the incident itself.

use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn decision_sent_while_the_run_waits_is_applied_at_once() {
    // The incident of SEED.md: the approval must not wait for a timeout.
    let server = TestServer::start().await;
    let thread_id = server.create_thread().await;
    let (mut client, snapshot) = server.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "idle");
    assert_eq!(snapshot["pending_interrupt"], serde_json::Value::Null);

    client
        .send_message("Create a research plan for Anthropic")
        .await;
    let frames = client.recv_until("interrupt").await;
    assert_eq!(frames[0]["type"], "run_started");
    assert_eq!(
        frames[0]["user_message"],
        "Create a research plan for Anthropic"
    );
    let run_id = frames[0]["run_id"].clone();
    assert!(streamed_text(&frames).contains("Anthropic"));
    assert!(of_type(&frames, "message_delta")
        .iter()
        .all(|f| f["run_id"] == run_id));

    let interrupt = frames.last().unwrap();
    assert_eq!(interrupt["run_id"], run_id);
    let request = &interrupt["action_requests"][0];
    assert_eq!(request["name"], "create_research_plan");
    assert_eq!(request["args"]["topic"], "Anthropic");
    assert!(request["args"]["steps"].as_array().unwrap().len() >= 3);
    assert!(request["description"].as_str().unwrap().len() > 10);
    assert_eq!(
        interrupt["review_configs"],
        json!([{"action_name": "create_research_plan", "allowed_decisions": ["approve", "edit", "reject"]}])
    );
    let expires_at = humantime::parse_rfc3339(interrupt["expires_at"].as_str().unwrap()).unwrap();
    let left = expires_at.duration_since(SystemTime::now()).unwrap();
    assert!(
        left > Duration::from_secs(290) && left <= Duration::from_secs(300),
        "{left:?}"
    );

    let status: serde_json::Value = server.get_json(&format!("/api/threads/{thread_id}")).await;
    assert_eq!(status["status"], "interrupted");

    let sent = Instant::now();
    client.approve(interrupt).await;
    let resolved = client.recv().await;
    let round_trip = sent.elapsed();
    assert_eq!(resolved["type"], "interrupt_resolved");
    assert_eq!(resolved["interrupt_id"], interrupt["interrupt_id"]);
    assert_eq!(resolved["by"], "user");
    assert_eq!(resolved["decisions"], json!([{"type": "approve"}]));
    assert!(
        round_trip < Duration::from_secs(1),
        "decision took {round_trip:?}"
    );

    let rest = client.recv_until("run_finished").await;
    let result = of_type(&rest, "tool_result")[0];
    assert_eq!(result["status"], "executed");
    assert_eq!(result["name"], "create_research_plan");
    assert_eq!(
        rest.last().unwrap(),
        &json!({"type": "run_finished", "run_id": run_id, "status": "completed", "error": null})
    );
}

#[tokio::test]
async fn approve_executes_every_step_of_the_plan() {
    let server = TestServer::start().await;
    let (thread_id, mut client, interrupt) = server
        .interrupted("Create a research plan for Anthropic")
        .await;
    let steps: Vec<String> =
        serde_json::from_value(interrupt["action_requests"][0]["args"]["steps"].clone()).unwrap();
    client.approve(&interrupt).await;
    let frames = client.recv_until("run_finished").await;
    let text = streamed_text(&frames);
    for step in &steps {
        assert!(
            text.contains(step.as_str()),
            "{step:?} missing from {text:?}"
        );
    }

    let thread = server.runtime.thread(&thread_id).unwrap().snapshot();
    assert_eq!(thread.status, protocol::ThreadStatus::Idle);
    let roles: Vec<_> = thread.messages.iter().map(|m| m.role).collect();
    use protocol::Role::*;
    // The acknowledgement, the findings, the tool's result, the closing line.
    assert_eq!(roles, [User, Assistant, Assistant, Tool, Assistant]);
    assert!(thread.messages[2].content.contains(steps[0].as_str()));
}

#[tokio::test]
async fn edit_runs_the_edited_plan() {
    let server = TestServer::start().await;
    let (_, mut client, interrupt) = server
        .interrupted("Create a research plan for Anthropic")
        .await;
    let edited = json!({"type": "edit", "edited_action": {
        "name": "create_research_plan",
        "args": {"topic": "Constitutional AI", "steps": ["Read the paper", "Interview the authors"]}
    }});
    client
        .decide(&interrupt["interrupt_id"], json!([edited]))
        .await;
    let frames = client.recv_until("run_finished").await;
    let resolved = &frames[0];
    assert_eq!(resolved["type"], "interrupt_resolved");
    assert_eq!(resolved["decisions"][0], edited);
    let text = streamed_text(&frames);
    assert!(text.contains("Constitutional AI"), "{text}");
    assert!(text.contains("1. Read the paper"), "{text}");
    assert!(text.contains("2. Interview the authors"), "{text}");
    assert!(
        !text.contains("Survey the background"),
        "the original plan ran: {text}"
    );
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "executed");
    assert!(result["output"].as_str().unwrap().contains("2-step"));
    assert_eq!(frames.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn reject_with_a_message_skips_the_tool_and_acknowledges_the_reason() {
    let server = TestServer::start().await;
    let (_, mut client, interrupt) = server
        .interrupted("Create a research plan for Anthropic")
        .await;
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "reject", "message": "Focus on safety research instead"}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames[0]["by"], "user");
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "rejected");
    let text = streamed_text(&frames);
    assert!(text.contains("Focus on safety research instead"), "{text}");
    assert!(!text.contains("gathered sources"), "the plan ran: {text}");
    assert_eq!(frames.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn a_thread_takes_another_message_after_a_run() {
    let server = TestServer::start().await;
    let (_, mut client, interrupt) = server.interrupted("research plan for Rust").await;
    client.approve(&interrupt).await;
    client.recv_type("run_finished").await;
    client.send_message("Now a research plan for Go").await;
    let second = client.recv_type("interrupt").await;
    assert_eq!(second["action_requests"][0]["args"]["topic"], "Go");
    assert_ne!(second["interrupt_id"], interrupt["interrupt_id"]);
}
