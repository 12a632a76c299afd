//! Calls the REST API: over HTTP in the browser, in-process through the axum router during SSR.
use super::types::*;
use super::virt_types::*;
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> ApiResult<T> {
    if (200..300).contains(&status) {
        let body: &[u8] = if body.is_empty() { b"null" } else { body };
        serde_json::from_slice(body).map_err(|e| ApiError::new("bad_response", &e.to_string()))
    } else {
        Err(serde_json::from_slice(body).unwrap_or_else(|_| ApiError::new("http_error", &format!("HTTP {status}"))))
    }
}

/// The server hands this to Leptos so that SSR reaches the API without a socket.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct SsrApi(pub axum::Router);

#[cfg(feature = "ssr")]
pub fn request<B, T>(
    method: Method,
    path: String,
    body: Option<B>,
) -> impl Future<Output = ApiResult<T>> + Send + 'static
where
    B: Serialize + Send + 'static,
    T: DeserializeOwned + Send + 'static,
{
    use leptos::prelude::use_context;
    use tower::ServiceExt;
    let api = use_context::<SsrApi>();
    let parts = use_context::<http::request::Parts>();
    async move {
        let Some(SsrApi(router)) = api else {
            return Err(ApiError::new("internal", "no API in context"));
        };
        let mut req = http::Request::builder().method(method.as_str()).uri(&path);
        if let Some(parts) = &parts {
            for name in [http::header::COOKIE, http::header::ACCEPT_LANGUAGE] {
                if let Some(v) = parts.headers.get(&name) {
                    req = req.header(name, v.clone());
                }
            }
        }
        let body = match body {
            Some(b) => {
                req = req.header(http::header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(serde_json::to_vec(&b).unwrap_or_default())
            }
            None => axum::body::Body::empty(),
        };
        let mut req = req.body(body).map_err(|e| ApiError::new("internal", &e.to_string()))?;
        if let Some(ci) = parts.as_ref().and_then(|p| {
            p.extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .cloned()
        }) {
            req.extensions_mut().insert(ci);
        }
        let resp = router
            .oneshot(req)
            .await
            .map_err(|e| ApiError::new("internal", &e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .map_err(|e| ApiError::new("internal", &e.to_string()))?;
        decode(status, &bytes)
    }
}

/// The CSRF token the server left in a readable cookie at sign-in.
#[cfg(feature = "hydrate")]
pub fn csrf_token() -> Option<String> {
    crate::i18n::read_cookie("hangar_csrf")
}

#[cfg(feature = "hydrate")]
pub fn request<B, T>(
    method: Method,
    path: String,
    body: Option<B>,
) -> impl Future<Output = ApiResult<T>> + Send + 'static
where
    B: Serialize + Send + 'static,
    T: DeserializeOwned + Send + 'static,
{
    send_wrapper::SendWrapper::new(async move {
        use gloo_net::http::RequestBuilder;
        let net = |e: gloo_net::Error| ApiError::new("network", &e.to_string());
        let mut req = RequestBuilder::new(&path).method(match method {
            Method::Get => gloo_net::http::Method::GET,
            Method::Post => gloo_net::http::Method::POST,
            Method::Put => gloo_net::http::Method::PUT,
            Method::Patch => gloo_net::http::Method::PATCH,
            Method::Delete => gloo_net::http::Method::DELETE,
        });
        if method != Method::Get {
            if let Some(t) = csrf_token() {
                req = req.header("X-CSRF-Token", &t);
            }
        }
        let resp = match body {
            Some(b) => req.json(&b).map_err(net)?.send().await.map_err(net)?,
            None => req.send().await.map_err(net)?,
        };
        let bytes = resp.binary().await.map_err(net)?;
        decode(resp.status(), &bytes)
    })
}

/// Uploads raw bytes (the avatar) from the browser.
#[cfg(feature = "hydrate")]
pub async fn put_bytes(path: &str, content_type: &str, body: js_sys::Uint8Array) -> ApiResult<()> {
    let net = |e: gloo_net::Error| ApiError::new("network", &e.to_string());
    let mut req = gloo_net::http::Request::put(path).header("Content-Type", content_type);
    if let Some(t) = csrf_token() {
        req = req.header("X-CSRF-Token", &t);
    }
    let resp = req.body(body).map_err(net)?.send().await.map_err(net)?;
    let bytes = resp.binary().await.map_err(net)?;
    decode(resp.status(), &bytes)
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
pub fn request<B, T>(
    _method: Method,
    _path: String,
    _body: Option<B>,
) -> impl Future<Output = ApiResult<T>> + Send + 'static
where
    B: Serialize + Send + 'static,
    T: DeserializeOwned + Send + 'static,
{
    async { Err(ApiError::new("internal", "no transport")) }
}

fn get<T: DeserializeOwned + Send + 'static>(path: String) -> impl Future<Output = ApiResult<T>> + Send {
    request::<(), T>(Method::Get, path, None)
}

fn send<B: Serialize + Send + 'static, T: DeserializeOwned + Send + 'static>(
    method: Method,
    path: String,
    body: B,
) -> impl Future<Output = ApiResult<T>> + Send {
    request(method, path, Some(body))
}

/// `?k=v&…` of the non-empty fields of `q` (empty when there are none).
pub fn query_string<Q: Serialize>(q: &Q) -> String {
    let v = serde_json::to_value(q).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            if !s.is_empty() {
                out.push(format!("{k}={}", encode(&s)));
            }
        }
    }
    if out.is_empty() {
        String::new()
    } else {
        format!("?{}", out.join("&"))
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn login(req: LoginRequest) -> impl Future<Output = ApiResult<Me>> + Send {
    send(Method::Post, "/api/v1/auth/login".into(), req)
}
pub fn logout() -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Post, "/api/v1/auth/logout".into(), None)
}
pub fn me() -> impl Future<Output = ApiResult<Me>> + Send {
    get("/api/v1/auth/me".into())
}
pub fn update_profile(p: UpdateProfile) -> impl Future<Output = ApiResult<User>> + Send {
    send(Method::Patch, "/api/v1/profile".into(), p)
}
pub fn change_password(p: ChangePassword) -> impl Future<Output = ApiResult<()>> + Send {
    send(Method::Put, "/api/v1/profile/password".into(), p)
}
pub fn list_users() -> impl Future<Output = ApiResult<Vec<User>>> + Send {
    get("/api/v1/users".into())
}
pub fn get_user(id: i64) -> impl Future<Output = ApiResult<User>> + Send {
    get(format!("/api/v1/users/{id}"))
}
pub fn create_user(u: CreateUser) -> impl Future<Output = ApiResult<User>> + Send {
    send(Method::Post, "/api/v1/users".into(), u)
}
pub fn update_user(id: i64, u: UpdateUser) -> impl Future<Output = ApiResult<User>> + Send {
    send(Method::Patch, format!("/api/v1/users/{id}"), u)
}
pub fn delete_user(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/users/{id}"), None)
}
pub fn set_quota(id: i64, q: QuotaLimits) -> impl Future<Output = ApiResult<Quota>> + Send {
    send(Method::Put, format!("/api/v1/users/{id}/quota"), q)
}
pub fn audit(q: AuditQuery) -> impl Future<Output = ApiResult<AuditPage>> + Send {
    get(format!("/api/v1/audit{}", query_string(&q)))
}
/// The CSV export of the same filters, for a download link.
pub fn audit_csv_url(q: &AuditQuery) -> String {
    let mut q = q.clone();
    q.page = None;
    q.per_page = None;
    format!("/api/v1/audit.csv{}", query_string(&q))
}
pub fn list_tokens() -> impl Future<Output = ApiResult<Vec<ApiToken>>> + Send {
    get("/api/v1/tokens".into())
}
pub fn create_token(t: CreateToken) -> impl Future<Output = ApiResult<CreatedToken>> + Send {
    send(Method::Post, "/api/v1/tokens".into(), t)
}
pub fn delete_token(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/tokens/{id}"), None)
}

pub fn list_hosts() -> impl Future<Output = ApiResult<Vec<Host>>> + Send {
    get("/api/v1/hosts".into())
}
pub fn get_host(id: i64) -> impl Future<Output = ApiResult<HostDetail>> + Send {
    get(format!("/api/v1/hosts/{id}"))
}
pub fn create_host(h: CreateHost) -> impl Future<Output = ApiResult<Host>> + Send {
    send(Method::Post, "/api/v1/hosts".into(), h)
}
pub fn update_host(id: i64, h: UpdateHost) -> impl Future<Output = ApiResult<Host>> + Send {
    send(Method::Patch, format!("/api/v1/hosts/{id}"), h)
}
pub fn delete_host(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/hosts/{id}"), None)
}
pub fn list_vms(q: VmQuery) -> impl Future<Output = ApiResult<VmPage>> + Send {
    get(format!("/api/v1/vms{}", query_string(&q)))
}
pub fn get_vm(id: String) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    get(format!("/api/v1/vms/{id}"))
}
pub fn vm_xml(id: String) -> impl Future<Output = ApiResult<String>> + Send {
    get(format!("/api/v1/vms/{id}/xml"))
}
pub fn update_vm(id: String, u: UpdateVm) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(Method::Patch, format!("/api/v1/vms/{id}"), u)
}
pub fn delete_vm(id: String, disks: bool) -> impl Future<Output = ApiResult<VmDeleted>> + Send {
    request::<(), VmDeleted>(Method::Delete, format!("/api/v1/vms/{id}?disks={disks}"), None)
}
pub fn vm_action(id: String, action: &'static str) -> impl Future<Output = ApiResult<Vm>> + Send {
    request::<(), Vm>(Method::Post, format!("/api/v1/vms/{id}/actions/{action}"), None)
}
pub fn vm_batch(b: BatchRequest) -> impl Future<Output = ApiResult<Vec<BatchItem>>> + Send {
    send(Method::Post, "/api/v1/vms/batch".into(), b)
}
