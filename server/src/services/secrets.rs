//! Encryption at rest of channel secrets (robot URLs with tokens, signing keys): a database copy or backup alone
//! does not give them away, because the key lives beside the database in its own file (or in the environment).
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use rand::RngCore;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

const KEY_FILE: &str = "secret.key";
const ENV_KEY: &str = "HANGAR_SECRET_KEY";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Seals and opens small secrets with ChaCha20-Poly1305; a sealed value is `base64(nonce || ciphertext)`.
pub struct SecretBox {
    key: Key,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox { key: \"[redacted]\" }")
    }
}

impl SecretBox {
    /// The key from `HANGAR_SECRET_KEY` (64 hex characters) when set, else from `<data_dir>/secret.key`, made
    /// at first start.
    pub fn open_or_create(data_dir: &Path) -> anyhow::Result<SecretBox> {
        Self::open_or_create_with(data_dir, std::env::var(ENV_KEY).ok())
    }

    /// `open_or_create` with the environment's value passed in, so tests need not change the process's
    /// environment (which other tests share).
    fn open_or_create_with(data_dir: &Path, env: Option<String>) -> anyhow::Result<SecretBox> {
        if let Some(hex_key) = env.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            // A set but malformed key is an error rather than a fall-back to the file: secrets sealed with the
            // intended key would otherwise fail to open later, with a far less helpful message.
            let key = from_hex(hex_key).with_context(|| format!("{ENV_KEY} must be 64 hexadecimal characters"))?;
            return Ok(SecretBox { key: Key::from(key) });
        }
        let path = data_dir.join(KEY_FILE);
        match read_key_file(&path) {
            Ok(key) => return Ok(SecretBox { key: Key::from(key) }),
            Err(e) if e.downcast_ref::<std::io::Error>().map(|e| e.kind()) == Some(ErrorKind::NotFound) => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        // create_new: when two instances start at once, the second one reads the first one's key instead of
        // replacing it (which would make what the first one sealed unreadable).
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match created {
            Ok(mut file) => {
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("writing {}", path.display()))?;
                Ok(SecretBox { key: Key::from(key) })
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                // The other instance may still be writing its 32 bytes: give it a moment.
                for _ in 0..20 {
                    if let Ok(key) = read_key_file(&path) {
                        return Ok(SecretBox { key: Key::from(key) });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                read_key_file(&path).map(|key| SecretBox { key: Key::from(key) })
            }
            Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }

    /// Encrypts `plain` under a fresh random nonce, so sealing the same text twice gives different values.
    pub fn seal(&self, plain: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = ChaCha20Poly1305::new(&self.key);
        // Encryption fails only past 256 GiB of plaintext, far beyond any channel's settings; the empty result
        // would then fail to open rather than pass for a value.
        let sealed = cipher.encrypt(&Nonce::from(nonce), plain).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    /// Decrypts what `seal` made; fails on another key's value or on any change to it.
    pub fn open(&self, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let raw = STANDARD
            .decode(sealed.trim())
            .context("the sealed value is not base64")?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            bail!("the sealed value is too short");
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().context("the sealed value has no nonce")?;
        ChaCha20Poly1305::new(&self.key)
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| anyhow!("cannot decrypt a secret: it was sealed with another key or has been altered"))
    }
}

/// Reads the key file: 32 raw bytes as written here, or 64 hex characters for a key an administrator made.
fn read_key_file(path: &Path) -> anyhow::Result<[u8; KEY_LEN]> {
    let bytes = std::fs::read(path)?;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the secret key file can be read by other users; chmod 600 it");
        }
    }
    if let Ok(key) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) {
        return Ok(key);
    }
    if let Some(key) = std::str::from_utf8(&bytes).ok().and_then(|t| from_hex(t.trim()).ok()) {
        return Ok(key);
    }
    bail!(
        "{} holds {} bytes, not a {KEY_LEN}-byte key; if it is empty or damaged and nothing was sealed with it, \
         delete it to have a new one made",
        path.display(),
        bytes.len()
    )
}

fn from_hex(text: &str) -> anyhow::Result<[u8; KEY_LEN]> {
    let bytes = hex::decode(text).context("not hexadecimal")?;
    <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| anyhow!("expected {} hex characters", KEY_LEN * 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_box() -> (tempfile::TempDir, SecretBox) {
        let dir = tempfile::tempdir().unwrap();
        let b = SecretBox::open_or_create_with(dir.path(), None).unwrap();
        (dir, b)
    }

    #[test]
    fn roundtrip() {
        let (_dir, b) = new_box();
        for plain in [&b""[..], b"SECabc", "钉钉 secret".as_bytes(), &[0u8; 5000][..]] {
            assert_eq!(b.open(&b.seal(plain)).unwrap(), plain);
        }
    }

    #[test]
    fn tampered_values_fail() {
        let (_dir, b) = new_box();
        let sealed = b.seal(b"https://oapi.dingtalk.com/robot/send?access_token=abc");
        let mut raw = STANDARD.decode(&sealed).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            assert!(b.open(&STANDARD.encode(&raw)).is_err(), "byte {i}");
            raw[i] ^= 1;
        }
        assert!(b.open(&STANDARD.encode(&raw[..raw.len() - 1])).is_err());
        assert!(b.open("AAAA").is_err());
        assert!(b.open("not base64 at all!").is_err());
    }

    #[test]
    fn two_seals_of_the_same_text_differ() {
        let (_dir, b) = new_box();
        let (x, y) = (b.seal(b"same"), b.seal(b"same"));
        assert_ne!(x, y);
        assert_eq!(b.open(&x).unwrap(), b.open(&y).unwrap());
    }

    #[test]
    fn another_key_cannot_open() {
        let (_d1, a) = new_box();
        let (_d2, b) = new_box();
        assert!(b.open(&a.seal(b"secret")).is_err());
    }

    #[test]
    fn key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretBox::open_or_create_with(dir.path(), None).unwrap();
        let path = dir.path().join(KEY_FILE);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), KEY_LEN as u64);
        let sealed = first.seal(b"kept across restarts");
        let second = SecretBox::open_or_create_with(dir.path(), None).unwrap();
        assert_eq!(second.open(&sealed).unwrap(), b"kept across restarts");
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
    }

    #[test]
    fn environment_key_wins_and_must_be_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let a = SecretBox::open_or_create_with(dir.path(), Some(hex_key.into())).unwrap();
        assert!(
            !dir.path().join(KEY_FILE).exists(),
            "no key file when the environment gives the key"
        );
        let b = SecretBox::open_or_create_with(dir.path(), Some(hex_key.to_uppercase())).unwrap();
        assert_eq!(b.open(&a.seal(b"x")).unwrap(), b"x");
        assert!(SecretBox::open_or_create_with(dir.path(), Some("abcd".into())).is_err());
        assert!(SecretBox::open_or_create_with(dir.path(), Some("zz".repeat(32))).is_err());
    }

    #[test]
    fn damaged_key_file_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        assert!(SecretBox::open_or_create_with(dir.path(), None).is_err());
        assert_eq!(std::fs::read(dir.path().join(KEY_FILE)).unwrap(), b"short");
    }

    #[test]
    fn debug_shows_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let hex_key = "ab".repeat(32);
        let b = SecretBox::open_or_create_with(dir.path(), Some(hex_key)).unwrap();
        let dbg = format!("{b:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains("171") && !dbg.to_lowercase().contains("abab"), "{dbg}");
    }
}
