//! The HITL console's server: HTTP, WebSocket, thread runtime and agents.
//!
//! # Layout
//!
//! - [`startup`]: builds the axum router (API, WebSocket, Leptos pages) and
//!   serves it until a shutdown signal; `main` and the tests both call it.
//! - [`api`]: the HTTP endpoints and the WebSocket upgrade.
//! - [`socket`]: one WebSocket connection: a reader that parses frames and
//!   calls the thread, a writer that forwards the thread's events.
//! - [`runtime`]: threads, runs and interrupts. A run is a task; an agent
//!   asks for a decision with one awaitable call.
//! - [`agent`]: the agent trait and the built-in research agent.
//! - [`assets`]: the built site's assets, compressed once at start.
//! - [`config`]: settings from the environment.

pub mod agent;
pub mod api;
pub mod assets;
pub mod config;
pub mod runtime;
pub mod socket;
pub mod startup;
pub mod store;
mod time;
