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
        // Making a VM for the owner: the owner and admins get past authorization to the missing template (404);
        // anyone else would charge the owner's quota (403).
        ("post", "/api/v1/vms") | ("post", "/api/v1/vms/plan") => (
            [401, 404, 403, 403, 403, 404],
            Some(
                json!({ "name": format!("m{n}"), "source": { "template": 999_999 }, "vcpus": 1,
                         "memory_mib": 64, "disk_gib": 1 }),
            ),
        ),
        // The test VM has no installation media: those allowed get to 409.
        ("post", "/api/v1/vms/{id}/actions/finish-install") => ([401, 409, 404, 409, 403, 409], None),
        // Device changes: those who may edit the VM get past authorization to the input's own error (the
        // test VM has no CD-ROM, `{target}` names no disk, `{mac}` is no MAC); others' VMs are not found.
        ("post", "/api/v1/vms/{id}/disks") => ([401, 400, 404, 400, 403, 400], Some(json!({}))),
        ("delete", "/api/v1/vms/{id}/disks/{target}") | ("put", "/api/v1/vms/{id}/cdrom") => {
            ([401, 404, 404, 404, 403, 404], Some(json!({})))
        }
        ("post", "/api/v1/vms/{id}/disks/{target}/actions/resize") => {
            ([401, 404, 404, 404, 403, 404], Some(json!({ "size_gib": 1 })))
        }
        ("post", "/api/v1/vms/{id}/nics") => (
            [401, 400, 404, 400, 403, 400],
            Some(json!({ "network": { "network": "no-such-net" } })),
        ),
        ("delete", "/api/v1/vms/{id}/nics/{mac}") => ([401, 400, 404, 400, 403, 400], None),
        ("patch", "/api/v1/vms/{id}/nics/{mac}") => ([401, 400, 404, 400, 403, 400], Some(json!({ "link_up": false }))),
        ("put", "/api/v1/vms/{id}/boot-order") => ([401, 400, 404, 400, 403, 400], Some(json!({ "order": ["vdq"] }))),
        // Cloning copies the disks and the seed of the VM: its owner and admins (who assign VMs) may, operators
        // may not clone someone else's; the name is refused after that.
        ("post", "/api/v1/vms/{id}/actions/clone") => {
            ([401, 400, 404, 403, 403, 400], Some(json!({ "name": "bad name!" })))
        }
        ("post", "/api/v1/vms/{id}/actions/reset-password") => {
            ([401, 400, 404, 400, 403, 400], Some(json!({ "password": "x" })))
        }
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
        // Consoles are for whoever may operate the VM (auditors only read); the test VM is off, so those allowed
        // get past authorization to 409.
        ("post", "/api/v1/vms/{id}/console") => ([401, 409, 404, 409, 403, 409], Some(json!({ "kind": "vnc" }))),
        ("get", "/api/v1/vms/{id}/screenshot") => ([401, 409, 404, 409, 403, 409], None),
        ("get", "/api/v1/vms/{id}/console-sessions") => ([401, 200, 404, 200, 403, 200], None),
        // The WebSocket needs a ticket (nothing else authorizes it): without one, everyone gets 400.
        ("get", "/api/v1/vms/{id}/console/ws") => ([400; 6], None),
        ("delete", "/api/v1/console-sessions/{id}") => ([401, 404, 404, 404, 404, 404], None),
        // Share links: the VM's owner and admins; operators may not share someone else's VM.
        ("get", "/api/v1/vms/{id}/console-links") => ([401, 200, 404, 403, 403, 200], None),
        ("post", "/api/v1/vms/{id}/console-links") => (
            [401, 201, 404, 403, 403, 201],
            Some(json!({ "kind": "vnc", "expires_minutes": 60 })),
        ),
        ("delete", "/api/v1/console-links/{id}") => ([401, 204, 404, 403, 403, 204], None),
        // The share page's call: no account; an unknown link is not found, and the sixth wrong link from one
        // address within the throttle's window is refused outright.
        ("post", "/api/v1/console-links/open") => {
            ([404, 404, 404, 404, 404, 429], Some(json!({ "token": "no-such-link" })))
        }
        // Monitoring: a VM's figures for whoever sees the VM, a host's for whoever sees hosts.
        ("get", "/api/v1/vms/{id}/metrics") => ([401, 200, 404, 200, 200, 200], None),
        ("get", "/api/v1/hosts/{id}/metrics") => ([401, 403, 403, 200, 200, 200], None),
        ("get", "/api/v1/metrics/overview")
        | ("get", "/api/v1/alert-rules")
        | ("get", "/api/v1/alerts")
        | ("get", "/api/v1/notification-channels") => ([401, 200, 200, 200, 200, 200], None),
        // Everyone but auditors makes rules and channels of their own; another user's are not found; operators
        // and auditors read everyone's, only admins change them.
        ("post", "/api/v1/alert-rules") => (
            [401, 201, 201, 201, 403, 201],
            Some(
                json!({ "name": "cpu", "metric": "vm_cpu_percent", "threshold": 90, "for_seconds": 60,
                         "scope": { "kind": "all" } }),
            ),
        ),
        ("get", "/api/v1/alert-rules/{id}") | ("get", "/api/v1/notification-channels/{id}") => {
            ([401, 200, 404, 200, 200, 200], None)
        }
        ("get", "/api/v1/notification-channels/{id}/deliveries") => ([401, 200, 404, 200, 200, 200], None),
        ("patch", "/api/v1/alert-rules/{id}") | ("patch", "/api/v1/notification-channels/{id}") => {
            ([401, 200, 404, 403, 403, 200], Some(json!({ "name": "renamed" })))
        }
        ("delete", "/api/v1/alert-rules/{id}") | ("delete", "/api/v1/notification-channels/{id}") => {
            ([401, 204, 404, 403, 403, 204], None)
        }
        ("post", "/api/v1/notification-channels/{id}/test") => ([401, 200, 404, 403, 403, 200], None),
        ("post", "/api/v1/notification-channels") => (
            [401, 201, 201, 201, 403, 201],
            Some(json!({ "name": "mail", "kind": "email", "config": { "to": ["ops@example.com"] } })),
        ),
        // Silencing a VM's alerts is operating it: auditors may not.
        ("put", "/api/v1/vms/{id}/alert-silence") => ([401, 200, 404, 200, 403, 200], Some(json!({ "seconds": 60 }))),
        // No alert has this id: nobody finds it.
        ("post", "/api/v1/alerts/{id}/acknowledge") => ([401, 404, 404, 404, 404, 404], None),
        // Storage is for those who run the hosts; auditors read it.
        ("get", "/api/v1/pools")
        | ("get", "/api/v1/pools/{id}")
        | ("get", "/api/v1/pools/{id}/volumes")
        | ("get", "/api/v1/pools/{id}/volumes/{name}") => ([401, 403, 403, 200, 200, 200], None),
        // A volume's bytes are a VM's disk: auditors see the list, not the contents.
        ("get", "/api/v1/pools/{id}/volumes/{name}/content") => ([401, 403, 403, 200, 403, 200], None),
        ("post", "/api/v1/pools") => ([401, 403, 403, 201, 403, 201], Some(json!({}))),
        ("patch", "/api/v1/pools/{id}") => ([401, 403, 403, 200, 403, 200], Some(json!({ "autostart": false }))),
        ("delete", "/api/v1/pools/{id}") | ("delete", "/api/v1/pools/{id}/volumes/{name}") => {
            ([401, 403, 403, 204, 403, 204], None)
        }
        ("post", "/api/v1/pools/{id}/actions/{action}")
        | ("post", "/api/v1/pools/{id}/volumes/{name}/actions/wipe") => ([401, 403, 403, 200, 403, 200], None),
        ("post", "/api/v1/pools/{id}/volumes") => ([401, 403, 403, 201, 403, 201], Some(json!({}))),
        ("post", "/api/v1/pools/{id}/volumes/{name}/actions/resize")
        | ("patch", "/api/v1/pools/{id}/volumes/{name}") => ([401, 403, 403, 200, 403, 200], Some(json!({}))),
        ("post", "/api/v1/pools/{id}/volumes/{name}/actions/clone") => {
            ([401, 403, 403, 202, 403, 202], Some(json!({})))
        }
        // Images: public ones are everyone's; a private one is its owner's (others do not find it).
        ("get", "/api/v1/images") | ("get", "/api/v1/uploads") | ("get", "/api/v1/tasks") => {
            ([401, 200, 200, 200, 200, 200], None)
        }
        ("post", "/api/v1/images") => ([401, 403, 403, 201, 403, 201], Some(json!({}))),
        ("get", "/api/v1/images/{id}") | ("get", "/api/v1/images/{id}/content") => {
            ([401, 200, 404, 200, 200, 200], None)
        }
        // Operators read users' private images but only admins (and the owner) change them.
        ("patch", "/api/v1/images/{id}") => ([401, 200, 404, 403, 403, 200], Some(json!({ "name": "renamed" }))),
        ("delete", "/api/v1/images/{id}") => ([401, 204, 404, 403, 403, 204], None),
        // The only host already holds a copy: those allowed get past authorization to 409.
        ("post", "/api/v1/images/{id}/actions/copy") => ([401, 409, 404, 403, 403, 409], Some(json!({}))),
        // Uploads belong to their creator alone: anyone else gets 404, admins too.
        ("post", "/api/v1/uploads") => ([401, 201, 201, 201, 403, 201], None),
        ("get", "/api/v1/uploads/{id}") => ([401, 200, 404, 404, 404, 404], None),
        ("patch", "/api/v1/uploads/{id}") => ([401, 204, 404, 404, 404, 404], None),
        ("delete", "/api/v1/uploads/{id}") => ([401, 204, 404, 404, 404, 404], None),
        ("post", "/api/v1/uploads/{id}/import") => ([401, 409, 404, 404, 404, 404], None),
        // A finished task: seen by its owner and by those who see everything; cancelling it is a 409.
        ("get", "/api/v1/tasks/{id}") => ([401, 200, 404, 200, 200, 200], None),
        ("post", "/api/v1/tasks/{id}/cancel") => ([401, 409, 404, 409, 403, 409], None),
        _ => return None,
    };
    Some(rows)
}

struct World {
    srv: TestServer,
    admin: Client,
    counter: usize,
    host: i64,
    pool: String,
    /// Pools made during the test, removed at its end.
    pools: Vec<String>,
}

impl Drop for World {
    fn drop(&mut self) {
        for p in &self.pools {
            common::guest::drop_pool(LOCAL, p);
        }
    }
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

    fn unique(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("hangar-matrix-{what}{}-{}", self.counter, std::process::id())
    }

    /// A running dir pool of the test's own.
    async fn fresh_pool(&mut self) -> String {
        let name = self.unique("p");
        self.pools.push(name.clone());
        let (s, p) = self
            .admin
            .call(
                Method::POST,
                "/api/v1/pools",
                Some(json!({ "host_id": self.host, "name": name, "kind": "dir",
                    "target_path": format!("/var/lib/libvirt/images/{name}"), "build": true })),
            )
            .await;
        assert_eq!(s, 201, "{p}");
        p["id"].as_str().unwrap().to_string()
    }

    /// A 1 MiB qcow2 volume in the test's pool.
    async fn fresh_volume(&mut self) -> String {
        let name = self.unique("v");
        let (s, v) = self
            .admin
            .call(
                Method::POST,
                &format!("/api/v1/pools/{}/volumes", self.pool),
                Some(json!({ "name": name, "capacity_bytes": 1 << 20 })),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        name
    }

    /// A private template of `owner`, kept in a volume of the test's pool.
    async fn owned_image(&mut self, owner: i64) -> i64 {
        let vol = self.fresh_volume().await;
        let (s, img) = self
            .admin
            .call(
                Method::POST,
                "/api/v1/images",
                Some(
                    json!({ "pool_id": self.pool, "volume": vol, "name": vol, "kind": "template",
                    "visibility": "private" }),
                ),
            )
            .await;
        assert_eq!(s, 201, "{img}");
        let id = img["id"].as_i64().unwrap();
        sqlx::query("UPDATE images SET owner_id = ?, q_disk_gib = 0 WHERE id = ?")
            .bind(owner)
            .bind(id)
            .execute(&self.srv.state().db)
            .await
            .unwrap();
        id
    }

    /// A finished task of `owner`.
    async fn owned_task(&self, owner: i64) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO tasks (kind, target, owner_id, state, cancellable, created_at, finished_at)
             VALUES ('volume.clone', 'pool:x/y', ?, 'succeeded', 1, 0, 0) RETURNING id",
        )
        .bind(owner)
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
    let mut w = World {
        srv,
        admin,
        counter: 0,
        host: 0,
        pool: String::new(),
        pools: Vec::new(),
    };
    w.host = w.srv.add_host(&w.admin, "local", LOCAL).await;
    w.pool = w.fresh_pool().await;
    let (s, _) = w
        .admin
        .call(
            Method::PATCH,
            &format!("/api/v1/pools/{}", w.pool),
            Some(json!({ "images_pool": true })),
        )
        .await;
    assert_eq!(s, 200);

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
            let is_vm = path.starts_with("/api/v1/vms/{id}")
                || path == "/api/v1/vms/batch"
                || path == "/api/v1/console-links/{id}";
            let mut guest = if is_vm { Some(w.owned_vm(owner_id).await) } else { None };
            let shared_volume = if path.contains("{name}") {
                Some(w.fresh_volume().await)
            } else {
                None
            };
            let image = if path.starts_with("/api/v1/images/{id}") {
                Some(w.owned_image(owner_id).await)
            } else {
                None
            };
            let task = if path.starts_with("/api/v1/tasks/{id}") {
                Some(w.owned_task(owner_id).await)
            } else {
                None
            };
            let upload = if path.starts_with("/api/v1/uploads/{id}") {
                let (s, id, body) = common::tus::create(
                    &owner_client,
                    2,
                    &[("filename", "m.iso"), ("kind", "iso"), ("host", &w.host.to_string())],
                )
                .await;
                assert_eq!(s, 201, "{body}");
                id
            } else {
                None
            };
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
                if path.starts_with("/api/v1/pools/{id}") {
                    id = if path == "/api/v1/pools/{id}" && method == "delete" {
                        w.fresh_pool().await
                    } else {
                        w.pool.clone()
                    };
                }
                let mut vol = shared_volume.clone().unwrap_or_default();
                if path == "/api/v1/pools/{id}/volumes/{name}" && method == "delete" {
                    vol = w.fresh_volume().await;
                }
                if let Some(img) = image {
                    id = img.to_string();
                    if method == "delete" && i > 0 {
                        id = w.owned_image(owner_id).await.to_string();
                    }
                }
                if let Some(t) = task {
                    id = t.to_string();
                }
                if let Some(u) = &upload {
                    id = u.clone();
                }
                if path.starts_with("/api/v1/alert-rules/{id}") {
                    let (s, r) = owner_client
                        .call(
                            Method::POST,
                            "/api/v1/alert-rules",
                            Some(json!({ "name": "r", "metric": "vm_cpu_percent", "threshold": 90,
                                         "for_seconds": 60, "scope": { "kind": "all" } })),
                        )
                        .await;
                    assert_eq!(s, 201, "{r}");
                    id = r["id"].as_i64().unwrap().to_string();
                }
                if path.starts_with("/api/v1/notification-channels/{id}") {
                    let (s, c) = owner_client
                        .call(
                            Method::POST,
                            "/api/v1/notification-channels",
                            Some(json!({ "name": "c", "kind": "email", "config": { "to": ["o@example.com"] } })),
                        )
                        .await;
                    assert_eq!(s, 201, "{c}");
                    id = c["id"].as_i64().unwrap().to_string();
                }
                if path == "/api/v1/alerts/{id}/acknowledge" {
                    id = "999999".into();
                }
                if path == "/api/v1/console-links/{id}" {
                    let vm = guest.as_ref().unwrap().uuid.clone();
                    let (s, l) = owner_client
                        .call(
                            Method::POST,
                            &format!("/api/v1/vms/{vm}/console-links"),
                            Some(json!({ "kind": "serial", "expires_minutes": 5 })),
                        )
                        .await;
                    assert_eq!(s, 201, "{l}");
                    id = l["link"]["id"].as_i64().unwrap().to_string();
                }
                let client = w.client_for(role, &owner).await;
                let action = if path.starts_with("/api/v1/pools/") {
                    "refresh"
                } else {
                    "poweroff"
                };
                let url = path
                    .replace("{id}", &id)
                    .replace("{action}", action)
                    .replace("{name}", &vol);
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
                    if path == "/api/v1/vms" || path == "/api/v1/vms/plan" {
                        b["owner_id"] = json!(owner_id);
                    }
                    if path == "/api/v1/profile/password" && *role == "admin" {
                        b = json!({ "current_password": common::ADMIN_PW, "new_password": common::ADMIN_PW });
                    }
                    if path == "/api/v1/pools" {
                        let name = w.unique("p");
                        w.pools.push(name.clone());
                        b = json!({ "host_id": w.host, "name": name, "kind": "dir",
                            "target_path": format!("/var/lib/libvirt/images/{name}"), "build": true });
                    }
                    if path == "/api/v1/pools/{id}/volumes" {
                        b = json!({ "name": w.unique("v"), "capacity_bytes": 1 << 20 });
                    }
                    if (path.starts_with("/api/v1/pools/") && path.ends_with("/actions/resize"))
                        || (path == "/api/v1/pools/{id}/volumes/{name}" && method == "patch")
                    {
                        b = json!({ "capacity_bytes": (i as u64 + 2) << 20 });
                    }
                    if path.starts_with("/api/v1/pools/") && path.ends_with("/actions/clone") {
                        b = json!({ "name": w.unique("c") });
                    }
                    if path == "/api/v1/images" {
                        let v = w.fresh_volume().await;
                        b = json!({ "pool_id": w.pool, "volume": v, "name": v, "kind": "template" });
                    }
                    if path == "/api/v1/images/{id}/actions/copy" {
                        b = json!({ "host_id": w.host });
                    }
                    req = req.json(&b);
                }
                if path.starts_with("/api/v1/uploads") {
                    req = req.header("Tus-Resumable", "1.0.0");
                    if path == "/api/v1/uploads" && method == "post" {
                        req = req.header("Upload-Length", "2").header(
                            "Upload-Metadata",
                            common::tus::metadata(&[("filename", "m.iso"), ("kind", "iso")]),
                        );
                    }
                    if method == "patch" {
                        req = req
                            .header("Content-Type", "application/offset+octet-stream")
                            .header("Upload-Offset", "0")
                            .body(vec![1u8]);
                    }
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
    assert!(checked >= 60 * 6, "only {checked} calls checked");
}
