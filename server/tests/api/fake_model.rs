//! A real HTTP server on an ephemeral port that answers
//! `POST /v1/chat/completions` the way OpenAI's API does, byte for byte,
//! from a script, and records every request it gets.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use server::agent::openai::{OpenAiAgent, OpenAiConfig, Secret};

pub const API_KEY: &str = "sk-test-0123456789abcdef";
pub const MODEL: &str = "test-model";

/// One scripted answer.
pub enum Reply {
    /// A `text/event-stream` body, sent in pieces that cut across events.
    Stream(Vec<u8>),
    /// An error answer: status, extra headers, body.
    Status(u16, Vec<(&'static str, String)>, String),
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    requests: Vec<(HeaderMap, Value)>,
}

pub struct FakeModel {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl FakeModel {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            requests: Vec::new(),
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .with_state(script.clone());
        let addr = crate::helpers::serve_on_loopback(app).await;
        Self {
            base_url: format!("http://{addr}/v1"),
            script,
        }
    }

    /// An agent that talks to this server with a test API key.
    pub fn agent(&self, configure: impl FnOnce(&mut OpenAiConfig)) -> Arc<OpenAiAgent> {
        let mut config = OpenAiConfig::new(&self.base_url, MODEL);
        config.api_key = Some(Secret::new(API_KEY.into()));
        configure(&mut config);
        Arc::new(OpenAiAgent::new(config))
    }

    /// The bodies of the requests so far.
    pub fn requests(&self) -> Vec<Value> {
        let script = self.script.lock().unwrap();
        script
            .requests
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }

    pub fn headers(&self, index: usize) -> HeaderMap {
        self.script.lock().unwrap().requests[index].0.clone()
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let reply = {
        let mut script = script.lock().unwrap();
        script
            .requests
            .push((headers, serde_json::from_str(&body).unwrap()));
        script.replies.pop_front()
    };
    match reply {
        None => error(500, "the test scripted no more answers"),
        Some(Reply::Status(status, headers, body)) => {
            let mut response = Response::builder()
                .status(status)
                .header("content-type", "application/json");
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response.body(Body::from(body)).unwrap()
        }
        Some(Reply::Stream(bytes)) => {
            // 7-byte pieces, each flushed on its own: events and even UTF-8
            // sequences arrive split, as they may over a real network.
            let pieces: Vec<Bytes> = bytes.chunks(7).map(Bytes::copy_from_slice).collect();
            let stream = futures_util::stream::unfold(pieces.into_iter(), |mut rest| async move {
                let piece = rest.next()?;
                tokio::time::sleep(Duration::from_micros(200)).await;
                Some((Ok::<_, Infallible>(piece), rest))
            });
            Response::builder()
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache")
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

fn error(status: u16, message: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .body(Body::from(
            json!({"error": {"message": message, "type": "test"}}).to_string(),
        ))
        .unwrap()
}

/// Builds the event stream of one completion as OpenAI writes it.
#[derive(Default)]
pub struct Completion {
    events: Vec<Value>,
    done: bool,
}

impl Completion {
    fn chunk(&mut self, delta: Value, finish_reason: Value) -> &mut Self {
        self.events.push(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 1_764_000_000,
            "model": MODEL,
            "system_fingerprint": "fp_test",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]
        }));
        self
    }

    pub fn new() -> Self {
        let mut completion = Self::default();
        completion.chunk(json!({"role": "assistant", "content": ""}), Value::Null);
        completion
    }

    /// Text, one delta per word.
    pub fn text(mut self, text: &str) -> Self {
        for word in text.split_inclusive(' ') {
            self.chunk(json!({"content": word}), Value::Null);
        }
        self
    }

    /// A tool call at `index` whose name and arguments arrive over many
    /// chunks.
    pub fn tool_call(mut self, index: usize, id: &str, name: &str, arguments: &str) -> Self {
        let (head, tail) = name.split_at(name.len() / 2);
        self.chunk(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                   "function": {"name": head, "arguments": ""}}]}),
            Value::Null,
        );
        self.chunk(
            json!({"tool_calls": [{"index": index, "function": {"name": tail}}]}),
            Value::Null,
        );
        let chars: Vec<char> = arguments.chars().collect();
        for piece in chars.chunks(5) {
            let piece: String = piece.iter().collect();
            self.chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                Value::Null,
            );
        }
        self
    }

    pub fn finish(mut self, reason: &str) -> Self {
        self.chunk(json!({}), json!(reason));
        self.done = true;
        self
    }

    pub fn reply(self) -> Reply {
        Reply::Stream(self.bytes())
    }

    pub fn bytes(self) -> Vec<u8> {
        let mut out = Vec::new();
        for event in &self.events {
            out.extend_from_slice(format!("data: {event}\n\n").as_bytes());
        }
        if self.done {
            out.extend_from_slice(b"data: [DONE]\n\n");
        }
        out
    }
}

pub fn plan_args(topic: &str, steps: &[&str]) -> String {
    json!({"topic": topic, "steps": steps}).to_string()
}
