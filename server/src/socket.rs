//! One WebSocket connection on one thread.
//!
//! Architecture invariant: this is the only module that knows about
//! WebSocket frames. Its reader parses a frame and makes one non-blocking
//! call on the thread; its writer forwards the thread's events. The two run
//! concurrently in one task, and when either ends the other is dropped, so
//! nothing outlives the connection. Runs are not tied to it (rule 2).

use std::future::Future;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, ErrorBody, ErrorCode, ServerMessage, ThreadSnapshot};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, Instrument};

use crate::auth::Principal;
use crate::runtime::{DecisionOutcome, Frame, Outbox, RuntimeError, Subscription, Thread};
use crate::store::Origin;

/// Frames written before one flush when events queue up.
const WRITE_BATCH: usize = 64;
/// Close code 1001: the server is going away.
const GOING_AWAY: u16 = 1001;
/// Close code 1008: the connection's credential was revoked (signed out,
/// token revoked, account disabled or its role changed).
const POLICY: u16 = 1008;

/// Who is on the other end.
pub struct Peer {
    pub principal: Principal,
    /// The client's `User-Agent`, for the audit log.
    pub client: Option<String>,
    /// Fires when the principal's credential is revoked.
    pub revoked: CancellationToken,
}

/// Serves one upgraded connection until it closes or the server shuts down.
///
/// Not an `async fn`: the set-up runs before the future exists, so the
/// future, which an open connection keeps for its whole life, holds only
/// what the reader and the writer use, not also the socket and snapshot
/// they were made from (10,000 waiting connections pay for every byte).
pub fn serve(
    socket: WebSocket,
    thread: Arc<Thread>,
    peer: Peer,
    max_frame_bytes: usize,
    shutdown: CancellationToken,
) -> impl Future<Output = ()> + Send {
    let connection_id = crate::runtime::new_id();
    let span = tracing::info_span!("connection", thread_id = %thread.id(), %connection_id);
    span.in_scope(|| info!("connected"));
    // Subscribed before the first frame is read, so nothing falls between.
    let (snapshot, subscription) = thread.subscribe();
    let snapshot = snapshot_frame(snapshot);
    let (sink, stream) = socket.split();
    let Peer {
        principal,
        client,
        revoked,
    } = peer;
    let origin = Origin {
        connection_id,
        client,
        decided_by: principal.decided_by(),
    };
    let sender = Sender { principal, origin };
    async move {
        // Reader first: an event caused by a frame (a decision's
        // `interrupt_resolved`) is then written in the same poll, not after
        // whatever the woken run and other tasks do first.
        tokio::select! {
            biased;
            _ = read(stream, &thread, subscription.outbox(), max_frame_bytes, &sender) => {}
            _ = write(sink, snapshot, &subscription, shutdown, revoked) => {}
        }
        info!("disconnected");
    }
    .instrument(span)
}

/// Who sends this connection's frames.
struct Sender {
    principal: Principal,
    origin: Origin,
}

async fn read(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    thread: &Arc<Thread>,
    outbox: &Outbox,
    max_frame_bytes: usize,
    sender: &Sender,
) {
    while let Some(Ok(message)) = stream.next().await {
        let reply = match message {
            Message::Text(text) if text.len() > max_frame_bytes => Some(
                ErrorBody::new(
                    ErrorCode::MessageTooLarge,
                    format!(
                        "a frame may hold at most {max_frame_bytes} bytes; this one has {}",
                        text.len()
                    ),
                )
                .into(),
            ),
            Message::Text(text) => handle(thread, text.as_str(), sender),
            Message::Binary(_) => Some(
                ErrorBody::new(
                    ErrorCode::InvalidMessage,
                    "frames must be text holding one JSON object",
                )
                .into(),
            ),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => None,
        };
        if let Some(reply) = reply {
            let frame = match reply {
                Reply::Message(message) => Frame::from(message.to_json()),
                Reply::Frame(frame) => frame,
                // Waits for storage, never for the agent; the save goes on
                // even if this connection does not.
                Reply::Saving(saving) => match saving.await {
                    Ok(Err(e)) => Frame::from(ServerMessage::from(e.body()).to_json()),
                    _ => continue,
                },
            };
            outbox.reply(frame).await;
        }
    }
}

enum Reply {
    Message(ServerMessage),
    Frame(Frame),
    /// A decision being saved: an error frame if saving fails.
    Saving(oneshot::Receiver<Result<(), RuntimeError>>),
}

impl From<ErrorBody> for Reply {
    fn from(error: ErrorBody) -> Self {
        Reply::Message(error.into())
    }
}

/// Applies one client frame; what to send back to this connection alone.
fn handle(thread: &Arc<Thread>, text: &str, sender: &Sender) -> Option<Reply> {
    let message = match ClientMessage::from_json(text) {
        Ok(message) => message,
        Err(e) => {
            debug!(error = %e, "invalid frame");
            return Some(ErrorBody::new(ErrorCode::InvalidMessage, e.to_string()).into());
        }
    };
    if let Err(e) = permitted(&sender.principal, thread, &message) {
        info!(error = %e, "request forbidden");
        return Some(e.body().into());
    }
    let origin = &sender.origin;
    let result = match message {
        ClientMessage::SendMessage { content } => {
            thread.send_message(content, origin.decided_by.clone())
        }
        ClientMessage::Decision {
            interrupt_id,
            decision_id,
            decisions,
        } => {
            info!(
                ?interrupt_id,
                ?decision_id,
                count = decisions.len(),
                "decision submitted"
            );
            match thread.decide(interrupt_id, decision_id, decisions, origin.clone()) {
                Ok(DecisionOutcome::Applied) => Ok(()),
                Ok(DecisionOutcome::Repeated(frame)) => return Some(Reply::Frame(frame)),
                Ok(DecisionOutcome::Saving(saving)) => return Some(Reply::Saving(saving)),
                Err(e) => Err(e),
            }
        }
        ClientMessage::Cancel => thread.cancel(origin.decided_by.clone()),
    };
    match result {
        Ok(()) => None,
        Err(e) => {
            let body = e.body();
            info!(code = %body.code, error = %body.error, "request refused");
            Some(body.into())
        }
    }
}

async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    snapshot: Frame,
    subscription: &Subscription,
    shutdown: CancellationToken,
    revoked: CancellationToken,
) -> Result<(), axum::Error> {
    let outbox = subscription.outbox();
    sink.send(text(snapshot)).await?;
    loop {
        let first = match subscription.next() {
            Some(frame) => frame,
            None => tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    let close = CloseFrame { code: GOING_AWAY, reason: "server shutting down".into() };
                    sink.send(Message::Close(Some(close))).await?;
                    return Ok(());
                }
                _ = revoked.cancelled() => {
                    info!("credential revoked; closing");
                    let close = CloseFrame { code: POLICY, reason: "signed out".into() };
                    sink.send(Message::Close(Some(close))).await?;
                    return Ok(());
                }
                _ = outbox.ready() => continue,
            },
        };
        // Write what is already queued, then flush once.
        sink.feed(text(first)).await?;
        for _ in 1..WRITE_BATCH {
            let Some(frame) = subscription.next() else {
                break;
            };
            sink.feed(text(frame)).await?;
        }
        sink.flush().await?;
    }
}

/// Whether the connection's principal may send this frame.
fn permitted(
    principal: &Principal,
    thread: &Thread,
    message: &ClientMessage,
) -> Result<(), RuntimeError> {
    let allowed = match message {
        ClientMessage::Decision { .. } => principal.can_decide(),
        ClientMessage::SendMessage { .. } | ClientMessage::Cancel => {
            principal.can_run(thread.owner())
        }
    };
    match (allowed, message) {
        (true, _) => Ok(()),
        (false, ClientMessage::Decision { .. }) => Err(RuntimeError::Forbidden(format!(
            "only approvers and admins decide; you are a {}",
            principal.role().as_str()
        ))),
        (false, _) => Err(RuntimeError::Forbidden(format!(
            "a {} cannot start or stop runs on this thread",
            principal.role().as_str()
        ))),
    }
}

fn snapshot_frame(snapshot: ThreadSnapshot) -> Frame {
    Frame::from(ServerMessage::Snapshot(snapshot).to_json())
}

fn text(frame: Frame) -> Message {
    Message::Text(Utf8Bytes::try_from(frame).expect("frames are serialized JSON text"))
}
