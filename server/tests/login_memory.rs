//! 200 simultaneous sign-ins: password hashing is bounded, so memory stays small and nobody gets a 5xx.
//! (Alone in its binary: the peak resident size of the process is what it measures.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::{TestServer, ADMIN_PW};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_parallel_sign_ins_stay_small() {
    // Attempts still running count against the throttle; lift it so every sign-in reaches the hashing queue.
    let srv = TestServer::start_with(|c| {
        c.login_throttle.per_address = 10_000;
        c.login_throttle.per_account = 10_000;
    })
    .await;
    let before = status_kib("VmRSS:");
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let base = srv.base.clone();
            tokio::spawn(async move {
                let c = common::Client::new(&base);
                let body = json!({"username": "admin", "password": ADMIN_PW});
                c.call(Method::POST, "/api/v1/auth/login", Some(body)).await.0
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            // Waited too long for a hashing slot: told to come back, with Retry-After.
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("sign-in answered {other}"),
        }
    }
    assert!(ok > 0);
    let peak = status_kib("VmHWM:");
    let grown_mib = peak.saturating_sub(before) / 1024;
    // Unbounded, each hash holds 19 MiB at once: 200 of them grew the process by 3.9 GB.
    assert!(grown_mib < 250, "peak grew by {grown_mib} MiB");
}
