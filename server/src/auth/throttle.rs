//! Failed-login throttling per account and per source address, over a sliding window.
use crate::config::ThrottleConfig;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Throttle {
    cfg: ThrottleConfig,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(cfg: ThrottleConfig) -> Self {
        Self {
            cfg,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, address: &str) -> [(String, u32); 2] {
        [
            (format!("user:{}", account.to_lowercase()), 0),
            (format!("addr:{address}"), 1),
        ]
    }

    fn limit(&self, which: u32) -> u32 {
        if which == 0 {
            self.cfg.per_account
        } else {
            self.cfg.per_address
        }
    }

    /// `Some(seconds)` to wait when either the account or the address is over its limit.
    pub fn retry_after(&self, account: &str, address: &str) -> Option<u64> {
        let window = Duration::from_secs(self.cfg.window_seconds);
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, which) in Self::keys(account, address) {
            let Some(q) = map.get_mut(&key) else { continue };
            while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                q.pop_front();
            }
            if q.len() as u32 >= self.limit(which) {
                // Allowed again once enough failures have aged out of the window.
                let idx = q.len() - self.limit(which) as usize;
                let until = q[idx] + window;
                let secs = until.saturating_duration_since(now).as_secs().max(1);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        wait
    }

    pub fn record_failure(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, which) in Self::keys(account, address) {
            let q = map.entry(key).or_default();
            q.push_back(now);
            let cap = self.limit(which) as usize * 2;
            while q.len() > cap.max(1) {
                q.pop_front();
            }
        }
    }

    /// A successful sign-in forgives the account, not the address.
    pub fn record_success(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("user:{}", account.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_account_after_limit_and_forgives_on_success() {
        let t = Throttle::new(ThrottleConfig {
            per_account: 3,
            per_address: 10,
            window_seconds: 60,
        });
        for _ in 0..3 {
            assert!(t.retry_after("Bob", "1.1.1.1").is_none());
            t.record_failure("bob", "1.1.1.1");
        }
        let wait = t.retry_after("BOB", "2.2.2.2").unwrap();
        assert!((1..=60).contains(&wait));
        assert!(t.retry_after("alice", "1.1.1.1").is_none());
        t.record_success("bob");
        assert!(t.retry_after("bob", "3.3.3.3").is_none());
    }

    #[test]
    fn locks_address_across_accounts() {
        let t = Throttle::new(ThrottleConfig {
            per_account: 100,
            per_address: 4,
            window_seconds: 60,
        });
        for i in 0..4 {
            t.record_failure(&format!("u{i}"), "9.9.9.9");
        }
        assert!(t.retry_after("someone-else", "9.9.9.9").is_some());
        assert!(t.retry_after("someone-else", "8.8.8.8").is_none());
    }
}
