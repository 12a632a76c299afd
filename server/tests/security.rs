//! Sign-in throttling, CSRF, session rotation and expiry, API tokens, disabled accounts, avatars.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{
    ApiError, ApiToken, ChangePassword, CreateToken, CreateUser, CreatedToken, LoginRequest, Me, UpdateUser, User,
};
use common::{body, TestServer, PNG, PW_USER};
use reqwest::{Method, StatusCode};

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
        .json(&LoginRequest {
            username: "dave".into(),
            password: PW_USER.into(),
        })
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
    let e: ApiError = r.json().await.unwrap();
    assert_eq!(e.code, "too_many_attempts");
    assert_eq!(e.details["retry_after"], retry);

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
    let token = |name: &str| body(&CreateToken { name: name.into() });
    for bad in [None, Some("forged".to_string())] {
        admin.csrf = bad;
        let (s, e) = admin.refused(Method::POST, "/api/v1/tokens", token("x")).await;
        assert_eq!((s, e.code.as_str()), (StatusCode::FORBIDDEN, "csrf_failed"));
    }
    admin.csrf = good;
    let (s, created) = admin
        .send_as::<_, CreatedToken>(
            Method::POST,
            "/api/v1/tokens",
            &CreateToken {
                name: "automation".into(),
            },
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let created = created.unwrap();
    let secret = created.secret;
    assert!(secret.starts_with("hgr_"));
    let token_id = created.token.id;
    let (_, list) = admin.get("/api/v1/tokens").await;
    assert!(!list.to_string().contains(&secret), "secrets are shown once only");
    let list: Vec<ApiToken> = serde_json::from_value(list).unwrap();
    assert_eq!(list.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["automation"]);

    // The token alone, no cookie and no CSRF header, may change things.
    let mut bot = srv.client();
    bot.bearer = Some(secret.clone());
    let new = CreateUser {
        username: "made-by-bot".into(),
        password: PW_USER.into(),
        ..Default::default()
    };
    let made: User = bot.ok_as(Method::POST, "/api/v1/users", body(&new)).await;
    assert_eq!(made.username, "made-by-bot");
    let me: Me = bot.get_as("/api/v1/auth/me").await;
    assert_eq!(me.user.username, "admin");
    assert_eq!(me.csrf_token, None);

    // Revoked, it stops working at once.
    assert_eq!(
        admin
            .call(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (s, e) = bot.refused(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!((s, e.code.as_str()), (StatusCode::UNAUTHORIZED, "invalid_token"));
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
            .json(&LoginRequest {
                username: "admin".into(),
                password: common::ADMIN_PW.into(),
            })
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
    assert_eq!(old.json::<ApiError>().await.unwrap().code, "session_expired");
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

    let change = |current: &str, new: &str| {
        body(&ChangePassword {
            current_password: current.into(),
            new_password: new.into(),
        })
    };
    let (s, e) = laptop
        .refused(
            Method::PUT,
            "/api/v1/profile/password",
            change("wrong", "another-pass-1"),
        )
        .await;
    assert_eq!(
        (s, e.details["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("current_password"))
    );
    let (s, e) = laptop
        .refused(Method::PUT, "/api/v1/profile/password", change(PW_USER, "short"))
        .await;
    assert_eq!(
        (s, e.code.as_str(), e.details["min"].as_i64()),
        (StatusCode::BAD_REQUEST, "password_too_short", Some(10))
    );
    let (s, _) = laptop
        .call(
            Method::PUT,
            "/api/v1/profile/password",
            change(PW_USER, "another-pass-1"),
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

    let disable = UpdateUser {
        disabled: Some(true),
        ..Default::default()
    };
    let frank: User = admin
        .ok_as(Method::PATCH, &format!("/api/v1/users/{id}"), body(&disable))
        .await;
    assert!(frank.disabled);
    assert_eq!(laptop.get("/api/v1/auth/me").await.1["code"], "account_disabled");
    let (s, e) = srv.client().login("frank", "another-pass-1").await;
    let e: ApiError = serde_json::from_value(e).unwrap();
    assert_eq!((s, e.code.as_str()), (StatusCode::UNAUTHORIZED, "account_disabled"));

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
    assert_eq!(r.json::<ApiError>().await.unwrap().code, "invalid_image");
    let mut big = PNG.to_vec();
    big.resize(10_000, 0);
    let r = put(big, "image/png").await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<ApiError>().await.unwrap().code, "payload_too_large");
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
