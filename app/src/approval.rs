//! The approval component: a proposed tool call with Approve, Edit and
//! Reject, and the outcome card that stays in the history afterwards.
//!
//! Every state is a value (see [`Phase`], [`CardMode`]), so `/gallery` can
//! render each one from fixtures without an agent.

use leptos::prelude::*;
use protocol::{
    ActionRequest, Decision, DecisionType, EditedAction, Interrupt, ResearchPlan, ResolvedBy,
    ResolvedInterrupt, CREATE_RESEARCH_PLAN,
};

use crate::time::{countdown, parse_rfc3339_ms};

/// Below this many seconds left, the countdown asks for attention.
const URGENT_SECS: f64 = 30.0;

/// Whether the panel can take a decision right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Ready,
    /// A decision was sent and is not yet answered.
    Submitting,
    /// No connection: decisions cannot be sent.
    Offline,
}

/// What one card shows.
#[derive(Clone, Debug, PartialEq)]
pub enum CardMode {
    View,
    Editing { topic: String, steps: Vec<String> },
    Rejecting { reason: String },
}

/// The pending interrupt: one card per action request, decided together.
#[component]
pub fn ApprovalPanel(
    interrupt: Interrupt,
    #[prop(into)] phase: Signal<Phase>,
    /// Milliseconds since the epoch; `None` until the browser has a clock.
    #[prop(into)]
    now: Signal<Option<f64>>,
    #[prop(into)] error: Signal<Option<String>>,
    on_submit: Callback<Vec<Decision>>,
    /// Gallery fixtures start cards in a given mode.
    #[prop(optional)]
    modes: Vec<CardMode>,
    #[prop(optional)] node_ref: NodeRef<leptos::html::Section>,
) -> impl IntoView {
    let count = interrupt.action_requests.len();
    let several = count > 1;
    // With several requests, choices are collected and sent together.
    let choices: RwSignal<Vec<Option<Decision>>> = RwSignal::new(vec![None; count]);
    let expires_ms = parse_rfc3339_ms(&interrupt.expires_at);
    let remaining = move || Some(expires_ms? - now.get()?);
    let cards = interrupt
        .action_requests
        .iter()
        .enumerate()
        .map(|(i, request)| {
            let allowed: Vec<DecisionType> = DecisionType::ALL
                .into_iter()
                .filter(|d| interrupt.allows(i, *d))
                .collect();
            let mode = modes.get(i).cloned().unwrap_or(CardMode::View);
            let on_choose = Callback::new(move |decision: Decision| {
                if several {
                    choices.update(|c| c[i] = Some(decision));
                } else {
                    on_submit.run(vec![decision]);
                }
            });
            let chosen = Signal::derive(move || choices.with(|c| c[i].clone()));
            view! {
                <ApprovalCard
                    request=request.clone()
                    allowed
                    phase
                    initial_mode=mode
                    chosen
                    on_choose
                    index=i
                />
            }
        })
        .collect_view();
    let all_chosen = move || choices.with(|c| c.iter().all(Option::is_some));
    let submit_all = move |_| {
        if let Some(decisions) = choices.with(|c| c.iter().cloned().collect::<Option<Vec<_>>>()) {
            on_submit.run(decisions);
        }
    };
    view! {
        <section
            class="approval"
            class:offline=move || phase.get() == Phase::Offline
            aria-labelledby="approval-title"
            tabindex="-1"
            node_ref=node_ref
            data-testid="approval"
        >
            <header class="approval-header">
                <h2 id="approval-title">
                    {if several { format!("{count} actions need your approval") } else { "Approval needed".to_owned() }}
                </h2>
                <p
                    class="countdown"
                    class:urgent=move || remaining().is_some_and(|r| r < URGENT_SECS * 1000.0)
                    data-testid="countdown"
                >
                    {move || match remaining() {
                        None => String::new(),
                        Some(r) if r <= 0.0 => "Time is up: the request is expiring and the plan will not be created.".to_owned(),
                        Some(r) => format!("Expires in {}. If nobody decides by then, the plan is not created.", countdown(r)),
                    }}
                </p>
            </header>
            {move || (phase.get() == Phase::Offline).then(|| view! {
                <p class="notice" role="status">"Disconnected: reconnecting before you can decide."</p>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="decision-error">{e}</p> })}
            <div class="cards">{cards}</div>
            {several.then(|| view! {
                <button
                    class="primary"
                    data-testid="submit-all"
                    disabled=move || !all_chosen() || phase.get() != Phase::Ready
                    on:click=submit_all
                >
                    {move || {
                        let n = choices.with(|c| c.iter().filter(|x| x.is_some()).count());
                        format!("Send decisions ({n} of {count} chosen)")
                    }}
                </button>
            })}
            {move || (phase.get() == Phase::Submitting).then(|| view! {
                <p class="notice" role="status" data-testid="submitting">"Sending your decision…"</p>
            })}
        </section>
    }
}

#[component]
fn ApprovalCard(
    request: ActionRequest,
    allowed: Vec<DecisionType>,
    phase: Signal<Phase>,
    initial_mode: CardMode,
    chosen: Signal<Option<Decision>>,
    on_choose: Callback<Decision>,
    index: usize,
) -> impl IntoView {
    let plan = (request.name == CREATE_RESEARCH_PLAN)
        .then(|| ResearchPlan::parse(&request.args).ok())
        .flatten();
    let editable = plan.is_some() && allowed.contains(&DecisionType::Edit);
    let mode = RwSignal::new(initial_mode);
    let busy = move || phase.get() != Phase::Ready;
    let can = |d: DecisionType| allowed.contains(&d);
    let (can_approve, can_reject) = (can(DecisionType::Approve), can(DecisionType::Reject));
    let name = request.name.clone();

    let start_edit = {
        let plan = plan.clone();
        move |_| {
            if let Some(plan) = &plan {
                mode.set(CardMode::Editing {
                    topic: plan.topic().to_owned(),
                    steps: plan.steps().to_vec(),
                });
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
                view! { <PlanEditor topic steps mode busy=Signal::derive(busy) on_choose name/> }.into_any()
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
                        <button class="primary" disabled=busy on:click=move |_| on_choose.run(Decision::Approve)>
                            "Approve"
                        </button>
                    })}
                    {editable.then(|| view! {
                        <button disabled=busy on:click=start_edit.clone()>"Edit"</button>
                    })}
                    {can_reject.then(|| view! {
                        <button
                            class="danger"
                            disabled=busy
                            on:click=move |_| mode.set(CardMode::Rejecting { reason: String::new() })
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
fn PlanEditor(
    topic: String,
    steps: Vec<String>,
    mode: RwSignal<CardMode>,
    busy: Signal<bool>,
    on_choose: Callback<Decision>,
    name: String,
) -> impl IntoView {
    let topic = RwSignal::new(topic);
    // Each step keeps an id so inputs keep focus while others move.
    let next_id = StoredValue::new(steps.len());
    let steps = RwSignal::new(
        steps
            .into_iter()
            .enumerate()
            .collect::<Vec<(usize, String)>>(),
    );
    let parsed = Memo::new(move |_| {
        let texts: Vec<String> = steps.with(|s| s.iter().map(|(_, t)| t.clone()).collect());
        ResearchPlan::new(&topic.get(), &texts)
    });
    let error = move || parsed.with(|p| p.as_ref().err().map(|e| capitalize(&e.to_string())));
    let save = move |_| {
        if let Ok(plan) = parsed.get() {
            on_choose.run(Decision::Edit {
                edited_action: EditedAction {
                    name: name.clone(),
                    args: plan.to_args(),
                },
            });
        }
    };
    let move_step = move |id: usize, by: isize| {
        steps.update(|s| {
            if let Some(i) = s.iter().position(|(k, _)| *k == id) {
                let j = i as isize + by;
                if j >= 0 && (j as usize) < s.len() {
                    s.swap(i, j as usize);
                }
            }
        })
    };
    view! {
        <div class="editor" data-testid="editor">
            <label class="field">
                <span>"Topic"</span>
                <input
                    type="text"
                    data-testid="topic-input"
                    prop:value=move || topic.get()
                    on:input=move |ev| topic.set(event_target_value(&ev))
                />
            </label>
            <fieldset>
                <legend>"Steps"</legend>
                <ol class="step-list">
                    <For
                        each=move || steps.get().into_iter().enumerate()
                        key=|(position, (id, _))| (*id, *position)
                        let:item
                    >
                        {
                            let (position, (id, text)) = item;
                            let label = format!("Step {}", position + 1);
                            view! {
                                <li class="step-row">
                                    <span class="step-number" aria-hidden="true">{position + 1}"."</span>
                                    <input
                                        type="text"
                                        aria-label=label.clone()
                                        data-testid=format!("step-input-{position}")
                                        prop:value=text
                                        on:input=move |ev| {
                                            let value = event_target_value(&ev);
                                            steps.update(|s| {
                                                if let Some(step) = s.iter_mut().find(|(k, _)| *k == id) {
                                                    step.1 = value;
                                                }
                                            });
                                        }
                                    />
                                    <button type="button" class="icon" aria-label=format!("Move {label} up") on:click=move |_| move_step(id, -1)>"↑"</button>
                                    <button type="button" class="icon" aria-label=format!("Move {label} down") on:click=move |_| move_step(id, 1)>"↓"</button>
                                    <button
                                        type="button"
                                        class="icon"
                                        aria-label=format!("Remove {label}")
                                        on:click=move |_| steps.update(|s| s.retain(|(k, _)| *k != id))
                                    >
                                        "✕"
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ol>
                <button
                    type="button"
                    data-testid="add-step"
                    on:click=move |_| {
                        let id = next_id.get_value();
                        next_id.set_value(id + 1);
                        steps.update(|s| s.push((id, String::new())));
                    }
                >
                    "Add step"
                </button>
            </fieldset>
            {move || error().map(|e| view! { <p class="error" role="alert" data-testid="plan-error">{e}</p> })}
            <div class="actions">
                <button
                    class="primary"
                    data-testid="save-edit"
                    disabled=move || busy.get() || parsed.with(|p| p.is_err())
                    on:click=save
                >
                    "Save and run"
                </button>
                <button type="button" data-testid="cancel-edit" on:click=move |_| mode.set(CardMode::View)>"Cancel"</button>
            </div>
        </div>
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
        <div class="reject-form">
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
                <button type="button" on:click=move |_| mode.set(CardMode::View)>"Back"</button>
            </div>
        </div>
    }
}

/// An answered interrupt, as it stays in the conversation.
#[component]
pub fn OutcomeCard(outcome: ResolvedInterrupt) -> impl IntoView {
    let items = outcome
        .interrupt
        .action_requests
        .iter()
        .zip(&outcome.decisions)
        .map(|(request, decision)| {
            let (class, title, detail) = describe(request, decision, outcome.by);
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

fn decision_label(decision: &Decision) -> &'static str {
    match decision {
        Decision::Approve => "approve",
        Decision::Edit { .. } => "edit",
        Decision::Reject { .. } => "reject",
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
