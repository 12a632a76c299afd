//! One delivery attempt through one channel: the request each receiver expects (Hangar's webhook JSON, the
//! DingTalk, Feishu and WeCom robots; email is in `email`), sent only to addresses the guard approved. Retries are
//! the caller's.
use super::answer::{clip, describe, judge, redact, refusal, sensitive_parts};
use super::channel::ChannelConfig;
use super::email::send_email;
use super::guard::{check_url, literal_ip};
use super::sign::{dingtalk_sign, feishu_sign, webhook_signature};
use super::text::{markdown, text, title, truncate_bytes};
use super::words::rfc3339;
use super::Message;
use crate::config::NotificationConfig;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

/// How much of a response body is read at most: robots answer with a few bytes of JSON.
const BODY_LIMIT: usize = 64 * 1024;
/// WeCom refuses markdown content longer than this many bytes.
const WECOM_MAX_BYTES: usize = 2048;

/// Sends one message through one channel, once. Ok: the remote answer in short; Err: what went wrong.
pub async fn send(
    cfg: &NotificationConfig,
    own: &[SocketAddr],
    channel: &ChannelConfig,
    msg: &Message,
) -> Result<String, String> {
    match channel {
        ChannelConfig::Email { to } => {
            let hide: Vec<String> = cfg.smtp.password.iter().map(|p| p.0.clone()).collect();
            send_email(cfg, to, msg).await.map_err(|e| redact(&e, &hide))
        }
        _ => send_http(cfg, own, channel, msg).await,
    }
}

async fn send_http(
    cfg: &NotificationConfig,
    own: &[SocketAddr],
    channel: &ChannelConfig,
    msg: &Message,
) -> Result<String, String> {
    let base = channel.url().unwrap_or_default();
    let mut hide = sensitive_parts(base);
    hide.extend(channel.secret().map(str::to_string));
    let (url, body, signature) = match channel {
        ChannelConfig::Webhook { secret, .. } => {
            let body = to_bytes(&webhook_body(msg))?;
            let signature = secret.as_deref().map(|s| webhook_signature(s, &body));
            hide.extend(signature.clone());
            (base.to_string(), body, signature)
        }
        ChannelConfig::Dingtalk { secret, .. } => {
            let body = json!({ "msgtype": "markdown", "markdown": { "title": title(msg), "text": markdown(msg) } });
            let url = match secret {
                Some(s) => {
                    let ts = now_ms();
                    let sign = dingtalk_sign(s, ts);
                    hide.push(sign.clone());
                    with_query(base, &format!("timestamp={ts}&sign={sign}"))?
                }
                None => base.to_string(),
            };
            (url, to_bytes(&body)?, None)
        }
        ChannelConfig::Feishu { secret, .. } => {
            let mut body = serde_json::Map::new();
            if let Some(s) = secret {
                let ts = now_ms() / 1000;
                let sign = feishu_sign(s, ts);
                hide.push(sign.clone());
                body.insert("timestamp".into(), json!(ts.to_string()));
                body.insert("sign".into(), json!(sign));
            }
            body.insert("msg_type".into(), json!("text"));
            body.insert("content".into(), json!({ "text": text(msg) }));
            (base.to_string(), to_bytes(&Value::Object(body))?, None)
        }
        ChannelConfig::Wecom { .. } => {
            let content = markdown(msg);
            let body =
                json!({ "msgtype": "markdown", "markdown": { "content": truncate_bytes(&content, WECOM_MAX_BYTES) } });
            (base.to_string(), to_bytes(&body)?, None)
        }
        ChannelConfig::Email { .. } => return Err("an email channel has no URL".into()),
    };
    let answer = match post(cfg, own, &url, body, signature).await {
        Ok((status, body)) => judge(channel.kind(), status, &body),
        Err(e) => Err(e),
    };
    answer
        .map(|s| clip(&redact(&s, &hide)))
        .map_err(|s| clip(&redact(&s, &hide)))
}

/// What Hangar's own webhooks receive.
fn webhook_body(msg: &Message) -> Value {
    json!({
        "status": msg.status,
        "rule": msg.rule,
        "severity": msg.severity,
        "metric": msg.metric,
        "target": { "kind": msg.target_kind, "id": msg.target_id, "name": msg.target_name },
        "value": msg.value,
        "threshold": msg.threshold,
        "comparison": msg.comparison,
        "started_at": rfc3339(msg.started_at),
        "started_at_ms": msg.started_at,
        "link": msg.link,
        "text": text(msg),
    })
}

fn to_bytes(body: &Value) -> Result<Vec<u8>, String> {
    serde_json::to_vec(body).map_err(|e| format!("cannot encode the message: {e}"))
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Appends already-encoded query parameters, after the URL's own ones if it has any.
fn with_query(url: &str, extra: &str) -> Result<String, String> {
    let mut parsed = reqwest::Url::parse(url).map_err(|_| "the channel's URL is not valid".to_string())?;
    parsed.set_fragment(None);
    let sep = if parsed.query().is_some() { '&' } else { '?' };
    Ok(format!("{parsed}{sep}{extra}"))
}

/// The POST itself, to the addresses `check_url` approved and nowhere else (no proxy, no redirect).
async fn post(
    cfg: &NotificationConfig,
    own: &[SocketAddr],
    url: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> Result<(reqwest::StatusCode, String), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "the channel's URL is not valid".to_string())?;
    let addrs = check_url(url, cfg.allow_private_webhooks, own).await.map_err(refusal)?;
    let mut builder = reqwest::Client::builder()
        .user_agent("Hangar")
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(cfg.timeout_seconds.max(1)))
        // A proxy would make its own DNS lookup and connection, past the address check.
        .no_proxy();
    let host = parsed.host_str().unwrap_or_default();
    if literal_ip(host).is_none() {
        builder = builder.resolve_to_addrs(host, &addrs);
    }
    let client = builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", describe(e)))?;
    let mut request = client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("x-hangar-signature", signature);
    }
    let mut response = request.send().await.map_err(describe)?;
    let status = response.status();
    let mut raw = Vec::new();
    // A failed or cut-short body still leaves the status to judge by.
    while raw.len() < BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => raw.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    raw.truncate(BODY_LIMIT);
    Ok((status, String::from_utf8_lossy(&raw).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::notify::sample;

    #[test]
    fn dingtalk_signature_goes_after_the_token() {
        let url = with_query(
            "https://oapi.dingtalk.com/robot/send?access_token=t#frag",
            "timestamp=1&sign=a%2Bb",
        )
        .unwrap();
        assert_eq!(
            url,
            "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1&sign=a%2Bb"
        );
        let url = with_query("https://example.com/hook", "timestamp=1&sign=s").unwrap();
        assert_eq!(url, "https://example.com/hook?timestamp=1&sign=s");
        // The encoded signature survives parsing on its way into the request.
        let parsed = reqwest::Url::parse("https://example.com/hook?timestamp=1&sign=a%2Bb%3D").unwrap();
        assert_eq!(parsed.as_str(), "https://example.com/hook?timestamp=1&sign=a%2Bb%3D");
    }

    #[test]
    fn webhook_body_has_every_field() {
        let body = webhook_body(&sample("en"));
        assert_eq!(body["target"]["name"], "vm-01");
        assert_eq!(body["started_at"], "2023-11-14T22:13:20Z");
        assert_eq!(body["started_at_ms"], 1_700_000_000_000i64);
        assert_eq!(body["value"], 72.3);
        assert!(body["text"].as_str().unwrap().contains("vm-01"));
    }

    #[tokio::test]
    async fn refused_urls_are_not_contacted() {
        let cfg = NotificationConfig::default();
        let channel = ChannelConfig::Webhook {
            url: "http://127.0.0.1:9/hook?token=abcdef123".into(),
            secret: Some("whsecret".into()),
        };
        let e = send(&cfg, &[], &channel, &sample("en")).await.unwrap_err();
        assert!(e.starts_with("refused: private_address"), "{e}");
        assert!(!e.contains("abcdef123") && !e.contains("whsecret"));
    }

    #[tokio::test]
    async fn webhook_delivery_is_signed_over_the_exact_body() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then as much body as Content-Length says.
            loop {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len: usize = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap();
                    if buf.len() >= head_end + 4 + len {
                        break;
                    }
                }
                assert!(n > 0);
            }
            sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await
                .unwrap();
            buf
        });
        let cfg = NotificationConfig {
            allow_private_webhooks: true,
            ..Default::default()
        };
        let channel = ChannelConfig::Webhook {
            url: format!("http://127.0.0.1:{port}/hook"),
            secret: Some("topsecret".into()),
        };
        let answer = send(&cfg, &[], &channel, &sample("en")).await.unwrap();
        assert_eq!(answer, "200 OK: ok");
        let request = server.await.unwrap();
        let text = String::from_utf8(request).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("post /hook http/1.1"), "{head}");
        assert!(head.contains("user-agent: hangar"));
        assert!(head.contains("content-type: application/json"));
        let want = webhook_signature("topsecret", body.as_bytes());
        assert!(head.contains(&format!("x-hangar-signature: {want}")), "{head}");
        let json: Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["rule"], "high cpu");
    }
}
