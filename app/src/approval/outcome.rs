//! The card an answered interrupt leaves in the conversation.

use leptos::prelude::*;
use protocol::{ActionRequest, Decision, ResearchPlan, ResolvedBy, ResolvedInterrupt};

/// An answered interrupt, as it stays in the conversation.
#[component]
pub fn OutcomeCard(outcome: ResolvedInterrupt) -> impl IntoView {
    let items = outcome
        .interrupt
        .action_requests
        .iter()
        .zip(&outcome.decisions)
        .map(|(request, decision)| {
            let (class, mut title, detail) = describe(request, decision, outcome.by);
            if let Some(person) = &outcome.decided_by {
                title = format!("{title} · by {}", person.name);
            }
            view! {
                <div class=format!("outcome {class}") data-testid="outcome" data-outcome=class>
                    <p class="outcome-title">{title}</p>
                    {detail.map(|d| view! { <p class="outcome-detail">{d}</p> })}
                </div>
            }
        })
        .collect_view();
    view! { <div class="outcomes">{items}</div> }
}

fn describe(
    request: &ActionRequest,
    decision: &Decision,
    by: ResolvedBy,
) -> (&'static str, String, Option<String>) {
    let plan_summary = |args| {
        ResearchPlan::parse(args).ok().map(|p| {
            let steps: Vec<String> = p
                .steps()
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{}. {s}", i + 1))
                .collect();
            format!("{}: {}", p.topic(), steps.join("  "))
        })
    };
    match (by, decision) {
        (ResolvedBy::Timeout, _) => (
            "expired",
            format!("Timed out: {} was not run", request.name),
            Some("Nobody decided before the request expired.".into()),
        ),
        (_, Decision::Approve) => (
            "approved",
            format!("Approved {}", request.name),
            plan_summary(&request.args),
        ),
        (_, Decision::Edit { edited_action }) => (
            "edited",
            format!("Edited and approved {}", request.name),
            plan_summary(&edited_action.args),
        ),
        (_, Decision::Reject { message }) => (
            "rejected",
            format!("Rejected {}", request.name),
            message.as_ref().map(|m| format!("Reason: {m}")),
        ),
    }
}
