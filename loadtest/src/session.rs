//! One simulated browser: an HTTP connection for the REST calls and a
//! WebSocket per thread, both with TCP_NODELAY.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const FRAME_WAIT: Duration = Duration::from_secs(30);

/// The bearer token every request carries (`--token`), if any.
pub static TOKEN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

pub fn bearer() -> Option<String> {
    TOKEN.get()?.as_ref().map(|t| format!("Bearer {t}"))
}

/// A kept-alive HTTP/1.1 connection, as a browser keeps one.
pub struct Http {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Http {
    pub async fn connect(addr: &str) -> anyhow::Result<Self> {
        let tcp = TcpStream::connect(addr).await.context("connecting")?;
        tcp.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            host: addr.to_owned(),
        })
    }

    pub async fn create_thread(&mut self) -> anyhow::Result<String> {
        let mut request = hyper::Request::post("/api/threads").header("host", &self.host);
        if let Some(bearer) = bearer() {
            request = request.header("authorization", bearer);
        }
        let request = request.body(Full::default())?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        if response.status() != 201 {
            bail!("POST /api/threads answered {}", response.status());
        }
        let body = response.into_body().collect().await?.to_bytes();
        let created: Value = serde_json::from_slice(&body)?;
        Ok(created["thread_id"]
            .as_str()
            .context("no thread_id")?
            .to_owned())
    }

    /// `POST /api/session` with `body`; an error unless it signs in.
    pub async fn sign_in(&mut self, body: &str) -> anyhow::Result<()> {
        let request = hyper::Request::post("/api/session")
            .header("host", &self.host)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if status != 200 {
            bail!("POST /api/session answered {status}");
        }
        Ok(())
    }
}

/// A run parked on its interrupt.
pub struct Run {
    ws: WebSocketStream<TcpStream>,
    interrupt_id: String,
}

impl Run {
    pub async fn start(http: &mut Http, addr: &str) -> anyhow::Result<Self> {
        let thread_id = http.create_thread().await?;
        Self::start_on(addr, thread_id).await
    }

    /// Connects to the thread, sends the message and waits for the interrupt.
    pub async fn start_on(addr: &str, thread_id: String) -> anyhow::Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let url = format!("ws://{addr}/ws/threads/{thread_id}");
        let mut request = url.into_client_request()?;
        if let Some(bearer) = bearer() {
            request
                .headers_mut()
                .insert("authorization", bearer.parse()?);
        }
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config)).await?;
        let mut run = Self {
            ws,
            interrupt_id: String::new(),
        };
        run.expect("snapshot").await?;
        let message =
            json!({"type": "send_message", "content": "Create a research plan for Anthropic"});
        run.ws.send(Message::text(message.to_string())).await?;
        let interrupt = run.expect("interrupt").await?;
        run.interrupt_id = interrupt["interrupt_id"]
            .as_str()
            .context("no id")?
            .to_owned();
        Ok(run)
    }

    /// Approves, waits for the run to finish, and returns the decision's
    /// round trip: decision sent → `interrupt_resolved` received.
    pub async fn approve_and_finish(mut self) -> anyhow::Result<Duration> {
        let decision = json!({"type": "decision", "interrupt_id": self.interrupt_id,
                              "decisions": [{"type": "approve"}]});
        let sent = Instant::now();
        self.ws.send(Message::text(decision.to_string())).await?;
        self.expect("interrupt_resolved").await?;
        let round_trip = sent.elapsed();
        let finished = self.expect("run_finished").await?;
        if finished["status"] != "completed" {
            bail!("run finished {finished}");
        }
        let _ = self.ws.close(None).await;
        Ok(round_trip)
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Reads frames until one of type `kind`; an `error` frame fails.
    /// Only that frame is parsed: serde puts the tag first, so a prefix
    /// tells the type, and the tool spends its time on sockets, not JSON.
    async fn expect(&mut self, kind: &str) -> anyhow::Result<Value> {
        let wanted = format!("{{\"type\":\"{kind}\"");
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.ws.next())
                .await
                .with_context(|| format!("no {kind} within {FRAME_WAIT:?}"))?
                .context("connection closed")??;
            let Message::Text(text) = message else {
                continue;
            };
            if text.starts_with(&wanted) {
                return Ok(serde_json::from_str(&text)?);
            }
            if text.starts_with("{\"type\":\"error\"") {
                bail!("server error while waiting for {kind}: {}", text.as_str());
            }
        }
    }
}
