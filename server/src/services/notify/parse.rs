//! The checks of what a client sends for a channel: URLs, signing secrets and mail addresses, each refusal
//! naming its field and a stable reason. On edit, what the client was never shown (secrets, robot URLs) is kept
//! when left out.
use super::channel::{has_key, ChannelConfig};
use super::guard::{is_internal, literal_ip};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

const MAX_URL: usize = 2048;
const MAX_SECRET: usize = 200;
const MAX_ADDRESSES: usize = 20;
const MAX_ADDRESS_LEN: usize = 254;

/// Validates what a client sent for a channel of `kind`. On edit (`old` set, same kind), a secret or URL left
/// out (or null) keeps the saved one, since clients are never shown them; an empty secret removes it.
pub fn parse_config(kind: &str, config: &Value, old: Option<&ChannelConfig>) -> Result<ChannelConfig> {
    let allowed: &[&str] = match kind {
        "email" => &["to"],
        "webhook" | "dingtalk" | "feishu" => &["url", "secret"],
        "wecom" => &["url"],
        _ => return Err(Error::invalid("kind", "unknown_kind")),
    };
    let empty = Map::new();
    let obj = match config {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => return Err(Error::invalid("config", "not_object")),
    };
    if let Some(key) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Error::Invalid {
            field: "config",
            reason: "unknown_field",
            details: json!({ "key": key }),
        });
    }
    // What was saved counts only for a channel of the same kind: a change of kind starts afresh.
    let old = old.filter(|o| o.kind() == kind);
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    match kind {
        "email" => Ok(ChannelConfig::Email {
            to: parse_addresses(get("to"))?,
        }),
        "wecom" => {
            let url = parse_url(get("url"), old.and_then(ChannelConfig::url), false)?;
            if !has_key(&url) {
                return Err(Error::invalid("config.url", "missing_key"));
            }
            Ok(ChannelConfig::Wecom { url })
        }
        _ => {
            let url = parse_url(get("url"), old.and_then(ChannelConfig::url), kind == "webhook")?;
            let secret = parse_secret(get("secret"), old.and_then(ChannelConfig::secret), kind == "dingtalk")?;
            Ok(match kind {
                "webhook" => ChannelConfig::Webhook { url, secret },
                "dingtalk" => ChannelConfig::Dingtalk { url, secret },
                _ => ChannelConfig::Feishu { url, secret },
            })
        }
    }
}

fn bad_url(problem: &str) -> Error {
    Error::Invalid {
        field: "config.url",
        reason: "bad_url",
        details: json!({ "problem": problem }),
    }
}

/// An absolute http(s) URL without user and password, at most 2048 characters; http only where allowed.
fn parse_url(value: Option<&Value>, old: Option<&str>, allow_http: bool) -> Result<String> {
    let text = match value {
        None => {
            return old
                .map(str::to_string)
                .ok_or_else(|| Error::invalid("config.url", "required"))
        }
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(bad_url("not_a_string")),
    };
    if text.is_empty() {
        return Err(Error::invalid("config.url", "required"));
    }
    if text.chars().count() > MAX_URL {
        return Err(bad_url("too_long"));
    }
    let mut url = reqwest::Url::parse(text).map_err(|_| bad_url("unparsable"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || local_host(&url) => {}
        "http" => return Err(Error::invalid("config.url", "not_https")),
        _ => return Err(bad_url("scheme")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad_url("userinfo"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad_url("no_host"));
    }
    // A fragment never reaches the server, and would end up before the query DingTalk's signing appends.
    url.set_fragment(None);
    let normalized = url.to_string();
    if normalized.len() > MAX_URL {
        return Err(bad_url("too_long"));
    }
    Ok(normalized)
}

/// A robot at a loopback or private address (a test receiver, a relay inside the network) may be reached over
/// plain http: its token never crosses the internet, and such addresses are refused anyway unless
/// `allow_private_webhooks` is set.
fn local_host(url: &reqwest::Url) -> bool {
    url.host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case("localhost") || literal_ip(h).is_some_and(is_internal))
}

/// DingTalk secrets start with `SEC` and have 10 to 200 visible ASCII characters; other secrets 1 to 200
/// printable ASCII characters.
fn parse_secret(value: Option<&Value>, old: Option<&str>, dingtalk: bool) -> Result<Option<String>> {
    let bad = || Error::invalid("config.secret", "bad_secret");
    let s = match value {
        None => return Ok(old.map(str::to_string)),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => return Err(bad()),
    };
    // Only ASCII passes, so the byte length is the character count.
    let ok = if dingtalk {
        s.starts_with("SEC") && (10..=MAX_SECRET).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
    } else {
        (1..=MAX_SECRET).contains(&s.len()) && s.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
    };
    if ok {
        Ok(Some(s.clone()))
    } else {
        Err(bad())
    }
}

/// One to twenty plain addresses (`user@domain`, no display names); repeats are dropped.
fn parse_addresses(value: Option<&Value>) -> Result<Vec<String>> {
    let list = match value {
        None => return Err(Error::invalid("config.to", "required")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(Error::invalid("config.to", "bad_address")),
    };
    if list.is_empty() {
        return Err(Error::invalid("config.to", "required"));
    }
    if list.len() > MAX_ADDRESSES {
        return Err(Error::Invalid {
            field: "config.to",
            reason: "too_many",
            details: json!({ "max": MAX_ADDRESSES }),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let bad = || Error::Invalid {
            field: "config.to",
            reason: "bad_address",
            details: json!({ "index": index }),
        };
        let address = item.as_str().map(str::trim).ok_or_else(bad)?;
        // A domain literal (`a@[10.0.0.1]`) would have the relay deliver to an address of its network.
        if address.contains('[')
            || address.is_empty()
            || address.len() > MAX_ADDRESS_LEN
            || address.parse::<lettre::Address>().is_err()
        {
            return Err(bad());
        }
        if !out.iter().any(|a| a.eq_ignore_ascii_case(address)) {
            out.push(address.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(r: Result<ChannelConfig>) -> (&'static str, &'static str) {
        match r {
            Err(Error::Invalid { field, reason, .. }) => (field, reason),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    const DING: &str = "https://oapi.dingtalk.com/robot/send?access_token=tok123456789";
    const DING_SECRET: &str = "SEC0123456789abcdef";

    #[test]
    fn accepts_good_configs() {
        let c = parse_config("dingtalk", &json!({ "url": DING, "secret": DING_SECRET }), None).unwrap();
        assert_eq!(
            c,
            ChannelConfig::Dingtalk {
                url: DING.into(),
                secret: Some(DING_SECRET.into())
            }
        );
        assert!(c.has_secret());
        assert_eq!(c.url(), Some(DING));
        let c = parse_config("webhook", &json!({ "url": "http://hooks.example.com/x" }), None).unwrap();
        assert_eq!(c.kind(), "webhook");
        for local in [
            "http://127.0.0.1:8080/robot/send?access_token=t",
            "http://[::1]/x",
            "http://localhost/x",
        ] {
            assert!(
                parse_config("dingtalk", &json!({ "url": local }), None).is_ok(),
                "{local}"
            );
        }
        assert_eq!(c.kind(), "webhook");
        assert!(!c.has_secret());
        let c = parse_config(
            "feishu",
            &json!({ "url": "https://open.feishu.cn/open-apis/bot/v2/hook/abc", "secret": "s3cret" }),
            None,
        )
        .unwrap();
        assert!(c.has_secret());
        let c = parse_config(
            "wecom",
            &json!({ "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123" }),
            None,
        )
        .unwrap();
        assert!(c.has_secret());
        let c = parse_config(
            "email",
            &json!({ "to": ["a@example.com", " b@example.org ", "A@example.com"] }),
            None,
        )
        .unwrap();
        assert_eq!(
            c,
            ChannelConfig::Email {
                to: vec!["a@example.com".into(), "b@example.org".into()]
            }
        );
        assert_eq!(c.target(), "a@example.com, b@example.org");
        assert_eq!(c.url(), None);
    }

    /// Each bad input with the field and reason it must be refused with.
    #[rustfmt::skip]
    fn bad_inputs() -> Vec<(&'static str, Value, (&'static str, &'static str))> {
        let url = |u: &str| json!({ "url": u });
        let ding = |secret: Value| json!({ "url": DING, "secret": secret });
        let hook = |secret: Value| json!({ "url": "https://h.example/", "secret": secret });
        let to = |to: Value| json!({ "to": to });
        vec![
            ("sms", json!({}), ("kind", "unknown_kind")),
            ("webhook", json!("x"), ("config", "not_object")),
            ("webhook", json!({ "url": "https://a.example/", "extra": 1 }), ("config", "unknown_field")),
            ("wecom", json!({ "url": "https://q.example/?key=a", "secret": "x" }), ("config", "unknown_field")),
            ("webhook", json!({}), ("config.url", "required")),
            ("webhook", url(""), ("config.url", "required")),
            ("webhook", json!({ "url": 5 }), ("config.url", "bad_url")),
            ("webhook", url("not a url"), ("config.url", "bad_url")),
            ("webhook", url("/relative/path"), ("config.url", "bad_url")),
            ("webhook", url("ftp://files.example/"), ("config.url", "bad_url")),
            ("webhook", url("https://user:pw@a.example/"), ("config.url", "bad_url")),
            ("webhook", url("https://user@a.example/"), ("config.url", "bad_url")),
            ("webhook", url(&format!("https://a.example/{}", "x".repeat(2048))), ("config.url", "bad_url")),
            ("dingtalk", url("http://oapi.dingtalk.com/robot/send"), ("config.url", "not_https")),
            ("feishu", url("http://open.feishu.cn/x"), ("config.url", "not_https")),
            ("wecom", url("http://qyapi.weixin.qq.com/send?key=abc"), ("config.url", "not_https")),
            ("wecom", url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send"), ("config.url", "missing_key")),
            ("wecom", url("https://qyapi.weixin.qq.com/send?key="), ("config.url", "missing_key")),
            ("dingtalk", ding(json!("0123456789abc")), ("config.secret", "bad_secret")),
            ("dingtalk", ding(json!("SEC123")), ("config.secret", "bad_secret")),
            ("dingtalk", ding(json!("SEC 123456789")), ("config.secret", "bad_secret")),
            ("dingtalk", ding(json!(format!("SEC{}", "a".repeat(198)))), ("config.secret", "bad_secret")),
            ("webhook", hook(json!("tab\there")), ("config.secret", "bad_secret")),
            ("webhook", hook(json!("密钥")), ("config.secret", "bad_secret")),
            ("webhook", hook(json!("x".repeat(201))), ("config.secret", "bad_secret")),
            ("feishu", hook(json!(42)), ("config.secret", "bad_secret")),
            ("email", json!({}), ("config.to", "required")),
            ("email", to(json!([])), ("config.to", "required")),
            ("email", to(json!("a@example.com")), ("config.to", "bad_address")),
            ("email", to(json!(["a@example.com", "not-an-address"])), ("config.to", "bad_address")),
            ("email", to(json!(["Alice <a@example.com>"])), ("config.to", "bad_address")),
            ("email", to(json!([7])), ("config.to", "bad_address")),
        ]
    }

    #[test]
    fn rejects_bad_input_with_field_and_reason() {
        for (kind, config, want) in bad_inputs() {
            assert_eq!(why(parse_config(kind, &config, None)), want, "{kind} {config}");
        }
        let many: Vec<String> = (0..21).map(|i| format!("u{i}@example.com")).collect();
        assert_eq!(
            why(parse_config("email", &json!({ "to": many }), None)),
            ("config.to", "too_many")
        );
        let longest = format!("SEC{}", "a".repeat(197));
        assert!(parse_config("dingtalk", &json!({ "url": DING, "secret": longest }), None).is_ok());
    }

    #[test]
    fn edits_keep_what_was_left_out() {
        let old = parse_config("dingtalk", &json!({ "url": DING, "secret": DING_SECRET }), None).unwrap();
        let kept = parse_config("dingtalk", &json!({}), Some(&old)).unwrap();
        assert_eq!(kept, old);
        let kept = parse_config("dingtalk", &json!({ "url": null, "secret": null }), Some(&old)).unwrap();
        assert_eq!(kept, old);
        let moved = parse_config(
            "dingtalk",
            &json!({ "url": "https://oapi.dingtalk.com/robot/send?access_token=new" }),
            Some(&old),
        )
        .unwrap();
        assert_eq!(moved.secret(), Some(DING_SECRET));
        let cleared = parse_config("dingtalk", &json!({ "secret": "" }), Some(&old)).unwrap();
        assert!(!cleared.has_secret());
        // Another kind does not inherit the secret (nor the URL).
        let other = parse_config("feishu", &json!({ "url": "https://open.feishu.cn/x" }), Some(&old)).unwrap();
        assert!(!other.has_secret());
        assert_eq!(
            why(parse_config("feishu", &json!({}), Some(&old))),
            ("config.url", "required")
        );
    }
}
