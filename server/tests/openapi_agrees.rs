//! The OpenAPI document and reality agree: every status the server answers, to ordinary and to hostile
//! requests from every kind of caller, is one the document lists for that operation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::{Client, TestServer, ADMIN_PW, PW_USER};
use reqwest::Method;
use serde_json::Value;

/// Concrete paths for a template: unknown ids of each shape, and for actions a real and a made-up one.
fn paths(template: &str) -> Vec<String> {
    let mut out = vec![template.to_string()];
    for (param, values) in [
        (
            "{id}",
            &["999999", "00000000-0000-0000-0000-000000000000", "x%3Cb%3E"][..],
        ),
        ("{action}", &["start", "bogus"][..]),
    ] {
        out = out
            .into_iter()
            .flat_map(|p| {
                if p.contains(param) {
                    values.iter().map(|v| p.replace(param, v)).collect()
                } else {
                    vec![p]
                }
            })
            .collect();
    }
    out
}

enum Body {
    None,
    Json(&'static str),
    Text(&'static str),
}

async fn send(c: &Client, method: &Method, path: &str, body: &Body) -> u16 {
    let mut r = c.request(method.clone(), path);
    r = match body {
        Body::None => r,
        Body::Json(t) => r.header("content-type", "application/json").body(*t),
        Body::Text(t) => r.header("content-type", "text/plain").body(*t),
    };
    r.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_answered_status_is_documented() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.create_user(&admin, "uma", PW_USER, "user").await;
    let (_, doc) = admin.get("/api/v1/openapi.json").await;
    let bodies = [
        Body::None,
        Body::Json("{}"),
        Body::Json("not json"),
        Body::Json("[1, 2"),
        Body::Json(r#"{"name": 12, "ids": "x", "per_page": -1}"#),
        Body::Text("hello"),
    ];
    let queries = ["", "?page=-1&per_page=abc&disks=maybe&sort=nope"];
    let mut undocumented = Vec::new();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let documented: Vec<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter_map(|k| k.parse().ok())
                .collect();
            let id = op["operationId"].as_str().unwrap_or("?");
            for who in ["anonymous", "user", "user-without-csrf", "admin"] {
                // A fresh sign-in per operation: sign-out and password changes must not spoil the next one.
                let mut c = srv.client();
                match who {
                    "user" | "user-without-csrf" => {
                        c.login_ok("uma", PW_USER).await;
                    }
                    "admin" => {
                        c.login_ok("admin", ADMIN_PW).await;
                    }
                    _ => {}
                }
                if who == "user-without-csrf" {
                    c.csrf = None;
                }
                for path in paths(template) {
                    for q in queries {
                        for body in &bodies {
                            let status = send(&c, &m, &format!("{path}{q}"), body).await;
                            checked += 1;
                            if !documented.contains(&status) {
                                undocumented.push(format!("{id} {method} {path}{q} as {who}: {status}"));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} requests");
    assert!(
        undocumented.is_empty(),
        "{} undocumented answers, e.g.:\n{}",
        undocumented.len(),
        undocumented.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
    let _: Option<Value> = None;
}
