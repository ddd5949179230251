//! One's API tokens, and (for admins) the accounts.

use leptos::prelude::*;
use protocol::{TokenCreated, TokenSummary, UserRole, UserSummary};

use super::FormError;

#[component]
pub fn AccountPage(
    tokens: Vec<TokenSummary>,
    /// A token made just now: its secret, shown this once.
    created: Option<TokenCreated>,
    error: Option<String>,
) -> impl IntoView {
    view! {
        <section aria-labelledby="tokens-title">
            <h1 id="tokens-title">"API tokens"</h1>
            <p class="muted">
                "A token lets a program act as you: send it as "
                <code>"Authorization: Bearer <token>"</code>
                " on any endpoint and on the WebSocket. Only a hash is kept, so a token is shown once."
            </p>
            {created.map(|c| view! {
                <div class="notice" role="status" data-testid="new-token">
                    <p>"Token “" {c.name} "” created. Copy it now; it will not be shown again:"</p>
                    <code class="secret">{c.token}</code>
                </div>
            })}
            <FormError error/>
            <form method="post" action="/account/tokens" class="inline-form">
                <div class="field">
                    <label for="token-name">"Name of the program that will use it"</label>
                    <input id="token-name" name="name" required maxlength="64"/>
                </div>
                <button class="primary" type="submit">"Create a token"</button>
            </form>
            <table class="list" data-testid="tokens">
                <caption class="sr-only">"Your tokens"</caption>
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Created"</th><th scope="col">"State"</th></tr></thead>
                <tbody>
                    {tokens.into_iter().map(|t| {
                        let revoke = format!("/account/tokens/{}/revoke", t.token_id);
                        let label = format!("Revoke {}", t.name);
                        view! {
                            <tr>
                                <td>{t.name.clone()}</td>
                                <td><time>{t.created_at}</time></td>
                                <td>{match t.revoked_at {
                                    Some(at) => view! { <span class="muted">"revoked " {at}</span> }.into_any(),
                                    None => view! {
                                        <form method="post" action=revoke>
                                            <button class="danger" type="submit" aria-label=label>"Revoke"</button>
                                        </form>
                                    }.into_any(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
pub fn UsersPage(users: Vec<UserSummary>, error: Option<String>) -> impl IntoView {
    view! {
        <section aria-labelledby="users-title">
            <h1 id="users-title">"Accounts"</h1>
            <p class="muted">
                "Viewers read their own threads; requesters also start runs on them; approvers "
                "see every thread and decide; admins also manage accounts. A change of role or a "
                "disabled account closes that person's open connections at once."
            </p>
            <FormError error/>
            <table class="list" data-testid="users">
                <caption class="sr-only">"Accounts"</caption>
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Role"</th><th scope="col">"Enabled"</th><th scope="col"></th></tr></thead>
                <tbody>
                    {users.into_iter().map(|u| {
                        let action = format!("/admin/users/{}", u.user_id);
                        let role_id = format!("role-{}", u.user_id);
                        let enabled_id = format!("enabled-{}", u.user_id);
                        view! {
                            <tr>
                                <td>{u.name.clone()}</td>
                                <td>
                                    <label class="sr-only" for=role_id.clone()>{format!("Role of {}", u.name)}</label>
                                    <select id=role_id name="role" form=action.clone()>
                                        <RoleOptions selected=u.role/>
                                    </select>
                                </td>
                                <td>
                                    <label class="sr-only" for=enabled_id.clone()>{format!("{} is enabled", u.name)}</label>
                                    <input id=enabled_id type="checkbox" name="enabled" value="1"
                                        checked=!u.disabled form=action.clone()/>
                                </td>
                                <td><form method="post" action=action.clone() id=action>
                                    <button type="submit">"Save"</button>
                                </form></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h2>"Add an account"</h2>
            <form method="post" action="/admin/users" class="inline-form" data-testid="new-user">
                <div class="field">
                    <label for="new-name">"Name"</label>
                    <input id="new-name" name="name" required maxlength="64"/>
                </div>
                <div class="field">
                    <label for="new-password">"Password (at least 8 characters)"</label>
                    <input id="new-password" name="password" type="password" minlength="8" required autocomplete="new-password"/>
                </div>
                <div class="field">
                    <label for="new-role">"Role"</label>
                    <select id="new-role" name="role"><RoleOptions selected=UserRole::Requester/></select>
                </div>
                <button class="primary" type="submit">"Add"</button>
            </form>
        </section>
    }
}

#[component]
fn RoleOptions(selected: UserRole) -> impl IntoView {
    UserRole::ALL
        .into_iter()
        .map(|role| {
            view! { <option value=role.as_str() selected=role == selected>{role.as_str()}</option> }
        })
        .collect_view()
}
