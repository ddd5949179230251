//! Signing in and out, who is signed in, and the receipts' public key.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::{ErrorCode, Jwk, Me, SignIn};

use super::ApiError;
use crate::auth::http::Caller;
use crate::auth::{AuthSession, Revoked};
use crate::metrics::Metrics;
use crate::startup::AppState;

/// Why a sign-in did not happen.
pub enum SignInError {
    /// Too many failures for this name or address: wait this many seconds.
    TooSoon(u64),
    /// The same answer for a wrong name and a wrong password.
    Invalid,
    Failed(ApiError),
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::TooSoon(secs) => ApiError::rate_limited(
                format!("too many failed sign-ins; try again in {secs} s"),
                secs,
            ),
            SignInError::Invalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "the name or the password is wrong",
            ),
            SignInError::Failed(e) => e,
        }
    }
}

/// Checks the name and password (unless too many failed lately) and signs
/// the session in. Used by the API and by the sign-in page.
pub async fn sign_in_with(
    state: &AppState,
    session: &mut AuthSession,
    address: SocketAddr,
    creds: SignIn,
) -> Result<Me, SignInError> {
    let limits = &state.auth.limits;
    let counted = |result| {
        state
            .auth
            .metrics
            .sign_ins
            .get_or_create(&Metrics::kind(result))
            .inc()
    };
    if let Err(wait) = limits.check(&creds.name, address.ip()) {
        counted("refused");
        let limited = &state.auth.metrics.rate_limited;
        limited.get_or_create(&Metrics::kind("sign_in")).inc();
        tracing::warn!(name = %creds.name, %address, "sign-in refused: too many failures");
        return Err(SignInError::TooSoon(wait.as_secs_f64().ceil() as u64));
    }
    let name = creds.name.clone();
    let user = match session.authenticate(creds).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            counted("invalid");
            limits.failed(&name, address.ip());
            tracing::info!(%name, %address, "sign-in failed");
            return Err(SignInError::Invalid);
        }
        Err(e) => return Err(SignInError::Failed(storage(e))),
    };
    counted("signed_in");
    limits.succeeded(&name);
    session
        .login(&user)
        .await
        .map_err(|e| SignInError::Failed(storage(e)))?;
    tracing::info!(user_id = %user.account.id, "signed in");
    Ok(Me {
        user_id: user.account.id.to_string(),
        name: user.account.name.to_string(),
        role: user.account.role,
    })
}

/// Signs the session out and closes its sockets, here and elsewhere.
pub async fn sign_out_with(state: &AppState, session: &mut AuthSession) -> Result<(), ApiError> {
    let id = session.session.id().map(|id| id.to_string());
    session.logout().await.map_err(storage)?;
    if let Some(id) = id {
        state.auth.revoke(Revoked::Session(id)).await?;
    }
    Ok(())
}

fn storage(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "session storage");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::StorageFailed,
        "the server could not reach its storage; try again",
    )
}

/// `POST /api/session`.
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    mut session: AuthSession,
    Json(creds): Json<SignIn>,
) -> Response {
    match sign_in_with(&state, &mut session, address, creds).await {
        Ok(me) => Json(me).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `DELETE /api/session`.
pub async fn sign_out(
    State(state): State<AppState>,
    mut session: AuthSession,
) -> Result<StatusCode, ApiError> {
    sign_out_with(&state, &mut session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/session`: who is signed in.
pub async fn me(Caller(caller): Caller) -> Result<Json<Me>, ApiError> {
    caller
        .me()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("sign-in is off on this server"))
}

/// `GET /api/receipts/key`: this server's public key.
pub async fn receipt_key(State(state): State<AppState>) -> Result<Json<Jwk>, ApiError> {
    let store = state
        .runtime
        .store()
        .ok_or_else(|| ApiError::not_found("a server that keeps nothing signs no receipts"))?;
    Ok(Json(store.signer().jwk().clone()))
}

/// `GET /api/receipts/keys`: every key the servers on this database signed
/// with, as a JWK set.
pub async fn receipt_keys(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(store) = state.runtime.store() else {
        return Ok(Json(serde_json::json!({"keys": []})));
    };
    let keys: Vec<Jwk> = store
        .receipt_keys()
        .await?
        .into_iter()
        .map(|(kid, x)| Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            kid,
        })
        .collect();
    Ok(Json(serde_json::json!({ "keys": keys })))
}
