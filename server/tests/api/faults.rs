//! Storage that fails under a running server: the SQLite file made
//! read-only, the disk full. The person gets `storage_failed`, what was not
//! saved is not applied, the server goes on serving, and it recovers by
//! itself once storage is back, having lost nothing. (PostgreSQL restarting
//! and a lost LISTEN connection are in `catchup`.) And what operators see:
//! `/metrics` and `/readyz`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use server::agent::ResearchAgent;
use server::settings::{Database, Settings, Storage};

use crate::helpers::*;

/// A server whose SQLite file lives in `dir`.
async fn stored_in(dir: &Path) -> TestServer {
    let settings = Settings {
        storage: Storage::Database(Database {
            url: format!("sqlite://{}?mode=rwc", dir.join("hitl.db").display()),
            server_id: Some("test".into()),
            lease: Duration::from_secs(15),
            listen_backoff: Duration::from_millis(500),
            durability: Default::default(),
        }),
        data_dir: dir.to_owned(),
        ..test_settings(fast_config())
    };
    TestServer::build(settings, Arc::new(ResearchAgent)).await
}

/// `chattr ±i` on the database and its log: writes fail even through open
/// descriptors, as on a file made read-only under the server. (Not the
/// shared-memory index, which SQLite maps: a write to a mapped page of an
/// immutable file is a SIGBUS, not an error.) `false` if this machine
/// cannot (not root, or a file system without the flag).
fn immutable(dir: &Path, on: bool) -> bool {
    let flag = if on { "+i" } else { "-i" };
    ["hitl.db", "hitl.db-wal"].iter().all(|name| {
        let path = dir.join(name);
        !path.exists()
            || Command::new("chattr")
                .arg(flag)
                .arg(&path)
                .status()
                .is_ok_and(|s| s.success())
    })
}

/// The thread's stored messages, read as a restarted server reads them.
async fn stored_texts(dir: &Path, thread_id: &str) -> Vec<String> {
    let server = stored_in(dir).await;
    let snapshot: Value = server.get_json(&format!("/api/threads/{thread_id}")).await;
    server.stop().await;
    snapshot["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether the server says its storage works, now.
async fn is_ready(server: &TestServer) -> bool {
    let scrape = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    scrape
        .text()
        .await
        .unwrap()
        .lines()
        .any(|l| l == "hitl_ready 1")
}

/// Waits until the server says its storage is failing (or not).
async fn ready_is(server: &TestServer, ready: bool) {
    for _ in 0..100 {
        if is_ready(server).await == ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never reported hitl_ready {}", ready as u8);
}

/// The behaviour both faults share: refused while failing, served again
/// after, nothing lost.
async fn survives(dir: &Path, fail: impl Fn(bool) -> bool) {
    let server = stored_in(dir).await;
    let (thread_id, mut client, interrupt) = server.interrupted("research plan for tides").await;
    // Threads to write into once storage fails (making one needs storage).
    let mut others = Vec::new();
    for _ in 0..MOST_WRITERS {
        let other = server.create_thread().await;
        let (writer, _) = server.connect(&other).await;
        others.push((other, writer));
    }
    if !fail(true) {
        eprintln!("this machine cannot make storage fail this way: case skipped");
        return;
    }
    // Runs that write more than storage can take now: their writes wait,
    // retried, and storage is known to be failing. (A full disk takes
    // writes for as long as the log reuses the room it has.)
    let long = "x".repeat(15_000);
    let mut written = 0;
    for (_, writer) in &mut others {
        writer
            .send_message(&format!("research plan for {long}"))
            .await;
        written += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
        if !is_ready(&server).await {
            break;
        }
    }
    ready_is(&server, false).await;

    client.approve(&interrupt).await;
    let refused = client.recv_type("error").await;
    assert_eq!(refused["code"], "storage_failed", "{refused}");
    let snapshot: Value = server.get_json(&format!("/api/threads/{thread_id}")).await;
    assert_eq!(
        snapshot["status"], "interrupted",
        "not saved, so not applied"
    );
    let created = server
        .http
        .post(server.url("/api/threads"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 500);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["code"], "storage_failed");
    assert!(!body["error"]
        .as_str()
        .unwrap()
        .contains(&dir.display().to_string()));
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    client.assert_alive().await;

    fail(false);
    ready_is(&server, true).await;
    client.approve(&interrupt).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed");
    server.create_thread().await;
    server.stop().await;
    let texts = stored_texts(dir, &thread_id).await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains("The research plan is done.")),
        "{texts:?}"
    );
    // The writes made while storage failed were kept, and landed.
    for (other, _) in [&others[0], &others[written - 1]] {
        let texts = stored_texts(dir, other).await;
        assert!(texts[0].ends_with(&long), "the long message was saved");
    }
}

/// Threads written into until storage fails.
const MOST_WRITERS: usize = 40;

#[tokio::test]
async fn an_sqlite_file_made_read_only_fails_clearly_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    survives(&path, |on| immutable(&path, on)).await;
    immutable(&path, false);
}

/// A small tmpfs, if this machine lets the tests mount one.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap().keep();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Self(dir))
    }

    /// Fills what is left, or frees it again.
    fn fill(&self, full: bool) -> bool {
        let filler = self.0.join("filler");
        if !full {
            return std::fs::remove_file(filler).is_ok();
        }
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .stderr(std::process::Stdio::null())
            .status();
        true
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the last connections may still be closing.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[tokio::test]
async fn a_full_disk_fails_clearly_and_recovers() {
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("cannot mount a tmpfs here (not root?): case skipped");
        return;
    };
    survives(&disk.0.clone(), |full| disk.fill(full)).await;
}

/// The value of a metric line `name{labels} value` in a scrape.
fn value(scrape: &str, line_start: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_what_happens_and_readiness_follows_storage() {
    let dir = tempfile::tempdir().unwrap();
    let server = stored_in(dir.path()).await;
    let scrape = || async {
        let response = server
            .http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let (_, mut client, interrupt) = server.interrupted("research plan for tides").await;
    let waiting = scrape().await;
    assert_eq!(
        value(&waiting, "hitl_interrupts_pending "),
        Some(1.0),
        "{waiting}"
    );
    assert_eq!(value(&waiting, "hitl_websockets_open "), Some(1.0));
    assert_eq!(value(&waiting, "hitl_runs_active "), Some(1.0));
    assert_eq!(value(&waiting, "hitl_ready "), Some(1.0));
    client.approve(&interrupt).await;
    client.recv_type("run_finished").await;
    let done = scrape().await;
    assert_eq!(
        value(&done, "hitl_runs_finished_total{status=\"completed\"} "),
        Some(1.0),
        "{done}"
    );
    assert_eq!(
        value(&done, "hitl_decision_latency_seconds_count "),
        Some(1.0)
    );
    assert_eq!(value(&done, "hitl_interrupts_pending "), Some(0.0));
    assert!(value(&done, "hitl_storage_commit_seconds_count ").unwrap() >= 3.0);
    assert!(done.contains("# TYPE hitl_listen_reconnects counter"));
    assert!(done.trim_end().ends_with("# EOF"));
    assert_eq!(
        server
            .http
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_memory_server_is_always_ready() {
    let server = TestServer::start().await;
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}
