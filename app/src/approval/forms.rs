//! The card's editors: the plan editor, the form for any tool's arguments,
//! and the answer a person gives in a tool's place. Their code is a
//! WebAssembly chunk of its own, fetched the first time one opens: most
//! decisions need no editor, and the module every page loads has a size
//! budget (README).

use leptos::prelude::*;
use protocol::Decision;

use super::editor::PlanEditor;
use super::focus::{on_back, on_escape};
use super::schema_form::{schema_form, FormInput};
use super::CardMode;

/// Which editor to draw.
pub(super) enum Editor {
    Plan {
        topic: String,
        steps: Vec<String>,
        name: String,
        key: String,
        draft: Option<String>,
    },
    Args(FormInput),
    Respond {
        reply: String,
    },
}

/// What every editor reports to.
pub(super) struct Shared {
    pub mode: RwSignal<CardMode>,
    pub busy: Signal<bool>,
    pub on_choose: Callback<Decision>,
}

/// The editor, from its chunk. Split by hand rather than with `#[lazy]`
/// for `fallible`: a chunk that fails to load (a network error, or a page
/// older than the server's build) is an `Err` to show, where `#[lazy]`
/// would panic, and a panic aborts the whole WebAssembly module.
#[cfg(feature = "hydrate")]
#[leptos::wasm_split::wasm_split(editor, wasm_split_path = ::leptos::wasm_split, fallible)]
pub(super) fn editor(editor: Editor, with: Shared) -> Result<AnyView, LoadError> {
    Ok(draw(editor, with))
}

/// On the server the card draws no editor until the browser has its code.
#[cfg(not(feature = "hydrate"))]
pub(super) async fn editor(editor: Editor, with: Shared) -> Result<AnyView, LoadError> {
    Ok(draw(editor, with))
}

/// The editors' chunk did not load.
#[derive(Debug)]
pub(super) struct LoadError;

#[cfg(feature = "hydrate")]
impl From<leptos::wasm_split::SplitLoaderError> for LoadError {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        LoadError
    }
}

fn draw(editor: Editor, with: Shared) -> AnyView {
    match editor {
        Editor::Plan {
            topic,
            steps,
            name,
            key,
            draft,
        } => {
            let Shared {
                mode,
                busy,
                on_choose,
            } = with;
            view! { <PlanEditor topic steps mode busy on_choose name key draft/> }.into_any()
        }
        Editor::Args(input) => schema_form(input, with),
        Editor::Respond { reply } => respond_form(reply, with),
    }
}

fn respond_form(reply: String, with: Shared) -> AnyView {
    let Shared {
        mode,
        busy,
        on_choose,
    } = with;
    let reply = RwSignal::new(reply);
    view! {
        <div class="reject-form" on:keydown=on_escape(mode, "n")>
            <label class="field">
                <span>"Your answer, given to the agent as the tool's result"</span>
                <textarea
                    data-testid="respond-text"
                    prop:value=move || reply.get()
                    on:input=move |ev| reply.set(event_target_value(&ev))
                ></textarea>
            </label>
            <div class="actions">
                <button
                    class="primary"
                    data-testid="confirm-respond"
                    disabled=move || busy.get() || reply.with(|r| r.trim().is_empty())
                    on:click=move |_| on_choose.run(Decision::Respond { message: reply.get().trim().to_owned() })
                >
                    "Send answer"
                </button>
                <button type="button" aria-keyshortcuts="Escape" on:click=on_back(mode, "n")>"Back"</button>
            </div>
        </div>
    }
    .into_any()
}
