//! Integration tests: a real server on an ephemeral port, real WebSockets.
//! One module per rule or feature of PROTOCOL.md.

mod binary;
mod cancel;
mod connections;
mod errors;
mod failures;
mod fake_model;
mod helpers;
mod http;
mod load;
mod openai;
mod resume;
mod timeout;
mod workflow;
