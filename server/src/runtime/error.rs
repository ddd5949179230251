//! Why the runtime refused or could not do what a client asked. Turned
//! into the protocol's `{"code", "error"}` at the socket and HTTP edges by
//! [`RuntimeError::body`], which keeps storage details in the log.

use protocol::{ErrorBody, ErrorCode};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("`content` must not be empty")]
    EmptyMessage,
    /// Rule 3: one run at a time per thread.
    #[error("Already streaming a response")]
    AlreadyStreaming,
    #[error("no interrupt is waiting for a decision")]
    NoPendingInterrupt,
    #[error("interrupt {0} is already resolved or unknown")]
    StaleInterrupt(String),
    /// Another decision (here or on another server) was saved first.
    #[error("interrupt {0} was resolved by another decision first")]
    DecidedElsewhere(String),
    #[error("{0}")]
    InvalidDecision(String),
    /// Edited arguments that do not fit the tool's schema, field by field.
    #[error("{message}")]
    InvalidEdit {
        message: String,
        details: Vec<protocol::FieldError>,
    },
    #[error("nothing is running on this thread")]
    NoActiveRun,
    /// The signed-in person may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A decision could not be saved, so it was not applied.
    #[error("the decision could not be saved: {0}")]
    DecisionNotSaved(StoreError),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl RuntimeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::EmptyMessage => ErrorCode::InvalidMessage,
            Self::AlreadyStreaming => ErrorCode::AlreadyStreaming,
            Self::NoPendingInterrupt => ErrorCode::NoPendingInterrupt,
            Self::StaleInterrupt(_) | Self::DecidedElsewhere(_) => ErrorCode::StaleInterrupt,
            Self::InvalidDecision(_) | Self::InvalidEdit { .. } => ErrorCode::InvalidDecision,
            Self::NoActiveRun => ErrorCode::NoActiveRun,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::DecisionNotSaved(_) | Self::Storage(_) => ErrorCode::StorageFailed,
        }
    }

    /// What a client is told. Storage errors are logged whole and answered
    /// with a fixed sentence: their text can name files, hosts and queries.
    pub fn body(&self) -> ErrorBody {
        let sentence = match self {
            Self::DecisionNotSaved(e) => {
                tracing::error!(error = %e, "decision not saved");
                "the decision could not be saved, so it was not applied; try again".into()
            }
            Self::Storage(e) => {
                tracing::error!(error = %e, "storage");
                "the server could not reach its storage; try again".into()
            }
            other => other.to_string(),
        };
        let mut body = ErrorBody::new(self.code(), sentence);
        if let Self::InvalidEdit { details, .. } = self {
            body.details = details.clone();
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_details_stay_in_the_log() {
        let secret = StoreError::Corrupt {
            what: "/var/lib/hitl/hitl.db".into(),
            reason: "password=hunter2".into(),
        };
        let body = RuntimeError::Storage(secret).body();
        assert_eq!(body.code, ErrorCode::StorageFailed);
        assert!(!body.error.contains("hunter2") && !body.error.contains("/var"));
        let busy = RuntimeError::AlreadyStreaming.body();
        assert_eq!(busy.code, ErrorCode::AlreadyStreaming);
        assert_eq!(busy.error, "Already streaming a response");
    }
}
