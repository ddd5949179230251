//! What changes in storage: the writes the queue carries.

use protocol::{DecidedBy, Decision, Interrupt, ReceiptPayload, ResolvedBy, Role, RunStatus};
use tokio::sync::oneshot;

use super::StoreError;
use crate::receipts::Signer;

/// Where a decision came from, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub connection_id: String,
    pub client: Option<String>,
    /// The signed-in person on that connection (none with sign-in off).
    pub decided_by: Option<DecidedBy>,
}

/// One change to stored state. Times are Unix milliseconds.
#[derive(Debug)]
pub enum Write {
    /// Commits nothing: waiting on it waits for everything queued before.
    Nothing,
    Thread {
        id: String,
        /// The account that created it.
        owner: Option<String>,
        at: i64,
    },
    Title {
        thread_id: String,
        title: String,
    },
    /// Inserts the message at `seq`, or replaces its content.
    Message {
        thread_id: String,
        seq: i64,
        role: Role,
        content: String,
    },
    RunStarted {
        thread_id: String,
        run_id: String,
        user_message: Option<String>,
        /// The account whose message started it.
        started_by: Option<String>,
        owner: String,
        lease_until: i64,
        at: i64,
    },
    /// The owner went on with a run after its interrupt was resolved.
    RunResumed {
        thread_id: String,
        run_id: String,
        at: i64,
    },
    /// Asks the server that runs the thread's run to cancel it.
    CancelRequest {
        thread_id: String,
    },
    /// Extends the leases of `owner`'s active runs. In the queue, not
    /// beside it: concurrent updates of the same rows could deadlock.
    RenewLeases {
        owner: String,
        until: i64,
    },
    /// An event for the other servers' connections (PostgreSQL only).
    Event {
        thread_id: String,
        frame: bytes::Bytes,
    },
    InterruptRaised {
        thread_id: String,
        interrupt: Interrupt,
        checkpoint: serde_json::Value,
        after_message: i64,
        at: i64,
    },
    /// Resolves a pending interrupt if it is still pending, and logs it.
    /// Takes effect only for the first: the second changes nothing.
    Resolved {
        thread_id: String,
        run_id: String,
        interrupt_id: String,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
        by: ResolvedBy,
        origin: Option<Origin>,
        server: String,
        /// The deciding server runs the run: it goes on at once.
        resumes: bool,
        /// Signed by the writer and kept with the audit record.
        receipt: Receipt,
        at: i64,
    },
    RunFinished {
        thread_id: String,
        run_id: String,
        status: RunStatus,
        error: Option<String>,
        at: i64,
    },
}

/// A resolution's receipt: its payload, signed by the store on the way in
/// (beside the writer, which commits one batch at a time).
#[derive(Debug)]
pub enum Receipt {
    Unsigned(Box<ReceiptPayload>),
    /// The signed receipt as stored, JSON.
    Signed(String),
}

impl Receipt {
    /// Signs it, if it is not yet.
    pub fn seal(&mut self, signer: &Signer) {
        if let Receipt::Unsigned(payload) = self {
            let signed = signer.sign((**payload).clone());
            *self = Receipt::Signed(serde_json::to_string(&signed).expect("receipts serialize"));
        }
    }

    /// The signed receipt, JSON.
    pub fn signed(&self, signer: &Signer) -> String {
        match self {
            Receipt::Signed(json) => json.clone(),
            Receipt::Unsigned(payload) => serde_json::to_string(&signer.sign((**payload).clone()))
                .expect("receipts serialize"),
        }
    }
}

pub(super) struct Queued {
    pub write: Write,
    /// Whether the write took effect (a `Resolved` may not).
    pub done: Option<oneshot::Sender<Result<bool, StoreError>>>,
    /// On a failure of storage, answer at once instead of retrying: a
    /// person waits on it, and what was not saved must not be applied.
    pub give_up: bool,
}

impl Queued {
    /// Retried until it commits; nobody waits on it.
    pub fn background(write: Write) -> Self {
        Self {
            write,
            done: None,
            give_up: false,
        }
    }

    /// Answered once committed, or at once if storage fails.
    pub fn waited(write: Write, done: oneshot::Sender<Result<bool, StoreError>>) -> Self {
        Self {
            write,
            done: Some(done),
            give_up: true,
        }
    }
}
