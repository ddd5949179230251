//! A batch of writes as the few statements that commit it: rows of a kind
//! gathered into one statement each, and of the changes to one row only the
//! last kept. One transaction makes the batch atomic, so only the state it
//! ends in matters, and that is what the plan computes: the same as
//! applying the writes one by one, in a dozen statements however many there
//! are (which is what makes a batch cheap on SQLite's single writer, and
//! what PostgreSQL's round trips need).
//!
//! A resolution is conditional (it takes effect only on an interrupt still
//! pending), so what follows from it (the run going on, the thread's state,
//! telling the run's owner) is planned as depending on it and applied only
//! if it took effect.

use std::collections::HashMap;

use protocol::{DecidedBy, Role, RunStatus};

use super::rows::{self, RunState};
use super::write::{Origin, Receipt, Write};

pub(super) struct NewThread<'a> {
    pub id: &'a str,
    pub owner: Option<&'a str>,
    pub at: i64,
}

pub(super) struct NewRun<'a> {
    pub id: &'a str,
    pub thread_id: &'a str,
    pub user_message: Option<&'a str>,
    pub started_by: Option<&'a str>,
    pub owner: &'a str,
    pub lease_until: i64,
    pub at: i64,
}

pub(super) struct NewInterrupt<'a> {
    pub id: &'a str,
    pub run_id: &'a str,
    pub thread_id: &'a str,
    /// The interrupt as sent, JSON.
    pub body: String,
    pub expires_at: i64,
    pub checkpoint: String,
    pub after_message: i64,
    pub at: i64,
}

/// A resolution and its audit record.
pub(super) struct Resolution<'a> {
    /// Its write's place in the batch.
    pub write: usize,
    pub thread_id: &'a str,
    pub run_id: &'a str,
    pub interrupt_id: &'a str,
    pub decision_id: Option<&'a str>,
    pub decisions: String,
    pub by: &'static str,
    pub origin: Option<&'a Origin>,
    pub server: &'a str,
    pub receipt: &'a Receipt,
    pub at: i64,
}

impl<'a> Resolution<'a> {
    /// Who decided, when a signed-in person did.
    pub fn decider(&self) -> Option<&'a DecidedBy> {
        self.origin.and_then(|o| o.decided_by.as_ref())
    }
}

/// A run's state, as a write leaves it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum RunChange<'a> {
    Status(RunState),
    Finished {
        status: RunStatus,
        error: Option<&'a str>,
        at: i64,
    },
}

/// A thread's `status` and `updated_at`, as a write leaves them.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Touch {
    pub status: &'static str,
    pub at: i64,
}

/// A change that holds only if the resolution of `interrupt` took effect.
#[derive(Clone, Debug)]
struct Planned<T> {
    change: T,
    if_resolved: Option<String>,
}

#[derive(Default)]
pub(super) struct Plan<'a> {
    pub threads: Vec<NewThread<'a>>,
    pub titles: HashMap<&'a str, &'a str>,
    /// `(thread, seq)` → role and content; the last content wins.
    pub messages: HashMap<(&'a str, i64), (Role, &'a str)>,
    pub runs: Vec<NewRun<'a>>,
    pub interrupts: Vec<NewInterrupt<'a>>,
    /// The first resolution of each interrupt in the batch; a later one
    /// never takes effect.
    pub resolutions: Vec<Resolution<'a>>,
    /// Each owner's latest lease, once: PostgreSQL updates a row at most
    /// once per statement, whichever of two source rows it picks.
    pub leases: Vec<(&'a str, i64)>,
    /// `(channel, payload)` in queue order, sent at commit.
    notices: Vec<Planned<(&'static str, String)>>,
    run_changes: Vec<(&'a str, Planned<RunChange<'a>>)>,
    touches: Vec<(&'a str, Planned<Touch>)>,
    /// Writes whose effect is `false` whatever happens (a second
    /// resolution of one interrupt).
    pub ineffective: Vec<usize>,
}

impl<'a> Plan<'a> {
    /// Plans `writes`, in order. `notify_servers`: PostgreSQL, where events
    /// and requests go to the other servers.
    pub fn new(writes: impl IntoIterator<Item = &'a Write>, notify_servers: bool) -> Self {
        let mut plan = Plan::default();
        for (index, write) in writes.into_iter().enumerate() {
            plan.add(index, write, notify_servers);
        }
        plan
    }

    fn run(&mut self, run_id: &'a str, change: RunChange<'a>, if_resolved: Option<&str>) {
        let if_resolved = if_resolved.map(str::to_owned);
        self.run_changes.push((
            run_id,
            Planned {
                change,
                if_resolved,
            },
        ));
    }

    fn notice(&mut self, channel: &'static str, payload: String, if_resolved: Option<&str>) {
        let if_resolved = if_resolved.map(str::to_owned);
        let change = (channel, payload);
        self.notices.push(Planned {
            change,
            if_resolved,
        });
    }

    fn touch(
        &mut self,
        thread_id: &'a str,
        status: &'static str,
        at: i64,
        if_resolved: Option<&str>,
    ) {
        let if_resolved = if_resolved.map(str::to_owned);
        let change = Touch { status, at };
        self.touches.push((
            thread_id,
            Planned {
                change,
                if_resolved,
            },
        ));
    }

    fn add(&mut self, index: usize, write: &'a Write, notify_servers: bool) {
        match write {
            Write::Nothing => {}
            Write::Thread { id, owner, at } => self.threads.push(NewThread {
                id,
                owner: owner.as_deref(),
                at: *at,
            }),
            Write::Title { thread_id, title } => {
                self.titles.insert(thread_id, title);
            }
            Write::Message {
                thread_id,
                seq,
                role,
                content,
            } => {
                self.messages.insert((thread_id, *seq), (*role, content));
            }
            Write::RunStarted {
                thread_id,
                run_id,
                user_message,
                started_by,
                owner,
                lease_until,
                at,
            } => {
                self.runs.push(NewRun {
                    id: run_id,
                    thread_id,
                    user_message: user_message.as_deref(),
                    started_by: started_by.as_deref(),
                    owner,
                    lease_until: *lease_until,
                    at: *at,
                });
                self.touch(thread_id, "running", *at, None);
            }
            Write::RunResumed {
                thread_id,
                run_id,
                at,
            } => {
                self.run(run_id, RunChange::Status(RunState::Running), None);
                self.touch(thread_id, "running", *at, None);
            }
            Write::CancelRequest { thread_id } => {
                if notify_servers {
                    let payload = super::notify::cancel_payload(thread_id);
                    self.notice(super::notify::DECISIONS, payload, None);
                }
            }
            Write::RenewLeases { owner, until } => {
                match self.leases.iter_mut().find(|(o, _)| o == owner) {
                    Some((_, latest)) => *latest = (*latest).max(*until),
                    None => self.leases.push((owner, *until)),
                }
            }
            Write::Event { thread_id, frame } => {
                if notify_servers {
                    let payload = super::notify::event_payload(thread_id, frame, NOTIFY_LIMIT);
                    self.notice(super::notify::EVENTS, payload, None);
                }
            }
            Write::InterruptRaised {
                thread_id,
                interrupt,
                checkpoint,
                after_message,
                at,
            } => {
                let expires_at = humantime::parse_rfc3339(&interrupt.expires_at)
                    .map(super::millis)
                    .unwrap_or(*at);
                self.interrupts.push(NewInterrupt {
                    id: &interrupt.interrupt_id,
                    run_id: &interrupt.run_id,
                    thread_id,
                    body: serde_json::to_string(interrupt).expect("interrupts serialize"),
                    expires_at,
                    checkpoint: checkpoint.to_string(),
                    after_message: *after_message,
                    at: *at,
                });
                self.run(
                    &interrupt.run_id,
                    RunChange::Status(RunState::Interrupted),
                    None,
                );
                self.touch(thread_id, "interrupted", *at, None);
            }
            Write::Resolved {
                thread_id,
                run_id,
                interrupt_id,
                decision_id,
                decisions,
                by,
                origin,
                server,
                resumes,
                receipt,
                at,
            } => {
                if self
                    .resolutions
                    .iter()
                    .any(|r| r.interrupt_id == interrupt_id)
                {
                    self.ineffective.push(index);
                    return;
                }
                self.resolutions.push(Resolution {
                    write: index,
                    thread_id,
                    run_id,
                    interrupt_id,
                    decision_id: decision_id.as_deref(),
                    decisions: serde_json::to_string(decisions).expect("decisions serialize"),
                    by: rows::resolved_by_name(*by),
                    origin: origin.as_ref(),
                    server,
                    receipt,
                    at: *at,
                });
                if *resumes {
                    self.run(
                        run_id,
                        RunChange::Status(RunState::Running),
                        Some(interrupt_id),
                    );
                    self.touch(thread_id, "running", *at, Some(interrupt_id));
                } else if notify_servers {
                    // The run lives elsewhere: its owner is told, once saved.
                    let payload = super::notify::decision_payload(server, thread_id, interrupt_id);
                    self.notice(super::notify::DECISIONS, payload, Some(interrupt_id));
                }
            }
            Write::RunFinished {
                thread_id,
                run_id,
                status,
                error,
                at,
            } => {
                let error = error.as_deref();
                self.run(
                    run_id,
                    RunChange::Finished {
                        status: *status,
                        error,
                        at: *at,
                    },
                    None,
                );
                self.touch(thread_id, "idle", *at, None);
            }
        }
    }
}

/// PostgreSQL's limit on a notification's payload is 8000 bytes.
const NOTIFY_LIMIT: usize = 7900;

/// What the rest of a batch does, once the resolutions that took effect
/// are known.
pub(super) struct Settled<'a> {
    /// Each run's last state.
    pub runs: Vec<(&'a str, RunChange<'a>)>,
    /// Each thread's last status and time.
    pub touches: Vec<(&'a str, Touch)>,
    /// In queue order.
    pub notices: Vec<(&'static str, String)>,
    /// Per write: whether it took effect.
    pub effects: Vec<bool>,
}

impl<'a> Plan<'a> {
    /// The rest of the batch, given the interrupts whose resolution took
    /// effect; `writes` is how many writes the batch has. (The plan keeps
    /// its new rows and resolutions.)
    pub fn settle(&mut self, resolved: &[&str], writes: usize) -> Settled<'a> {
        let holds = |p: &Option<String>| p.as_deref().is_none_or(|id| resolved.contains(&id));
        let mut runs: Vec<(&str, RunChange)> = Vec::new();
        for (run, planned) in std::mem::take(&mut self.run_changes) {
            if !holds(&planned.if_resolved) {
                continue;
            }
            match runs.iter_mut().find(|(r, _)| *r == run) {
                Some(last) => last.1 = planned.change,
                None => runs.push((run, planned.change)),
            }
        }
        let mut touches: Vec<(&str, Touch)> = Vec::new();
        for (thread, planned) in std::mem::take(&mut self.touches) {
            if !holds(&planned.if_resolved) {
                continue;
            }
            match touches.iter_mut().find(|(t, _)| *t == thread) {
                Some(last) => last.1 = planned.change,
                None => touches.push((thread, planned.change)),
            }
        }
        let notices = std::mem::take(&mut self.notices)
            .into_iter()
            .filter(|p| holds(&p.if_resolved))
            .map(|p| p.change)
            .collect();
        let mut effects = vec![true; writes];
        for index in std::mem::take(&mut self.ineffective) {
            effects[index] = false;
        }
        for resolution in &self.resolutions {
            effects[resolution.write] = resolved.contains(&resolution.interrupt_id);
        }
        Settled {
            runs,
            touches,
            notices,
            effects,
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
