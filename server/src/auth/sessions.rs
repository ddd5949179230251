//! Where browser sessions live: the `sessions` table of the threads'
//! database, so servers on one PostgreSQL share them (a server that keeps
//! threads in memory keeps them in its private in-memory database). The
//! `SessionStore` of tower-sessions over the project's own pool: one
//! connection pool and one set of migrations for everything.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::AnyPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone, Debug)]
pub struct Sessions {
    pool: AnyPool,
}

/// How often expired sessions are deleted.
const SWEEP: Duration = Duration::from_secs(600);

impl Sessions {
    /// Sessions in `pool`'s database, with a task that deletes expired ones.
    pub fn new(pool: AnyPool) -> Self {
        let sessions = Self { pool };
        let sweeper = sessions.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP);
            loop {
                every.tick().await;
                if sweeper.pool.is_closed() {
                    return;
                }
                let now = OffsetDateTime::now_utc().unix_timestamp();
                let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                    .bind(now)
                    .execute(&sweeper.pool)
                    .await;
                if let Err(e) = deleted {
                    tracing::warn!(error = %e, "expired sessions not deleted");
                }
            }
        });
        sessions
    }

    async fn insert(&self, record: &Record, replace: bool) -> Result<bool, sqlx::Error> {
        let data = serde_json::to_string(&record.data).expect("session data is JSON");
        let conflict = match replace {
            true => "DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
            false => "DO NOTHING",
        };
        let done = sqlx::query(&format!(
            "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) {conflict}"
        ))
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for Sessions {
    /// A new session under a fresh id (a new one if the id is taken).
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.insert(record, false).await.map_err(backend)? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.insert(record, true).await.map_err(backend).map(drop)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id.to_string())
        .bind(OffsetDateTime::now_utc().unix_timestamp())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(backend)?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at).map_err(backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
