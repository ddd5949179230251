use super::*;
use protocol::{Decision, Interrupt, ReceiptPayload, ResolvedBy};

fn message(thread: &str, seq: i64, content: &str) -> Write {
    Write::Message {
        thread_id: thread.into(),
        seq,
        role: Role::Assistant,
        content: content.into(),
    }
}

/// A decision on `interrupt` of thread `t` (the PostgreSQL writer's tests
/// use it too).
pub(in crate::store) fn resolved(interrupt: &str, resumes: bool) -> Write {
    Write::Resolved {
        thread_id: "t".into(),
        run_id: "r".into(),
        interrupt_id: interrupt.into(),
        decision_id: None,
        decisions: vec![Decision::Approve],
        by: ResolvedBy::User,
        origin: None,
        server: "s".into(),
        resumes,
        receipt: Receipt::Unsigned(Box::new(ReceiptPayload {
            thread_id: "t".into(),
            interrupt_id: interrupt.into(),
            run_id: "r".into(),
            actions: vec![],
            decisions: vec![Decision::Approve],
            by: ResolvedBy::User,
            decided_by: None,
            decided_at: "2026-12-07T12:00:00Z".into(),
            server: "s".into(),
            kid: "k".into(),
        })),
        at: 5,
    }
}

#[test]
fn of_each_row_the_last_change_is_kept() {
    let writes = vec![
        message("t", 1, "Hel"),
        message("t", 1, "Hello"),
        message("t", 2, "tool"),
        Write::Title {
            thread_id: "t".into(),
            title: "first".into(),
        },
        Write::Title {
            thread_id: "t".into(),
            title: "second".into(),
        },
        Write::RunStarted {
            thread_id: "t".into(),
            run_id: "r".into(),
            user_message: None,
            started_by: None,
            owner: "s".into(),
            lease_until: 9,
            at: 1,
        },
        Write::RunFinished {
            thread_id: "t".into(),
            run_id: "r".into(),
            status: RunStatus::Completed,
            error: None,
            at: 7,
        },
    ];
    let mut plan = Plan::new(&writes, false);
    assert_eq!(plan.messages.len(), 2);
    assert_eq!(plan.messages[&("t", 1)].1, "Hello");
    assert_eq!(plan.titles["t"], "second");
    assert_eq!(plan.runs.len(), 1);
    let settled = plan.settle(&[], writes.len());
    assert_eq!(
        settled.runs,
        [(
            "r",
            RunChange::Finished {
                status: RunStatus::Completed,
                error: None,
                at: 7
            }
        )]
    );
    assert_eq!(
        settled.touches,
        [(
            "t",
            Touch {
                status: "idle",
                at: 7
            }
        )]
    );
    assert!(settled.effects.iter().all(|e| *e));
}

#[test]
fn what_follows_a_resolution_holds_only_if_it_took_effect() {
    let interrupt = Interrupt {
        interrupt_id: "i".into(),
        run_id: "r".into(),
        action_requests: vec![],
        review_configs: vec![],
        expires_at: "2026-12-07T12:00:00Z".into(),
    };
    let writes = vec![
        Write::InterruptRaised {
            thread_id: "t".into(),
            interrupt,
            checkpoint: serde_json::Value::Null,
            after_message: 0,
            at: 3,
        },
        resolved("i", true),
        resolved("i", true),
        resolved("j", false),
    ];
    // "i" took effect, "j" (decided for a run elsewhere) did not.
    let mut plan = Plan::new(&writes, true);
    assert_eq!(
        plan.resolutions.len(),
        2,
        "the second of one interrupt is dropped"
    );
    let settled = plan.settle(&["i"], writes.len());
    assert_eq!(settled.effects, [true, true, false, false]);
    assert_eq!(settled.runs, [("r", RunChange::Status(RunState::Running))]);
    assert_eq!(
        settled.touches,
        [(
            "t",
            Touch {
                status: "running",
                at: 5
            }
        )]
    );
    assert!(
        settled.notices.is_empty(),
        "no word of a decision that lost"
    );

    let mut plan = Plan::new(&writes, true);
    let settled = plan.settle(&["j"], writes.len());
    assert_eq!(
        settled.runs,
        [("r", RunChange::Status(RunState::Interrupted))]
    );
    assert_eq!(settled.notices.len(), 1, "the run's owner is told");
    assert_eq!(settled.effects, [true, false, false, true]);
}

#[test]
fn each_owners_lease_is_renewed_once_to_its_latest() {
    let renew = |owner: &str, until| Write::RenewLeases {
        owner: owner.into(),
        until,
    };
    let writes = [
        renew("a", 10),
        renew("b", 7),
        renew("a", 30),
        renew("a", 20),
    ];
    let plan = Plan::new(writes.iter(), false);
    assert_eq!(plan.leases, [("a", 30), ("b", 7)]);
}
