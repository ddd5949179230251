//! Accounts and tokens checked a moment ago, so a run's two requests (the
//! new thread and the socket) do not each read the database. Revoking
//! forgets at once here and on the other servers (their notice); the short
//! lifetime bounds how stale an entry can be if a notice were lost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::accounts::User;
use super::live::Revoked;

/// How long an entry is trusted.
const FRESH: Duration = Duration::from_secs(10);
/// Entries kept before the oldest go (a cache, not a copy of the table).
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, (User, Instant)>,
    /// Token hash → (user id, token id).
    tokens: HashMap<String, (String, String, Instant)>,
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn user(&self, id: &str) -> Option<User> {
        let inner = self.lock();
        let (user, at) = inner.users.get(id)?;
        (at.elapsed() < FRESH).then(|| user.clone())
    }

    pub fn put_user(&self, user: User) {
        let mut inner = self.lock();
        if inner.users.len() >= CAPACITY {
            inner.users.retain(|_, (_, at)| at.elapsed() < FRESH);
            if inner.users.len() >= CAPACITY {
                inner.users.clear();
            }
        }
        inner
            .users
            .insert(user.account.id.to_string(), (user, Instant::now()));
    }

    pub fn token(&self, hash: &str) -> Option<(String, String)> {
        let inner = self.lock();
        let (user, token, at) = inner.tokens.get(hash)?;
        (at.elapsed() < FRESH).then(|| (user.clone(), token.clone()))
    }

    pub fn put_token(&self, hash: String, user_id: String, token_id: String) {
        let mut inner = self.lock();
        if inner.tokens.len() >= CAPACITY {
            inner.tokens.retain(|_, (_, _, at)| at.elapsed() < FRESH);
            if inner.tokens.len() >= CAPACITY {
                inner.tokens.clear();
            }
        }
        inner
            .tokens
            .insert(hash, (user_id, token_id, Instant::now()));
    }

    pub fn forget(&self, revoked: &Revoked) {
        let mut inner = self.lock();
        match revoked {
            Revoked::User(id) => {
                inner.users.remove(id);
                inner.tokens.retain(|_, (user, _, _)| user != id);
            }
            Revoked::Token(id) => inner.tokens.retain(|_, (_, token, _)| token != id),
            // Sessions are read from their store on every request.
            Revoked::Session(_) => {}
        }
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.users.clear();
        inner.tokens.clear();
    }
}
