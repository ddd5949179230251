//! The agent's state at an interrupt is a checkpoint from which a fresh run
//! can go on: the path a restart takes once threads are stored.

use std::sync::Arc;

use protocol::Decision;
use server::agent::ResearchAgent;
use server::agent::Resolution;

use crate::helpers::*;

#[tokio::test]
async fn a_run_resumes_from_the_checkpoint_saved_at_its_interrupt() {
    let (server, store, _dir) = TestServer::stored(Arc::new(ResearchAgent)).await;
    let (thread_id, _client, interrupt) = server.interrupted("research plan for Anthropic").await;
    let (pending, checkpoint) = stored_checkpoint(&store, &thread_id).await;
    assert_eq!(
        pending.interrupt_id,
        interrupt["interrupt_id"].as_str().unwrap()
    );

    // Another thread stands in for the restarted server.
    let fresh = server.create_thread().await;
    let (mut client, _) = server.connect(&fresh).await;
    let thread = server.runtime.thread(&fresh).unwrap();
    thread
        .resume(
            &pending,
            checkpoint.clone(),
            Resolution::Decided(vec![Decision::Approve]),
        )
        .unwrap();
    let frames = client.recv_until("run_finished").await;
    let text = streamed_text(&frames);
    assert!(
        text.contains("Survey the background and history of Anthropic"),
        "{text}"
    );
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    assert_eq!(frames.last().unwrap()["status"], "completed");

    thread
        .resume(&pending, checkpoint, Resolution::Expired)
        .unwrap();
    let frames = client.recv_until("run_finished").await;
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "expired");

    thread
        .resume(
            &pending,
            serde_json::json!({"stage": "unheard_of"}),
            Resolution::Expired,
        )
        .unwrap();
    let finished = client.recv_type("run_finished").await;
    assert_eq!(finished["status"], "failed");
    assert!(finished["error"]
        .as_str()
        .unwrap()
        .contains("cannot resume"));
}
