//! Accounts, roles, quotas and the caller's own profile. Wire types (with OpenAPI schemas under `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

#[allow(unused_imports)]
use super::*;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Operator,
    #[default]
    User,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::User, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::User => "user",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Limits and current usage of one user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Quota {
    pub max_vms: i64,
    pub max_vcpus: i64,
    pub max_memory_mib: i64,
    pub max_disk_gib: i64,
    pub used_vms: i64,
    pub used_vcpus: i64,
    pub used_memory_mib: i64,
    pub used_disk_gib: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct QuotaLimits {
    pub max_vms: i64,
    pub max_vcpus: i64,
    pub max_memory_mib: i64,
    pub max_disk_gib: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub language: String,
    pub has_avatar: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    pub quota: Quota,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    pub role: Role,
    #[serde(default)]
    pub quota: Option<QuotaLimits>,
}

/// Every field is optional; only those present change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// A new password (set by an admin). It ends the user's sessions and, unless `keep_tokens`, revokes
    /// their API tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// With `password`: keep the user's API tokens working (they are revoked by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_tokens: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UpdateProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
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
