//! One action request: its plan (or raw arguments), the choices the review
//! config allows, and the reject form.

use leptos::prelude::*;
use protocol::{
    ActionRequest, Decision, DecisionType, FieldError, ResearchPlan, CREATE_RESEARCH_PLAN,
};

use super::editor::PlanEditor;
use super::focus::{back, card_of, focus_later, on_escape};
use super::schema_form::SchemaForm;
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
    field_errors: Signal<Vec<FieldError>>,
    /// Unique on the page: the ids of the card's fields start with it.
    key: String,
    /// Where a half-finished edit is kept across a reload (none in the
    /// gallery).
    draft: Option<String>,
) -> impl IntoView {
    let plan = (request.name == CREATE_RESEARCH_PLAN)
        .then(|| ResearchPlan::parse(&request.args).ok())
        .flatten();
    let editable =
        (plan.is_some() || request.args_schema.is_some()) && allowed.contains(&DecisionType::Edit);
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
    let can_respond = can(DecisionType::Respond);
    let name = request.name.clone();

    let start_edit = {
        let plan = plan.clone();
        move |ev: leptos::ev::MouseEvent| {
            let card = card_of(&ev);
            match &plan {
                Some(plan) => {
                    mode.set(CardMode::Editing {
                        topic: plan.topic().to_owned(),
                        steps: plan.steps().to_vec(),
                    });
                    focus_later(card, "[data-testid='topic-input']");
                }
                None => {
                    mode.set(CardMode::EditingArgs);
                    focus_later(card, "input, select, textarea");
                }
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
            CardMode::EditingArgs => view! {
                <SchemaForm
                    schema=request.args_schema.clone().unwrap_or_default()
                    args=request.args.clone()
                    name=request.name.clone()
                    index
                    key=key.clone()
                    errors=field_errors
                    mode
                    busy=Signal::derive(busy)
                    on_choose
                />
            }
            .into_any(),
            CardMode::Rejecting { reason } => view! {
                <TextForm text=reason kind=DecisionType::Reject mode busy=Signal::derive(busy) on_choose/>
            }
            .into_any(),
            CardMode::Responding { reply } => view! {
                <TextForm text=reply kind=DecisionType::Respond mode busy=Signal::derive(busy) on_choose/>
            }
            .into_any(),
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
                    {can_respond.then(|| view! {
                        <button
                            data-key="n"
                            disabled=busy
                            on:click=move |ev| {
                                let card = card_of(&ev);
                                mode.set(CardMode::Responding { reply: String::new() });
                                focus_later(card, "[data-testid='respond-text']");
                            }
                        >
                            "Answer instead"
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

/// What a person writes instead of running the tool: a rejection's
/// reason (optional), or the answer that stands in for the tool's result.
#[component]
fn TextForm(
    text: String,
    /// `Reject` or `Respond`.
    kind: DecisionType,
    mode: RwSignal<CardMode>,
    busy: Signal<bool>,
    on_choose: Callback<Decision>,
) -> impl IntoView {
    let text = RwSignal::new(text);
    let answer = kind == DecisionType::Respond;
    let (label, field, confirm, button, opener) = if answer {
        (
            "Your answer, given to the agent as the tool's result",
            "respond-text",
            "confirm-respond",
            "Send answer",
            "n",
        )
    } else {
        (
            "Reason (optional, shown to the agent)",
            "reject-reason",
            "confirm-reject",
            "Reject plan",
            "r",
        )
    };
    let send = move |_| {
        let text = text.get().trim().to_owned();
        on_choose.run(if answer {
            Decision::Respond { message: text }
        } else {
            Decision::Reject {
                message: (!text.is_empty()).then_some(text),
            }
        });
    };
    view! {
        <div class="reject-form" on:keydown=on_escape(mode, opener)>
            <label class="field">
                <span>{label}</span>
                <textarea
                    data-testid=field
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
            </label>
            <div class="actions">
                <button
                    class=if answer { "primary" } else { "danger" }
                    data-testid=confirm
                    disabled=move || busy.get() || (answer && text.with(|t| t.trim().is_empty()))
                    on:click=send
                >
                    {button}
                </button>
                <button type="button" aria-keyshortcuts="Escape" on:click=back(mode, opener)>"Back"</button>
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
