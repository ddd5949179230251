//! API tokens (each person their own) and accounts (admins).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use protocol::{NewToken, NewUser, TokenCreated, TokenSummary, UserChange, UserSummary};

use super::ApiError;
use crate::auth::http::Caller;
use crate::auth::{Account, Principal};
use crate::startup::AppState;

fn account(caller: &Principal) -> Result<&Account, ApiError> {
    caller
        .account
        .as_ref()
        .ok_or_else(|| ApiError::invalid("sign-in is off on this server: there are no accounts"))
}

fn admin(caller: &Principal) -> Result<&Account, ApiError> {
    let account = account(caller)?;
    match caller.is_admin() {
        true => Ok(account),
        false => Err(ApiError::forbidden("only admins manage accounts")),
    }
}

/// `POST /api/tokens`: a token for a program; its secret is shown once.
pub async fn create_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(new): Json<NewToken>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let account = account(&caller)?;
    let created = state.auth.accounts.create_token(account, &new.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/tokens`: the caller's tokens.
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<TokenSummary>>, ApiError> {
    let account = account(&caller)?;
    Ok(Json(state.auth.accounts.tokens(&account.id).await?))
}

/// `DELETE /api/tokens/{token_id}`: one's own, or any for admins. Sockets
/// opened with it close at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(token_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let account = account(&caller)?;
    let owner = (!caller.is_admin()).then_some(&*account.id);
    state.auth.accounts.revoke_token(&token_id, owner).await?;
    state
        .auth
        .live
        .revoke(&crate::auth::Revoked::Token(token_id));
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/users` (admins).
pub async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(new): Json<NewUser>,
) -> Result<(StatusCode, Json<UserSummary>), ApiError> {
    admin(&caller)?;
    let user = state
        .auth
        .accounts
        .create(&new.name, &new.password, new.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// `GET /api/users` (admins).
pub async fn list_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<UserSummary>>, ApiError> {
    admin(&caller)?;
    Ok(Json(state.auth.accounts.list().await?))
}

/// `PATCH /api/users/{user_id}` (admins): role, disabled. The account's
/// sockets close at once; it signs in again.
pub async fn change_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(user_id): Path<String>,
    Json(change): Json<UserChange>,
) -> Result<Json<UserSummary>, ApiError> {
    let me = admin(&caller)?;
    if *me.id == *user_id && (change.role.is_some() || change.disabled == Some(true)) {
        return Err(ApiError::invalid(
            "admins cannot demote or disable themselves; another admin can",
        ));
    }
    let user = state.auth.accounts.change(&user_id, &change).await?;
    if change.role.is_some() || change.disabled == Some(true) {
        state.auth.live.revoke(&crate::auth::Revoked::User(user_id));
    }
    Ok(Json(user))
}
