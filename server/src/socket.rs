//! One WebSocket connection on one thread.
//!
//! Architecture invariant: this is the only module that knows about
//! WebSocket frames. Its reader parses a frame and makes one non-blocking
//! call on the thread; its writer forwards the thread's events. The two run
//! concurrently in one task, and when either ends the other is dropped, so
//! nothing outlives the connection. Runs are not tied to it (rule 2).

use std::future::Future;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, ErrorBody, ErrorCode, ServerMessage, ThreadSnapshot};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, Instrument};

use crate::auth::Principal;
use crate::metrics::Metrics;
use crate::quotas::Quotas;
use crate::runtime::{unbox, DecisionOutcome, Frame, Outbox, RuntimeError, Subscription, Thread};
use crate::store::Origin;

/// Frames written before one flush when events queue up.
const WRITE_BATCH: usize = 64;
/// Close code 1001: the server is going away.
const GOING_AWAY: u16 = 1001;
/// Close code 1008: the connection's credential was revoked (signed out,
/// token revoked, account disabled or its role changed).
const POLICY: u16 = 1008;
/// Close code 1009: a frame over the hard limit.
const TOO_BIG: u16 = 1009;

/// Who is on the other end.
pub struct Peer {
    pub principal: Principal,
    /// How many runs they may start.
    pub quotas: Arc<Quotas>,
    /// The client's `User-Agent`, for the audit log.
    pub client: Option<String>,
    /// Fires when the principal's credential is revoked, and when the
    /// server shuts down (a child of its shutdown token): the writer waits
    /// on one token, not one per reason.
    pub close: CancellationToken,
}

/// Serves one upgraded connection until it closes or the server shuts down.
///
/// An open connection keeps this future for its whole life, and 10,000
/// waiting connections pay for every byte of it, so it is built to hold
/// each thing once. An `async` block keeps what it captures for its whole
/// life, beside the copies moved into the reader and the writer: it
/// captures one box, emptied when it starts. `read` and `write` are `fn`s
/// returning `async` blocks because an `async fn` keeps each argument
/// twice (rust-lang/rust#62958).
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
        quotas,
        client,
        close,
    } = peer;
    let origin = Origin {
        connection_id,
        client,
        decided_by: principal.decided_by(),
    };
    let sender = Sender {
        principal,
        origin,
        quotas,
        max_message_chars: thread.shared.runs.max_message_chars,
    };
    let closing = Closing {
        close,
        too_big: AtomicBool::new(false),
        shutdown,
    };
    let parts = Box::new(Parts {
        thread,
        stream,
        sink,
        snapshot,
        subscription,
        sender,
        closing,
        max_frame_bytes,
    });
    async move {
        let Parts {
            thread,
            stream,
            sink,
            snapshot,
            subscription,
            sender,
            closing,
            max_frame_bytes,
        } = unbox(parts);
        // Reader first: an event caused by a frame (a decision's
        // `interrupt_resolved`) is then written in the same poll, not after
        // whatever the woken run and other tasks do first.
        tokio::select! {
            biased;
            _ = read(stream, &thread, subscription.outbox(), max_frame_bytes, &sender, &closing) => {}
            _ = write(sink, snapshot, &subscription, &closing) => {}
        }
        info!("disconnected");
    }
    .instrument(span)
}

/// What the connection's future starts from.
struct Parts {
    thread: Arc<Thread>,
    stream: SplitStream<WebSocket>,
    sink: SplitSink<WebSocket, Message>,
    snapshot: Frame,
    subscription: Subscription,
    sender: Sender,
    closing: Closing,
    max_frame_bytes: usize,
}

/// Who sends this connection's frames, and what they may send.
struct Sender {
    principal: Principal,
    origin: Origin,
    quotas: Arc<Quotas>,
    max_message_chars: usize,
}

/// When the writer should close the connection, and why.
struct Closing {
    /// Fires for every reason: revocation, shutdown, a frame too big.
    close: CancellationToken,
    /// The reader read a frame over the hard limit.
    too_big: AtomicBool,
    shutdown: CancellationToken,
}

impl Closing {
    /// The close frame's code and reason, once `close` has fired.
    fn reason(&self) -> (u16, &'static str) {
        if self.shutdown.is_cancelled() {
            (GOING_AWAY, "server shutting down")
        } else if self.too_big.load(Ordering::Relaxed) {
            (TOO_BIG, "frame over 1 MiB")
        } else {
            info!("credential revoked; closing");
            (POLICY, "signed out")
        }
    }
}

#[allow(clippy::manual_async_fn)] // not an `async fn`: see `serve`
fn read<'a>(
    mut stream: SplitStream<WebSocket>,
    thread: &'a Arc<Thread>,
    outbox: &'a Outbox,
    max_frame_bytes: usize,
    sender: &'a Sender,
    closing: &'a Closing,
) -> impl Future<Output = ()> + Send + 'a {
    async move {
        loop {
            // Only the boxed reply outlives this statement: the reader
            // waits for its next frame far longer than anything else.
            let responding = match stream.next().await {
                Some(Ok(message)) => match reply_to(message, thread, max_frame_bytes, sender) {
                    ControlFlow::Break(()) => break,
                    ControlFlow::Continue(reply) => {
                        reply.map(|reply| Box::pin(respond(reply, thread, outbox)))
                    }
                },
                Some(Err(e)) if over_hard_limit(&e) => {
                    info!("frame over the hard limit; closing with 1009");
                    closing.too_big.store(true, Ordering::Relaxed);
                    closing.close.cancel();
                    // The writer sends the close frame and ends the connection.
                    return std::future::pending().await;
                }
                _ => break,
            };
            if let Some(responding) = responding {
                responding.await;
            }
        }
    }
}

/// What to answer one frame with; `Break` when the client closes.
fn reply_to(
    message: Message,
    thread: &Arc<Thread>,
    max_frame_bytes: usize,
    sender: &Sender,
) -> ControlFlow<(), Option<Reply>> {
    ControlFlow::Continue(match message {
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
        Message::Close(_) => return ControlFlow::Break(()),
        Message::Ping(_) | Message::Pong(_) => None,
    })
}

/// Sends a reply to this connection alone, once it is known (a decision's
/// after it is saved, and only if saving fails).
async fn respond(reply: Reply, thread: &Thread, outbox: &Outbox) {
    let frame = match reply {
        Reply::Message(message) => Frame::from(message.to_json()),
        Reply::Frame(frame) => frame,
        // Waits for storage, never for the agent; the save goes on even if
        // this connection does not.
        Reply::Saving(saving, received) => match saving.await {
            Ok(Err(e)) => Frame::from(ServerMessage::from(e.body()).to_json()),
            Ok(Ok(())) => {
                let latency = &thread.shared.metrics.decision_latency;
                latency.observe(received.elapsed().as_secs_f64());
                return;
            }
            Err(_) => return,
        },
    };
    outbox.reply(frame).await;
}

enum Reply {
    Message(ServerMessage),
    Frame(Frame),
    /// A decision being saved (received at the instant): an error frame
    /// if saving fails.
    Saving(
        oneshot::Receiver<Result<(), RuntimeError>>,
        std::time::Instant,
    ),
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
            let chars = content.chars().count();
            if chars > sender.max_message_chars {
                let max = sender.max_message_chars;
                return Some(
                    ErrorBody::new(
                        ErrorCode::MessageTooLarge,
                        format!(
                            "a message may hold at most {max} characters; this one has {chars}"
                        ),
                    )
                    .into(),
                );
            }
            let who = sender.principal.user_id().unwrap_or(LOCAL);
            if let Err(wait) = sender.quotas.run(who) {
                let limited = &thread.shared.metrics.rate_limited;
                limited.get_or_create(&Metrics::kind("runs")).inc();
                return Some(
                    ErrorBody::new(
                        ErrorCode::RateLimited,
                        format!(
                            "too many runs started this minute; try again in {} s",
                            wait.secs()
                        ),
                    )
                    .into(),
                );
            }
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
            let received = std::time::Instant::now();
            match thread.decide(interrupt_id, decision_id, decisions, origin.clone()) {
                Ok(DecisionOutcome::Applied) => {
                    let latency = &thread.shared.metrics.decision_latency;
                    latency.observe(received.elapsed().as_secs_f64());
                    Ok(())
                }
                Ok(DecisionOutcome::Repeated(frame)) => return Some(Reply::Frame(frame)),
                Ok(DecisionOutcome::Saving(saving)) => {
                    return Some(Reply::Saving(saving, received))
                }
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

#[allow(clippy::manual_async_fn)] // not an `async fn`: see `serve`
fn write<'a>(
    mut sink: SplitSink<WebSocket, Message>,
    snapshot: Frame,
    subscription: &'a Subscription,
    closing: &'a Closing,
) -> impl Future<Output = Result<(), axum::Error>> + Send + 'a {
    async move {
        let outbox = subscription.outbox();
        sink.send(text(snapshot)).await?;
        let close = loop {
            if let Some(first) = subscription.next() {
                // Boxed, as the reader's replies are: the writer mostly waits.
                Box::pin(write_queued(&mut sink, first, subscription)).await?;
                continue;
            }
            // The close frame is sent after the `select!`, not in its arms,
            // so the waiting futures and the sending one never share the state.
            break tokio::select! {
                biased;
                _ = closing.close.cancelled() => closing.reason(),
                _ = outbox.ready() => continue,
            };
        };
        let (code, reason) = close;
        let close = CloseFrame {
            code,
            reason: reason.into(),
        };
        sink.send(Message::Close(Some(close))).await
    }
}

/// Writes `first` and what else is already queued, then flushes once.
async fn write_queued(
    sink: &mut SplitSink<WebSocket, Message>,
    first: Frame,
    subscription: &Subscription,
) -> Result<(), axum::Error> {
    sink.feed(text(first)).await?;
    for _ in 1..WRITE_BATCH {
        let Some(frame) = subscription.next() else {
            break;
        };
        sink.feed(text(frame)).await?;
    }
    sink.flush().await
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

/// The person a quota counts when sign-in is off.
const LOCAL: &str = "local";

/// Whether a read failed on a frame or message over the hard limit.
fn over_hard_limit(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

fn snapshot_frame(snapshot: ThreadSnapshot) -> Frame {
    Frame::from(ServerMessage::Snapshot(snapshot).to_json())
}

fn text(frame: Frame) -> Message {
    Message::Text(Utf8Bytes::try_from(frame).expect("frames are serialized JSON text"))
}
