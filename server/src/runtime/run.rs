//! A run: one agent invocation as a task of its own, and the runtime's
//! side of the agent contract ([`RunHost`]), through which the agent streams
//! text, asks for decisions and reports tool results without ever seeing a
//! connection.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use protocol::{Args, ChatMessage, Interrupt, RunStatus, ToolStatus};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use super::budget::Budget;
use super::thread::Thread;
use super::{new_id, unbox};
use crate::contract::{AgentError, InterruptRequest, Resolution, RunContext, RunHost, RunInput};
use crate::time::rfc3339;

/// The runtime's side of a run: what an agent's [`RunContext`] calls.
pub(super) struct LiveRun {
    thread: Arc<Thread>,
    run_id: Arc<str>,
    budget: Budget,
}

impl RunHost for LiveRun {
    fn run_id(&self) -> &str {
        &self.run_id
    }

    fn history(&self) -> Vec<ChatMessage> {
        self.thread.history()
    }

    fn stream_delay(&self) -> Duration {
        self.thread.shared.runs.stream_delay
    }

    fn emit_text(&self, chunk: &str) {
        self.thread.push_text(&self.run_id, chunk);
    }

    fn tool_result(&self, name: &str, status: ToolStatus, output: &str) {
        info!(tool = name, ?status, "tool result");
        self.thread.tool_result(&self.run_id, name, status, output);
    }

    fn room(&self) -> Option<BoxFuture<'_, ()>> {
        let store = self.thread.shared.store.as_ref()?;
        (store.depth() >= crate::store::HIGH_WATER)
            .then(|| Box::pin(store.ready()) as BoxFuture<'_, ()>)
    }

    fn authorize(&self, tool: &str, args: &Args) -> Result<(), AgentError> {
        match self.thread.approved(tool, args) {
            true => Ok(()),
            false => {
                warn!(tool, "tool refused: not the arguments a person approved");
                Err(AgentError::Failed(format!(
                    "`{tool}` was not run: its arguments are not the ones a person approved."
                )))
            }
        }
    }

    fn interrupt(
        &self,
        request: InterruptRequest,
    ) -> BoxFuture<'_, Result<Resolution, AgentError>> {
        let timeout = self.thread.shared.runs.decision_timeout;
        // Boxed apart, and freed before the wait: a waiting run keeps this
        // future for as long as it waits, and needs none of the raising's
        // state.
        let raising = Box::pin(self.raise(request, timeout));
        Box::pin(async move {
            let (interrupt_id, reply) = raising.await?;
            let span = tracing::info_span!("interrupt", %interrupt_id);
            self.wait(&interrupt_id, timeout, reply)
                .instrument(span)
                .await
        })
    }
}

impl LiveRun {
    /// Stores the interrupt, then makes it the thread's pending one.
    async fn raise(
        &self,
        request: InterruptRequest,
        timeout: Duration,
    ) -> Result<(String, oneshot::Receiver<Resolution>), AgentError> {
        let InterruptRequest {
            action_requests,
            review_configs,
            checkpoint,
        } = request;
        let interrupt = Interrupt {
            interrupt_id: new_id(),
            run_id: self.run_id.to_string(),
            action_requests,
            review_configs,
            expires_at: rfc3339(SystemTime::now() + timeout),
        };
        let interrupt_id = interrupt.interrupt_id.clone();
        let span = tracing::info_span!("interrupt", %interrupt_id);
        // Moved into storage: a run waits without holding its checkpoint.
        let saved = self
            .thread
            .save_interrupt(&self.run_id, &interrupt, checkpoint)
            .ok_or(AgentError::Stopped)?;
        if let Some(saved) = saved {
            saved.instrument(span.clone()).await.map_err(|e| {
                // The details stay in the log; the run's error is shown to people.
                span.in_scope(|| tracing::error!(error = %e, "interrupt not saved"));
                AgentError::Failed("The approval request could not be saved.".into())
            })?;
        }
        let reply = self
            .thread
            .raise_interrupt(&self.run_id, interrupt)
            .ok_or(AgentError::Stopped)?;
        span.in_scope(|| info!("interrupt raised"));
        Ok((interrupt_id, reply))
    }

    /// Waits for the interrupt's resolution, or for `timeout` to pass.
    /// Not an `async fn`, which would keep each argument twice: a waiting
    /// run keeps this future for as long as it waits.
    #[allow(clippy::manual_async_fn)] // kept as a `fn`: see above
    fn wait<'a>(
        &'a self,
        interrupt_id: &'a str,
        timeout: Duration,
        mut reply: oneshot::Receiver<Resolution>,
    ) -> impl Future<Output = Result<Resolution, AgentError>> + Send + 'a {
        async move {
            info!(timeout_secs = timeout.as_secs(), "waiting for decision");
            self.budget.pause();
            // One timer, reset to poll while a claimed decision is being saved:
            // a waiting run keeps this future for as long as it waits.
            let timer = tokio::time::sleep(timeout);
            tokio::pin!(timer);
            let resolution = loop {
                tokio::select! {
                    biased;
                    resolution = &mut reply => match resolution {
                        Ok(resolution) => break resolution,
                        Err(_) => return Err(AgentError::Stopped),
                    },
                    _ = &mut timer => {
                        if self.thread.expire(interrupt_id) {
                            info!("interrupt timed out; resolved as expired");
                            break Resolution::Expired;
                        }
                        // A decision took the interrupt just as the timer fired;
                        // it may still be being saved.
                        timer.as_mut().reset(tokio::time::Instant::now() + CLAIM_POLL);
                    }
                }
            };
            self.budget.resume();
            if let Resolution::Decided(decisions) = &resolution {
                let kinds: Vec<_> = decisions.iter().map(|d| d.kind().as_str()).collect();
                info!(decisions = ?kinds, "decision received; run resumed");
            }
            Ok(resolution)
        }
    }
}

/// How a run begins.
pub(crate) enum Start {
    Input(RunInput),
    /// A run restored from storage, waiting at its interrupt: once resolved,
    /// the agent resumes from the checkpoint. Boxed: it is rare, and every
    /// run's future would otherwise have room for it.
    Waiting(Box<Waiting>),
}

pub(crate) struct Waiting {
    pub interrupt: Interrupt,
    pub checkpoint: serde_json::Value,
    pub reply: oneshot::Receiver<Resolution>,
}

/// How often an expired interrupt whose decision is being saved is checked.
const CLAIM_POLL: Duration = Duration::from_millis(50);

/// Starts `input` on the thread's agent as a task of its own.
pub(super) fn spawn(
    thread: Arc<Thread>,
    run_id: Arc<str>,
    cancel: CancellationToken,
    input: Start,
) {
    // No parent: a run belongs to its thread, not to the connection that started it.
    let span = tracing::info_span!(parent: None, "run", thread_id = %thread.id(), %run_id);
    // Boxed: the task keeps what its future captures for the run's whole
    // life, and the input is moved out of the box as the run begins.
    tokio::spawn(drive(thread, run_id, cancel, Box::new(input)).instrument(span));
}

/// Not an `async fn`, which would keep each argument twice: the run's task
/// keeps this future for as long as the run lasts, waits included.
#[allow(clippy::manual_async_fn)] // kept as a `fn`: see above
fn drive(
    thread: Arc<Thread>,
    run_id: Arc<str>,
    cancel: CancellationToken,
    start: Box<Start>,
) -> impl Future<Output = ()> + Send {
    async move {
        info!("run started");
        let budget = Budget::start(thread.shared.runs.run_timeout);
        let live = LiveRun {
            thread: thread.clone(),
            run_id: run_id.clone(),
            budget: budget.clone(),
        };
        let agent = thread.shared.agent.clone();
        let work = AssertUnwindSafe(async move {
            let input = match unbox(start) {
                Start::Input(input) => input,
                // Boxed: only restored runs take this path; the others
                // should not carry its room in their state.
                Start::Waiting(waiting) => Box::pin(wait_restored(&live, *waiting)).await?,
            };
            agent.run(RunContext::new(live), input).await
        })
        .catch_unwind();
        let (status, error) = tokio::select! {
            biased;
            _ = cancel.cancelled() => (RunStatus::Cancelled, None),
            _ = budget.exhausted() => (
                RunStatus::Failed,
                Some(format!(
                    "The run took longer than its budget of {} s and was stopped.",
                    thread.shared.runs.run_timeout.as_secs()
                )),
            ),
            outcome = work => match outcome {
                Ok(Ok(())) => (RunStatus::Completed, None),
                Ok(Err(AgentError::Stopped)) => (RunStatus::Cancelled, None),
                Ok(Err(e)) => (RunStatus::Failed, Some(e.to_string())),
                Err(panic) => (RunStatus::Failed, Some(format!("The agent crashed: {}", panic_message(&panic)))),
            },
        };
        match &error {
            None => info!(?status, "run finished"),
            Some(error) => warn!(?status, %error, "run finished"),
        }
        thread.finish_run(&run_id, status, error);
    }
}

/// A restored run's wait at its interrupt, for the time it had left: what
/// the agent resumes with.
async fn wait_restored(live: &LiveRun, waiting: Waiting) -> Result<RunInput, AgentError> {
    let Waiting {
        interrupt,
        checkpoint,
        reply,
    } = waiting;
    let span = tracing::info_span!("interrupt", interrupt_id = %interrupt.interrupt_id);
    let left = humantime::parse_rfc3339(&interrupt.expires_at)
        .ok()
        .and_then(|at| at.duration_since(SystemTime::now()).ok())
        .unwrap_or_default();
    let resolution = live
        .wait(&interrupt.interrupt_id, left, reply)
        .instrument(span)
        .await?;
    Ok(RunInput::Resume {
        checkpoint,
        resolution,
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::ResearchAgent;
    use crate::contract::Agent;
    use crate::metrics::Metrics;
    use crate::runtime::Runtime;
    use crate::settings::Runs;

    /// A guard on `bench/run hold`'s figure, which 10,000 waiting runs pay
    /// for: a waiting run keeps these three futures. The bounds are the
    /// allocator's size classes they fit today, with room for a compiler's
    /// change of a few bytes; before they were trimmed they measured 776,
    /// 432 and 464 bytes.
    #[tokio::test]
    async fn a_waiting_runs_futures_stay_small() {
        let runtime = Runtime::new(
            Runs::default(),
            Arc::new(ResearchAgent),
            Arc::new(Metrics::default()),
        );
        let thread = runtime.create_thread(None).await.unwrap();
        let message = || RunInput::Message("research plan for tides".into());
        let run_id: Arc<str> = "run".into();
        let live = || LiveRun {
            thread: thread.clone(),
            run_id: run_id.clone(),
            budget: Budget::start(Duration::from_secs(1)),
        };
        let start = Box::new(Start::Input(message()));
        let drive = drive(
            thread.clone(),
            run_id.clone(),
            CancellationToken::new(),
            start,
        );
        let size = std::mem::size_of_val(&drive);
        assert!(size <= 512, "the run's task future is {size} bytes");

        let agent = ResearchAgent.run(RunContext::new(live()), message());
        let size = std::mem::size_of_val(&*agent);
        assert!(size <= 192, "the agent's future is {size} bytes");

        let host = live();
        let request = InterruptRequest {
            action_requests: Vec::new(),
            review_configs: Vec::new(),
            checkpoint: serde_json::Value::Null,
        };
        let interrupt = host.interrupt(request);
        let size = std::mem::size_of_val(&*interrupt);
        assert!(size <= 320, "the interrupt's future is {size} bytes");
    }
}
