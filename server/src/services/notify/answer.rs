//! A delivery's answer in words for the delivery log: whether the receiver took the message, clipped to a
//! readable length, and scrubbed of the secret, the signature and the URL's query (robot tokens live there).
use crate::error::Error;
use serde_json::Value;

/// How much of an answer is kept for the log.
const SUMMARY_CHARS: usize = 500;

/// Whether the receiver took the message: a 2xx status, and for robots a zero error code in the JSON answer
/// (they answer 200 with an error code when the token, signature or content is wrong).
pub(super) fn judge(kind: &str, status: reqwest::StatusCode, body: &str) -> Result<String, String> {
    // Clipped by the caller after redaction: a secret cut at the clip would escape it.
    let summary = format!("{status}: {}", body.trim());
    if !status.is_success() {
        return Err(summary);
    }
    let code = |key: &str| {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get(key).and_then(Value::as_i64))
    };
    let accepted = match kind {
        "dingtalk" | "wecom" => code("errcode") == Some(0),
        "feishu" => code("code") == Some(0) || code("StatusCode") == Some(0),
        _ => true,
    };
    if accepted {
        Ok(summary)
    } else {
        Err(summary)
    }
}

pub(super) fn clip(s: &str) -> String {
    match s.char_indices().nth(SUMMARY_CHARS) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// A refused address in words (the stable reason first, for whoever reads the log).
pub(super) fn refusal(e: Error) -> String {
    match e {
        Error::Invalid { reason, .. } => {
            let why = match reason {
                "private_address" => "the host is in a loopback, private or link-local network",
                "own_address" => "the URL points at Hangar itself",
                "unresolvable" => "the host name does not resolve",
                _ => "the URL is not valid",
            };
            format!("refused: {reason}: {why}")
        }
        other => other.to_string(),
    }
}

/// A request error without its URL (reqwest names it, query string and all), with its causes.
pub(super) fn describe(e: reqwest::Error) -> String {
    let prefix = if e.is_timeout() { "timed out: " } else { "" };
    let e = e.without_url();
    let mut out = format!("{prefix}{e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// The parts of a URL that must not reach the log: its query and each query value (robot tokens and keys).
pub(super) fn sensitive_parts(url: &str) -> Vec<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return vec![url.to_string()];
    };
    let mut out: Vec<String> = parsed.query().map(str::to_string).into_iter().collect();
    // Robots keep their token in the path too (Feishu's `/hook/<token>`): long segments are hidden as well.
    for seg in parsed.path_segments().into_iter().flatten() {
        if seg.len() >= 8 {
            out.push(seg.to_string());
        }
    }
    for (_, value) in parsed.query_pairs() {
        // Short values (`1`, `true`) are no secret and would blank out unrelated text.
        if value.len() >= 6 {
            out.push(value.into_owned());
        }
    }
    out
}

pub(super) fn redact(text: &str, hide: &[String]) -> String {
    let mut hide: Vec<&String> = hide.iter().filter(|h| !h.is_empty()).collect();
    // Longest first, so a value is not half-replaced through a shorter one inside it.
    hide.sort_by_key(|h| std::cmp::Reverse(h.len()));
    let mut out = text.to_string();
    for h in hide {
        out = out.replace(h.as_str(), "[redacted]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn robots_succeed_only_with_a_zero_code() {
        let ok = StatusCode::OK;
        assert!(judge("dingtalk", ok, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        let e = judge("dingtalk", ok, r#"{"errcode":310000,"errmsg":"sign not match"}"#).unwrap_err();
        assert!(e.starts_with("200 OK: ") && e.contains("310000"), "{e}");
        assert!(judge("wecom", ok, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(judge("wecom", ok, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#).is_err());
        assert!(judge("wecom", ok, "<html>not json</html>").is_err());
        assert!(judge("feishu", ok, r#"{"code":0,"msg":"success"}"#).is_ok());
        assert!(judge("feishu", ok, r#"{"StatusCode":0,"StatusMessage":"success"}"#).is_ok());
        assert!(judge("feishu", ok, r#"{"code":19021,"msg":"sign match fail"}"#).is_err());
        assert!(judge("webhook", StatusCode::NO_CONTENT, "").is_ok());
        let e = judge("webhook", StatusCode::INTERNAL_SERVER_ERROR, "boom").unwrap_err();
        assert_eq!(e, "500 Internal Server Error: boom");
        assert!(judge("dingtalk", StatusCode::FOUND, r#"{"errcode":0}"#).is_err());
    }

    #[test]
    fn answers_are_clipped_after_redaction() {
        let long = "x".repeat(2000);
        let s = clip(&judge("webhook", StatusCode::OK, &long).unwrap());
        assert_eq!(s.chars().count(), SUMMARY_CHARS + 1);
        assert_eq!(clip("短"), "短");
        // A secret straddling the clip is hidden whole before anything is cut.
        let echo = format!("{}token=QUERYSECRETLONG0123456789", "y".repeat(SUMMARY_CHARS - 10));
        let hide = sensitive_parts("https://h.example/pad?token=QUERYSECRETLONG0123456789");
        let out = clip(&redact(&judge("webhook", StatusCode::OK, &echo).unwrap(), &hide));
        assert!(!out.contains("QUERYS"), "{out}");
        // And a token in the path (Feishu's) too.
        let hide = sensitive_parts("https://open.feishu.cn/open-apis/bot/v2/hook/FEISHUTOKEN-0001");
        assert_eq!(
            redact("POST /open-apis/bot/v2/hook/FEISHUTOKEN-0001", &hide),
            "POST /[redacted]/bot/v2/hook/[redacted]"
        );
    }

    #[test]
    fn secrets_and_queries_are_scrubbed() {
        let url = "https://oapi.dingtalk.com/robot/send?access_token=tok123456789&x=1";
        let hide = sensitive_parts(url);
        let text = format!("error for {url}: token tok123456789 rejected, x=1");
        let out = redact(&text, &hide);
        assert!(!out.contains("tok123456789"), "{out}");
        assert!(out.contains("x=1"), "short values stay: {out}");
    }
}
