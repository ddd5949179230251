//! Accounts, sign-in, tokens and signed receipts: an extension of version 1
//! (PROTOCOL.md, "Accounts"). The frames of version 1 keep their shapes;
//! what is new here are HTTP bodies and optional fields.

use serde::{Deserialize, Serialize};

use crate::client::Decision;
use crate::server::ResolvedBy;

/// What an account may do. Each role can do what the ones before it can:
/// a viewer reads its own threads, a requester also starts runs on them,
/// an approver sees every thread and decides, an admin manages accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Viewer,
    Requester,
    Approver,
    Admin,
}

impl UserRole {
    pub const ALL: [UserRole; 4] = [Self::Viewer, Self::Requester, Self::Approver, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Requester => "requester",
            Self::Approver => "approver",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A signed-in person as frames name them: `decided_by` on
/// `interrupt_resolved`, on a snapshot's resolved interrupts, in the audit
/// log and in receipts; `started_by` on `run_started`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Person {
    pub user_id: String,
    pub name: String,
}

/// Who decided.
pub type DecidedBy = Person;

/// `POST /api/session`: sign in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

/// Who is signed in: `GET /api/session`, and the answer to a sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Me {
    pub user_id: String,
    pub name: String,
    pub role: UserRole,
}

/// `POST /api/tokens`: a token for a program, named for what uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewToken {
    pub name: String,
}

/// `201` of `POST /api/tokens`. `token` is shown this once: only its hash
/// is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenCreated {
    pub token_id: String,
    pub name: String,
    pub token: String,
}

/// One row of `GET /api/tokens`: the caller's tokens, never their secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenSummary {
    pub token_id: String,
    pub name: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; `null` while the token works.
    pub revoked_at: Option<String>,
}

/// `POST /api/users` (admins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewUser {
    pub name: String,
    pub password: String,
    pub role: UserRole,
}

/// `PATCH /api/users/{user_id}` (admins): what to change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<UserRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// One account, as `GET /api/users` lists it and `POST /api/users` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserSummary {
    pub user_id: String,
    pub name: String,
    pub role: UserRole,
    pub disabled: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// Proof of one resolution: what was proposed, what was decided, by whom,
/// when and where, signed with the server's Ed25519 key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Receipt {
    pub payload: ReceiptPayload,
    /// Ed25519 over the RFC 8785 (JCS) form of `payload`, base64url without
    /// padding.
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReceiptPayload {
    pub thread_id: String,
    pub interrupt_id: String,
    pub run_id: String,
    /// The reviewed tool calls, in order.
    pub actions: Vec<ReceiptAction>,
    /// One per action, as decided; an edit carries the arguments that run.
    pub decisions: Vec<Decision>,
    pub by: ResolvedBy,
    /// Absent for a timeout, and on a server with sign-in off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    /// RFC 3339 UTC.
    pub decided_at: String,
    /// The server that recorded it.
    pub server: String,
    /// The signing key's id (`kid` of `GET /api/receipts/key`).
    pub kid: String,
}

/// A reviewed tool call as a receipt names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReceiptAction {
    pub name: String,
    /// Lowercase hex SHA-256 of the proposed arguments in RFC 8785 form.
    pub args_sha256: String,
}

/// An Ed25519 public key as a JSON Web Key (RFC 8037):
/// `GET /api/receipts/key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
}
