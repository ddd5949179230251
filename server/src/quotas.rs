//! What one person may start per minute: threads and runs. A program with
//! a token or a script in a browser gets 429 (or a `rate_limited` frame)
//! with the seconds to wait, and everyone else is served as before.
//! `governor`'s keyed GCRA: a minute's quota may be used at once, then it
//! comes back evenly.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::settings::Limits;

pub struct Quotas {
    threads: Option<DefaultKeyedRateLimiter<String>>,
    runs: Option<DefaultKeyedRateLimiter<String>>,
}

/// What a quota refused: come back after this.
#[derive(Debug, Clone, Copy)]
pub struct Wait(pub Duration);

impl Wait {
    /// Whole seconds, at least one (`Retry-After`).
    pub fn secs(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    let per_minute = NonZeroU32::new(per_minute)?;
    Some(RateLimiter::keyed(Quota::per_minute(per_minute)))
}

fn check(limiter: &Option<DefaultKeyedRateLimiter<String>>, who: &str) -> Result<(), Wait> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter
        .check_key(&who.to_owned())
        .map_err(|not_until| Wait(not_until.wait_time_from(DefaultClock::default().now())))
}

impl Quotas {
    pub fn new(limits: &Limits) -> Self {
        Self {
            threads: limiter(limits.threads_per_minute),
            runs: limiter(limits.runs_per_minute),
        }
    }

    /// A new thread for `who` (a user id; the local user with sign-in off).
    pub fn thread(&self, who: &str) -> Result<(), Wait> {
        check(&self.threads, who)
    }

    /// A new run for `who`.
    pub fn run(&self, who: &str) -> Result<(), Wait> {
        check(&self.runs, who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minutes_quota_can_be_used_at_once_then_it_waits() {
        let quotas = Quotas::new(&Limits {
            threads_per_minute: 3,
            runs_per_minute: 0,
        });
        for _ in 0..3 {
            assert!(quotas.thread("ada").is_ok());
        }
        let wait = quotas.thread("ada").unwrap_err();
        assert!(
            wait.0 <= Duration::from_secs(20) && wait.secs() >= 1,
            "{wait:?}"
        );
        assert!(quotas.thread("grace").is_ok(), "per person");
        for _ in 0..1000 {
            assert!(quotas.run("ada").is_ok(), "0 is no limit");
        }
    }
}
