//! A run's time budget, which stops counting while the run waits for a
//! person (PROTOCOL.md rule 7).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Clone)]
pub(crate) struct Budget {
    state: Arc<watch::Sender<State>>,
}

#[derive(Clone, Copy)]
struct State {
    remaining: Duration,
    /// `None` while paused.
    running_since: Option<Instant>,
}

impl Budget {
    pub fn start(total: Duration) -> Self {
        let (state, _) = watch::channel(State {
            remaining: total,
            running_since: Some(Instant::now()),
        });
        Self {
            state: Arc::new(state),
        }
    }

    pub fn pause(&self) {
        self.state.send_modify(|s| {
            if let Some(since) = s.running_since.take() {
                s.remaining = s.remaining.saturating_sub(since.elapsed());
            }
        });
    }

    pub fn resume(&self) {
        self.state.send_modify(|s| {
            s.running_since.get_or_insert_with(Instant::now);
        });
    }

    /// Completes once the running time adds up to the budget.
    pub async fn exhausted(&self) {
        let mut changes = self.state.subscribe();
        loop {
            let deadline = {
                let s = changes.borrow_and_update();
                s.running_since.map(|since| since + s.remaining)
            };
            match deadline {
                Some(deadline) => tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => return,
                    _ = changes.changed() => {}
                },
                // `self` keeps the sender alive, so this only wakes on a change.
                None => _ = changes.changed().await,
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
