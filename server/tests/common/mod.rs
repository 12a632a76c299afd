//! Test harness: a real server on port 0 with a temporary data directory, and cookie-keeping clients.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub mod console;
pub mod create;
pub mod guest;
pub mod storage;
pub mod tus;
use hangar::config::{Config, Secret};
use hangar::Running;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const ADMIN_PW: &str = "admin-password-1";
pub const PW_USER: &str = "user-password-1";

pub struct TestServer {
    pub base: String,
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
    pub config: Config,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            admin_password: Some(Secret(ADMIN_PW.into())),
            log: "warn".into(),
            bootstrap_host: "none".into(),
            ..Default::default()
        };
        tweak(&mut cfg);
        let running = hangar::start(cfg.clone()).await.unwrap();
        TestServer {
            base: format!("http://{}", running.addr),
            running: Some(running),
            dir,
            config: cfg,
        }
    }

    /// Stops the server and starts it again on the same data directory (and a new free port).
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let running = hangar::start(self.config.clone()).await.unwrap();
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    pub fn state(&self) -> &hangar::state::AppState {
        &self.running.as_ref().unwrap().state
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    pub async fn admin(&self) -> Client {
        let mut c = self.client();
        c.login_ok("admin", ADMIN_PW).await;
        c
    }

    /// Creates an account through the API (as `admin`) and returns its id.
    pub async fn create_user(&self, admin: &Client, username: &str, password: &str, role: &str) -> i64 {
        let new = app::api::CreateUser {
            username: username.into(),
            password: password.into(),
            role: app::api::Role::parse(role).unwrap(),
            ..Default::default()
        };
        let (s, user) = admin
            .send_as::<_, app::api::User>(Method::POST, "/api/v1/users", &new)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{user:?}");
        user.unwrap().id
    }

    /// Every audit record, newest first, read straight from the database.
    pub async fn audit_rows(&self) -> Vec<(String, Option<String>, String, Option<String>)> {
        sqlx::query_as("SELECT action, actor, result, target FROM audit_log ORDER BY id DESC")
            .fetch_all(&self.state().db)
            .await
            .unwrap()
    }

    /// Registers a host through the API and waits until Hangar has it online and synced.
    pub async fn add_host(&self, admin: &Client, name: &str, uri: &str) -> i64 {
        let new = app::api::CreateHost {
            name: name.into(),
            uri: uri.into(),
            ..Default::default()
        };
        let (s, host) = admin
            .send_as::<_, app::api::Host>(Method::POST, "/api/v1/hosts", &new)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{host:?}");
        let id = host.unwrap().id;
        guest::eventually(20, "host online", || async {
            let h: app::api::HostDetail = admin.get_as(&format!("/api/v1/hosts/{id}")).await;
            (h.host.status == app::api::HostStatus::Online).then_some(())
        })
        .await;
        id
    }

    /// Waits until the VM is in the index (libvirt's event or a sync put it there) and returns it.
    pub async fn wait_vm(&self, admin: &Client, uuid: &str, state: Option<&str>) -> Value {
        guest::eventually(30, &format!("vm {uuid} in state {state:?}"), || async {
            let (s, v) = admin.get("/api/v1/vms?per_page=1000").await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|vm| vm["id"] == uuid && state.is_none_or(|st| vm["state"] == st))
                .cloned()
        })
        .await
    }

    /// Like `wait_vm`, as the contract's `Vm`.
    pub async fn wait_vm_as(&self, admin: &Client, uuid: &str) -> app::api::Vm {
        serde_json::from_value(self.wait_vm(admin, uuid, None).await).unwrap()
    }

    pub async fn audit_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&self.state().db)
            .await
            .unwrap()
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder().cookie_store(true).build().unwrap(),
            base: base.to_string(),
            csrf: None,
            bearer: None,
        }
    }

    pub async fn login(&mut self, username: &str, password: &str) -> (StatusCode, Value) {
        let (s, v) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(serde_json::json!({ "username": username, "password": password })),
            )
            .await;
        if s.is_success() {
            self.csrf = v["csrf_token"].as_str().map(String::from);
        }
        (s, v)
    }

    pub async fn login_ok(&mut self, username: &str, password: &str) -> Value {
        let (s, v) = self.login(username, password).await;
        assert_eq!(s, StatusCode::OK, "login {username}: {v}");
        v
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.csrf {
            r = r.header("X-CSRF-Token", t);
        }
        if let Some(b) = &self.bearer {
            r = r.bearer_auth(b);
        }
        r
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.request(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// A successful answer as the API contract's own type (the test fails on anything else).
    pub async fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let (s, v) = self.get(path).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("GET {path}: {e}: {v}"))
    }

    /// A successful answer (any 2xx) as the contract's type `T`; the test fails on anything else.
    pub async fn ok_as<T: serde::de::DeserializeOwned>(&self, method: Method, path: &str, body: Option<Value>) -> T {
        let (s, v) = self.call(method.clone(), path, body).await;
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{method} {path}: {e}: {v}"))
    }

    /// A refusal: its status and the error as the contract's `ApiError`; the test fails on a success.
    pub async fn refused(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, app::api::ApiError) {
        let (s, v) = self.call(method.clone(), path, body).await;
        assert!(!s.is_success(), "{method} {path} was accepted: {v}");
        let e = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{method} {path}: {e}: {v}"));
        (s, e)
    }

    /// Sends `body` (any contract type) and reads the answer as `T`, with the status.
    pub async fn send_as<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> (StatusCode, Result<T, Value>) {
        let (s, v) = self.call(method, path, Some(serde_json::to_value(body).unwrap())).await;
        (s, serde_json::from_value(v.clone()).map_err(|_| v))
    }
}

/// Quota limits: VMs, vCPUs, memory in MiB, disk in GiB.
pub fn limits(vms: i64, vcpus: i64, memory_mib: i64, disk_gib: i64) -> app::api::QuotaLimits {
    app::api::QuotaLimits {
        max_vms: vms,
        max_vcpus: vcpus,
        max_memory_mib: memory_mib,
        max_disk_gib: disk_gib,
    }
}

/// A request body from any contract type.
pub fn body<B: serde::Serialize>(b: &B) -> Option<Value> {
    Some(serde_json::to_value(b).unwrap())
}

/// A valid 1x1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];
