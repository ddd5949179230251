use serde_json::json;

use super::*;
use crate::agent::openai::tools::GET_CURRENT_TIME;
use protocol::CREATE_RESEARCH_PLAN;

fn args(value: Value) -> Args {
    value.as_object().unwrap().clone()
}

fn none() -> Args {
    Args::new()
}

#[test]
fn parses_the_variable() {
    let policy =
        ApprovalPolicy::parse(" create_research_plan: approve, reject ; get_current_time:approve")
            .unwrap();
    assert_eq!(
        policy.review(CREATE_RESEARCH_PLAN, &none()),
        Some(&[DecisionType::Approve, DecisionType::Reject][..])
    );
    assert_eq!(
        policy.review(GET_CURRENT_TIME, &none()),
        Some(&[DecisionType::Approve][..])
    );
    let empty = ApprovalPolicy::parse("").unwrap();
    assert_eq!(empty.review(CREATE_RESEARCH_PLAN, &none()), None);
    assert_eq!(
        empty.review(GET_CURRENT_TIME, &none()),
        None,
        "built-in tools it does not name run"
    );
    // A tool from an MCP server never runs silently, whatever the variable.
    let all = Some(&DecisionType::ALL[..]);
    assert_eq!(empty.review("fetch__fetch", &none()), all);
    assert_eq!(
        ApprovalPolicy::default().review("fs__write_file", &none()),
        all
    );
    assert!(ApprovalPolicy::parse("send_email:approve")
        .unwrap_err()
        .contains("unknown tool"));
    assert!(ApprovalPolicy::parse("get_current_time:maybe")
        .unwrap_err()
        .contains("maybe"));
    assert!(ApprovalPolicy::parse("get_current_time").is_err());
}

const FILE: &str = r#"{"rules": [
    {"tool": "fetch__fetch", "auto_when": {"url": {"starts_with": "https://en.wikipedia.org/"}}},
    {"tool": "fetch__*", "decisions": ["approve", "reject"]},
    {"tool": "get_current_time", "auto": true},
    {"tool": "send_email", "decisions": ["approve", "edit", "reject"],
     "auto_when": {"to": {"equals": "me@example.com"}, "draft": {"equals": true}}}
]}"#;

#[test]
fn a_file_tries_its_rules_in_order_and_fails_closed() {
    let policy = ApprovalPolicy::from_json(FILE).unwrap();
    let all = Some(&DecisionType::ALL[..]);
    // A condition that holds runs the call at once; otherwise the rule's
    // decisions (all of them when it lists none).
    let wiki = args(json!({"url": "https://en.wikipedia.org/wiki/Rust"}));
    assert_eq!(policy.review("fetch__fetch", &wiki), None);
    let elsewhere = args(json!({"url": "https://example.com/"}));
    assert_eq!(policy.review("fetch__fetch", &elsewhere), all);
    assert_eq!(policy.review("fetch__fetch", &none()), all, "no url: waits");
    // The glob, after the exact rule.
    assert_eq!(
        policy.review("fetch__other", &wiki),
        Some(&[DecisionType::Approve, DecisionType::Reject][..])
    );
    assert_eq!(policy.review(GET_CURRENT_TIME, &none()), None);
    // Every condition must hold.
    let to_me = json!({"to": "me@example.com", "draft": true});
    assert_eq!(policy.review("send_email", &args(to_me)), None);
    let sent = json!({"to": "me@example.com", "draft": false});
    assert_eq!(policy.review("send_email", &args(sent)), all);
    // Named by no rule: waits, with every decision.
    assert_eq!(policy.review("new_server__delete_everything", &none()), all);
}

#[test]
fn a_bad_file_says_what_is_wrong() {
    let err = |text: &str| ApprovalPolicy::from_json(text).unwrap_err();
    assert!(
        err(r#"{"rules": [{"tool": "x", "auto": true, "decisions": ["approve"]}]}"#)
            .contains("rule 1 (`x`): `auto` and `decisions` both set")
    );
    assert!(err(r#"{"rules": [{"tool": "x", "decisions": []}]}"#).contains("empty"));
    assert!(err(r#"{"rules": [{"tool": "x", "decisions": ["maybe"]}]}"#).contains("maybe"));
    assert!(err(r#"{"rules": [{"tool": "x", "auto_when": {"a": {"near": 1}}}]}"#).contains("near"));
    assert!(err(r#"{"rules": [{"tool": "a[", "auto": true}]}"#).contains("rule 1"));
    assert!(err(r#"{"rulez": []}"#).contains("rulez"));
}

#[test]
fn when_picks_the_rule_by_the_arguments() {
    let policy = ApprovalPolicy::from_json(
        r#"{"rules": [
            {"tool": "fs__write_file", "when": {"path": {"starts_with": "/srv/drafts/"}},
             "decisions": ["approve", "edit", "reject", "respond"]},
            {"tool": "fs__*", "decisions": ["approve", "reject"]}
        ]}"#,
    )
    .unwrap();
    let draft = args(json!({"path": "/srv/drafts/a.md", "content": "x"}));
    assert_eq!(
        policy.review("fs__write_file", &draft),
        Some(
            &[
                DecisionType::Approve,
                DecisionType::Edit,
                DecisionType::Reject,
                DecisionType::Respond
            ][..]
        )
    );
    let system = args(json!({"path": "/etc/passwd", "content": "x"}));
    assert_eq!(
        policy.review("fs__write_file", &system),
        Some(&[DecisionType::Approve, DecisionType::Reject][..]),
        "the same tool, other arguments: the next rule"
    );
    assert!(ApprovalPolicy::parse("get_current_time:approve,respond").is_ok());
}
