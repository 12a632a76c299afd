//! The signatures receivers check: the DingTalk and Feishu robots' and Hangar's own webhook signature (an
//! HMAC-SHA256 of the exact body bytes), as pure functions so tests can pin them to independently computed values.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length (longer ones are hashed first), so this never fails.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (so base64's `+`, `/` and `=` too).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// DingTalk's robot signature, ready for the URL: `urlencode(base64(HMAC-SHA256(secret, "<ts_ms>\n<secret>")))`.
pub fn dingtalk_sign(secret: &str, ts_ms: i64) -> String {
    let to_sign = format!("{ts_ms}\n{secret}");
    url_encode(&STANDARD.encode(hmac_sha256(secret.as_bytes(), to_sign.as_bytes())))
}

/// Feishu's (Lark's) robot signature: the HMAC is keyed by `"<ts_s>\n<secret>"` over an empty message, as its
/// documentation specifies (and its reference code does).
pub fn feishu_sign(secret: &str, ts_s: i64) -> String {
    let key = format!("{ts_s}\n{secret}");
    STANDARD.encode(hmac_sha256(key.as_bytes(), b""))
}

/// The value of `X-Hangar-Signature`: `sha256=` and the lowercase hex HMAC-SHA256 of the body, keyed by the secret.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_decode(s: &str) -> String {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn webhook_signature_matches_rfc_4231_case_2() {
        assert_eq!(
            webhook_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Computed with Python's hmac module.
        assert_eq!(
            webhook_signature("topsecret", br#"{"a":1}"#),
            "sha256=bf1e6501b7fa928ec2391fea9dd90af3c9ad1b7b1ef6ff319c25940cec746bf8"
        );
    }

    #[test]
    fn dingtalk_signature_matches_an_independent_computation() {
        // `printf '1700000000000\nSECabcdef0123456789' | openssl dgst -sha256 -hmac SECabcdef0123456789 -binary
        // | base64`, then URL-encoded.
        let sign = dingtalk_sign("SECabcdef0123456789", 1_700_000_000_000);
        assert_eq!(sign, "dV0RXHUD72d0VKcnHrBhJ9jhSbDS3HUiduucxO%2Bizso%3D");
        let raw = STANDARD.decode(url_decode(&sign)).unwrap();
        assert_eq!(
            raw,
            hmac_sha256(b"SECabcdef0123456789", b"1700000000000\nSECabcdef0123456789")
        );
        assert!(!sign.contains('+') && !sign.contains('/') && !sign.contains('='));
    }

    #[test]
    fn feishu_signature_matches_an_independent_computation() {
        // Python: base64(hmac.new(b"1700000000\nmy-feishu-secret", b"", sha256).digest()).
        assert_eq!(
            feishu_sign("my-feishu-secret", 1_700_000_000),
            "+JTROTv9Kj6+5om9mwRKXhBUCFy2hPBcQalQc3a++G8="
        );
    }

    #[test]
    fn url_encoding_keeps_only_unreserved_characters() {
        assert_eq!(url_encode("a+b/c=d-e_f.g~h"), "a%2Bb%2Fc%3Dd-e_f.g~h");
        assert_eq!(url_encode("é "), "%C3%A9%20");
    }
}
