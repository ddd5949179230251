//! A limit on every resource, each shown holding while the server goes on
//! serving others: stalled and idle HTTP connections, the ceiling on open
//! connections, frames over the hard limit, long messages, bodies, and
//! what one person may start per minute. And every HTTP error is JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::{json, Value};
use server::agent::ResearchAgent;
use server::settings::{Http, Limits, Runs, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::people::closed_with;

async fn server_with(http: Http, limits: Limits, runs: Runs) -> TestServer {
    let settings = Settings {
        http,
        limits,
        ..test_settings(runs)
    };
    TestServer::build(settings, Arc::new(ResearchAgent)).await
}

/// Reads until the peer closes; what it sent.
async fn read_to_close(tcp: &mut TcpStream, within: Duration) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&all).into_owned(),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection was not closed within {within:?}"),
        }
    }
}

#[tokio::test]
async fn half_sent_requests_and_idle_connections_are_closed_after_the_header_timeout() {
    let http = Http {
        header_timeout: Duration::from_secs(1),
        ..Http::default()
    };
    let server = server_with(http, Limits::default(), fast_config()).await;
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(tcp);
    }
    // Others are served meanwhile.
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    for mut tcp in stalled {
        read_to_close(&mut tcp, Duration::from_secs(5)).await;
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    // A kept-alive connection that asks nothing more is closed too.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = read_to_close(&mut idle, Duration::from_secs(5)).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    // The WebSocket is not an idle HTTP connection.
    client.assert_alive().await;
}

#[tokio::test]
async fn past_the_connection_ceiling_new_ones_get_503_and_the_open_ones_go_on() {
    let http = Http {
        max_connections: 4,
        ..Http::default()
    };
    let server = server_with(http, Limits::default(), fast_config()).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let thread_id = server.create_thread().await;
        sockets.push(server.connect(&thread_id).await.0);
    }
    // Three sockets and reqwest's kept-alive connection: at the ceiling.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let refused = read_to_close(&mut tcp, Duration::from_secs(5)).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after: 1"), "{refused}");
    let body: Value = serde_json::from_str(refused.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["code"], "overloaded");
    for socket in &mut sockets {
        socket.assert_alive().await;
    }
    // One closes; a new connection is served again.
    let mut first = sockets.remove(0);
    first.ws.close(None).await.unwrap();
    drop(first);
    let started = Instant::now();
    loop {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        if read_to_close(&mut tcp, Duration::from_secs(5))
            .await
            .starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never served again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_frame_over_the_hard_limit_is_closed_with_1009_and_others_go_on() {
    let server = TestServer::start().await;
    let (thread_id, mut other, interrupt) = server.interrupted("research plan for tides").await;
    for size in [2 * 1024 * 1024, 16 * 1024 * 1024] {
        let (mut client, _) = server.connect(&thread_id).await;
        let frame = json!({"type": "send_message", "content": "x".repeat(size)}).to_string();
        // The server may close before the whole frame is sent.
        let _ = client.ws.send(Message::text(frame)).await;
        assert_eq!(
            closed_with(&mut client, FRAME_WAIT).await,
            1009,
            "{size} bytes"
        );
    }
    other.assert_alive().await;
    other.approve(&interrupt).await;
    assert_eq!(other.recv_type("run_finished").await["status"], "completed");
}

#[tokio::test]
async fn a_message_over_the_length_cap_is_refused_and_changes_nothing() {
    let runs = Runs {
        max_message_chars: 100,
        ..fast_config()
    };
    let server = server_with(Http::default(), Limits::default(), runs).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message(&"é".repeat(101)).await;
    let error = client.recv_type("error").await;
    assert_eq!(error["code"], "message_too_large");
    assert!(
        error["error"].as_str().unwrap().contains("100 characters"),
        "{error}"
    );
    assert_eq!(
        server
            .runtime
            .thread(&thread_id)
            .unwrap()
            .snapshot()
            .messages
            .len(),
        0
    );
    client.send_message(&"é".repeat(100)).await;
    assert_eq!(client.recv_type("interrupt").await["type"], "interrupt");
}

#[tokio::test]
async fn one_person_may_start_so_many_threads_and_runs_a_minute() {
    let limits = Limits {
        threads_per_minute: 3,
        runs_per_minute: 2,
    };
    let server = server_with(Http::default(), limits, fast_config()).await;
    let mut threads = Vec::new();
    for _ in 0..3 {
        threads.push(server.create_thread().await);
    }
    let refused = server
        .http
        .post(server.url("/api/threads"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");

    let (mut client, _) = server.connect(&threads[0]).await;
    for _ in 0..2 {
        client
            .send_message("Create a research plan for Anthropic")
            .await;
        let interrupt = client.recv_type("interrupt").await;
        client.approve(&interrupt).await;
        client.recv_type("run_finished").await;
    }
    client
        .send_message("Create a research plan for Anthropic")
        .await;
    let error = client.recv_type("error").await;
    assert_eq!(error["code"], "rate_limited", "{error}");
    client.assert_alive().await;
    assert_eq!(
        server
            .runtime
            .thread(&threads[0])
            .unwrap()
            .snapshot()
            .messages
            .len(),
        10
    );
}

#[tokio::test]
async fn every_http_error_is_json_with_a_fitting_status() {
    let server = TestServer::start().await;
    let http = &server.http;
    let check = |status: u16, code: &'static str| {
        move |response: reqwest::Response| async move {
            assert_eq!(response.status(), status, "{code}");
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                content_type.starts_with("application/json"),
                "{content_type}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], code, "{body}");
            assert!(!body["error"].as_str().unwrap().is_empty(), "{body}");
            body
        }
    };
    // A path id that is not UTF-8.
    check(400, "invalid_request")(
        http.get(server.url("/api/threads/%FF%FE"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    check(404, "thread_not_found")(
        http.get(server.url("/api/threads/nope"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    check(404, "not_found")(
        http.get(server.url("/api/nothing/here"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let body = check(405, "method_not_allowed")(
        http.delete(server.url("/api/threads"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("DELETE"), "{body}");
    check(413, "payload_too_large")(
        http.post(server.url("/api/threads"))
            .body("x".repeat(4096))
            .send()
            .await
            .unwrap(),
    )
    .await;
    check(400, "invalid_request")(
        http.post(server.url("/api/session"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let missing = check(422, "invalid_request")(
        http.post(server.url("/api/session"))
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        missing["error"].as_str().unwrap().contains("password"),
        "{missing}"
    );
    check(413, "payload_too_large")(
        http.post(server.url("/api/session"))
            .json(&json!({"name": "x".repeat(20_000)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // The server goes on.
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
