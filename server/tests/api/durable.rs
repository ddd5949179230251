//! Threads kept in SQLite and PostgreSQL survive the server: killed with
//! SIGKILL and started again, a pending approval still waits and a decision
//! resumes its run; one that expired meanwhile resolves as a timeout; a run
//! cut off mid-stream is marked failed.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::process::*;

const REQUEST: &str = "Create a research plan for Anthropic";

fn sqlite() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::Sqlite(dir.path().join("data"));
    (dir, storage)
}

async fn restart_with_a_pending_interrupt(storage: Storage) {
    let first = Process::start(&storage, &[]).await;
    let thread_id = first.create_thread().await;
    let (mut client, _) = first.connect(&thread_id).await;
    client.send_message(REQUEST).await;
    let interrupt = client.recv_type("interrupt").await;
    first.kill9();

    let second = Process::start(&storage, &[]).await;
    let threads = second.get("/api/threads").await;
    assert_eq!(threads[0]["thread_id"], thread_id.as_str());
    assert_eq!(threads[0]["title"], REQUEST);
    assert_eq!(threads[0]["status"], "interrupted");
    // Stored in milliseconds: the same instant to the second.
    let listed = threads[0]["expires_at"]
        .as_str()
        .expect("a waiting thread's deadline");
    assert_eq!(
        listed[..19],
        interrupt["expires_at"].as_str().unwrap()[..19]
    );
    let (mut client, snapshot) = second.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "interrupted");
    let pending = &snapshot["pending_interrupt"];
    assert_eq!(pending["interrupt_id"], interrupt["interrupt_id"]);
    assert_eq!(pending["expires_at"], interrupt["expires_at"]);
    assert_eq!(pending["action_requests"], interrupt["action_requests"]);
    assert_eq!(snapshot["messages"][0]["content"], REQUEST);
    assert!(snapshot["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("draft a research plan on Anthropic"));

    client
        .send(
            json!({"type": "decision", "interrupt_id": interrupt["interrupt_id"],
                     "decision_id": "after-restart", "decisions": [{"type": "approve"}]}),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames[0]["type"], "interrupt_resolved");
    assert!(streamed_text(&frames).contains("Survey the background and history of Anthropic"));
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    let finished = frames.last().unwrap();
    assert_eq!(finished["status"], "completed");
    let threads = second.get("/api/threads").await;
    assert!(threads[0].get("expires_at").is_none(), "{}", threads[0]);
    assert_eq!(
        finished["run_id"], interrupt["run_id"],
        "the same run went on"
    );

    let audit = second
        .get(&format!("/api/threads/{thread_id}/decisions"))
        .await;
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["interrupt_id"], interrupt["interrupt_id"]);
    assert_eq!(audit[0]["run_id"], interrupt["run_id"]);
    assert_eq!(audit[0]["decision_id"], "after-restart");
    assert_eq!(audit[0]["decisions"], json!([{"type": "approve"}]));
    assert_eq!(audit[0]["by"], "user");
    assert_eq!(audit[0]["client"], USER_AGENT);
    assert_eq!(audit[0]["connection_id"].as_str().unwrap().len(), 32);
    second.kill9();

    // And all of it is still there on the next start.
    let third = Process::start(&storage, &[]).await;
    let (_, snapshot) = third.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "idle");
    assert_eq!(snapshot["pending_interrupt"], Value::Null);
    assert_eq!(snapshot["resolved_interrupts"][0]["by"], "user");
    let roles: Vec<_> = snapshot["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "assistant", "tool", "assistant"]
    );
}

async fn expiry_while_down(storage: Storage) {
    let env = [("HITL_DECISION_TIMEOUT_SECS", "1")];
    let first = Process::start(&storage, &env).await;
    let thread_id = first.create_thread().await;
    let (mut client, _) = first.connect(&thread_id).await;
    client.send_message(REQUEST).await;
    let interrupt = client.recv_type("interrupt").await;
    first.kill9();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let second = Process::start(&storage, &env).await;
    let snapshot = wait_until_idle(&second, &thread_id).await;
    assert_eq!(snapshot["pending_interrupt"], Value::Null);
    let resolved = &snapshot["resolved_interrupts"][0];
    assert_eq!(
        resolved["interrupt"]["interrupt_id"],
        interrupt["interrupt_id"]
    );
    assert_eq!(resolved["by"], "timeout");
    let text: String = snapshot["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert!(text.contains("expired unanswered"), "{text}");

    let audit = second
        .get(&format!("/api/threads/{thread_id}/decisions"))
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 1);
    assert_eq!(audit[0]["by"], "timeout");
    assert_eq!(audit[0]["connection_id"], Value::Null);

    // A decision for it now is stale.
    let (mut client, _) = second.connect(&thread_id).await;
    client.approve(&interrupt).await;
    assert_eq!(client.recv().await["code"], "stale_interrupt");
}

async fn wait_until_idle(process: &Process, thread_id: &str) -> Value {
    for _ in 0..200 {
        let snapshot = process.get(&format!("/api/threads/{thread_id}")).await;
        if snapshot["status"] == "idle" {
            return snapshot;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("thread {thread_id} never became idle");
}

async fn a_run_cut_off_mid_stream_is_marked_failed(storage: Storage) {
    let slow = [("HITL_STREAM_DELAY_MS", "600")];
    let first = Process::start(&storage, &slow).await;
    let thread_id = first.create_thread().await;
    let (mut client, _) = first.connect(&thread_id).await;
    client.send_message(REQUEST).await;
    let started = client.recv_type("run_started").await;
    // Past the first second of streaming: some of the text is saved.
    let mut streamed = String::new();
    let begun = std::time::Instant::now();
    while begun.elapsed() < Duration::from_millis(1500) {
        streamed.push_str(
            client.recv_type("message_delta").await["content"]
                .as_str()
                .unwrap(),
        );
    }
    // Time for that save to commit; the next chunk is 600 ms away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill9();

    let second = Process::start(&storage, &[]).await;
    let threads = second.get("/api/threads").await;
    assert_eq!(threads[0]["status"], "idle");
    let runs = storage
        .query_strings("SELECT status, error FROM runs")
        .await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "failed");
    let reason = runs[0].1.as_deref().unwrap();
    assert!(
        reason.contains("server stopped while this run was working"),
        "{reason}"
    );

    let (mut client, snapshot) = second.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "idle");
    assert_eq!(snapshot["messages"][0]["content"], REQUEST);
    let kept = snapshot["messages"][1]["content"].as_str().unwrap();
    assert!(
        !kept.is_empty() && streamed.starts_with(kept),
        "{kept:?} of {streamed:?}"
    );
    client.send_message(REQUEST).await;
    let restarted = client.recv_type("run_started").await;
    assert_ne!(restarted["run_id"], started["run_id"]);
    client.recv_type("interrupt").await;
}

#[tokio::test]
async fn sqlite_restart_with_a_pending_interrupt() {
    let (_dir, storage) = sqlite();
    restart_with_a_pending_interrupt(storage).await;
}

#[tokio::test]
async fn sqlite_expiry_while_down() {
    let (_dir, storage) = sqlite();
    expiry_while_down(storage).await;
}

#[tokio::test]
async fn sqlite_a_run_cut_off_mid_stream_is_marked_failed() {
    let (_dir, storage) = sqlite();
    a_run_cut_off_mid_stream_is_marked_failed(storage).await;
}

#[tokio::test]
async fn postgres_restart_with_a_pending_interrupt() {
    if let Some(storage) = postgres().await {
        restart_with_a_pending_interrupt(storage).await;
    }
}

#[tokio::test]
async fn postgres_expiry_while_down() {
    if let Some(storage) = postgres().await {
        expiry_while_down(storage).await;
    }
}

#[tokio::test]
async fn postgres_a_run_cut_off_mid_stream_is_marked_failed() {
    if let Some(storage) = postgres().await {
        a_run_cut_off_mid_stream_is_marked_failed(storage).await;
    }
}
