//! The approval component: a proposed tool call with Approve, Edit and
//! Reject, and the outcome card that stays in the history afterwards.
//!
//! Every state is a value (see [`Phase`], [`CardMode`]), so `/gallery` can
//! render each one from fixtures without an agent.
//!
//! - this file: the panel, one card per action request, decided together;
//! - `card`: one request, its plan, Approve / Edit / Reject / Answer and the
//!   reject form;
//! - `forms`: the editors, a lazily loaded WebAssembly chunk: `editor`, the
//!   plan editor over the [`steps::StepList`] value; `schema_form`, any
//!   tool's arguments from its JSON Schema; the answer in a tool's place;
//! - `outcome`: the card an answered interrupt leaves in the history.

mod card;
mod draft;
mod editor;
mod focus;
mod forms;
mod outcome;
mod schema_form;
pub mod steps;

use leptos::prelude::*;
use protocol::{Decision, DecisionType, Interrupt};

use crate::time::{countdown, parse_rfc3339_ms};
use card::ApprovalCard;
pub use outcome::OutcomeCard;

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
    Editing {
        topic: String,
        steps: Vec<String>,
    },
    /// Any other tool's arguments, in a form built from its schema.
    EditingArgs,
    Rejecting {
        reason: String,
    },
    /// The person's answer in the tool's place.
    Responding {
        reply: String,
    },
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
    /// The server's errors on edited arguments, field by field.
    #[prop(optional, into)]
    field_errors: Signal<Vec<protocol::FieldError>>,
    on_submit: Callback<Vec<Decision>>,
    /// Gallery fixtures start cards in a given mode.
    #[prop(optional)]
    modes: Vec<CardMode>,
    #[prop(optional)] node_ref: NodeRef<leptos::html::Section>,
    /// `false` for someone who may see the request but not decide it.
    #[prop(default = true)]
    may_decide: bool,
    /// Unique on the page (the gallery shows many panels): the panel's
    /// ids start with it, and it names the panel to assistive technology.
    #[prop(optional, into)]
    name: Option<String>,
) -> impl IntoView {
    let prefix = name
        .as_deref()
        .map_or("approval".to_owned(), |n| format!("approval-{n}"));
    let title_id = format!("{prefix}-title");
    let labelled_by = name.is_none().then(|| title_id.clone());
    let count = interrupt.action_requests.len();
    let several = count > 1;
    // With several requests, choices are collected and sent together.
    let choices: RwSignal<Vec<Option<Decision>>> = RwSignal::new(vec![None; count]);
    let expires_ms = parse_rfc3339_ms(&interrupt.expires_at);
    let remaining = move || Some(expires_ms? - now.get()?);
    // At zero the request is expiring on the server: nothing can be chosen.
    let card_phase = Signal::derive(move || match remaining() {
        Some(r) if r <= 0.0 => Phase::Submitting,
        _ => phase.get(),
    });
    let cards = interrupt
        .action_requests
        .iter()
        .enumerate()
        .map(|(i, request)| {
            let allowed: Vec<DecisionType> = DecisionType::ALL
                .into_iter()
                .chain([DecisionType::Respond])
                .filter(|d| may_decide && interrupt.allows(i, *d))
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
                    phase=card_phase
                    initial_mode=mode
                    chosen
                    on_choose
                    index=i
                    field_errors
                    key=format!("{prefix}-{i}")
                    draft=name.is_none().then(|| draft::key(&interrupt.interrupt_id, i))
                />
            }
        })
        .collect_view();
    let answerable = (0..count).any(|i| interrupt.allows(i, DecisionType::Respond));
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
            aria-labelledby=labelled_by
            aria-label=name.as_ref().map(|n| format!("Approval needed ({n})"))
            aria-describedby=may_decide.then(|| format!("{prefix}-keys"))
            tabindex="-1"
            node_ref=node_ref
            data-testid="approval"
            on:keydown=focus::shortcut
        >
            <header class="approval-header">
                <h2 id=title_id>
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
            {(!may_decide).then(|| view! {
                <p class="notice" role="status" data-testid="approver-needed">
                    "Waiting for an approver: only approvers and admins decide."
                </p>
            })}
            {move || (phase.get() == Phase::Offline).then(|| view! {
                <p class="notice" role="status">"Disconnected: reconnecting before you can decide."</p>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="decision-error">{e}</p> })}
            <div class="cards">{cards}</div>
            {may_decide.then(|| view! {
                <p class="muted keys" id=format!("{prefix}-keys")>
                    "Keys: A approve · E edit · R reject · "
                    {answerable.then_some("N answer · ")}
                    "Esc back"
                </p>
            })}
            {(several && may_decide).then(|| view! {
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
