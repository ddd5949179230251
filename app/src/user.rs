//! Who is signed in, as the pages know it. The server renders it from the
//! request (and writes it into a `<meta>` of the page's head); the browser
//! reads that tag back, so both render the same. Absent when sign-in is off.

use leptos::prelude::*;
use protocol::{Me, UserRole};

/// The signed-in person; `None` with sign-in off (everyone may do all).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurrentUser(pub Option<Me>);

impl CurrentUser {
    /// Approvers and admins decide.
    pub fn may_decide(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|me| me.role >= UserRole::Approver)
    }
}

/// The name of the `<meta>` that carries the signed-in person to the browser.
pub const META: &str = "hitl-user";

/// The signed-in person of the request being rendered (server) or of the
/// page (browser).
pub fn current_user() -> CurrentUser {
    #[cfg(feature = "ssr")]
    {
        let me =
            use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<Me>().cloned());
        CurrentUser(me)
    }
    #[cfg(not(feature = "ssr"))]
    {
        CurrentUser(from_meta())
    }
}

#[cfg(not(feature = "ssr"))]
fn from_meta() -> Option<Me> {
    #[cfg(feature = "hydrate")]
    {
        let meta = document()
            .query_selector(&format!("meta[name={META}]"))
            .ok()??;
        serde_json::from_str(&meta.get_attribute("content")?).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// Who is signed in, with links to their tokens (and the accounts, for
/// admins) and a sign-out button: plain links and a form, so they work on
/// the server-rendered pages too.
#[component]
pub fn UserMenu(me: Me) -> impl IntoView {
    let admin = me.role == UserRole::Admin;
    view! {
        <nav class="user-menu" aria-label="Account">
            <span class="who" data-testid="signed-in-as">
                {me.name}
                " "
                <span class="badge">{me.role.as_str()}</span>
            </span>
            <a href="/account" rel="external">"Tokens"</a>
            {admin.then(|| view! { <a href="/admin/users" rel="external">"Accounts"</a> })}
            <form method="post" action="/signout">
                <button type="submit" data-testid="sign-out">"Sign out"</button>
            </form>
        </nav>
    }
}
