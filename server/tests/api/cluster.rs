//! Several server processes on one PostgreSQL: a client on any server sees
//! and decides a run that lives on another, two simultaneous decisions on
//! two servers have exactly one winner, and a run whose server died is
//! taken over once its lease has passed.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::process::*;

const REQUEST: &str = "Create a research plan for Anthropic";

async fn two_servers(env: &[(&str, &str)]) -> Option<(Storage, Process, Process)> {
    let storage = postgres().await?;
    let a = Process::start(&storage, &[env, &[("HITL_SERVER_ID", "server-a")]].concat()).await;
    let b = Process::start(&storage, &[env, &[("HITL_SERVER_ID", "server-b")]].concat()).await;
    Some((storage, a, b))
}

/// A thread on `server` whose run waits at its interrupt.
async fn waiting_on(server: &Process) -> (String, Client, Value) {
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message(REQUEST).await;
    let interrupt = client.recv_type("interrupt").await;
    (thread_id, client, interrupt)
}

#[tokio::test]
async fn a_client_on_b_decides_a_run_that_lives_on_a() {
    let Some((_storage, a, b)) = two_servers(&[]).await else {
        return;
    };
    let thread_id = a.create_thread().await;
    let (mut on_a, _) = a.connect(&thread_id).await;
    // B loads the idle thread, then follows A's events as they happen.
    let (mut on_b, snapshot) = b.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "idle");
    on_a.send_message(REQUEST).await;
    let started = on_b.recv_type("run_started").await;
    assert_eq!(started["user_message"], REQUEST);
    let frames = on_b.recv_until("interrupt").await;
    assert!(streamed_text(&frames).contains("draft a research plan on Anthropic"));
    let interrupt = frames.last().unwrap().clone();
    assert_eq!(
        interrupt["action_requests"][0]["args"]["topic"],
        "Anthropic"
    );

    on_b.send(
        json!({"type": "decision", "interrupt_id": interrupt["interrupt_id"],
                     "decision_id": "from-b", "decisions": [{"type": "approve"}]}),
    )
    .await;
    let frames = on_b.recv_until("run_finished").await;
    assert_eq!(frames[0]["type"], "interrupt_resolved");
    assert_eq!(frames[0]["decision_id"], "from-b");
    assert!(
        streamed_text(&frames).contains("Survey the background and history of Anthropic"),
        "the run on A went on and B heard it: {frames:?}"
    );
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    assert_eq!(frames.last().unwrap()["status"], "completed");
    assert_eq!(frames.last().unwrap()["run_id"], interrupt["run_id"]);

    let frames = on_a.recv_until("run_finished").await;
    let resolved = of_type(&frames, "interrupt_resolved");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["decision_id"], "from-b");
    assert_eq!(frames.last().unwrap()["status"], "completed");

    let audit = a.get(&format!("/api/threads/{thread_id}/decisions")).await;
    assert_eq!(audit.as_array().unwrap().len(), 1);
    assert_eq!(audit[0]["server"], "server-b");
    assert_eq!(audit[0]["decision_id"], "from-b");
    // Both servers list it as finished.
    for server in [&a, &b] {
        let snapshot = server.get(&format!("/api/threads/{thread_id}")).await;
        assert_eq!(snapshot["status"], "idle");
    }
}

#[tokio::test]
async fn a_hundred_races_of_two_decisions_on_two_servers_each_have_one_winner() {
    let Some((_storage, a, b)) = two_servers(&[]).await else {
        return;
    };
    let mut winners = [0, 0];
    for race in 0..100 {
        let thread_id = a.create_thread().await;
        let (mut on_a, _) = a.connect(&thread_id).await;
        let (mut on_b, _) = b.connect(&thread_id).await;
        on_a.send_message(&format!("research plan for topic {race}"))
            .await;
        let interrupt = on_a.recv_type("interrupt").await;
        let seen_on_b = on_b.recv_type("interrupt").await;
        assert_eq!(seen_on_b["interrupt_id"], interrupt["interrupt_id"]);
        let id = &interrupt["interrupt_id"];
        let approve = json!({"type": "decision", "interrupt_id": id,
                             "decision_id": format!("a-{race}"), "decisions": [{"type": "approve"}]});
        let reject = json!({"type": "decision", "interrupt_id": id,
                            "decision_id": format!("b-{race}"),
                            "decisions": [{"type": "reject", "message": "no"}]});
        tokio::join!(on_a.send(approve), on_b.send(reject));
        let (mut frames_a, mut frames_b) = tokio::join!(
            on_a.recv_until("run_finished"),
            on_b.recv_until("run_finished")
        );
        // The loser's answer can come after the run, which the winner's
        // server ran on at once.
        let answered = |frames: &[Value]| frames.iter().any(|f| f["type"] == "error");
        while !answered(&frames_a) && !answered(&frames_b) {
            let wait = Duration::from_secs(5);
            tokio::select! {
                frame = on_a.recv() => frames_a.push(frame),
                frame = on_b.recv() => frames_b.push(frame),
                _ = tokio::time::sleep(wait) => panic!("race {race}: no loser was told: {frames_a:?} {frames_b:?}"),
            }
        }

        let winner_id = of_type(&frames_a, "interrupt_resolved")[0]["decision_id"].clone();
        assert_eq!(
            of_type(&frames_b, "interrupt_resolved")[0]["decision_id"],
            winner_id,
            "race {race}: both sides saw one resolution"
        );
        let stale = |frames: &[Value]| {
            frames
                .iter()
                .any(|f| f["type"] == "error" && f["code"] == "stale_interrupt")
        };
        let (a_lost, b_lost) = (stale(&frames_a), stale(&frames_b));
        assert!(
            a_lost != b_lost,
            "race {race}: exactly one loser: {frames_a:?} {frames_b:?}"
        );
        if winner_id == format!("a-{race}") {
            assert!(b_lost);
            winners[0] += 1;
        } else {
            assert_eq!(winner_id, format!("b-{race}"));
            assert!(a_lost);
            winners[1] += 1;
        }
        let audit = a.get(&format!("/api/threads/{thread_id}/decisions")).await;
        assert_eq!(
            audit.as_array().unwrap().len(),
            1,
            "race {race}: one record"
        );
        assert_eq!(audit[0]["decision_id"], winner_id);
    }
    eprintln!("winners: server A {}, server B {}", winners[0], winners[1]);
    assert_eq!(winners[0] + winners[1], 100);
}

#[tokio::test]
async fn a_run_whose_server_died_is_taken_over_after_its_lease() {
    let lease = [("HITL_LEASE_SECS", "1")];
    let Some((_storage, a, b)) = two_servers(&lease).await else {
        return;
    };
    let (thread_id, _on_a, interrupt) = waiting_on(&a).await;
    let (mut on_b, snapshot) = b.connect(&thread_id).await;
    assert_eq!(
        snapshot["pending_interrupt"]["interrupt_id"],
        interrupt["interrupt_id"]
    );
    a.kill9();

    // B takes the run over and tells its connections with a fresh snapshot.
    let resync = tokio::time::timeout(Duration::from_secs(10), on_b.recv_type("snapshot"))
        .await
        .expect("no takeover within 10 s");
    assert_eq!(
        resync["pending_interrupt"]["interrupt_id"],
        interrupt["interrupt_id"]
    );
    on_b.approve(&interrupt).await;
    let frames = on_b.recv_until("run_finished").await;
    assert_eq!(of_type(&frames, "interrupt_resolved").len(), 1);
    assert!(streamed_text(&frames).contains("Survey the background and history of Anthropic"));
    let finished = frames.last().unwrap();
    assert_eq!(finished["status"], "completed");
    assert_eq!(finished["run_id"], interrupt["run_id"]);
    let audit = b.get(&format!("/api/threads/{thread_id}/decisions")).await;
    assert_eq!(audit[0]["server"], "server-b");
}

#[tokio::test]
async fn a_decision_made_while_the_owner_is_down_runs_after_the_takeover() {
    let lease = [("HITL_LEASE_SECS", "2")];
    let Some((storage, a, b)) = two_servers(&lease).await else {
        return;
    };
    let (thread_id, _on_a, interrupt) = waiting_on(&a).await;
    a.kill9();
    // Decided on B at once: stored, though nobody runs the run yet.
    let (mut on_b, _) = b.connect(&thread_id).await;
    on_b.approve(&interrupt).await;
    assert_eq!(on_b.recv().await["type"], "interrupt_resolved");
    let frames = tokio::time::timeout(Duration::from_secs(15), on_b.recv_until("run_finished"))
        .await
        .expect("no takeover");
    assert_eq!(frames.last().unwrap()["status"], "completed");
    // The run's last write commits just after its last event.
    let mut owner = Vec::new();
    for _ in 0..40 {
        owner = storage
            .query_strings("SELECT status, owner FROM runs")
            .await;
        if owner[0].0 == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        owner,
        [("completed".to_owned(), Some("server-b".to_owned()))]
    );
}

#[tokio::test]
async fn cancel_on_b_stops_a_run_that_lives_on_a() {
    let Some((_storage, a, b)) = two_servers(&[]).await else {
        return;
    };
    let (thread_id, mut on_a, interrupt) = waiting_on(&a).await;
    let (mut on_b, snapshot) = b.connect(&thread_id).await;
    assert_eq!(snapshot["status"], "interrupted");
    on_b.send(json!({"type": "cancel"})).await;
    for client in [&mut on_a, &mut on_b] {
        let frames = client.recv_until("run_finished").await;
        let resolved = of_type(&frames, "interrupt_resolved");
        assert_eq!(resolved[0]["interrupt_id"], interrupt["interrupt_id"]);
        assert_eq!(resolved[0]["by"], "user");
        assert_eq!(frames.last().unwrap()["status"], "cancelled");
    }
    // B takes the next message itself: the thread is free again everywhere.
    on_b.send_message("research plan for Rust").await;
    let started = on_a.recv_type("run_started").await;
    assert_eq!(started["user_message"], "research plan for Rust");
    on_b.recv_type("interrupt").await;
}

#[tokio::test]
async fn two_servers_share_accounts_sessions_and_revocations() {
    use crate::people::{closed_with, Person};
    let signed = [
        ("HITL_AUTH", "on"),
        ("HITL_BOOTSTRAP_ADMIN", "admin:admin password"),
    ];
    let Some((_storage, a, b)) = two_servers(&signed).await else {
        return;
    };
    // Signed in on A, the same cookie works on B.
    let admin = Person::signed_in(&a.base, "admin", "admin password").await;
    let bob_on_a = admin.add_person("bob", "approver").await;
    let mut bob_on_b = Person::anonymous(&b.base);
    let cookie = bob_on_a
        .http
        .get(bob_on_a.url("/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie.status(), 200);
    assert_eq!(
        bob_on_b.sign_in("bob", "bob password").await.status(),
        200,
        "accounts are shared"
    );
    let token = bob_on_a.create_token("script").await;
    let script_on_b = Person::with_token(&b.base, token["token"].as_str().unwrap());
    assert_eq!(
        script_on_b.get("/api/session").await.1["name"],
        "bob",
        "tokens are shared"
    );

    // A run on A, decided by Bob on B: the receipt names Bob.
    let (thread_id, _on_a, interrupt) = admin.interrupted().await;
    let (mut on_b, _) = bob_on_b.connect(&thread_id).await;
    on_b.approve(&interrupt).await;
    let resolved = on_b.recv_type("interrupt_resolved").await;
    assert_eq!(resolved["decided_by"]["name"], "bob");
    on_b.recv_type("run_finished").await;
    let log = admin
        .get(&format!("/api/threads/{thread_id}/decisions"))
        .await
        .1;
    assert_eq!(log[0]["receipt"]["payload"]["decided_by"]["name"], "bob");
    assert_eq!(log[0]["server"], "server-b");

    // Revoked on A: B refuses the token and closes its sockets at once.
    let (mut script_socket, _) = script_on_b.connect(&thread_id).await;
    let token_id = token["token_id"].as_str().unwrap();
    let (status, _) = bob_on_a
        .send("DELETE", &format!("/api/tokens/{token_id}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        closed_with(&mut script_socket, Duration::from_secs(1)).await,
        1008
    );
    assert_eq!(script_on_b.get("/api/threads").await.0, 401);
    // Signed out on B: that session is gone on A too.
    let session_cookie_on_a = Person::signed_in(&a.base, "bob", "bob password").await;
    let (mut socket_on_b, _) = bob_on_b.connect(&thread_id).await;
    assert_eq!(bob_on_b.send("DELETE", "/api/session", None).await.0, 204);
    assert_eq!(
        closed_with(&mut socket_on_b, Duration::from_secs(1)).await,
        1008
    );
    assert_eq!(
        session_cookie_on_a.get("/api/session").await.0,
        200,
        "other sessions stay"
    );
    bob_on_b = Person::anonymous(&b.base);
    assert_eq!(bob_on_b.get("/api/session").await.0, 401);
}
