//! The plan editor: topic and steps, checked as they are typed by the same
//! parser the server uses.

use leptos::prelude::*;
use protocol::{Decision, EditedAction, ResearchPlan};

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
) -> impl IntoView {
    let topic = RwSignal::new(topic);
    let steps = RwSignal::new(StepList::new(steps));
    let parsed = Memo::new(move |_| ResearchPlan::new(&topic.get(), &steps.with(StepList::texts)));
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
    let move_step = move |id: usize, by: isize| steps.update(|s| s.shift(id, by));
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
                        each=move || steps.with(|s| s.rows().to_vec()).into_iter().enumerate()
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
                                            steps.update(|s| s.set(id, value));
                                        }
                                    />
                                    <button type="button" class="icon" aria-label=format!("Move {label} up") on:click=move |_| move_step(id, -1)>"↑"</button>
                                    <button type="button" class="icon" aria-label=format!("Move {label} down") on:click=move |_| move_step(id, 1)>"↓"</button>
                                    <button
                                        type="button"
                                        class="icon"
                                        aria-label=format!("Remove {label}")
                                        on:click=move |_| steps.update(|s| s.remove(id))
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
                    on:click=move |_| steps.update(|s| {
                        s.add();
                    })
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

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
