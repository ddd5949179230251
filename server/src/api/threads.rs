//! Threads over HTTP, their audit log, and the WebSocket upgrade. A thread
//! someone may not see is 404 to them, as if it did not exist.

use futures_util::FutureExt;
use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::{DecisionRecord, ThreadCreated, ThreadSnapshot, ThreadSummary};

use super::ApiError;
use crate::auth::http::Caller;
use crate::auth::Principal;
use crate::metrics::Metrics;
use crate::runtime::Thread;
use crate::socket;
use crate::startup::AppState;

/// Frames above this close the connection (1009); below it and above the
/// configured `max_frame_bytes` they are answered `message_too_large`.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// Per-socket read buffer, kept by every open socket: clients send small
/// frames, and a larger one reserves what it needs. The 128 KiB default
/// costs over 1 GiB at 10,000 sockets.
const READ_BUFFER: usize = 256;
const WRITE_BUFFER: usize = 4 * 1024;

/// The thread `id`, if `caller` may see it.
pub async fn visible(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> Result<Arc<Thread>, ApiError> {
    state
        .runtime
        .find(id)
        .await?
        .filter(|thread| caller.can_see(thread.owner()))
        .ok_or_else(|| ApiError::thread_not_found(id))
}

pub async fn create_thread(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<(StatusCode, Json<ThreadCreated>), ApiError> {
    if !caller.can_create_threads() {
        return Err(ApiError::forbidden(
            "viewers cannot start threads; ask an admin for the requester role",
        ));
    }
    if let Err(wait) = state.quotas.thread(caller.user_id().unwrap_or("local")) {
        let limited = &state.runtime.metrics().rate_limited;
        limited.get_or_create(&Metrics::kind("threads")).inc();
        return Err(ApiError::rate_limited(
            format!(
                "too many threads started this minute; try again in {} s",
                wait.secs()
            ),
            wait.secs(),
        ));
    }
    let thread = state.runtime.create_thread(caller.user_id()).await?;
    let created = ThreadCreated {
        thread_id: thread.id().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every thread for approvers and admins; one's own for the others.
pub async fn list_threads(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<ThreadSummary>>, ApiError> {
    let owner = match caller.can_see(None) {
        true => None,
        false => Some(caller.user_id().unwrap_or_default()),
    };
    Ok(Json(state.runtime.list(owner).await?))
}

/// The agent's tool servers and how they are (MCP): a server that did not
/// start is reported here as well as in the log.
pub async fn tool_servers(State(state): State<AppState>) -> Json<Vec<protocol::ToolServerReport>> {
    Json(state.runtime.agent().tool_servers())
}

pub async fn get_thread(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(thread_id): Path<String>,
) -> Result<Json<ThreadSnapshot>, ApiError> {
    Ok(Json(visible(&state, &caller, &thread_id).await?.snapshot()))
}

/// The audit log of a thread's decisions (storage only; empty without).
pub async fn list_decisions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(thread_id): Path<String>,
) -> Result<Json<Vec<DecisionRecord>>, ApiError> {
    visible(&state, &caller, &thread_id).await?;
    let Some(store) = state.runtime.store() else {
        return Ok(Json(Vec::new()));
    };
    store.flush().await?;
    Ok(Json(store.decisions(&thread_id).await?))
}

pub async fn connect(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(thread_id): Path<String>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let thread = match visible(&state, &caller, &thread_id).await {
        Ok(thread) => thread,
        Err(e) => return e.into_response(),
    };
    let client = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect());
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // Closed when the caller's credential is revoked or the server stops.
    let close = state.shutdown.child_token();
    let registration = state.auth.live.register(&caller, close.clone());
    let max_frame_bytes = state.runtime.runs().max_frame_bytes;
    let shutdown = state.shutdown.clone();
    let connections = state.connections.clone();
    let peer = socket::Peer {
        principal: caller,
        quotas: state.quotas.clone(),
        client,
        close,
    };
    // One box for what the callback needs: axum's task keeps the callback's
    // captures for the connection's whole life, beside what they become.
    let upgraded = Box::new((thread, peer, shutdown, connections, registration));
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |ws| {
            let (thread, peer, shutdown, connections, registration) = *upgraded;
            let serving = socket::serve(ws, thread, peer, max_frame_bytes, shutdown);
            // Not an `async` block around `serving.await`: that would keep
            // the captured future and the awaited one, twice its size, for
            // the connection's whole life.
            connections.track_future(serving.map(move |()| drop(registration)))
        })
}
