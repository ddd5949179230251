//! Accounts and API tokens, in the same database as the threads.
//! Passwords are hashed with Argon2id (`password-auth`, off the async
//! threads); tokens are random and only their SHA-256 is kept.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use protocol::{TokenCreated, TokenSummary, UserChange, UserRole, UserSummary};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use super::cache::Cache;
use super::live::Revoked;
use super::principal::Account;
use crate::settings::MIN_PASSWORD;
use crate::store::{from_millis, millis, Backend, StoreError};
use crate::time::rfc3339;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account named {0:?} exists")]
    NameTaken(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

/// An account with what signing in needs.
#[derive(Clone, Debug)]
pub struct User {
    pub account: Account,
    pub disabled: bool,
    /// Also axum-login's session hash: a new password ends old sessions.
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    name: String,
    password_hash: String,
    role: String,
    disabled: i64,
    created_at: i64,
}

impl UserRow {
    fn user(self) -> Result<User, StoreError> {
        let role = UserRole::parse(&self.role).ok_or_else(|| StoreError::Corrupt {
            what: "account role".into(),
            reason: format!("unknown value {:?}", self.role),
        })?;
        Ok(User {
            account: Account {
                id: self.id.into(),
                name: self.name.into(),
                role,
            },
            disabled: self.disabled != 0,
            password_hash: self.password_hash,
        })
    }

    fn summary(self) -> Result<UserSummary, StoreError> {
        let created_at = rfc3339(from_millis(self.created_at));
        let user = self.user()?;
        Ok(UserSummary {
            user_id: user.account.id.to_string(),
            name: user.account.name.to_string(),
            role: user.account.role,
            disabled: user.disabled,
            created_at,
        })
    }
}

const USER_COLUMNS: &str = "id, name, password_hash, role, disabled, created_at";

/// Longest account name.
const MAX_NAME: usize = 64;

pub struct Accounts {
    pool: AnyPool,
    backend: Backend,
    cache: Cache,
    /// This server's id, so it ignores its own revocation notices.
    server_id: String,
}

/// The channel that carries revocations between servers (PostgreSQL).
const REVOCATIONS: &str = crate::store::REVOCATIONS;

impl Accounts {
    pub fn new(pool: AnyPool, backend: Backend, server_id: String) -> Arc<Self> {
        Arc::new(Self {
            pool,
            backend,
            cache: Cache::default(),
            server_id,
        })
    }

    pub async fn count(&self) -> Result<i64, AccountError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// A new account.
    pub async fn create(
        &self,
        name: &str,
        password: &str,
        role: UserRole,
    ) -> Result<UserSummary, AccountError> {
        self.insert(name, password, role, false)
            .await?
            .ok_or_else(|| AccountError::NameTaken(name.trim().to_owned()))
    }

    /// The first admin: created only while no account exists (two servers
    /// starting at once, or two people on the setup page, make one).
    pub async fn create_first_admin(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<UserSummary>, AccountError> {
        self.insert(name, password, UserRole::Admin, true).await
    }

    async fn insert(
        &self,
        name: &str,
        password: &str,
        role: UserRole,
        only_if_none: bool,
    ) -> Result<Option<UserSummary>, AccountError> {
        let name = valid_name(name)?;
        valid_password(password)?;
        let hash = hash_password(password.to_owned()).await;
        let id = crate::runtime::new_id();
        let now = millis(SystemTime::now());
        let condition = match only_if_none {
            true => "WHERE NOT EXISTS (SELECT 1 FROM users)",
            false => "WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(name) = lower($2))",
        };
        let sql = format!(
            "INSERT INTO users (id, name, password_hash, role, disabled, created_at) \
             SELECT $1, $2, $3, $4, 0, $5 {condition}"
        );
        let inserted = sqlx::query(&sql)
            .bind(&id)
            .bind(&name)
            .bind(&hash)
            .bind(role.as_str())
            .bind(now)
            .execute(&self.pool)
            .await;
        match inserted {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => return Ok(None),
            // Two at once: the unique index picks one.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %id, %name, role = role.as_str(), "account created");
        Ok(Some(UserSummary {
            user_id: id,
            name,
            role,
            disabled: false,
            created_at: rfc3339(from_millis(now)),
        }))
    }

    /// The account a name and password sign in as. The same work and the
    /// same answer whether the name or the password is wrong.
    pub async fn verify(&self, name: &str, password: &str) -> Result<Option<User>, AccountError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE lower(name) = lower($1)"
        ))
        .bind(name.trim())
        .fetch_optional(&self.pool)
        .await?;
        let user = row.map(UserRow::user).transpose()?;
        let hash = match &user {
            Some(user) => user.password_hash.clone(),
            None => dummy_hash().await,
        };
        let matches = verify_password(password.to_owned(), hash).await;
        Ok(user.filter(|u| matches && !u.disabled))
    }

    /// An enabled account by id (sessions look it up on every request).
    pub async fn user(&self, id: &str) -> Result<Option<User>, AccountError> {
        if let Some(user) = self.cache.user(id) {
            return Ok(Some(user).filter(|u| !u.disabled));
        }
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(user) = row.map(UserRow::user).transpose()? else {
            return Ok(None);
        };
        self.cache.put_user(user.clone());
        Ok(Some(user).filter(|u| !u.disabled))
    }

    pub async fn list(&self) -> Result<Vec<UserSummary>, AccountError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(UserRow::summary)
            .collect::<Result<_, _>>()?)
    }

    /// Changes an account's role or disables it; what it is now. Its
    /// sessions, tokens and sockets stop at once (it signs in again for a
    /// new role).
    pub async fn change(&self, id: &str, change: &UserChange) -> Result<UserSummary, AccountError> {
        if let Some(role) = change.role {
            sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                .bind(role.as_str())
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        if let Some(disabled) = change.disabled {
            sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                .bind(disabled as i64)
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let summary = row.ok_or(AccountError::NotFound("account"))?.summary()?;
        if change.role.is_some() || change.disabled == Some(true) {
            self.announce(Revoked::User(id.to_owned())).await?;
        } else {
            self.cache.forget(&Revoked::User(id.to_owned()));
        }
        tracing::info!(user_id = id, ?change, "account changed");
        Ok(summary)
    }

    /// A new token for `user`; its secret is in the answer only.
    pub async fn create_token(
        &self,
        user: &Account,
        name: &str,
    ) -> Result<TokenCreated, AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(AccountError::Invalid(format!(
                "a token's name must have 1 to {MAX_NAME} characters"
            )));
        }
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        use base64::Engine;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let id = crate::runtime::new_id();
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(&*user.id)
        .bind(name)
        .bind(token_hash(&token))
        .bind(millis(SystemTime::now()))
        .execute(&self.pool)
        .await?;
        tracing::info!(user_id = %user.id, token_id = %id, "token created");
        Ok(TokenCreated {
            token_id: id,
            name: name.to_owned(),
            token,
        })
    }

    /// `user`'s tokens, newest first.
    pub async fn tokens(&self, user_id: &str) -> Result<Vec<TokenSummary>, AccountError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, created_at, revoked_at FROM api_tokens WHERE user_id = $1 \
             ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(token_id, name, created, revoked)| TokenSummary {
                token_id,
                name,
                created_at: rfc3339(from_millis(created)),
                revoked_at: revoked.map(|at| rfc3339(from_millis(at))),
            })
            .collect())
    }

    /// Revokes one of `user_id`'s tokens (any user's, for `None`: admins).
    pub async fn revoke_token(
        &self,
        token_id: &str,
        user_id: Option<&str>,
    ) -> Result<(), AccountError> {
        let sql = match user_id {
            Some(_) => {
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
                        WHERE id = $2 AND user_id = $3"
            }
            None => "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
        };
        let mut query = sqlx::query(sql)
            .bind(millis(SystemTime::now()))
            .bind(token_id);
        if let Some(user_id) = user_id {
            query = query.bind(user_id);
        }
        let done = query.execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(AccountError::NotFound("token"));
        }
        tracing::info!(token_id, "token revoked");
        self.announce(Revoked::Token(token_id.to_owned())).await?;
        Ok(())
    }

    /// The account and token id a bearer token stands for, if it works.
    pub async fn token(&self, token: &str) -> Result<Option<(User, String)>, AccountError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = token_hash(token);
        if let Some((user_id, token_id)) = self.cache.token(&hash) {
            return Ok(self.user(&user_id).await?.map(|u| (u, token_id)));
        }
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT id, user_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((token_id, user_id)) = row else {
            return Ok(None);
        };
        self.cache
            .put_token(hash, user_id.clone(), token_id.clone());
        Ok(self.user(&user_id).await?.map(|u| (u, token_id)))
    }

    /// Whether a credential still works: a session that exists, a token
    /// not revoked, an account not disabled.
    pub async fn still_valid(&self, credential: &Revoked) -> Result<bool, AccountError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let found: Option<(i64,)> = match credential {
            Revoked::Session(id) => {
                sqlx::query_as("SELECT 1 FROM sessions WHERE id = $1 AND expires_at > $2")
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?
            }
            Revoked::Token(id) => {
                sqlx::query_as(
                    "SELECT 1 FROM api_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.id = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            }
            Revoked::User(id) => {
                sqlx::query_as("SELECT 1 FROM users WHERE id = $1 AND disabled = 0")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        Ok(found.is_some())
    }

    /// Forgets what `revoked` names here and tells the other servers.
    pub async fn announce(&self, revoked: Revoked) -> Result<(), AccountError> {
        self.cache.forget(&revoked);
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(REVOCATIONS)
                .bind(format!("{}\n{}", self.server_id, revoked.to_wire()))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Another server revoked something: forget it here too.
    pub fn forget(&self, revoked: &Revoked) {
        self.cache.forget(revoked);
    }

    /// Forgets every cached account and token (after a lost notice channel).
    pub fn forget_all(&self) {
        self.cache.clear();
    }
}

/// Every token starts so, which tells a token from a session id at a glance
/// (and to secret scanners).
pub const TOKEN_PREFIX: &str = "hitl_";

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn valid_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME
        && !name.chars().any(|c| c.is_control());
    match ok {
        true => Ok(name.to_owned()),
        false => Err(AccountError::Invalid(format!(
            "a name must have 1 to {MAX_NAME} characters, none of them control characters"
        ))),
    }
}

fn valid_password(password: &str) -> Result<(), AccountError> {
    match password.chars().count() >= MIN_PASSWORD && password.len() <= 1024 {
        true => Ok(()),
        false => Err(AccountError::Invalid(format!(
            "a password must have at least {MIN_PASSWORD} characters"
        ))),
    }
}

/// Argon2 takes 19 MiB and tens of milliseconds a hash: off the async
/// threads, and the memory is given back as soon as the hash is done.
async fn argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || {
        let done = work();
        crate::alloc::give_back();
        done
    })
    .await
}

async fn hash_password(password: String) -> String {
    argon2(move || password_auth::generate_hash(password))
        .await
        .expect("hashing does not panic")
}

async fn verify_password(password: String, hash: String) -> bool {
    argon2(move || password_auth::verify_password(password, &hash).is_ok())
        .await
        .unwrap_or(false)
}

/// A hash to check unknown names against, so they take as long as known ones.
async fn dummy_hash() -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return hash.clone();
    }
    let hash = hash_password("not a password of anyone".into()).await;
    DUMMY.get_or_init(|| hash).clone()
}
