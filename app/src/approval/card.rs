//! One action request: its plan (or raw arguments), the choices the review
//! config allows, and the reject form.

use leptos::prelude::*;
use protocol::{ActionRequest, Decision, DecisionType, ResearchPlan, CREATE_RESEARCH_PLAN};

use super::editor::PlanEditor;
use super::focus::{card_of, focus_later, on_escape};
use super::{CardMode, Phase};

#[component]
pub(super) fn ApprovalCard(
    request: ActionRequest,
    allowed: Vec<DecisionType>,
    phase: Signal<Phase>,
    initial_mode: CardMode,
    chosen: Signal<Option<Decision>>,
    on_choose: Callback<Decision>,
    index: usize,
    /// Unique on the page: the ids of the card's fields start with it.
    key: String,
    /// Where a half-finished edit is kept across a reload (none in the
    /// gallery).
    draft: Option<String>,
) -> impl IntoView {
    let plan = (request.name == CREATE_RESEARCH_PLAN)
        .then(|| ResearchPlan::parse(&request.args).ok())
        .flatten();
    let editable = plan.is_some() && allowed.contains(&DecisionType::Edit);
    let mode = RwSignal::new(initial_mode);
    // After hydration, never in it: the server rendered the card closed.
    if let Some(key) = draft.clone() {
        Effect::new(move |_| {
            if let Some((topic, steps)) = super::draft::load(&key) {
                mode.set(CardMode::Editing { topic, steps });
            }
        });
    }
    let busy = move || phase.get() != Phase::Ready;
    let can = |d: DecisionType| allowed.contains(&d);
    let (can_approve, can_reject) = (can(DecisionType::Approve), can(DecisionType::Reject));
    let name = request.name.clone();

    let start_edit = {
        let plan = plan.clone();
        move |ev: leptos::ev::MouseEvent| {
            if let Some(plan) = &plan {
                let card = card_of(&ev);
                mode.set(CardMode::Editing {
                    topic: plan.topic().to_owned(),
                    steps: plan.steps().to_vec(),
                });
                focus_later(card, "[data-testid='topic-input']");
            }
        }
    };
    let body = {
        let plan = plan.clone();
        let request = request.clone();
        move || {
            match mode.get() {
            CardMode::View => match &plan {
                Some(plan) => view! { <PlanView plan=plan.clone()/> }.into_any(),
                None => view! {
                    <pre class="args">{serde_json::to_string_pretty(&request.args).unwrap_or_default()}</pre>
                }
                .into_any(),
            },
            CardMode::Editing { topic, steps } => {
                let name = request.name.clone();
                let key = key.clone();
                let draft = draft.clone();
                view! { <PlanEditor topic steps mode busy=Signal::derive(busy) on_choose name key draft/> }.into_any()
            }
            CardMode::Rejecting { reason } => {
                view! { <RejectForm reason mode busy=Signal::derive(busy) on_choose/> }.into_any()
            }
        }
        }
    };
    view! {
        <article class="card" data-testid=format!("card-{index}")>
            <p class="tool-name">{name}</p>
            <p class="description">{request.description.clone()}</p>
            {body}
            {move || chosen.get().map(|d| view! {
                <p class="chosen" role="status">"Your choice: " {decision_label(&d)}</p>
            })}
            <Show when=move || mode.with(|m| *m == CardMode::View)>
                <div class="actions">
                    {can_approve.then(|| view! {
                        <button class="primary" data-key="a" aria-keyshortcuts="A" disabled=busy on:click=move |_| on_choose.run(Decision::Approve)>
                            "Approve"
                        </button>
                    })}
                    {editable.then(|| view! {
                        <button data-key="e" aria-keyshortcuts="E" disabled=busy on:click=start_edit.clone()>"Edit"</button>
                    })}
                    {can_reject.then(|| view! {
                        <button
                            class="danger"
                            data-key="r"
                            aria-keyshortcuts="R"
                            disabled=busy
                            on:click=move |ev| {
                                let card = card_of(&ev);
                                mode.set(CardMode::Rejecting { reason: String::new() });
                                focus_later(card, "[data-testid='reject-reason']");
                            }
                        >
                            "Reject"
                        </button>
                    })}
                </div>
            </Show>
        </article>
    }
}

#[component]
fn PlanView(plan: ResearchPlan) -> impl IntoView {
    view! {
        <h3 class="topic">{plan.topic().to_owned()}</h3>
        <ol class="steps">
            {plan.steps().iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
        </ol>
    }
}

#[component]
fn RejectForm(
    reason: String,
    mode: RwSignal<CardMode>,
    busy: Signal<bool>,
    on_choose: Callback<Decision>,
) -> impl IntoView {
    let reason = RwSignal::new(reason);
    let reject = move |_| {
        let text = reason.get().trim().to_owned();
        on_choose.run(Decision::Reject {
            message: (!text.is_empty()).then_some(text),
        });
    };
    view! {
        <div class="reject-form" on:keydown=on_escape(mode, "r")>
            <label class="field">
                <span>"Reason (optional, shown to the agent)"</span>
                <textarea
                    data-testid="reject-reason"
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))
                ></textarea>
            </label>
            <div class="actions">
                <button class="danger" data-testid="confirm-reject" disabled=busy on:click=reject>
                    "Reject plan"
                </button>
                <button type="button" aria-keyshortcuts="Escape" on:click=move |ev| {
                    let card = card_of(&ev);
                    mode.set(CardMode::View);
                    focus_later(card, "[data-key='r']");
                }>"Back"</button>
            </div>
        </div>
    }
}

fn decision_label(decision: &Decision) -> &'static str {
    match decision {
        Decision::Approve => "approve",
        Decision::Edit { .. } => "edit",
        Decision::Reject { .. } => "reject",
        Decision::Respond { .. } => "respond",
    }
}
