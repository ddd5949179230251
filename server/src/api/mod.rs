//! The HTTP endpoints of PROTOCOL.md and the WebSocket upgrade.
//!
//! - `threads`: threads, their audit log, the upgrade.
//! - `session`: signing in and out, who is signed in, the receipts' key.
//! - `accounts`: API tokens and (for admins) accounts.

pub mod accounts;
pub mod session;
pub mod threads;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::{ErrorBody, ErrorCode};

use crate::auth::AccountError;
use crate::runtime::RuntimeError;
use crate::startup::AppState;
use crate::store::StoreError;

/// An HTTP error: `{"code", "error"}` with a fitting status (and the
/// seconds to wait, for a 429).
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub ErrorBody, pub Option<u64>);

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, error: impl Into<String>) -> Self {
        Self(status, ErrorBody::new(code, error), None)
    }

    pub fn thread_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::ThreadNotFound,
            format!("no thread with id {id}"),
        )
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, why)
    }

    pub fn invalid(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, why)
    }

    pub fn not_found(why: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, why)
    }

    /// 429 with `Retry-After: secs`.
    pub fn rate_limited(why: impl Into<String>, secs: u64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, why);
        error.2 = Some(secs.max(1));
        error
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        let status = match error.code() {
            ErrorCode::StorageFailed => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        Self(status, error.body(), None)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        RuntimeError::Storage(error).into()
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::NameTaken(_) => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::NameTaken,
                error.to_string(),
            ),
            AccountError::NotFound(_) => Self::not_found(error.to_string()),
            AccountError::Invalid(why) => Self::invalid(why),
            AccountError::Storage(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(self.1)).into_response();
        if let Some(secs) = self.2 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Every error on the API and the upgrade is `{"code", "error"}`: axum's
/// own rejections (a path that does not parse, a method the path lacks, a
/// body that is not the JSON expected, one over the limit) arrive here as
/// plain text or nothing, and leave as JSON with the same status and
/// headers (`Allow`, `Retry-After`).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status {
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Overloaded,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::InvalidRequest,
    };
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let error = match (code, text.is_empty()) {
        (ErrorCode::MethodNotAllowed, _) => {
            match parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
            {
                Some(allowed) if !allowed.is_empty() => {
                    format!("this path does not take {method}; it takes {allowed}")
                }
                _ => format!("this path does not take {method}"),
            }
        }
        (ErrorCode::PayloadTooLarge, _) => "the request body is over this endpoint's limit".into(),
        (ErrorCode::Internal, _) => "the server failed to answer; try again".into(),
        (_, false) => text,
        (_, true) => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&ErrorBody::new(code, error)).expect("errors serialize");
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Any other path under `/api` or `/ws`.
pub async fn no_such_endpoint(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no endpoint {}", uri.path()))
}

/// `GET /readyz`: whether the server can do its work now, its storage
/// answering (`/healthz` only says the process is alive).
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    healthz(State(state.clone())).await?;
    match state.runtime.store() {
        Some(store) if !store.ping().await => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::NotReady,
            "the server cannot reach its storage",
        )),
        _ => Ok("ready"),
    }
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let (threads_loaded, runs_active, interrupts_pending) = state.runtime.levels();
    let store = state.runtime.store();
    let levels = crate::metrics::Levels {
        connections: state.connections.len(),
        http_connections: state.http_open.get(),
        threads_loaded,
        runs_active,
        interrupts_pending,
        storage_queue: store.map_or(0, |s| s.depth()),
        ready: store.is_none_or(|s| s.check().is_ok()),
    };
    let text = state.runtime.metrics().render(levels);
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ShuttingDown,
            "the server is shutting down",
        ));
    }
    Ok("ok")
}
