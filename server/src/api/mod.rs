//! The HTTP endpoints of PROTOCOL.md and the WebSocket upgrade.
//!
//! - `threads`: threads, their audit log, the upgrade.
//! - `session`: signing in and out, who is signed in, the receipts' key.
//! - `accounts`: API tokens and (for admins) accounts.

pub mod accounts;
pub mod session;
pub mod threads;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::{ErrorBody, ErrorCode};

use crate::auth::AccountError;
use crate::runtime::RuntimeError;
use crate::startup::AppState;
use crate::store::StoreError;

/// An HTTP error: `{"code", "error"}` with a fitting status.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub ErrorBody);

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, error: impl Into<String>) -> Self {
        Self(status, ErrorBody::new(code, error))
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
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        let status = match error.code() {
            ErrorCode::StorageFailed => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
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
        (self.0, Json(self.1)).into_response()
    }
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
