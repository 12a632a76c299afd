//! API tokens. Wire types (with OpenAPI schemas under `ssr`) and the typed client calls.

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
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreateToken {
    pub name: String,
}

/// Returned once, at creation: the secret is never shown again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
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
