//! Servers that stop hearing each other, and PostgreSQL itself going away:
//! a LISTEN connection killed while a decision is made on the other server,
//! a follower that misses events, and PostgreSQL restarted while an
//! approval is pending. Nothing is lost: once listening again, each server
//! catches up from storage.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;
use crate::process::*;

const REQUEST: &str = "Create a research plan for Anthropic";
/// How long a server waits before listening again: the gap the tests
/// decide in.
const GAP_MS: &str = "2000";

async fn two_servers(storage: &Storage) -> (Process, Process) {
    let env = [("HITL_LISTEN_RETRY_MS", GAP_MS)];
    let a = Process::start(
        storage,
        &[&env[..], &[("HITL_SERVER_ID", "server-a")]].concat(),
    )
    .await;
    let b = Process::start(
        storage,
        &[&env[..], &[("HITL_SERVER_ID", "server-b")]].concat(),
    )
    .await;
    (a, b)
}

/// Kills the backend of `server`'s LISTEN connection, as a network blip or
/// a database failover would.
async fn deafen(storage: &Storage, server: &str) {
    let killed = storage
        .query_strings(&format!(
            "SELECT CAST(pg_terminate_backend(pid) AS TEXT), application_name FROM pg_stat_activity \
             WHERE application_name = 'hitl-listen-{server}' AND datname = current_database()"
        ))
        .await;
    assert_eq!(killed.len(), 1, "one listener: {killed:?}");
}

#[tokio::test]
async fn a_decision_made_while_the_runs_server_is_deaf_still_reaches_the_run() {
    let Some(storage) = postgres().await else {
        return;
    };
    let (a, b) = two_servers(&storage).await;
    let thread_id = a.create_thread().await;
    let (mut on_a, _) = a.connect(&thread_id).await;
    on_a.send_message(REQUEST).await;
    let interrupt = on_a.recv_type("interrupt").await;

    let deafened = Instant::now();
    deafen(&storage, "server-a").await;
    let (mut on_b, _) = b.connect(&thread_id).await;
    on_b.approve(&interrupt).await;
    assert_eq!(on_b.recv_type("interrupt_resolved").await["by"], "user");
    // A heard nothing of it; once listening again it reads it back.
    let frames = on_a.recv_until("run_finished").await;
    let caught_up = deafened.elapsed();
    assert_eq!(
        of_type(&frames, "interrupt_resolved").len(),
        1,
        "{frames:?}"
    );
    assert_eq!(frames.last().unwrap()["status"], "completed");
    assert!(caught_up < Duration::from_secs(10), "{caught_up:?}");
    eprintln!(
        "catch-up: the run resumed {:?} after its server went deaf (of which {GAP_MS} ms the chosen gap)",
        caught_up
    );
    assert_eq!(on_b.recv_type("run_finished").await["status"], "completed");
}

#[tokio::test]
async fn a_follower_that_missed_events_is_brought_up_to_date() {
    let Some(storage) = postgres().await else {
        return;
    };
    let (a, b) = two_servers(&storage).await;
    let thread_id = a.create_thread().await;
    let (mut on_a, _) = a.connect(&thread_id).await;
    let (mut on_b, _) = b.connect(&thread_id).await;
    on_a.send_message(REQUEST).await;
    let interrupt = on_a.recv_type("interrupt").await;
    on_b.recv_type("interrupt").await;

    let deafened = Instant::now();
    deafen(&storage, "server-b").await;
    on_a.approve(&interrupt).await;
    on_a.recv_type("run_finished").await;
    // B's client is sent the thread as it is now.
    let snapshot = loop {
        let frame = on_b.recv().await;
        if frame["type"] == "snapshot" {
            break frame;
        }
    };
    eprintln!(
        "catch-up: the follower was up to date {:?} after it went deaf",
        deafened.elapsed()
    );
    assert_eq!(snapshot["status"], "idle", "{snapshot}");
    let texts: Vec<&str> = snapshot["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("The research plan is done.")),
        "{texts:?}"
    );
    assert_eq!(snapshot["resolved_interrupts"][0]["by"], "user");
    // And it follows again.
    on_a.send_message(REQUEST).await;
    assert_eq!(on_b.recv_type("interrupt").await["type"], "interrupt");
}

/// A PostgreSQL of the test's own, which it may restart.
struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// `None` where there is no PostgreSQL installed.
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .max()?;
        let dir = tempfile::tempdir().unwrap().keep();
        let port = crate::binary::free_port();
        let postgres = Self { dir, bin, port };
        if is_root() {
            Command::new("chown")
                .args(["postgres"])
                .arg(&postgres.dir)
                .status()
                .ok()?;
        }
        let initdb = postgres.run(
            "initdb",
            &["-D", &postgres.data(), "-U", "postgres", "-A", "trust"],
        );
        assert!(initdb, "initdb failed");
        postgres.ctl("start");
        Some(postgres)
    }

    fn data(&self) -> String {
        self.dir.display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs a PostgreSQL program as its own user (it refuses root).
    fn run(&self, program: &str, args: &[&str]) -> bool {
        let path = self.bin.join(program);
        let mut command = match is_root() {
            true => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&path);
                c
            }
            false => Command::new(&path),
        };
        command
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn ctl(&self, action: &str) {
        let options = format!("-p {} -k /tmp -c listen_addresses=127.0.0.1", self.port);
        let log = format!("{}/server.log", self.data());
        let ok = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-m",
                "fast",
                "-w",
                "-o",
                &options,
                action,
            ],
        );
        assert!(ok, "pg_ctl {action} failed");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

#[tokio::test]
async fn postgres_restarted_while_an_approval_is_pending() {
    // Only where the shared tests run against PostgreSQL too.
    if std::env::var("HITL_TEST_POSTGRES_URL").is_err() {
        eprintln!("HITL_TEST_POSTGRES_URL is not set: PostgreSQL case skipped");
        return;
    }
    let Some(postgres) = PrivatePostgres::start() else {
        eprintln!("no PostgreSQL installed: case skipped");
        return;
    };
    let storage = Storage::Postgres(postgres.url());
    let (a, b) = two_servers(&storage).await;
    let thread_id = a.create_thread().await;
    let (mut on_a, _) = a.connect(&thread_id).await;
    on_a.send_message(REQUEST).await;
    let interrupt = on_a.recv_type("interrupt").await;
    let (mut on_b, _) = b.connect(&thread_id).await;

    postgres.ctl("stop");
    // Down: a decision is refused, clearly, and nothing changes.
    on_b.approve(&interrupt).await;
    let refused = on_b.recv_type("error").await;
    assert_eq!(refused["code"], "storage_failed", "{refused}");
    let ready = a.http.get(a.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["code"], "not_ready");
    assert_eq!(
        a.http.get(a.url("/healthz")).send().await.unwrap().status(),
        200
    );

    postgres.ctl("start");
    // Back: the same decision goes through, and the run on A goes on.
    let started = Instant::now();
    loop {
        on_b.approve(&interrupt).await;
        // (B may also be sent the thread again, having listened again.)
        let frame = loop {
            let frame = on_b.recv().await;
            if frame["type"] != "snapshot" {
                break frame;
            }
        };
        if frame["type"] == "interrupt_resolved" {
            break;
        }
        assert_eq!(frame["code"], "storage_failed", "{frame}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "storage never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let frames = on_a.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed", "{frames:?}");
    assert_eq!(on_b.recv_type("run_finished").await["status"], "completed");
    let ready = a.http.get(a.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // Nothing was lost on the way.
    let snapshot = a.get(&format!("/api/threads/{thread_id}")).await;
    let texts = snapshot["messages"].to_string();
    assert!(texts.contains("The research plan is done."), "{texts}");
}

/// Streams `chunks` pieces of text as fast as it can, then finishes.
struct Flood(usize);

impl server::agent::Agent for Flood {
    fn run(
        &self,
        ctx: server::agent::RunContext,
        _input: server::agent::RunInput,
    ) -> futures_util::future::BoxFuture<'static, Result<(), server::agent::AgentError>> {
        let chunks = self.0;
        Box::pin(async move {
            for i in 0..chunks {
                ctx.emit_text(&format!("{i} ")).await;
            }
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_run_waits_while_storage_is_down_instead_of_filling_memory() {
    if std::env::var("HITL_TEST_POSTGRES_URL").is_err() {
        eprintln!("HITL_TEST_POSTGRES_URL is not set: PostgreSQL case skipped");
        return;
    }
    let Some(postgres) = PrivatePostgres::start() else {
        eprintln!("no PostgreSQL installed: case skipped");
        return;
    };
    const CHUNKS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let settings = server::settings::Settings {
        storage: server::settings::Storage::Database(server::settings::Database {
            url: postgres.url(),
            server_id: Some("flood".into()),
            lease: Duration::from_secs(15),
            listen_backoff: Duration::from_millis(200),
            durability: Default::default(),
        }),
        data_dir: dir.path().to_owned(),
        ..test_settings(fast_config())
    };
    let server = TestServer::build(settings, std::sync::Arc::new(Flood(CHUNKS))).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    postgres.ctl("stop");
    client.send_message("flood").await;
    // Every delta is also an event for the other servers: a write each.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let metrics = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let depth: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hitl_storage_queue_depth "))
        .unwrap()
        .parse()
        .unwrap();
    let high = server::store::HIGH_WATER as f64;
    assert!(
        depth >= high * 0.9 && depth <= high + 64.0,
        "the queue stops at its mark: {depth}"
    );
    eprintln!("back-pressure: {depth} writes queued while storage was down (mark {high})");

    postgres.ctl("start");
    let frames = tokio::time::timeout(Duration::from_secs(60), client.recv_until("run_finished"))
        .await
        .expect("the run finished once storage was back");
    assert_eq!(frames.last().unwrap()["status"], "completed");
    // (The socket itself fell behind and was sent a snapshot: read the
    // thread, and what storage kept.)
    let store = server.runtime.store().unwrap().clone();
    store.flush().await.unwrap();
    let stored = store.load_thread(&thread_id).await.unwrap().unwrap();
    let text = &stored.messages.last().unwrap().content;
    assert_eq!(text.split_whitespace().count(), CHUNKS, "no chunk lost");
    assert!(text.ends_with(&format!("{} ", CHUNKS - 1)));
}
