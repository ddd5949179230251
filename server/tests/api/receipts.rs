//! Signed receipts: every resolution has one, it verifies with the key the
//! server publishes (in-process and with `server verify-receipt`), an
//! altered one does not, and a tool runs only with the arguments a receipt
//! names.

use std::process::Command;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use protocol::{ActionRequest, Args, DecisionType, Jwk, Receipt, ReviewConfig, ToolStatus};
use serde_json::{json, Value};
use server::contract::{Agent, AgentError, InterruptRequest, Resolution, RunContext, RunInput};
use server::receipts::{args_digest, verify};

use crate::people::*;

#[tokio::test]
async fn every_decision_has_a_receipt_that_verifies_with_the_published_key() {
    let (server, dir) = signed_stored_server(auth_on()).await;
    let admin = admin(&server).await;
    let bob = admin.add_person("bob", "approver").await;
    let (thread_id, mut client, interrupt) = bob.interrupted().await;
    let edited = json!({"topic": "Tides", "steps": ["Read the tables", "Ask a sailor"]});
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "edit", "edited_action": {"name": "create_research_plan", "args": edited}}]),
        )
        .await;
    assert_eq!(
        client.recv_type("run_finished").await["status"],
        "completed"
    );

    let (status, log) = bob
        .get(&format!("/api/threads/{thread_id}/decisions"))
        .await;
    assert_eq!(status, 200);
    let record = &log[0];
    assert_eq!(record["decided_by"]["name"], "bob");
    let receipt: Receipt = serde_json::from_value(record["receipt"].clone()).unwrap();
    let payload = &receipt.payload;
    assert_eq!(payload.thread_id, thread_id);
    assert_eq!(
        payload.interrupt_id,
        interrupt["interrupt_id"].as_str().unwrap()
    );
    assert_eq!(payload.decided_by.as_ref().unwrap().name, "bob");
    let proposed: Args =
        serde_json::from_value(interrupt["action_requests"][0]["args"].clone()).unwrap();
    assert_eq!(payload.actions[0].name, "create_research_plan");
    assert_eq!(payload.actions[0].args_sha256, args_digest(&proposed));
    assert_eq!(
        serde_json::to_value(&payload.decisions).unwrap(),
        record["decisions"]
    );

    let (status, key) = Person::anonymous(&server.url(""))
        .get("/api/receipts/key")
        .await;
    assert_eq!(status, 200, "the key is public");
    let key: Jwk = serde_json::from_value(key).unwrap();
    assert_eq!((key.kty.as_str(), key.crv.as_str()), ("OKP", "Ed25519"));
    assert_eq!(payload.kid, key.kid);
    verify(&receipt, &key).unwrap();
    let keys = bob.get("/api/receipts/keys").await.1;
    assert_eq!(keys["keys"][0]["x"], key.x.as_str());

    let mut forged = receipt.clone();
    forged.payload.decided_by.as_mut().unwrap().name = "alice".into();
    assert!(verify(&forged, &key).is_err());
    let mut forged = receipt.clone();
    forged.payload.decisions = vec![protocol::Decision::Approve];
    assert!(verify(&forged, &key).is_err());

    // Offline, with the published key: `server verify-receipt`.
    let receipt_file = dir.path().join("receipt.json");
    let key_file = dir.path().join("key.json");
    std::fs::write(&receipt_file, serde_json::to_string(&receipt).unwrap()).unwrap();
    std::fs::write(&key_file, serde_json::to_string(&key).unwrap()).unwrap();
    let checked = verify_receipt(&[
        receipt_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ]);
    assert!(checked.status.success(), "{checked:?}");
    assert!(String::from_utf8_lossy(&checked.stdout).contains("valid"));
    std::fs::write(&receipt_file, serde_json::to_string(&forged).unwrap()).unwrap();
    let checked = verify_receipt(&[
        receipt_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ]);
    assert!(!checked.status.success());
    assert!(
        String::from_utf8_lossy(&checked.stderr).contains("not valid"),
        "{checked:?}"
    );
    // The whole audit log as served checks out too.
    std::fs::write(&receipt_file, log.to_string()).unwrap();
    let checked = verify_receipt(&[
        receipt_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ]);
    assert!(checked.status.success(), "{checked:?}");

    // The audit page shows the verdict.
    let page = bob
        .http
        .get(server.url(&format!("/threads/{thread_id}/audit")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Signature valid"), "{html}");
    assert!(html.contains("Decided by bob"));
}

fn verify_receipt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("verify-receipt")
        .args(args)
        .env("HITL_DATA_DIR", "/nonexistent")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_stop_gets_a_receipt_that_names_who_stopped() {
    let (server, _dir) = signed_stored_server(auth_on()).await;
    let admin = admin(&server).await;
    let (thread_id, mut client, interrupt) = admin.interrupted().await;
    client.send(json!({"type": "cancel"})).await;
    client.recv_type("run_finished").await;
    let log = admin
        .get(&format!("/api/threads/{thread_id}/decisions"))
        .await
        .1;
    let receipt: Receipt = serde_json::from_value(log[0]["receipt"].clone()).unwrap();
    assert_eq!(
        receipt.payload.interrupt_id,
        interrupt["interrupt_id"].as_str().unwrap()
    );
    assert_eq!(
        receipt.payload.decided_by.as_ref().unwrap().name,
        "admin",
        "a stop names who stopped"
    );
    let key: Jwk = serde_json::from_value(admin.get("/api/receipts/key").await.1).unwrap();
    verify(&receipt, &key).unwrap();
}

/// Asks to run `echo` with `{"text": "hello"}`, then (whatever was
/// approved) tries to run it with other arguments.
struct Sneaky;

impl Agent for Sneaky {
    fn run(&self, ctx: RunContext, _input: RunInput) -> BoxFuture<'static, Result<(), AgentError>> {
        Box::pin(async move {
            let args: Args = serde_json::from_value(json!({"text": "hello"})).unwrap();
            let request = InterruptRequest {
                action_requests: vec![ActionRequest {
                    name: "echo".into(),
                    args: args.clone(),
                    description: "Echo a greeting.".into(),
                    args_schema: None,
                }],
                review_configs: vec![ReviewConfig {
                    action_name: "echo".into(),
                    allowed_decisions: DecisionType::ALL.to_vec(),
                }],
                checkpoint: Value::Null,
            };
            let Resolution::Decided(_) = ctx.interrupt(request).await? else {
                return Ok(());
            };
            ctx.authorize("echo", &args)?;
            ctx.tool_result("echo", ToolStatus::Executed, "hello").await;
            let other: Args = serde_json::from_value(json!({"text": "rm -rf /"})).unwrap();
            ctx.authorize("echo", &other)?;
            ctx.tool_result("echo", ToolStatus::Executed, "rm -rf /")
                .await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_tool_runs_only_with_the_arguments_a_person_approved() {
    let server =
        crate::helpers::TestServer::with(crate::helpers::fast_config(), Arc::new(Sneaky)).await;
    let (_, mut client, interrupt) = server.interrupted("hi").await;
    client.approve(&interrupt).await;
    let frames = client.recv_until("run_finished").await;
    let results = crate::helpers::of_type(&frames, "tool_result");
    assert_eq!(results.len(), 1, "only the approved call ran: {frames:?}");
    assert_eq!(results[0]["output"], "hello");
    let finished = frames.last().unwrap();
    assert_eq!(finished["status"], "failed");
    assert!(
        finished["error"]
            .as_str()
            .unwrap()
            .contains("not the ones a person approved"),
        "{finished}"
    );
}
