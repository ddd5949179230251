//! Pages the server renders whole and the browser never hydrates: signing
//! in, the first admin's setup, one's API tokens, the accounts (admins), a
//! thread's audit log and the agent's tool servers. Plain HTML forms that work without WebAssembly,
//! and none of their code is in the browser's module, whose size has a
//! budget (BENCHMARKS.md). Compiled for the server only.

mod account;
mod audit;
mod sign_in;
mod tools;

use leptos::prelude::*;
use protocol::Me;

pub use account::{AccountPage, UsersPage};
pub use audit::{AuditEntry, AuditPage};
pub use sign_in::{SetupPage, SignInPage};
pub use tools::ToolsPage;

/// A whole page: `title`, the top bar for `me` (if signed in), `body`.
pub fn document(title: &str, me: Option<&Me>, body: impl IntoView + 'static) -> String {
    let title = format!("{title} · Research console");
    let me = me.cloned();
    let page = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>{title}</title>
                <link rel="stylesheet" href="/pkg/hitl.css"/>
            </head>
            <body>
                <div class="layout plain">
                    <header class="topbar">
                        <a href="/"><span class="brand">"Research console"</span></a>
                        {me.map(|me| view! { <crate::user::UserMenu me/> })}
                    </header>
                    <main class="content">{body}</main>
                </div>
            </body>
        </html>
    };
    let owner = Owner::new();
    owner.with(|| format!("<!DOCTYPE html>{}", page.to_html()))
}

/// A form's error, tied to the form by id.
#[component]
fn FormError(error: Option<String>) -> impl IntoView {
    error.map(|e| {
        view! {
            <p class="error" role="alert" id="form-error" data-testid="form-error">{e}</p>
        }
    })
}
