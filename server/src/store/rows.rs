//! Stored values as types: the states and names the tables hold, read
//! strictly (a value this code never writes is a corruption error, not a
//! default), and the rows the queries return.

use protocol::{ResolvedBy, Role, ThreadStatus};

use super::StoreError;

/// A run's `status` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Interrupted,
    Completed,
    Cancelled,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Interrupted => "interrupted",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "running" => Self::Running,
            "interrupted" => Self::Interrupted,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            _ => return Err(corrupt("run status", text)),
        })
    }
}

pub fn role(text: &str) -> Result<Role, StoreError> {
    Ok(match text {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        _ => return Err(corrupt("message role", text)),
    })
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

pub fn resolved_by(text: &str) -> Result<ResolvedBy, StoreError> {
    Ok(match text {
        "user" => ResolvedBy::User,
        "timeout" => ResolvedBy::Timeout,
        _ => return Err(corrupt("resolved_by", text)),
    })
}

pub fn resolved_by_name(by: ResolvedBy) -> &'static str {
    match by {
        ResolvedBy::User => "user",
        ResolvedBy::Timeout => "timeout",
    }
}

pub fn thread_status(text: &str) -> Result<ThreadStatus, StoreError> {
    Ok(match text {
        "idle" => ThreadStatus::Idle,
        "running" => ThreadStatus::Running,
        "interrupted" => ThreadStatus::Interrupted,
        _ => return Err(corrupt("thread status", text)),
    })
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what: what.to_owned(),
        reason: format!("unknown value {value:?}"),
    }
}

#[derive(sqlx::FromRow)]
pub struct SummaryRow {
    pub id: String,
    pub title: String,
    pub status: String,
    pub updated_at: i64,
    /// The pending interrupt's, if one waits.
    pub expires_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub struct MessageRow {
    pub role: String,
    pub content: String,
}

/// An interrupt with its run's status.
#[derive(sqlx::FromRow)]
pub struct InterruptRow {
    pub body: String,
    pub checkpoint: String,
    pub after_message: i64,
    pub resolved_by: Option<String>,
    pub decision_id: Option<String>,
    pub decisions: Option<String>,
    pub decided_by_id: Option<String>,
    pub decided_by_name: Option<String>,
    pub run_status: String,
}

/// An interrupt's resolution columns.
#[derive(sqlx::FromRow)]
pub struct ResolutionRow {
    pub decision_id: Option<String>,
    pub decisions: Option<String>,
    pub resolved_by: Option<String>,
    pub decided_by_id: Option<String>,
    pub decided_by_name: Option<String>,
}

#[derive(sqlx::FromRow)]
pub struct RunRow {
    pub id: String,
    pub status: String,
    pub owner: String,
    pub started_by: Option<String>,
}

/// A row of the audit log.
#[derive(sqlx::FromRow)]
pub struct DecisionRow {
    pub interrupt_id: String,
    pub run_id: String,
    pub decision_id: Option<String>,
    pub decisions: String,
    pub resolved_by: String,
    pub connection_id: Option<String>,
    pub client: Option<String>,
    pub server: String,
    pub decided_at: i64,
    pub decided_by_id: Option<String>,
    pub decided_by_name: Option<String>,
    pub receipt: Option<String>,
}

/// A run this server claimed.
#[derive(sqlx::FromRow)]
pub struct ClaimedRow {
    pub id: String,
    pub thread_id: String,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_read_back_and_unknown_ones_are_corruption() {
        for state in [
            RunState::Running,
            RunState::Interrupted,
            RunState::Completed,
            RunState::Cancelled,
            RunState::Failed,
        ] {
            assert_eq!(RunState::parse(state.as_str()).unwrap(), state);
        }
        for r in [Role::User, Role::Assistant, Role::Tool] {
            assert_eq!(role(role_name(r)).unwrap(), r);
        }
        for by in [ResolvedBy::User, ResolvedBy::Timeout] {
            assert_eq!(resolved_by(resolved_by_name(by)).unwrap(), by);
        }
        assert!(matches!(
            RunState::parse("paused"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(role("system"), Err(StoreError::Corrupt { .. })));
        assert!(matches!(
            resolved_by("admin"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            thread_status("done"),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
