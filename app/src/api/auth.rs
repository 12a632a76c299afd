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
    /// What the server allows this caller, so the UI shows exactly that (and never re-derives roles).
    #[serde(default)]
    pub can: Capabilities,
}

/// Which VMs (and their events) a caller sees: all of them, or only their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    All,
    #[default]
    Own,
}

/// The caller's permissions, computed by the server's policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Capabilities {
    pub scope: Scope,
    pub list_users: bool,
    pub manage_users: bool,
    pub read_audit: bool,
    pub read_hosts: bool,
    pub manage_hosts: bool,
    /// Start, stop… VMs in scope.
    pub operate_vms: bool,
    pub edit_vms: bool,
    pub delete_vms: bool,
    /// Give VMs to users.
    pub assign_vms: bool,
    /// See storage pools and volumes.
    #[serde(default)]
    pub read_storage: bool,
    /// Create and change pools and volumes.
    #[serde(default)]
    pub manage_storage: bool,
    /// Upload, edit and delete public images.
    #[serde(default)]
    pub manage_public_images: bool,
    /// Upload private images of one's own.
    #[serde(default)]
    pub upload_images: bool,
    /// Edit, copy and delete other accounts' private images.
    #[serde(default)]
    pub manage_any_image: bool,
    /// Create VMs of one's own.
    #[serde(default)]
    pub create_vms: bool,
    /// For those who create accounts: the quota a new account gets unless another is given.
    #[serde(default)]
    pub default_quota: Option<super::QuotaLimits>,
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
