//! Queries on `users` (and the quota row that belongs to each).
use app::api::{Quota, Role, User};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub language: String,
    pub has_avatar: bool,
    pub password_changed_at: i64,
    pub created_at: i64,
    pub max_vms: Option<i64>,
    pub max_vcpus: Option<i64>,
    pub max_memory_mib: Option<i64>,
    pub max_disk_gib: Option<i64>,
    pub used_vms: Option<i64>,
    pub used_vcpus: Option<i64>,
    pub used_memory_mib: Option<i64>,
    pub used_disk_gib: Option<i64>,
}

impl UserRow {
    pub fn role(&self) -> Role {
        // The CHECK constraint admits only known roles; the least privilege is the safe reading otherwise.
        Role::parse(&self.role).unwrap_or(Role::User)
    }

    pub fn to_api(&self) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            role: self.role(),
            disabled: self.disabled,
            language: self.language.clone(),
            has_avatar: self.has_avatar,
            created_at: self.created_at,
            quota: Quota {
                max_vms: self.max_vms.unwrap_or(0),
                max_vcpus: self.max_vcpus.unwrap_or(0),
                max_memory_mib: self.max_memory_mib.unwrap_or(0),
                max_disk_gib: self.max_disk_gib.unwrap_or(0),
                used_vms: self.used_vms.unwrap_or(0),
                used_vcpus: self.used_vcpus.unwrap_or(0),
                used_memory_mib: self.used_memory_mib.unwrap_or(0),
                used_disk_gib: self.used_disk_gib.unwrap_or(0),
            },
        }
    }
}

const SELECT: &str = "SELECT u.id, u.username, u.display_name, u.email, u.password_hash, u.role, u.disabled,
    u.language, u.avatar IS NOT NULL AS has_avatar, u.password_changed_at, u.created_at,
    q.max_vms, q.max_vcpus, q.max_memory_mib, q.max_disk_gib,
    q.used_vms, q.used_vcpus, q.used_memory_mib, q.used_disk_gib
    FROM users u LEFT JOIN quotas q ON q.user_id = u.id";

pub async fn count(pool: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await
}

pub async fn list(pool: &SqlitePool) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY u.username"))
        .fetch_all(pool)
        .await
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE u.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn by_username(pool: &SqlitePool, username: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE u.username = ?"))
        .bind(username)
        .fetch_optional(pool)
        .await
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub language: &'a str,
}

/// Inserts the user; `None` when the username is taken.
pub async fn insert(conn: &mut SqliteConnection, u: &NewUser<'_>, now: i64) -> sqlx::Result<Option<i64>> {
    let res = sqlx::query(
        "INSERT INTO users (id, username, display_name, email, password_hash, role, language,
            password_changed_at, created_at, updated_at)
         VALUES ((SELECT last + 1 FROM id_sequences WHERE name = 'users'), ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (username) DO NOTHING",
    )
    .bind(u.username)
    .bind(u.display_name)
    .bind(u.email)
    .bind(u.password_hash)
    .bind(u.role.as_str())
    .bind(u.language)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok((res.rows_affected() == 1).then(|| res.last_insert_rowid()))
}

pub async fn set_profile(
    conn: &mut SqliteConnection,
    id: i64,
    display_name: &str,
    email: &str,
    language: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET display_name = ?, email = ?, language = ?, updated_at = ? WHERE id = ?")
        .bind(display_name)
        .bind(email)
        .bind(language)
        .bind(super::now_ms())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_role_disabled(conn: &mut SqliteConnection, id: i64, role: Role, disabled: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET role = ?, disabled = ?, updated_at = ? WHERE id = ?")
        .bind(role.as_str())
        .bind(disabled)
        .bind(super::now_ms())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_password(conn: &mut SqliteConnection, id: i64, hash: &str) -> sqlx::Result<()> {
    let now = super::now_ms();
    sqlx::query("UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?")
        .bind(hash)
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_avatar(conn: &mut SqliteConnection, id: i64, bytes: &[u8], mime: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET avatar = ?, avatar_type = ?, updated_at = ? WHERE id = ?")
        .bind(bytes)
        .bind(mime)
        .bind(super::now_ms())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn avatar(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<(Vec<u8>, String)>> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> =
        sqlx::query_as("SELECT avatar, avatar_type FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(b, t)| Some((b?, t?))))
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<bool> {
    let res = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Active administrators other than `except`.
pub async fn other_active_admins(conn: &mut SqliteConnection, except: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?")
        .bind(except)
        .fetch_one(conn)
        .await
}
