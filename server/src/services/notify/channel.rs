//! A notification channel's saved settings. Secrets never appear in `Debug` output or listings: robot URLs carry
//! their token in the path or query string, so only scheme, host and port are ever shown.
use std::fmt;

/// A channel's saved configuration (stored encrypted, as JSON, by the caller).
#[derive(Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelConfig {
    Email { to: Vec<String> },
    Webhook { url: String, secret: Option<String> },
    Dingtalk { url: String, secret: Option<String> },
    Feishu { url: String, secret: Option<String> },
    Wecom { url: String },
}

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redacted(f: &mut fmt::Formatter<'_>, name: &str, url: &str, secret: bool) -> fmt::Result {
            let mut d = f.debug_struct(name);
            d.field("url", &shown_url(url));
            if secret {
                d.field("secret", &"[redacted]");
            }
            d.finish()
        }
        match self {
            ChannelConfig::Email { to } => f.debug_struct("Email").field("to", to).finish(),
            ChannelConfig::Webhook { url, secret } => redacted(f, "Webhook", url, secret.is_some()),
            ChannelConfig::Dingtalk { url, secret } => redacted(f, "Dingtalk", url, secret.is_some()),
            ChannelConfig::Feishu { url, secret } => redacted(f, "Feishu", url, secret.is_some()),
            ChannelConfig::Wecom { url } => redacted(f, "Wecom", url, false),
        }
    }
}

impl ChannelConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Email { .. } => "email",
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Dingtalk { .. } => "dingtalk",
            ChannelConfig::Feishu { .. } => "feishu",
            ChannelConfig::Wecom { .. } => "wecom",
        }
    }

    /// Where messages go, with secrets hidden: `https://oapi.dingtalk.com/…`, or the mail addresses.
    pub fn target(&self) -> String {
        match self {
            ChannelConfig::Email { to } => to.join(", "),
            _ => self.url().map(shown_url).unwrap_or_default(),
        }
    }

    /// Whether a signing secret, or a WeCom key, is set.
    pub fn has_secret(&self) -> bool {
        match self {
            ChannelConfig::Email { .. } => false,
            ChannelConfig::Webhook { secret, .. }
            | ChannelConfig::Dingtalk { secret, .. }
            | ChannelConfig::Feishu { secret, .. } => secret.is_some(),
            ChannelConfig::Wecom { url } => has_key(url),
        }
    }

    /// The URL the sender will contact (none for email).
    pub fn url(&self) -> Option<&str> {
        match self {
            ChannelConfig::Email { .. } => None,
            ChannelConfig::Webhook { url, .. }
            | ChannelConfig::Dingtalk { url, .. }
            | ChannelConfig::Feishu { url, .. }
            | ChannelConfig::Wecom { url } => Some(url),
        }
    }

    /// The signing secret, if any.
    pub(crate) fn secret(&self) -> Option<&str> {
        match self {
            ChannelConfig::Webhook { secret, .. }
            | ChannelConfig::Dingtalk { secret, .. }
            | ChannelConfig::Feishu { secret, .. } => secret.as_deref(),
            ChannelConfig::Email { .. } | ChannelConfig::Wecom { .. } => None,
        }
    }
}

/// Scheme, host and port followed by `/…`: the path and query of a robot URL hold its token.
pub(crate) fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or_default();
            match u.port() {
                Some(port) => format!("{}://{host}:{port}/…", u.scheme()),
                None => format!("{}://{host}/…", u.scheme()),
            }
        }
        Err(_) => "(invalid URL)".into(),
    }
}

pub(super) fn has_key(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| u.query_pairs().any(|(k, v)| k == "key" && !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::notify::parse_config;
    use serde_json::json;

    const DING: &str = "https://oapi.dingtalk.com/robot/send?access_token=tok123456789";
    const DING_SECRET: &str = "SEC0123456789abcdef";

    #[test]
    fn debug_and_target_hide_secrets_and_queries() {
        let configs = [
            parse_config("dingtalk", &json!({ "url": DING, "secret": DING_SECRET }), None).unwrap(),
            parse_config(
                "webhook",
                &json!({ "url": "https://h.example:8443/p/tok999999?sig=q55555", "secret": "whsecret" }),
                None,
            )
            .unwrap(),
            parse_config(
                "wecom",
                &json!({ "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wk777777" }),
                None,
            )
            .unwrap(),
        ];
        for c in &configs {
            for shown in [format!("{c:?}"), c.target()] {
                for hidden in [
                    "tok123456789",
                    DING_SECRET,
                    "tok999999",
                    "q55555",
                    "whsecret",
                    "wk777777",
                    "access_token",
                ] {
                    assert!(!shown.contains(hidden), "{shown} shows {hidden}");
                }
            }
        }
        assert_eq!(configs[0].target(), "https://oapi.dingtalk.com/…");
        assert_eq!(configs[1].target(), "https://h.example:8443/…");
        assert!(format!("{:?}", configs[0]).contains("[redacted]"));
    }

    #[test]
    fn saved_form_round_trips() {
        let c = parse_config(
            "feishu",
            &json!({ "url": "https://open.feishu.cn/x", "secret": "abc" }),
            None,
        )
        .unwrap();
        let saved = serde_json::to_value(&c).unwrap();
        assert_eq!(saved["kind"], "feishu");
        assert_eq!(serde_json::from_value::<ChannelConfig>(saved).unwrap(), c);
    }
}
