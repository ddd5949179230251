//! One thread: the conversation, the pending approval and the message box.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use protocol::{ClientMessage, Decision, Role, RunStatus, ThreadStatus};

use crate::approval::{ApprovalPanel, OutcomeCard, Phase};
use crate::link::LinkStatus;
use crate::model::{Conversation, Entry, InFlight};
use crate::threads::{NewThreadButton, ThreadsChanged};

#[component]
pub fn ThreadPage() -> impl IntoView {
    let params = use_params_map();
    let thread_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    move || view! { <ThreadView thread_id=thread_id.get()/> }
}

#[component]
fn ThreadView(thread_id: String) -> impl IntoView {
    let conversation = RwSignal::new(Conversation::default());
    let status = RwSignal::new(LinkStatus::Connecting);
    let now = RwSignal::new(None::<f64>);
    let changed = expect_context::<ThreadsChanged>();
    let send = connect(thread_id, conversation, status, now, changed);

    let phase = Signal::derive(move || {
        if status.get() != LinkStatus::Connected {
            Phase::Offline
        } else if conversation.with(|c| c.in_flight.is_some()) {
            Phase::Submitting
        } else {
            Phase::Ready
        }
    });
    let decide = Callback::new(move |decisions: Vec<Decision>| {
        // Exactly one decision per interrupt leaves this tab.
        let Some(interrupt_id) = conversation.with_untracked(|c| {
            c.in_flight
                .is_none()
                .then(|| c.pending().map(|p| p.interrupt_id.clone()))
                .flatten()
        }) else {
            return;
        };
        let flight = InFlight {
            interrupt_id,
            decision_id: new_decision_id(),
            decisions,
        };
        conversation.update(|c| {
            c.decision_error = None;
            c.in_flight = Some(flight.clone());
        });
        send.run(decision_frame(&flight));
    });

    let pending_id =
        Memo::new(move |_| conversation.with(|c| c.pending().map(|p| p.interrupt_id.clone())));
    let approval_ref = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if pending_id.get().is_some() {
            request_animation_frame(move || {
                if let Some(el) = approval_ref.get_untracked() {
                    let _ = el.focus();
                }
            });
        }
    });
    // The request answered, focus was in the panel that just went away:
    // put it on the outcome, so the next Tab starts from there.
    Effect::new(move |before: Option<Option<String>>| {
        let now = pending_id.get();
        if before.flatten().is_some() && now.is_none() {
            request_animation_frame(focus_last_outcome);
        }
        now
    });
    let decision_error = Signal::derive(move || {
        conversation.with(|c| c.decision_error.as_ref().map(|e| e.error.clone()))
    });
    let field_errors = Signal::derive(move || {
        conversation.with(|c| {
            c.decision_error
                .as_ref()
                .map(|e| e.details.clone())
                .unwrap_or_default()
        })
    });
    let may_decide = use_context::<crate::user::CurrentUser>()
        .unwrap_or_default()
        .may_decide();
    let approval = move || {
        pending_id.get()?;
        let interrupt = conversation.with_untracked(|c| c.pending().cloned())?;
        Some(view! {
            <ApprovalPanel
                interrupt
                phase
                now
                error=decision_error
                field_errors
                on_submit=decide
                node_ref=approval_ref
                may_decide
            />
        })
    };

    let count = Memo::new(move |_| conversation.with(|c| c.len()));
    view! {
        <div class="thread">
            <header class="thread-header">
                <h1 class="thread-title">{move || conversation.with(|c| {
                    let first = c.thread.messages.iter().find(|m| m.role == Role::User);
                    first.map_or_else(|| "New thread".to_owned(), |m| m.content.clone())
                })}</h1>
                <ConnectionBadge status/>
                <p class="sr-only" role="status">{move || announcement(&conversation.read())}</p>
            </header>
            <div class="messages" role="log" aria-live="polite" aria-label="Conversation" data-testid="messages">
                {move || (!conversation.with(|c| c.loaded)).then(|| view! { <p class="muted">"Loading the conversation…"</p> })}
                <For each=move || 0..count.get() key=|i| *i let:i>
                    <EntryView conversation index=i/>
                </For>
            </div>
            {approval}
            {move || conversation.with(|c| c.decided_elsewhere.clone()).map(|notice| view! {
                <p class="notice" role="status" data-testid="decided-elsewhere">{notice}</p>
            })}
            <Show when=move || status.get() == LinkStatus::Gone>
                <div class="notice" role="alert" data-testid="thread-gone">
                    <p>"This thread is no longer on the server: it restarted, and threads are kept in memory only."</p>
                    <NewThreadButton/>
                </div>
            </Show>
            <Composer conversation status send/>
        </div>
    }
}

/// Opens the socket (in the browser only) and returns how to send a frame.
fn connect(
    thread_id: String,
    conversation: RwSignal<Conversation>,
    status: RwSignal<LinkStatus>,
    now: RwSignal<Option<f64>>,
    changed: ThreadsChanged,
) -> Callback<ClientMessage> {
    #[cfg(feature = "hydrate")]
    {
        let link = StoredValue::new_local(None::<crate::link::Link>);
        Effect::new(move |_| {
            let opened = crate::link::open(thread_id.clone(), status, move |message| {
                let refresh_list = matches!(
                    message,
                    protocol::ServerMessage::RunStarted(_)
                        | protocol::ServerMessage::RunFinished(_)
                );
                let is_snapshot = matches!(message, protocol::ServerMessage::Snapshot(_));
                conversation.update(|c| c.apply(message));
                if refresh_list {
                    changed.notify();
                }
                // A decision lost with the old connection goes again, with
                // the same decision_id: applied once whatever happened.
                if is_snapshot {
                    if let Some(flight) = conversation.with_untracked(|c| c.in_flight.clone()) {
                        link.with_value(|l| {
                            if let Some(l) = l {
                                l.send(decision_frame(&flight));
                            }
                        });
                    }
                }
            });
            link.set_value(Some(opened));
            now.set(Some(js_sys::Date::now()));
            if let Ok(ticker) = set_interval_with_handle(
                move || now.set(Some(js_sys::Date::now())),
                std::time::Duration::from_millis(500),
            ) {
                on_cleanup(move || ticker.clear());
            }
        });
        on_cleanup(move || {
            link.with_value(|l| {
                if let Some(l) = l {
                    l.close();
                }
            })
        });
        Callback::new(move |message| {
            link.with_value(|l| {
                if let Some(l) = l {
                    l.send(message);
                }
            })
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (thread_id, conversation, status, now, changed);
        Callback::new(|_| {})
    }
}

/// Focuses the latest outcome if nothing else has focus.
fn focus_last_outcome() {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let body = document.body().map(web_sys::Element::from);
        if document
            .active_element()
            .is_some_and(|e| Some(&e) != body.as_ref())
        {
            return;
        }
        let Ok(outcomes) = document.query_selector_all("[data-testid='outcome']") else {
            return;
        };
        let last = outcomes.item(outcomes.length().saturating_sub(1));
        if let Some(el) = last.and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    }
}

fn decision_frame(flight: &InFlight) -> ClientMessage {
    ClientMessage::Decision {
        interrupt_id: Some(flight.interrupt_id.clone()),
        decision_id: Some(flight.decision_id.clone()),
        decisions: flight.decisions.clone(),
    }
}

/// A fresh id for a decision, so a retry is recognised as the same one.
fn new_decision_id() -> String {
    #[cfg(feature = "hydrate")]
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        // randomUUID exists only in secure contexts (https, localhost);
        // getRandomValues everywhere, a page served over plain http included.
        if js_sys::Reflect::has(&crypto, &"randomUUID".into()).unwrap_or(false) {
            return crypto.random_uuid();
        }
        let mut bytes = [0u8; 16];
        if crypto.get_random_values_with_u8_array(&mut bytes).is_ok() {
            return uuid_v4(bytes);
        }
    }
    String::new()
}

/// RFC 9562 version 4 from 16 random bytes, in its usual text form.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn announcement(c: &Conversation) -> &'static str {
    match (c.loaded, c.status(), c.pending()) {
        (false, _, _) => "",
        (_, _, Some(_)) => "The agent is waiting for your approval.",
        (_, Some(ThreadStatus::Running), _) => "The agent is responding.",
        _ => "",
    }
}

#[component]
fn ConnectionBadge(status: RwSignal<LinkStatus>) -> impl IntoView {
    view! {
        <p
            class="connection"
            class:ok=move || status.get() == LinkStatus::Connected
            role="status"
            data-testid="connection"
            data-state=move || match status.get() {
                LinkStatus::Connected => "connected",
                LinkStatus::Connecting => "connecting",
                LinkStatus::Reconnecting(_) => "reconnecting",
                LinkStatus::Gone => "gone",
            }
        >
            <span class="dot" aria-hidden="true"></span>
            {move || status.get().label()}
        </p>
    }
}

#[component]
fn EntryView(conversation: RwSignal<Conversation>, index: usize) -> impl IntoView {
    let entry = Memo::new(move |_| conversation.with(|c| c.entry(index)));
    move || {
        entry.get().map(|entry| match entry {
            Entry::Message(m) => {
                let (class, who) = match m.role {
                    Role::User => ("message user", "You"),
                    Role::Assistant => ("message assistant", "Agent"),
                    Role::Tool => ("message tool", "Tool"),
                };
                view! {
                    <div class=class data-testid=class.replace(' ', "-")>
                        <span class="who">{who}</span>
                        <p class="text">{m.content}</p>
                    </div>
                }
                .into_any()
            }
            Entry::Outcome(outcome) => view! { <OutcomeCard outcome/> }.into_any(),
            Entry::RunEnded { status, error } => {
                let text = match (status, error) {
                    (RunStatus::Cancelled, _) => "Stopped.".to_owned(),
                    (_, Some(e)) => format!("The run failed: {e}"),
                    (_, None) => "The run failed.".to_owned(),
                };
                view! { <p class="run-ended" role="alert" data-testid="run-ended">{text}</p> }
                    .into_any()
            }
        })
    }
}

#[component]
fn Composer(
    conversation: RwSignal<Conversation>,
    status: RwSignal<LinkStatus>,
    send: Callback<ClientMessage>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let busy = move || conversation.with(|c| c.is_busy());
    let offline = move || status.get() != LinkStatus::Connected;
    let unavailable = move || busy() || offline() || !conversation.with(|c| c.loaded);
    let submit = move || {
        let content = draft.get_untracked().trim().to_owned();
        if content.is_empty() || unavailable() {
            return;
        }
        draft.set(String::new());
        send.run(ClientMessage::SendMessage { content });
    };
    let why = move || {
        if offline() {
            Some("Reconnecting: you can send once the connection is back.")
        } else if conversation.with(|c| c.pending().is_some()) {
            Some("The agent is waiting for your decision above.")
        } else if busy() {
            Some("The agent is responding. Wait for it to finish, or stop it.")
        } else {
            None
        }
    };
    view! {
        <form
            class="composer"
            class:waiting=move || conversation.with(|c| c.pending().is_some())
            on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || conversation.with(|c| c.error.clone()).map(|e| view! {
                <p class="error" role="alert" data-testid="composer-error">{e.error}</p>
            })}
            <label class="sr-only" for="message">"Message"</label>
            <textarea
                id="message"
                data-testid="message-input"
                rows="2"
                placeholder="Ask for a research plan, e.g. “Create a research plan for Anthropic”"
                prop:value=move || draft.get()
                aria-disabled=move || unavailable().to_string()
                readonly=unavailable
                aria-describedby="composer-why"
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <p id="composer-why" class="muted why">{why}</p>
            <div class="actions">
                <button type="submit" class="primary" data-testid="send" disabled=unavailable>"Send"</button>
                <Show when=busy>
                    <button
                        type="button"
                        class="danger"
                        data-testid="stop"
                        disabled=offline
                        on:click=move |_| send.run(ClientMessage::Cancel)
                    >
                        "Stop"
                    </button>
                </Show>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_v4_uuid_has_its_version_and_variant() {
        let id = super::uuid_v4([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(
            super::uuid_v4([0; 16]),
            "00000000-0000-4000-8000-000000000000"
        );
    }
}
