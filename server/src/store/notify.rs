//! Between servers on one PostgreSQL: LISTEN/NOTIFY carries every thread
//! event (so a client on any server sees runs that live on another) and
//! every decision made away from its run's owner.
//!
//! A payload is `server \n thread \n body`; notifications are sent in the
//! write queue's transactions, so they arrive in commit order and only
//! after what they describe is stored.

use std::time::Duration;

use bytes::Bytes;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::{Store, StoreError};

pub const EVENTS: &str = "hitl_events";
pub const DECISIONS: &str = "hitl_decisions";
/// Revoked sessions, tokens and accounts (payload `server \n kind:id`).
pub const REVOCATIONS: &str = "hitl_auth";

/// What another server told this one.
#[derive(Debug)]
pub enum Notice {
    /// A thread's event, to apply and forward; `None`: too large to carry,
    /// reload the thread.
    Event {
        thread_id: String,
        frame: Option<Bytes>,
    },
    /// A decision on an interrupt whose run this server may own.
    Decision {
        thread_id: String,
        interrupt_id: String,
    },
    /// A request to cancel the thread's run, if this server runs it.
    Cancel { thread_id: String },
    /// Listening again after a lost connection: notices were missed, so
    /// what this server follows must be read again from storage.
    Resync,
}

/// The body of a cancel request on the decisions channel.
const CANCEL: &str = "!cancel";

pub(super) fn cancel_payload(thread_id: &str) -> String {
    let server = SERVER.get().map(String::as_str).unwrap_or_default();
    format!("{server}\n{thread_id}\n{CANCEL}")
}

pub(super) fn event_payload(thread_id: &str, frame: &[u8], limit: usize) -> String {
    // Set by the writer, whose server id is the store's.
    let server = SERVER.get().map(String::as_str).unwrap_or_default();
    let body = std::str::from_utf8(frame).unwrap_or_default();
    if server.len() + thread_id.len() + body.len() + 2 > limit {
        return format!("{server}\n{thread_id}\n");
    }
    format!("{server}\n{thread_id}\n{body}")
}

pub(super) fn decision_payload(server: &str, thread_id: &str, interrupt_id: &str) -> String {
    format!("{server}\n{thread_id}\n{interrupt_id}")
}

/// This process's server id, for payloads built in the writer.
pub(super) static SERVER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Notices read ahead of the runtime before the listener waits: past this,
/// PostgreSQL keeps them (its queue holds gigabytes), not this process.
const BACKLOG: usize = 1024;

impl Store {
    /// Listens for other servers' notices (PostgreSQL only). When the
    /// connection is lost, every notice sent meanwhile is lost with it
    /// (PostgreSQL keeps none for a listener that is gone): once listening
    /// again, after `backoff`, the listener sends [`Notice::Resync`] and
    /// the runtime reloads what it follows from storage.
    pub async fn listen(&self) -> Result<mpsc::Receiver<Notice>, StoreError> {
        let backoff = self.listen_backoff;
        let url = listener_url(&self.url, &self.server_id);
        let mut listener = PgListener::connect(&url).await?;
        // Reconnect after the backoff, not before `try_recv` says it was lost.
        listener.eager_reconnect(false);
        listener
            .listen_all([EVENTS, DECISIONS, REVOCATIONS])
            .await?;
        let revocations = self.revocations.clone();
        let metrics = self.metrics.clone();
        let (notices, receiver) = mpsc::channel(BACKLOG);
        let me = self.server_id.clone();
        tokio::spawn(async move {
            loop {
                let notification = match listener.try_recv().await {
                    Ok(Some(notification)) => notification,
                    lost => {
                        if let Err(e) = lost {
                            tracing::warn!(error = %e, "LISTEN connection failed");
                        }
                        metrics.listen_reconnects.inc();
                        tracing::warn!(
                            "LISTEN connection lost; notices sent meanwhile are lost too"
                        );
                        relisten(&mut listener, backoff).await;
                        tracing::info!("listening again; catching up from storage");
                        let _ = revocations.send(RESYNC.into());
                        if notices.send(Notice::Resync).await.is_err() {
                            return;
                        }
                        continue;
                    }
                };
                if notification.channel() == REVOCATIONS {
                    if let Some((server, revoked)) = notification.payload().split_once('\n') {
                        if server != me {
                            let _ = revocations.send(revoked.to_owned());
                        }
                    }
                    continue;
                }
                let mut parts = notification.payload().splitn(3, '\n');
                let (Some(server), Some(thread_id), Some(body)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if server == me {
                    continue;
                }
                let notice = match notification.channel() {
                    EVENTS => Notice::Event {
                        thread_id: thread_id.to_owned(),
                        frame: (!body.is_empty()).then(|| Bytes::copy_from_slice(body.as_bytes())),
                    },
                    _ if body == CANCEL => Notice::Cancel {
                        thread_id: thread_id.to_owned(),
                    },
                    _ => Notice::Decision {
                        thread_id: thread_id.to_owned(),
                        interrupt_id: body.to_owned(),
                    },
                };
                // Waits when the runtime is behind, rather than growing.
                if notices.send(notice).await.is_err() {
                    return;
                }
            }
        });
        Ok(receiver)
    }
}

/// What a revocation subscriber hears after a lost connection: trust
/// nothing cached, check again.
pub const RESYNC: &str = "*resync";

/// Connects and listens again, waiting `backoff` between attempts.
async fn relisten(listener: &mut PgListener, backoff: Duration) {
    loop {
        tokio::time::sleep(backoff).await;
        // Any statement makes the listener connect and LISTEN again.
        match sqlx::query("SELECT 1").execute(&mut *listener).await {
            Ok(_) => return,
            Err(e) => tracing::warn!(error = %e, "LISTEN connection not made again yet"),
        }
    }
}

/// The URL with this server's listener named, so an operator (or a test)
/// can find its backend in `pg_stat_activity`.
fn listener_url(url: &str, server_id: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    let name: String = server_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{url}{separator}application_name=hitl-listen-{name}")
}
