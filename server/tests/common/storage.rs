//! Storage fixtures for tests: a `dir` pool of the test's own (removed with its contents on drop), and waiting
//! for an upload's import.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::guest::{drop_pool, eventually, unique};
use super::Client;
use app::api::{Pool, Task, Upload};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Removes the pool (volumes, directory, definition) when the test ends, however it ends.
pub struct PoolGuard {
    pub uri: String,
    pub name: String,
}

impl Drop for PoolGuard {
    fn drop(&mut self) {
        drop_pool(&self.uri, &self.name);
    }
}

/// A running `dir` pool named `<prefix>-…` under the images directory of the host at `uri`, made through the API.
pub async fn dir_pool(admin: &Client, host: i64, uri: &str, prefix: &str) -> (Pool, PoolGuard) {
    let name = unique(prefix);
    let guard = PoolGuard {
        uri: uri.into(),
        name: name.clone(),
    };
    let (s, p) = admin
        .send_as::<_, Pool>(
            Method::POST,
            "/api/v1/pools",
            &json!({ "host_id": host, "name": name, "kind": "dir",
                     "target_path": format!("/var/lib/libvirt/images/{name}"), "build": true }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p:?}");
    (p.unwrap(), guard)
}

/// Waits for the import task of a complete upload to finish; the upload and its task as they then are.
pub async fn import_finished(c: &Client, upload: &str) -> (Upload, Task) {
    eventually(60, "import finished", || async {
        let u: Upload = c.get_as(&format!("/api/v1/uploads/{upload}")).await;
        let t: Task = c.get_as(&format!("/api/v1/tasks/{}", u.task_id?)).await;
        t.state.is_finished().then_some((u, t))
    })
    .await
}
