//! One WebSocket connection on one thread.
//!
//! Architecture invariant: this is the only module that knows about
//! WebSocket frames. Its reader parses a frame and makes one non-blocking
//! call on the thread; its writer forwards the thread's events. The two run
//! concurrently in one task, and when either ends the other is dropped, so
//! nothing outlives the connection. Runs are not tied to it (rule 2).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, ErrorBody, ErrorCode, ServerMessage, ThreadSnapshot};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, Instrument};

use crate::runtime::{DecisionOutcome, Frame, Thread};
use crate::store::Origin;

/// Frames written before one flush when events queue up.
const WRITE_BATCH: usize = 64;
/// Replies meant for this connection only (errors, repeated decisions).
const REPLY_QUEUE: usize = 16;
/// Close code 1001: the server is going away.
const GOING_AWAY: u16 = 1001;

/// Serves one upgraded connection until it closes or the server shuts down.
pub async fn serve(
    socket: WebSocket,
    thread: Arc<Thread>,
    max_frame_bytes: usize,
    shutdown: CancellationToken,
    client: Option<String>,
) {
    let connection_id = crate::runtime::new_id();
    let origin = Origin {
        connection_id: connection_id.clone(),
        client,
    };
    let span = tracing::info_span!("connection", thread_id = %thread.id(), %connection_id);
    async move {
        info!("connected");
        // Subscribed before the first frame is read, so nothing falls between.
        let (snapshot, events) = thread.subscribe();
        let (sink, stream) = socket.split();
        let replies = Replies::default();
        let reader = read(stream, &thread, &replies, max_frame_bytes, &origin);
        let writer = write(sink, &thread, snapshot, events, &replies, shutdown);
        // Reader first: an event caused by a frame (a decision's
        // `interrupt_resolved`) is then written in the same poll, not after
        // whatever the woken run and other tasks do first.
        tokio::select! {
            biased;
            _ = reader => {}
            _ = writer => {}
        }
        info!("disconnected");
    }
    .instrument(span)
    .await
}

/// Frames for this connection alone, from the reader to the writer. Not a
/// channel: an mpsc channel allocates a 32-slot block per connection, which
/// at 10,000 sockets is 12 MiB for queues that are nearly always empty.
#[derive(Default)]
struct Replies {
    queue: Mutex<VecDeque<Frame>>,
    /// A frame was queued.
    queued: Notify,
    /// The writer took frames: there is room again.
    room: Notify,
}

impl Replies {
    /// Queues a frame, first waiting for room (the client is not reading).
    async fn push(&self, frame: Frame) {
        while self.len() >= REPLY_QUEUE {
            self.room.notified().await;
        }
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(frame);
        self.queued.notify_one();
    }

    fn pop(&self) -> Option<Frame> {
        let frame = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        if frame.is_some() {
            self.room.notify_one();
        }
        frame
    }

    fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

async fn read(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    thread: &Arc<Thread>,
    replies: &Replies,
    max_frame_bytes: usize,
    origin: &Origin,
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
            Message::Text(text) => handle(thread, text.as_str(), origin),
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
                    Ok(Err(e)) => Frame::from(ServerMessage::from(e).to_json()),
                    _ => continue,
                },
            };
            replies.push(frame).await;
        }
    }
}

enum Reply {
    Message(ServerMessage),
    Frame(Frame),
    /// A decision being saved: an error frame if saving fails.
    Saving(oneshot::Receiver<Result<(), ErrorBody>>),
}

impl From<ErrorBody> for Reply {
    fn from(error: ErrorBody) -> Self {
        Reply::Message(error.into())
    }
}

/// Applies one client frame; what to send back to this connection alone.
fn handle(thread: &Arc<Thread>, text: &str, origin: &Origin) -> Option<Reply> {
    let message = match ClientMessage::from_json(text) {
        Ok(message) => message,
        Err(e) => {
            debug!(error = %e, "invalid frame");
            return Some(ErrorBody::new(ErrorCode::InvalidMessage, e.to_string()).into());
        }
    };
    let result = match message {
        ClientMessage::SendMessage { content } => thread.send_message(content),
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
        ClientMessage::Cancel => thread.cancel(),
    };
    match result {
        Ok(()) => None,
        Err(e) => {
            info!(code = %e.code, error = %e.error, "request refused");
            Some(e.into())
        }
    }
}

async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    thread: &Arc<Thread>,
    snapshot: ThreadSnapshot,
    mut events: broadcast::Receiver<Frame>,
    replies: &Replies,
    shutdown: CancellationToken,
) -> Result<(), axum::Error> {
    sink.send(text(snapshot_frame(snapshot))).await?;
    loop {
        let first = match replies.pop() {
            Some(frame) => frame,
            None => tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    let close = CloseFrame { code: GOING_AWAY, reason: "server shutting down".into() };
                    sink.send(Message::Close(Some(close))).await?;
                    return Ok(());
                }
                _ = replies.queued.notified() => continue,
                event = events.recv() => match next_event(event, thread, &mut events) {
                    Some(frame) => frame,
                    None => return Ok(()),
                },
            },
        };
        // Write what is already queued, then flush once.
        sink.feed(text(first)).await?;
        for _ in 1..WRITE_BATCH {
            let frame = match replies.pop() {
                Some(frame) => frame,
                // Lagging or closed: the next `recv` above deals with it.
                None => match events.try_recv() {
                    Ok(frame) => frame,
                    Err(_) => break,
                },
            };
            sink.feed(text(frame)).await?;
        }
        sink.flush().await?;
    }
}

/// An event to forward; after falling behind, a fresh snapshot instead.
fn next_event(
    event: Result<Frame, RecvError>,
    thread: &Thread,
    events: &mut broadcast::Receiver<Frame>,
) -> Option<Frame> {
    match event {
        Ok(frame) => Some(frame),
        Err(RecvError::Lagged(missed)) => {
            info!(missed, "connection fell behind; resending the snapshot");
            let (snapshot, fresh) = thread.subscribe();
            *events = fresh;
            Some(snapshot_frame(snapshot))
        }
        Err(RecvError::Closed) => None,
    }
}

fn snapshot_frame(snapshot: ThreadSnapshot) -> Frame {
    Frame::from(ServerMessage::Snapshot(snapshot).to_json())
}

fn text(frame: Frame) -> Message {
    Message::Text(Utf8Bytes::try_from(frame).expect("frames are serialized JSON text"))
}
