//! The list of threads and the button that starts a new one.

use leptos::prelude::*;
use leptos_router::components::A;
use protocol::{ThreadStatus, ThreadSummary};

/// Bumped whenever a thread changes, so the list reloads.
#[derive(Clone, Copy)]
pub struct ThreadsChanged(pub RwSignal<u32>);

impl ThreadsChanged {
    pub fn notify(self) {
        self.0.update(|n| *n += 1);
    }
}

#[component]
pub fn ThreadList() -> impl IntoView {
    let changed = expect_context::<ThreadsChanged>();
    // A signal filled by an effect, not a LocalResource: the resource's
    // machinery costs 7.7 KiB of the WebAssembly's 250 KiB budget (measured
    // with scripts/wasm-size.sh: 240.5 against 248.2 KiB brotli).
    let threads: RwSignal<Option<Result<Vec<ThreadSummary>, String>>> = RwSignal::new(None);
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        changed.0.track();
        // The gallery's screenshots show fixtures, never the database.
        if location.pathname.get() == "/gallery" {
            threads.set(Some(Ok(crate::gallery::threads())));
        } else {
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                threads.set(Some(crate::http::list_threads().await));
            });
        }
    });
    view! {
        <nav class="thread-list" aria-label="Threads">
            <NewThreadButton/>
            {move || match threads.get() {
                None => view! { <p class="muted">"Loading threads…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No threads yet."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul data-testid="thread-list">
                        {waiting_first(list).into_iter().map(|t| {
                            let title = if t.title.is_empty() { "New thread".to_owned() } else { t.title };
                            let (class, badge) = badge(t.status, t.expires_at.as_deref());
                            let tooltip = title.clone();
                            view! {
                                <li>
                                    <A href=format!("/threads/{}", t.thread_id)>
                                        <span class="title" title=tooltip>{title}</span>
                                        <span class=format!("badge {class}") data-testid="thread-status">{badge}</span>
                                    </A>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </nav>
    }
}

/// Threads waiting for a decision first, the soonest to expire first; the
/// rest as the server sorts them (latest change first).
fn waiting_first(list: Vec<ThreadSummary>) -> Vec<ThreadSummary> {
    // Insertion, not `sort_by`: the lists are short, and the standard sort
    // cost 3 KiB of the WebAssembly's budget.
    let mut waiting: Vec<ThreadSummary> = Vec::new();
    let mut rest = Vec::new();
    for thread in list {
        match &thread.expires_at {
            Some(at) => {
                let later = waiting
                    .iter()
                    .position(|w| w.expires_at.as_ref() > Some(at));
                waiting.insert(later.unwrap_or(waiting.len()), thread);
            }
            None => rest.push(thread),
        }
    }
    waiting.extend(rest);
    waiting
}

/// What a thread's badge says, in words.
fn badge(status: ThreadStatus, expires_at: Option<&str>) -> (&'static str, String) {
    match (status, expires_at) {
        (ThreadStatus::Interrupted, Some(at)) => (
            "waiting",
            format!("Needs approval by {}", crate::time::clock_time(at)),
        ),
        (ThreadStatus::Interrupted, None) => ("waiting", "Needs approval".into()),
        (ThreadStatus::Running, _) => ("running", "Working".into()),
        (ThreadStatus::Idle, _) => ("idle", "Done".into()),
    }
}

#[component]
pub fn NewThreadButton() -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let create = move |_| {
        busy.set(true);
        #[cfg(feature = "hydrate")]
        {
            let navigate = leptos_router::hooks::use_navigate();
            let changed = expect_context::<ThreadsChanged>();
            leptos::task::spawn_local(async move {
                match crate::http::create_thread().await {
                    Ok(id) => {
                        error.set(None);
                        changed.notify();
                        navigate(&format!("/threads/{id}"), Default::default());
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        }
    };
    view! {
        <button class="primary new-thread" data-testid="new-thread" disabled=move || busy.get() on:click=create>
            "New thread"
        </button>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(id: &str, status: ThreadStatus, expires_at: Option<&str>) -> ThreadSummary {
        ThreadSummary {
            thread_id: id.into(),
            title: id.into(),
            status,
            updated_at: "2026-12-07T10:00:00Z".into(),
            expires_at: expires_at.map(Into::into),
        }
    }

    #[test]
    fn waiting_threads_come_first_soonest_deadline_first() {
        let list = vec![
            thread("new", ThreadStatus::Idle, None),
            thread(
                "late",
                ThreadStatus::Interrupted,
                Some("2026-12-07T10:09:00Z"),
            ),
            thread("busy", ThreadStatus::Running, None),
            thread(
                "soon",
                ThreadStatus::Interrupted,
                Some("2026-12-07T10:04:00Z"),
            ),
        ];
        let ids: Vec<_> = waiting_first(list)
            .into_iter()
            .map(|t| t.thread_id)
            .collect();
        assert_eq!(ids, ["soon", "late", "new", "busy"]);
        let (_, text) = badge(ThreadStatus::Interrupted, Some("2026-12-07T10:04:00Z"));
        assert_eq!(text, "Needs approval by 10:04");
    }
}
