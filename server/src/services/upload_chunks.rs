//! tus chunks: each `PATCH` is streamed to the staged file while its checksum and the whole file's running
//! hashes are computed, synced to disk, then recorded, then acknowledged. One lock per upload serializes them.
use crate::auth::Caller;
use crate::db;
use crate::error::{Error, Result, UploadError};
use crate::services::uploads::{by_owner, staged, UploadRow};
use crate::services::{audit, tasks};
use crate::state::AppState;
use base64::Engine;
use md5::Md5;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The running hashes of the bytes received so far, per upload; rebuilt from the staged file after a restart.
pub(crate) struct Hashing {
    offset: i64,
    sha256: Sha256,
    md5: Md5,
}

/// One lock and one set of hashes per upload in progress: chunks of one upload are written one at a time.
#[derive(Default)]
pub struct Hashers(Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Hashing>>>>>);

impl Hashers {
    pub(crate) fn slot(&self, id: &str) -> Arc<tokio::sync::Mutex<Option<Hashing>>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_string())
            .or_default()
            .clone()
    }
    pub(crate) fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

/// A chunk's checksum as tus sends it: `Upload-Checksum: <algorithm> <base64>`.
pub enum ChunkSum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(Sha256, Vec<u8>),
    Md5(Md5, Vec<u8>),
}

impl ChunkSum {
    pub fn parse(header: &str) -> Result<ChunkSum> {
        let (alg, b64) = header.trim().split_once(' ').ok_or(UploadError::ChecksumAlgorithm)?;
        let want = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| Error::invalid("Upload-Checksum", "bad_base64"))?;
        Ok(match alg {
            "sha1" => ChunkSum::Sha1(sha1::Sha1::new(), want),
            "sha256" => ChunkSum::Sha256(Sha256::new(), want),
            "md5" => ChunkSum::Md5(Md5::new(), want),
            _ => return Err(UploadError::ChecksumAlgorithm.into()),
        })
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            ChunkSum::Sha1(h, _) => h.update(b),
            ChunkSum::Sha256(h, _) => h.update(b),
            ChunkSum::Md5(h, _) => h.update(b),
        }
    }
    fn matches(self) -> bool {
        match self {
            ChunkSum::Sha1(h, w) => h.finalize().as_slice() == w.as_slice(),
            ChunkSum::Sha256(h, w) => h.finalize().as_slice() == w.as_slice(),
            ChunkSum::Md5(h, w) => h.finalize().as_slice() == w.as_slice(),
        }
    }
}

/// SHA-256 and MD5 of a file: its first `len` bytes (an error when it is shorter), or all of it.
pub(crate) async fn hash_file(path: PathBuf, len: Option<u64>) -> Result<(Sha256, Md5)> {
    tokio::task::spawn_blocking(move || -> std::io::Result<(Sha256, Md5)> {
        use std::io::Read;
        let mut f = std::fs::File::open(&path)?;
        let (mut sha256, mut md5) = (Sha256::new(), Md5::new());
        let mut buf = vec![0u8; 1 << 20];
        let mut left = len.unwrap_or(u64::MAX);
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = f.read(&mut buf[..want])?;
            if n == 0 && len.is_some() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "staged file too short",
                ));
            }
            if n == 0 {
                break;
            }
            sha256.update(&buf[..n]);
            md5.update(&buf[..n]);
            left -= n as u64;
        }
        Ok((sha256, md5))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
    .map_err(|e| Error::Internal(e.into()))
}

/// Rebuilds the running hashes from the first `offset` staged bytes (after a restart).
async fn rehash(path: PathBuf, offset: i64) -> Result<Hashing> {
    let (sha256, md5) = hash_file(path, Some(offset as u64)).await?;
    Ok(Hashing { offset, sha256, md5 })
}

/// Appends a chunk at `offset`: written, synced to disk, then recorded, then acknowledged. A chunk with a wrong
/// checksum or past the declared length is discarded whole; a chunk cut off mid-way (no checksum to check) keeps
/// what arrived. Returns the new offset.
pub async fn patch<S, E>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    offset: i64,
    mut checksum: Option<ChunkSum>,
    mut body: S,
) -> Result<UploadRow>
where
    S: futures::Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures::StreamExt;
    use tokio::io::{AsyncSeekExt, AsyncWriteExt};
    let p = caller.require()?.clone();
    // Only an upload of the caller's gets a lock (random ids must not grow the map).
    by_owner(state, &p, id).await?;
    let slot = state.uploads.slot(id);
    let mut guard = tokio::time::timeout(std::time::Duration::from_secs(15), slot.lock())
        .await
        .map_err(|_| Error::Busy { retry_after: 5 })?;
    let row = by_owner(state, &p, id).await?;
    if row.state != "receiving" {
        return Err(UploadError::OffsetMismatch { current: row.received }.into());
    }
    if offset != row.received {
        return Err(UploadError::OffsetMismatch { current: row.received }.into());
    }
    let path = staged(state, id);
    let hashing = match guard.take() {
        Some(h) if h.offset == row.received => h,
        _ => rehash(path.clone(), row.received).await?,
    };
    let (mut sha256, mut md5) = (hashing.sha256.clone(), hashing.md5.clone());
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    // Bytes past the acknowledged offset were never acknowledged (a crash mid-chunk): drop them.
    file.set_len(row.received as u64)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    file.seek(std::io::SeekFrom::Start(row.received as u64))
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let room = row.length - row.received;
    let mut written: i64 = 0;
    let mut failure: Option<Error> = None;
    let mut cut_off = false;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(upload = id, error = %e, "upload chunk cut off");
                cut_off = true;
                break;
            }
        };
        if written + chunk.len() as i64 > room {
            failure = Some(UploadError::PastLength.into());
            break;
        }
        if let Err(e) = file.write_all(&chunk).await {
            failure = Some(if e.raw_os_error() == Some(libc::ENOSPC) {
                Error::NoSpace
            } else {
                Error::Internal(e.into())
            });
            break;
        }
        if let Some(c) = checksum.as_mut() {
            c.update(&chunk);
        }
        sha256.update(&chunk);
        md5.update(&chunk);
        written += chunk.len() as i64;
    }
    if failure.is_none() && (cut_off && checksum.is_some()) {
        failure = Some(UploadError::ChecksumMismatch.into());
    }
    if failure.is_none() {
        if let Some(c) = checksum.take() {
            if !c.matches() {
                failure = Some(UploadError::ChecksumMismatch.into());
            }
        }
    }
    if let Some(e) = failure {
        let _ = file.set_len(row.received as u64).await;
        *guard = Some(hashing);
        return Err(e);
    }
    file.sync_data().await.map_err(|e| Error::Internal(e.into()))?;
    drop(file);
    let received = row.received + written;
    let complete = received == row.length;
    let mut tx = db::begin_write(&state.db).await?;
    sqlx::query("UPDATE uploads SET received = ? WHERE id = ?")
        .bind(received)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if complete {
        let sums = json!({
            "sha256": hex::encode(sha256.clone().finalize()),
            "md5": hex::encode(md5.clone().finalize()),
        });
        super::image_import::start_import(&mut tx, &row, &sums).await?;
        let details = json!({ "length": row.length, "sha256": sums["sha256"] });
        audit::commit(tx, caller, "upload.complete", &format!("upload:{id}"), &details).await?;
        state.uploads.forget(id);
    } else {
        tx.commit().await?;
        // Chunks are not audited one by one: the creation and the completion of the upload are.
        caller.slot.mark_written();
        *guard = Some(Hashing {
            offset: received,
            sha256,
            md5,
        });
    }
    let row = by_owner(state, &p, id).await?;
    if complete {
        if let Some(t) = row.task_id {
            tasks::spawn(state, t);
            tasks::publish(state, t).await;
        }
    }
    Ok(row)
}
