//! The HITL console's server: HTTP, WebSocket, thread runtime and agents.
//!
//! # Layout
//!
//! - [`startup`]: [`startup::Application`] builds the server from
//!   [`settings::Settings`] (storage, runtime, router) and serves it until a
//!   shutdown signal; `main` and the tests both use it.
//! - [`api`]: the HTTP endpoints and the WebSocket upgrade.
//! - [`socket`]: one WebSocket connection: a reader that parses frames and
//!   calls the thread, a writer that forwards the thread's events.
//! - [`runtime`]: threads, runs and interrupts. A run is a task; an agent
//!   asks for a decision with one awaitable call.
//! - [`contract`]: the agent contract: [`contract::Agent`], what a run starts
//!   from, and the [`contract::RunContext`] the runtime implements.
//! - [`agent`]: the built-in research agent and the OpenAI-compatible one.
//! - [`settings`]: every setting, read once from the environment.
//! - [`auth`]: accounts, sessions, tokens, roles; who may do what.
//! - [`receipts`]: the signed proof of every decision.
//! - [`pages`]: the pages rendered whole on the server (sign-in, tokens,
//!   accounts, the audit log).
//! - [`serve`]: the accept loop and its limits; [`quotas`]: what one
//!   person may start per minute.

pub mod agent;
pub mod alloc;
pub mod api;
pub mod auth;
pub mod contract;
pub mod metrics;
pub mod pages;
pub mod quotas;
pub mod receipts;
pub mod runtime;
pub mod serve;
pub mod settings;
pub mod socket;
pub mod startup;
pub mod store;
mod time;
