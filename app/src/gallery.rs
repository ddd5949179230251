//! `/gallery`: the approval component in every state, from fixtures, with
//! no agent running. For designers: edit `style/main.css` or
//! `approval.rs` under `cargo leptos watch` and this page reloads.

use leptos::prelude::*;
use protocol::{
    ActionRequest, Decision, DecisionType, EditedAction, Interrupt, ResearchPlan, ResolvedBy,
    ResolvedInterrupt, ReviewConfig, ThreadStatus, ThreadSummary, CREATE_RESEARCH_PLAN,
};

use crate::approval::{ApprovalPanel, CardMode, OutcomeCard, Phase};
use crate::time::parse_rfc3339_ms;

const EXPIRES_AT: &str = "2026-02-16T12:05:00Z";

fn plan(topic: &str, steps: &[&str]) -> ResearchPlan {
    let steps: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
    ResearchPlan::new(topic, &steps).expect("fixture plans are valid")
}

fn anthropic() -> ResearchPlan {
    plan(
        "Anthropic",
        &[
            "Survey the background and history of Anthropic",
            "Identify the key people, products and publications of Anthropic",
            "Compare Anthropic with its closest alternatives",
            "Summarize open questions and risks around Anthropic",
        ],
    )
}

fn request(plan: &ResearchPlan) -> ActionRequest {
    ActionRequest {
        name: CREATE_RESEARCH_PLAN.into(),
        args: plan.to_args(),
        description: format!(
            "Create a {}-step research plan on {}.",
            plan.steps().len(),
            plan.topic()
        ),
        args_schema: None,
    }
}

fn interrupt(requests: Vec<ActionRequest>) -> Interrupt {
    let review_configs = requests
        .iter()
        .map(|r| ReviewConfig {
            action_name: r.name.clone(),
            allowed_decisions: if r.name == CREATE_RESEARCH_PLAN || r.args_schema.is_some() {
                DecisionType::ALL.to_vec()
            } else {
                vec![DecisionType::Approve, DecisionType::Reject]
            },
        })
        .collect();
    Interrupt {
        interrupt_id: "fixture".into(),
        run_id: "fixture".into(),
        action_requests: requests,
        review_configs,
        expires_at: EXPIRES_AT.into(),
    }
}

fn resolved(decision: Decision, by: ResolvedBy) -> ResolvedInterrupt {
    ResolvedInterrupt {
        interrupt: interrupt(vec![request(&anthropic())]),
        decision_id: None,
        decisions: vec![decision],
        by,
        after_message: 0,
        // The gallery's people are fixtures.
        decided_by: (by == ResolvedBy::User).then(|| protocol::Person {
            user_id: "fixture".into(),
            name: "Ada Lovelace".into(),
        }),
    }
}

/// The sidebar's threads on the gallery page: fixtures, one of each badge.
pub fn threads() -> Vec<ThreadSummary> {
    let thread = |id: &str, title: &str, status, expires_at: Option<&str>| ThreadSummary {
        thread_id: format!("fixture-{id}"),
        title: title.into(),
        status,
        updated_at: "2026-02-16T12:00:00Z".into(),
        expires_at: expires_at.map(Into::into),
    };
    vec![
        thread(
            "idle",
            "Create a research plan for Anthropic",
            ThreadStatus::Idle,
            None,
        ),
        thread(
            "running",
            "Create a research plan for protein folding",
            ThreadStatus::Running,
            None,
        ),
        thread(
            "waiting",
            "Create a research plan for fusion energy",
            ThreadStatus::Interrupted,
            Some(EXPIRES_AT),
        ),
    ]
}

/// One pending state of the panel.
struct Fixture {
    id: &'static str,
    title: &'static str,
    interrupt: Interrupt,
    phase: Phase,
    seconds_left: f64,
    error: Option<&'static str>,
    modes: Vec<CardMode>,
}

#[component]
pub fn Gallery() -> impl IntoView {
    let expires = parse_rfc3339_ms(EXPIRES_AT).expect("fixture time parses");
    let seconds_left = |s: f64| Signal::stored(Some(expires - s * 1000.0));
    let ignore = Callback::new(|_: Vec<Decision>| {});
    let single = || interrupt(vec![request(&anthropic())]);
    let editing = |steps: Vec<String>| CardMode::Editing {
        topic: "Anthropic".into(),
        steps,
    };

    let long_text = "A very long topic that goes on and on to see how the card wraps text that never seems to end, including supercalifragilisticexpialidociouslylongwordswithoutanybreaks";
    let long = plan(long_text, &[long_text, "Short step", &long_text.repeat(2)]);
    let twenty: Vec<String> = (1..=20)
        .map(|i| format!("Step number {i} of a long plan"))
        .collect();
    let twenty = ResearchPlan::new("A twenty-step plan", &twenty).expect("valid");
    let email = ActionRequest {
        name: "send_email".into(),
        args: serde_json::json!({"to": "research-team@example.com", "subject": "Plan"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        description: "Email the plan to the research team.".into(),
        args_schema: None,
    };

    // An MCP tool: its form is built from its schema.
    let tool = || {
        let mut i = interrupt(vec![ActionRequest {
            name: "fs__edit_file".into(),
            args: serde_json::json!({"path": "/srv/notes.md",
                "edits": [{"oldText": "draft", "newText": "final"}], "dryRun": false})
            .as_object()
            .cloned()
            .unwrap_or_default(),
            description: "The model wants to run `fs__edit_file`.".into(),
            args_schema: serde_json::json!({"type": "object", "properties": {
                "path": {"type": "string"},
                "edits": {"type": "array", "items": {"type": "object", "properties": {
                    "oldText": {"type": "string", "description": "Text to search for"},
                    "newText": {"type": "string"}}}},
                "dryRun": {"type": "boolean"}}})
            .as_object()
            .cloned(),
        }]);
        i.review_configs[0]
            .allowed_decisions
            .push(DecisionType::Respond);
        i
    };

    // Data, one `view!` for all: each panel written out as its own
    // `view!` cost 1.3 KiB of the WebAssembly's budget.
    let pending = vec![
        Fixture {
            id: "pending",
            title: "Pending",
            interrupt: single(),
            phase: Phase::Ready,
            seconds_left: 272.0,
            error: None,
            modes: vec![],
        },
        Fixture {
            id: "editing",
            title: "Editing",
            interrupt: single(),
            phase: Phase::Ready,
            seconds_left: 200.0,
            error: None,
            modes: vec![editing(anthropic().steps().to_vec())],
        },
        Fixture {
            id: "editing-invalid",
            title: "Editing, with a validation error",
            interrupt: single(),
            phase: Phase::Ready,
            seconds_left: 200.0,
            error: None,
            modes: vec![editing(vec!["Read the paper".into(), String::new()])],
        },
        Fixture {
            id: "rejecting",
            title: "Rejecting, with a reason",
            interrupt: single(),
            phase: Phase::Ready,
            seconds_left: 200.0,
            error: None,
            modes: vec![CardMode::Rejecting {
                reason: "Focus on safety research".into(),
            }],
        },
        Fixture {
            id: "submitting",
            title: "Submitting",
            interrupt: single(),
            phase: Phase::Submitting,
            seconds_left: 150.0,
            error: None,
            modes: vec![],
        },
        Fixture {
            id: "server-error",
            title: "Refused by the server",
            interrupt: single(),
            phase: Phase::Ready,
            seconds_left: 150.0,
            error: Some("decision 0: edited args are invalid: step 2 is empty"),
            modes: vec![],
        },
        Fixture {
            id: "about-to-expire",
            title: "About to expire",
            interrupt: single(),
            phase: Phase::Ready,
            seconds_left: 12.0,
            error: None,
            modes: vec![],
        },
        Fixture {
            id: "expiring",
            title: "At zero",
            interrupt: single(),
            phase: Phase::Ready,
            seconds_left: 0.0,
            error: None,
            modes: vec![],
        },
        Fixture {
            id: "disconnected",
            title: "Disconnected",
            interrupt: single(),
            phase: Phase::Offline,
            seconds_left: 90.0,
            error: None,
            modes: vec![],
        },
        Fixture {
            id: "twenty-steps",
            title: "A 20-step plan",
            interrupt: interrupt(vec![request(&twenty)]),
            phase: Phase::Ready,
            seconds_left: 272.0,
            error: None,
            modes: vec![],
        },
        Fixture {
            id: "long-text",
            title: "Very long text",
            interrupt: interrupt(vec![request(&long)]),
            phase: Phase::Ready,
            seconds_left: 272.0,
            error: None,
            modes: vec![],
        },
        Fixture {
            id: "tool-form",
            title: "Any tool, edited from its schema",
            interrupt: tool(),
            phase: Phase::Ready,
            seconds_left: 200.0,
            error: None,
            modes: vec![CardMode::EditingArgs],
        },
        Fixture {
            id: "responding",
            title: "Answering in the tool's place",
            interrupt: tool(),
            phase: Phase::Ready,
            seconds_left: 200.0,
            error: None,
            modes: vec![CardMode::Responding {
                reply: "The notes are final already.".into(),
            }],
        },
        Fixture {
            id: "several",
            title: "Several action requests",
            interrupt: interrupt(vec![request(&anthropic()), email]),
            phase: Phase::Ready,
            seconds_left: 272.0,
            error: None,
            modes: vec![],
        },
    ];
    let edited = plan(
        "Constitutional AI",
        &["Read the paper", "Interview the authors"],
    );
    let outcomes: Vec<(&str, &str, ResolvedInterrupt)> = vec![
        (
            "approved",
            "Approved",
            resolved(Decision::Approve, ResolvedBy::User),
        ),
        (
            "edited",
            "Edited",
            resolved(
                Decision::Edit {
                    edited_action: EditedAction {
                        name: CREATE_RESEARCH_PLAN.into(),
                        args: edited.to_args(),
                    },
                },
                ResolvedBy::User,
            ),
        ),
        (
            "rejected",
            "Rejected with a reason",
            resolved(
                Decision::Reject {
                    message: Some("Focus on safety research instead".into()),
                },
                ResolvedBy::User,
            ),
        ),
        (
            "stopped",
            "Stopped while waiting",
            resolved(
                Decision::Reject {
                    message: Some(protocol::STOPPED_MESSAGE.into()),
                },
                ResolvedBy::User,
            ),
        ),
        (
            "timed-out",
            "Timed out",
            resolved(
                Decision::Reject {
                    message: Some("The request expired unanswered.".into()),
                },
                ResolvedBy::Timeout,
            ),
        ),
    ];
    view! {
        <div class="gallery">
            <h1>"Approval component gallery"</h1>
            <p class="muted">"Every state of the approval component, from fixtures. No agent is running; buttons do nothing here."</p>
            {pending.into_iter().map(|f| view! {
                <section class="gallery-item" data-state=f.id id=f.id>
                    <h2 class="gallery-title">{f.title}</h2>
                    <ApprovalPanel
                        name=f.id
                        interrupt=f.interrupt
                        phase=f.phase
                        now=seconds_left(f.seconds_left)
                        error=Signal::stored(f.error.map(str::to_owned))
                        on_submit=ignore
                        modes=f.modes
                    />
                </section>
            }).collect_view()}
            <section class="gallery-item" data-state="decided-elsewhere" id="decided-elsewhere">
                <h2 class="gallery-title">"Decided in another tab"</h2>
                <p class="notice" role="status" data-testid="decided-elsewhere">"Approved elsewhere by Ada Lovelace (another tab or person)."</p>
            </section>
            {outcomes.into_iter().map(|(id, title, outcome)| view! {
                <section class="gallery-item" data-state=id id=id>
                    <h2 class="gallery-title">{title}</h2>
                    <OutcomeCard outcome/>
                </section>
            }).collect_view()}
        </div>
    }
}
