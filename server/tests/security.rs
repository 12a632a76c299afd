//! Sign-in throttling, CSRF, session rotation and expiry, API tokens, disabled accounts, avatars.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::{TestServer, PNG, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_per_address() {
    let srv = TestServer::start_with(|c| {
        c.login_throttle.per_account = 3;
        c.login_throttle.per_address = 6;
    })
    .await;
    let admin = srv.admin().await;
    srv.create_user(&admin, "dave", PW_USER, "user").await;
    srv.create_user(&admin, "erin", PW_USER, "user").await;
    let mut c = srv.client();
    for _ in 0..3 {
        assert_eq!(c.login("dave", "nope-nope-nope").await.0, StatusCode::UNAUTHORIZED);
    }
    let r = c
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"username": "dave", "password": PW_USER}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "too_many_attempts");
    assert_eq!(body["details"]["retry_after"], retry);

    // Another account from the same address still works, until the address itself is over its limit.
    c.login_ok("erin", PW_USER).await;
    for _ in 0..3 {
        assert_eq!(c.login("erin", "nope-nope-nope").await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        c.login("admin", common::ADMIN_PW).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let denied = srv
        .audit_rows()
        .await
        .into_iter()
        .filter(|r| r.0 == "auth.login" && r.2 == "denied")
        .count();
    assert_eq!(denied, 2);
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_and_bearer_tokens_do_not() {
    let srv = TestServer::start().await;
    let mut admin = srv.admin().await;
    let good = admin.csrf.clone();
    for bad in [None, Some("forged".to_string())] {
        admin.csrf = bad;
        let (s, v) = admin
            .call(Method::POST, "/api/v1/tokens", Some(json!({"name": "x"})))
            .await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf_failed")));
    }
    admin.csrf = good;
    let (s, v) = admin
        .call(Method::POST, "/api/v1/tokens", Some(json!({"name": "automation"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("hgr_"));
    let token_id = v["token"]["id"].as_i64().unwrap();
    let (_, list) = admin.get("/api/v1/tokens").await;
    assert!(!list.to_string().contains(&secret), "secrets are shown once only");

    // The token alone, no cookie and no CSRF header, may change things.
    let mut bot = srv.client();
    bot.bearer = Some(secret.clone());
    let (s, v) = bot
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "made-by-bot", "password": PW_USER, "role": "user"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, me) = bot.get("/api/v1/auth/me").await;
    assert_eq!(me["user"]["username"], "admin");
    assert!(me["csrf_token"].is_null());

    // Revoked, it stops working at once.
    assert_eq!(
        admin
            .call(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (s, v) = bot.get("/api/v1/auth/me").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}

fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("hangar_session=")
                .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        })
}

#[tokio::test]
async fn session_id_rotates_at_login_and_old_ids_stop_working() {
    let srv = TestServer::start().await;
    let http = reqwest::Client::new();
    let login = || {
        http.post(format!("{}/api/v1/auth/login", srv.base))
            .json(&json!({"username": "admin", "password": common::ADMIN_PW}))
    };
    let first = login().send().await.unwrap();
    let a = session_cookie(&first).expect("session cookie");
    let cookie_header = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(cookie_header
        .iter()
        .any(|c| c.starts_with("hangar_session=") && c.contains("HttpOnly") && c.contains("SameSite=Lax")));
    // Signing in again while presenting the old id must hand out a new one.
    let second = login()
        .header("cookie", format!("hangar_session={a}"))
        .send()
        .await
        .unwrap();
    let b = session_cookie(&second).expect("new session cookie");
    assert_ne!(a, b);
    let me = |id: String| {
        http.get(format!("{}/api/v1/auth/me", srv.base))
            .header("cookie", format!("hangar_session={id}"))
            .send()
    };
    assert_eq!(me(b.clone()).await.unwrap().status(), StatusCode::OK);
    let old = me(a).await.unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        old.json::<serde_json::Value>().await.unwrap()["code"],
        "session_expired"
    );
}

#[tokio::test]
async fn logout_password_change_and_disabling_end_sessions() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let id = srv.create_user(&admin, "frank", PW_USER, "user").await;
    let mut laptop = srv.client();
    laptop.login_ok("frank", PW_USER).await;
    let mut phone = srv.client();
    phone.login_ok("frank", PW_USER).await;

    let (s, v) = laptop
        .call(
            Method::PUT,
            "/api/v1/profile/password",
            Some(json!({"current_password": "wrong", "new_password": "another-pass-1"})),
        )
        .await;
    assert_eq!(
        (s, v["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("current_password"))
    );
    let (s, v) = laptop
        .call(
            Method::PUT,
            "/api/v1/profile/password",
            Some(json!({"current_password": PW_USER, "new_password": "short"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str(), v["details"]["min"].as_i64()),
        (StatusCode::BAD_REQUEST, Some("password_too_short"), Some(10))
    );
    let (s, _) = laptop
        .call(
            Method::PUT,
            "/api/v1/profile/password",
            Some(json!({"current_password": PW_USER, "new_password": "another-pass-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        laptop.get("/api/v1/auth/me").await.0,
        StatusCode::OK,
        "the session that changed it stays"
    );
    assert_eq!(phone.get("/api/v1/auth/me").await.1["code"], "session_expired");
    assert_eq!(srv.client().login("frank", PW_USER).await.0, StatusCode::UNAUTHORIZED);

    let (s, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(laptop.get("/api/v1/auth/me").await.1["code"], "account_disabled");
    let (s, v) = srv.client().login("frank", "another-pass-1").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("account_disabled"))
    );

    let mut c = srv.client();
    c.login_ok("admin", common::ADMIN_PW).await;
    assert_eq!(
        c.call(Method::POST, "/api/v1/auth/logout", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(c.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn avatars_must_be_real_images_and_are_served_safely() {
    let srv = TestServer::start_with(|c| c.avatar_max_bytes = 4096).await;
    let admin = srv.admin().await;
    let put = |body: Vec<u8>, ctype: &str| {
        admin
            .request(Method::PUT, "/api/v1/profile/avatar")
            .header("content-type", ctype)
            .body(body)
            .send()
    };

    let r = put(b"<svg onload=alert(1)></svg>".to_vec(), "image/png").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "invalid_image");
    let mut big = PNG.to_vec();
    big.resize(10_000, 0);
    let r = put(big, "image/png").await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "payload_too_large"
    );
    assert_eq!(
        admin.get("/api/v1/users/1/avatar").await.0,
        StatusCode::NOT_FOUND,
        "nothing was stored"
    );

    let r = put(PNG.to_vec(), "text/html").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = admin
        .request(Method::GET, "/api/v1/users/1/avatar")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "image/png",
        "the type comes from the bytes"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
}
