//! The HTTP endpoints of PROTOCOL.md and the WebSocket upgrade.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::{
    DecisionRecord, ErrorBody, ErrorCode, ThreadCreated, ThreadSnapshot, ThreadSummary,
};

use crate::runtime::RuntimeError;
use crate::socket;
use crate::startup::AppState;
use crate::store::StoreError;

/// Frames above this close the connection (1009); below it and above the
/// configured `max_frame_bytes` they are answered `message_too_large`.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// Per-socket read buffer, kept by every open socket: clients send small
/// frames, and a larger one reserves what it needs. The 128 KiB default
/// costs over 1 GiB at 10,000 sockets.
const READ_BUFFER: usize = 256;
const WRITE_BUFFER: usize = 4 * 1024;

/// An HTTP error: `{"code", "error"}` with a fitting status.
#[derive(Debug)]
pub struct ApiError(StatusCode, ErrorBody);

impl ApiError {
    fn thread_not_found(id: &str) -> Self {
        Self(
            StatusCode::NOT_FOUND,
            ErrorBody::new(ErrorCode::ThreadNotFound, format!("no thread with id {id}")),
        )
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        let status = match error.code() {
            ErrorCode::StorageFailed => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self(status, error.body())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        RuntimeError::Storage(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorBody::new(ErrorCode::ShuttingDown, "the server is shutting down"),
        ));
    }
    Ok("ok")
}

pub async fn create_thread(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<ThreadCreated>), ApiError> {
    let thread = state.runtime.create_thread().await?;
    let created = ThreadCreated {
        thread_id: thread.id().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list_threads(
    State(state): State<AppState>,
) -> Result<Json<Vec<ThreadSummary>>, ApiError> {
    Ok(Json(state.runtime.list().await?))
}

pub async fn get_thread(
    State(state): State<AppState>,
    Path(thread_id): Path<String>,
) -> Result<Json<ThreadSnapshot>, ApiError> {
    let thread = state
        .runtime
        .find(&thread_id)
        .await?
        .ok_or_else(|| ApiError::thread_not_found(&thread_id))?;
    Ok(Json(thread.snapshot()))
}

/// The audit log of a thread's decisions (storage only; empty without).
pub async fn list_decisions(
    State(state): State<AppState>,
    Path(thread_id): Path<String>,
) -> Result<Json<Vec<DecisionRecord>>, ApiError> {
    state
        .runtime
        .find(&thread_id)
        .await?
        .ok_or_else(|| ApiError::thread_not_found(&thread_id))?;
    let Some(store) = state.runtime.store() else {
        return Ok(Json(Vec::new()));
    };
    store.flush().await?;
    Ok(Json(store.decisions(&thread_id).await?))
}

pub async fn connect(
    State(state): State<AppState>,
    Path(thread_id): Path<String>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let thread = match state.runtime.find(&thread_id).await {
        Ok(Some(thread)) => thread,
        Ok(None) => return ApiError::thread_not_found(&thread_id).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let client = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect());
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let max_frame_bytes = state.runtime.runs().max_frame_bytes;
    let shutdown = state.shutdown.clone();
    let connections = state.connections.clone();
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |ws| {
            connections.track_future(socket::serve(ws, thread, max_frame_bytes, shutdown, client))
        })
}
