//! Streams a volume's bytes to the client through a libvirt stream, with single-range `Range` support and
//! back-pressure (a slow reader slows the stream; nothing is buffered beyond a few chunks).
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::storage;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, OnceLock};

/// Downloads running at once; more wait their turn.
const AT_ONCE: usize = 8;

fn slots() -> Arc<tokio::sync::Semaphore> {
    static S: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    S.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(AT_ONCE))).clone()
}

/// A `Range` that asks for bytes the volume does not have (answered `416`).
#[derive(Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` against `size`: `Ok(None)` for the whole, `Err` when unsatisfiable.
pub fn parse_range(h: &str, size: u64) -> std::result::Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| Unsatisfiable)?;
            if n == 0 {
                return Err(Unsatisfiable);
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (s, "") => (s.parse().map_err(|_| Unsatisfiable)?, size.saturating_sub(1)),
        (s, e) => {
            let (s, e): (u64, u64) = (
                s.parse().map_err(|_| Unsatisfiable)?,
                e.parse().map_err(|_| Unsatisfiable)?,
            );
            (s, e.min(size.saturating_sub(1)))
        }
    };
    if size == 0 || start > end || start >= size {
        return Err(Unsatisfiable);
    }
    Ok(Some((start, end)))
}

/// The volume's bytes as an HTTP response (`200`, `206` for a range, `416` for an unsatisfiable one).
pub async fn volume(
    state: &AppState,
    host_id: i64,
    pool: String,
    volume: String,
    size: u64,
    filename: &str,
    headers: &HeaderMap,
) -> Result<Response> {
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => match parse_range(r, size) {
            Ok(r) => r,
            Err(Unsatisfiable) => {
                let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(resp);
            }
        },
        None => None,
    };
    let (offset, len) = match range {
        Some((s, e)) => (s, e - s + 1),
        None => (0, size),
    };
    let host = crate::services::hosts::row(state, host_id).await?;
    let conn = state.virt.connection(host.id, &host.name)?;
    let permit = tokio::time::timeout(std::time::Duration::from_secs(30), slots().acquire_owned())
        .await
        .map_err(|_| Error::Busy { retry_after: 10 })?
        .map_err(|e| Error::Internal(e.into()))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let r = storage::pool(&conn, &pool)
            .and_then(|p| p.lookup_storage_vol_by_name(&volume))
            .map_err(crate::virt::from_libvirt)
            .and_then(|v| {
                storage::download(&conn, &v, offset, len, |chunk| {
                    tx.blocking_send(Ok(Bytes::from(chunk))).is_ok()
                })
            });
        if let Err(e) = r {
            tracing::warn!(error = ?e, "download failed mid-way");
            let _ = tx.blocking_send(Err(std::io::Error::other("the download failed")));
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    let disposition = format!(
        "attachment; filename=\"{}\"",
        filename
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .collect::<String>()
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some((s, e)) = range {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {s}-{e}/{size}")) {
            resp.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::{parse_range, Unsatisfiable};

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(Unsatisfiable));
        assert_eq!(parse_range("bytes=9-1", 100), Err(Unsatisfiable));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }
}
