//! argon2id hashing and verification, run off the async executor, at most one per core at a time.
use crate::error::{Error, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for a free hashing slot before it is told to come back (503 + Retry-After).
const QUEUE_WAIT: Duration = Duration::from_secs(15);

/// Each hash takes 19 MiB and a core for tens of milliseconds: running more at once than there are cores only
/// multiplies the memory (200 parallel sign-ins took 3.9 GB) without finishing any sooner.
fn slots() -> &'static Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        ))
    })
}

async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = match tokio::time::timeout(QUEUE_WAIT, slots().clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        _ => return Err(Error::Busy { retry_after: 5 }),
    };
    // The permit travels with the work: a client that hangs up cannot free the slot while the hash still runs.
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(|e| Error::Internal(e.into()))
}

/// Rejects passwords below the configured length (counted in characters) and absurdly long ones.
pub fn check_policy(password: &str, min: usize) -> Result<()> {
    let n = password.chars().count();
    if n < min {
        return Err(Error::PasswordTooShort { min });
    }
    if n > 1024 {
        return Err(Error::invalid("password", "too_long"));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("hashing password: {e}")))
    })
    .await?
}

/// A hash of a random password, verified against when the account does not exist so timing reveals nothing.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Ke+Wjg8R1tF1MSEmJbvBvyVKfBlBS4J0oyqOsBLrhbo";

/// Whether `password` matches `hash`; `Busy` when the hashing queue is full.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool> {
    bounded(move || {
        let stored = hash.as_deref().unwrap_or(DUMMY);
        let ok = PasswordHash::new(stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && hash.is_some()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("correct horse".into(), None).await.unwrap());
        assert_ne!(h, hash("correct horse".into()).await.unwrap());
    }

    #[test]
    fn policy_counts_characters() {
        assert!(check_policy("短密码", 8).is_err());
        assert!(check_policy("八个字符的密码啊", 8).is_ok());
    }
}
