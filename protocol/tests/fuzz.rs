//! Frames from anyone: whatever text arrives, the readers answer with a
//! parse or an error (which the server sends as `invalid_message`), never a
//! panic, and what parses writes back as the same frame. Bounded cases
//! (`PROPTEST_CASES`, 256 by default), so the test command stays fast.

use proptest::prelude::*;
use protocol::{ClientMessage, Decision, ServerMessage};
use serde_json::{json, Value};

/// Any JSON, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys the readers look for, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("type".to_owned()),
        Just("content".to_owned()),
        Just("decisions".to_owned()),
        Just("interrupt_id".to_owned()),
        Just("decision_id".to_owned()),
        Just("edited_action".to_owned()),
        Just("args".to_owned()),
        Just("name".to_owned()),
        Just("message".to_owned()),
        "[a-z_]{1,10}",
    ]
}

/// Frames that are nearly right: a known type, fields of any shape.
fn near_frame() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("send_message"),
        Just("decision"),
        Just("cancel"),
        Just("approve"),
        Just("edit"),
        Just("reject"),
        Just("snapshot"),
        Just("interrupt"),
        Just("interrupt_resolved"),
        Just("error"),
    ];
    (kind, prop::collection::btree_map(key(), any_json(), 0..5)).prop_map(|(kind, fields)| {
        let mut frame: serde_json::Map<String, Value> = fields.into_iter().collect();
        frame.insert("type".into(), json!(kind));
        Value::Object(frame)
    })
}

fn client_round_trips(text: &str) {
    if let Ok(message) = ClientMessage::from_json(text) {
        let again = ClientMessage::from_json(&message.to_json()).expect("what parsed writes back");
        assert_eq!(again, message);
    }
}

fn server_round_trips(text: &str) {
    if let Ok(message) = ServerMessage::from_json(text) {
        let again = ServerMessage::from_json(&message.to_json()).expect("what parsed writes back");
        assert_eq!(again, message);
    }
}

proptest! {
    #[test]
    fn any_text_is_a_frame_or_an_error(text in ".{0,200}") {
        client_round_trips(&text);
        server_round_trips(&text);
    }

    #[test]
    fn any_bytes_are_a_frame_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        client_round_trips(&text);
        server_round_trips(&text);
    }

    #[test]
    fn any_json_is_a_frame_or_an_error(value in any_json()) {
        client_round_trips(&value.to_string());
        server_round_trips(&value.to_string());
    }

    #[test]
    fn nearly_right_frames_are_a_frame_or_an_error(frame in near_frame()) {
        client_round_trips(&frame.to_string());
        server_round_trips(&frame.to_string());
        let decisions = json!({"type": "decision", "decisions": [frame]}).to_string();
        client_round_trips(&decisions);
        if let Ok(decision) = serde_json::from_value::<Decision>(json!(frame)) {
            let again: Decision = serde_json::from_value(serde_json::to_value(&decision).unwrap()).unwrap();
            prop_assert_eq!(again, decision);
        }
    }
}
