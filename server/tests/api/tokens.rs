//! Tokens for programs, revocation that closes sockets at once, disabled
//! accounts, and browser requests from foreign origins.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::people::*;

#[tokio::test]
async fn a_bearer_token_drives_the_whole_flow_and_is_shown_once() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let bob = admin.add_person("bob", "approver").await;
    let created = bob.create_token("load tool").await;
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("hitl_") && token.len() > 40, "{token}");
    let listed = bob.get("/api/tokens").await.1;
    assert_eq!(listed[0]["name"], "load tool");
    assert_eq!(listed[0]["revoked_at"], Value::Null);
    assert!(
        !listed.to_string().contains(token),
        "the secret is never listed"
    );

    let program = Person::with_token(&server.url(""), token);
    assert_eq!(program.get("/api/session").await.1["name"], "bob");
    let (thread_id, mut client, interrupt) = program.interrupted().await;
    client.approve(&interrupt).await;
    let resolved = client.recv_type("interrupt_resolved").await;
    assert_eq!(resolved["decided_by"]["name"], "bob");
    assert_eq!(
        client.recv_type("run_finished").await["status"],
        "completed"
    );
    assert_eq!(
        program.get(&format!("/api/threads/{thread_id}")).await.0,
        200
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_and_its_sockets_close() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let bob = admin.add_person("bob", "approver").await;
    let created = bob.create_token("script").await;
    let program = Person::with_token(&server.url(""), created["token"].as_str().unwrap());
    let (thread_id, mut client, _) = program.interrupted().await;
    // Bob's browser stays connected: only the token's sockets close.
    let (mut browser, _) = bob.connect(&thread_id).await;

    let revoked_at = Instant::now();
    let token_id = created["token_id"].as_str().unwrap();
    let (status, _) = bob
        .send("DELETE", &format!("/api/tokens/{token_id}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(closed_with(&mut client, Duration::from_secs(1)).await, 1008);
    assert!(revoked_at.elapsed() < Duration::from_secs(1));
    let (status, body) = program.get("/api/threads").await;
    assert_eq!(
        (status.as_u16(), body["code"].clone()),
        (401, json!("unauthenticated"))
    );
    assert_eq!(program.refused_upgrade(&thread_id, None).await.0, 401);
    browser.assert_alive().await;
    assert!(bob.get("/api/tokens").await.1[0]["revoked_at"].is_string());
    // Someone else's token is not theirs to revoke.
    let alice = admin.add_person("alice", "requester").await;
    let other = bob.create_token("other").await;
    let path = format!("/api/tokens/{}", other["token_id"].as_str().unwrap());
    assert_eq!(alice.send("DELETE", &path, None).await.0, 404);
}

#[tokio::test]
async fn a_disabled_account_is_refused_everywhere_and_its_sockets_close() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let bob = admin.add_person("bob", "approver").await;
    let token = bob.create_token("script").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let program = Person::with_token(&server.url(""), &token);
    let thread_id = admin.create_thread().await;
    let (mut browser, _) = bob.connect(&thread_id).await;
    let (mut script, _) = program.connect(&thread_id).await;
    let (mut admins, _) = admin.connect(&thread_id).await;

    let bob_id = bob.get("/api/session").await.1["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = admin
        .send(
            "PATCH",
            &format!("/api/users/{bob_id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["disabled"], true);
    assert_eq!(
        closed_with(&mut browser, Duration::from_secs(1)).await,
        1008
    );
    assert_eq!(closed_with(&mut script, Duration::from_secs(1)).await, 1008);
    admins.assert_alive().await;
    assert_eq!(bob.get("/api/threads").await.0, 401);
    assert_eq!(program.get("/api/threads").await.0, 401);
    let again = Person::anonymous(&server.url(""));
    assert_eq!(again.sign_in("bob", "bob password").await.status(), 401);

    // Enabled again, Bob signs in; the token works again too.
    let (status, _) = admin
        .send(
            "PATCH",
            &format!("/api/users/{bob_id}"),
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again.sign_in("bob", "bob password").await.status(), 200);
    assert_eq!(program.get("/api/threads").await.0, 200);
}

#[tokio::test]
async fn signing_out_closes_that_sessions_sockets() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let thread_id = admin.create_thread().await;
    let (mut client, _) = admin.connect(&thread_id).await;
    let other_tab = Person::signed_in(&server.url(""), ADMIN.0, ADMIN.1).await;
    let (mut other, _) = other_tab.connect(&thread_id).await;
    assert_eq!(admin.send("DELETE", "/api/session", None).await.0, 204);
    assert_eq!(closed_with(&mut client, Duration::from_secs(1)).await, 1008);
    other.assert_alive().await;
}

#[tokio::test]
async fn a_foreign_origin_is_refused_even_with_a_valid_cookie() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let thread_id = admin.create_thread().await;
    let (status, body) = admin
        .refused_upgrade(&thread_id, Some("http://evil.example"))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("forbidden_origin"))
    );
    let response = admin
        .http
        .post(admin.url("/api/threads"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "forbidden_origin");
    let response = admin
        .http
        .post(admin.url("/api/session"))
        .header("origin", "http://evil.example")
        .json(&json!({"name": "admin", "password": ADMIN.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "no sign-in from a foreign page either"
    );

    // The server's own origin, and none at all (a program), pass.
    let own = format!("http://{}", server.addr);
    let response = admin
        .http
        .post(admin.url("/api/threads"))
        .header("origin", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let request = admin.ws_request(&thread_id, Some(&own));
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
    let request = admin.ws_request(&thread_id, None);
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}

#[tokio::test]
async fn with_sign_in_off_foreign_origins_are_refused_too() {
    let server = crate::helpers::TestServer::start().await;
    let thread_id = server.create_thread().await;
    let person = Person::anonymous(&server.url(""));
    let (status, body) = person
        .refused_upgrade(&thread_id, Some("http://evil.example"))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("forbidden_origin"))
    );
    // A page whose name was made to resolve here (DNS rebinding) is foreign.
    let response = person
        .http
        .post(server.url("/api/threads"))
        .header("host", format!("rebound.example:{}", server.addr.port()))
        .header(
            "origin",
            format!("http://rebound.example:{}", server.addr.port()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let (mut client, _) = server.connect(&thread_id).await;
    client.assert_alive().await;
}
