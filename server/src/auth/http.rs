//! The requests' side of sign-in: every request is resolved to a
//! [`Principal`] (a bearer token, else the session's account, else nobody),
//! API routes answer 401 without one, pages redirect to the sign-in page,
//! and writes and upgrades from foreign origins are refused.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use protocol::{ErrorBody, ErrorCode};

use super::{AuthSession, AuthState, Credential, Principal};

/// What `identify` found: a principal, or nobody.
#[derive(Clone, Debug)]
pub struct Identity(pub Option<Principal>);

/// Resolves the request's principal and puts it in the request's
/// extensions (with `protocol::Me`, which the pages render).
pub async fn identify(
    State(auth): State<Arc<AuthState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match resolve(&auth, &mut request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    if let Some(me) = principal.as_ref().and_then(Principal::me) {
        request.extensions_mut().insert(me);
    }
    request.extensions_mut().insert(Identity(principal));
    next.run(request).await
}

async fn resolve(auth: &AuthState, request: &mut Request) -> Result<Option<Principal>, Response> {
    if !auth.enabled {
        return Ok(Some(Principal::open()));
    }
    if let Some(token) = bearer(request.headers()) {
        return match auth.accounts.token(token).await {
            Ok(Some((user, token_id))) => Ok(Some(Principal {
                account: Some(user.account),
                credential: Credential::Token(token_id),
            })),
            Ok(None) => Err(unauthenticated(
                "the bearer token is not valid: unknown, revoked, or its account is disabled",
            )),
            Err(e) => {
                tracing::error!(error = %e, "token not checked");
                Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::StorageFailed,
                    "the server could not reach its storage; try again",
                ))
            }
        };
    }
    let Some(session) = request.extensions().get::<AuthSession>() else {
        return Ok(None);
    };
    let (Some(user), Some(id)) = (session.user.as_ref(), session.session.id()) else {
        return Ok(None);
    };
    Ok(Some(Principal {
        account: Some(user.account.clone()),
        credential: Credential::Session(id.to_string()),
    }))
}

fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// API routes: 401 without a principal.
pub async fn require(request: Request, next: Next) -> Response {
    match request.extensions().get::<Identity>() {
        Some(Identity(Some(_))) => next.run(request).await,
        _ => unauthenticated("sign in first: a session cookie or an `Authorization: Bearer` token"),
    }
}

/// Pages: to the sign-in page without a principal, and back after.
pub async fn require_page(request: Request, next: Next) -> Response {
    match request.extensions().get::<Identity>() {
        Some(Identity(Some(_))) => next.run(request).await,
        _ => Redirect::to(&sign_in_link(request.uri())).into_response(),
    }
}

/// `/signin?next=<where the person was going>`.
pub fn sign_in_link(uri: &Uri) -> String {
    let next = uri.path_and_query().map_or("/", |p| p.as_str());
    match next {
        "/" => "/signin".to_owned(),
        next => format!("/signin?next={}", urlencoding::encode(next)),
    }
}

/// A path to go back to after signing in: local paths only, never
/// another site (`//evil.example` included).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next
        }
        _ => "/",
    }
}

/// Writes and upgrades from a foreign page: 403.
pub async fn check_origin(
    State(auth): State<Arc<AuthState>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if super::OriginPolicy::applies(request.method(), headers) && !auth.origins.allows(headers) {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        tracing::warn!(%origin, path = %request.uri().path(), "request from a foreign origin refused");
        return error(
            StatusCode::FORBIDDEN,
            ErrorCode::ForbiddenOrigin,
            format!("requests from pages of {origin} are not allowed here"),
        );
    }
    next.run(request).await
}

fn unauthenticated(why: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, why)
}

fn error(status: StatusCode, code: ErrorCode, why: impl Into<String>) -> Response {
    (status, Json(ErrorBody::new(code, why))).into_response()
}

/// The principal of a request that passed [`require`] or [`require_page`].
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<Identity>() {
            Some(Identity(Some(principal))) => Ok(Caller(principal.clone())),
            _ => Err(unauthenticated("sign in first")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_way_back_after_sign_in_stays_on_this_site() {
        assert_eq!(safe_next(Some("/threads/abc?x=1")), "/threads/abc?x=1");
        assert_eq!(safe_next(Some("//evil.example/x")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        let uri: Uri = "/threads/abc?x=1".parse().unwrap();
        assert_eq!(sign_in_link(&uri), "/signin?next=%2Fthreads%2Fabc%3Fx%3D1");
        assert_eq!(sign_in_link(&"/".parse().unwrap()), "/signin");
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer hitl_abc ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("hitl_abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
