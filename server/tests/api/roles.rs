//! Roles and ownership over real sockets: who sees which thread, who may
//! decide, decisions that name the person, and separation of duties.

use std::sync::Arc;

use serde_json::{json, Value};
use server::agent::ResearchAgent;
use server::settings::{Runs, Settings};

use crate::helpers::{fast_config, test_settings, TestServer, FRAME_WAIT};
use crate::people::*;

#[tokio::test]
async fn a_requester_sees_only_their_threads_and_cannot_decide() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let alice = admin.add_person("alice", "requester").await;
    let bob = admin.add_person("bob", "approver").await;
    let carol = admin.add_person("carol", "viewer").await;

    let (thread_id, mut on_alice, interrupt) = alice.interrupted().await;
    // Alice may see her run's request, not decide it.
    on_alice.approve(&interrupt).await;
    let refused = on_alice.recv_type("error").await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("requester"));
    let snapshot = alice.get(&format!("/api/threads/{thread_id}")).await.1;
    assert_eq!(snapshot["status"], "interrupted", "still pending");

    // Carol (a viewer) and Bob's own thread: 404, as if they did not exist.
    for path in [
        format!("/api/threads/{thread_id}"),
        format!("/api/threads/{thread_id}/decisions"),
    ] {
        let (status, body) = carol.get(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["code"], "thread_not_found");
    }
    let (status, body) = carol.refused_upgrade(&thread_id, None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("thread_not_found"))
    );
    assert_eq!(carol.get("/api/threads").await.1, json!([]));
    let (status, body) = carol.send("POST", "/api/threads", None).await;
    assert_eq!(
        (status.as_u16(), body["code"].clone()),
        (403, json!("forbidden"))
    );

    let bobs = bob.create_thread().await;
    assert_eq!(alice.get(&format!("/api/threads/{bobs}")).await.0, 404);
    assert_eq!(alice.refused_upgrade(&bobs, None).await.0, 404);
    let listed: Vec<Value> = serde_json::from_value(alice.get("/api/threads").await.1).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["thread_id"], thread_id.as_str());

    // Bob sees every thread and decides; the decision names him.
    let listed: Vec<Value> = serde_json::from_value(bob.get("/api/threads").await.1).unwrap();
    assert_eq!(listed.len(), 2);
    let (mut on_bob, snapshot) = bob.connect(&thread_id).await;
    assert_eq!(
        snapshot["pending_interrupt"]["interrupt_id"],
        interrupt["interrupt_id"]
    );
    on_bob.approve(&interrupt).await;
    let resolved = on_bob.recv_type("interrupt_resolved").await;
    let bob_id = bob.get("/api/session").await.1["user_id"].clone();
    assert_eq!(
        resolved["decided_by"],
        json!({"user_id": bob_id, "name": "bob"})
    );
    let seen = on_alice.recv_type("interrupt_resolved").await;
    assert_eq!(
        seen["decided_by"]["name"], "bob",
        "every tab learns who decided"
    );
    assert_eq!(
        on_bob.recv_type("run_finished").await["status"],
        "completed"
    );
    let snapshot = alice.get(&format!("/api/threads/{thread_id}")).await.1;
    assert_eq!(
        snapshot["resolved_interrupts"][0]["decided_by"]["name"],
        "bob"
    );
}

#[tokio::test]
async fn runs_name_who_started_them_and_viewers_cannot_start_or_stop_them() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let alice = admin.add_person("alice", "requester").await;
    let thread_id = alice.create_thread().await;
    let (mut client, _) = alice.connect(&thread_id).await;
    client
        .send_message("Create a research plan for tides")
        .await;
    let started = client.recv_type("run_started").await;
    assert_eq!(started["started_by"]["name"], "alice");

    // An admin demotes Alice to viewer: her socket closes; signed in again
    // she still sees her thread, but may not stop its run.
    let alice_id = alice.get("/api/session").await.1["user_id"].clone();
    let (status, _) = admin
        .send(
            "PATCH",
            &format!("/api/users/{}", alice_id.as_str().unwrap()),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(closed_with(&mut client, FRAME_WAIT).await, 1008);
    let alice = Person::signed_in(&server.url(""), "alice", "alice password").await;
    let (mut client, snapshot) = alice.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "interrupted");
    client.send(json!({"type": "cancel"})).await;
    assert_eq!(client.recv_type("error").await["code"], "forbidden");
    client.send_message("again").await;
    assert_eq!(client.recv_type("error").await["code"], "forbidden");
}

#[tokio::test]
async fn with_separation_of_duties_whoever_started_a_run_cannot_approve_it() {
    let settings = Settings {
        auth: auth_on(),
        ..test_settings(Runs {
            separation_of_duties: true,
            ..fast_config()
        })
    };
    let server = TestServer::build(settings, Arc::new(ResearchAgent)).await;
    let admin = admin(&server).await;
    let bob = admin.add_person("bob", "approver").await;
    let dana = admin.add_person("dana", "approver").await;
    let (thread_id, mut on_bob, interrupt) = bob.interrupted().await;
    on_bob.approve(&interrupt).await;
    let refused = on_bob.recv_type("error").await;
    assert_eq!(refused["code"], "forbidden");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("separation of duties"),
        "{refused}"
    );
    let (mut on_dana, _) = dana.connect(&thread_id).await;
    on_dana.approve(&interrupt).await;
    let resolved = on_dana.recv_type("interrupt_resolved").await;
    assert_eq!(resolved["decided_by"]["name"], "dana");
}

#[tokio::test]
async fn admins_manage_accounts_and_others_may_not() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let bob = admin.add_person("bob", "approver").await;
    let (status, body) = bob
        .send(
            "POST",
            "/api/users",
            Some(json!({"name": "eve", "password": "eve password", "role": "admin"})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["code"].clone()),
        (403, json!("forbidden"))
    );
    assert_eq!(bob.get("/api/users").await.0, 403);

    let (status, body) = admin
        .send(
            "POST",
            "/api/users",
            Some(json!({"name": "BOB", "password": "another one", "role": "viewer"})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["code"].clone()),
        (409, json!("name_taken"))
    );
    let (status, body) = admin
        .send(
            "POST",
            "/api/users",
            Some(json!({"name": "frank", "password": "short", "role": "viewer"})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["code"].clone()),
        (400, json!("invalid_request"))
    );
    let users: Vec<Value> = serde_json::from_value(admin.get("/api/users").await.1).unwrap();
    let names: Vec<_> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "bob"]);
    assert!(users.iter().all(|u| u.get("password_hash").is_none()));

    // An admin cannot lock themselves out.
    let admin_id = users[0]["user_id"].as_str().unwrap();
    let (status, _) = admin
        .send(
            "PATCH",
            &format!("/api/users/{admin_id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 400);
}
