//! Resumable uploads (tus 1.0): creation (target, quota, size and free space checked before any byte), the
//! caller's own uploads, termination and expiry. Chunks are in `upload_chunks`, the import in `image_import`.
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, quotas::Usage};
use crate::error::{Error, Result, UploadError};
use crate::services::{audit, pools, quota, storage_rules};
use crate::state::AppState;
use app::api::{ImageFacts, Upload};
use base64::Engine;
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const TUS_VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,expiration,checksum,termination";
pub const CHECKSUMS: &str = "sha1,sha256,md5";
const GIB: i64 = 1 << 30;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: i64,
    pub length: i64,
    pub received: i64,
    pub metadata: String,
    pub target: String,
    pub state: String,
    pub task_id: Option<i64>,
    pub image_id: Option<i64>,
    pub error_code: Option<String>,
    pub q_disk_gib: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

impl UploadRow {
    pub fn meta(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.metadata).unwrap_or_default()
    }
    pub fn to_api(&self) -> Upload {
        Upload {
            id: self.id.clone(),
            offset: self.received,
            length: self.length,
            metadata: self.meta(),
            state: self.state.clone(),
            task_id: self.task_id,
            image_id: self.image_id,
            error_code: self.error_code.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }
    /// `Upload-Metadata` as it was sent (keys with base64 values).
    pub fn metadata_header(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.meta()
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k} {}", b64.encode(v))
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub(crate) fn staged(state: &AppState, id: &str) -> PathBuf {
    state.config.staging_dir().join(format!("{id}.part"))
}

/// `key base64,key base64` → map; at most 32 keys of 64 bytes, 8 KiB in all.
pub fn parse_metadata(header: &str) -> Result<BTreeMap<String, String>> {
    if header.len() > 8192 {
        return Err(Error::invalid("Upload-Metadata", "too_long"));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = BTreeMap::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut it = pair.splitn(2, ' ');
        let key = it.next().unwrap_or("");
        let value = match it.next() {
            Some(v) => {
                let bytes = b64
                    .decode(v.trim())
                    .map_err(|_| Error::invalid("Upload-Metadata", "bad_base64"))?;
                String::from_utf8(bytes).map_err(|_| Error::invalid("Upload-Metadata", "not_utf8"))?
            }
            None => String::new(),
        };
        let key_ok = (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !key_ok || out.insert(key.to_string(), value).is_some() || out.len() > 32 {
            return Err(Error::invalid("Upload-Metadata", "bad_key"));
        }
    }
    Ok(out)
}

/// The template facts given in the metadata (absent ones take their defaults), checked.
pub(crate) fn facts_of(m: &BTreeMap<String, String>) -> Result<ImageFacts> {
    let d = ImageFacts::default();
    let num = |k: &'static str| -> Result<i64> {
        match m.get(k) {
            None => Ok(0),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=1 << 40).contains(n))
                .ok_or(Error::invalid(k, "not_a_number")),
        }
    };
    let f = ImageFacts {
        os_family: m.get("os_family").cloned().unwrap_or_default(),
        os_version: m.get("os_version").cloned().unwrap_or_default(),
        arch: m.get("arch").cloned().unwrap_or(d.arch),
        firmware: m.get("firmware").cloned().unwrap_or(d.firmware),
        disk_bus: m.get("disk_bus").cloned().unwrap_or(d.disk_bus),
        min_disk_gib: num("min_disk_gib")?,
        min_memory_mib: num("min_memory_mib")?,
        default_vcpus: num("default_vcpus")?,
        cloud_init: matches!(m.get("cloud_init").map(String::as_str), Some("true" | "1" | "yes")),
        default_user: m.get("default_user").cloned().unwrap_or_default(),
        description: m.get("description").cloned().unwrap_or_default(),
    };
    super::images::validate_facts(&f)?;
    Ok(f)
}

/// `sha256 <hex>` or `md5 <hex>`, lowercased.
pub(crate) fn expected_checksum(s: &str) -> Result<(String, String)> {
    let (alg, hex) = s
        .trim()
        .split_once(' ')
        .ok_or(Error::invalid("checksum", "bad_format"))?;
    let len = match alg {
        "sha256" => 64,
        "md5" => 32,
        _ => return Err(Error::invalid("checksum", "unknown_algorithm")),
    };
    let hex = hex.trim().to_ascii_lowercase();
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid("checksum", "bad_format"));
    }
    Ok((alg.to_string(), hex))
}

/// Creates an upload: checks who may put what where, reserves quota for a private image, and makes the empty
/// staging file. Nothing else is accepted before this answers.
pub async fn create(state: &AppState, caller: &Caller, length: i64, meta_header: &str) -> Result<UploadRow> {
    let p = caller.require()?.clone();
    let max = state.config.uploads.max_bytes;
    if length < 1 {
        return Err(UploadError::LengthRequired.into());
    }
    if length > max {
        return Err(UploadError::TooLarge { max }.into());
    }
    let mut meta = parse_metadata(meta_header)?;
    let kind = meta.get("kind").cloned().unwrap_or_default();
    if !matches!(kind.as_str(), "iso" | "template" | "volume") {
        return Err(Error::invalid("kind", "unknown"));
    }
    // `volume`: the bytes overwrite an existing volume (no image is made), for those who manage storage.
    let into_volume = kind == "volume";
    if into_volume {
        authorize(&p, Action::StorageManage, Resource::System)?;
        let vol = meta.get("volume").cloned().unwrap_or_default();
        storage_rules::volume_name(&vol).map_err(|_| Error::invalid("volume", "required"))?;
        if !meta.contains_key("pool") {
            return Err(Error::invalid("pool", "required"));
        }
        meta.insert("visibility".into(), "public".into());
    }
    let filename = meta.get("filename").cloned().unwrap_or_default();
    if !filename.is_empty() {
        storage_rules::image_name(&filename).map_err(|_| Error::invalid("filename", "bad_format"))?;
    }
    // A name given is kept; otherwise the import names the image (an OVA's own name, else the file's).
    match meta.get("name").map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
        Some(n) => {
            storage_rules::image_name(&n)?;
            meta.insert("name".into(), n);
        }
        None => {
            meta.remove("name");
            if filename.is_empty() && !into_volume {
                return Err(Error::invalid("filename", "required"));
            }
        }
    }
    let visibility = meta.get("visibility").cloned().unwrap_or_else(|| "private".into());
    let public = match visibility.as_str() {
        "public" => true,
        "private" => false,
        _ => return Err(Error::invalid("visibility", "unknown")),
    };
    meta.insert("visibility".into(), visibility);
    authorize(
        &p,
        Action::ImageManage,
        Resource::Image {
            owner: Some(p.id),
            public,
        },
    )?;
    if let Some(c) = meta.get("checksum") {
        expected_checksum(c)?;
    }
    facts_of(&meta)?;
    let target = resolve_target(state, &p, &meta).await?;
    if target["available"].as_i64().is_some_and(|a| a < length) {
        return Err(Error::NoSpace);
    }
    if into_volume {
        check_volume_target(state, &target, &meta, length).await?;
    }
    let q_disk_gib = if public { 0 } else { (length + GIB - 1) / GIB };
    let id = crate::auth::tokens::random_hex(16);
    let now = db::now_ms();
    let expires_at = now + state.config.uploads.expiry_hours * 3_600_000;
    let path = staged(state, &id);
    // The (empty, synced) staging file first: nothing slow happens while the write lock is held.
    make_staging_file(&path).await?;
    let recorded = async {
        let mut tx = db::begin_write(&state.db).await?;
        if q_disk_gib > 0 {
            quota::reserve(
                &mut tx,
                p.id,
                Usage {
                    disk_gib: q_disk_gib,
                    ..Usage::default()
                },
            )
            .await?;
        }
        sqlx::query(
            "INSERT INTO uploads (id, owner_id, length, metadata, target, state, q_disk_gib, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, 'receiving', ?, ?, ?)",
        )
        .bind(&id)
        .bind(p.id)
        .bind(length)
        .bind(serde_json::to_string(&meta).map_err(|e| Error::Internal(e.into()))?)
        .bind(target.to_string())
        .bind(q_disk_gib)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        let details = json!({ "name": meta.get("name"), "kind": kind, "length": length, "target": target });
        audit::commit(tx, caller, "upload.create", &format!("upload:{id}"), &details).await
    }
    .await;
    // Refused (quota, a race): the empty staging file goes too.
    if let Err(e) = recorded {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e);
    }
    by_owner(state, &p, &id).await
}

async fn make_staging_file(path: &std::path::Path) -> Result<()> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let f = std::fs::File::create(&path)?;
        f.sync_all()?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
    .map_err(|e| Error::Internal(e.into()))
}

/// An upload into an existing volume: the volume exists, no VM or image uses it, and a raw one is large enough.
async fn check_volume_target(
    state: &AppState,
    target: &Value,
    meta: &BTreeMap<String, String>,
    length: i64,
) -> Result<()> {
    let (Some(host_id), Some(pool)) = (target["host_id"].as_i64(), target["pool"].as_str()) else {
        return Err(Error::invalid("pool", "not_found"));
    };
    let host = crate::services::hosts::row(state, host_id).await?;
    let name = meta.get("volume").cloned().unwrap_or_default();
    let vols = super::volumes::with_users(state, &host, pool).await?;
    let v = vols
        .iter()
        .find(|v| v.name == name)
        .ok_or(Error::invalid("volume", "not_found"))?;
    if let Some(u) = v.used_by.first() {
        return Err(Error::InUse { by: u.name.clone() });
    }
    if v.format == "raw" && length as u64 > v.capacity {
        return Err(UploadError::TooLarge { max: v.capacity as i64 }.into());
    }
    Ok(())
}

/// Where the import will put the bytes: a pool the caller may fill, or a host's images pool.
async fn resolve_target(state: &AppState, p: &Principal, meta: &BTreeMap<String, String>) -> Result<Value> {
    let (host, facts) = match (meta.get("pool"), meta.get("host")) {
        (Some(pool), _) => {
            authorize(p, Action::StorageManage, Resource::System).map_err(|_| Error::invalid("pool", "not_allowed"))?;
            pools::locate(state, pool).await.map_err(|e| match e {
                Error::NotFound(_) => Error::invalid("pool", "not_found"),
                other => other,
            })?
        }
        (None, Some(host)) => {
            let id: i64 = host.parse().map_err(|_| Error::invalid("host", "not_found"))?;
            // Those who may not read hosts learn nothing about them: any failure is the same answer.
            let sees_hosts = authorize(p, Action::HostRead, Resource::System).is_ok();
            pools::images_pool(state, id).await.map_err(|e| match e {
                Error::NotFound(_) => Error::invalid("host", "not_found"),
                _ if !sees_hosts => Error::invalid("host", "not_usable"),
                other => other,
            })?
        }
        (None, None) => {
            let hosts = db::hosts::list(&state.db).await?;
            let online = state.virt.online_hosts();
            let first = hosts
                .iter()
                .find(|h| online.contains(&h.id))
                .ok_or(Error::invalid("host", "none_online"))?;
            pools::images_pool(state, first.id).await?
        }
    };
    if facts.state != "running" {
        return Err(Error::invalid("pool", "not_running"));
    }
    Ok(
        json!({ "host_id": host.id, "host_name": host.name, "pool": facts.uuid, "pool_name": facts.name,
        "available": facts.available }),
    )
}

/// The caller's own upload; anyone else's (or an expired one) is not found.
pub async fn by_owner(state: &AppState, p: &Principal, id: &str) -> Result<UploadRow> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound("upload"));
    }
    let row: Option<UploadRow> = sqlx::query_as("SELECT * FROM uploads WHERE id = ? AND owner_id = ?")
        .bind(id)
        .bind(p.id)
        .fetch_optional(&state.db)
        .await?;
    row.filter(|r| r.state != "receiving" || r.expires_at > db::now_ms())
        .ok_or(Error::NotFound("upload"))
}

pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<UploadRow> {
    by_owner(state, caller.require()?, id).await
}

/// The caller's uploads that still wait for bytes (to resume from another browser) or failed to import.
pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<Upload>> {
    let p = caller.require()?;
    let rows: Vec<UploadRow> = sqlx::query_as(
        "SELECT * FROM uploads WHERE owner_id = ? AND state IN ('receiving', 'importing', 'failed') AND expires_at > ?
         ORDER BY created_at DESC",
    )
    .bind(p.id)
    .bind(db::now_ms())
    .fetch_all(&state.db)
    .await?;
    Ok(rows.iter().map(UploadRow::to_api).collect())
}

/// tus termination: removes the staged bytes and gives the reserved quota back. Refused while importing.
pub async fn terminate(state: &AppState, caller: &Caller, id: &str) -> Result<()> {
    let p = caller.require()?.clone();
    by_owner(state, &p, id).await?;
    let slot = state.uploads.slot(id);
    let _guard = tokio::time::timeout(std::time::Duration::from_secs(15), slot.lock())
        .await
        .map_err(|_| Error::Busy { retry_after: 5 })?;
    let row = by_owner(state, &p, id).await?;
    if row.state == "importing" {
        return Err(Error::InvalidState(
            "the upload is being imported; cancel its task first".into(),
        ));
    }
    let mut tx = db::begin_write(&state.db).await?;
    if !remove(&mut tx, &row).await? {
        return Err(Error::InvalidState(
            "the upload is being imported; cancel its task first".into(),
        ));
    }
    audit::commit(
        tx,
        caller,
        "upload.delete",
        &format!("upload:{id}"),
        &json!({ "received": row.received }),
    )
    .await?;
    let _ = tokio::fs::remove_file(staged(state, id)).await;
    state.uploads.forget(id);
    Ok(())
}

/// Deletes the upload's row if it is still in a state that may go, and gives back the quota the row counted
/// then (read by the delete itself, so two removals at once give back once). False when it was not removed.
async fn remove(tx: &mut SqliteConnection, row: &UploadRow) -> Result<bool> {
    let gone: Option<(i64, i64)> = sqlx::query_as(
        "DELETE FROM uploads WHERE id = ? AND state IN ('receiving', 'failed') RETURNING owner_id, q_disk_gib",
    )
    .bind(&row.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((owner, q_disk_gib)) = gone else {
        return Ok(false);
    };
    if q_disk_gib > 0 {
        quota::release(
            tx,
            owner,
            Usage {
                disk_gib: q_disk_gib,
                ..Usage::default()
            },
        )
        .await?;
    }
    Ok(true)
}

/// Removes expired unfinished uploads (and failed ones past their expiry): files, rows and reserved quota.
pub async fn expire(state: &AppState) -> Result<usize> {
    let rows: Vec<UploadRow> =
        sqlx::query_as("SELECT * FROM uploads WHERE state IN ('receiving', 'failed') AND expires_at <= ?")
            .bind(db::now_ms())
            .fetch_all(&state.db)
            .await?;
    let caller = Caller::system("expiry");
    for row in &rows {
        // Under the upload's lock, so expiry never races a chunk, a termination or a retry.
        let slot = state.uploads.slot(&row.id);
        let _guard = slot.lock().await;
        let mut tx = db::begin_write(&state.db).await?;
        if !remove(&mut tx, row).await? {
            continue;
        }
        let details = json!({ "received": row.received, "length": row.length });
        audit::record(
            &mut tx,
            &caller,
            "upload.expire",
            Some(&format!("upload:{}", row.id)),
            audit::Outcome::Ok,
            &details,
        )
        .await?;
        tx.commit().await?;
        let _ = tokio::fs::remove_file(staged(state, &row.id)).await;
        state.uploads.forget(&row.id);
    }
    Ok(rows.len())
}

/// Expires uploads now and then, for as long as the server runs.
pub async fn expire_loop(state: AppState) {
    loop {
        match expire(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "expired unfinished uploads"),
            Err(e) => tracing::warn!(error = ?e, "expiring uploads"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_decoded_and_checked() {
        let m = parse_metadata("filename ZGViaWFuLmlzbw==,kind aXNv,empty").unwrap();
        assert_eq!(m["filename"], "debian.iso");
        assert_eq!(m["kind"], "iso");
        assert_eq!(m["empty"], "");
        assert!(parse_metadata("filename !!!").is_err());
        assert!(parse_metadata("a aXNv,a aXNv").is_err());
        assert!(parse_metadata("bad/key aXNv").is_err());
    }

    #[test]
    fn expected_checksums_are_algorithm_and_hex() {
        assert!(expected_checksum(&format!("sha256 {}", "a".repeat(64))).is_ok());
        assert!(expected_checksum("sha256 abc").is_err());
        assert!(expected_checksum(&format!("crc32 {}", "a".repeat(8))).is_err());
        assert_eq!(
            expected_checksum(&format!("md5 {}", "A".repeat(32))).unwrap().1,
            "a".repeat(32)
        );
    }
}
