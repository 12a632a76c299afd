//! Calls the REST API: over HTTP in the browser, in-process through the axum router during SSR.
use super::ApiError;
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
pub async fn put_bytes<T: DeserializeOwned>(path: &str, content_type: &str, body: js_sys::Uint8Array) -> ApiResult<T> {
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

pub(super) fn get<T: DeserializeOwned + Send + 'static>(path: String) -> impl Future<Output = ApiResult<T>> + Send {
    request::<(), T>(Method::Get, path, None)
}

pub(super) fn send<B: Serialize + Send + 'static, T: DeserializeOwned + Send + 'static>(
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
