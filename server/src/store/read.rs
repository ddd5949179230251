//! Reading stored threads back: the list, one thread whole, the audit log,
//! and what a starting server must pick up.

use std::time::SystemTime;

use protocol::{
    ChatMessage, Decision, DecisionRecord, Interrupt, ResolvedBy, ResolvedInterrupt, Role,
    ThreadStatus, ThreadSummary,
};

use super::{from_millis, millis, Store, StoreError};
use crate::time::rfc3339;

/// A thread as stored, enough to rebuild it in memory.
pub struct StoredThread {
    pub id: String,
    pub title: String,
    pub updated_at: SystemTime,
    pub messages: Vec<ChatMessage>,
    pub resolved: Vec<ResolvedInterrupt>,
    pub pending: Option<StoredPending>,
}

/// An interrupt still waiting, with the checkpoint its run resumes from.
pub struct StoredPending {
    pub interrupt: Interrupt,
    pub checkpoint: serde_json::Value,
}

/// What a starting server found.
pub struct Recovery {
    /// Runs that were working (not waiting) when the server stopped.
    pub failed_runs: u64,
    /// Threads with an interrupt still pending.
    pub pending_threads: Vec<String>,
}

/// The reason a run that died with its server is given.
pub const LOST_RUN: &str = "The server stopped while this run was working, so it could not finish. Send your message again.";

type InterruptRow = (
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

impl Store {
    /// Threads, most recently updated first.
    pub async fn list_threads(&self, limit: i64) -> Result<Vec<ThreadSummary>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, title, status, updated_at FROM threads \
             ORDER BY updated_at DESC, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(thread_id, title, status, updated_at)| ThreadSummary {
                thread_id,
                title,
                status: thread_status(&status),
                updated_at: rfc3339(from_millis(updated_at)),
            })
            .collect())
    }

    pub async fn load_thread(&self, id: &str) -> Result<Option<StoredThread>, StoreError> {
        let Some((title, updated_at)): Option<(String, i64)> =
            sqlx::query_as("SELECT title, updated_at FROM threads WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let messages: Vec<(String, String)> =
            sqlx::query_as("SELECT role, content FROM messages WHERE thread_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let messages = messages
            .into_iter()
            .map(|(role, content)| ChatMessage {
                role: match role.as_str() {
                    "user" => Role::User,
                    "tool" => Role::Tool,
                    _ => Role::Assistant,
                },
                content,
            })
            .collect();
        let rows: Vec<InterruptRow> = sqlx::query_as(
            "SELECT i.body, i.checkpoint, i.after_message, i.resolved_by, i.decision_id, \
             i.decisions, r.status FROM interrupts i JOIN runs r ON r.id = i.run_id \
             WHERE i.thread_id = $1 ORDER BY i.created_at, i.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut resolved = Vec::new();
        let mut pending = None;
        for (body, checkpoint, after_message, by, decision_id, decisions, run_status) in rows {
            let interrupt: Interrupt = parse("interrupt", &body)?;
            match (by, decisions) {
                (Some(by), Some(decisions)) => resolved.push(ResolvedInterrupt {
                    interrupt,
                    decision_id,
                    decisions: parse::<Vec<Decision>>("decisions", &decisions)?,
                    by: if by == "timeout" {
                        ResolvedBy::Timeout
                    } else {
                        ResolvedBy::User
                    },
                    after_message: after_message as usize,
                }),
                // Saved just before its run stopped: it never waited.
                _ if run_status != "interrupted" => {}
                _ => {
                    pending = Some(StoredPending {
                        interrupt,
                        checkpoint: parse("checkpoint", &checkpoint)?,
                    })
                }
            }
        }
        Ok(Some(StoredThread {
            id: id.to_owned(),
            title,
            updated_at: from_millis(updated_at),
            messages,
            resolved,
            pending,
        }))
    }

    /// The audit log of a thread, oldest first.
    pub async fn decisions(&self, thread_id: &str) -> Result<Vec<DecisionRecord>, StoreError> {
        type Row = (
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT interrupt_id, run_id, decision_id, decisions, resolved_by, connection_id, \
             client, server, decided_at FROM decisions WHERE thread_id = $1 \
             ORDER BY decided_at, id",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(
                    interrupt_id,
                    run_id,
                    decision_id,
                    decisions,
                    by,
                    connection_id,
                    client,
                    server,
                    at,
                )| {
                    Ok(DecisionRecord {
                        interrupt_id,
                        run_id,
                        decision_id,
                        decisions: parse("decisions", &decisions)?,
                        by: if by == "timeout" {
                            ResolvedBy::Timeout
                        } else {
                            ResolvedBy::User
                        },
                        connection_id,
                        client,
                        server,
                        decided_at: rfc3339(from_millis(at)),
                    })
                },
            )
            .collect()
    }

    /// Fails the runs that were working when the server stopped (they
    /// cannot be resumed: only a run waiting at an interrupt saved its
    /// state) and lists the threads whose interrupt still waits.
    pub async fn recover(&self) -> Result<Recovery, StoreError> {
        let now = millis(SystemTime::now());
        let mut tx = self.pool.begin().await?;
        let failed = sqlx::query(
            "UPDATE runs SET status = 'failed', error = $1, finished_at = $2 \
             WHERE status = 'running'",
        )
        .bind(LOST_RUN)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE threads SET status = 'idle' WHERE status = 'running'")
            .execute(&mut *tx)
            .await?;
        let pending: Vec<(String,)> = sqlx::query_as(
            "SELECT i.thread_id FROM interrupts i JOIN runs r ON r.id = i.run_id \
                 WHERE i.resolved_at IS NULL AND r.status = 'interrupted'",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Recovery {
            failed_runs: failed.rows_affected(),
            pending_threads: pending.into_iter().map(|(id,)| id).collect(),
        })
    }

    /// How many threads are stored.
    pub async fn count_threads(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM threads")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}

fn thread_status(status: &str) -> ThreadStatus {
    match status {
        "running" => ThreadStatus::Running,
        "interrupted" => ThreadStatus::Interrupted,
        _ => ThreadStatus::Idle,
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}
