//! Walks every route of the OpenAPI document as each kind of caller and checks the status it gets.
//! A route without a row here fails the test, so new endpoints cannot skip authorization review.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::guest::{Guest, LOCAL};
use common::{Client, TestServer, PNG};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ROLES: [&str; 6] = ["anonymous", "user", "other-user", "operator", "auditor", "admin"];
const PW: &str = "role-password-1";

/// Expected status for each of ROLES, and the body to send.
fn expectation(method: &str, path: &str, n: usize) -> Option<([u16; 6], Option<Value>)> {
    let rows: ([u16; 6], Option<Value>) = match (method, path) {
        ("post", "/api/v1/auth/login") => ([200; 6], None),
        ("post", "/api/v1/auth/logout") => ([401, 204, 204, 204, 204, 204], None),
        ("get", "/api/v1/auth/me") => ([401, 200, 200, 200, 200, 200], None),
        ("patch", "/api/v1/profile") => ([401, 200, 200, 200, 200, 200], Some(json!({ "language": "en" }))),
        ("put", "/api/v1/profile/password") => (
            [401, 204, 204, 204, 204, 204],
            Some(json!({ "current_password": PW, "new_password": PW })),
        ),
        ("put", "/api/v1/profile/avatar") => ([401, 200, 200, 200, 200, 200], None),
        ("get", "/api/v1/users/{id}/avatar") => ([401, 200, 403, 200, 200, 200], None),
        ("get", "/api/v1/users") => ([401, 403, 403, 200, 200, 200], None),
        ("post", "/api/v1/users") => (
            [401, 403, 403, 403, 403, 201],
            Some(json!({ "username": format!("new{n}"), "password": PW, "role": "user" })),
        ),
        ("get", "/api/v1/users/{id}") => ([401, 200, 403, 200, 200, 200], None),
        ("patch", "/api/v1/users/{id}") => (
            [401, 403, 403, 403, 403, 200],
            Some(json!({ "display_name": "Renamed" })),
        ),
        ("delete", "/api/v1/users/{id}") => ([401, 403, 403, 403, 403, 204], None),
        ("put", "/api/v1/users/{id}/quota") => (
            [401, 403, 403, 403, 403, 200],
            Some(json!({ "max_vms": 3, "max_vcpus": 4, "max_memory_mib": 4096, "max_disk_gib": 40 })),
        ),
        ("get", "/api/v1/audit") | ("get", "/api/v1/audit.csv") => ([401, 403, 403, 403, 200, 200], None),
        ("get", "/api/v1/tokens") => ([401, 200, 200, 200, 200, 200], None),
        ("post", "/api/v1/tokens") => ([401, 201, 201, 201, 201, 201], Some(json!({ "name": "ci" }))),
        // Another user's token is "not found" rather than "forbidden": ids reveal nothing.
        ("delete", "/api/v1/tokens/{id}") => ([401, 204, 404, 404, 404, 204], None),
        ("get", "/api/v1/hosts") => ([401, 403, 403, 200, 200, 200], None),
        ("post", "/api/v1/hosts") => (
            [401, 403, 403, 201, 403, 201],
            Some(json!({ "name": "h", "uri": "test:///default" })),
        ),
        ("get", "/api/v1/hosts/{id}") => ([401, 403, 403, 200, 200, 200], None),
        ("patch", "/api/v1/hosts/{id}") => ([401, 403, 403, 200, 403, 200], Some(json!({ "description": "matrix" }))),
        ("delete", "/api/v1/hosts/{id}") => ([401, 403, 403, 204, 403, 204], None),
        ("get", "/api/v1/vms") => ([401, 200, 200, 200, 200, 200], None),
        ("post", "/api/v1/vms/batch") => (
            [401, 200, 200, 200, 200, 200],
            Some(json!({ "action": "poweroff", "ids": [] })),
        ),
        // Another user's VM answers like a missing one: ids reveal nothing.
        ("get", "/api/v1/vms/{id}") | ("get", "/api/v1/vms/{id}/xml") => ([401, 200, 404, 200, 200, 200], None),
        ("patch", "/api/v1/vms/{id}") => (
            [401, 200, 404, 200, 403, 200],
            Some(json!({ "description": "matrix <&>" })),
        ),
        ("delete", "/api/v1/vms/{id}") => ([401, 200, 404, 200, 403, 200], None),
        // A shut-off VM cannot be forced off: the owner, operators and admins get past authorization to 409.
        ("post", "/api/v1/vms/{id}/actions/{action}") => ([401, 409, 404, 409, 403, 409], None),
        ("get", "/api/v1/events") => ([401, 200, 200, 200, 200, 200], None),
        _ => return None,
    };
    Some(rows)
}

struct World {
    srv: TestServer,
    admin: Client,
    counter: usize,
}

impl World {
    /// A signed-in client for `role`; `owner` is the "user" whose resources the route names.
    async fn client_for(&mut self, role: &str, owner: &str) -> Client {
        let name = match role {
            "anonymous" => return self.srv.client(),
            "user" => owner.to_string(),
            "other-user" => "bob".into(),
            r => r.to_string(),
        };
        let mut c = self.srv.client();
        if name == "admin" {
            c.login_ok("admin", common::ADMIN_PW).await;
        } else {
            c.login_ok(&name, PW).await;
        }
        c
    }

    /// A tiny guest on the local daemon, in the index and assigned to `owner`.
    async fn owned_vm(&self, owner: i64) -> Guest {
        let g = Guest::define(LOCAL, "hangar-matrix", false);
        self.srv.wait_vm(&self.admin, &g.uuid, None).await;
        let (s, v) = self
            .admin
            .call(
                Method::PATCH,
                &format!("/api/v1/vms/{}", g.uuid),
                Some(json!({ "owner_id": owner })),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        g
    }

    /// A host row that is never connected (enough to read, edit and delete it).
    async fn fake_host(&mut self) -> i64 {
        self.counter += 1;
        sqlx::query_scalar(
            "INSERT INTO hosts (id, name, uri, created_at)
             VALUES ((SELECT last + 1 FROM id_sequences WHERE name = 'hosts'), ?, ?, 0) RETURNING id",
        )
        .bind(format!("fake{}", self.counter))
        .bind(format!("qemu+tcp://192.0.2.{}/system", self.counter % 250 + 1))
        .fetch_one(&self.srv.state().db)
        .await
        .unwrap()
    }

    async fn fresh_owner(&mut self) -> (String, i64) {
        self.counter += 1;
        let name = format!("owner{}", self.counter);
        let id = self.srv.create_user(&self.admin, &name, PW, "user").await;
        (name, id)
    }
}

#[tokio::test]
async fn every_route_as_every_role() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    for (name, role) in [("bob", "user"), ("operator", "operator"), ("auditor", "auditor")] {
        srv.create_user(&admin, name, PW, role).await;
    }
    let mut w = World { srv, admin, counter: 0 };
    w.srv.add_host(&w.admin, "local", LOCAL).await;

    let doc: Value = w.srv.client().get("/api/v1/openapi.json").await.1;
    let paths = doc["paths"].as_object().expect("paths");
    let mut missing = Vec::new();
    let mut checked = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let Some((expected, body)) = expectation(method, path, w.counter) else {
                missing.push(format!("{} {path}", method.to_uppercase()));
                continue;
            };
            // The password route ends the admin's other sessions (by design), so sign in afresh.
            w.admin = w.srv.admin().await;
            let (owner, owner_id) = w.fresh_owner().await;
            let mut owner_client = w.srv.client();
            owner_client.login_ok(&owner, PW).await;
            if path.ends_with("/avatar") && method == "get" {
                let r = owner_client
                    .request(Method::PUT, "/api/v1/profile/avatar")
                    .body(PNG.to_vec())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
            let is_vm = path.starts_with("/api/v1/vms/{id}") || path == "/api/v1/vms/batch";
            let mut guest = if is_vm { Some(w.owned_vm(owner_id).await) } else { None };
            for (i, role) in ROLES.iter().enumerate() {
                let mut id = owner_id.to_string();
                if let Some(g) = &guest {
                    id = g.uuid.clone();
                }
                if path.starts_with("/api/v1/hosts/") {
                    id = w.fake_host().await.to_string();
                }
                if path == "/api/v1/vms/{id}" && method == "delete" && i > 0 {
                    // Each caller deletes a VM of its own making: the previous one may be gone.
                    guest = Some(w.owned_vm(owner_id).await);
                    id = guest.as_ref().unwrap().uuid.clone();
                }
                if path.starts_with("/api/v1/tokens/") {
                    let (s, t) = owner_client
                        .call(Method::POST, "/api/v1/tokens", Some(json!({ "name": "t" })))
                        .await;
                    assert_eq!(s, 201);
                    id = t["token"]["id"].as_i64().unwrap().to_string();
                }
                let client = w.client_for(role, &owner).await;
                let url = path.replace("{id}", &id).replace("{action}", "poweroff");
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut req = client.request(m, &url);
                if path == "/api/v1/auth/login" {
                    req = req.json(&json!({ "username": owner, "password": PW }));
                } else if path == "/api/v1/profile/avatar" {
                    req = req.body(PNG.to_vec());
                } else if let Some(b) = &body {
                    let mut b = b.clone();
                    if path == "/api/v1/users" {
                        b["username"] = json!(format!("created-{}-{i}", w.counter));
                    }
                    if path == "/api/v1/hosts" && *role == "operator" {
                        b = json!({ "name": "tcp-local", "uri": "qemu+tcp://127.0.0.1/system" });
                    }
                    if path == "/api/v1/vms/batch" {
                        b["ids"] = json!([id.clone()]);
                    }
                    if path == "/api/v1/profile/password" && *role == "admin" {
                        b = json!({ "current_password": common::ADMIN_PW, "new_password": common::ADMIN_PW });
                    }
                    req = req.json(&b);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status();
                // The event stream never ends: its status is all there is to check.
                let text = if path == "/api/v1/events" {
                    String::new()
                } else {
                    resp.text().await.unwrap_or_default()
                };
                assert_eq!(
                    status,
                    StatusCode::from_u16(expected[i]).unwrap(),
                    "{} {url} as {role}: {text}",
                    method.to_uppercase()
                );
                checked += 1;
            }
        }
    }
    assert!(missing.is_empty(), "routes missing from the role matrix: {missing:?}");
    assert!(checked >= 31 * 6, "only {checked} calls checked");
}
