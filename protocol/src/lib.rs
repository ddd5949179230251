//! The wire contract of `PROTOCOL.md`, version 1, as serde types.
//!
//! Every enum is `#[serde(tag = "type", rename_all = "snake_case")]`, so the
//! JSON that serde emits is exactly the JSON the protocol documents. This
//! crate knows nothing about axum, tokio or Leptos: the server and the
//! WebAssembly client both compile it.
//!
//! # Layout
//!
//! - [`client`]: frames a client sends ([`ClientMessage`], [`Decision`]).
//! - [`server`]: frames the server sends ([`ServerMessage`]) and the HTTP
//!   bodies that share their shapes ([`ThreadSnapshot`], [`ThreadSummary`]).
//! - [`interrupt`]: the human-in-the-loop request ([`Interrupt`],
//!   [`ActionRequest`], [`ReviewConfig`]), shaped like LangChain's middleware.
//! - [`error`]: the error codes of rule 5 and the error body.
//! - [`audit`]: the decision log ([`DecisionRecord`]) of stored threads.
//! - [`auth`]: accounts, sign-in, tokens and signed receipts.
//! - [`state`]: [`ThreadState`], a thread as its events describe it, and
//!   the one reducer of events that the server and the browser share.
//! - [`plan`]: the `create_research_plan` arguments as a parsed
//!   [`ResearchPlan`], one validation for server and browser alike.
//! - [`tools`]: the agent's tool servers ([`ToolServerReport`]).

pub mod audit;
pub mod auth;
pub mod client;
pub mod error;
pub mod interrupt;
pub mod plan;
pub mod server;
pub mod state;
pub mod tools;

pub use audit::DecisionRecord;
pub use auth::{
    DecidedBy, Jwk, Me, NewToken, NewUser, Person, Receipt, ReceiptAction, ReceiptPayload, SignIn,
    TokenCreated, TokenSummary, UserChange, UserRole, UserSummary,
};
pub use client::{ClientMessage, Decision, EditedAction};
pub use error::{ErrorBody, ErrorCode, FieldError};
pub use interrupt::{
    ActionRequest, Args, DecisionType, Interrupt, ResolvedInterrupt, ReviewConfig, STOPPED_MESSAGE,
};
pub use plan::{PlanError, ResearchPlan, CREATE_RESEARCH_PLAN};
pub use server::{
    ChatMessage, InterruptResolved, MessageDelta, ResolvedBy, Role, RunFinished, RunStarted,
    RunStatus, ServerMessage, ThreadCreated, ThreadSnapshot, ThreadStatus, ThreadSummary,
    ToolResult, ToolStatus,
};
pub use state::ThreadState;
pub use tools::{ToolServerReport, ToolServerStatus, ToolTransport};
