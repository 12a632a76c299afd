//! Account administration through the API, and bad input that must change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{ApiError, CreateUser, Quota, Role, UpdateUser, User};
use common::{body, TestServer, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn snapshot(srv: &TestServer) -> Vec<(i64, String, String, i64, i64)> {
    sqlx::query_as(
        "SELECT u.id, u.username, u.role || u.disabled || u.display_name, q.max_vms, q.max_memory_mib
         FROM users u JOIN quotas q ON q.user_id = u.id ORDER BY u.id",
    )
    .fetch_all(&srv.state().db)
    .await
    .unwrap()
}

#[tokio::test]
async fn admin_manages_accounts_and_quotas() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let display_name = "Grace <O'Hara> & \"co\"";
    let new = CreateUser {
        username: "grace".into(),
        password: PW_USER.into(),
        role: Role::Operator,
        display_name: display_name.into(),
        quota: Some(common::limits(2, 4, 2048, 20)),
        ..Default::default()
    };
    let (s, u) = admin.send_as::<_, User>(Method::POST, "/api/v1/users", &new).await;
    assert_eq!(s, StatusCode::CREATED);
    let u = u.unwrap();
    let id = u.id;
    assert_eq!(u.display_name, display_name, "text is kept exactly as typed");
    assert_eq!((u.quota.max_vms, u.quota.used_vms), (2, 0));

    let limits = common::limits(9, 16, 16384, 500);
    let q: Quota = admin
        .ok_as(Method::PUT, &format!("/api/v1/users/{id}/quota"), body(&limits))
        .await;
    assert_eq!((q.max_vms, q.max_disk_gib), (9, 500));
    let demote = UpdateUser {
        role: Some(Role::Auditor),
        ..Default::default()
    };
    let u: User = admin
        .ok_as(Method::PATCH, &format!("/api/v1/users/{id}"), body(&demote))
        .await;
    assert_eq!(u.role, Role::Auditor);

    // An admin-set password works; the old one does not.
    let reset = UpdateUser {
        password: Some("reset-by-admin-1".into()),
        ..Default::default()
    };
    let _: User = admin
        .ok_as(Method::PATCH, &format!("/api/v1/users/{id}"), body(&reset))
        .await;
    assert_eq!(srv.client().login("grace", PW_USER).await.0, StatusCode::UNAUTHORIZED);
    let mut grace = srv.client();
    grace.login_ok("grace", "reset-by-admin-1").await;
    assert_eq!(
        grace.get("/api/v1/audit").await.0,
        StatusCode::OK,
        "auditors read the audit log"
    );

    assert_eq!(
        admin.call(Method::DELETE, &format!("/api/v1/users/{id}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(admin.get(&format!("/api/v1/users/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        grace.get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "a deleted account's session ends"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let hank = srv.create_user(&admin, "hank", PW_USER, "user").await;
    let before = snapshot(&srv).await;
    let quota = |v: Value| {
        json!({"max_vms": 1, "max_vcpus": 1, "max_memory_mib": 1, "max_disk_gib": 1})
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .chain(v.as_object().unwrap().clone())
            .collect::<serde_json::Map<_, _>>()
    };

    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "HANK", "password": PW_USER, "role": "user"})),
            409,
            "username_taken",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "ivy", "password": "short", "role": "user"})),
            400,
            "password_too_short",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "<b>ivy</b>", "password": PW_USER, "role": "user"})),
            400,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "ivy", "password": PW_USER, "role": "root"})),
            400,
            "malformed_json",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(
                json!({"username": "ivy", "password": PW_USER, "role": "user", "quota": quota(json!({"max_vms": -1}))}),
            ),
            400,
            "invalid_input",
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{hank}/quota"),
            Some(Value::Object(quota(json!({"max_memory_mib": 1_i64 << 50})))),
            400,
            "invalid_input",
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{hank}/quota"),
            Some(Value::Object(quota(json!({"max_disk_gib": -5})))),
            400,
            "invalid_input",
        ),
        (
            Method::PUT,
            "/api/v1/users/9999/quota".into(),
            Some(Value::Object(quota(json!({})))),
            404,
            "not_found",
        ),
        (
            Method::PATCH,
            "/api/v1/users/9999".into(),
            Some(json!({"display_name": "x"})),
            404,
            "not_found",
        ),
        (
            Method::PATCH,
            "/api/v1/users/abc".into(),
            Some(json!({"display_name": "x"})),
            404,
            "not_found",
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{hank}"),
            Some(json!({"email": "not-an-email"})),
            400,
            "invalid_input",
        ),
        (
            Method::PATCH,
            "/api/v1/users/1".into(),
            Some(json!({"role": "user"})),
            409,
            "last_admin",
        ),
        (
            Method::PATCH,
            "/api/v1/users/1".into(),
            Some(json!({"disabled": true})),
            409,
            "last_admin",
        ),
        (
            Method::DELETE,
            "/api/v1/users/1".into(),
            None,
            409,
            "cannot_delete_self",
        ),
        (Method::DELETE, "/api/v1/users/9999".into(), None, 404, "not_found"),
        (
            Method::PATCH,
            "/api/v1/profile".into(),
            Some(json!({"language": "klingon"})),
            400,
            "invalid_input",
        ),
    ];
    for (m, path, body, status, code) in cases {
        let (s, e) = admin.refused(m.clone(), &path, body.clone()).await;
        assert_eq!(
            (s.as_u16(), e.code.as_str()),
            (status, code),
            "{m} {path} {body:?}: {e:?}"
        );
        assert!(!e.message.is_empty());
    }
    let r = admin
        .request(Method::POST, "/api/v1/users")
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<ApiError>().await.unwrap().code, "malformed_json");
    let r = admin
        .request(Method::POST, "/api/v1/users")
        .body("username=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(r.json::<ApiError>().await.unwrap().code, "unsupported_media_type");
    assert_eq!(snapshot(&srv).await, before, "nothing changed");
}

#[tokio::test]
async fn internal_errors_do_not_leak_details() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    sqlx::query("DROP TABLE api_tokens")
        .execute(&srv.state().db)
        .await
        .unwrap();
    let (s, e) = admin.refused(Method::GET, "/api/v1/tokens", None).await;
    assert_eq!((s.as_u16(), e.code.as_str()), (500, "internal"));
    assert!(
        e.message.contains("reference") && !e.message.contains("api_tokens"),
        "{e:?}"
    );
}
