//! Signing in and out, and who the caller is. Wire types (with OpenAPI schemas under `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

#[allow(unused_imports)]
use super::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in principal, as `GET /api/v1/auth/me` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Me {
    pub user: User,
    /// Send back as `X-CSRF-Token` on cookie-authenticated requests that change something.
    pub csrf_token: Option<String>,
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
