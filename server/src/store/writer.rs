//! The writer: one task that takes queued writes in batches and commits
//! each (see `commit`), retrying while storage fails.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::postgres::PostgresWriter;
use super::sqlite::SqliteWriter;
use super::write::Queued;
use super::{Health, StoreError, HIGH_WATER};
use crate::metrics::Metrics;
use crate::receipts::Signer;

/// What the writer task needs.
pub(super) struct Writer {
    pub committer: Committer,
    pub signer: Arc<Signer>,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
}

/// Each backend's own way to commit a batch.
pub(super) enum Committer {
    /// A thread of its own.
    Sqlite(SqliteWriter),
    /// A connection of its own.
    Postgres(Box<PostgresWriter>),
}

/// Pause before a failed batch is tried again, doubling to the longest.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(2);

/// Most writes one transaction takes. A batch is a dozen statements
/// however many writes it holds; a decision in SQLite's urgent lane waits
/// for the batch in progress, so it is not made too long.
const fn batch_size(committer: &Committer) -> usize {
    match committer {
        Committer::Sqlite(_) => 128,
        Committer::Postgres(_) => 256,
    }
}

/// Commits queued writes in batches, `urgent` ones first. A batch that
/// fails because storage is failing (a lost connection, a full disk, a
/// read-only file) is retried, in order, until it commits; while it is,
/// writes a person waits on are answered `Unavailable` at once. A batch
/// that fails for one bad write is committed write by write, and the bad
/// one is dropped with an error in the log.
pub(super) async fn commit_loop(
    mut writer: Writer,
    mut urgent: mpsc::UnboundedReceiver<Queued>,
    mut queue: mpsc::UnboundedReceiver<Queued>,
) {
    let limit = batch_size(&writer.committer);
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
        take_waiting(&mut batch, limit, &mut urgent);
        take_waiting(&mut batch, limit, &mut queue);
        if batch.iter().all(|queued| queued.done.is_none()) {
            linger(&mut batch, limit, &mut urgent, &mut queue).await;
        }
        let taken = batch.len();
        writer.commit_until_done(&mut batch).await;
        let health = &writer.health;
        if health.depth.fetch_sub(taken, Ordering::Relaxed) - taken < HIGH_WATER {
            health.drained.notify_waiters();
        }
    }
}

/// How long a batch nobody waits on waits for company. Under load most
/// writes are of this kind (events, a run's progress), and one commit for
/// several of them writes each shared page (an index's last leaf, a run's
/// row) once instead of once each.
const LINGER: Duration = Duration::from_millis(1);

/// Adds writes to a batch nobody waits on until `LINGER` has passed, the
/// batch is full, or a write someone waits on joins it (then at once).
async fn linger(
    batch: &mut Vec<Queued>,
    limit: usize,
    urgent: &mut mpsc::UnboundedReceiver<Queued>,
    queue: &mut mpsc::UnboundedReceiver<Queued>,
) {
    let deadline = tokio::time::sleep(LINGER);
    tokio::pin!(deadline);
    while batch.len() < limit {
        let next = tokio::select! {
            biased;
            queued = urgent.recv() => queued,
            queued = queue.recv() => queued,
            () = &mut deadline => return,
        };
        let Some(queued) = next else { return };
        let waited = queued.done.is_some();
        batch.push(queued);
        if waited {
            take_waiting(batch, limit, queue);
            return;
        }
    }
}

/// Adds what `queue` already holds to `batch`, up to `limit`, without
/// waiting.
fn take_waiting(
    batch: &mut Vec<Queued>,
    limit: usize,
    queue: &mut mpsc::UnboundedReceiver<Queued>,
) {
    while batch.len() < limit {
        match queue.try_recv() {
            Ok(queued) => batch.push(queued),
            Err(_) => break,
        }
    }
}

impl Writer {
    async fn commit(&mut self, batch: &mut Vec<Queued>) -> Result<Vec<bool>, StoreError> {
        match &mut self.committer {
            Committer::Sqlite(sqlite) => {
                let (back, result) = sqlite.commit(std::mem::take(batch)).await;
                *batch = back;
                result
            }
            Committer::Postgres(postgres) => postgres.commit(&self.signer, batch).await,
        }
    }

    async fn commit_until_done(&mut self, batch: &mut Vec<Queued>) {
        let mut retry = FIRST_RETRY;
        loop {
            let started = std::time::Instant::now();
            let result = self.commit(batch).await;
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
                    for queued in std::mem::take(batch) {
                        let mut one = vec![queued];
                        let result = self.commit(&mut one).await;
                        let Some(queued) = one.pop() else { continue };
                        match result {
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
