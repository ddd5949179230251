//! Keeping focus where the person is. The card's content is replaced on
//! Edit, Reject, Escape and Save, and a moved step's row is moved in the
//! DOM: each takes focus away, and these put it back on purpose.

use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{Element, Event, HtmlElement};

use super::CardMode;

/// The card the event happened in.
pub(super) fn card_of(ev: &Event) -> Option<Element> {
    ev.target()?
        .dyn_into::<Element>()
        .ok()?
        .closest(".card")
        .ok()?
}

/// Focuses what `selector` finds in `card` once the change is drawn.
pub(super) fn focus_later(card: Option<Element>, selector: impl Into<String>) {
    let selector = selector.into();
    request_animation_frame(move || {
        let found = card.and_then(|c| c.query_selector(&selector).ok().flatten());
        if let Some(el) = found.and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
            let _ = el.focus();
        }
    });
}

/// Escape leaves the editor or the reject form unchanged, back on the
/// button that opened it (`data-key` `opener`).
pub(super) fn on_escape(mode: RwSignal<CardMode>, opener: &'static str) -> impl Fn(KeyboardEvent) {
    move |ev| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            close(&ev, mode, opener);
        }
    }
}

/// What a form's Cancel or Back does: the same as Escape.
pub(super) fn on_back(
    mode: RwSignal<CardMode>,
    opener: &'static str,
) -> impl Fn(MouseEvent) + Clone {
    move |ev| close(&ev, mode, opener)
}

fn close(ev: &Event, mode: RwSignal<CardMode>, opener: &'static str) {
    let card = card_of(ev);
    mode.set(CardMode::View);
    focus_later(card, format!("[data-key='{opener}']"));
}

/// One-key choices on a focused card, as terminal approval prompts have:
/// A approves, E edits, R rejects, N answers in the tool's place. Not
/// while typing, nor with a modifier.
/// With one card, anywhere in the panel; with several, in the focused one.
pub(super) fn shortcut(ev: KeyboardEvent) {
    if ev.ctrl_key() || ev.alt_key() || ev.meta_key() || ev.repeat() {
        return;
    }
    let key = ev.key().to_ascii_lowercase();
    if !matches!(key.as_str(), "a" | "e" | "r" | "n") {
        return;
    }
    let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
        return;
    };
    if target
        .closest("input, textarea, select")
        .ok()
        .flatten()
        .is_some()
    {
        return;
    }
    let selector = format!("button[data-key='{key}']:not(:disabled)");
    let button = match target.closest(".card").ok().flatten() {
        Some(card) => card.query_selector(&selector),
        None => target.query_selector(&format!(".cards > .card:only-child {selector}")),
    };
    if let Some(button) = button
        .ok()
        .flatten()
        .and_then(|b| b.dyn_into::<HtmlElement>().ok())
    {
        ev.prevent_default();
        button.click();
    }
}
