//! The agent's tool servers (MCP), as `GET /api/tools` reports them.

use serde::{Deserialize, Serialize};

/// One tool server and how it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ToolServerReport {
    pub name: String,
    pub transport: ToolTransport,
    pub status: ToolServerStatus,
    /// Why it is not ready, when it is not.
    pub error: Option<String>,
    /// How many times it was started (1 when it never died).
    pub starts: u32,
    /// The names its tools are offered under.
    pub tools: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ToolTransport {
    Stdio,
    Http,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ToolServerStatus {
    #[default]
    Starting,
    Ready,
    /// Down; it is started again after a pause.
    Restarting,
}
