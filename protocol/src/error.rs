use serde::{Deserialize, Serialize};

/// The machine-readable part of an error, over WebSocket and HTTP alike.
// `Deserialize` is written out below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, unknown `type`, missing or mistyped field.
    InvalidMessage,
    /// A frame over the size limit.
    MessageTooLarge,
    /// `send_message` while a run is active.
    AlreadyStreaming,
    /// A decision when nothing waits for one.
    NoPendingInterrupt,
    /// `interrupt_id` names an interrupt that is resolved or unknown.
    StaleInterrupt,
    /// Wrong number of decisions, a disallowed decision type, or edited args
    /// that fail the tool's schema. The interrupt stays pending.
    InvalidDecision,
    /// `cancel` with nothing running.
    NoActiveRun,
    /// HTTP: no thread with that id.
    ThreadNotFound,
    /// HTTP: the server is shutting down.
    ShuttingDown,
    /// The server could not save a change (a decision, say), so it did not
    /// make it; trying again may work.
    StorageFailed,
    /// HTTP `401`: no credentials, or credentials that no longer work.
    Unauthenticated,
    /// HTTP `401` from `POST /api/session`: that name and password do not
    /// match an account (the same answer for either being wrong).
    InvalidCredentials,
    /// The signed-in person may not do this (HTTP `403`, or an error frame
    /// for a decision or message; the interrupt stays pending).
    Forbidden,
    /// HTTP `403`: a browser request from a page of another origin.
    ForbiddenOrigin,
    /// HTTP `429` with `Retry-After`: too many attempts; wait and try again.
    RateLimited,
    /// HTTP `400`: a request body or query that does not fit the endpoint.
    InvalidRequest,
    /// HTTP `404`: no such resource (an account, a token, a route).
    NotFound,
    /// HTTP `409`: an account with that name exists.
    NameTaken,
    /// HTTP `405`: the path exists, the method does not.
    MethodNotAllowed,
    /// HTTP `413`: a request body over the endpoint's limit.
    PayloadTooLarge,
    /// HTTP `503` with `Retry-After`: the server has as many connections as
    /// it takes; try again shortly.
    Overloaded,
    /// HTTP `503` from `/readyz`: the server cannot reach its storage.
    NotReady,
    /// HTTP `500`: the server failed in a way it did not foresee.
    Internal,
}

/// Read by name through [`ErrorCode::as_str`]: the derived reader of 23
/// names cost the browser's module more than this loop.
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code `{name}`")))
    }
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 23] = [
        Self::InvalidMessage,
        Self::MessageTooLarge,
        Self::AlreadyStreaming,
        Self::NoPendingInterrupt,
        Self::StaleInterrupt,
        Self::InvalidDecision,
        Self::NoActiveRun,
        Self::ThreadNotFound,
        Self::ShuttingDown,
        Self::StorageFailed,
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::ForbiddenOrigin,
        Self::RateLimited,
        Self::InvalidRequest,
        Self::NotFound,
        Self::NameTaken,
        Self::MethodNotAllowed,
        Self::PayloadTooLarge,
        Self::Overloaded,
        Self::NotReady,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidMessage => "invalid_message",
            Self::MessageTooLarge => "message_too_large",
            Self::AlreadyStreaming => "already_streaming",
            Self::NoPendingInterrupt => "no_pending_interrupt",
            Self::StaleInterrupt => "stale_interrupt",
            Self::InvalidDecision => "invalid_decision",
            Self::NoActiveRun => "no_active_run",
            Self::ThreadNotFound => "thread_not_found",
            Self::ShuttingDown => "shutting_down",
            Self::StorageFailed => "storage_failed",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::RateLimited => "rate_limited",
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
            Self::NameTaken => "name_taken",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Overloaded => "overloaded",
            Self::NotReady => "not_ready",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"code": "...", "error": "human readable"}`: the body of an HTTP error
/// and, with `type: "error"`, of a WebSocket error frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[error("{code}: {error}")]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub error: String,
    /// What is wrong with each field, for `invalid_decision` on edited
    /// arguments (an extension of version 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

/// One field of a frame that does not fit its schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldError {
    /// A JSON Pointer into the frame the client sent, e.g.
    /// `/decisions/0/edited_action/args/url`.
    pub path: String,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        Self {
            code,
            error: error.into(),
            details: Vec::new(),
        }
    }
}
