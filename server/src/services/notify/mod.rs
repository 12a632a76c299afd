//! Notifications: what a message says, the channels it goes through (email, webhooks, and the DingTalk, Feishu
//! and WeCom robots), the checks of a channel's settings and of where it points, and one delivery attempt.
mod answer;
mod channel;
mod email;
mod guard;
mod parse;
mod send;
mod sign;
mod text;
mod words;

pub use channel::ChannelConfig;
pub use guard::check_url;
pub use parse::parse_config;
pub use send::send;
pub use sign::{dingtalk_sign, feishu_sign, webhook_signature};
pub use text::{markdown, text, title, truncate_bytes};

/// What one notification says (kept on its delivery's row as JSON; never holds a secret).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// `firing`, `resolved` or `test`.
    pub status: String,
    /// The rule's name.
    pub rule: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// e.g. `vm_cpu_percent`.
    pub metric: String,
    /// `vm`, `host`, `pool` or `task`.
    pub target_kind: String,
    pub target_id: String,
    pub target_name: String,
    pub value: f64,
    pub threshold: f64,
    /// `gt`, `ge`, `lt` or `le`.
    pub comparison: String,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Absolute URL of the VM's or host's page (may be empty); stored as a path until it is sent.
    pub link: String,
    /// `en` or `zh-CN` (anything else reads as English).
    pub language: String,
}

/// A firing CPU alert on `vm-01`, for the submodules' tests.
#[cfg(test)]
pub(crate) fn sample(language: &str) -> Message {
    Message {
        status: "firing".into(),
        rule: "high cpu".into(),
        severity: "critical".into(),
        metric: "vm_cpu_percent".into(),
        target_kind: "vm".into(),
        target_id: "7b0c".into(),
        target_name: "vm-01".into(),
        value: 72.3,
        threshold: 50.0,
        comparison: "gt".into(),
        started_at: 1_700_000_000_000,
        link: "https://hangar.example.com/vms/7b0c".into(),
        language: language.into(),
    }
}
