use serde::{Deserialize, Serialize};

use crate::client::Decision;
use crate::error::{ErrorBody, ErrorCode};
use crate::interrupt::Interrupt;

/// A frame from the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Always the first frame of a connection, and sent again whenever the
    /// connection fell too far behind to be sent every event.
    Snapshot(ThreadSnapshot),
    RunStarted {
        run_id: String,
        /// Extension: the user message the run answers (absent for a run
        /// resumed from a checkpoint), so every tab can show it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_message: Option<String>,
    },
    MessageDelta {
        run_id: String,
        content: String,
    },
    Interrupt(Interrupt),
    InterruptResolved {
        interrupt_id: String,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
        by: ResolvedBy,
    },
    ToolResult {
        run_id: String,
        name: String,
        status: ToolStatus,
        output: String,
    },
    RunFinished {
        run_id: String,
        status: RunStatus,
        error: Option<String>,
    },
    Error {
        code: ErrorCode,
        error: String,
    },
}

impl ServerMessage {
    pub fn error(code: ErrorCode, error: impl Into<String>) -> Self {
        Self::Error {
            code,
            error: error.into(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl From<ErrorBody> for ServerMessage {
    fn from(body: ErrorBody) -> Self {
        Self::Error {
            code: body.code,
            error: body.error,
        }
    }
}

/// A thread as a newly connected client needs it; also `GET /api/threads/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ThreadSnapshot {
    pub thread_id: String,
    pub status: ThreadStatus,
    pub messages: Vec<ChatMessage>,
    pub pending_interrupt: Option<Interrupt>,
    /// Extension: the id of the active run, so a client that connects mid-run
    /// can match the `message_delta` frames that follow.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Extension: the thread's answered interrupts, oldest first.
    #[serde(default)]
    pub resolved_interrupts: Vec<crate::interrupt::ResolvedInterrupt>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ThreadStatus {
    Idle,
    Running,
    Interrupted,
}

impl ThreadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Running => "running",
            Self::Interrupted => "interrupted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    Tool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResolvedBy {
    User,
    Timeout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Executed,
    Rejected,
    /// Nobody decided before `expires_at`: not a rejection.
    Expired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    Cancelled,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }
}

/// `201` body of `POST /api/threads`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ThreadCreated {
    pub thread_id: String,
}

/// One row of `GET /api/threads`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ThreadSummary {
    pub thread_id: String,
    pub title: String,
    pub status: ThreadStatus,
    /// RFC 3339 UTC.
    pub updated_at: String,
}
