//! SQLite's writer: a thread of its own with one connection, committing
//! each planned batch with prepared statements, a row at a time. SQLite
//! runs in this process, so a statement costs microseconds; what costs is
//! handing each one to a worker thread and back, which is what sqlx's
//! driver does. Here a batch crosses threads once, whole. (Reads stay on
//! sqlx's pool: they are few, and none is on a person's critical path.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::batch::{Plan, RunChange};
use super::write::Queued;
use super::StoreError;
use crate::receipts::Signer;

/// How much a commit waits for the disk (`HITL_SQLITE_SYNC`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// A commit survives the process being killed; on a power cut the last
    /// commits before it may be lost (never a corrupt file).
    #[default]
    Normal,
    /// Each commit is on the disk before it is answered: it survives a
    /// power cut too.
    Full,
}

type Done = oneshot::Sender<(Vec<Queued>, Result<Vec<bool>, StoreError>)>;

/// The writer thread's handle.
pub(super) struct SqliteWriter {
    jobs: std::sync::mpsc::Sender<(Vec<Queued>, Done)>,
}

impl SqliteWriter {
    /// Opens the database file the sqlx `url` names (already migrated) and
    /// starts the thread.
    pub fn open(
        url: &str,
        durability: Durability,
        signer: Arc<Signer>,
    ) -> Result<Self, StoreError> {
        let mut connection = Connection::open(path_of(url))?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let synchronous = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        // The background checkpoint (`store::checkpoints`) copies the WAL
        // into the file; but under a steady stream of commits it never
        // catches up, and the WAL only starts over once a checkpoint in
        // the writer's own turn has. So the writer checkpoints too, past
        // 8,000 pages (32 MiB): a short one, the rest being copied already.
        // Without it the WAL grew by 80 MB/s. A page cache of 2 MiB (the
        // default): time-ordered ids keep the writer on each index's last
        // pages, and 8 MiB cost 6.6 MiB more holding 10,000 interrupts for no
        // measurable speed.
        connection.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
             PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 8000; \
             PRAGMA cache_size = -2048;"
        ))?;
        connection.set_prepared_statement_cache_capacity(32);
        let (jobs, queue) = std::sync::mpsc::channel::<(Vec<Queued>, Done)>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                while let Ok((batch, done)) = queue.recv() {
                    let result = commit(&mut connection, &signer, &batch);
                    let _ = done.send((batch, result));
                }
            })
            .map_err(|e| StoreError::DataDir {
                dir: "sqlite writer thread".into(),
                source: e,
            })?;
        Ok(Self { jobs })
    }

    /// Commits `batch` on the writer thread; the batch comes back with the
    /// outcome.
    pub async fn commit(&self, batch: Vec<Queued>) -> (Vec<Queued>, Result<Vec<bool>, StoreError>) {
        let (done, answer) = oneshot::channel();
        if let Err(std::sync::mpsc::SendError((batch, _))) = self.jobs.send((batch, done)) {
            return (batch, Err(StoreError::WriterGone));
        }
        answer
            .await
            .unwrap_or_else(|_| (Vec::new(), Err(StoreError::WriterGone)))
    }
}

/// The file of an sqlx SQLite URL (`sqlite://data/hitl.db?mode=rwc`).
pub(super) fn path_of(url: &str) -> PathBuf {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    Path::new(path).to_owned()
}

fn commit(
    connection: &mut Connection,
    signer: &Signer,
    batch: &[Queued],
) -> Result<Vec<bool>, StoreError> {
    let mut plan = Plan::new(batch.iter().map(|q| &q.write), false);
    let tx = connection.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO threads (id, title, status, created_at, updated_at, owner_id) \
             VALUES (?1, '', 'idle', ?2, ?2, ?3)",
        )?;
        for t in &plan.threads {
            insert.execute(params![t.id, t.at, t.owner])?;
        }
        let mut insert = tx.prepare_cached(
            "INSERT INTO runs (id, thread_id, status, user_message, owner, started_at, \
             lease_until, started_by) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in &plan.runs {
            insert.execute(params![
                r.id,
                r.thread_id,
                r.user_message,
                r.owner,
                r.at,
                r.lease_until,
                r.started_by
            ])?;
        }
        let mut upsert = tx.prepare_cached(
            "INSERT INTO messages (thread_id, seq, role, content) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (thread_id, seq) DO UPDATE SET content = excluded.content",
        )?;
        for ((thread, seq), (role, content)) in &plan.messages {
            upsert.execute(params![thread, seq, super::rows::role_name(*role), content])?;
        }
        let mut insert = tx.prepare_cached(
            "INSERT INTO interrupts (id, run_id, thread_id, body, expires_at, checkpoint, \
             after_message, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for i in &plan.interrupts {
            insert.execute(params![
                i.id,
                i.run_id,
                i.thread_id,
                i.body,
                i.expires_at,
                i.checkpoint,
                i.after_message,
                i.at
            ])?;
        }
    }
    // Resolutions: set once, by whoever gets here first; each that took
    // effect gets its audit record and its receipt, signed now it counts.
    let mut resolved = Vec::new();
    {
        let mut resolve = tx.prepare_cached(
            "UPDATE interrupts SET resolved_at = ?2, resolved_by = ?3, decision_id = ?4, \
             decisions = ?5, decided_by_id = ?6, decided_by_name = ?7 \
             WHERE id = ?1 AND resolved_at IS NULL",
        )?;
        let mut record = tx.prepare_cached(
            "INSERT INTO decisions (id, interrupt_id, thread_id, run_id, decision_id, decisions, \
             resolved_by, connection_id, client, server, decided_at, decided_by_id, \
             decided_by_name, receipt) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for r in &plan.resolutions {
            let decider = r.decider();
            let (decider_id, decider_name) =
                (decider.map(|d| &d.user_id), decider.map(|d| &d.name));
            let changed = resolve.execute(params![
                r.interrupt_id,
                r.at,
                r.by,
                r.decision_id,
                r.decisions,
                decider_id,
                decider_name
            ])?;
            if changed == 0 {
                continue;
            }
            resolved.push(r.interrupt_id);
            let receipt = r.receipt.signed(signer);
            record.execute(params![
                crate::runtime::new_id(),
                r.interrupt_id,
                r.thread_id,
                r.run_id,
                r.decision_id,
                r.decisions,
                r.by,
                r.origin.map(|o| &o.connection_id),
                r.origin.and_then(|o| o.client.as_ref()),
                r.server,
                r.at,
                decider_id,
                decider_name,
                receipt,
            ])?;
        }
    }
    let leases = std::mem::take(&mut plan.leases);
    let mut titles = std::mem::take(&mut plan.titles);
    let settled = plan.settle(&resolved, batch.len());
    {
        let mut status = tx.prepare_cached("UPDATE runs SET status = ?2 WHERE id = ?1")?;
        let mut finish = tx.prepare_cached(
            "UPDATE runs SET status = ?2, error = ?3, finished_at = ?4 WHERE id = ?1",
        )?;
        for (run, change) in &settled.runs {
            match change {
                RunChange::Status(state) => status.execute(params![run, state.as_str()])?,
                RunChange::Finished { status, error, at } => {
                    finish.execute(params![run, status.as_str(), error, at])?
                }
            };
        }
        let mut touch = tx.prepare_cached(
            "UPDATE threads SET title = COALESCE(?2, title), status = ?3, updated_at = ?4 WHERE id = ?1",
        )?;
        for (thread, t) in &settled.touches {
            touch.execute(params![thread, titles.remove(thread), t.status, t.at])?;
        }
        let mut title = tx.prepare_cached("UPDATE threads SET title = ?2 WHERE id = ?1")?;
        for (thread, text) in titles {
            title.execute(params![thread, text])?;
        }
        for (owner, until) in leases {
            tx.execute(
                "UPDATE runs SET lease_until = ?1 WHERE owner = ?2 \
                 AND status IN ('running', 'interrupted')",
                params![until, owner],
            )?;
        }
    }
    tx.commit()?;
    Ok(settled.effects)
}
