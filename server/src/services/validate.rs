//! Input rules shared by the services: each failure names the field and a stable reason.
use crate::error::{Error, Result};
use app::api::QuotaLimits;
use serde_json::json;

pub fn username(s: &str) -> Result<()> {
    let ok_len = (1..=64).contains(&s.len());
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok_len && first_ok && rest_ok {
        Ok(())
    } else {
        Err(Error::invalid("username", "bad_format"))
    }
}

fn text(field: &'static str, s: &str, max: usize) -> Result<()> {
    if s.chars().count() > max {
        return Err(Error::Invalid {
            field,
            reason: "too_long",
            details: json!({ "max": max }),
        });
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "control_characters"));
    }
    Ok(())
}

pub fn display_name(s: &str) -> Result<()> {
    text("display_name", s, 100)
}

pub fn email(s: &str) -> Result<()> {
    text("email", s, 254)?;
    if !s.is_empty() && (!s.contains('@') || s.contains(' ')) {
        return Err(Error::invalid("email", "bad_format"));
    }
    Ok(())
}

/// Free text for hosts and VMs: up to 1,000 characters, line breaks allowed, no other control characters.
pub fn description(d: &str) -> Result<()> {
    if d.chars().count() > 1000 || d.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::invalid("description", "bad_format"));
    }
    Ok(())
}

pub fn token_name(s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid("name", "empty"));
    }
    text("name", s, 100)
}

/// A name people give a rule or a channel: as a token's, and no direction overrides either (they disguise a
/// name in lists and messages).
pub fn label(s: &str) -> Result<()> {
    token_name(s)?;
    if s.chars().any(|c| ('\u{202a}'..='\u{202e}').contains(&c)) {
        return Err(Error::invalid("name", "control_characters"));
    }
    Ok(())
}

pub fn language(s: &str) -> Result<()> {
    if matches!(s, "en" | "zh-CN") {
        Ok(())
    } else {
        Err(Error::invalid("language", "unsupported"))
    }
}

/// Upper bounds that no real installation reaches, to catch typos and overflow.
pub const QUOTA_MAX: [(&str, i64); 4] = [
    ("max_vms", 100_000),
    ("max_vcpus", 1_000_000),
    ("max_memory_mib", 1 << 34),
    ("max_disk_gib", 1 << 30),
];

pub fn quota(q: &QuotaLimits) -> Result<()> {
    let values = [q.max_vms, q.max_vcpus, q.max_memory_mib, q.max_disk_gib];
    for ((field, max), v) in QUOTA_MAX.into_iter().zip(values) {
        if !(0..=max).contains(&v) {
            let field: &'static str = field;
            return Err(Error::Invalid {
                field,
                reason: "out_of_range",
                details: json!({ "min": 0, "max": max }),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for good in ["alice", "a", "bob.smith-2", "X_1"] {
            assert!(username(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a b", "<script>", "é", &"a".repeat(65)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quotas_reject_negative_and_absurd() {
        let ok = QuotaLimits {
            max_vms: 1,
            max_vcpus: 2,
            max_memory_mib: 1024,
            max_disk_gib: 10,
        };
        assert!(quota(&ok).is_ok());
        assert!(quota(&QuotaLimits {
            max_vms: -1,
            ..ok.clone()
        })
        .is_err());
        assert!(quota(&QuotaLimits {
            max_memory_mib: i64::MAX,
            ..ok
        })
        .is_err());
    }
}
