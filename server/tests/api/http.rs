//! The HTTP endpoints of PROTOCOL.md.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn threads_are_created_listed_newest_first_and_fetched() {
    let server = TestServer::start().await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let first = server.create_thread().await;
    let (_, mut client, interrupt) = server
        .interrupted("Create a research plan for Anthropic")
        .await;

    let list: Vec<Value> = server.get_json("/api/threads").await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["title"], "Create a research plan for Anthropic");
    assert_eq!(list[0]["status"], "interrupted");
    // Extension: a waiting thread's deadline, that of its interrupt.
    assert_eq!(list[0]["expires_at"], interrupt["expires_at"]);
    assert!(list[1].get("expires_at").is_none(), "{}", list[1]);
    assert_eq!(list[1]["thread_id"], first.as_str());
    assert_eq!(list[1]["title"], "");
    assert_eq!(list[1]["status"], "idle");
    for row in &list {
        humantime::parse_rfc3339(row["updated_at"].as_str().unwrap()).unwrap();
    }

    let snapshot: Value = server
        .get_json(&format!(
            "/api/threads/{}",
            list[0]["thread_id"].as_str().unwrap()
        ))
        .await;
    assert!(snapshot.get("type").is_none());
    assert_eq!(snapshot["status"], "interrupted");
    assert_eq!(
        snapshot["pending_interrupt"]["interrupt_id"],
        interrupt["interrupt_id"]
    );
    client.approve(&interrupt).await;
    client.recv_type("run_finished").await;
}

#[tokio::test]
async fn unknown_threads_are_404_over_http_and_before_the_upgrade() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(server.url("/api/threads/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "thread_not_found");
    assert!(body["error"].as_str().unwrap().contains("nope"));

    let url = format!("ws://{}/ws/threads/nope", server.addr);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404)
        }
        other => panic!("expected a 404, got {other:?}"),
    }
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away_and_keeps_no_task() {
    let server = TestServer::start().await;
    let (_, mut client, _) = server.interrupted("research plan for Anthropic").await;
    let stopped = tokio::spawn(async move { server.stop().await });
    loop {
        match futures_util::StreamExt::next(&mut client.ws).await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1001);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    tokio::time::timeout(std::time::Duration::from_secs(5), stopped)
        .await
        .expect("the server did not stop")
        .unwrap();
}

#[tokio::test]
async fn pages_go_out_compressed_and_the_api_does_not() {
    let server = TestServer::start().await;
    let page = server
        .http
        .get(server.url("/"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-encoding"], "br");
    let api = server
        .http
        .get(server.url("/api/threads"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert!(api.headers().get("content-encoding").is_none());
    // The WebSocket upgrade still works with the same header.
    let thread_id = server.create_thread().await;
    server.connect(&thread_id).await;
}

/// A stored value this server never writes is reported as corruption with
/// a fixed sentence (the details go to the log), and the server serves on.
#[tokio::test]
async fn a_corrupt_stored_thread_is_an_error_not_a_guess() {
    let (server, _store, dir) =
        TestServer::stored(std::sync::Arc::new(server::agent::ResearchAgent)).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client
        .send_message("Create a research plan for tides")
        .await;
    client.recv_type("interrupt").await;
    drop(client);

    // Another process's view of the same file: a role nobody writes.
    let url = format!("sqlite://{}", dir.path().join("hitl.db").display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE messages SET role = 'system' WHERE thread_id = $1")
        .bind(&thread_id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    // A fresh server on the same file has to read it back.
    server.stop().await;
    let settings = server::settings::Settings {
        storage: server::settings::Storage::Database(server::settings::Database {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hitl.db").display()),
            server_id: Some("test".into()),
            lease: std::time::Duration::from_secs(15),
            listen_backoff: std::time::Duration::from_millis(500),
            durability: Default::default(),
        }),
        ..test_settings(fast_config())
    };
    let server =
        TestServer::build(settings, std::sync::Arc::new(server::agent::ResearchAgent)).await;
    let response = server
        .http
        .get(server.url(&format!("/api/threads/{thread_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "storage_failed");
    let text = body["error"].as_str().unwrap();
    assert!(!text.contains("system") && !text.contains("role"), "{text}");
    // Still serving.
    let other = server.create_thread().await;
    let (_client, snapshot) = server.connect(&other).await;
    assert_eq!(snapshot["status"], "idle");
}

#[tokio::test]
async fn an_agent_without_tool_servers_reports_none() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(server.url("/api/tools"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!([])
    );
    let page = server.http.get(server.url("/tools")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("The agent has no tool servers"), "{html}");
}
