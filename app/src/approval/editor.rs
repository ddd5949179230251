//! The plan editor: topic and steps, checked as they are typed by the same
//! parser the server uses, each problem shown next to its field.

use leptos::prelude::*;
use protocol::{Decision, EditedAction, PlanError, ResearchPlan};

use super::focus::{card_of, focus_later, on_back, on_escape};
use super::steps::StepList;
use super::CardMode;

#[component]
pub(super) fn PlanEditor(
    topic: String,
    steps: Vec<String>,
    mode: RwSignal<CardMode>,
    busy: Signal<bool>,
    on_choose: Callback<Decision>,
    name: String,
    /// Unique on the page: the fields' ids start with it.
    key: String,
    /// Where the edit is kept while it is open, so a reload gives it back.
    draft: Option<String>,
) -> impl IntoView {
    let topic = RwSignal::new(topic);
    let steps = RwSignal::new(StepList::new(steps));
    if let Some(draft) = draft {
        let saving = draft.clone();
        Effect::new(move |_| {
            super::draft::save(&saving, &topic.read(), &steps.with(StepList::texts));
        });
        // Closed by Cancel, Escape, a decision or the request going away:
        // the edit is done with. (A reload runs no clean-up.)
        on_cleanup(move || super::draft::clear(&draft));
    }
    let parsed = Memo::new(move |_| ResearchPlan::new(&topic.get(), &steps.with(StepList::texts)));
    let problem = move || parsed.with(|p| p.as_ref().err().cloned());
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
    // A step that moves is a row that moves (rows are keyed by the step's
    // id), and moving a node takes its focus away: give it back.
    let move_step = move |ev: leptos::ev::MouseEvent, id: usize, by: isize, button: &str| {
        let card = card_of(&ev);
        steps.update(|s| s.shift(id, by));
        focus_later(card, format!("[data-step='{id}'] [data-move='{button}']"));
    };
    let remove = move |ev: leptos::ev::MouseEvent, id: usize| {
        let card = card_of(&ev);
        let position = steps.with(|s| s.position(id)).unwrap_or(0);
        steps.update(|s| s.remove(id));
        let next = steps.with(|s| s.rows().get(position).or(s.rows().last()).map(|r| r.0));
        let target = match next {
            Some(id) => format!("[data-step='{id}'] input"),
            None => "[data-testid='add-step']".to_owned(),
        };
        focus_later(card, target);
    };
    let topic_id = format!("{key}-topic");
    let topic_error_id = format!("{key}-topic-error");
    let topic_error_shown = topic_error_id.clone();
    let steps_error_id = format!("{key}-steps-error");
    let steps_error_described = steps_error_id.clone();
    let topic_invalid = move || matches!(problem(), Some(PlanError::EmptyTopic));
    let rows_key = key.clone();
    view! {
        <div class="editor" data-testid="editor" on:keydown=on_escape(mode, "e")>
            <div class="field">
                <label for=topic_id.clone()>"Topic"</label>
                <input
                    id=topic_id
                    type="text"
                    data-testid="topic-input"
                    aria-invalid=move || topic_invalid().to_string()
                    aria-describedby=move || topic_invalid().then(|| topic_error_id.clone())
                    prop:value=move || topic.get()
                    on:input=move |ev| topic.set(event_target_value(&ev))
                />
                {move || topic_invalid().then(|| view! {
                    <p class="error field-error" id=topic_error_shown.clone() data-testid="plan-error">"Give the plan a topic."</p>
                })}
            </div>
            <fieldset aria-describedby=move || {
                matches!(problem(), Some(PlanError::NoSteps)).then(|| steps_error_described.clone())
            }>
                <legend>"Steps"</legend>
                <ol class="step-list">
                    <For
                        each=move || steps.with(|s| s.rows().iter().map(|r| r.0).collect::<Vec<_>>())
                        key=|id| *id
                        let:id
                    >
                        {
                            let position = Memo::new(move |_| steps.with(|s| s.position(id)).unwrap_or(0));
                            let label = move || format!("Step {}", position.get() + 1);
                            let invalid = move || matches!(problem(), Some(PlanError::EmptyStep(n)) if n == position.get() + 1);
                            let error_id = format!("{rows_key}-step-{id}-error");
                            view! {
                                <li class="step-row" data-step=id.to_string()>
                                    <span class="step-number" aria-hidden="true">{move || position.get() + 1}"."</span>
                                    <input
                                        type="text"
                                        aria-label=label
                                        aria-invalid=move || invalid().to_string()
                                        aria-describedby={
                                            let error_id = error_id.clone();
                                            move || invalid().then(|| error_id.clone())
                                        }
                                        data-testid=move || format!("step-input-{}", position.get())
                                        prop:value=move || steps.with(|s| s.text(id).to_owned())
                                        on:input=move |ev| {
                                            let value = event_target_value(&ev);
                                            steps.update(|s| s.set(id, value));
                                        }
                                    />
                                    <button type="button" class="icon" data-move="up" aria-label=move || format!("Move {} up", label()) on:click=move |ev| move_step(ev, id, -1, "up")>"↑"</button>
                                    <button type="button" class="icon" data-move="down" aria-label=move || format!("Move {} down", label()) on:click=move |ev| move_step(ev, id, 1, "down")>"↓"</button>
                                    <button type="button" class="icon" aria-label=move || format!("Remove {}", label()) on:click=move |ev| remove(ev, id)>"✕"</button>
                                    {move || invalid().then(|| view! {
                                        <p class="error field-error step-error" id=error_id.clone() data-testid="plan-error">
                                            {format!("Write step {}, or remove it.", position.get() + 1)}
                                        </p>
                                    })}
                                </li>
                            }
                        }
                    </For>
                </ol>
                <button
                    type="button"
                    data-testid="add-step"
                    on:click=move |ev| {
                        let card = card_of(&ev);
                        let id = steps.try_update(StepList::add).unwrap_or_default();
                        focus_later(card, format!("[data-step='{id}'] input"));
                    }
                >
                    "Add step"
                </button>
                {move || matches!(problem(), Some(PlanError::NoSteps)).then(|| view! {
                    <p class="error field-error" id=steps_error_id.clone() data-testid="plan-error">"Add at least one step."</p>
                })}
            </fieldset>
            <div class="actions">
                <button
                    class="primary"
                    data-testid="save-edit"
                    disabled=move || busy.get() || parsed.with(|p| p.is_err())
                    on:click=save
                >
                    "Save and run"
                </button>
                <button type="button" data-testid="cancel-edit" aria-keyshortcuts="Escape" on:click=on_back(mode, "e")>"Cancel"</button>
            </div>
        </div>
    }
}
