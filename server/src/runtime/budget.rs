//! A run's time budget, which stops counting while the run waits for a
//! person (PROTOCOL.md rule 7).

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A mutex and a `Notify`, not a `watch` channel: every waiting run keeps
/// one, and a watch channel's shared state is four times the size.
#[derive(Clone)]
pub(crate) struct Budget {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Clone, Copy)]
struct State {
    remaining: Duration,
    /// `None` while paused.
    running_since: Option<Instant>,
}

impl Budget {
    pub fn start(total: Duration) -> Self {
        let state = State {
            remaining: total,
            running_since: Some(Instant::now()),
        };
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                changed: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn pause(&self) {
        let mut s = self.lock();
        if let Some(since) = s.running_since.take() {
            s.remaining = s.remaining.saturating_sub(since.elapsed());
        }
        drop(s);
        self.inner.changed.notify_waiters();
    }

    pub fn resume(&self) {
        self.lock().running_since.get_or_insert_with(Instant::now);
        self.inner.changed.notify_waiters();
    }

    /// Completes once the running time adds up to the budget. Not an
    /// `async fn`, which would keep `self` twice: every run keeps this.
    #[allow(clippy::manual_async_fn)] // kept as a `fn`: see above
    pub fn exhausted(&self) -> impl Future<Output = ()> + Send + '_ {
        async move {
            loop {
                // Made before reading the state: `notify_waiters` reaches every
                // `Notified` that exists when it is called, polled or not.
                let changed = self.inner.changed.notified();
                let deadline = {
                    let s = self.lock();
                    s.running_since.map(|since| since + s.remaining)
                };
                match deadline {
                    Some(deadline) => tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => return,
                        _ = changed => {}
                    },
                    None => changed.await,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paused_time_does_not_count() {
        let budget = Budget::start(Duration::from_secs(10));
        tokio::time::sleep(Duration::from_secs(4)).await;
        budget.pause();
        let start = Instant::now();
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.exhausted().await }
        });
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(!waiter.is_finished(), "budget ran out while paused");
        budget.resume();
        waiter.await.unwrap();
        // 4 s used before the pause, 100 s paused, 6 s after it.
        assert_eq!(start.elapsed().as_secs(), 106);
    }
}
