//! The vocabulary of notifications in English and Chinese: metric names and units, status and severity words,
//! labels, and how values and times are written.
use super::Message;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Unit {
    Percent,
    BytesPerSecond,
    /// Something happened (crash, host offline, failed task): value and threshold say nothing more.
    Event,
    Plain,
}

/// Each metric Hangar watches: its key, its name in English and in Chinese, and its unit.
#[rustfmt::skip]
const METRICS: &[(&str, &str, &str, Unit)] = &[
    ("vm_cpu_percent", "CPU usage", "CPU 使用率", Unit::Percent),
    ("vm_memory_percent", "memory usage", "内存使用率", Unit::Percent),
    ("vm_disk_read_bytes_per_second", "disk reads", "磁盘读取速率", Unit::BytesPerSecond),
    ("vm_disk_write_bytes_per_second", "disk writes", "磁盘写入速率", Unit::BytesPerSecond),
    ("vm_net_rx_bytes_per_second", "network in", "网络接收速率", Unit::BytesPerSecond),
    ("vm_net_tx_bytes_per_second", "network out", "网络发送速率", Unit::BytesPerSecond),
    ("vm_crashed", "crashed", "已崩溃", Unit::Event),
    ("host_cpu_percent", "host CPU usage", "主机 CPU 使用率", Unit::Percent),
    ("host_memory_percent", "host memory usage", "主机内存使用率", Unit::Percent),
    ("host_offline", "offline", "离线", Unit::Event),
    ("pool_usage_percent", "storage pool usage", "存储池使用率", Unit::Percent),
    ("task_failed", "failed", "失败", Unit::Event),
];

pub(super) struct Words {
    pub firing: &'static str,
    pub resolved: &'static str,
    pub test: &'static str,
    pub colon: &'static str,
    pub open: &'static str,
    pub close: &'static str,
    pub rule: &'static str,
    pub target: &'static str,
    pub metric: &'static str,
    pub value: &'static str,
    pub threshold: &'static str,
    pub started: &'static str,
    pub link: &'static str,
    pub open_link: &'static str,
    pub test_title: &'static str,
    pub test_body: &'static str,
}

const EN: Words = Words {
    firing: "FIRING",
    resolved: "RESOLVED",
    test: "TEST",
    colon: ": ",
    open: " (",
    close: ")",
    rule: "Rule",
    target: "Target",
    metric: "Metric",
    value: "Value",
    threshold: "Threshold",
    started: "Started at",
    link: "Link",
    open_link: "Open in Hangar",
    test_title: "Test message from Hangar",
    test_body: "If you can read this, Hangar's notifications reach this channel.",
};

const ZH: Words = Words {
    firing: "告警",
    resolved: "已恢复",
    test: "测试",
    colon: "：",
    open: "（",
    close: "）",
    rule: "规则",
    target: "对象",
    metric: "指标",
    value: "当前值",
    threshold: "阈值",
    started: "开始时间",
    link: "链接",
    open_link: "在 Hangar 中查看",
    test_title: "来自 Hangar 的测试消息",
    test_body: "能看到这条消息，说明 Hangar 的通知可以送达此渠道。",
};

fn chinese(msg: &Message) -> bool {
    msg.language.to_ascii_lowercase().starts_with("zh")
}

pub(super) fn words(msg: &Message) -> &'static Words {
    if chinese(msg) {
        &ZH
    } else {
        &EN
    }
}

fn metric(key: &str) -> Option<&'static (&'static str, &'static str, &'static str, Unit)> {
    METRICS.iter().find(|m| m.0 == key)
}

pub(super) fn unit(msg: &Message) -> Unit {
    metric(&msg.metric).map_or(Unit::Plain, |m| m.3)
}

/// The metric in words; an unknown one by its key.
pub(super) fn metric_name(msg: &Message) -> String {
    match metric(&msg.metric) {
        Some(m) if chinese(msg) => m.2.to_string(),
        Some(m) => m.1.to_string(),
        None => msg.metric.clone(),
    }
}

pub(super) fn severity(msg: &Message) -> String {
    if !chinese(msg) {
        return msg.severity.clone();
    }
    match msg.severity.as_str() {
        "info" => "提示".into(),
        "warning" => "警告".into(),
        "critical" => "严重".into(),
        other => other.into(),
    }
}

pub(super) fn kind_word(msg: &Message) -> String {
    let zh = chinese(msg);
    let w = match msg.target_kind.as_str() {
        "vm" if zh => "虚拟机",
        "vm" => "VM",
        "host" if zh => "主机",
        "pool" if zh => "存储池",
        "pool" => "storage pool",
        "task" if zh => "任务",
        other => other,
    };
    w.to_string()
}

pub(super) fn comparison(c: &str) -> &str {
    match c {
        "gt" => ">",
        "ge" => "≥",
        "lt" => "<",
        "le" => "≤",
        other => other,
    }
}

/// A value with its unit: `72.3 %`, `50 %`, `1.5 MiB/s`, `512 B/s`, `3`.
pub(super) fn format_value(v: f64, unit: Unit) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    const K: f64 = 1024.0;
    match unit {
        Unit::Percent if v.fract() == 0.0 => format!("{v:.0} %"),
        Unit::Percent => format!("{v:.1} %"),
        Unit::BytesPerSecond if v.abs() < K => format!("{v:.0} B/s"),
        Unit::BytesPerSecond if v.abs() < K * K => format!("{:.1} KiB/s", v / K),
        Unit::BytesPerSecond if v.abs() < K * K * K => format!("{:.1} MiB/s", v / (K * K)),
        Unit::BytesPerSecond => format!("{:.1} GiB/s", v / (K * K * K)),
        Unit::Event | Unit::Plain if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Unit::Event | Unit::Plain => format!("{v:.2}"),
    }
}

/// A time in UTC for people: `2024-05-01 12:00:00 UTC` (the raw milliseconds if out of range).
pub(crate) fn utc_text(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// A time for machines: RFC 3339 in UTC (the raw milliseconds if out of range).
pub(crate) fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::notify::sample;

    #[test]
    fn values_with_units() {
        assert_eq!(format_value(72.3, Unit::Percent), "72.3 %");
        assert_eq!(format_value(50.0, Unit::Percent), "50 %");
        assert_eq!(format_value(512.0, Unit::BytesPerSecond), "512 B/s");
        assert_eq!(format_value(2048.0, Unit::BytesPerSecond), "2.0 KiB/s");
        assert_eq!(format_value(1.5 * 1024.0 * 1024.0, Unit::BytesPerSecond), "1.5 MiB/s");
        assert_eq!(
            format_value(3.0 * 1024.0 * 1024.0 * 1024.0, Unit::BytesPerSecond),
            "3.0 GiB/s"
        );
        assert_eq!(format_value(3.0, Unit::Plain), "3");
        assert_eq!(format_value(0.123, Unit::Plain), "0.12");
        assert_eq!(format_value(f64::NAN, Unit::Percent), "NaN");
    }

    #[test]
    fn every_metric_has_both_names() {
        for (key, en, zh, _) in METRICS {
            let mut m = sample("en");
            m.metric = key.to_string();
            assert_eq!(metric_name(&m), *en);
            m.language = "zh-CN".into();
            assert_eq!(metric_name(&m), *zh);
        }
        assert_eq!(METRICS.len(), 12);
    }

    #[test]
    fn times() {
        assert_eq!(utc_text(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
    }
}
