//! One action request: its plan (or raw arguments), the choices the review
//! config allows, the reject form, and the editors (`forms`), drawn once
//! their code has come.

use leptos::prelude::*;
use leptos::web_sys::Element;
use protocol::{
    ActionRequest, Decision, DecisionType, FieldError, ResearchPlan, CREATE_RESEARCH_PLAN,
};

use super::focus::{card_of, focus_later, on_back, on_escape};
use super::forms::{editor, Editor, LoadError, Shared};
use super::schema_form::FormInput;
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

    // Where focus goes once an editor opened by a click is drawn: its code
    // may still be on its way, so it cannot be focused at once.
    let focus_on_open = StoredValue::new_local(None::<(Option<Element>, &'static str)>);
    let open = move |ev: &leptos::ev::MouseEvent, to: CardMode, focus: &'static str| {
        focus_on_open.set_value(Some((card_of(ev), focus)));
        mode.set(to);
    };
    let start_edit = {
        let plan = plan.clone();
        move |ev: leptos::ev::MouseEvent| match &plan {
            Some(plan) => open(
                &ev,
                CardMode::Editing {
                    topic: plan.topic().to_owned(),
                    steps: plan.steps().to_vec(),
                },
                "[data-testid='topic-input']",
            ),
            None => open(&ev, CardMode::EditingArgs, "input, select, textarea"),
        }
    };
    let body = {
        let plan = plan.clone();
        let request = request.clone();
        move || {
            let shared = Shared {
                mode,
                busy: Signal::derive(busy),
                on_choose,
            };
            let editing = match mode.get() {
                CardMode::View => {
                    return match &plan {
                        Some(plan) => view! { <PlanView plan=plan.clone()/> }.into_any(),
                        None => view! {
                            <pre class="args">{serde_json::to_string_pretty(&request.args).unwrap_or_default()}</pre>
                        }
                        .into_any(),
                    }
                }
                CardMode::Rejecting { reason } => {
                    return view! { <RejectForm reason mode busy=Signal::derive(busy) on_choose/> }.into_any()
                }
                CardMode::Editing { topic, steps } => Editor::Plan {
                    topic,
                    steps,
                    name: request.name.clone(),
                    key: key.clone(),
                    draft: draft.clone(),
                },
                CardMode::EditingArgs => Editor::Args(FormInput {
                    schema: request.args_schema.clone().unwrap_or_default(),
                    args: request.args.clone(),
                    name: request.name.clone(),
                    index,
                    key: key.clone(),
                    errors: field_errors,
                }),
                CardMode::Responding { reply } => Editor::Respond { reply },
            };
            let focus = focus_on_open.try_update_value(Option::take).flatten();
            when_loaded(editor(editing, shared), focus, mode).into_any()
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
                            aria-keyshortcuts="N"
                            disabled=busy
                            on:click=move |ev| {
                                open(&ev, CardMode::Responding { reply: String::new() }, "[data-testid='respond-text']")
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
                <button type="button" aria-keyshortcuts="Escape" on:click=on_back(mode, "r")>"Back"</button>
            </div>
        </div>
    }
}

/// A view whose code is still on its way: a line saying so until it comes,
/// then focus where `focus` says; if it cannot come, why, and the rest of
/// the card still works. (Not `Suspense`: its machinery would cost the main
/// module more than the editors it waits for.)
fn when_loaded(
    view: impl std::future::Future<Output = Result<AnyView, LoadError>> + 'static,
    focus: Option<(Option<Element>, &'static str)>,
    mode: RwSignal<CardMode>,
) -> impl IntoView {
    let slot = RwSignal::new_local(None::<AnyView>);
    // Under this owner, so the editor's effects and clean-ups (its draft's)
    // end with the card's mode; untracked, so building it subscribes the
    // card to nothing; cancelled if the mode changes before it comes.
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local_scoped_with_cancellation(
        leptos::reactive::computed::ScopedFuture::new_untracked(async move {
            let loaded = view.await;
            let failed = loaded.is_err();
            slot.set(Some(loaded.unwrap_or_else(|_| {
                view! {
                    <p class="error" role="alert" data-testid="editor-failed">
                        "The editor could not be loaded. Reload the page to try again, or go back to the other choices."
                    </p>
                    <div class="actions">
                        <button type="button" on:click=move |_| mode.set(CardMode::View)>"Back"</button>
                    </div>
                }
                .into_any()
            })));
            if let (Some((card, selector)), false) = (focus, failed) {
                focus_later(card, selector);
            }
        }),
    );
    #[cfg(not(feature = "hydrate"))]
    drop((view, focus, mode));
    move || {
        slot.track();
        // Taken once: nothing else makes this closure run again.
        match slot.try_update_untracked(Option::take).flatten() {
            Some(view) => view,
            None => view! { <p class="muted" role="status" data-testid="editor-loading">"Loading the editor…"</p> }.into_any(),
        }
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
