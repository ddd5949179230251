//! Subscription and fan-out: the connections watching a thread, each with
//! its own outbox.

use std::sync::Arc;

use protocol::{ServerMessage, ThreadSnapshot};

use super::state::State;
use super::{Frame, Thread};
use crate::runtime::outbox::{Next, Outbox};

/// A connection's place among a thread's watchers; it leaves on drop.
pub struct Subscription {
    thread: Arc<Thread>,
    outbox: Arc<Outbox>,
}

impl Subscription {
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The next frame for this connection: after it fell behind, a
    /// snapshot in place of the events it missed.
    pub fn next(&self) -> Option<Frame> {
        match self.outbox.next()? {
            Next::Frame(frame) => Some(frame),
            Next::Lagged => {
                tracing::info!("connection fell behind; resending the snapshot");
                let state = self.thread.lock();
                self.outbox.resync();
                Some(self.thread.snapshot_frame(&state))
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut state = self.thread.lock();
        state.watchers.retain(|w| !Arc::ptr_eq(w, &self.outbox));
        if state.watchers.is_empty() {
            state.watchers = Vec::new();
        }
    }
}

impl Thread {
    /// The current state, and an outbox that receives every event after it.
    pub fn subscribe(self: &Arc<Self>) -> (ThreadSnapshot, Subscription) {
        let mut state = self.lock();
        let outbox = Arc::new(Outbox::default());
        state.watchers.push(outbox.clone());
        let subscription = Subscription {
            thread: self.clone(),
            outbox,
        };
        (self.snapshot_of(&state), subscription)
    }

    pub fn snapshot(&self) -> ThreadSnapshot {
        self.snapshot_of(&self.lock())
    }

    pub(super) fn snapshot_of(&self, state: &State) -> ThreadSnapshot {
        state.view.snapshot(&self.id)
    }

    pub(super) fn snapshot_frame(&self, state: &State) -> Frame {
        Frame::from(ServerMessage::Snapshot(self.snapshot_of(state)).to_json())
    }
}

/// Queues an event for every connection watching (none is fine).
pub(super) fn deliver(state: &State, frame: Frame) {
    for outbox in &state.watchers {
        outbox.event(frame.clone());
    }
}
