//! The list of threads and the button that starts a new one.

use leptos::prelude::*;
use leptos_router::components::A;
use protocol::ThreadSummary;

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
    Effect::new(move |_| {
        changed.0.track();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            threads.set(Some(crate::http::list_threads().await));
        });
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
                        {list.into_iter().map(|t| {
                            let title = if t.title.is_empty() { "New thread".to_owned() } else { t.title };
                            view! {
                                <li>
                                    <A href=format!("/threads/{}", t.thread_id)>
                                        <span class="title">{title}</span>
                                        <span class=format!("badge {}", t.status.as_str())>{t.status.as_str()}</span>
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
