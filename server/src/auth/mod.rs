//! Who may do what. Sign-in is on by default: accounts and API tokens live
//! in the threads' database, browser sessions in tower-sessions (through
//! axum-login), passwords are Argon2id. Every request is resolved to a
//! [`Principal`] once (`http::identify`); permissions are methods of it.
//!
//! - `accounts`: users and tokens in storage.
//! - `backend`, `sessions`: axum-login's backend and the session store.
//! - `cache`: recently checked accounts and tokens.
//! - `live`: open sockets by credential, closed when it is revoked.
//! - `limits`: sign-in failures per name and per address.
//! - `origin`: the cross-site check of upgrades and writes.
//! - `principal`: who is asking, and what their role allows.
//! - `http`: the middleware, and the pages' redirect to sign-in.

mod accounts;
mod backend;
mod cache;
pub mod http;
mod limits;
mod live;
mod origin;
mod principal;
mod sessions;

use std::sync::{Arc, Mutex};

use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sqlx::AnyPool;
use subtle::ConstantTimeEq;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use accounts::{AccountError, Accounts, User, TOKEN_PREFIX};
pub use backend::{AuthSession, Backend};
pub use limits::SignInLimits;
pub use live::{LiveConnections, Registration, Revoked};
pub use origin::OriginPolicy;
pub use principal::{Account, Credential, Principal};
pub use sessions::Sessions;

use crate::metrics::Metrics;
use crate::settings;
use crate::store::{Backend as Database, StoreError};

/// Everything sign-in needs, shared by every request.
pub struct AuthState {
    /// `false`: `HITL_AUTH=off`, every request is the local user.
    pub enabled: bool,
    pub accounts: Arc<Accounts>,
    pub live: Arc<LiveConnections>,
    pub limits: SignInLimits,
    pub origins: OriginPolicy,
    sessions: Sessions,
    settings: settings::Auth,
    /// The one-time token of the setup link, while no account exists.
    setup: Mutex<Option<String>>,
    pub metrics: Arc<Metrics>,
}

impl AuthState {
    /// Opens accounts and sessions in `pool`'s database, and makes sure
    /// there is a way in: the bootstrap admin, or a setup token.
    pub async fn open(
        settings: &settings::Auth,
        pool: AnyPool,
        database: Database,
        server_id: &str,
        metrics: &Arc<Metrics>,
    ) -> Result<Arc<Self>, StoreError> {
        let sessions = Sessions::new(pool.clone());
        let accounts = Accounts::new(pool, database, server_id.to_owned());
        let state = Arc::new(Self {
            enabled: settings.enabled,
            accounts,
            live: Arc::default(),
            limits: SignInLimits::default(),
            origins: OriginPolicy::new(
                settings.public_url.as_deref(),
                &settings.allowed_origins,
                settings.enabled,
            ),
            sessions,
            settings: settings.clone(),
            setup: Mutex::new(None),
            metrics: metrics.clone(),
        });
        if settings.enabled {
            state.first_account().await?;
        }
        Ok(state)
    }

    /// With no account yet: the bootstrap admin if one is configured, else
    /// a setup token for the link printed at start.
    async fn first_account(&self) -> Result<(), StoreError> {
        let count = self.accounts.count().await.map_err(into_store)?;
        if count > 0 {
            if self.settings.bootstrap_admin.is_some() {
                tracing::info!("accounts exist; HITL_BOOTSTRAP_ADMIN is not used");
            }
            return Ok(());
        }
        if let Some((name, password)) = &self.settings.bootstrap_admin {
            match self
                .accounts
                .create_first_admin(name, password.expose())
                .await
            {
                Ok(Some(_)) => tracing::info!(%name, "bootstrap admin created"),
                Ok(None) => {} // Another server made the first account.
                Err(AccountError::Storage(e)) => return Err(e),
                Err(e) => tracing::error!(error = %e, "bootstrap admin not created"),
            }
            return Ok(());
        }
        let mut token = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut token);
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = Some(URL_SAFE_NO_PAD.encode(token));
        Ok(())
    }

    /// The link that creates the first admin, while no account exists.
    pub fn setup_link(&self, base: &str) -> Option<String> {
        let setup = self.setup.lock().unwrap_or_else(|e| e.into_inner());
        setup
            .as_ref()
            .map(|token| format!("{base}/setup?token={token}"))
    }

    /// Whether `token` is the setup token (still unused).
    pub fn setup_matches(&self, token: &str) -> bool {
        let setup = self.setup.lock().unwrap_or_else(|e| e.into_inner());
        setup
            .as_ref()
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())))
    }

    /// The setup link has been used (or another server made the admin).
    pub fn setup_done(&self) {
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Where people reach this server, for links it prints.
    pub fn public_url(&self) -> Option<&str> {
        self.settings.public_url.as_deref()
    }

    /// Sessions in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` behind
    /// an https public URL), with axum-login on top.
    pub fn layer(&self) -> AuthManagerLayer<Backend, Sessions> {
        let secure = self
            .settings
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let idle = time::Duration::seconds(self.settings.session_idle.as_secs() as i64);
        let sessions = SessionManagerLayer::new(self.sessions.clone())
            .with_name(self.settings.cookie_name.clone())
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(secure)
            .with_expiry(Expiry::OnInactivity(idle));
        AuthManagerLayerBuilder::new(Backend(self.accounts.clone()), sessions).build()
    }

    /// Revokes here (closing sockets, forgetting cached credentials) and
    /// tells the other servers.
    pub async fn revoke(&self, revoked: Revoked) -> Result<(), AccountError> {
        let closed = self.live.revoke(&revoked);
        tracing::info!(?revoked, closed, "credentials revoked");
        self.accounts.announce(revoked).await
    }

    /// Another server revoked something.
    pub fn revoked_elsewhere(&self, revoked: &Revoked) {
        self.accounts.forget(revoked);
        let closed = self.live.revoke(revoked);
        tracing::info!(?revoked, closed, "credentials revoked on another server");
    }

    /// Revocations may have been missed: forget what is cached, and close
    /// every open socket whose credential no longer works.
    pub async fn recheck(&self) {
        self.accounts.forget_all();
        let mut closed = 0;
        for credential in self.live.credentials() {
            match self.accounts.still_valid(&credential).await {
                Ok(true) => {}
                Ok(false) => closed += self.live.revoke(&credential),
                Err(e) => tracing::warn!(error = %e, "credential not checked"),
            }
        }
        tracing::info!(closed, "credentials checked again after lost notices");
    }

    /// Acts on the revocations other servers announce.
    pub fn follow_revocations(
        self: &Arc<Self>,
        mut heard: tokio::sync::broadcast::Receiver<String>,
    ) {
        let auth = Arc::downgrade(self);
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let wire = heard.recv().await;
                let Some(auth) = auth.upgrade() else {
                    return;
                };
                match wire {
                    Ok(wire) if wire == crate::store::RESYNC => auth.recheck().await,
                    Ok(wire) => {
                        if let Some(revoked) = Revoked::from_wire(&wire) {
                            auth.revoked_elsewhere(&revoked);
                        }
                    }
                    // Some were missed: trust nothing cached.
                    Err(RecvError::Lagged(_)) => auth.accounts.forget_all(),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
}

fn into_store(e: AccountError) -> StoreError {
    match e {
        AccountError::Storage(e) => e,
        other => StoreError::Corrupt {
            what: "accounts".into(),
            reason: other.to_string(),
        },
    }
}
