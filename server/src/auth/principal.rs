//! Who is asking, and what their role lets them do. Every check of a
//! permission in the server is one of these methods.

use std::sync::Arc;

use protocol::{DecidedBy, Me, UserRole};

/// The person or program behind a request or a connection.
#[derive(Clone, Debug)]
pub struct Principal {
    /// `None` when sign-in is off: the local user may do everything and
    /// decisions name nobody.
    pub account: Option<Account>,
    pub credential: Credential,
}

/// A signed-in account as a request sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub role: UserRole,
}

/// How the principal proved who it is: what revoking closes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A browser session (its id in the session store).
    Session(String),
    /// An API token (its id, never its secret).
    Token(String),
    /// Sign-in is off.
    Open,
}

impl Principal {
    /// Sign-in is off: whoever reaches the (loopback) port.
    pub fn open() -> Self {
        Self {
            account: None,
            credential: Credential::Open,
        }
    }

    pub fn role(&self) -> UserRole {
        self.account.as_ref().map_or(UserRole::Admin, |a| a.role)
    }

    pub fn user_id(&self) -> Option<&str> {
        self.account.as_ref().map(|a| &*a.id)
    }

    /// The name decisions carry; none with sign-in off.
    pub fn decided_by(&self) -> Option<DecidedBy> {
        self.account.as_ref().map(|a| DecidedBy {
            user_id: a.id.to_string(),
            name: a.name.to_string(),
        })
    }

    pub fn me(&self) -> Option<Me> {
        self.account.as_ref().map(|a| Me {
            user_id: a.id.to_string(),
            name: a.name.to_string(),
            role: a.role,
        })
    }

    /// Approvers and admins see every thread; others see their own.
    pub fn can_see(&self, owner: Option<&str>) -> bool {
        self.role() >= UserRole::Approver || (owner.is_some() && owner == self.user_id())
    }

    pub fn can_create_threads(&self) -> bool {
        self.role() >= UserRole::Requester
    }

    /// Send messages and stop runs: requesters on their own threads,
    /// approvers and admins on any.
    pub fn can_run(&self, owner: Option<&str>) -> bool {
        self.can_see(owner) && self.role() >= UserRole::Requester
    }

    pub fn can_decide(&self) -> bool {
        self.role() >= UserRole::Approver
    }

    pub fn is_admin(&self) -> bool {
        self.role() == UserRole::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_in(id: &str, role: UserRole) -> Principal {
        Principal {
            account: Some(Account {
                id: id.into(),
                name: id.into(),
                role,
            }),
            credential: Credential::Session("s".into()),
        }
    }

    #[test]
    fn each_role_can_do_what_the_one_below_can() {
        let mine = Some("me");
        let theirs = Some("other");
        let viewer = signed_in("me", UserRole::Viewer);
        assert!(viewer.can_see(mine) && !viewer.can_see(theirs) && !viewer.can_see(None));
        assert!(!viewer.can_run(mine) && !viewer.can_create_threads() && !viewer.can_decide());

        let requester = signed_in("me", UserRole::Requester);
        assert!(requester.can_run(mine) && !requester.can_run(theirs));
        assert!(requester.can_create_threads() && !requester.can_decide());

        let approver = signed_in("me", UserRole::Approver);
        assert!(approver.can_see(theirs) && approver.can_see(None) && approver.can_run(theirs));
        assert!(approver.can_decide() && !approver.is_admin());

        let admin = signed_in("me", UserRole::Admin);
        assert!(admin.can_decide() && admin.is_admin());
        assert_eq!(admin.decided_by().unwrap().name, "me");
    }

    #[test]
    fn with_sign_in_off_the_local_user_may_do_everything_and_names_nobody() {
        let open = Principal::open();
        assert!(open.can_see(Some("anyone")) && open.can_decide() && open.is_admin());
        assert_eq!(open.decided_by(), None);
        assert_eq!(open.me(), None);
    }
}
