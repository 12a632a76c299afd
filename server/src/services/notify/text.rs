//! What a notification says, in English or Chinese: a title, plain text and markdown built from the message
//! alone (pure functions, so every channel says the same thing and tests can read it).
use super::words::{comparison, format_value, kind_word, metric_name, severity, unit, utc_text, words, Unit};
use super::Message;

/// Names come from users: a line break in one must not start a line of its own in the message.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Keeps a name from turning into markdown emphasis, links, code or HTML.
fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '*' | '[' | ']' | '`' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn target_name(msg: &Message) -> &str {
    if msg.target_name.is_empty() {
        &msg.target_id
    } else {
        &msg.target_name
    }
}

fn build_title(msg: &Message, esc: fn(&str) -> String) -> String {
    let w = words(msg);
    if msg.status == "test" {
        return format!("[{}] {}", w.test, w.test_title);
    }
    let status = match msg.status.as_str() {
        "firing" => w.firing.to_string(),
        "resolved" => w.resolved.to_string(),
        other => esc(&other.to_uppercase()),
    };
    let name = esc(target_name(msg));
    let what = match unit(msg) {
        Unit::Event => format!("{name} {}", metric_name(msg)),
        u => format!(
            "{name} {} {} {}{}{}{}",
            esc(&metric_name(msg)),
            comparison(&msg.comparison),
            format_value(msg.threshold, u),
            w.open,
            format_value(msg.value, u),
            w.close
        ),
    };
    format!("[{status}] {}{}{what}", esc(&severity(msg)), w.colon)
}

/// The lines after the title, each `(label, value)`; values already escaped with `esc`.
fn lines(msg: &Message, esc: fn(&str) -> String) -> Vec<(&'static str, String)> {
    let w = words(msg);
    let mut out = Vec::new();
    if msg.status == "test" {
        out.push(("", w.test_body.to_string()));
        return out;
    }
    if !msg.rule.is_empty() {
        out.push((w.rule, esc(&msg.rule)));
    }
    out.push((w.target, format!("{} {}", kind_word(msg), esc(target_name(msg)))));
    let name = metric_name(msg);
    let metric_line = if name == msg.metric {
        esc(&name)
    } else {
        format!("{}{}{}{}", name, w.open, esc(&msg.metric), w.close)
    };
    out.push((w.metric, metric_line));
    let u = unit(msg);
    if u != Unit::Event {
        out.push((w.value, format_value(msg.value, u)));
        out.push((
            w.threshold,
            format!("{} {}", comparison(&msg.comparison), format_value(msg.threshold, u)),
        ));
    }
    if msg.started_at > 0 {
        out.push((w.started, utc_text(msg.started_at)));
    }
    out
}

/// A one-line summary: `[FIRING] critical: vm-01 CPU usage > 50 % (72.3 %)`, `[已恢复] 严重：…`.
pub fn title(msg: &Message) -> String {
    build_title(msg, clean)
}

/// The plain-text message (email body, Feishu text, webhook `text`): the title, then one line per fact.
pub fn text(msg: &Message) -> String {
    let w = words(msg);
    let mut out = title(msg);
    for (label, value) in lines(msg, clean) {
        out.push('\n');
        if !label.is_empty() {
            out.push_str(label);
            out.push_str(w.colon);
        }
        out.push_str(&value);
    }
    if !msg.link.is_empty() {
        out.push('\n');
        out.push_str(w.link);
        out.push_str(w.colon);
        out.push_str(&clean(&msg.link));
    }
    out
}

/// The markdown message (DingTalk, WeCom): paragraphs rather than single line breaks, which DingTalk ignores.
pub fn markdown(msg: &Message) -> String {
    let w = words(msg);
    let mut out = format!("### {}", build_title(msg, escape_md));
    for (label, value) in lines(msg, escape_md) {
        out.push_str("\n\n");
        if !label.is_empty() {
            out.push_str(&format!("**{label}**{}", w.colon));
        }
        out.push_str(&value);
    }
    if !msg.link.is_empty() {
        let link: String = clean(&msg.link).replace(' ', "%20").replace(')', "%29");
        out.push_str(&format!("\n\n[{}]({link})", w.open_link));
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::notify::sample;

    #[test]
    fn english_title_and_text() {
        let m = sample("en");
        assert_eq!(title(&m), "[FIRING] critical: vm-01 CPU usage > 50 % (72.3 %)");
        let t = text(&m);
        assert!(t.contains("vm-01") && t.contains("72.3 %"), "{t}");
        assert!(t.contains("Rule: high cpu"));
        assert!(t.contains("Target: VM vm-01"));
        assert!(t.contains("Metric: CPU usage (vm_cpu_percent)"));
        assert!(t.contains("Threshold: > 50 %"));
        assert!(t.contains("Started at: 2023-11-14 22:13:20 UTC"), "{t}");
        assert!(t.ends_with("Link: https://hangar.example.com/vms/7b0c"));
    }

    #[test]
    fn chinese_title_and_text() {
        let mut m = sample("zh-CN");
        m.status = "resolved".into();
        let t = title(&m);
        assert!(t.starts_with("[已恢复] 严重：vm-01"), "{t}");
        assert!(t.contains("72.3 %"), "{t}");
        let body = text(&m);
        assert!(body.contains("对象：虚拟机 vm-01"), "{body}");
        assert!(body.contains("当前值：72.3 %"), "{body}");
        assert!(markdown(&m).contains("vm-01") && markdown(&m).contains("72.3 %"));
    }

    #[test]
    fn test_messages_say_so() {
        let mut m = sample("en");
        m.status = "test".into();
        assert!(title(&m).contains("Test message from Hangar"));
        m.language = "zh-CN".into();
        assert!(title(&m).contains("来自 Hangar 的测试消息"));
        assert!(text(&m).contains("来自 Hangar 的测试消息"));
    }

    #[test]
    fn rates_events_and_unknown_metrics() {
        let mut m = sample("en");
        m.metric = "vm_net_rx_bytes_per_second".into();
        m.value = 3.5 * 1024.0 * 1024.0;
        m.threshold = 1024.0 * 1024.0;
        assert!(title(&m).contains("> 1.0 MiB/s (3.5 MiB/s)"), "{}", title(&m));
        m.metric = "vm_crashed".into();
        assert_eq!(title(&m), "[FIRING] critical: vm-01 crashed");
        assert!(!text(&m).contains("Threshold"));
        m.metric = "something_new".into();
        m.value = 3.0;
        assert!(title(&m).contains("something_new > 1048576 (3)"), "{}", title(&m));
    }

    #[test]
    fn names_cannot_forge_lines_or_markup() {
        let mut m = sample("en");
        m.target_name = "evil\nLink: https://phish.example [x](y)".into();
        assert!(!text(&m).contains("\nLink: https://phish"));
        let md = markdown(&m);
        assert!(md.contains(r"\[x\](y)"), "{md}");
    }

    #[test]
    fn truncation_ends_on_a_character_boundary() {
        assert_eq!(truncate_bytes("你好世界", 7), "你好");
        assert_eq!(truncate_bytes("你好", 6), "你好");
        assert_eq!(truncate_bytes("abc", 0), "");
        let mut m = sample("zh-CN");
        m.target_name = "很长的名字".repeat(200);
        let md = markdown(&m);
        assert!(md.len() > 2048);
        for max in 2040..=2048 {
            let cut = truncate_bytes(&md, max);
            assert!(cut.len() <= max && cut.len() > max - 3);
            assert!(md.starts_with(cut));
        }
    }
}
