//! The browser's WebSocket to one thread, reconnecting with backoff.
//! Neither gloo nor Leptos reconnects by itself.

/// What the connection indicator shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Connecting,
    Connected,
    /// Waiting this many seconds before the next attempt.
    Reconnecting(u32),
    /// The server answers but no longer knows the thread: no more retries.
    Gone,
}

impl LinkStatus {
    pub fn label(self) -> String {
        match self {
            Self::Connecting => "Connecting…".into(),
            Self::Connected => "Connected".into(),
            Self::Reconnecting(secs) => format!("Connection lost; retrying in {secs} s"),
            Self::Gone => "Thread not found on the server".into(),
        }
    }
}

#[cfg(feature = "hydrate")]
pub use client::{open, Link};

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use futures::channel::mpsc;
    use futures::{select, FutureExt, SinkExt, StreamExt};
    use gloo_net::websocket::{futures::WebSocket, Message};
    use leptos::prelude::*;
    use protocol::{ClientMessage, ServerMessage};

    use super::LinkStatus;

    const FIRST_RETRY: Duration = Duration::from_millis(500);
    const LAST_RETRY: Duration = Duration::from_secs(8);

    /// Sends frames to the thread; dropped frames are never retried here
    /// (decisions are, by the page, with the same `decision_id`).
    pub struct Link {
        outgoing: mpsc::UnboundedSender<ClientMessage>,
        alive: Rc<Cell<bool>>,
    }

    impl Link {
        pub fn send(&self, message: ClientMessage) {
            let _ = self.outgoing.unbounded_send(message);
        }

        pub fn close(&self) {
            self.alive.set(false);
            self.outgoing.close_channel();
        }
    }

    /// Connects to the thread and keeps reconnecting until closed. Frames
    /// sent while disconnected wait for the next connection.
    pub fn open(
        thread_id: String,
        status: RwSignal<LinkStatus>,
        on_event: impl Fn(ServerMessage) + 'static,
    ) -> Link {
        let (outgoing, mut queue) = mpsc::unbounded::<ClientMessage>();
        let alive = Rc::new(Cell::new(true));
        let running = alive.clone();
        leptos::task::spawn_local(async move {
            let mut retry = FIRST_RETRY;
            while running.get() {
                status.set(LinkStatus::Connecting);
                if let Ok(socket) = WebSocket::open(&url(&thread_id)) {
                    let (mut sink, mut stream) = socket.split();
                    loop {
                        select! {
                            incoming = stream.next().fuse() => match incoming {
                                Some(Ok(Message::Text(text))) => {
                                    status.set(LinkStatus::Connected);
                                    retry = FIRST_RETRY;
                                    match ServerMessage::from_json(&text) {
                                        Ok(message) => on_event(message),
                                        Err(e) => leptos::logging::warn!("unreadable frame: {e}"),
                                    }
                                }
                                Some(Ok(Message::Bytes(_))) => {}
                                _ => break,
                            },
                            next = queue.next() => match next {
                                Some(message) => {
                                    if sink.send(Message::Text(message.to_json())).await.is_err() {
                                        break;
                                    }
                                }
                                None => return,
                            },
                        }
                    }
                }
                if !running.get() {
                    return;
                }
                match thread_status(&thread_id).await {
                    Some(404) => {
                        status.set(LinkStatus::Gone);
                        return;
                    }
                    // Signed out (here or in another tab), or the account changed.
                    Some(401) => {
                        crate::http::to_sign_in();
                        return;
                    }
                    _ => {}
                }
                status.set(LinkStatus::Reconnecting(retry.as_secs_f64().ceil() as u32));
                gloo_timers::future::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
            }
        });
        Link { outgoing, alive }
    }

    /// What the server answers for the thread now, if it answers.
    async fn thread_status(thread_id: &str) -> Option<u16> {
        let request = gloo_net::http::Request::get(&format!("/api/threads/{thread_id}"));
        request.send().await.ok().map(|response| response.status())
    }

    fn url(thread_id: &str) -> String {
        let location = window().location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss",
            _ => "ws",
        };
        let host = location.host().unwrap_or_default();
        format!("{scheme}://{host}/ws/threads/{thread_id}")
    }
}
