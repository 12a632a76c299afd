//! Failed-login throttling per account and per source address, over a sliding window. Checking the limit and
//! counting the attempt are one step (so parallel guesses cannot all pass), the table is bounded, and failures
//! are re-read from the audit log at start (so a restart forgives nothing).
use crate::config::ThrottleConfig;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Keys (accounts and addresses) remembered at most; beyond that the stalest are forgotten first.
const MAX_KEYS: usize = 100_000;
/// A throttled account leaves at most one audit record per this many milliseconds.
const DENIAL_RECORD_EVERY_MS: i64 = 60_000;

pub struct Throttle {
    cfg: ThrottleConfig,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    failures: HashMap<String, VecDeque<i64>>,
    /// Attempts begun and not yet decided, per key: they count against the limit while they run.
    pending: HashMap<String, u32>,
    /// Per account: when a refusal was last recorded, and how many were refused since without a record.
    denials: HashMap<String, (i64, u64)>,
}

/// An attempt in progress: it counts against both limits until it is decided. `failed` records it; `succeeded`
/// forgives the account; `abandon` forgets it (the server was too busy to check it). Dropped undecided — the
/// client hung up while its password was being checked — it counts as a failure, so hanging up is no way around
/// the limit.
#[must_use]
pub struct Attempt {
    throttle: Arc<Throttle>,
    account: String,
    address: String,
    decided: bool,
}

impl Attempt {
    pub fn abandon(mut self) {
        self.decided = true;
        let mut inner = self.throttle.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.unpend(&self.account);
        inner.unpend(&self.address);
    }

    pub fn failed(mut self, now: i64) {
        self.decided = true;
        self.throttle.finish(&self.account, &self.address, Some(now));
    }

    pub fn succeeded(mut self) {
        self.decided = true;
        self.throttle.finish(&self.account, &self.address, None);
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.decided {
            let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000;
            self.throttle.finish(&self.account, &self.address, Some(now));
        }
    }
}

/// Why an attempt may not start: how long to wait, and which key (account or address) is over its limit.
#[derive(Debug)]
pub struct Refusal {
    pub retry_after: u64,
    pub key: String,
}

fn account_key(account: &str) -> String {
    // Longer names cannot be accounts (usernames have at most 64 characters); the cap bounds the key.
    format!("user:{}", account.chars().take(64).collect::<String>().to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("addr:{}", address.chars().take(64).collect::<String>())
}

impl Throttle {
    pub fn new(cfg: ThrottleConfig) -> Self {
        Self {
            cfg,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn window_ms(&self) -> i64 {
        self.cfg.window_seconds as i64 * 1000
    }

    /// Counts an attempt against both limits (failures in the window plus attempts still running), or says
    /// how many seconds to wait when either is reached.
    pub fn begin(self: &Arc<Self>, account: &str, address: &str, now: i64) -> Result<Attempt, Refusal> {
        let (acc, addr) = (account_key(account), address_key(address));
        let window = self.window_ms();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait: Option<(u64, &String)> = None;
        for (key, limit) in [(&acc, self.cfg.per_account), (&addr, self.cfg.per_address)] {
            let pending = inner.pending.get(key).copied().unwrap_or(0);
            let failed = match inner.failures.get_mut(key) {
                Some(q) => {
                    while q.front().is_some_and(|t| now - *t >= window) {
                        q.pop_front();
                    }
                    q.len() as u32
                }
                None => 0,
            };
            if failed + pending < limit {
                continue;
            }
            let secs = match inner.failures.get(key) {
                // Allowed again once enough failures have aged out of the window.
                Some(q) if failed >= limit => ((q[q.len() - limit as usize] + window - now) / 1000).max(1) as u64,
                // Only attempts still running stand in the way: they are decided within a second or two.
                _ => 1,
            };
            if wait.is_none_or(|(w, _)| secs > w) {
                wait = Some((secs, key));
            }
        }
        if let Some((retry_after, key)) = wait {
            return Err(Refusal {
                retry_after,
                key: key.clone(),
            });
        }
        for key in [&acc, &addr] {
            *inner.pending.entry(key.clone()).or_default() += 1;
        }
        Ok(Attempt {
            throttle: self.clone(),
            account: acc,
            address: addr,
            decided: false,
        })
    }

    /// Ends an attempt: a failure at `failed_at`, or (None) a success that forgives the account.
    pub(crate) fn finish(&self, account: &str, address: &str, failed_at: Option<i64>) {
        let window = self.window_ms();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.unpend(account);
        inner.unpend(address);
        match failed_at {
            Some(at) => {
                inner.push(account, at, self.cfg.per_account as usize * 2, window);
                inner.push(address, at, self.cfg.per_address as usize * 2, window);
            }
            None => {
                inner.failures.remove(account);
                inner.denials.remove(account);
            }
        }
    }

    /// A failure read back from the audit log at start.
    pub fn seed(&self, account: &str, address: Option<&str>, at: i64) {
        let window = self.window_ms();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.push(&account_key(account), at, self.cfg.per_account as usize * 2, window);
        if let Some(addr) = address {
            inner.push(&address_key(addr), at, self.cfg.per_address as usize * 2, window);
        }
    }

    /// Whether a refusal under `key` (the account or address over its limit) gets an audit record now, and how
    /// many refusals went unrecorded before it: a flood of refused attempts — rotating usernames included —
    /// grows the audit log by at most one record a minute per key, and when the keys run out, by one a minute.
    pub fn record_denial(&self, key: &str, now: i64) -> Option<u64> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut key = key.to_string();
        if inner.denials.len() >= MAX_KEYS && !inner.denials.contains_key(&key) {
            inner.denials.retain(|_, (at, _)| now - *at < DENIAL_RECORD_EVERY_MS);
            if inner.denials.len() >= MAX_KEYS {
                key = "*".into();
            }
        }
        let entry = inner.denials.entry(key).or_insert((i64::MIN / 2, 0));
        if now - entry.0 >= DENIAL_RECORD_EVERY_MS {
            let suppressed = entry.1;
            *entry = (now, 0);
            Some(suppressed)
        } else {
            entry.1 += 1;
            None
        }
    }
}

impl Inner {
    fn unpend(&mut self, key: &str) {
        if let Some(n) = self.pending.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.pending.remove(key);
            }
        }
    }

    fn push(&mut self, key: &str, at: i64, cap: usize, window: i64) {
        if self.failures.len() >= MAX_KEYS && !self.failures.contains_key(key) {
            self.evict(at, window);
        }
        let q = self.failures.entry(key.to_string()).or_default();
        q.push_back(at);
        while q.len() > cap.max(1) {
            q.pop_front();
        }
    }

    /// Forgets keys whose failures have all aged out; if that is not enough, the tenth with the oldest news.
    fn evict(&mut self, now: i64, window: i64) {
        self.failures.retain(|_, q| q.back().is_some_and(|t| now - *t < window));
        if self.failures.len() >= MAX_KEYS {
            let mut last: Vec<i64> = self.failures.values().filter_map(|q| q.back().copied()).collect();
            last.sort_unstable();
            let cut = last[last.len() / 10];
            self.failures.retain(|_, q| q.back().is_some_and(|t| *t > cut));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_account: u32, per_address: u32) -> Arc<Throttle> {
        Arc::new(Throttle::new(ThrottleConfig {
            per_account,
            per_address,
            window_seconds: 60,
        }))
    }

    #[test]
    fn locks_account_after_limit_and_forgives_on_success() {
        let t = throttle(3, 10);
        for i in 0..3 {
            t.begin("Bob", "1.1.1.1", 1000 + i).unwrap().failed(1000 + i);
        }
        let wait = t.begin("BOB", "2.2.2.2", 2000).err().unwrap();
        assert!((50..=60).contains(&wait.retry_after), "{wait:?}");
        t.begin("alice", "1.1.1.1", 2000).unwrap().succeeded();
        // Once the window has passed, a success forgives the account entirely.
        t.begin("bob", "3.3.3.3", 1000 + 61_000).unwrap().succeeded();
        for i in 0..3 {
            t.begin("bob", "3.3.3.3", 70_000 + i).unwrap().failed(70_000 + i);
        }
        assert!(t.begin("bob", "3.3.3.3", 70_010).is_err());
    }

    #[test]
    fn attempts_still_running_count_against_the_limit() {
        let t = throttle(5, 1000);
        // Nineteen attempts begun before any of them finished: only the limit's worth may proceed,
        // and the others are told to retry in a second, not after the whole window.
        let (passed, refused): (Vec<_>, Vec<_>) = (0..19)
            .map(|i| t.begin("carol", "4.4.4.4", 5000 + i))
            .partition(Result::is_ok);
        assert_eq!(passed.len(), 5);
        assert!(refused.iter().all(|r| r.as_ref().err().unwrap().retry_after == 1));
        for a in passed {
            a.unwrap().failed(6000);
        }
        assert!(t.begin("carol", "4.4.4.4", 7000).err().unwrap().retry_after > 1);
    }

    #[test]
    fn abandoned_attempts_are_forgotten_and_dropped_ones_count() {
        let t = throttle(1, 100);
        t.begin("dan", "5.5.5.5", 100).unwrap().abandon();
        // A client that hangs up mid-check is counted as a failure.
        drop(t.begin("dan", "5.5.5.5", 200).unwrap());
        assert!(t.begin("dan", "5.5.5.5", 300).is_err());
    }

    #[test]
    fn success_does_not_count_against_the_address() {
        let t = throttle(100, 3);
        for i in 0..10 {
            t.begin(&format!("u{i}"), "5.5.5.5", 100 + i).unwrap().succeeded();
        }
        assert!(t.begin("x", "5.5.5.5", 200).is_ok());
    }

    #[test]
    fn locks_address_across_accounts() {
        let t = throttle(100, 4);
        for i in 0..4 {
            t.begin(&format!("u{i}"), "9.9.9.9", 10 + i).unwrap().failed(10 + i);
        }
        assert!(t.begin("someone-else", "9.9.9.9", 20).is_err());
        assert!(t.begin("someone-else", "8.8.8.8", 20).is_ok());
    }

    #[test]
    fn seeded_failures_lock_like_live_ones() {
        let t = throttle(2, 100);
        t.seed("dave", Some("6.6.6.6"), 1_000);
        t.seed("dave", None, 2_000);
        assert!(t.begin("dave", "7.7.7.7", 3_000).is_err());
    }

    #[test]
    fn the_table_stays_bounded() {
        let t = throttle(5, 5);
        for i in 0..(MAX_KEYS as i64 + 5_000) {
            t.begin(&format!("user{i}"), &format!("addr{i}"), i).unwrap().failed(i);
        }
        let inner = t.inner.lock().unwrap();
        assert!(inner.failures.len() <= MAX_KEYS, "{}", inner.failures.len());
        assert!(inner.pending.is_empty());
    }

    #[test]
    fn refusals_are_recorded_once_a_minute_per_refusing_key() {
        let t = throttle(1, 2);
        assert_eq!(t.record_denial("user:eve", 0), Some(0));
        assert_eq!(t.record_denial("user:eve", 10), None);
        assert_eq!(t.record_denial("user:eve", 20), None);
        assert_eq!(t.record_denial("user:eve", 60_001), Some(2));
        // An address over its limit is refused under the address, whatever username it tries.
        t.begin("a", "7.7.7.7", 0).unwrap().failed(0);
        t.begin("b", "7.7.7.7", 1).unwrap().failed(1);
        let key = t.begin("c", "7.7.7.7", 2).err().unwrap().key;
        assert_eq!(key, "addr:7.7.7.7");
        assert_eq!(t.begin("d", "7.7.7.7", 3).err().unwrap().key, key);
    }
}
