//! The audit log: exactly one record per changing request (allowed, denied or failed), filters, CSV, append-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{AuditPage, CreateUser};
use common::{body, TestServer, PW_USER};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn allowed_denied_and_failed_requests_each_leave_one_record() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;

    // Allowed.
    let before = srv.audit_count().await;
    let id = srv.create_user(&admin, "carol", PW_USER, "user").await;
    assert_eq!(srv.audit_count().await, before + 1);
    let (action, actor, result, target) = srv.audit_rows().await.remove(0);
    assert_eq!(
        (action.as_str(), actor.as_deref(), result.as_str()),
        ("user.create", Some("admin"), "ok")
    );
    assert_eq!(target.as_deref(), Some(format!("user:{id}").as_str()));

    // Denied: a plain user may not create accounts.
    let mut carol = srv.client();
    carol.login_ok("carol", PW_USER).await;
    let before = srv.audit_count().await;
    let new = |username: &str| {
        body(&CreateUser {
            username: username.into(),
            password: PW_USER.into(),
            ..Default::default()
        })
    };
    let (s, _) = carol.refused(Method::POST, "/api/v1/users", new("x1")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(srv.audit_count().await, before + 1);
    let (action, actor, result, _) = srv.audit_rows().await.remove(0);
    assert_eq!(
        (action.as_str(), actor.as_deref(), result.as_str()),
        ("user.create", Some("carol"), "denied")
    );

    // Failed: a duplicate username.
    let before = srv.audit_count().await;
    let (s, e) = admin.refused(Method::POST, "/api/v1/users", new("carol")).await;
    assert_eq!((s, e.code.as_str()), (StatusCode::CONFLICT, "username_taken"));
    assert_eq!(srv.audit_count().await, before + 1);
    let (action, _, result, _) = srv.audit_rows().await.remove(0);
    assert_eq!((action.as_str(), result.as_str()), ("user.create", "failed"));

    // Anonymous, with a malformed body: still one record.
    let before = srv.audit_count().await;
    let r = srv
        .client()
        .request(Method::PATCH, &format!("/api/v1/users/{id}"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(srv.audit_count().await, before + 1);
    let (action, actor, result, _) = srv.audit_rows().await.remove(0);
    assert_eq!(
        (action.as_str(), actor, result.as_str()),
        ("user.update", None, "failed")
    );

    // Logins, good and bad, and the logout.
    let before = srv.audit_count().await;
    let mut c = srv.client();
    assert_eq!(c.login("carol", "wrong-password").await.0, StatusCode::UNAUTHORIZED);
    c.login_ok("carol", PW_USER).await;
    assert_eq!(
        c.call(Method::POST, "/api/v1/auth/logout", None).await.0,
        StatusCode::NO_CONTENT
    );
    let rows = srv.audit_rows().await;
    assert_eq!(srv.audit_count().await, before + 3);
    let got: Vec<(&str, &str)> = rows[..3].iter().map(|r| (r.0.as_str(), r.2.as_str())).collect();
    assert_eq!(
        got,
        [("auth.logout", "ok"), ("auth.login", "ok"), ("auth.login", "failed")]
    );

    // Reads leave nothing.
    let before = srv.audit_count().await;
    admin.get("/api/v1/users").await;
    admin.get("/api/v1/audit").await;
    assert_eq!(srv.audit_count().await, before);
}

#[tokio::test]
async fn filters_paging_and_csv() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    for i in 0..7 {
        srv.create_user(&admin, &format!("u{i}"), PW_USER, "user").await;
    }
    let page: AuditPage = admin.get_as("/api/v1/audit?action=user.create&per_page=5&page=2").await;
    assert_eq!(page.total, 8, "seven created here plus the bootstrap admin");
    assert_eq!(page.items.len(), 3);
    assert!(page.items.iter().all(|e| e.action == "user.create"));
    let page: AuditPage = admin.get_as("/api/v1/audit?actor=admin&result=ok&action=auth.").await;
    assert_eq!(page.total, 1);
    let page: AuditPage = admin.get_as("/api/v1/audit?from=2999-01-01T00:00:00Z").await;
    assert_eq!(page.total, 0);
    let page: AuditPage = admin.get_as("/api/v1/audit?from=2000-01-01T00:00&result=ok").await;
    assert!(page.total >= 8, "{page:?}");
    let (s, e) = admin.refused(Method::GET, "/api/v1/audit?result=maybe", None).await;
    assert_eq!((s, e.code.as_str()), (StatusCode::BAD_REQUEST, "invalid_input"));
    let (s, e) = admin.refused(Method::GET, "/api/v1/audit?from=yesterday", None).await;
    assert_eq!(
        (s, e.details["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("from"))
    );

    let r = admin
        .request(Method::GET, "/api/v1/audit.csv?action=user.create")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let body = r.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "id,time,actor,source,action,target,result,details");
    assert_eq!(lines.len(), 1 + 8);
    assert!(lines[1].contains("user.create") && lines[1].contains(",ok,"));
}

#[tokio::test]
async fn the_log_cannot_be_changed() {
    let srv = TestServer::start().await;
    let db = &srv.state().db;
    assert!(sqlx::query("UPDATE audit_log SET result = 'ok'")
        .execute(db)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM audit_log").execute(db).await.is_err());
    assert!(srv.audit_count().await >= 1);
}
