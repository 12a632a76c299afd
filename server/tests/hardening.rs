//! The foundation under attack: ids never reused, token load, parallel guessing, a restart during a lockout,
//! oversized input, streams of accounts that lose their standing, error shapes, slow clients, password resets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{ApiToken, CreateToken, CreatedToken};
use common::{TestServer, ADMIN_PW, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn user_host_and_token_ids_are_never_reused() {
    let mut srv = TestServer::start().await;
    let admin = srv.admin().await;
    let a = srv.create_user(&admin, "ada", PW_USER, "user").await;
    assert_eq!(
        admin.call(Method::DELETE, &format!("/api/v1/users/{a}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    let b = srv.create_user(&admin, "bea", PW_USER, "user").await;
    assert!(b > a, "a new account got the deleted account's id {a}");
    let (_, t1) = admin
        .call(Method::POST, "/api/v1/tokens", Some(json!({"name": "one"})))
        .await;
    let t1 = t1["token"]["id"].as_i64().unwrap();
    admin.call(Method::DELETE, &format!("/api/v1/tokens/{t1}"), None).await;
    let (_, t2) = admin
        .call(Method::POST, "/api/v1/tokens", Some(json!({"name": "two"})))
        .await;
    assert!(t2["token"]["id"].as_i64().unwrap() > t1);

    // Across a restart too, and for the account with the highest id.
    admin.call(Method::DELETE, &format!("/api/v1/users/{b}"), None).await;
    srv.restart().await;
    let admin = srv.admin().await;
    let c = srv.create_user(&admin, "cal", PW_USER, "user").await;
    assert!(c > b, "{c} reuses a deleted id (highest was {b})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_token_clients_get_no_server_errors() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (_, t) = admin
        .send_as::<_, CreatedToken>(Method::POST, "/api/v1/tokens", &CreateToken { name: "load".into() })
        .await;
    let secret = t.unwrap().secret;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (base, secret) = (srv.base.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut errors = Vec::new();
            for i in 0..25 {
                let path = if i % 2 == 0 { "/api/v1/auth/me" } else { "/api/v1/vms" };
                let r = http
                    .get(format!("{base}{path}"))
                    .bearer_auth(&secret)
                    .send()
                    .await
                    .unwrap();
                if r.status() != StatusCode::OK {
                    errors.push(format!("{path}: {} {}", r.status(), r.text().await.unwrap_or_default()));
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        errors.extend(t.await.unwrap());
    }
    assert!(errors.is_empty(), "{} failed, e.g. {:?}", errors.len(), errors.first());
    // The token's last use is written at most once a minute, not once per request.
    let list: Vec<ApiToken> = admin.get_as("/api/v1/tokens").await;
    let first = list[0].last_used_at.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut again = srv.client();
    again.bearer = Some(secret.clone());
    assert_eq!(again.get("/api/v1/auth/me").await.0, StatusCode::OK);
    let list: Vec<ApiToken> = admin.get_as("/api/v1/tokens").await;
    assert_eq!(list[0].last_used_at, Some(first), "rewritten within the minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_pass_the_limit_and_a_restart_keeps_the_lockout() {
    let mut srv = TestServer::start_with(|c| {
        c.login_throttle.per_account = 5;
        c.login_throttle.per_address = 1000;
    })
    .await;
    let admin = srv.admin().await;
    srv.create_user(&admin, "gus", PW_USER, "user").await;
    let guesses: Vec<_> = (0..19)
        .map(|_| {
            let base = srv.base.clone();
            tokio::spawn(async move {
                let c = common::Client::new(&base);
                c.call(
                    Method::POST,
                    "/api/v1/auth/login",
                    Some(json!({"username": "gus", "password": "wrong-wrong-wrong"})),
                )
                .await
                .0
            })
        })
        .collect();
    let mut wrong = 0;
    for g in guesses {
        match g.await.unwrap() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(wrong, 5, "exactly the limit's worth of guesses may be tried");

    srv.restart().await;
    let mut c = srv.client();
    assert_eq!(
        c.login("gus", PW_USER).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "a restart does not lift the lockout"
    );
}

#[tokio::test]
async fn oversized_and_throttled_sign_ins_store_little() {
    let srv = TestServer::start_with(|c| {
        c.login_throttle.per_account = 3;
        c.login_throttle.per_address = 10_000;
    })
    .await;
    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM audit_log")
        .fetch_one(&srv.state().db)
        .await
        .unwrap();
    let huge = "x".repeat(250_000);
    for _ in 0..40 {
        let c = srv.client();
        let (s, _) = c
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"username": huge, "password": "whatever-whatever"})),
            )
            .await;
        assert!(
            matches!(s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS),
            "{s}"
        );
    }
    let (records, bytes): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(target) + LENGTH(details) + LENGTH(COALESCE(actor, ''))), 0)
         FROM audit_log WHERE id > ?",
    )
    .bind(last)
    .fetch_one(&srv.state().db)
    .await
    .unwrap();
    // Three failures, then one refusal record: a minute's worth of refusals leaves one compact record.
    assert_eq!(records, 4, "records written");
    assert!(bytes < 4 * 400, "{bytes} bytes stored for {records} records");
}

/// Reads the event stream until it ends; `None` if it is still open after `secs`.
async fn stream_ends_within(resp: &mut reqwest::Response, secs: u64) -> Option<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Err(_) => return None,
            Ok(Ok(Some(_))) => continue,
            Ok(_) => return Some(()),
        }
    }
}

#[tokio::test]
async fn event_streams_end_when_the_account_loses_its_standing() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    for (name, change) in [
        ("hal", json!({"disabled": true})),
        ("ivy", json!({"role": "auditor"})),
        ("jo", json!({"password": "another-password-2"})),
    ] {
        let id = srv.create_user(&admin, name, PW_USER, "user").await;
        let mut u = srv.client();
        u.login_ok(name, PW_USER).await;
        let mut resp = u.request(Method::GET, "/api/v1/events").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            stream_ends_within(&mut resp, 1).await.is_none(),
            "{name}: open while nothing changed"
        );
        let (s, v) = admin
            .call(Method::PATCH, &format!("/api/v1/users/{id}"), Some(change))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(
            stream_ends_within(&mut resp, 5).await.is_some(),
            "{name}: stream still open"
        );
        let again = u.request(Method::GET, "/api/v1/events").send().await.unwrap().status();
        if name == "ivy" {
            assert_eq!(again, StatusCode::OK, "a demoted account reconnects under its new role");
        } else {
            assert_eq!(again, StatusCode::UNAUTHORIZED, "{name} reconnected");
        }
    }
    let id = srv.create_user(&admin, "kai", PW_USER, "user").await;
    let mut u = srv.client();
    u.login_ok("kai", PW_USER).await;
    let mut resp = u.request(Method::GET, "/api/v1/events").send().await.unwrap();
    admin.call(Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
    assert!(
        stream_ends_within(&mut resp, 5).await.is_some(),
        "a deleted account's stream ends"
    );
}

#[tokio::test]
async fn every_error_has_the_json_shape_and_unknown_routes_are_not_audited() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let before = srv.audit_count().await;
    let (s, v) = admin.call(Method::PUT, "/api/v1/auth/me", None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")),
        "{v}"
    );
    let (s, v) = admin.call(Method::POST, "/api/v1/nothing-here", Some(json!({}))).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
    assert_eq!(
        srv.audit_count().await,
        before,
        "nothing was changed, nothing is named: no record"
    );

    let long = "a".repeat(20_000);
    let (s, v) = admin.get(&format!("/api/v1/users?q={long}")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::URI_TOO_LONG, Some("uri_too_long")),
        "{v}"
    );
    let (s, v) = admin.get(&format!("/api/v1/audit?action={}", "%".repeat(5_000))).await;
    assert_eq!(
        (s, v["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("action")),
        "{v}"
    );
}

#[tokio::test]
async fn anonymous_pages_redirect_for_real() {
    let srv = TestServer::start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(format!("{}/", srv.base)).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));
    // An unknown address gets the app's own page, with a 404.
    let r = http.get(format!("{}/no/such/page", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = r.text().await.unwrap();
    assert!(html.contains("center-page") && html.contains("<html"), "{html}");
}

#[tokio::test]
async fn slow_idle_and_excess_connections_are_bounded() {
    let srv = TestServer::start_with(|c| {
        c.http.header_read_timeout_seconds = 1;
        c.http.idle_timeout_seconds = 2;
        c.http.max_connections = 2;
    })
    .await;
    let addr = srv.running.as_ref().unwrap().addr;
    // Half-sent headers: closed after the header-read timeout.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Whole headers and half a body: the header timeout is done with, the idle timeout closes it.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head =
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    idle.write_all(head.as_bytes()).await.unwrap();
    // Both slots are taken: a third client waits until one of them is closed.
    let started = std::time::Instant::now();
    let third = tokio::spawn({
        let base = srv.base.clone();
        async move { reqwest::get(format!("{base}/api/v1/auth/me")).await.unwrap().status() }
    });
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(_)) | Ok(Err(_))),
        "the half-sent request was not closed"
    );
    let n = tokio::time::timeout(Duration::from_secs(6), idle.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(_)) | Ok(Err(_))), "the stalled body was not cut off");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "cut off before the idle limit"
    );
    assert_eq!(third.await.unwrap(), StatusCode::UNAUTHORIZED);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the third client did not wait"
    );
}

#[tokio::test]
async fn an_admin_password_reset_ends_sessions_and_revokes_tokens_unless_kept() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let id = srv.create_user(&admin, "lea", PW_USER, "user").await;
    let mut u = srv.client();
    u.login_ok("lea", PW_USER).await;
    let (_, t) = u
        .call(Method::POST, "/api/v1/tokens", Some(json!({"name": "ci"})))
        .await;
    let mut bearer = srv.client();
    bearer.bearer = Some(t["secret"].as_str().unwrap().into());
    assert_eq!(bearer.get("/api/v1/auth/me").await.0, StatusCode::OK);

    let (s, v) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"password": "brand-new-password", "keep_tokens": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        u.get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    assert_eq!(
        bearer.get("/api/v1/auth/me").await.0,
        StatusCode::OK,
        "kept tokens work"
    );

    admin
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"password": "newer-password-3"})),
        )
        .await;
    assert_eq!(
        bearer.get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "tokens revoked by default"
    );
    let mut again = srv.client();
    again.login_ok("lea", "newer-password-3").await;
    let _ = ADMIN_PW;
}
