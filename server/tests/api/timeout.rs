//! Rule 4: an unanswered interrupt expires, and a late decision is stale.

use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use server::settings::Runs;

use crate::helpers::*;

fn short_timeout() -> Runs {
    Runs {
        decision_timeout: Duration::from_millis(700),
        ..fast_config()
    }
}

#[tokio::test]
async fn an_unanswered_interrupt_expires_and_the_run_goes_on() {
    let server = TestServer::with_config(short_timeout()).await;
    let started = Instant::now();
    let (thread_id, mut client, interrupt) =
        server.interrupted("research plan for Anthropic").await;
    let expires_at = humantime::parse_rfc3339(interrupt["expires_at"].as_str().unwrap()).unwrap();
    assert!(expires_at > SystemTime::now());

    let resolved = client.recv().await;
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert_eq!(resolved["type"], "interrupt_resolved");
    assert_eq!(resolved["by"], "timeout");
    assert_eq!(resolved["interrupt_id"], interrupt["interrupt_id"]);
    assert_eq!(resolved["decision_id"], serde_json::Value::Null);
    assert_eq!(resolved["decisions"][0]["type"], "reject");

    let frames = client.recv_until("run_finished").await;
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "expired", "an expiry is not a rejection");
    assert!(streamed_text(&frames).contains("expired unanswered"));
    assert!(!streamed_text(&frames).contains("gathered sources"));
    assert_eq!(frames.last().unwrap()["status"], "completed");

    // A decision that arrives after the expiry is stale; without an id, there
    // is nothing pending.
    client.approve(&interrupt).await;
    let stale = client.recv().await;
    assert_eq!(stale["type"], "error");
    assert_eq!(stale["code"], "stale_interrupt");
    client
        .send(json!({"type": "decision", "decisions": [{"type": "approve"}]}))
        .await;
    assert_eq!(client.recv().await["code"], "no_pending_interrupt");
    let snapshot = server.runtime.thread(&thread_id).unwrap().snapshot();
    assert_eq!(snapshot.status, protocol::ThreadStatus::Idle);
}

#[tokio::test]
async fn a_decision_racing_the_expiry_wins_or_loses_but_never_both() {
    // Decisions sent around the expiry instant: each race has exactly one
    // resolution, and the losing side is told so.
    let config = Runs {
        decision_timeout: Duration::from_millis(300),
        ..fast_config()
    };
    let server = TestServer::with_config(config).await;
    let mut outcomes = (0, 0);
    for offset_ms in [280u64, 290, 295, 300, 305, 310, 320] {
        let (_, mut client, interrupt) = server.interrupted("research plan for races").await;
        tokio::time::sleep(Duration::from_millis(offset_ms)).await;
        client.approve(&interrupt).await;
        let frames = client.recv_until("run_finished").await;
        let resolved = of_type(&frames, "interrupt_resolved");
        assert_eq!(resolved.len(), 1, "{frames:#?}");
        let result = of_type(&frames, "tool_result")[0];
        if resolved[0]["by"] == "user" {
            outcomes.0 += 1;
            assert_eq!(result["status"], "executed");
            assert!(of_type(&frames, "error").is_empty());
        } else {
            outcomes.1 += 1;
            assert_eq!(result["status"], "expired");
            // The late decision is refused, before or after the run's end.
            let mut errors: Vec<_> = of_type(&frames, "error").into_iter().cloned().collect();
            if errors.is_empty() {
                errors.push(client.recv().await);
            }
            assert_eq!(errors[0]["code"], "stale_interrupt");
        }
    }
    assert_eq!(outcomes.0 + outcomes.1, 7);
}
