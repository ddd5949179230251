//! The pages rendered whole on the server (`app::pages`): signing in and
//! out, the first admin's setup, one's tokens, the accounts, a thread's
//! audit log, and the agent's tool servers. Forms post here and are
//! answered with a redirect, or with the page again and what went wrong.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use leptos::prelude::*;
use protocol::{Me, SignIn, UserChange, UserRole};
use serde::Deserialize;

use crate::api::session::{sign_in_with, sign_out_with, SignInError};
use crate::api::threads::visible;
use crate::api::ApiError;
use crate::auth::http::{safe_next, Caller};
use crate::auth::{AccountError, AuthSession, Principal};
use crate::receipts;
use crate::startup::AppState;
use app::pages::{
    document, AccountPage, AuditEntry, AuditPage, SetupPage, SignInPage, ToolsPage, UsersPage,
};

fn page(
    status: StatusCode,
    title: &str,
    me: Option<&Me>,
    body: impl IntoView + 'static,
) -> Response {
    (status, Html(document(title, me, body))).into_response()
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `GET /signin`: the form, or straight on if already signed in.
pub async fn sign_in(session: AuthSession, Query(query): Query<Next>) -> Response {
    let next = safe_next(query.next.as_deref()).to_owned();
    if session.user.is_some() {
        return Redirect::to(&next).into_response();
    }
    sign_in_page(StatusCode::OK, next, String::new(), None)
}

fn sign_in_page(status: StatusCode, next: String, name: String, error: Option<String>) -> Response {
    page(
        status,
        "Sign in",
        None,
        view! { <SignInPage next name error/> },
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// `POST /signin`: on to where the person was going, or the form again.
pub async fn sign_in_form(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    mut session: AuthSession,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_owned();
    let creds = SignIn {
        name: form.name.clone(),
        password: form.password,
    };
    let (status, error) = match sign_in_with(&state, &mut session, address, creds).await {
        Ok(_) => return Redirect::to(&next).into_response(),
        Err(e @ SignInError::TooSoon(_)) => (StatusCode::TOO_MANY_REQUESTS, ApiError::from(e)),
        Err(e @ SignInError::Invalid) => (StatusCode::UNAUTHORIZED, ApiError::from(e)),
        Err(SignInError::Failed(e)) => (e.0, e),
    };
    sign_in_page(status, next, form.name, Some(capitalized(&error.1.error)))
}

/// `POST /signout`.
pub async fn sign_out(State(state): State<AppState>, mut session: AuthSession) -> Response {
    match sign_out_with(&state, &mut session).await {
        Ok(()) => Redirect::to("/signin").into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct Token {
    token: Option<String>,
}

/// `GET /setup?token=…`: the form that creates the first admin.
pub async fn setup(State(state): State<AppState>, Query(query): Query<Token>) -> Response {
    let token = query.token.unwrap_or_default();
    if !state.auth.setup_matches(&token) {
        return setup_gone();
    }
    page(
        StatusCode::OK,
        "Set up",
        None,
        view! { <SetupPage token error=None/> },
    )
}

fn setup_gone() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Set up",
        None,
        view! {
            <h1>"This setup link is not valid"</h1>
            <p>"An admin exists already (or the link was mistyped): "<a href="/signin">"sign in"</a>"."</p>
        },
    )
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    name: String,
    password: String,
    confirm: String,
}

/// `POST /setup`: creates the first admin and signs them in.
pub async fn setup_form(
    State(state): State<AppState>,
    mut session: AuthSession,
    Form(form): Form<SetupForm>,
) -> Response {
    if !state.auth.setup_matches(&form.token) {
        return setup_gone();
    }
    let again = |error: String| {
        let token = form.token.clone();
        page(
            StatusCode::BAD_REQUEST,
            "Set up",
            None,
            view! { <SetupPage token error=Some(error)/> },
        )
    };
    if form.password != form.confirm {
        return again("The two passwords differ.".into());
    }
    match state
        .auth
        .accounts
        .create_first_admin(&form.name, &form.password)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            state.auth.setup_done();
            return setup_gone();
        }
        Err(AccountError::Invalid(why)) => return again(capitalized(&why)),
        Err(e) => return ApiError::from(e).into_response(),
    }
    state.auth.setup_done();
    let creds = SignIn {
        name: form.name,
        password: form.password,
    };
    match session.authenticate(creds).await {
        Ok(Some(user)) => {
            if let Err(e) = session.login(&user).await {
                tracing::error!(error = %e, "first admin not signed in");
            }
            Redirect::to("/").into_response()
        }
        _ => Redirect::to("/signin").into_response(),
    }
}

/// `GET /account`: the caller's tokens.
pub async fn account(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    account_page(&state, &caller, None, None).await
}

async fn account_page(
    state: &AppState,
    caller: &Principal,
    created: Option<protocol::TokenCreated>,
    error: Option<String>,
) -> Response {
    let Some(me) = caller.me() else {
        return no_accounts();
    };
    let tokens = match state.auth.accounts.tokens(&me.user_id).await {
        Ok(tokens) => tokens,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    page(
        status,
        "API tokens",
        Some(&me),
        view! { <AccountPage tokens created error/> },
    )
}

fn no_accounts() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Accounts",
        None,
        view! { <h1>"Sign-in is off on this server"</h1><p>"There are no accounts or tokens."</p> },
    )
}

#[derive(Deserialize)]
pub struct NameForm {
    name: String,
}

/// `POST /account/tokens`: makes a token and shows it once.
pub async fn create_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Form(form): Form<NameForm>,
) -> Response {
    let Some(account) = caller.account.as_ref() else {
        return no_accounts();
    };
    match state.auth.accounts.create_token(account, &form.name).await {
        Ok(created) => account_page(&state, &caller, Some(created), None).await,
        Err(AccountError::Invalid(why)) => {
            account_page(&state, &caller, None, Some(capitalized(&why))).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `POST /account/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(token_id): Path<String>,
) -> Response {
    let Some(account) = caller.account.as_ref() else {
        return no_accounts();
    };
    if let Err(e) = state
        .auth
        .accounts
        .revoke_token(&token_id, Some(&account.id))
        .await
    {
        return ApiError::from(e).into_response();
    }
    state
        .auth
        .live
        .revoke(&crate::auth::Revoked::Token(token_id));
    Redirect::to("/account").into_response()
}

/// `GET /admin/users`.
pub async fn users(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    users_page(&state, &caller, None).await
}

async fn users_page(state: &AppState, caller: &Principal, error: Option<String>) -> Response {
    let Some(me) = caller.me() else {
        return no_accounts();
    };
    if !caller.is_admin() {
        return page(
            StatusCode::FORBIDDEN,
            "Accounts",
            Some(&me),
            view! { <h1>"Accounts"</h1><p class="error">"Only admins manage accounts."</p> },
        );
    }
    let users = match state.auth.accounts.list().await {
        Ok(users) => users,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    page(
        status,
        "Accounts",
        Some(&me),
        view! { <UsersPage users error/> },
    )
}

#[derive(Deserialize)]
pub struct NewUserForm {
    name: String,
    password: String,
    role: String,
}

/// `POST /admin/users`.
pub async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Form(form): Form<NewUserForm>,
) -> Response {
    if !caller.is_admin() {
        return users_page(&state, &caller, None).await;
    }
    let Some(role) = UserRole::parse(&form.role) else {
        return users_page(
            &state,
            &caller,
            Some(format!("Unknown role {:?}.", form.role)),
        )
        .await;
    };
    match state
        .auth
        .accounts
        .create(&form.name, &form.password, role)
        .await
    {
        Ok(_) => Redirect::to("/admin/users").into_response(),
        Err(e @ (AccountError::Invalid(_) | AccountError::NameTaken(_))) => {
            users_page(&state, &caller, Some(capitalized(&e.to_string()))).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    role: String,
    /// A checkbox: present when ticked.
    enabled: Option<String>,
}

/// `POST /admin/users/{id}`: role and enabled, as the row's form has them.
pub async fn change_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(user_id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    if !caller.is_admin() {
        return users_page(&state, &caller, None).await;
    }
    let Some(role) = UserRole::parse(&form.role) else {
        return users_page(
            &state,
            &caller,
            Some(format!("Unknown role {:?}.", form.role)),
        )
        .await;
    };
    let users = match state.auth.accounts.list().await {
        Ok(users) => users,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(current) = users.iter().find(|u| u.user_id == user_id) else {
        return ApiError::not_found("no such account").into_response();
    };
    let disabled = form.enabled.is_none();
    let change = UserChange {
        role: (current.role != role).then_some(role),
        disabled: (current.disabled != disabled).then_some(disabled),
    };
    if caller.user_id() == Some(user_id.as_str())
        && (change.role.is_some() || change.disabled == Some(true))
    {
        let why = "Admins cannot demote or disable themselves; another admin can.";
        return users_page(&state, &caller, Some(why.into())).await;
    }
    if change == UserChange::default() {
        return Redirect::to("/admin/users").into_response();
    }
    match state.auth.accounts.change(&user_id, &change).await {
        Ok(_) => {
            state.auth.live.revoke(&crate::auth::Revoked::User(user_id));
            Redirect::to("/admin/users").into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /threads/{id}/audit`: the decisions, each receipt checked against
/// the keys the servers published.
pub async fn audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(thread_id): Path<String>,
) -> Response {
    if let Err(e) = visible(&state, &caller, &thread_id).await {
        return e.into_response();
    }
    let Some(store) = state.runtime.store() else {
        let me = caller.me();
        return page(
            StatusCode::OK,
            "Audit log",
            me.as_ref(),
            view! { <AuditPage thread_id entries=vec![]/> },
        );
    };
    let loaded = async {
        store.flush().await?;
        Ok::<_, crate::store::StoreError>((
            store.decisions(&thread_id).await?,
            store.receipt_keys().await?,
        ))
    };
    let (records, keys) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let entries = records
        .into_iter()
        .map(|record| {
            let verified = match &record.receipt {
                None => Err("no receipt".to_owned()),
                Some(receipt) => keys
                    .iter()
                    .find(|(kid, _)| *kid == receipt.payload.kid)
                    .ok_or_else(|| "signed with an unknown key".to_owned())
                    .and_then(|(kid, x)| {
                        let key = protocol::Jwk {
                            kty: "OKP".into(),
                            crv: "Ed25519".into(),
                            x: x.clone(),
                            kid: kid.clone(),
                        };
                        receipts::verify(receipt, &key)
                            .map(|()| kid.clone())
                            .map_err(|e| e.to_string())
                    }),
            };
            AuditEntry { record, verified }
        })
        .collect();
    let me = caller.me();
    page(
        StatusCode::OK,
        "Audit log",
        me.as_ref(),
        view! { <AuditPage thread_id entries/> },
    )
}

/// `GET /tools`: the agent's tool servers, a server that did not start
/// among them.
pub async fn tools(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let servers = state.runtime.agent().tool_servers();
    let me = caller.me();
    page(
        StatusCode::OK,
        "Tools",
        me.as_ref(),
        view! { <ToolsPage servers/> },
    )
}

/// Errors read as sentences on a page.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
