//! Rule 5: bad input gets a clear error and loses nothing.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{json, Value};
use server::settings::Runs;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

async fn expect_error(client: &mut Client, code: &str) -> Value {
    let frame = client.recv().await;
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], code, "{frame}");
    assert!(frame["error"].as_str().unwrap().len() > 5, "{frame}");
    frame
}

#[tokio::test]
async fn each_bad_frame_gets_its_code_and_the_interrupt_survives() {
    let config = Runs {
        max_frame_bytes: 1024,
        ..fast_config()
    };
    let server = TestServer::with_config(config).await;
    let (thread_id, mut client, interrupt) =
        server.interrupted("research plan for Anthropic").await;

    let invalid = [
        "this is not json".to_owned(),
        "[1, 2, 3]".to_owned(),
        "\"a string\"".to_owned(),
        json!({"content": "no type"}).to_string(),
        json!({"type": "launch_missiles"}).to_string(),
        json!({"type": "send_message"}).to_string(),
        json!({"type": "send_message", "content": 42}).to_string(),
        json!({"type": "decision", "decisions": "approve"}).to_string(),
        json!({"type": "decision", "decisions": [{"type": "maybe"}]}).to_string(),
        json!({"type": "decision", "decisions": [{"type": "edit"}]}).to_string(),
    ];
    for text in invalid {
        client.send_raw(text.clone()).await;
        let error = expect_error(&mut client, "invalid_message").await;
        assert!(!error["error"].as_str().unwrap().is_empty(), "{text}");
    }
    client
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .unwrap();
    expect_error(&mut client, "invalid_message").await;

    let huge = json!({"type": "send_message", "content": "x".repeat(2000)}).to_string();
    client.send_raw(huge).await;
    expect_error(&mut client, "message_too_large").await;

    client.assert_alive().await;
    let snapshot = server.runtime.thread(&thread_id).unwrap().snapshot();
    assert_eq!(snapshot.status, protocol::ThreadStatus::Interrupted);
    assert_eq!(
        snapshot.pending_interrupt.unwrap().interrupt_id,
        interrupt["interrupt_id"].as_str().unwrap()
    );
    assert_eq!(snapshot.messages.len(), 2, "bad frames changed the history");

    client.approve(&interrupt).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn invalid_decisions_keep_the_interrupt_pending() {
    let server = TestServer::start().await;
    let (thread_id, mut client, interrupt) =
        server.interrupted("research plan for Anthropic").await;
    let id = &interrupt["interrupt_id"];
    let edit = |args: Value| json!({"type": "edit", "edited_action": {"name": "create_research_plan", "args": args}});
    let bad = [
        json!([]),
        json!([{"type": "approve"}, {"type": "approve"}]),
        json!([edit(json!({"topic": "", "steps": ["a"]}))]),
        json!([edit(json!({"steps": ["a"]}))]),
        json!([edit(json!({"topic": "t", "steps": []}))]),
        json!([edit(json!({"topic": "t", "steps": ["a", "  "]}))]),
        json!([edit(json!({"topic": "t", "steps": "a, b"}))]),
        json!([edit(json!({"topic": "t", "steps": [1, 2]}))]),
        json!([{"type": "edit", "edited_action": {"name": "delete_everything", "args": {"topic": "t", "steps": ["a"]}}}]),
    ];
    for decisions in bad {
        client.decide(id, decisions.clone()).await;
        let error = expect_error(&mut client, "invalid_decision").await;
        eprintln!("{decisions} -> {}", error["error"]);
        let snapshot = server.runtime.thread(&thread_id).unwrap().snapshot();
        assert_eq!(
            snapshot.status,
            protocol::ThreadStatus::Interrupted,
            "{decisions}"
        );
    }
    client.approve(&interrupt).await;
    let resolved = client.recv().await;
    assert_eq!(resolved["type"], "interrupt_resolved");
}

#[tokio::test]
async fn send_message_while_a_run_is_active_is_already_streaming() {
    let server = TestServer::start().await;
    let (thread_id, mut client, interrupt) =
        server.interrupted("research plan for Anthropic").await;
    client.send_message("another one").await;
    let error = expect_error(&mut client, "already_streaming").await;
    assert_eq!(error["error"], "Already streaming a response");
    let snapshot = server.runtime.thread(&thread_id).unwrap().snapshot();
    assert_eq!(
        snapshot.messages.len(),
        2,
        "the refused message was recorded"
    );
    assert!(snapshot.pending_interrupt.is_some());
    client.approve(&interrupt).await;
    client.recv_type("run_finished").await;
}

#[tokio::test]
async fn decisions_and_cancels_with_nothing_to_act_on() {
    let server = TestServer::start().await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client
        .send(json!({"type": "decision", "decisions": [{"type": "approve"}]}))
        .await;
    expect_error(&mut client, "no_pending_interrupt").await;
    client
        .decide(&json!("no-such-interrupt"), json!([{"type": "approve"}]))
        .await;
    expect_error(&mut client, "stale_interrupt").await;
    client.send(json!({"type": "cancel"})).await;
    expect_error(&mut client, "no_active_run").await;
    client.send_message("   ").await;
    expect_error(&mut client, "invalid_message").await;

    // An unknown interrupt id while another is pending: stale, and the
    // pending one is untouched.
    client.send_message("research plan for Anthropic").await;
    let interrupt = client.recv_type("interrupt").await;
    client
        .decide(&json!("no-such-interrupt"), json!([{"type": "approve"}]))
        .await;
    expect_error(&mut client, "stale_interrupt").await;
    client.expect_silence(Duration::from_millis(100)).await;
    client.approve(&interrupt).await;
    assert_eq!(client.recv().await["type"], "interrupt_resolved");
}

#[tokio::test]
async fn a_flood_of_bad_frames_is_answered_in_order_and_loses_nothing() {
    let server = TestServer::start().await;
    let (thread_id, mut client, interrupt) =
        server.interrupted("research plan for Anthropic").await;
    // Sent without reading a single answer in between.
    for i in 0..300 {
        client.send_raw(format!("not json {i}")).await;
    }
    for _ in 0..300 {
        expect_error(&mut client, "invalid_message").await;
    }
    client.assert_alive().await;
    let snapshot = server.runtime.thread(&thread_id).unwrap().snapshot();
    assert!(snapshot.pending_interrupt.is_some());
    client.approve(&interrupt).await;
    assert_eq!(
        client.recv_type("run_finished").await["status"],
        "completed"
    );
}
