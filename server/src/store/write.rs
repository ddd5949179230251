//! The write queue: what changes, and the task that commits it in batches.

use protocol::{DecidedBy, Decision, Interrupt, ReceiptPayload, ResolvedBy, Role, RunStatus};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::rows::{self, RunState};
use super::{Backend, Health, StoreError, HIGH_WATER};
use crate::metrics::Metrics;
use crate::receipts::Signer;

/// Where a decision came from, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub connection_id: String,
    pub client: Option<String>,
    /// The signed-in person on that connection (none with sign-in off).
    pub decided_by: Option<DecidedBy>,
}

/// One change to stored state. Times are Unix milliseconds.
#[derive(Debug)]
pub enum Write {
    /// Commits nothing: waiting on it waits for everything queued before.
    Nothing,
    Thread {
        id: String,
        /// The account that created it.
        owner: Option<String>,
        at: i64,
    },
    Title {
        thread_id: String,
        title: String,
    },
    /// Inserts the message at `seq`, or replaces its content.
    Message {
        thread_id: String,
        seq: i64,
        role: Role,
        content: String,
    },
    RunStarted {
        thread_id: String,
        run_id: String,
        user_message: Option<String>,
        /// The account whose message started it.
        started_by: Option<String>,
        owner: String,
        lease_until: i64,
        at: i64,
    },
    /// The owner went on with a run after its interrupt was resolved.
    RunResumed {
        thread_id: String,
        run_id: String,
        at: i64,
    },
    /// Asks the server that runs the thread's run to cancel it.
    CancelRequest {
        thread_id: String,
    },
    /// Extends the leases of `owner`'s active runs. In the queue, not
    /// beside it: concurrent updates of the same rows could deadlock.
    RenewLeases {
        owner: String,
        until: i64,
    },
    /// An event for the other servers' connections (PostgreSQL only).
    Event {
        thread_id: String,
        frame: bytes::Bytes,
    },
    InterruptRaised {
        thread_id: String,
        interrupt: Interrupt,
        checkpoint: serde_json::Value,
        after_message: i64,
        at: i64,
    },
    /// Resolves a pending interrupt if it is still pending, and logs it.
    /// Takes effect only for the first: the second changes nothing.
    Resolved {
        thread_id: String,
        run_id: String,
        interrupt_id: String,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
        by: ResolvedBy,
        origin: Option<Origin>,
        server: String,
        /// The deciding server runs the run: it goes on at once.
        resumes: bool,
        /// Signed by the writer and kept with the audit record.
        receipt: Box<ReceiptPayload>,
        at: i64,
    },
    RunFinished {
        thread_id: String,
        run_id: String,
        status: RunStatus,
        error: Option<String>,
        at: i64,
    },
}

pub(super) struct Queued {
    pub write: Write,
    /// Whether the write took effect (a `Resolved` may not).
    pub done: Option<oneshot::Sender<Result<bool, StoreError>>>,
    /// On a failure of storage, answer at once instead of retrying: a
    /// person waits on it, and what was not saved must not be applied.
    pub give_up: bool,
}

impl Queued {
    /// Retried until it commits; nobody waits on it.
    pub fn background(write: Write) -> Self {
        Self {
            write,
            done: None,
            give_up: false,
        }
    }

    /// Answered once committed, or at once if storage fails.
    pub fn waited(write: Write, done: oneshot::Sender<Result<bool, StoreError>>) -> Self {
        Self {
            write,
            done: Some(done),
            give_up: true,
        }
    }
}

/// What the writer task needs.
pub(super) struct Writer {
    pub pool: AnyPool,
    pub backend: Backend,
    pub signer: Arc<Signer>,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
}

/// Pause before a failed batch is tried again, doubling to the longest.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(2);

/// Most writes one transaction takes. Smaller batches let a decision in
/// SQLite's urgent lane go sooner (it waits for the batch in progress);
/// PostgreSQL's commits cost a WAL flush each, so it takes more at once.
const fn batch_size(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32,
        Backend::Postgres => 64,
    }
}

/// Commits queued writes in batches, `urgent` ones first. A batch that
/// fails because storage is failing (a lost connection, a full disk, a
/// read-only file) is retried, in order, until it commits; while it is,
/// writes a person waits on are answered `Unavailable` at once. A batch
/// that fails for one bad write is committed write by write, and the bad
/// one is dropped with an error in the log.
pub(super) async fn commit_loop(
    writer: Writer,
    mut urgent: mpsc::UnboundedReceiver<Queued>,
    mut queue: mpsc::UnboundedReceiver<Queued>,
) {
    let limit = batch_size(writer.backend);
    let mut batch = Vec::with_capacity(limit);
    loop {
        let first = tokio::select! {
            biased;
            queued = urgent.recv() => queued,
            queued = queue.recv() => queued,
        };
        let Some(first) = first else {
            return;
        };
        batch.push(first);
        while batch.len() < limit {
            match urgent.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        while batch.len() < limit {
            match queue.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        let taken = batch.len();
        writer.commit_until_done(&mut batch).await;
        let health = &writer.health;
        if health.depth.fetch_sub(taken, Ordering::Relaxed) - taken < HIGH_WATER {
            health.drained.notify_waiters();
        }
    }
}

impl Writer {
    async fn commit_until_done(&self, batch: &mut Vec<Queued>) {
        let mut retry = FIRST_RETRY;
        loop {
            let started = std::time::Instant::now();
            let result = commit_batch(&self.pool, self.backend, &self.signer, batch).await;
            self.metrics
                .storage_commit
                .observe(started.elapsed().as_secs_f64());
            match result {
                Ok(effects) => {
                    for (queued, effect) in batch.drain(..).zip(effects) {
                        if let Some(done) = queued.done {
                            let _ = done.send(Ok(effect));
                        }
                    }
                    if self.health.failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("storage is back: queued writes committed");
                    }
                    return;
                }
                Err(e) if e.is_transient() => {
                    self.metrics
                        .storage_errors
                        .get_or_create(&Metrics::kind("transient"))
                        .inc();
                    // Nothing a person waits on is applied later behind their back.
                    let (given_up, kept): (Vec<_>, Vec<_>) =
                        batch.drain(..).partition(|q| q.give_up);
                    *batch = kept;
                    for queued in given_up {
                        if let Some(done) = queued.done {
                            let _ = done.send(Err(StoreError::Unavailable));
                        }
                    }
                    if batch.is_empty() {
                        // Nothing left to retry: the next write tries afresh.
                        tracing::warn!(error = %e, "storage failed; the writes waited on were refused");
                        return;
                    }
                    if !self.health.failing.swap(true, Ordering::Relaxed) {
                        tracing::error!(error = %e, queued = batch.len(), "storage is failing; retrying");
                    }
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(LONGEST_RETRY);
                }
                Err(e) => {
                    // One bad write must not take the others down with it.
                    tracing::warn!(error = %e, size = batch.len(), "batch failed; committing one by one");
                    let mut kept = Vec::new();
                    for queued in batch.drain(..) {
                        let one = std::slice::from_ref(&queued);
                        match commit_batch(&self.pool, self.backend, &self.signer, one).await {
                            Ok(effects) => {
                                if let Some(done) = queued.done {
                                    let _ = done.send(Ok(effects[0]));
                                }
                            }
                            // Storage itself failed meanwhile: keep it for the retry.
                            Err(e) if e.is_transient() && !queued.give_up => kept.push(queued),
                            Err(e) => {
                                self.metrics
                                    .storage_errors
                                    .get_or_create(&Metrics::kind("rejected"))
                                    .inc();
                                tracing::error!(error = %e, write = ?queued.write, "write rejected");
                                if let Some(done) = queued.done {
                                    let _ = done.send(Err(e));
                                }
                            }
                        }
                    }
                    if kept.is_empty() {
                        return;
                    }
                    *batch = kept;
                }
            }
        }
    }
}

pub(super) async fn commit_batch(
    pool: &AnyPool,
    backend: Backend,
    signer: &Signer,
    batch: &[Queued],
) -> Result<Vec<bool>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut effects = Vec::with_capacity(batch.len());
    let mut events = Vec::new();
    for queued in batch {
        match &queued.write {
            Write::Event { thread_id, frame } => {
                if backend == Backend::Postgres {
                    events.push(super::notify::event_payload(thread_id, frame, NOTIFY_LIMIT));
                }
                effects.push(true);
            }
            write => effects.push(apply(&mut tx, backend, signer, write).await?),
        }
    }
    // One round trip for all of them, in order, delivered at commit.
    for chunk in events.chunks(NOTIFY_BATCH) {
        let calls: Vec<_> = (1..=chunk.len())
            .map(|i| format!("pg_notify('{}', ${i})", super::notify::EVENTS))
            .collect();
        let sql = format!("SELECT {}", calls.join(", "));
        let mut query = sqlx::query(&sql);
        for payload in chunk {
            query = query.bind(payload);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(effects)
}

/// Notifications sent by one statement.
const NOTIFY_BATCH: usize = 64;

/// PostgreSQL's limit on a notification's payload is 8000 bytes.
const NOTIFY_LIMIT: usize = 7900;

async fn apply(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    signer: &Signer,
    write: &Write,
) -> Result<bool, StoreError> {
    match write {
        Write::Nothing => {}
        // Sent together by `commit_batch`.
        Write::Event { .. } => {}
        Write::RenewLeases { owner, until } => {
            sqlx::query(
                "UPDATE runs SET lease_until = $1 WHERE owner = $2 \
                 AND status IN ('running', 'interrupted')",
            )
            .bind(until)
            .bind(owner)
            .execute(&mut **tx)
            .await?;
        }
        Write::CancelRequest { thread_id } => {
            if backend == Backend::Postgres {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(super::notify::DECISIONS)
                    .bind(super::notify::cancel_payload(thread_id))
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Write::RunResumed {
            thread_id,
            run_id,
            at,
        } => {
            set_run_status(tx, run_id, RunState::Running).await?;
            touch(tx, thread_id, Some("running"), *at).await?;
        }
        Write::Thread { id, owner, at } => {
            sqlx::query(
                "INSERT INTO threads (id, title, status, created_at, updated_at, owner_id) \
                 VALUES ($1, '', 'idle', $2, $2, $3)",
            )
            .bind(id)
            .bind(at)
            .bind(owner)
            .execute(&mut **tx)
            .await?;
        }
        Write::Title { thread_id, title } => {
            sqlx::query("UPDATE threads SET title = $1 WHERE id = $2")
                .bind(title)
                .bind(thread_id)
                .execute(&mut **tx)
                .await?;
        }
        Write::Message {
            thread_id,
            seq,
            role,
            content,
        } => {
            sqlx::query(
                "INSERT INTO messages (thread_id, seq, role, content) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (thread_id, seq) DO UPDATE SET content = excluded.content",
            )
            .bind(thread_id)
            .bind(seq)
            .bind(rows::role_name(*role))
            .bind(content)
            .execute(&mut **tx)
            .await?;
            // `updated_at` moves with the run's next step: one write fewer.
        }
        Write::RunStarted {
            thread_id,
            run_id,
            user_message,
            started_by,
            owner,
            lease_until,
            at,
        } => {
            sqlx::query(
                "INSERT INTO runs (id, thread_id, status, user_message, owner, started_at, \
                 lease_until, started_by) VALUES ($1, $2, 'running', $3, $4, $5, $6, $7)",
            )
            .bind(run_id)
            .bind(thread_id)
            .bind(user_message)
            .bind(owner)
            .bind(at)
            .bind(lease_until)
            .bind(started_by)
            .execute(&mut **tx)
            .await?;
            touch(tx, thread_id, Some("running"), *at).await?;
        }
        Write::InterruptRaised {
            thread_id,
            interrupt,
            checkpoint,
            after_message,
            at,
        } => {
            let expires_at = humantime::parse_rfc3339(&interrupt.expires_at)
                .map(super::millis)
                .unwrap_or(*at);
            sqlx::query(
                "INSERT INTO interrupts (id, run_id, thread_id, body, expires_at, checkpoint, \
                 after_message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&interrupt.interrupt_id)
            .bind(&interrupt.run_id)
            .bind(thread_id)
            .bind(serde_json::to_string(interrupt).expect("interrupts serialize"))
            .bind(expires_at)
            .bind(checkpoint.to_string())
            .bind(after_message)
            .bind(at)
            .execute(&mut **tx)
            .await?;
            set_run_status(tx, &interrupt.run_id, RunState::Interrupted).await?;
            touch(tx, thread_id, Some("interrupted"), *at).await?;
        }
        Write::Resolved {
            thread_id,
            run_id,
            interrupt_id,
            decision_id,
            decisions,
            by,
            origin,
            server,
            resumes,
            receipt,
            at,
        } => {
            let decisions = serde_json::to_string(decisions).expect("decisions serialize");
            let by = rows::resolved_by_name(*by);
            let decider = origin.as_ref().and_then(|o| o.decided_by.as_ref());
            let decider_id = decider.map(|d| d.user_id.as_str());
            let decider_name = decider.map(|d| d.name.as_str());
            // Set once: whoever gets here second changes nothing.
            let resolved = sqlx::query(
                "UPDATE interrupts SET resolved_at = $1, resolved_by = $2, decision_id = $3, \
                 decisions = $4, decided_by_id = $5, decided_by_name = $6 \
                 WHERE id = $7 AND resolved_at IS NULL",
            )
            .bind(at)
            .bind(by)
            .bind(decision_id)
            .bind(&decisions)
            .bind(decider_id)
            .bind(decider_name)
            .bind(interrupt_id)
            .execute(&mut **tx)
            .await?;
            if resolved.rows_affected() == 0 {
                return Ok(false);
            }
            // Signed only once it is the resolution that counts.
            let receipt = serde_json::to_string(&signer.sign((**receipt).clone()))
                .expect("receipts serialize");
            sqlx::query(
                "INSERT INTO decisions (id, interrupt_id, thread_id, run_id, decision_id, \
                 decisions, resolved_by, connection_id, client, server, decided_at, \
                 decided_by_id, decided_by_name, receipt) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(crate::runtime::new_id())
            .bind(interrupt_id)
            .bind(thread_id)
            .bind(run_id)
            .bind(decision_id)
            .bind(&decisions)
            .bind(by)
            .bind(origin.as_ref().map(|o| o.connection_id.as_str()))
            .bind(origin.as_ref().and_then(|o| o.client.as_deref()))
            .bind(server)
            .bind(at)
            .bind(decider_id)
            .bind(decider_name)
            .bind(receipt)
            .execute(&mut **tx)
            .await?;
            if *resumes {
                set_run_status(tx, run_id, RunState::Running).await?;
                touch(tx, thread_id, Some("running"), *at).await?;
            } else if backend == Backend::Postgres {
                // The run lives elsewhere: tell its owner.
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(super::notify::DECISIONS)
                    .bind(super::notify::decision_payload(
                        server,
                        thread_id,
                        interrupt_id,
                    ))
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Write::RunFinished {
            thread_id,
            run_id,
            status,
            error,
            at,
        } => {
            sqlx::query("UPDATE runs SET status = $1, error = $2, finished_at = $3 WHERE id = $4")
                .bind(status.as_str())
                .bind(error)
                .bind(at)
                .bind(run_id)
                .execute(&mut **tx)
                .await?;
            touch(tx, thread_id, Some("idle"), *at).await?;
        }
    }
    Ok(true)
}

async fn set_run_status(
    tx: &mut Transaction<'static, Any>,
    run_id: &str,
    status: RunState,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE runs SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(run_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the thread's `updated_at`, and its status if given.
async fn touch(
    tx: &mut Transaction<'static, Any>,
    thread_id: &str,
    status: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE threads SET status = COALESCE($1, status), updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(at)
        .bind(thread_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
