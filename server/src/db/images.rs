//! Queries on `images` and `image_copies`.
use app::api::{Image, ImageCopy, ImageFacts};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, Clone, FromRow)]
pub struct ImageRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub visibility: String,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub format: String,
    pub size_bytes: i64,
    pub virtual_size_bytes: i64,
    pub sha256: String,
    pub md5: String,
    pub os_family: String,
    pub os_version: String,
    pub arch: String,
    pub firmware: String,
    pub disk_bus: String,
    pub min_disk_gib: i64,
    pub min_memory_mib: i64,
    pub default_vcpus: i64,
    pub cloud_init: bool,
    pub default_user: String,
    pub description: String,
    pub q_disk_gib: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct CopyRow {
    pub image_id: i64,
    pub host_id: i64,
    pub host_name: String,
    pub pool_uuid: String,
    pub pool_name: String,
    pub volume: String,
    pub path: String,
}

impl ImageRow {
    pub fn facts(&self) -> ImageFacts {
        ImageFacts {
            os_family: self.os_family.clone(),
            os_version: self.os_version.clone(),
            arch: self.arch.clone(),
            firmware: self.firmware.clone(),
            disk_bus: self.disk_bus.clone(),
            min_disk_gib: self.min_disk_gib,
            min_memory_mib: self.min_memory_mib,
            default_vcpus: self.default_vcpus,
            cloud_init: self.cloud_init,
            default_user: self.default_user.clone(),
            description: self.description.clone(),
        }
    }

    pub fn is_public(&self) -> bool {
        self.visibility == "public"
    }

    pub fn to_api(&self, copies: &[CopyRow], used_by: i64) -> Image {
        Image {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            visibility: self.visibility.clone(),
            owner_id: self.owner_id,
            owner: self.owner.clone(),
            format: self.format.clone(),
            size_bytes: self.size_bytes,
            virtual_size_bytes: self.virtual_size_bytes,
            sha256: self.sha256.clone(),
            md5: self.md5.clone(),
            facts: self.facts(),
            copies: copies
                .iter()
                .filter(|c| c.image_id == self.id)
                .map(|c| ImageCopy {
                    host_id: c.host_id,
                    host_name: c.host_name.clone(),
                    pool_id: c.pool_uuid.clone(),
                    pool_name: c.pool_name.clone(),
                    volume: c.volume.clone(),
                })
                .collect(),
            used_by,
            created_at: self.created_at,
        }
    }
}

const SELECT: &str = "SELECT i.*, u.username AS owner FROM images i LEFT JOIN users u ON u.id = i.owner_id";

pub async fn all(pool: &SqlitePool) -> sqlx::Result<Vec<ImageRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY i.name COLLATE NOCASE, i.id"))
        .fetch_all(pool)
        .await
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<ImageRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE i.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn copies(pool: &SqlitePool) -> sqlx::Result<Vec<CopyRow>> {
    sqlx::query_as(
        "SELECT c.image_id, c.host_id, h.name AS host_name, c.pool_uuid, c.pool_name, c.volume, c.path
         FROM image_copies c JOIN hosts h ON h.id = c.host_id ORDER BY h.name",
    )
    .fetch_all(pool)
    .await
}

/// (image id, volume path, image name) of every copy kept on a host.
pub async fn copies_on_host(pool: &SqlitePool, host_id: i64) -> sqlx::Result<Vec<(i64, String, String)>> {
    sqlx::query_as(
        "SELECT c.image_id, c.path, i.name FROM image_copies c JOIN images i ON i.id = c.image_id WHERE c.host_id = ?",
    )
    .bind(host_id)
    .fetch_all(pool)
    .await
}

pub async fn copies_in_pool(pool: &SqlitePool, pool_uuid: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM image_copies WHERE pool_uuid = ?")
        .bind(pool_uuid)
        .fetch_one(pool)
        .await
}

/// What a new image row holds.
pub struct NewImage<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub visibility: &'a str,
    pub owner_id: Option<i64>,
    pub format: &'a str,
    pub size_bytes: i64,
    pub virtual_size_bytes: i64,
    pub sha256: &'a str,
    pub md5: &'a str,
    pub facts: &'a ImageFacts,
    pub q_disk_gib: i64,
}

pub async fn insert(conn: &mut SqliteConnection, i: &NewImage<'_>) -> sqlx::Result<i64> {
    let f = i.facts;
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO images (name, kind, visibility, owner_id, format, size_bytes, virtual_size_bytes, sha256, md5,
            os_family, os_version, arch, firmware, disk_bus, min_disk_gib, min_memory_mib, cloud_init, default_user,
            description, q_disk_gib, created_at, default_vcpus)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(i.name)
    .bind(i.kind)
    .bind(i.visibility)
    .bind(i.owner_id)
    .bind(i.format)
    .bind(i.size_bytes)
    .bind(i.virtual_size_bytes)
    .bind(i.sha256)
    .bind(i.md5)
    .bind(&f.os_family)
    .bind(&f.os_version)
    .bind(&f.arch)
    .bind(&f.firmware)
    .bind(&f.disk_bus)
    .bind(f.min_disk_gib)
    .bind(f.min_memory_mib)
    .bind(f.cloud_init)
    .bind(&f.default_user)
    .bind(&f.description)
    .bind(i.q_disk_gib)
    .bind(super::now_ms())
    .bind(f.default_vcpus)
    .fetch_one(conn)
    .await?;
    Ok(row.0)
}

pub async fn add_copy(
    conn: &mut SqliteConnection,
    image_id: i64,
    host_id: i64,
    pool_uuid: &str,
    pool_name: &str,
    volume: &str,
    path: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO image_copies (image_id, host_id, pool_uuid, pool_name, volume, path) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (image_id, host_id) DO UPDATE SET pool_uuid = excluded.pool_uuid,
            pool_name = excluded.pool_name, volume = excluded.volume, path = excluded.path",
    )
    .bind(image_id)
    .bind(host_id)
    .bind(pool_uuid)
    .bind(pool_name)
    .bind(volume)
    .bind(path)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update(conn: &mut SqliteConnection, row: &ImageRow) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE images SET name = ?, visibility = ?, q_disk_gib = ?, os_family = ?, os_version = ?, arch = ?,
            firmware = ?, disk_bus = ?, min_disk_gib = ?, min_memory_mib = ?, cloud_init = ?, default_user = ?,
            description = ?, default_vcpus = ? WHERE id = ?",
    )
    .bind(&row.name)
    .bind(&row.visibility)
    .bind(row.q_disk_gib)
    .bind(&row.os_family)
    .bind(&row.os_version)
    .bind(&row.arch)
    .bind(&row.firmware)
    .bind(&row.disk_bus)
    .bind(row.min_disk_gib)
    .bind(row.min_memory_mib)
    .bind(row.cloud_init)
    .bind(&row.default_user)
    .bind(&row.description)
    .bind(row.default_vcpus)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the row; `(owner, q_disk_gib)` it counted, or `None` when it was already gone.
pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<(Option<i64>, i64)>> {
    sqlx::query_as("DELETE FROM images WHERE id = ? RETURNING owner_id, q_disk_gib")
        .bind(id)
        .fetch_optional(conn)
        .await
}
