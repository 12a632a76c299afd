//! The image library (ISOs and templates) and resumable uploads into it. Wire types (with OpenAPI schemas under
//! `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::{IntoParams, ToSchema};

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use super::Task;
use std::future::Future;

/// What a template says about the system on it (all optional for ISOs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(default)]
pub struct ImageFacts {
    pub os_family: String,
    pub os_version: String,
    /// `x86_64` or `aarch64`.
    pub arch: String,
    /// `bios` or `uefi`.
    pub firmware: String,
    /// `virtio`, `scsi`, `sata` or `ide`.
    pub disk_bus: String,
    pub min_disk_gib: i64,
    pub min_memory_mib: i64,
    /// vCPUs it suggests (0: no suggestion).
    pub default_vcpus: i64,
    pub cloud_init: bool,
    pub default_user: String,
    pub description: String,
}

impl Default for ImageFacts {
    fn default() -> Self {
        ImageFacts {
            os_family: String::new(),
            os_version: String::new(),
            arch: "x86_64".into(),
            firmware: "bios".into(),
            disk_bus: "virtio".into(),
            min_disk_gib: 0,
            min_memory_mib: 0,
            default_vcpus: 0,
            cloud_init: false,
            default_user: String::new(),
            description: String::new(),
        }
    }
}

/// Where one copy of an image's bytes is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ImageCopy {
    pub host_id: i64,
    pub host_name: String,
    pub pool_id: String,
    pub pool_name: String,
    pub volume: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Image {
    pub id: i64,
    pub name: String,
    /// `iso` or `template`.
    pub kind: String,
    /// `public` or `private`.
    pub visibility: String,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    /// `iso`, `qcow2` or `raw`.
    pub format: String,
    pub size_bytes: i64,
    /// The disk size a template gives a VM (its virtual size; the file size for ISOs and raw images).
    pub virtual_size_bytes: i64,
    pub sha256: String,
    pub md5: String,
    pub facts: ImageFacts,
    pub copies: Vec<ImageCopy>,
    /// VMs whose disks use a copy of it (as a backing file or a CD-ROM).
    pub used_by: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct ImageQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Part of the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<i64>,
}

/// Turns an existing volume into an image (the volume is then the image's copy on that host).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ImportImage {
    pub pool_id: String,
    pub volume: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub visibility: String,
    #[serde(default)]
    pub facts: ImageFacts,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UpdateImage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<ImageFacts>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CopyImage {
    pub host_id: i64,
    /// A pool on that host; its images pool when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
}

/// An upload as `GET /api/v1/uploads/{id}` describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Upload {
    pub id: String,
    pub offset: i64,
    pub length: i64,
    /// The decoded `Upload-Metadata`.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// `receiving`, `importing`, `imported` or `failed`.
    pub state: String,
    pub task_id: Option<i64>,
    pub image_id: Option<i64>,
    pub error_code: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn list_images(q: ImageQuery) -> impl Future<Output = ApiResult<Vec<Image>>> + Send {
    get(format!("/api/v1/images{}", query_string(&q)))
}

pub fn get_image(id: i64) -> impl Future<Output = ApiResult<Image>> + Send {
    get(format!("/api/v1/images/{id}"))
}

pub fn import_image(i: ImportImage) -> impl Future<Output = ApiResult<Image>> + Send {
    send(Method::Post, "/api/v1/images".into(), i)
}

pub fn update_image(id: i64, u: UpdateImage) -> impl Future<Output = ApiResult<Image>> + Send {
    send(Method::Patch, format!("/api/v1/images/{id}"), u)
}

pub fn delete_image(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/images/{id}"), None)
}

pub fn copy_image(id: i64, c: CopyImage) -> impl Future<Output = ApiResult<Task>> + Send {
    send(Method::Post, format!("/api/v1/images/{id}/actions/copy"), c)
}

/// Discards an upload (tus termination): its bytes are removed and its reserved quota returned.
pub fn discard_upload(id: String) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/uploads/{id}"), None)
}

/// Imports a complete upload again after its import failed.
pub fn retry_upload(id: String) -> impl Future<Output = ApiResult<Upload>> + Send {
    request::<(), Upload>(Method::Post, format!("/api/v1/uploads/{id}/import"), None)
}

pub fn list_uploads() -> impl Future<Output = ApiResult<Vec<Upload>>> + Send {
    get("/api/v1/uploads".into())
}
