//! Reading stored threads back: the list, one thread whole, the audit log,
//! and what a starting server must pick up.

use std::time::SystemTime;

use protocol::{
    ChatMessage, DecidedBy, Decision, DecisionRecord, Interrupt, ResolvedBy, ResolvedInterrupt,
    ThreadSummary,
};

use super::rows::{
    self, ClaimedRow, DecisionRow, InterruptRow, MessageRow, ResolutionRow, RunRow, RunState,
    SummaryRow,
};
use super::{from_millis, millis, Store, StoreError};
use crate::time::rfc3339;

/// A thread as stored, enough to rebuild it in memory.
pub struct StoredThread {
    pub id: String,
    /// The account that created it.
    pub owner: Option<String>,
    pub title: String,
    pub updated_at: SystemTime,
    pub messages: Vec<ChatMessage>,
    pub resolved: Vec<ResolvedInterrupt>,
    /// Its active run, if it has one.
    pub run: Option<StoredRun>,
    /// The active run's latest interrupt, if the run stopped at it.
    pub pending: Option<StoredPending>,
}

pub struct StoredRun {
    pub id: String,
    /// Running or interrupted.
    pub status: RunState,
    pub owner: String,
    /// The account whose message started it.
    pub started_by: Option<String>,
}

/// The interrupt an active run stopped at, with the checkpoint it resumes
/// from, and how it was resolved if it was (by a server that does not own
/// the run, before the owner went on).
pub struct StoredPending {
    pub interrupt: Interrupt,
    pub checkpoint: serde_json::Value,
    pub resolved: Option<StoredResolution>,
}

/// How an interrupt was resolved, as stored.
#[derive(Clone, Debug)]
pub struct StoredResolution {
    pub decision_id: Option<String>,
    pub decisions: Vec<Decision>,
    pub by: ResolvedBy,
    pub decided_by: Option<DecidedBy>,
}

/// What a starting server found.
pub struct Recovery {
    /// Runs that were working (not waiting) when their server stopped:
    /// `(run_id, thread_id)`.
    pub failed_runs: Vec<(String, String)>,
    /// Threads whose run waits at an interrupt, now this server's.
    pub pending_threads: Vec<String>,
}

/// The reason a run that died with its server is given.
pub const LOST_RUN: &str = "The server stopped while this run was working, so it could not finish. Send your message again.";

/// The columns of `SummaryRow`, from `threads`: with the deadline of the
/// interrupt a thread waits at, if it waits.
macro_rules! summaries {
    () => {
        "SELECT id, title, status, updated_at, \
         (SELECT MIN(i.expires_at) FROM interrupts i \
          WHERE i.thread_id = threads.id AND i.resolved_at IS NULL) AS expires_at \
         FROM threads"
    };
}

impl Store {
    /// Threads, most recently updated first: every one, or `owner`'s.
    pub async fn list_threads(
        &self,
        limit: i64,
        owner: Option<&str>,
    ) -> Result<Vec<ThreadSummary>, StoreError> {
        let query = match owner {
            None => sqlx::query_as(concat!(
                summaries!(),
                " ORDER BY updated_at DESC, id LIMIT $1"
            ))
            .bind(limit),
            Some(owner) => sqlx::query_as(concat!(
                summaries!(),
                " WHERE owner_id = $2 ORDER BY updated_at DESC, id LIMIT $1"
            ))
            .bind(limit)
            .bind(owner),
        };
        let rows: Vec<SummaryRow> = query.fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|row| {
                Ok(ThreadSummary {
                    thread_id: row.id,
                    title: row.title,
                    status: rows::thread_status(&row.status)?,
                    updated_at: rfc3339(from_millis(row.updated_at)),
                    expires_at: row.expires_at.map(|at| rfc3339(from_millis(at))),
                })
            })
            .collect()
    }

    pub async fn load_thread(&self, id: &str) -> Result<Option<StoredThread>, StoreError> {
        let Some((title, updated_at, owner)): Option<(String, i64, Option<String>)> =
            sqlx::query_as("SELECT title, updated_at, owner_id FROM threads WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let messages: Vec<MessageRow> =
            sqlx::query_as("SELECT role, content FROM messages WHERE thread_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let messages = messages
            .into_iter()
            .map(|row| {
                Ok(ChatMessage {
                    role: rows::role(&row.role)?,
                    content: row.content,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let rows: Vec<InterruptRow> = sqlx::query_as(
            "SELECT i.body, i.checkpoint, i.after_message, i.resolved_by, i.decision_id, \
             i.decisions, i.decided_by_id, i.decided_by_name, r.status AS run_status \
             FROM interrupts i JOIN runs r ON r.id = i.run_id \
             WHERE i.thread_id = $1 ORDER BY i.created_at, i.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut resolved = Vec::new();
        let mut pending = None;
        for row in rows {
            let interrupt: Interrupt = parse("interrupt", &row.body)?;
            let decided_by = decider(row.decided_by_id, row.decided_by_name);
            let record = match (row.resolved_by, row.decisions) {
                (Some(by), Some(decisions)) => Some(ResolvedInterrupt {
                    interrupt: interrupt.clone(),
                    decision_id: row.decision_id,
                    decisions: parse::<Vec<Decision>>("decisions", &decisions)?,
                    by: rows::resolved_by(&by)?,
                    after_message: row.after_message as usize,
                    decided_by,
                }),
                _ => None,
            };
            // A run still `interrupted` stopped at its latest interrupt
            // (an earlier one saved as its run stopped never waited).
            if RunState::parse(&row.run_status)? == RunState::Interrupted {
                pending = Some(StoredPending {
                    interrupt,
                    checkpoint: parse("checkpoint", &row.checkpoint)?,
                    resolved: record.as_ref().map(|r| StoredResolution {
                        decision_id: r.decision_id.clone(),
                        decisions: r.decisions.clone(),
                        by: r.by,
                        decided_by: r.decided_by.clone(),
                    }),
                });
            }
            resolved.extend(record);
        }
        let run: Option<RunRow> = sqlx::query_as(
            "SELECT id, status, owner, started_by FROM runs WHERE thread_id = $1 \
             AND status IN ('running', 'interrupted') ORDER BY started_at DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let run = match run {
            Some(row) => Some(StoredRun {
                id: row.id,
                status: RunState::parse(&row.status)?,
                owner: row.owner,
                started_by: row.started_by,
            }),
            None => None,
        };
        if run
            .as_ref()
            .is_none_or(|r| r.status != RunState::Interrupted)
        {
            pending = None;
        }
        Ok(Some(StoredThread {
            id: id.to_owned(),
            owner,
            title,
            updated_at: from_millis(updated_at),
            messages,
            resolved,
            run,
            pending,
        }))
    }

    /// The audit log of a thread, oldest first.
    pub async fn decisions(&self, thread_id: &str) -> Result<Vec<DecisionRecord>, StoreError> {
        let rows: Vec<DecisionRow> = sqlx::query_as(
            "SELECT interrupt_id, run_id, decision_id, decisions, resolved_by, connection_id, \
             client, server, decided_at, decided_by_id, decided_by_name, receipt \
             FROM decisions WHERE thread_id = $1 ORDER BY decided_at, id",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(DecisionRecord {
                    interrupt_id: row.interrupt_id,
                    run_id: row.run_id,
                    decision_id: row.decision_id,
                    decisions: parse("decisions", &row.decisions)?,
                    by: rows::resolved_by(&row.resolved_by)?,
                    connection_id: row.connection_id,
                    client: row.client,
                    server: row.server,
                    decided_at: rfc3339(from_millis(row.decided_at)),
                    decided_by: decider(row.decided_by_id, row.decided_by_name),
                    receipt: row
                        .receipt
                        .as_deref()
                        .map(|r| parse("receipt", r))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Picks up what a stopped server left: runs that were working are
    /// failed (only a run waiting at an interrupt saved its state), and runs
    /// waiting at an interrupt become this server's. Only runs of this
    /// server's id or whose lease has passed: a live server keeps its own.
    pub async fn recover(&self) -> Result<Recovery, StoreError> {
        let now = millis(SystemTime::now());
        let failed: Vec<(String, String)> = sqlx::query_as(
            "UPDATE runs SET status = 'failed', error = $1, finished_at = $2 \
             WHERE status = 'running' \
             AND (owner = $3 OR lease_until IS NULL OR lease_until < $2 OR $4 = 1) \
             RETURNING id, thread_id",
        )
        .bind(LOST_RUN)
        .bind(now)
        .bind(&self.server_id)
        .bind(self.single() as i64)
        .fetch_all(&self.pool)
        .await?;
        for (run_id, thread_id) in &failed {
            self.write(super::Write::RunFinished {
                thread_id: thread_id.clone(),
                run_id: run_id.clone(),
                status: protocol::RunStatus::Failed,
                error: Some(LOST_RUN.into()),
                at: now,
            });
        }
        // SQLite has one server: everything left is this one's.
        let pending = self
            .claim_runs(&format!(
                "UPDATE runs SET owner = $1, lease_until = $2 WHERE status = 'interrupted' \
                 AND (owner = $1 OR lease_until IS NULL OR lease_until < $3 OR {} = 1) \
                 RETURNING id, thread_id, status",
                self.single() as i64
            ))
            .await?;
        self.flush().await?;
        Ok(Recovery {
            failed_runs: failed,
            pending_threads: pending.into_iter().map(|(_, thread, _)| thread).collect(),
        })
    }

    fn single(&self) -> bool {
        self.backend == super::Backend::Sqlite
    }

    /// Takes over the active runs whose owner stopped renewing their lease:
    /// `(run_id, thread_id, status)`. Each goes to one server only.
    pub async fn take_over(&self) -> Result<Vec<(String, String, RunState)>, StoreError> {
        self.claim_runs(
            "UPDATE runs SET owner = $1, lease_until = $2 \
             WHERE status IN ('running', 'interrupted') AND lease_until < $3 \
             RETURNING id, thread_id, status",
        )
        .await
    }

    async fn claim_runs(&self, sql: &str) -> Result<Vec<(String, String, RunState)>, StoreError> {
        let now = millis(SystemTime::now());
        let until = now + self.lease.as_millis() as i64;
        let rows: Vec<ClaimedRow> = sqlx::query_as(sql)
            .bind(&self.server_id)
            .bind(until)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| Ok((row.id, row.thread_id, RunState::parse(&row.status)?)))
            .collect()
    }

    /// Extends the leases of this server's active runs.
    pub async fn renew_leases(&self) -> Result<(), StoreError> {
        let until = millis(SystemTime::now()) + self.lease.as_millis() as i64;
        self.commit(super::Write::RenewLeases {
            owner: self.server_id.clone(),
            until,
        })
        .await
        .map(drop)
    }

    /// An interrupt's resolution as stored, if it has one.
    pub async fn resolution(
        &self,
        interrupt_id: &str,
    ) -> Result<Option<StoredResolution>, StoreError> {
        let row: Option<ResolutionRow> = sqlx::query_as(
            "SELECT decision_id, decisions, resolved_by, decided_by_id, decided_by_name \
             FROM interrupts WHERE id = $1",
        )
        .bind(interrupt_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(ResolutionRow {
                decision_id,
                decisions: Some(decisions),
                resolved_by: Some(by),
                decided_by_id,
                decided_by_name,
            }) => Ok(Some(StoredResolution {
                decision_id,
                decisions: parse("decisions", &decisions)?,
                by: rows::resolved_by(&by)?,
                decided_by: decider(decided_by_id, decided_by_name),
            })),
            _ => Ok(None),
        }
    }

    /// Every receipt key the servers on this database have signed with.
    pub async fn receipt_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT kid, x FROM receipt_keys ORDER BY created_at, kid")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// How many threads are stored.
    pub async fn count_threads(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM threads")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

fn decider(id: Option<String>, name: Option<String>) -> Option<DecidedBy> {
    Some(DecidedBy {
        user_id: id?,
        name: name?,
    })
}
