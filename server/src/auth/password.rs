//! argon2id hashing and verification, run off the async executor.
use crate::error::{Error, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

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
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("hashing password: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

/// A hash of a random password, verified against when the account does not exist so timing reveals nothing.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Ke+Wjg8R1tF1MSEmJbvBvyVKfBlBS4J0oyqOsBLrhbo";

pub async fn verify(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = hash.as_deref().unwrap_or(DUMMY);
        let ok = PasswordHash::new(stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && hash.is_some()
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse".into(), Some(h.clone())).await);
        assert!(!verify("correct horse".into(), None).await);
        assert_ne!(h, hash("correct horse".into()).await.unwrap());
    }

    #[test]
    fn policy_counts_characters() {
        assert!(check_policy("短密码", 8).is_err());
        assert!(check_policy("八个字符的密码啊", 8).is_ok());
    }
}
