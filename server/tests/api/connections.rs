//! Rule 2: runs belong to the thread, not the socket; every connection sees
//! the thread's events; the first valid decision wins.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn reconnecting_mid_interrupt_gets_it_back_and_can_approve() {
    let server = TestServer::start().await;
    let (thread_id, client, interrupt) = server.interrupted("research plan for Anthropic").await;
    drop(client); // the tab closes
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (mut client, snapshot) = server.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "interrupted");
    let pending = &snapshot["pending_interrupt"];
    assert_eq!(pending["interrupt_id"], interrupt["interrupt_id"]);
    assert_eq!(pending["action_requests"], interrupt["action_requests"]);
    assert_eq!(pending["expires_at"], interrupt["expires_at"]);
    assert!(pending.get("type").is_none());
    assert_eq!(
        snapshot["messages"][0],
        json!({"role": "user", "content": "research plan for Anthropic"})
    );
    assert!(snapshot["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("Anthropic"));

    client.approve(pending).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    assert_eq!(frames.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn every_connection_sees_the_events_and_the_first_decision_wins() {
    let server = TestServer::start().await;
    let thread_id = server.create_thread().await;
    let (mut a, _) = server.connect(&thread_id).await;
    let (mut b, _) = server.connect(&thread_id).await;

    a.send_message("research plan for Anthropic").await;
    let seen_a = a.recv_until("interrupt").await;
    let seen_b = b.recv_until("interrupt").await;
    assert_eq!(seen_a, seen_b, "the two tabs saw different events");
    let interrupt = seen_a.last().unwrap().clone();

    // Both decide; A's frame is sent first, so it wins.
    a.decide(&interrupt["interrupt_id"], json!([{"type": "approve"}]))
        .await;
    let resolved_a = a.recv_type("interrupt_resolved").await;
    b.decide(&interrupt["interrupt_id"], json!([{"type": "reject"}]))
        .await;
    let rest_b = b.recv_until("run_finished").await;
    let resolved_b = of_type(&rest_b, "interrupt_resolved");
    assert_eq!(resolved_b, [&resolved_a], "B must see A's decision");
    assert_eq!(resolved_a["decisions"], json!([{"type": "approve"}]));
    assert_eq!(of_type(&rest_b, "tool_result")[0]["status"], "executed");
    // B's losing decision is refused, during or after the run.
    let mut errors: Vec<_> = of_type(&rest_b, "error").into_iter().cloned().collect();
    if errors.is_empty() {
        errors.push(b.recv().await);
    }
    assert_eq!(errors[0]["code"], "stale_interrupt");
    let rest_a = a.recv_until("run_finished").await;
    assert!(of_type(&rest_a, "error").is_empty(), "A got B's error");
}

#[tokio::test]
async fn simultaneous_decisions_have_exactly_one_winner() {
    let server = TestServer::start().await;
    for _ in 0..20 {
        let (thread_id, mut a, interrupt) = server.interrupted("research plan for races").await;
        let (mut b, _) = server.connect(&thread_id).await;
        let id = interrupt["interrupt_id"].clone();
        tokio::join!(
            a.decide(&id, json!([{"type": "approve"}])),
            b.decide(&id, json!([{"type": "reject", "message": "b"}])),
        );
        let mut frames_a = a.recv_until("run_finished").await;
        let mut frames_b = b.recv_until("run_finished").await;
        // The loser's error may trail the run.
        for (client, frames) in [(&mut a, &mut frames_a), (&mut b, &mut frames_b)] {
            if of_type(frames, "error").is_empty() {
                if let Ok(Some(Ok(m))) = tokio::time::timeout(
                    Duration::from_millis(200),
                    futures_util::StreamExt::next(&mut client.ws),
                )
                .await
                {
                    frames.push(serde_json::from_str(m.to_text().unwrap()).unwrap());
                }
            }
        }
        let resolved = of_type(&frames_a, "interrupt_resolved");
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved, of_type(&frames_b, "interrupt_resolved"));
        let errors = of_type(&frames_a, "error").len() + of_type(&frames_b, "error").len();
        assert_eq!(errors, 1, "exactly one loser: {frames_a:#?} {frames_b:#?}");
        assert_eq!(of_type(&frames_a, "tool_result").len(), 1);
    }
}

#[tokio::test]
async fn a_retried_decision_is_applied_once_and_answered_again() {
    let server = TestServer::start().await;
    let (thread_id, mut client, interrupt) =
        server.interrupted("research plan for Anthropic").await;
    let decision = json!({"type": "decision", "interrupt_id": interrupt["interrupt_id"],
        "decision_id": "click-1", "decisions": [{"type": "approve"}]});
    client.send(decision.clone()).await;
    client.send(decision.clone()).await;
    let mut frames = client.recv_until("run_finished").await;
    // The answer to the retry may come after the run ends.
    if of_type(&frames, "interrupt_resolved").len() < 2 {
        frames.push(client.recv().await);
    }
    let resolved = of_type(&frames, "interrupt_resolved");
    // The broadcast plus the answer to the retry, identical, and no error.
    assert_eq!(resolved.len(), 2, "{frames:#?}");
    assert_eq!(resolved[0], resolved[1]);
    assert_eq!(resolved[0]["decision_id"], "click-1");
    assert!(of_type(&frames, "error").is_empty());
    assert_eq!(of_type(&frames, "tool_result").len(), 1);

    // After a dropped connection, the same retry (even without the
    // interrupt id) still gets the same answer.
    drop(client);
    let (mut client, snapshot) = server.connect(&thread_id).await;
    // The snapshot's history keeps the outcome, where it happened.
    let history = &snapshot["resolved_interrupts"];
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(
        history[0]["interrupt"]["interrupt_id"],
        interrupt["interrupt_id"]
    );
    assert_eq!(history[0]["decision_id"], "click-1");
    assert_eq!(history[0]["by"], "user");
    assert_eq!(history[0]["after_message"], 2);
    client
        .send(json!({"type": "decision", "decision_id": "click-1", "decisions": [{"type": "approve"}]}))
        .await;
    assert_eq!(&client.recv().await, resolved[0]);
    client.expect_silence(Duration::from_millis(100)).await;
}

/// Streams `CHUNKS` chunks of `CHUNK` bytes as fast as it can.
struct FloodAgent;

const CHUNK: usize = 1024;
const CHUNKS: usize = 8_000;

impl server::agent::Agent for FloodAgent {
    fn run(
        &self,
        ctx: server::agent::RunContext,
        _input: server::agent::RunInput,
    ) -> futures_util::future::BoxFuture<'static, Result<(), server::agent::AgentError>> {
        Box::pin(async move {
            for i in 0..CHUNKS {
                ctx.emit_text(&flood_chunk(i)).await;
                // Lets the connection's writer run until its socket is full.
                tokio::task::yield_now().await;
            }
            Ok(())
        })
    }
}

fn flood_chunk(i: usize) -> String {
    let digit = char::from(b'0' + (i % 10) as u8);
    std::iter::repeat_n(digit, CHUNK).collect()
}

#[tokio::test]
async fn a_client_that_stops_reading_is_resynchronized_with_a_snapshot() {
    let server = TestServer::with(fast_config(), std::sync::Arc::new(FloodAgent)).await;
    let thread_id = server.create_thread().await;
    // A small receive buffer, so the server's queue for this client fills
    // before the kernel's buffers absorb the whole stream.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let url = format!("ws://{}/ws/threads/{thread_id}", server.addr);
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let mut client = Client { ws };
    assert_eq!(client.recv().await["type"], "snapshot");
    client.send_message("flood").await;
    // Not reading while the run streams 8 MiB.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Up to `run_finished`, or a snapshot of the thread idle again (if the
    // run ended while this client was behind, its end is in the snapshot).
    let mut frames = Vec::new();
    loop {
        let frame = client.recv().await;
        let done = frame["type"] == "run_finished"
            || (frame["type"] == "snapshot" && frame["status"] == "idle");
        frames.push(frame);
        if done {
            break;
        }
    }
    let snapshots: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i]["type"] == "snapshot")
        .collect();
    let last = *snapshots
        .last()
        .expect("a snapshot replaced what was missed");
    // The last snapshot's text and the deltas after it are the whole text.
    let messages = frames[last]["messages"].as_array().unwrap();
    let mut text = messages
        .last()
        .filter(|m| m["role"] == "assistant")
        .map_or(String::new(), |m| m["content"].as_str().unwrap().to_owned());
    text.push_str(&streamed_text(&frames[last + 1..]));
    let whole: String = (0..CHUNKS).map(flood_chunk).collect();
    assert_eq!(text.len(), whole.len());
    assert!(text == whole, "the text after the resync differs");
    let last = frames.last().unwrap();
    assert!(last["status"] == "completed" || last["status"] == "idle");
    // The connection is still good.
    client.assert_alive().await;
}
