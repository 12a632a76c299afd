//! Random secrets (API tokens, CSRF tokens, error references) and the hash that stores tokens.
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "hgr_";

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

pub fn random_hex(n: usize) -> String {
    hex::encode(random_bytes(n))
}

pub fn random_urlsafe(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// A new API token secret: `hgr_` and 32 random bytes.
pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_urlsafe(32))
}

/// Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares without an early exit, for CSRF tokens.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
