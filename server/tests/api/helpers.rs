//! A real server on an ephemeral port, and a client that speaks the raw
//! protocol to it over a real WebSocket.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use server::agent::{Agent, ResearchAgent};
use server::runtime::Runtime;
use server::settings::{Auth, Database, Limits, Runs, Settings, Storage};
use server::startup::Application;
use server::store::Store;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long a test waits for any one frame before it fails.
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub runtime: Arc<Runtime>,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn fast_config() -> Runs {
    Runs {
        stream_delay: Duration::ZERO,
        ..Runs::default()
    }
}

/// The settings every test server starts from: an ephemeral port on
/// loopback, threads in memory, no pause between streamed chunks, and
/// sign-in off (the suites of `signin`, `roles`, `tokens` and `receipts`
/// turn it on).
pub fn test_settings(runs: Runs) -> Settings {
    let mut settings = Settings {
        runs,
        storage: Storage::Memory,
        auth: Auth {
            enabled: false,
            ..Auth::default()
        },
        // The quota suite sets its own.
        limits: Limits {
            threads_per_minute: 0,
            runs_per_minute: 0,
        },
        ..Settings::default()
    };
    settings.site.leptos.site_addr = "127.0.0.1:0".parse().unwrap();
    settings
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with(fast_config(), Arc::new(ResearchAgent)).await
    }

    pub async fn with_config(config: Runs) -> Self {
        Self::with(config, Arc::new(ResearchAgent)).await
    }

    pub async fn with(config: Runs, agent: Arc<dyn Agent>) -> Self {
        Self::build(test_settings(config), agent).await
    }

    /// A server whose threads are stored in an SQLite file in a temporary
    /// directory (deleted with the returned guard).
    pub async fn stored(agent: Arc<dyn Agent>) -> (Self, Arc<Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("hitl.db").display());
        let settings = Settings {
            storage: Storage::Database(Database {
                url,
                server_id: Some("test".into()),
                lease: Duration::from_secs(15),
                listen_backoff: Duration::from_millis(500),
                durability: Default::default(),
            }),
            data_dir: dir.path().to_owned(),
            ..test_settings(fast_config())
        };
        let server = Self::build(settings, agent).await;
        let store = server.runtime.store().unwrap().clone();
        (server, store, dir)
    }

    /// Builds and serves what `settings` describe, as the binary does.
    pub async fn build(settings: Settings, agent: Arc<dyn Agent>) -> Self {
        let app = Application::build_with(settings, agent).await.unwrap();
        let addr = app.addr();
        let runtime = app.runtime().clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            addr,
            runtime,
            http: reqwest::Client::new(),
            shutdown,
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`, its body as JSON (any status).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        response.json().await.unwrap()
    }

    pub async fn create_thread(&self) -> String {
        let response = self
            .http
            .post(self.url("/api/threads"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["thread_id"].as_str().unwrap().to_owned()
    }

    /// Connects and checks that the first frame is the snapshot.
    pub async fn connect(&self, thread_id: &str) -> (Client, Value) {
        let url = format!("ws://{}/ws/threads/{thread_id}", self.addr);
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Client { ws };
        let snapshot = client.recv().await;
        assert_eq!(snapshot["type"], "snapshot", "first frame: {snapshot}");
        assert_eq!(snapshot["thread_id"], thread_id);
        (client, snapshot)
    }

    /// A new thread, connected, with a message sent and its interrupt received.
    pub async fn interrupted(&self, content: &str) -> (String, Client, Value) {
        let thread_id = self.create_thread().await;
        let (mut client, _) = self.connect(&thread_id).await;
        client.send_message(content).await;
        let interrupt = client.recv_type("interrupt").await;
        (thread_id, client, interrupt)
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, frame: Value) {
        self.send_raw(frame.to_string()).await;
    }

    pub async fn send_raw(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn send_message(&mut self, content: &str) {
        self.send(json!({"type": "send_message", "content": content}))
            .await;
    }

    pub async fn decide(&mut self, interrupt_id: &Value, decisions: Value) {
        self.send(
            json!({"type": "decision", "interrupt_id": interrupt_id, "decisions": decisions}),
        )
        .await;
    }

    pub async fn approve(&mut self, interrupt: &Value) {
        self.decide(&interrupt["interrupt_id"], json!([{"type": "approve"}]))
            .await;
    }

    /// The next text frame, as JSON.
    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.ws.next())
                .await
                .expect("no frame within the wait")
                .expect("connection closed")
                .expect("websocket error");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Frames up to and including the first of type `kind`.
    pub async fn recv_until(&mut self, kind: &str) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.recv().await;
            let done = frame["type"] == kind;
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }

    /// The first frame of type `kind`, skipping others.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        self.recv_until(kind).await.pop().unwrap()
    }

    /// Asserts that nothing arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(frame) = tokio::time::timeout(wait, self.ws.next()).await {
            panic!("expected silence, got {frame:?}");
        }
    }

    /// A ping answered by a pong: the connection is open and being read.
    pub async fn assert_alive(&mut self) {
        self.ws
            .send(Message::Ping(b"alive?"[..].into()))
            .await
            .unwrap();
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.ws.next())
                .await
                .expect("no pong")
                .expect("closed")
                .expect("error");
            if let Message::Pong(data) = message {
                assert_eq!(&data[..], b"alive?");
                return;
            }
        }
    }
}

/// All `message_delta` content among `frames`, concatenated.
/// The checkpoint stored with a thread's pending interrupt, read back as a
/// restarted server reads it.
pub async fn stored_checkpoint(store: &Store, thread_id: &str) -> (protocol::Interrupt, Value) {
    let pending = store
        .load_thread(thread_id)
        .await
        .unwrap()
        .and_then(|t| t.pending)
        .expect("the interrupt is stored");
    (pending.interrupt, pending.checkpoint)
}

pub fn streamed_text(frames: &[Value]) -> String {
    frames
        .iter()
        .filter(|f| f["type"] == "message_delta")
        .map(|f| f["content"].as_str().unwrap())
        .collect()
}

pub fn of_type<'a>(frames: &'a [Value], kind: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| f["type"] == kind).collect()
}

/// Serves `app` on an ephemeral loopback port for the rest of the test.
pub async fn serve_on_loopback(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
