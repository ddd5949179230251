//! The frames waiting to go out on one connection: its thread's events and
//! the replies meant for it alone.
//!
//! One queue per connection instead of a ring per thread: a thread nobody
//! watches holds no frames, and a frame is freed once written. Events are
//! pushed under the thread's lock and never wait; a connection that falls
//! [`EVENT_LIMIT`] events behind drops them and is sent a fresh snapshot.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::Frame;

/// Events a connection may fall behind by before it is resynchronized.
pub const EVENT_LIMIT: usize = 1024;
/// Replies queued for a client that is not reading before its reader waits.
const REPLY_LIMIT: usize = 16;

#[derive(Default)]
pub struct Outbox {
    queue: Mutex<Queue>,
    /// Something was queued.
    ready: Notify,
    /// The writer took a reply: there is room again.
    room: Notify,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Frame>,
    replies: VecDeque<Frame>,
    /// Events were dropped; the next thing written is a snapshot.
    lagged: bool,
}

/// What the writer sends next.
pub(super) enum Next {
    Frame(Frame),
    /// Events were dropped: resynchronize with a snapshot.
    Lagged,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one of the thread's events. Never waits.
    pub(super) fn event(&self, frame: Frame) {
        let mut queue = self.lock();
        if queue.lagged {
            return;
        }
        if queue.events.len() >= EVENT_LIMIT {
            queue.events = VecDeque::new();
            queue.lagged = true;
        } else {
            queue.events.push_back(frame);
        }
        drop(queue);
        self.ready.notify_one();
    }

    /// Queues a reply for this connection, first waiting for room if the
    /// client has stopped reading.
    pub async fn reply(&self, frame: Frame) {
        loop {
            let room = self.room.notified();
            {
                let mut queue = self.lock();
                if queue.replies.len() < REPLY_LIMIT {
                    queue.replies.push_back(frame);
                    break;
                }
            }
            room.await;
        }
        self.ready.notify_one();
    }

    /// The next frame to write: replies first, as they answer what the
    /// client just sent.
    pub(super) fn next(&self) -> Option<Next> {
        let mut queue = self.lock();
        if let Some(frame) = queue.replies.pop_front() {
            drop(queue);
            self.room.notify_one();
            return Some(Next::Frame(frame));
        }
        if queue.lagged {
            return Some(Next::Lagged);
        }
        let frame = queue.events.pop_front()?;
        if queue.events.is_empty() {
            // Most connections sit idle most of the time: keep no room.
            queue.events = VecDeque::new();
        }
        Some(Next::Frame(frame))
    }

    /// Completes once something may have been queued since the last `next`.
    pub async fn ready(&self) {
        self.ready.notified().await
    }

    /// Forgets the events queued so far: a snapshot taken under the
    /// thread's lock replaces them.
    pub(super) fn resync(&self) {
        let mut queue = self.lock();
        queue.events = VecDeque::new();
        queue.lagged = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Frame {
        Frame::from(n.to_string())
    }

    fn take(outbox: &Outbox) -> Vec<String> {
        std::iter::from_fn(|| match outbox.next()? {
            Next::Frame(f) => Some(String::from_utf8(f.to_vec()).unwrap()),
            Next::Lagged => Some("lagged".into()),
        })
        .take(EVENT_LIMIT + 10)
        .collect()
    }

    #[tokio::test]
    async fn replies_go_before_events_and_order_is_kept() {
        let outbox = Outbox::default();
        outbox.event(frame(1));
        outbox.event(frame(2));
        outbox.reply(frame(9)).await;
        assert_eq!(take(&outbox), ["9", "1", "2"]);
    }

    #[tokio::test]
    async fn falling_too_far_behind_drops_events_for_a_snapshot() {
        let outbox = Outbox::default();
        for n in 0..=EVENT_LIMIT + 5 {
            outbox.event(frame(n));
        }
        outbox.reply(frame(7)).await;
        // The reply survives; the events are gone until a resync.
        assert_eq!(
            outbox.next().map(|n| matches!(n, Next::Frame(_))),
            Some(true)
        );
        assert!(matches!(outbox.next(), Some(Next::Lagged)));
        outbox.resync();
        assert!(outbox.next().is_none());
        outbox.event(frame(1));
        assert_eq!(take(&outbox), ["1"]);
    }

    #[tokio::test]
    async fn a_reader_waits_for_room_when_the_client_does_not_read() {
        let outbox = std::sync::Arc::new(Outbox::default());
        for n in 0..REPLY_LIMIT {
            outbox.reply(frame(n)).await;
        }
        let blocked = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.reply(frame(99)).await }
        });
        tokio::task::yield_now().await;
        assert!(!blocked.is_finished());
        outbox.next();
        blocked.await.unwrap();
        assert_eq!(take(&outbox).len(), REPLY_LIMIT);
    }
}
