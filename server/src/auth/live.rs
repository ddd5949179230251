//! The open sockets of every credential, so that signing out, revoking a
//! token or disabling an account closes them at once (on this server; the
//! others hear of it through the database and close theirs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::principal::{Credential, Principal};

/// What a revocation names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Revoked {
    Session(String),
    Token(String),
    /// Every credential of an account (disabled, or its role changed).
    User(String),
}

impl Revoked {
    /// The form carried between servers: `kind:id`.
    pub fn to_wire(&self) -> String {
        match self {
            Self::Session(id) => format!("session:{id}"),
            Self::Token(id) => format!("token:{id}"),
            Self::User(id) => format!("user:{id}"),
        }
    }

    pub fn from_wire(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        let id = id.to_owned();
        Some(match kind {
            "session" => Self::Session(id),
            "token" => Self::Token(id),
            "user" => Self::User(id),
            _ => return None,
        })
    }
}

#[derive(Default)]
pub struct LiveConnections {
    next: std::sync::atomic::AtomicU64,
    open: Mutex<HashMap<Revoked, Vec<(u64, CancellationToken)>>>,
}

/// Unregisters a connection when it ends.
pub struct Registration {
    live: Arc<LiveConnections>,
    id: u64,
    keys: Vec<Revoked>,
}

impl LiveConnections {
    /// Registers a connection of `principal`; `closed` fires when its
    /// credential is revoked. Nothing to register with sign-in off.
    pub fn register(
        self: &Arc<Self>,
        principal: &Principal,
        closed: CancellationToken,
    ) -> Option<Registration> {
        let user = principal.user_id()?;
        let mut keys = vec![Revoked::User(user.to_owned())];
        match &principal.credential {
            Credential::Session(id) => keys.push(Revoked::Session(id.clone())),
            Credential::Token(id) => keys.push(Revoked::Token(id.clone())),
            Credential::Open => {}
        }
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        for key in &keys {
            open.entry(key.clone())
                .or_default()
                .push((id, closed.clone()));
        }
        Some(Registration {
            live: self.clone(),
            id,
            keys,
        })
    }

    /// Closes every connection of `revoked`; how many there were.
    pub fn revoke(&self, revoked: &Revoked) -> usize {
        let closed = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(revoked)
            .unwrap_or_default();
        for (_, token) in &closed {
            token.cancel();
        }
        closed.len()
    }

    /// Every credential with an open connection.
    pub fn credentials(&self) -> Vec<Revoked> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.keys().cloned().collect()
    }

    /// Connections open now (each counted once).
    pub fn count(&self) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.iter()
            .filter(|(key, _)| matches!(key, Revoked::User(_)))
            .map(|(_, list)| list.len())
            .sum()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = self.live.open.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(list) = open.get_mut(key) {
                list.retain(|(id, _)| *id != self.id);
                if list.is_empty() {
                    open.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::Account;
    use protocol::UserRole;

    fn principal(user: &str, credential: Credential) -> Principal {
        Principal {
            account: Some(Account {
                id: user.into(),
                name: user.into(),
                role: UserRole::Approver,
            }),
            credential,
        }
    }

    #[test]
    fn revoking_a_credential_closes_its_connections_only() {
        let live = Arc::new(LiveConnections::default());
        let a = CancellationToken::new();
        let b = CancellationToken::new();
        let c = CancellationToken::new();
        let _ra = live.register(
            &principal("u1", Credential::Session("s1".into())),
            a.clone(),
        );
        let _rb = live.register(&principal("u1", Credential::Token("t1".into())), b.clone());
        let rc = live.register(
            &principal("u2", Credential::Session("s2".into())),
            c.clone(),
        );
        assert_eq!(live.count(), 3);
        assert_eq!(live.revoke(&Revoked::Token("t1".into())), 1);
        assert!(b.is_cancelled() && !a.is_cancelled());
        assert_eq!(live.revoke(&Revoked::User("u1".into())), 2);
        assert!(a.is_cancelled() && !c.is_cancelled());
        drop(rc);
        assert_eq!(
            live.revoke(&Revoked::Session("s2".into())),
            0,
            "unregistered on drop"
        );
        assert!(live
            .register(&Principal::open(), CancellationToken::new())
            .is_none());
    }

    #[test]
    fn revocations_cross_the_wire() {
        for r in [
            Revoked::Session("a:b".into()),
            Revoked::Token("t".into()),
            Revoked::User("u".into()),
        ] {
            assert_eq!(Revoked::from_wire(&r.to_wire()), Some(r));
        }
        assert_eq!(Revoked::from_wire("nonsense"), None);
    }
}
