//! The audit log of decisions (`GET /api/threads/{id}/decisions`), an
//! extension of version 1 that servers with storage offer.

use serde::{Deserialize, Serialize};

use crate::auth::{DecidedBy, Receipt};
use crate::client::Decision;
use crate::server::ResolvedBy;

/// How one interrupt was resolved: what was decided, by whom, from where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DecisionRecord {
    pub interrupt_id: String,
    pub run_id: String,
    pub decision_id: Option<String>,
    pub decisions: Vec<Decision>,
    pub by: ResolvedBy,
    /// The WebSocket connection the decision arrived on (none for a timeout).
    pub connection_id: Option<String>,
    /// The client's `User-Agent`, if it sent one.
    pub client: Option<String>,
    /// The server process that recorded it.
    pub server: String,
    /// RFC 3339 UTC.
    pub decided_at: String,
    /// Extension: the signed-in person who decided (absent for a timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    /// Extension: the signed proof of this resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}
