//! HTTP to an OpenAI-compatible server: one streamed completion per call,
//! 429 and 503 retried as the server asks, every failure turned into an
//! error a person can act on.

use std::time::{Duration, SystemTime};

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, ACCEPT, RETRY_AFTER};
use reqwest::{Response, StatusCode};

use super::stream::{excerpt, Assembler, Turn};
use super::wire::{ChatRequest, ErrorEnvelope, Message, ToolDefinition};
use super::Secret;
use crate::contract::RunContext;

/// Retries of a 429 or 503 before the run gives up.
const MAX_RETRIES: u32 = 3;
/// A server that asks for a longer wait than this is not waited for.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence between two pieces of an answer.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("could not reach the model server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the model server refused the API key (HTTP 401): {detail} Check OPENAI_API_KEY.")]
    Unauthorized { detail: String },
    #[error("the model server has no model \"{model}\" at {url} (HTTP 404): {detail} Check HITL_MODEL and OPENAI_BASE_URL.")]
    NotFound {
        model: String,
        url: String,
        detail: String,
    },
    #[error("the model server is still busy (HTTP {status}) after {retries} retries: {detail}")]
    Busy {
        status: u16,
        retries: u32,
        detail: String,
    },
    #[error("the model server asked to wait {} s before retrying, longer than the {} s this server waits (HTTP {status})", wait.as_secs(), MAX_RETRY_WAIT.as_secs())]
    WaitTooLong { status: u16, wait: Duration },
    #[error("the model server answered HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("the connection to the model server broke mid-answer: {0}")]
    Broken(String),
    #[error("the model's answer stream was malformed: {0}")]
    Malformed(String),
    #[error("the model's answer stream ended before the answer was complete")]
    Truncated,
    #[error("the model server reported an error mid-answer: {0}")]
    Stream(String),
}

pub struct ModelClient {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<Secret>,
}

impl ModelClient {
    pub fn new(base_url: &str, model: String, api_key: Option<Secret>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            http,
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            model,
            api_key,
        }
    }

    /// Streams one completion; each piece of text goes to the run's
    /// watchers as it arrives.
    pub async fn complete(
        &self,
        messages: &[Message],
        tools: &[ToolDefinition],
        ctx: &RunContext,
    ) -> Result<Turn, ModelError> {
        let response = self.send(messages, tools).await?;
        let mut events = response.bytes_stream().eventsource();
        let mut assembler = Assembler::default();
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| match e {
                EventStreamError::Transport(e) => ModelError::Broken(reason(&e)),
                other => ModelError::Malformed(other.to_string()),
            })?;
            if let Some(text) = assembler.push(&event.data)? {
                ctx.emit_text(&text).await;
            }
        }
        assembler.finish()
    }

    /// Posts the request, retrying while the server says it is busy.
    async fn send(
        &self,
        messages: &[Message],
        tools: &[ToolDefinition],
    ) -> Result<Response, ModelError> {
        let body = ChatRequest {
            model: &self.model,
            messages,
            tools,
            stream: true,
        };
        let mut retries = 0;
        loop {
            let mut request = self
                .http
                .post(&self.url)
                .header(ACCEPT, "text/event-stream")
                .json(&body);
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key.expose());
            }
            let response = request.send().await.map_err(|e| ModelError::Unreachable {
                url: self.url.clone(),
                reason: reason(&e),
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let busy = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            if busy && retries < MAX_RETRIES {
                let wait =
                    retry_after(response.headers()).unwrap_or(Duration::from_secs(1 << retries));
                if wait > MAX_RETRY_WAIT {
                    return Err(ModelError::WaitTooLong {
                        status: status.as_u16(),
                        wait,
                    });
                }
                retries += 1;
                tracing::info!(
                    status = status.as_u16(),
                    ?wait,
                    retries,
                    "model busy; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let detail = detail(response).await;
            return Err(match status {
                StatusCode::UNAUTHORIZED => ModelError::Unauthorized { detail },
                StatusCode::NOT_FOUND => ModelError::NotFound {
                    model: self.model.clone(),
                    url: self.url.clone(),
                    detail,
                },
                _ if busy => ModelError::Busy {
                    status: status.as_u16(),
                    retries,
                    detail,
                },
                _ => ModelError::Status {
                    status: status.as_u16(),
                    detail,
                },
            });
        }
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The server's own explanation of an error answer, shortened.
async fn detail(response: Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let message = match serde_json::from_str::<ErrorEnvelope>(&text) {
        Ok(envelope) => envelope.error.message().to_owned(),
        Err(_) if text.trim().is_empty() => "no details given.".to_owned(),
        Err(_) => text.trim().to_owned(),
    };
    let mut message = excerpt(&message);
    if !message.ends_with(['.', '!', '?', '…']) {
        message.push('.');
    }
    message
}

/// The innermost cause of an HTTP error: "Connection refused", not
/// "error sending request".
fn reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer in time".to_owned();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
