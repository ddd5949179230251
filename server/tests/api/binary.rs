//! The real binary: SIGTERM stops it cleanly, and bad settings are refused
//! with a message that names them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn sigterm_closes_sockets_with_going_away_and_exits_zero() {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("HITL_IN_MEMORY", "1")
        .env("HITL_AUTH", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let created: serde_json::Value = http
        .post(format!("{base}/api/threads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!(
        "ws://127.0.0.1:{port}/ws/threads/{}",
        created["thread_id"].as_str().unwrap()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert!(matches!(ws.next().await, Some(Ok(Message::Text(_)))));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let close = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    match close {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a 1001 close, got {other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "exit status {exit}");
}

#[test]
fn a_bad_setting_is_refused_by_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("HITL_IN_MEMORY", "1")
        .env("HITL_DECISION_TIMEOUT_SECS", "five minutes")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HITL_DECISION_TIMEOUT_SECS"), "{stderr}");
    assert!(stderr.contains("five minutes"), "{stderr}");
}

#[test]
fn agent_settings_are_checked_at_start() {
    let refused = |vars: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_server"))
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("HITL_IN_MEMORY", "1")
            .env_remove("HITL_MODEL")
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = refused(&[("HITL_AGENT", "gpt")]);
    assert!(stderr.contains("HITL_AGENT=\"gpt\""), "{stderr}");
    let stderr = refused(&[("HITL_AGENT", "openai")]);
    assert!(stderr.contains("HITL_MODEL"), "{stderr}");
    let stderr = refused(&[
        ("HITL_AGENT", "openai"),
        ("HITL_MODEL", "llama3.1"),
        ("HITL_TOOL_APPROVAL", "send_email:approve"),
    ]);
    assert!(stderr.contains("unknown tool `send_email`"), "{stderr}");
}

#[test]
fn sign_in_may_be_off_only_on_loopback() {
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("LEPTOS_SITE_ADDR", format!("0.0.0.0:{}", free_port()))
        .env("HITL_IN_MEMORY", "1")
        .env("HITL_AUTH", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HITL_AUTH") && stderr.contains("loopback"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_first_start_without_accounts_prints_one_setup_link() {
    use std::io::{BufRead, BufReader};
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("HITL_IN_MEMORY", "1")
        .env_remove("HITL_BOOTSTRAP_ADMIN")
        .env_remove("HITL_AUTH")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let link = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .strip_prefix(&format!("http://127.0.0.1:{port}/setup?token="))
                .map(str::to_owned)
        })
        .expect("a setup link on stdout");
    assert!(link.len() >= 20, "a token worth guessing: {link}");
    let page = reqwest::get(format!("http://127.0.0.1:{port}/setup?token={link}"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}
