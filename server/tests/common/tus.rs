//! A minimal tus 1.0 client for tests that check the protocol's edges (real third-party clients are tested in
//! tus_clients.rs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::Client;
use base64::Engine;
use reqwest::{Method, StatusCode};
use sha1::Digest;

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", b64(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// POST /api/v1/uploads → (status, upload id, JSON body of an error).
pub async fn create(c: &Client, length: u64, meta: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
    let r = c
        .request(Method::POST, "/api/v1/uploads")
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata(meta))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let id = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(|l| l.rsplit('/').next().unwrap().to_string());
    (status, id, r.text().await.unwrap())
}

pub fn sha1_header(bytes: &[u8]) -> String {
    format!(
        "sha1 {}",
        base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(bytes))
    )
}

/// PATCH a chunk → (status, Upload-Offset answered, body).
pub async fn patch(
    c: &Client,
    id: &str,
    offset: u64,
    bytes: &[u8],
    checksum: Option<String>,
) -> (StatusCode, Option<u64>, String) {
    let mut r = c
        .request(Method::PATCH, &format!("/api/v1/uploads/{id}"))
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(bytes.to_vec());
    if let Some(cs) = checksum {
        r = r.header("Upload-Checksum", cs);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let off = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, off, r.text().await.unwrap())
}

/// HEAD → (status, Upload-Offset).
pub async fn head(c: &Client, id: &str) -> (StatusCode, Option<u64>) {
    let r = c
        .request(Method::HEAD, &format!("/api/v1/uploads/{id}"))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    let off = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (r.status(), off)
}

/// Uploads all of `bytes` in chunks of `chunk`, with sha1 checksums; returns the upload id.
pub async fn upload_all(c: &Client, bytes: &[u8], chunk: usize, meta: &[(&str, &str)]) -> String {
    let (s, id, body) = create(c, bytes.len() as u64, meta).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = id.unwrap();
    let mut off = 0;
    for part in bytes.chunks(chunk) {
        let (s, new, body) = patch(c, &id, off as u64, part, Some(sha1_header(part))).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
        off += part.len();
        assert_eq!(new, Some(off as u64));
    }
    id
}

/// A small but real ISO 9660 image: zeros with the primary volume descriptor's signature, and some content.
pub fn fake_iso(len: usize, seed: u8) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    v[0x8000] = 1;
    v[0x8001..0x8006].copy_from_slice(b"CD001");
    v
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}
