//! Two real tus clients that are not ours upload through Hangar: tus-js-client under Node and tuspy (with a sha1
//! checksum on every chunk). The bytes that reach the pool are the bytes sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{Image, Task, TaskState, Upload};
use common::guest::{drop_pool, eventually, unique, LOCAL};
use common::tus::{fake_iso, sha256_hex};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[tokio::test]
async fn tus_js_client_and_tuspy_upload_byte_identical_isos() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let name = unique("hangar-tus");
    struct Guard(String);
    impl Drop for Guard {
        fn drop(&mut self) {
            drop_pool(LOCAL, &self.0);
        }
    }
    let _g = Guard(name.clone());
    let (s, p) = admin
        .call(
            Method::POST,
            "/api/v1/pools",
            Some(json!({ "host_id": host, "name": name, "kind": "dir",
                "target_path": format!("/var/lib/libvirt/images/{name}"), "build": true })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/pools/{}", p["id"].as_str().unwrap()),
            Some(json!({ "images_pool": true })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, t) = admin
        .call(Method::POST, "/api/v1/tokens", Some(json!({ "name": "tus" })))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let token = t["secret"].as_str().unwrap().to_string();

    let clients: [(&str, Vec<String>); 2] = [
        (
            "node",
            vec![repo().join("end2end/tus/js_client.mjs").display().to_string()],
        ),
        (
            "python3",
            vec![repo().join("end2end/tus/py_client.py").display().to_string()],
        ),
    ];
    for (i, (program, args)) in clients.into_iter().enumerate() {
        // Several chunks, not a multiple of the chunk size.
        let iso = fake_iso((5 << 20) + 12_345, i as u8);
        let file = std::env::temp_dir().join(format!("{}.iso", unique("hangar-tus-src")));
        std::fs::write(&file, &iso).unwrap();
        // Asynchronously: the server answering the client runs on this test's runtime.
        let out = tokio::process::Command::new(program)
            .args(&args)
            .args([&srv.base, &token, &file.display().to_string(), &host.to_string()])
            .current_dir(repo())
            .output()
            .await
            .unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(
            out.status.success(),
            "{program}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap();
        let id = url.trim().rsplit('/').next().unwrap().to_string();
        let (u, t) = eventually(60, "import finished", || async {
            let u: Upload = admin.get_as(&format!("/api/v1/uploads/{id}")).await;
            let t: Task = admin.get_as(&format!("/api/v1/tasks/{}", u.task_id?)).await;
            t.state.is_finished().then_some((u, t))
        })
        .await;
        assert_eq!(t.state, TaskState::Succeeded, "{program}: {t:?}");
        let image: Image = admin.get_as(&format!("/api/v1/images/{}", u.image_id.unwrap())).await;
        assert_eq!(image.sha256, sha256_hex(&iso), "{program}");
        let back = admin
            .request(Method::GET, &format!("/api/v1/images/{}/content", image.id))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            sha256_hex(&back),
            sha256_hex(&iso),
            "{program}: the pool holds the bytes sent"
        );
        let (s, _) = admin
            .call(Method::DELETE, &format!("/api/v1/images/{}", image.id), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
}
