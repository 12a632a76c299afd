//! Email delivery: one SMTP session per message through the configured server (STARTTLS, implicit TLS, or
//! plain for a relay on this machine), with the server's CA added when configured.
use super::answer::clip;
use super::text::{text, title};
use super::Message;
use crate::config::NotificationConfig;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// Sends one message to every address at once. Ok: the server's reply code and first line.
pub(super) async fn send_email(cfg: &NotificationConfig, to: &[String], msg: &Message) -> Result<String, String> {
    let smtp = &cfg.smtp;
    let host = smtp
        .host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| "no SMTP server configured".to_string())?;
    let from = smtp
        .from
        .parse::<Mailbox>()
        .map_err(|e| format!("the sender address {:?} is not valid: {e}", smtp.from))?;
    let mut email = lettre::Message::builder()
        .from(from)
        .subject(title(msg))
        .header(ContentType::TEXT_PLAIN);
    for address in to {
        let mailbox = address
            .parse::<Mailbox>()
            .map_err(|e| format!("the address {address:?} is not valid: {e}"))?;
        email = email.to(mailbox);
    }
    let email = email
        .body(text(msg))
        .map_err(|e| format!("cannot build the message: {e}"))?;

    let tls = match smtp.security.as_str() {
        "none" => Tls::None,
        security => {
            let mut params = TlsParameters::builder(host.to_string());
            if let Some(ca) = &smtp.ca_file {
                let pem = tokio::fs::read(ca)
                    .await
                    .map_err(|e| format!("cannot read the CA file {}: {e}", ca.display()))?;
                let cert =
                    Certificate::from_pem(&pem).map_err(|e| format!("the CA file {} is not PEM: {e}", ca.display()))?;
                params = params.add_root_certificate(cert);
            }
            let params = params.build().map_err(|e| format!("cannot set up TLS: {e}"))?;
            if security == "tls" {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        }
    };
    let timeout = Duration::from_secs(cfg.timeout_seconds.max(1));
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let Some(user) = &smtp.username {
        let password = smtp.password.as_ref().map(|p| p.0.clone()).unwrap_or_default();
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    let transport: AsyncSmtpTransport<Tokio1Executor> = transport.build();
    // lettre's timeout is per network operation; a server answering slowly to each would otherwise hold the
    // delivery for much longer.
    let sent = tokio::time::timeout(timeout * 3, transport.send(email))
        .await
        .map_err(|_| format!("timed out after {} s", timeout.as_secs() * 3))?;
    match sent {
        Ok(response) => Ok(clip(&format!(
            "{} {}",
            response.code(),
            response.first_line().unwrap_or_default()
        ))),
        Err(e) => Err(clip(&format!("{host}:{}: {e}", smtp.port))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::notify::sample;

    #[tokio::test]
    async fn email_needs_a_server_and_valid_addresses() {
        let cfg = NotificationConfig::default();
        assert_eq!(
            send_email(&cfg, &["ops@example.com".to_string()], &sample("en"))
                .await
                .unwrap_err(),
            "no SMTP server configured"
        );
        let mut cfg = NotificationConfig::default();
        cfg.smtp.host = Some("mail.example.com".into());
        cfg.smtp.from = "not an address".into();
        let e = send_email(&cfg, &["ops@example.com".to_string()], &sample("en"))
            .await
            .unwrap_err();
        assert!(e.starts_with("the sender address"), "{e}");
    }
}
