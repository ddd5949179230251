//! Integration tests: a real server on an ephemeral port, real WebSockets.
//! One module per rule or feature of PROTOCOL.md.

pub mod binary;
mod cancel;
mod catchup;
mod cluster;
mod connections;
mod durable;
mod errors;
mod failures;
mod fake_model;
mod faults;
mod helpers;
mod http;
mod limits;
mod load;
mod mcp;
mod openai;
mod people;
mod process;
mod receipts;
mod resume;
mod roles;
mod signin;
mod timeout;
mod tokens;
mod workflow;
