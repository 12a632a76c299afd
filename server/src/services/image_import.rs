//! The import of a finished upload into the image library, as a task: the file is checked to be what its kind
//! says (converting VMDK and OVA to qcow2), compared with the checksum given, streamed into a new volume of the
//! target pool through libvirt, and recorded as an image; the staged files are removed.
use crate::auth::Caller;
use crate::db::{self, tasks::TaskRow};
use crate::error::{Error, Result, UploadError};
use crate::services::uploads::{by_owner, expected_checksum, facts_of, staged, UploadRow};
use crate::services::{audit, convert, tasks};
use crate::state::AppState;
use crate::virt::{pool_xml, storage};
use app::api::TaskState;
use serde_json::{json, Value};
use sha2::Digest;
use sqlx::SqliteConnection;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What the bytes are, read from their first sectors: an ISO 9660 image, a qcow2 image (with its virtual size),
/// a VMDK disk, an OVA (tar) archive, or raw disk data.
pub fn sniff(head: &[u8], length: u64) -> (&'static str, u64) {
    if head.len() >= 0x8006 && &head[0x8001..0x8006] == b"CD001" {
        return ("iso", length);
    }
    if head.len() >= 32 && &head[..4] == b"QFI\xfb" {
        let mut size = [0u8; 8];
        size.copy_from_slice(&head[24..32]);
        return ("qcow2", u64::from_be_bytes(size));
    }
    if head.len() >= 4 && &head[..4] == b"KDMV" {
        return ("vmdk", length);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return ("ova", length);
    }
    ("raw", length)
}

fn io(e: std::io::Error) -> Error {
    Error::Internal(e.into())
}

async fn head_of(path: PathBuf) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(0x8800);
        std::fs::File::open(path)?.take(0x8800).read_to_end(&mut buf)?;
        Ok(buf)
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
    .map_err(io)
}

/// The files a conversion leaves beside the staged upload.
fn converted(staged: &Path) -> [PathBuf; 2] {
    [staged.with_extension("vmdk"), staged.with_extension("qcow2")]
}

/// What goes into the pool: the file, its format, length and virtual size, its checksums, and what an OVF said.
struct Prepared {
    path: PathBuf,
    format: &'static str,
    length: u64,
    virtual_size: u64,
    sha256: String,
    md5: String,
    ovf: Option<convert::Ovf>,
}

/// Checks the staged file against its kind and the checksum given; converts VMDK and OVA to qcow2.
async fn prepare(ctx: &tasks::Ctx, row: &UploadRow, path: &Path) -> Result<Prepared> {
    let meta = row.meta();
    let kind = meta.get("kind").cloned().unwrap_or_default();
    let (sha256, md5) = (
        ctx.params["sha256"].as_str().unwrap_or_default().to_string(),
        ctx.params["md5"].as_str().unwrap_or_default().to_string(),
    );
    // The checksum given is the uploaded file's, whatever it is converted to.
    check_given_checksum(row, &ctx.params)?;
    let len = row.length as u64;
    let head = head_of(path.to_path_buf()).await?;
    let (sniffed, virtual_size) = sniff(&head, len);
    let plain = |format, virtual_size| Prepared {
        path: path.to_path_buf(),
        format,
        length: len,
        virtual_size,
        sha256: sha256.clone(),
        md5: md5.clone(),
        ovf: None,
    };
    match (kind.as_str(), sniffed) {
        ("iso", "iso") => Ok(plain("iso", len)),
        ("iso", _) => Err(UploadError::WrongFormat { expected: "iso" }.into()),
        ("template", "qcow2") if convert::qcow2_self_contained(&head) => Ok(plain("qcow2", virtual_size.max(len))),
        ("template", "qcow2") => Err(UploadError::WrongFormat {
            expected: "qcow2_alone",
        }
        .into()),
        ("template", "raw") if len.is_multiple_of(512) => Ok(plain("raw", len)),
        ("template", "raw") => Err(UploadError::WrongFormat { expected: "raw_512" }.into()),
        ("template", "vmdk" | "ova") => {
            ctx.progress("converting", None, None).await;
            let (ovf, vmdk) = if sniffed == "ova" {
                let p = path.to_path_buf();
                let (ovf, vmdk) = tokio::task::spawn_blocking(move || convert::unpack_ova(&p))
                    .await
                    .map_err(|e| Error::Internal(e.into()))??;
                (Some(ovf), vmdk)
            } else {
                (None, path.to_path_buf())
            };
            let qcow2 = convert::vmdk_to_qcow2(&vmdk).await?;
            if vmdk != path {
                let _ = tokio::fs::remove_file(&vmdk).await;
            }
            let head = head_of(qcow2.clone()).await?;
            if !convert::qcow2_self_contained(&head) {
                return Err(UploadError::WrongFormat {
                    expected: "qcow2_alone",
                }
                .into());
            }
            let length = tokio::fs::metadata(&qcow2).await.map_err(io)?.len();
            let (_, virtual_size) = sniff(&head, length);
            let (sha256, md5) = super::upload_chunks::hash_file(qcow2.clone(), None).await?;
            let (sha256, md5) = (hex::encode(sha256.finalize()), hex::encode(md5.finalize()));
            Ok(Prepared {
                path: qcow2,
                format: "qcow2",
                length,
                virtual_size,
                sha256,
                md5,
                ovf,
            })
        }
        _ => Err(UploadError::WrongFormat { expected: "disk_image" }.into()),
    }
}

/// The upload's bytes against the checksum given at its creation (if any); `params` holds the hashes computed
/// as the bytes arrived.
fn check_given_checksum(row: &UploadRow, params: &Value) -> Result<()> {
    let Some(c) = row.meta().get("checksum").cloned() else {
        return Ok(());
    };
    let (alg, want) = expected_checksum(&c)?;
    if params[alg.as_str()].as_str().unwrap_or_default() != want {
        let algorithm = if alg == "sha256" { "SHA-256" } else { "MD5" };
        return Err(UploadError::FileChecksumMismatch { algorithm }.into());
    }
    Ok(())
}

/// The task of an upload into an existing volume: the checksum given is compared, then the bytes overwrite the
/// volume through a libvirt stream.
pub async fn run_volume_upload(ctx: &tasks::Ctx) -> Result<Value> {
    let state = &ctx.state;
    let id = ctx.params["upload"].as_str().unwrap_or_default().to_string();
    let row: UploadRow = sqlx::query_as("SELECT * FROM uploads WHERE id = ?")
        .bind(&id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(Error::NotFound("upload"))?;
    let path = staged(state, &id);
    if row.state == "imported" {
        return Ok(json!({ "volume": ctx.params["volume"] }));
    }
    check_given_checksum(&row, &ctx.params)?;
    let target: Value = serde_json::from_str(&row.target).unwrap_or_default();
    let (Some(host_id), Some(pool)) = (target["host_id"].as_i64(), target["pool"].as_str()) else {
        return Err(Error::Internal(anyhow::anyhow!("upload without a target")));
    };
    // A task resumed at start may come before its host's connection.
    state
        .virt
        .wait_online(host_id, std::time::Duration::from_secs(30))
        .await;
    let conn = state
        .virt
        .connection(host_id, target["host_name"].as_str().unwrap_or_default())?;
    let (pool, volume, len, file) = (
        pool.to_string(),
        ctx.params["volume"].as_str().unwrap_or_default().to_string(),
        row.length as u64,
        path.clone(),
    );
    // Checked at creation, and again now: a VM may have taken the volume since.
    let host = crate::services::hosts::row(state, host_id).await?;
    let users = super::volumes::with_users(state, &host, &pool).await?;
    if let Some(u) = users.iter().find(|v| v.name == volume).and_then(|v| v.used_by.first()) {
        return Err(Error::InUse { by: u.name.clone() });
    }
    ctx.blocking("importing", len, move |meter| {
        let lv = crate::virt::from_libvirt;
        let p = storage::pool(&conn, &pool).map_err(lv)?;
        let vol = p.lookup_storage_vol_by_name(&volume).map_err(lv)?;
        let mut f = std::fs::File::open(&file).map_err(io)?;
        storage::upload_file(&conn, &vol, &mut f, len, &meter)?;
        let _ = p.refresh(0);
        Ok(())
    })
    .await?;
    sqlx::query("UPDATE uploads SET state = 'imported', q_disk_gib = 0 WHERE id = ?")
        .bind(&id)
        .execute(&state.db)
        .await?;
    let _ = tokio::fs::remove_file(&path).await;
    Ok(json!({ "volume": ctx.params["volume"] }))
}

/// The import task (see the module's first line).
pub async fn run_import(ctx: &tasks::Ctx) -> Result<Value> {
    let state = &ctx.state;
    let id = ctx.params["upload"].as_str().unwrap_or_default().to_string();
    let row: UploadRow = sqlx::query_as("SELECT * FROM uploads WHERE id = ?")
        .bind(&id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(Error::NotFound("upload"))?;
    if let Some(image) = row.image_id {
        // Imported before a restart cut the task's end short.
        return Ok(json!({ "image_id": image }));
    }
    let path = staged(state, &id);
    ctx.progress("checking", None, None).await;
    let prepared = prepare(ctx, &row, &path).await;
    let result = match prepared {
        Ok(p) => import(ctx, &row, &id, p).await,
        Err(e) => Err(e),
    };
    for f in converted(&path) {
        let _ = tokio::fs::remove_file(f).await;
    }
    if result.is_ok() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

async fn import(ctx: &tasks::Ctx, row: &UploadRow, id: &str, p: Prepared) -> Result<Value> {
    let state = &ctx.state;
    let meta = row.meta();
    let target: Value = serde_json::from_str(&row.target).unwrap_or_default();
    let (Some(host_id), Some(pool_uuid)) = (target["host_id"].as_i64(), target["pool"].as_str()) else {
        return Err(Error::Internal(anyhow::anyhow!("upload without a target")));
    };
    let host_name = target["host_name"].as_str().unwrap_or_default().to_string();
    let volume = ctx.params["volume"].as_str().unwrap_or_default().to_string();
    // A task resumed at start may come before its host's connection.
    ctx.state
        .virt
        .wait_online(host_id, std::time::Duration::from_secs(30))
        .await;
    let conn = state.virt.connection(host_id, &host_name)?;
    ctx.check()?;
    let (pool_uuid_s, vol_name, len, file) = (pool_uuid.to_string(), volume.clone(), p.length, p.path.clone());
    let vol_format = if p.format == "qcow2" { "qcow2" } else { "raw" };
    let capacity = p.virtual_size.max(if p.format == "qcow2" { 0 } else { len });
    let (pool_name, vol_path) = ctx
        .blocking("importing", len, move |meter| {
            let lv = crate::virt::from_libvirt;
            let pool = storage::pool(&conn, &pool_uuid_s).map_err(lv)?;
            // What an interrupted run left is removed first: this step starts from the beginning.
            if let Ok(old) = pool.lookup_storage_vol_by_name(&vol_name) {
                old.delete(0).map_err(lv)?;
            }
            storage::ensure_space(&pool, len)?;
            let xml =
                pool_xml::volume_xml(&vol_name, vol_format, capacity, None).map_err(|e| Error::Internal(e.into()))?;
            let vol = virt::storage_vol::StorageVol::create_xml(&pool, &xml, 0).map_err(lv)?;
            let mut f = std::fs::File::open(&file).map_err(io)?;
            storage::upload_file(&conn, &vol, &mut f, len, &meter)?;
            let _ = pool.refresh(0);
            let vol = pool.lookup_storage_vol_by_name(&vol_name).map_err(lv)?;
            Ok((pool.name().map_err(lv)?, vol.path().map_err(lv)?))
        })
        .await?;
    ctx.progress("recording", None, None).await;
    let mut facts = facts_of(&meta)?;
    let filename = meta.get("filename").cloned().unwrap_or_default();
    let stem = filename
        .rsplit_once('.')
        .map_or(filename.as_str(), |(s, _)| s)
        .to_string();
    let mut name = meta.get("name").cloned().filter(|n| !n.is_empty());
    if let Some(o) = &p.ovf {
        name = name.or(o.name.clone());
        if !meta.contains_key("min_memory_mib") {
            facts.min_memory_mib = o.memory_mib;
        }
        if !meta.contains_key("min_disk_gib") {
            facts.min_disk_gib = (o.disk_bytes + (1 << 30) - 1) >> 30;
        }
        if !meta.contains_key("default_vcpus") {
            facts.default_vcpus = o.vcpus;
        }
    }
    let name = name
        .or(Some(stem).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| volume.clone());
    let kind = meta.get("kind").cloned().unwrap_or_default();
    let visibility = meta.get("visibility").cloned().unwrap_or_else(|| "private".into());
    let mut tx = db::begin_write(&state.db).await?;
    let image_id = db::images::insert(
        &mut tx,
        &db::images::NewImage {
            name: &name,
            kind: &kind,
            visibility: &visibility,
            owner_id: Some(row.owner_id),
            format: p.format,
            size_bytes: p.length as i64,
            virtual_size_bytes: capacity as i64,
            sha256: &p.sha256,
            md5: &p.md5,
            facts: &facts,
            q_disk_gib: row.q_disk_gib,
        },
    )
    .await?;
    db::images::add_copy(&mut tx, image_id, host_id, pool_uuid, &pool_name, &volume, &vol_path).await?;
    sqlx::query("UPDATE uploads SET state = 'imported', image_id = ?, q_disk_gib = 0 WHERE id = ?")
        .bind(image_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(json!({ "image_id": image_id }))
}

pub(crate) async fn start_import(tx: &mut SqliteConnection, row: &UploadRow, sums: &Value) -> Result<()> {
    let target: Value = serde_json::from_str(&row.target).unwrap_or_default();
    let meta = row.meta();
    let ext = if meta.get("kind").map(String::as_str) == Some("iso") {
        "iso"
    } else {
        "img"
    };
    let into_volume = meta.get("kind").map(String::as_str) == Some("volume");
    let (kind, params) = if into_volume {
        // The volume existed before: a failed write leaves it (as it then is), it is never deleted.
        let volume = meta.get("volume").cloned().unwrap_or_default();
        let params = json!({ "upload": row.id, "sha256": sums["sha256"], "md5": sums["md5"], "volume": volume });
        ("volume.upload", params)
    } else {
        let volume = format!("hangar-{}.{ext}", &row.id[..16]);
        let params = json!({
            "upload": row.id, "sha256": sums["sha256"], "md5": sums["md5"], "volume": volume,
            "partial": { "host_id": target["host_id"], "pool": target["pool"], "volume": volume },
        });
        ("image.import", params)
    };
    let task = db::tasks::insert(
        tx,
        kind,
        &format!("upload:{}", row.id),
        Some(row.owner_id),
        true,
        &params,
    )
    .await?;
    // Only a complete upload not being imported already (two retries at once start one import).
    let r = sqlx::query(
        "UPDATE uploads SET state = 'importing', task_id = ? WHERE id = ? AND state IN ('receiving', 'failed')",
    )
    .bind(task)
    .bind(&row.id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(Error::InvalidState("the upload is already being imported".into()));
    }
    Ok(())
}
pub async fn settle_task(tx: &mut SqliteConnection, row: &TaskRow, s: TaskState, code: Option<&str>) -> Result<()> {
    if !matches!(row.kind.as_str(), "image.import" | "volume.upload") || s == TaskState::Succeeded {
        return Ok(());
    }
    let id = row.params()["upload"].as_str().unwrap_or_default().to_string();
    sqlx::query("UPDATE uploads SET state = 'failed', error_code = ? WHERE id = ? AND state = 'importing'")
        .bind(code)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
pub async fn retry(state: &AppState, caller: &Caller, id: &str) -> Result<UploadRow> {
    let p = caller.require()?.clone();
    let row = by_owner(state, &p, id).await?;
    if row.state != "failed" || row.received != row.length {
        return Err(Error::InvalidState(
            "only a complete upload whose import failed can be imported again".into(),
        ));
    }
    let old = match row.task_id {
        Some(t) => db::tasks::by_id(&state.db, t).await?,
        None => None,
    };
    let sums = old.map(|t| t.params()).unwrap_or_default();
    let mut tx = db::begin_write(&state.db).await?;
    start_import(&mut tx, &row, &sums).await?;
    sqlx::query("UPDATE uploads SET error_code = NULL WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::commit(
        tx,
        caller,
        "upload.import",
        &format!("upload:{id}"),
        &json!({ "retry": true }),
    )
    .await?;
    let row = by_owner(state, &p, id).await?;
    if let Some(t) = row.task_id {
        tasks::spawn(state, t);
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_tells_iso_qcow2_and_raw_apart() {
        let mut iso = vec![0u8; 0x8800];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        assert_eq!(sniff(&iso, 1 << 20).0, "iso");
        let mut q = vec![0u8; 64];
        q[..4].copy_from_slice(b"QFI\xfb");
        q[24..32].copy_from_slice(&(10u64 << 30).to_be_bytes());
        assert_eq!(sniff(&q, 1 << 20), ("qcow2", 10 << 30));
        assert_eq!(sniff(&[0u8; 512], 512).0, "raw");
    }

    #[test]
    fn sniffing_tells_vmdk_and_ova_apart() {
        assert_eq!(sniff(b"KDMV\x01\0\0\0", 8).0, "vmdk");
        let mut tar = vec![0u8; 1024];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar, 1024).0, "ova");
    }
}
