//! axum-login's view of the accounts: signing in checks a name and a
//! password, and every request of a signed-in session loads its account
//! again (so a disabled one stops at once).

use std::sync::Arc;

use axum_login::{AuthUser, AuthnBackend, UserId};
use protocol::SignIn;

use super::accounts::{AccountError, Accounts, User};

#[derive(Clone)]
pub struct Backend(pub Arc<Accounts>);

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.account.id.to_string()
    }

    /// A new password (a new hash) ends the sessions made with the old one.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = SignIn;
    type Error = AccountError;

    async fn authenticate(&self, creds: SignIn) -> Result<Option<User>, AccountError> {
        self.0.verify(&creds.name, &creds.password).await
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, AccountError> {
        self.0.user(id).await
    }
}

/// The session of a request, as axum-login gives it.
pub type AuthSession = axum_login::AuthSession<Backend>;
