//! The checked-in JSON Schema in `protocol/schema/` is the contract in
//! machine-readable form. This test fails when the Rust types and the files
//! drift apart; `UPDATE_SCHEMA=1 cargo test -p protocol` rewrites them.

use std::path::PathBuf;

use protocol::{
    ClientMessage, DecisionRecord, ErrorBody, Jwk, Me, NewToken, NewUser, Receipt, ServerMessage,
    SignIn, ThreadCreated, ThreadSnapshot, ThreadSummary, TokenCreated, TokenSummary,
    ToolServerReport, UserChange, UserSummary,
};
use schemars::schema_for;

fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        ("client_message", schema_for!(ClientMessage)),
        ("server_message", schema_for!(ServerMessage)),
        ("thread_snapshot", schema_for!(ThreadSnapshot)),
        ("thread_summary_list", schema_for!(Vec<ThreadSummary>)),
        ("thread_created", schema_for!(ThreadCreated)),
        ("error_body", schema_for!(ErrorBody)),
        ("decision_record_list", schema_for!(Vec<DecisionRecord>)),
        ("receipt", schema_for!(Receipt)),
        ("receipt_key", schema_for!(Jwk)),
        ("sign_in", schema_for!(SignIn)),
        ("me", schema_for!(Me)),
        ("new_token", schema_for!(NewToken)),
        ("token_created", schema_for!(TokenCreated)),
        ("token_summary_list", schema_for!(Vec<TokenSummary>)),
        ("new_user", schema_for!(NewUser)),
        ("user_change", schema_for!(UserChange)),
        ("user_summary_list", schema_for!(Vec<UserSummary>)),
        (
            "tool_server_report_list",
            schema_for!(Vec<ToolServerReport>),
        ),
    ]
}

#[test]
fn checked_in_schema_matches_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema");
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    for (name, schema) in schemas() {
        let path = dir.join(format!("{name}.json"));
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run UPDATE_SCHEMA=1 cargo test -p protocol",
                path.display()
            )
        });
        pretty_assertions::assert_eq!(
            on_disk,
            generated,
            "{} is out of date: run UPDATE_SCHEMA=1 cargo test -p protocol",
            path.display()
        );
    }
}

#[test]
fn schema_accepts_the_examples_of_protocol_md() {
    // Spot-check that the schema names what the protocol names.
    let client = serde_json::to_string(&schema_for!(ClientMessage)).unwrap();
    for word in [
        "send_message",
        "decision",
        "cancel",
        "approve",
        "edit",
        "reject",
        "edited_action",
    ] {
        assert!(
            client.contains(&format!("\"{word}\"")),
            "client schema lacks {word}"
        );
    }
    let server = serde_json::to_string(&schema_for!(ServerMessage)).unwrap();
    for word in [
        "snapshot",
        "run_started",
        "message_delta",
        "interrupt",
        "interrupt_resolved",
        "tool_result",
        "run_finished",
        "error",
        "stale_interrupt",
        "expired",
    ] {
        assert!(
            server.contains(&format!("\"{word}\"")),
            "server schema lacks {word}"
        );
    }
}
