//! The real server binary as a child process on its own port, with its
//! own storage: what restart tests kill with SIGKILL and start again.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::binary::free_port;
use crate::helpers::Client;

pub const USER_AGENT: &str = "hitl-restart-test/1";

/// Where a server process keeps its threads.
#[derive(Clone, Debug)]
pub enum Storage {
    /// An SQLite file in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(String),
}

impl Storage {
    pub fn url(&self) -> String {
        match self {
            Storage::Sqlite(dir) => format!("sqlite://{}?mode=rwc", dir.join("hitl.db").display()),
            Storage::Postgres(url) => url.clone(),
        }
    }

    /// Runs one query on the stored data, for checks no API shows.
    pub async fn query_strings(&self, sql: &str) -> Vec<(String, Option<String>)> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.url()).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    }
}

/// A fresh, empty PostgreSQL database, if the tests were given a server
/// (`HITL_TEST_POSTGRES_URL`, which `test.sh` sets after starting one).
pub async fn postgres() -> Option<Storage> {
    let Ok(admin) = std::env::var("HITL_TEST_POSTGRES_URL") else {
        eprintln!("HITL_TEST_POSTGRES_URL is not set: PostgreSQL case skipped");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("hitl_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    Some(Storage::Postgres(format!("{base}/{name}")))
}

pub struct Process {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Process {
    /// Starts the binary and waits until it accepts requests.
    pub async fn start(storage: &Storage, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("HITL_STREAM_DELAY_MS", "0")
            // The same server restarted, unless a test names another.
            .env("HITL_SERVER_ID", "server-a")
            .env("RUST_LOG", "warn")
            // Sign-in has suites of its own; a test that wants it says so.
            .env("HITL_AUTH", "off")
            .env("HITL_THREADS_PER_MINUTE", "0")
            .env("HITL_RUNS_PER_MINUTE", "0")
            .env_remove("HITL_IN_MEMORY")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        match storage {
            Storage::Sqlite(dir) => command.env("HITL_DATA_DIR", dir).env_remove("DATABASE_URL"),
            // Each server its own data directory (its receipt key).
            Storage::Postgres(url) => command.env("DATABASE_URL", url).env(
                "HITL_DATA_DIR",
                std::env::temp_dir().join(format!("hitl-{port}")),
            ),
        };
        let child = command.spawn().unwrap();
        let process = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        loop {
            if let Ok(response) = process.http.get(process.url("/healthz")).send().await {
                if response.status().is_success() {
                    return process;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    pub async fn create_thread(&self) -> String {
        let response = self
            .http
            .post(self.url("/api/threads"))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["thread_id"].as_str().unwrap().to_owned()
    }

    /// Connects (with a `User-Agent`, for the audit log) and returns the
    /// snapshot.
    pub async fn connect(&self, thread_id: &str) -> (Client, Value) {
        let url = format!("{}/ws/threads/{thread_id}", self.base.replace("http", "ws"));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("user-agent", USER_AGENT.parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = Client { ws };
        let snapshot = client.recv().await;
        assert_eq!(snapshot["type"], "snapshot");
        (client, snapshot)
    }

    /// SIGKILL: no shutdown, no last writes.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
