//! Rule 6: cancel stops the active run.

use std::time::Duration;

use serde_json::json;
use server::settings::Runs;

use crate::helpers::*;

#[tokio::test]
async fn cancel_while_waiting_resolves_the_interrupt_as_a_rejection() {
    let server = TestServer::start().await;
    let (thread_id, mut client, interrupt) =
        server.interrupted("research plan for Anthropic").await;
    client.send(json!({"type": "cancel"})).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.len(), 2, "{frames:#?}");
    assert_eq!(frames[0]["type"], "interrupt_resolved");
    assert_eq!(frames[0]["interrupt_id"], interrupt["interrupt_id"]);
    assert_eq!(frames[0]["by"], "user");
    assert_eq!(frames[0]["decisions"][0]["type"], "reject");
    // The exact message PROTOCOL.md names, by which a client tells a stop.
    assert_eq!(
        frames[0]["decisions"][0]["message"],
        protocol::STOPPED_MESSAGE
    );
    assert_eq!(protocol::STOPPED_MESSAGE, "Cancelled by the user.");
    assert_eq!(frames[1]["status"], "cancelled");
    assert_eq!(frames[1]["run_id"], interrupt["run_id"]);

    client.approve(&interrupt).await;
    assert_eq!(client.recv().await["code"], "stale_interrupt");
    let snapshot = server.runtime.thread(&thread_id).unwrap().snapshot();
    assert_eq!(snapshot.status, protocol::ThreadStatus::Idle);
    client.send_message("research plan for Go").await;
    client.recv_type("interrupt").await;
}

#[tokio::test]
async fn cancel_while_streaming_stops_the_stream() {
    let config = Runs {
        stream_delay: Duration::from_millis(50),
        ..fast_config()
    };
    let server = TestServer::with_config(config).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("research plan for Anthropic").await;
    client.recv_type("message_delta").await;
    client.send(json!({"type": "cancel"})).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "cancelled");
    assert!(of_type(&frames, "interrupt").is_empty());
    client.expect_silence(Duration::from_millis(200)).await;
    let snapshot = server.runtime.thread(&thread_id).unwrap().snapshot();
    assert_eq!(snapshot.status, protocol::ThreadStatus::Idle);
}
