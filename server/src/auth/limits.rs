//! Sign-in failures, per name and per address. A few are free; after that
//! each further attempt waits out a delay that doubles with every failure
//! (up to a cap), and an attempt made too soon is refused with 429 and
//! `Retry-After` before any password is checked. A success clears the
//! name's record. Failures, not attempts, are counted: a person who signs
//! in and out all day is never slowed down. (Rate limiters such as
//! `governor` count every attempt and cannot be asked without spending.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before the delays begin.
const FREE_PER_NAME: u32 = 5;
const FREE_PER_ADDRESS: u32 = 20;
const FIRST_DELAY: Duration = Duration::from_secs(1);
const LONGEST_DELAY: Duration = Duration::from_secs(300);
/// A record with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(900);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Name(String),
    Address(IpAddr),
}

#[derive(Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
}

impl Record {
    /// When the next attempt may be made: at once for the first `free`
    /// failures, then 1 s, 2 s, 4 s… after the last one.
    fn open_at(&self, free: u32) -> Option<Instant> {
        let over = self.failures.checked_sub(free + 1)?;
        let delay = FIRST_DELAY
            .saturating_mul(1u32 << over.min(16))
            .min(LONGEST_DELAY);
        Some(self.last + delay)
    }
}

#[derive(Default)]
pub struct SignInLimits {
    records: Mutex<HashMap<Key, Record>>,
}

impl SignInLimits {
    /// `Err(wait)` if an attempt for `name` from `address` must wait.
    pub fn check(&self, name: &str, address: IpAddr) -> Result<(), Duration> {
        self.check_at(name, address, Instant::now())
    }

    fn check_at(&self, name: &str, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let wait = [
            (Key::Name(normalize(name)), FREE_PER_NAME),
            (Key::Address(address), FREE_PER_ADDRESS),
        ]
        .into_iter()
        .filter_map(|(key, free)| records.get(&key)?.open_at(free))
        .filter_map(|open| open.checked_duration_since(now))
        .max();
        match wait {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, name: &str, address: IpAddr) {
        self.failed_at(name, address, Instant::now())
    }

    fn failed_at(&self, name: &str, address: IpAddr, now: Instant) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.retain(|_, r| now.duration_since(r.last) < FORGET_AFTER);
        for key in [Key::Name(normalize(name)), Key::Address(address)] {
            let record = records.entry(key).or_insert(Record {
                failures: 0,
                last: now,
            });
            record.failures += 1;
            record.last = now;
        }
    }

    pub fn succeeded(&self, name: &str) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.remove(&Key::Name(normalize(name)));
    }
}

fn normalize(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_name_is_free_for_five_failures_then_waits_longer_each_time() {
        let limits = SignInLimits::default();
        let t0 = Instant::now();
        for _ in 0..FREE_PER_NAME {
            assert!(limits.check_at("Ada", HOME, t0).is_ok());
            limits.failed_at("Ada", HOME, t0);
        }
        // The sixth failure is still checked; after it, a delay.
        assert!(
            limits.check_at("ada ", AWAY, t0).is_ok(),
            "any case, any address"
        );
        limits.failed_at("ada", AWAY, t0);
        assert_eq!(
            limits.check_at("ADA", HOME, t0),
            Err(Duration::from_secs(1))
        );
        let t1 = t0 + Duration::from_secs(1);
        assert!(limits.check_at("ada", HOME, t1).is_ok());
        limits.failed_at("ada", HOME, t1);
        assert_eq!(
            limits.check_at("ada", HOME, t1),
            Err(Duration::from_secs(2))
        );
        // Others are not slowed by Ada's attacker.
        assert!(limits.check_at("grace", AWAY, t1).is_ok());
        limits.succeeded("Ada");
        assert!(limits.check_at("ada", AWAY, t1).is_ok());
    }

    #[test]
    fn an_address_that_tries_many_names_is_slowed_down_too() {
        let limits = SignInLimits::default();
        let t0 = Instant::now();
        for i in 0..=FREE_PER_ADDRESS + 1 {
            limits.failed_at(&format!("user{i}"), HOME, t0);
        }
        assert!(limits.check_at("someone-new", HOME, t0).is_err());
        assert!(limits.check_at("someone-new", AWAY, t0).is_ok());
        // The delay is capped, and the record forgotten in time.
        let mut t = t0;
        for _ in 0..40 {
            limits.failed_at("x", HOME, t);
            t += Duration::from_millis(1);
        }
        assert!(limits.check_at("y", HOME, t).unwrap_err() <= LONGEST_DELAY);
        let later = t + FORGET_AFTER + Duration::from_secs(1);
        limits.failed_at("z", AWAY, later);
        assert!(limits.check_at("y", HOME, later).is_ok());
    }
}
