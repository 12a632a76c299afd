//! `/api/v1/uploads`: resumable uploads, tus 1.0 (core, creation, creation-with-upload, expiration, checksum,
//! termination), plus JSON views of an upload for the UI.
use super::extract::ApiPath;
use crate::auth::Caller;
use crate::error::{Error, Result, UploadError};
use crate::services::upload_chunks::{self, ChunkSum};
use crate::services::uploads::{self, UploadRow, CHECKSUMS, EXTENSIONS, TUS_VERSION};
use crate::state::AppState;
use app::api::{ApiError, Upload};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

const OFFSET_TYPE: &str = "application/offset+octet-stream";

fn h(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(h(name), v);
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// tus requests must say which version they speak (OPTIONS excepted).
fn check_version(headers: &HeaderMap) -> Result<()> {
    match header_str(headers, "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(UploadError::TusVersion.into()),
    }
}

fn http_date(ms: i64) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

fn offset_headers(resp: &mut Response, row: &UploadRow) {
    set(resp, "upload-offset", &row.received.to_string());
    set(resp, "upload-expires", &http_date(row.expires_at));
}

/// Every tus answer names the protocol version; a version mismatch also lists the supported ones.
pub async fn tus_headers(req: Request, next: Next) -> Response {
    let options = req.method() == Method::OPTIONS;
    let mut resp = next.run(req).await;
    if !options {
        set(&mut resp, "tus-resumable", TUS_VERSION);
    }
    if resp.status() == StatusCode::PRECONDITION_FAILED {
        set(&mut resp, "tus-version", TUS_VERSION);
    }
    resp
}

/// What this server supports: version, extensions, checksum algorithms and the largest upload.
#[utoipa::path(options, path = "/api/v1/uploads", operation_id = "upload.options", tag = "uploads",
    responses((status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm")))]
pub async fn options(State(state): State<AppState>) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    set(&mut resp, "tus-version", TUS_VERSION);
    set(&mut resp, "tus-extension", EXTENSIONS);
    set(&mut resp, "tus-max-size", &state.config.uploads.max_bytes.to_string());
    set(&mut resp, "tus-checksum-algorithm", CHECKSUMS);
    resp
}

/// Creates an upload (`Upload-Length`, `Upload-Metadata`: `filename`, `name`, `kind`, `pool` or `host`,
/// `visibility`, `checksum`, template facts). Target, quota and size are checked first. A body with
/// `Content-Type: application/offset+octet-stream` is the first chunk.
#[utoipa::path(post, path = "/api/v1/uploads", operation_id = "upload.create", tag = "uploads",
    responses((status = 201, description = "Location of the new upload; Upload-Offset"),
        (status = 400, body = ApiError), (status = 409, body = ApiError), (status = 412, body = ApiError),
        (status = 413, body = ApiError)))]
pub async fn create(State(state): State<AppState>, caller: Caller, req: Request) -> Result<Response> {
    let headers = req.headers().clone();
    check_version(&headers)?;
    caller.require()?;
    if header_str(&headers, "upload-defer-length").is_some() {
        return Err(UploadError::LengthRequired.into());
    }
    let length: i64 = header_str(&headers, "upload-length")
        .and_then(|v| v.trim().parse().ok())
        .ok_or(UploadError::LengthRequired)?;
    let meta = header_str(&headers, "upload-metadata").unwrap_or("");
    let mut row = uploads::create(&state, &caller, length, meta).await?;
    let with_body = header_str(&headers, "content-type") == Some(OFFSET_TYPE);
    if with_body {
        let checksum = header_str(&headers, "upload-checksum")
            .map(ChunkSum::parse)
            .transpose()?;
        let body = req.into_body().into_data_stream();
        // The upload exists whatever happens to its first chunk: the client learns the offset with HEAD.
        if let Ok(r) = upload_chunks::patch(&state, &caller, &row.id, 0, checksum, body).await {
            row = r;
        }
    }
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/uploads/{}", row.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    offset_headers(&mut resp, &row);
    Ok(resp)
}

/// The caller's unfinished (and failed) uploads, to resume them from any browser.
#[utoipa::path(get, path = "/api/v1/uploads", operation_id = "upload.list", tag = "uploads",
    responses((status = 200, body = [Upload])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Upload>>> {
    Ok(Json(uploads::list(&state, &caller).await?))
}

/// tus: the offset to resume from.
#[utoipa::path(head, path = "/api/v1/uploads/{id}", operation_id = "upload.head", tag = "uploads",
    params(("id" = String, Path)),
    responses((status = 200, description = "Upload-Offset, Upload-Length, Upload-Metadata"), (status = 404)))]
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    check_version(&headers)?;
    let row = uploads::get(&state, &caller, &id).await?;
    let mut resp = StatusCode::OK.into_response();
    offset_headers(&mut resp, &row);
    set(&mut resp, "upload-length", &row.length.to_string());
    set(&mut resp, "upload-metadata", &row.metadata_header());
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The upload as JSON: offset, length, metadata, state, and once complete its import task and image.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", operation_id = "upload.get", tag = "uploads",
    params(("id" = String, Path)), responses((status = 200, body = Upload), (status = 404, body = ApiError)))]
pub async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<String>) -> Result<Response> {
    let row = uploads::get(&state, &caller, &id).await?;
    let mut resp = Json(row.to_api()).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// tus: appends a chunk at `Upload-Offset` (409 elsewhere, 415 without the offset content type, 460 on a
/// checksum mismatch, 413 past the declared length). Answered only once the bytes are on disk.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", operation_id = "upload.patch", tag = "uploads",
    params(("id" = String, Path)),
    responses((status = 204, description = "the new Upload-Offset"), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError),
        (status = 460, description = "checksum mismatch", body = ApiError)))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    check_version(&headers)?;
    caller.require()?;
    if header_str(&headers, "content-type") != Some(OFFSET_TYPE) {
        return Err(Error::UnsupportedMediaType);
    }
    let offset: i64 = header_str(&headers, "upload-offset")
        .and_then(|v| v.trim().parse().ok())
        .ok_or(Error::invalid("Upload-Offset", "required"))?;
    let checksum = header_str(&headers, "upload-checksum")
        .map(ChunkSum::parse)
        .transpose()?;
    let body: Body = req.into_body();
    let row = upload_chunks::patch(&state, &caller, &id, offset, checksum, body.into_data_stream()).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    offset_headers(&mut resp, &row);
    Ok(resp)
}

/// tus termination: the staged bytes are removed and reserved quota is given back.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", operation_id = "upload.delete", tag = "uploads",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    // The page's own "discard" sends no tus header; a tus client must send the right one.
    if headers.contains_key("tus-resumable") {
        check_version(&headers)?;
    }
    uploads::terminate(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Imports a complete upload once more after its import failed (a full pool, a host that was offline).
#[utoipa::path(post, path = "/api/v1/uploads/{id}/import", operation_id = "upload.import", tag = "uploads",
    params(("id" = String, Path)),
    responses((status = 202, body = Upload), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Upload>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            crate::services::image_import::retry(&state, &caller, &id)
                .await?
                .to_api(),
        ),
    ))
}

/// This resource's routes (no body limit: chunks are streamed to disk and bounded by the declared length).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(options, create, list))
        .routes(utoipa_axum::routes!(head, get, patch, delete))
        .routes(utoipa_axum::routes!(import))
        .layer(axum::middleware::from_fn(tus_headers))
        .layer(axum::extract::DefaultBodyLimit::disable())
}
