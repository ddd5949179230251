//! Between servers on one PostgreSQL: LISTEN/NOTIFY carries every thread
//! event (so a client on any server sees runs that live on another) and
//! every decision made away from its run's owner.
//!
//! A payload is `server \n thread \n body`; notifications are sent in the
//! write queue's transactions, so they arrive in commit order and only
//! after what they describe is stored.

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

impl Store {
    /// Listens for other servers' notices (PostgreSQL only). Reconnects
    /// by itself; after a reconnect, `Reload` notices for every thread
    /// would be needed to catch up, so it asks for them with `lagged`.
    pub async fn listen(&self) -> Result<mpsc::UnboundedReceiver<Notice>, StoreError> {
        let mut listener = PgListener::connect(&self.url).await?;
        listener
            .listen_all([EVENTS, DECISIONS, REVOCATIONS])
            .await?;
        let revocations = self.revocations.clone();
        let (notices, receiver) = mpsc::unbounded_channel();
        let me = self.server_id.clone();
        tokio::spawn(async move {
            loop {
                let notification = match listener.recv().await {
                    Ok(notification) => notification,
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
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
                if notices.send(notice).is_err() {
                    return;
                }
            }
        });
        Ok(receiver)
    }
}
