//! Durable threads: SQLite by default, PostgreSQL when `DATABASE_URL`
//! names one. Reads and migrations share one code path (sqlx's `Any`
//! driver and SQL both understand); writes are planned once (`batch`) and
//! committed by a writer of each backend's own (`sqlite`, `postgres`).
//!
//! Writes go through one ordered queue ([`Write`]) that a single task
//! commits in batches, so the thread's lock is never held across I/O and
//! the database sees changes in the order clients saw them. A decision is
//! the exception that waits: its write is committed before anyone is told
//! it was applied.

mod batch;
mod notify;
mod postgres;
mod read;
mod rows;
mod sqlite;
mod write;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::atomic::Ordering;

use crate::metrics::Metrics;
use crate::receipts::Signer;
use crate::settings::Database;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

pub use notify::{Notice, RESYNC, REVOCATIONS};
pub use read::{Recovery, StoredPending, StoredResolution, StoredRun, StoredThread, LOST_RUN};
pub use rows::RunState;
pub use sqlite::Durability;
pub use write::{Origin, Receipt, Write};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("data directory {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
    #[error("stored {what} is unreadable: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database: {}", postgres::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the database writer has stopped")]
    WriterGone,
    /// Storage is failing (a background write is being retried), so a
    /// change a person waits on is refused at once rather than queued.
    #[error("storage is failing; nothing was saved")]
    Unavailable,
}

impl StoreError {
    /// Storage itself failing (a lost connection, a full disk, a read-only
    /// file, a busy lock), which retrying may get past, as opposed to a
    /// write it will never take.
    pub fn is_transient(&self) -> bool {
        if let StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = self {
            use rusqlite::ErrorCode::*;
            return matches!(
                e.code,
                DatabaseBusy | DatabaseLocked | ReadOnly | SystemIoFailure | DiskFull | CannotOpen
            );
        }
        if let StoreError::Postgres(e) = self {
            return match e.code() {
                Some(code) => postgres_transient(code.code()),
                // Not PostgreSQL's answer: the connection failed, or a
                // value did not convert (which no retry mends).
                None => {
                    e.is_closed()
                        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                }
            };
        }
        let StoreError::Database(e) = self else {
            return matches!(self, StoreError::Unavailable);
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                match code.parse::<i64>() {
                    // SQLite: BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN
                    // (extended codes carry the primary one in the low byte).
                    Ok(n) => matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14),
                    Err(_) => postgres_transient(&code),
                }
            }
            _ => false,
        }
    }
}

/// PostgreSQL's error codes for connection exceptions, shutdowns, out of
/// resources (a full disk), a read-only transaction, and deadlocks and
/// serialization failures, which a retry gets past.
fn postgres_transient(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P")
        || code.starts_with("53")
        || code == "25006"
        || code == "40P01"
        || code == "40001"
}

/// How the writer is doing, shared by the store and its writer task.
#[derive(Default)]
pub(crate) struct Health {
    /// `false` while a failed batch is being retried.
    failing: std::sync::atomic::AtomicBool,
    /// Writes queued and not yet committed.
    depth: std::sync::atomic::AtomicUsize,
    /// Woken when the queue drains below its high-water mark.
    drained: tokio::sync::Notify,
}

/// Writes queued before producers that can wait (runs) do: beyond this,
/// storage is behind, and memory must not grow in its place.
pub const HIGH_WATER: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    /// Signs each resolution's receipt as it is committed.
    signer: Arc<Signer>,
    writes: mpsc::UnboundedSender<write::Queued>,
    /// Writes a person waits on, committed before the rest of the queue.
    urgent: mpsc::UnboundedSender<write::Queued>,
    /// This process, as runs' `owner` and the audit log's `server`.
    server_id: String,
    url: String,
    /// How long an active run's owner vouches for it between renewals.
    lease: Duration,
    /// Credentials other servers revoked (`kind:id`), for sign-in to act on.
    revocations: tokio::sync::broadcast::Sender<String>,
    /// How long to wait before listening again after a lost connection.
    listen_backoff: Duration,
}

impl Store {
    /// Connects, creates the SQLite file's directory if need be, and runs
    /// the migrations. `server_id` names this process to the others; a
    /// process restarted with the same id takes its runs back at once.
    pub async fn open(
        db: &Database,
        server_id: &str,
        signer: Arc<Signer>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, StoreError> {
        let url = db.url.as_str();
        let (pool, backend) = connect(url).await?;
        // Any server of the cluster can then show any receipt's key.
        sqlx::query(
            "INSERT INTO receipt_keys (kid, x, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (kid) DO NOTHING",
        )
        .bind(signer.kid())
        .bind(&signer.jwk().x)
        .bind(millis(SystemTime::now()))
        .execute(&pool)
        .await?;
        let (writes, queue) = mpsc::unbounded_channel();
        let (urgent, urgent_queue) = mpsc::unbounded_channel();
        let _ = notify::SERVER.set(server_id.to_owned());
        let health = Arc::new(Health::default());
        let committer = match backend {
            Backend::Sqlite => writer::Committer::Sqlite(sqlite::SqliteWriter::open(
                url,
                db.durability,
                signer.clone(),
            )?),
            Backend::Postgres => writer::Committer::Postgres(Box::new(
                postgres::PostgresWriter::new(url, server_id)?,
            )),
        };
        tokio::spawn(writer::commit_loop(
            writer::Writer {
                committer,
                signer: signer.clone(),
                health: health.clone(),
                metrics: metrics.clone(),
            },
            urgent_queue,
            queue,
        ));
        Ok(Arc::new(Self {
            pool,
            backend,
            health,
            metrics,
            signer,
            writes,
            urgent,
            server_id: server_id.to_owned(),
            url: url.to_owned(),
            lease: db.lease,
            revocations: tokio::sync::broadcast::channel(256).0,
            listen_backoff: db.listen_backoff,
        }))
    }

    /// Credentials other servers revoked, as they are heard of.
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.revocations.subscribe()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn signer(&self) -> &Arc<Signer> {
        &self.signer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// Queues a write; it commits shortly, in order with every other. If
    /// storage is failing it is retried until it commits.
    pub fn write(&self, write: Write) {
        let write = self.sealed(write);
        self.health.depth.fetch_add(1, Ordering::Relaxed);
        let _ = self.writes.send(write::Queued::background(write));
    }

    /// A resolution with its receipt signed: here, on the caller's thread,
    /// so the writer only stores it.
    fn sealed(&self, mut write: Write) -> Write {
        if let Write::Resolved { receipt, .. } = &mut write {
            receipt.seal(&self.signer);
        }
        write
    }

    /// Waits while the queue is over its high-water mark: what a run awaits
    /// before it produces more, so a slow or failing storage slows runs
    /// instead of filling memory.
    pub async fn ready(&self) {
        loop {
            // Registered before the check: a wake-up between the two is not lost.
            let drained = self.health.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.depth() < HIGH_WATER {
                return;
            }
            drained.await;
        }
    }

    /// Writes queued and not yet committed.
    pub fn depth(&self) -> usize {
        self.health.depth.load(Ordering::Relaxed)
    }

    /// `Err` while storage is failing: refuse what a person waits on.
    pub fn check(&self) -> Result<(), StoreError> {
        match self.health.failing.load(Ordering::Relaxed) {
            true => Err(StoreError::Unavailable),
            false => Ok(()),
        }
    }

    /// Whether storage answers now (readiness): a query within two seconds,
    /// and no batch stuck retrying.
    pub async fn ping(&self) -> bool {
        let query = sqlx::query("SELECT 1").execute(&self.pool);
        self.check().is_ok()
            && matches!(
                tokio::time::timeout(Duration::from_secs(2), query).await,
                Ok(Ok(_))
            )
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Several servers may share it.
    pub fn shared(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Queues a write and waits until it is committed; `false` if it
    /// changed nothing (a decision on an interrupt already resolved).
    pub async fn commit(&self, write: Write) -> Result<bool, StoreError> {
        self.queue(write).await
    }

    /// Commits a write ahead of the queue, in the writer's next batch: for
    /// a decision, which a person waits on. Decisions made at once share
    /// one commit. Only for writes whose earlier writes are committed
    /// already (an interrupt is stored before anyone can decide it).
    pub async fn commit_now(&self, write: Write) -> Result<bool, StoreError> {
        self.check()?;
        let write = self.sealed(write);
        let (done, committed) = oneshot::channel();
        self.health.depth.fetch_add(1, Ordering::Relaxed);
        self.urgent
            .send(write::Queued::waited(write, done))
            .map_err(|_| StoreError::WriterGone)?;
        committed.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Queues a write now; the future resolves once it is committed.
    pub fn queue(
        &self,
        write: Write,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send + 'static {
        let (done, committed) = oneshot::channel();
        let queued = match self.check() {
            Err(e) => Err(e),
            Ok(()) => {
                self.health.depth.fetch_add(1, Ordering::Relaxed);
                self.writes
                    .send(write::Queued::waited(write, done))
                    .map_err(|_| StoreError::WriterGone)
            }
        };
        async move {
            queued?;
            committed.await.map_err(|_| StoreError::WriterGone)?
        }
    }

    /// Waits until every write queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.commit(Write::Nothing).await.map(drop)
    }

    /// Waits until every write queued so far is committed, however long
    /// storage takes to come back (shutdown: nothing queued is dropped).
    async fn drain(&self) {
        let (done, committed) = oneshot::channel();
        self.health.depth.fetch_add(1, Ordering::Relaxed);
        let mut queued = write::Queued::waited(Write::Nothing, done);
        queued.give_up = false;
        if self.writes.send(queued).is_ok() {
            let _ = committed.await;
        }
    }

    /// Releases the connections once queued writes are committed.
    pub async fn close(&self) {
        if tokio::time::timeout(Duration::from_secs(10), self.drain())
            .await
            .is_err()
        {
            tracing::error!(
                queued = self.depth(),
                "storage did not take the last writes in 10 s"
            );
        }
        self.pool.close().await;
    }
}

/// Unix milliseconds, the stored form of a time.
pub fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

pub fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// Opens a pool on `url` (creating an SQLite file's directory) and runs
/// the migrations. `sqlite::memory:` gives a private in-memory database
/// (the accounts of a server that keeps threads in memory).
pub async fn connect(url: &str) -> Result<(AnyPool, Backend), StoreError> {
    sqlx::any::install_default_drivers();
    let backend = if url.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let in_memory = url.contains(":memory:");
    if backend == Backend::Sqlite && !in_memory {
        create_parent_dir(url)?;
    }
    let connections = match (backend, in_memory) {
        // Each connection to `:memory:` is a database of its own.
        (_, true) => 1,
        // SQLite takes one writer at a time; the queue is that writer.
        (Backend::Sqlite, false) => 4,
        (Backend::Postgres, _) => 8,
    };
    // Storage that is down is reported within seconds: a person waits on
    // the answer (the pool tries to connect until then).
    let mut options = AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(3));
    if in_memory {
        options = options.idle_timeout(None).max_lifetime(None);
    }
    let pool = options
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL: readers never wait for the writer. NORMAL: a
                    // commit survives a killed process (not a power cut).
                    // No checkpoint from the pool: `checkpoints` does them
                    // beside the writer (which has a backstop of its own).
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA busy_timeout = 5000",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA wal_autocheckpoint = 0",
                    ] {
                        sqlx::Executor::execute(&mut *conn, pragma).await?;
                    }
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    if backend == Backend::Sqlite && !in_memory {
        tokio::spawn(checkpoints(pool.clone()));
    }
    Ok((pool, backend))
}

/// Copies the WAL into the database file ten times a second, beside the
/// writer (a passive checkpoint waits for nobody and nobody waits for it),
/// so its cost, an fsync among it, is rarely inside a commit a person waits
/// on: the writer's own checkpoint then finds little left to copy.
async fn checkpoints(pool: AnyPool) {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!(error = %e, "checkpoint not made");
        }
    }
}

fn create_parent_dir(url: &str) -> Result<(), StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() && path != ":memory:" => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                dir: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}
