use serde::{Deserialize, Serialize};

use crate::auth::DecidedBy;
use crate::client::Decision;
use crate::error::{ErrorBody, ErrorCode};
use crate::interrupt::Interrupt;

/// A frame from the server.
// Each kind of frame has its own type, so that `from_json` can read a frame
// straight into it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Always the first frame of a connection, and sent again whenever the
    /// connection fell too far behind to be sent every event.
    Snapshot(ThreadSnapshot),
    RunStarted(RunStarted),
    MessageDelta(MessageDelta),
    Interrupt(Interrupt),
    InterruptResolved(InterruptResolved),
    ToolResult(ToolResult),
    RunFinished(RunFinished),
    Error(ErrorBody),
}

/// The `type` of a frame, read on its own by [`ServerMessage::from_json`].
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Snapshot,
    RunStarted,
    MessageDelta,
    Interrupt,
    InterruptResolved,
    ToolResult,
    RunFinished,
    Error,
}

#[derive(Deserialize)]
struct Tag {
    #[serde(rename = "type")]
    kind: Kind,
}

impl ServerMessage {
    pub fn error(code: ErrorCode, error: impl Into<String>) -> Self {
        Self::Error(ErrorBody::new(code, error))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }

    /// Reads one frame: a first pass finds `type`, a second reads the whole
    /// frame as that kind's type (which ignores the tag). The derived
    /// `Deserialize` of a tagged enum buffers every frame in serde's private
    /// content tree instead, which cost the browser's module 8.6 KiB of
    /// brotli.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        use serde_json::from_str;
        // serde also reads a struct from an array; a frame is an object.
        if !text.trim_start().starts_with('{') {
            return Err(serde::de::Error::custom("a frame must be a JSON object"));
        }
        let Tag { kind } = from_str(text)?;
        Ok(match kind {
            Kind::Snapshot => Self::Snapshot(from_str(text)?),
            Kind::RunStarted => Self::RunStarted(from_str(text)?),
            Kind::MessageDelta => Self::MessageDelta(from_str(text)?),
            Kind::Interrupt => Self::Interrupt(from_str(text)?),
            Kind::InterruptResolved => Self::InterruptResolved(from_str(text)?),
            Kind::ToolResult => Self::ToolResult(from_str(text)?),
            Kind::RunFinished => Self::RunFinished(from_str(text)?),
            Kind::Error => Self::Error(from_str(text)?),
        })
    }
}

/// A run began.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunStarted {
    pub run_id: String,
    /// Extension: the user message the run answers (absent for a run
    /// resumed from a checkpoint), so every tab can show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_message: Option<String>,
    /// Extension: the signed-in person whose message started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<crate::auth::Person>,
}

/// The next piece of the assistant's streamed answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageDelta {
    pub run_id: String,
    pub content: String,
}

/// An interrupt was answered, by a person or by its timeout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InterruptResolved {
    pub interrupt_id: String,
    pub decision_id: Option<String>,
    pub decisions: Vec<Decision>,
    pub by: ResolvedBy,
    /// Extension: the signed-in person who decided (absent for a timeout,
    /// and on a server with sign-in off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
}

/// What a reviewed tool call came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ToolResult {
    pub run_id: String,
    pub name: String,
    pub status: ToolStatus,
    pub output: String,
}

/// A run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunFinished {
    pub run_id: String,
    pub status: RunStatus,
    pub error: Option<String>,
}

impl From<ErrorBody> for ServerMessage {
    fn from(body: ErrorBody) -> Self {
        Self::Error(body)
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
    /// The tool did not run: a person answered in its place (`respond`).
    Responded,
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
    /// Extension: while a request waits for a decision, when it expires
    /// (RFC 3339 UTC), so a list can put what waits first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}
