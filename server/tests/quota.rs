//! Quota reservations against a real SQLite file: concurrent requests never exceed a limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{Quota, User};
use common::{body, TestServer, PW_USER};
use hangar::db::{self, quotas::Usage};
use hangar::error::Error;
use hangar::services::quota;
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_reservations_never_exceed_the_limit() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let id = srv.create_user(&admin, "ivan", PW_USER, "user").await;
    let limits = common::limits(10, 1000, 100_000, 1000);
    let _: Quota = admin
        .ok_as(Method::PUT, &format!("/api/v1/users/{id}/quota"), body(&limits))
        .await;
    let pool = srv.state().db.clone();
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut tx = db::begin_write(&pool).await.unwrap();
                let r = quota::reserve(
                    &mut tx,
                    id,
                    Usage {
                        vms: 1,
                        vcpus: 2,
                        memory_mib: 512,
                        disk_gib: 10,
                    },
                )
                .await;
                if r.is_ok() {
                    tx.commit().await.unwrap();
                }
                r
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::QuotaExceeded { resource, limit, .. }) => assert_eq!((resource, limit), ("vms", 10)),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 10);
    let u: User = admin.get_as(&format!("/api/v1/users/{id}")).await;
    let q = u.quota;
    assert_eq!(
        (q.used_vms, q.used_vcpus, q.used_memory_mib, q.used_disk_gib),
        (10, 20, 5120, 100)
    );
}

#[tokio::test]
async fn a_rolled_back_change_gives_its_reservation_back() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let id = srv.create_user(&admin, "judy", PW_USER, "user").await;
    let pool = &srv.state().db;
    let want = Usage {
        vms: 1,
        vcpus: 8,
        memory_mib: 8192,
        disk_gib: 100,
    };
    {
        let mut tx = db::begin_write(pool).await.unwrap();
        quota::reserve(&mut tx, id, want).await.unwrap();
        // Dropped without commit: the change failed.
    }
    let mut tx = db::begin_write(pool).await.unwrap();
    quota::reserve(&mut tx, id, want).await.unwrap();
    let err = quota::reserve(
        &mut tx,
        id,
        Usage {
            vcpus: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::QuotaExceeded {
                resource: "vcpus",
                limit: 8,
                used: 8,
                requested: 1
            }
        ),
        "{err:?}"
    );
    quota::release(&mut tx, id, want).await.unwrap();
    tx.commit().await.unwrap();
    let u: User = admin.get_as(&format!("/api/v1/users/{id}")).await;
    assert_eq!((u.quota.used_vms, u.quota.used_vcpus, u.quota.used_disk_gib), (0, 0, 0));
}
