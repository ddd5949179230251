//! The card an answered interrupt leaves in the conversation.

use leptos::prelude::*;
use protocol::{ActionRequest, Args, Decision, ResearchPlan, ResolvedBy, ResolvedInterrupt};

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
                <div class=format!("outcome {class}") data-testid="outcome" data-outcome=class tabindex="-1">
                    <p class="outcome-title">{title}</p>
                    {detail}
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
) -> (&'static str, String, Option<AnyView>) {
    let name = &request.name;
    match (by, decision) {
        (ResolvedBy::Timeout, _) => (
            "expired",
            format!("Timed out: {name} was not run"),
            Some(detail("Nobody decided before the request expired.")),
        ),
        (_, Decision::Approve) => (
            "approved",
            format!("Approved {name}"),
            plan_view(&request.args, None),
        ),
        (_, Decision::Edit { edited_action }) => (
            "edited",
            format!("Edited and approved {name}"),
            plan_view(&edited_action.args, Some(&request.args)),
        ),
        (_, stop) if stop.is_stop() => (
            "stopped",
            format!("Stopped: {name} was not run"),
            Some(detail(
                "The run was stopped while it waited for a decision.",
            )),
        ),
        (_, Decision::Reject { message }) => (
            "rejected",
            format!("Rejected {name}"),
            message.as_ref().map(|m| detail(&format!("Reason: {m}"))),
        ),
        (_, Decision::Respond { message }) => (
            "responded",
            format!("Answered in place of {name}"),
            Some(detail(message)),
        ),
    }
}

fn detail(text: &str) -> AnyView {
    view! { <p class="outcome-detail">{text.to_owned()}</p> }.into_any()
}

/// The plan as a list; after an edit, what changed against the proposal.
fn plan_view(args: &Args, proposed: Option<&Args>) -> Option<AnyView> {
    let plan = ResearchPlan::parse(args).ok()?;
    let before = proposed.and_then(|a| ResearchPlan::parse(a).ok());
    let was_topic = before
        .as_ref()
        .filter(|b| b.topic() != plan.topic())
        .map(|b| format!(" (was: {})", b.topic()));
    let is_new = |step: &String| before.as_ref().is_some_and(|b| !b.steps().contains(step));
    let removed: Vec<String> = before
        .as_ref()
        .map(|b| {
            let kept = plan.steps();
            b.steps()
                .iter()
                .filter(|s| !kept.contains(s))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let steps = plan
        .steps()
        .iter()
        .map(|s| {
            let new = is_new(s);
            view! {
                <li class:changed=new>
                    {s.clone()}
                    {new.then(|| view! { <span class="change">" (changed)"</span> })}
                </li>
            }
        })
        .collect_view();
    Some(
        view! {
            <div class="outcome-detail">
                <p class="outcome-topic">{plan.topic().to_owned()}{was_topic}</p>
                <ol class="outcome-steps">{steps}</ol>
                {(!removed.is_empty()).then(|| view! {
                    <p class="outcome-removed">"Removed: " {removed.join("; ")}</p>
                })}
            </div>
        }
        .into_any(),
    )
}
