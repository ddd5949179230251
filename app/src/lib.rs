//! The HITL console's pages and components, rendered on the server and
//! hydrated in the browser.
//!
//! # Layout
//!
//! - [`thread_page`]: one thread: conversation, approval, message box.
//! - [`approval`]: the approval component and the outcome card.
//! - [`gallery`]: `/gallery`, every state of the approval component.
//! - [`threads`]: the thread list and the "New thread" button.
//! - [`model`]: the conversation as data, rebuilt from server events.
//! - [`link`]: the browser's WebSocket, reconnecting with backoff.
//! - [`time`]: protocol timestamps and the countdown.
//! - [`user`]: who is signed in, and the account menu.
//! - [`pages`] (server only): sign-in, setup, tokens, accounts and the
//!   audit log, rendered whole and never hydrated.
//!
//! Architecture invariant: nothing renders differently on the server and in
//! the browser; browser-only work (sockets, timers, fetches) happens in
//! effects, which never run on the server.

#![recursion_limit = "256"]

pub mod approval;
pub mod gallery;
#[cfg(feature = "hydrate")]
mod http;
pub mod link;
pub mod model;
#[cfg(feature = "ssr")]
pub mod pages;
pub mod thread_page;
pub mod threads;
pub mod time;
pub mod user;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};

use crate::gallery::Gallery;
use crate::thread_page::ThreadPage;
use crate::threads::{NewThreadButton, ThreadList, ThreadsChanged};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The browser reads the signed-in person back from here (`user`).
    let me = user::current_user()
        .0
        .map(|me| serde_json::to_string(&me).unwrap_or_default());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                {me.map(|me| view! { <meta name=user::META content=me/> })}
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(ThreadsChanged(RwSignal::new(0)));
    let current = user::current_user();
    let me = current.0.clone();
    provide_context(current);
    view! {
        <Stylesheet id="leptos" href="/pkg/hitl.css"/>
        <Title text="Research console"/>
        <Router>
            <div class="layout">
                <header class="topbar">
                    <A href="/">
                        <span class="brand">"Research console"</span>
                    </A>
                    <A href="/gallery">"Gallery"</A>
                    // Rendered by the server alone: not a route of the app.
                    <a href="/tools" rel="external">"Tools"</a>
                    {me.map(|me| view! { <user::UserMenu me/> })}
                </header>
                <aside class="sidebar">
                    <ThreadList/>
                </aside>
                <main class="content">
                    <Routes fallback=|| view! { <p>"Page not found."</p> }>
                        <Route path=path!("") view=HomePage/>
                        <Route path=path!("/threads/:id") view=ThreadPage/>
                        <Route path=path!("/gallery") view=Gallery/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    view! {
        <div class="home">
            <h1>"Research console"</h1>
            <p>
                "Chat with the research agent. Before it creates a research plan it asks you: "
                "approve the plan, edit it, or reject it."
            </p>
            <NewThreadButton/>
        </div>
    }
}
