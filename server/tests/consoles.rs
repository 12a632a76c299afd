//! Consoles through Hangar's WebSocket bridge to real tiny guests: the RFB handshake and a framebuffer update,
//! screenshots, the serial line (scrollback and a command typed into the guest's shell), on the local host and
//! on the second host over qemu+tcp (whose VNC asks for a password the bridge answers); tickets refused and
//! audited; share links; limits; ending sessions; 200 idle sessions in bounded memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::console::{self, Reader, VNC_LOCAL, VNC_REMOTE};
use common::guest::{eventually, virsh, Guest, HOST2, LOCAL};
use common::{Client, TestServer, PW_USER};
use futures::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A server with the local host (and host2 when asked) registered, and its admin.
async fn fixture(tweak: impl FnOnce(&mut hangar::config::Config), host2: bool) -> (TestServer, Client) {
    let srv = TestServer::start_with(tweak).await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    if host2 {
        srv.add_host(&admin, "host2", HOST2).await;
    }
    (srv, admin)
}

async fn running_guest(srv: &TestServer, admin: &Client, uri: &str, devices: &str) -> Guest {
    let g = Guest::define_with(uri, "hangar-con", false, devices);
    virsh(uri, &["start", &g.name]).unwrap();
    g.wait_ready(1).await;
    srv.wait_vm(admin, &g.uuid, Some("running")).await;
    g
}

async fn audit_details(srv: &TestServer, action: &str) -> Vec<Value> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT details FROM audit_log WHERE action = ? ORDER BY id")
        .bind(action)
        .fetch_all(&srv.state().db)
        .await
        .unwrap();
    rows.into_iter().map(|r| serde_json::from_str(&r.0).unwrap()).collect()
}

async fn sessions(c: &Client, vm: &str) -> Vec<app::api::ConsoleSession> {
    c.get_as(&format!("/api/v1/vms/{vm}/console-sessions")).await
}

/// The session cookie of a fresh sign-in, as a browser would send it on the WebSocket.
async fn cookie_of(base: &str, user: &str, pw: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": user, "password": pw }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(String::from))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn vnc_and_serial_through_the_bridge_on_both_hosts() {
    let (srv, admin) = fixture(|_| {}, true).await;
    for (uri, devices) in [(LOCAL, VNC_LOCAL), (HOST2, VNC_REMOTE)] {
        let g = running_guest(&srv, &admin, uri, devices).await;
        let t = console::ticket(&admin, &g.uuid, "vnc").await;
        assert_eq!(t.url, format!("/api/v1/vms/{}/console/ws?ticket={}", g.uuid, t.ticket));
        let mut ws = console::open(&srv.base, &t.url, Some(&srv.base), None).await.unwrap();
        let mut r = Reader::new();
        let (w, h) = console::rfb_handshake(&mut ws, &mut r).await;
        assert!(w >= 320 && h >= 200, "{uri}: screen {w}x{h}");
        let rects = console::framebuffer_update(&mut ws, &mut r, w, h).await;
        assert!(rects >= 1, "{uri}: a framebuffer update with rectangles");
        let open = sessions(&admin, &g.uuid).await;
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(
            (open[0].kind, open[0].user.as_str()),
            (app::api::ConsoleKind::Vnc, "admin")
        );
        assert!(open[0].bytes_from_vm > 0);

        let resp = admin
            .request(Method::GET, &format!("/api/v1/vms/{}/screenshot", g.uuid))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "image/png");
        let png = resp.bytes().await.unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 100, "{uri}: a PNG");

        ws.close(None).await.unwrap();
        eventually(10, "session closed", || async {
            sessions(&admin, &g.uuid).await.is_empty().then_some(())
        })
        .await;

        let t = console::ticket(&admin, &g.uuid, "serial").await;
        let mut ws = console::open(&srv.base, &t.url, Some(&srv.base), None).await.unwrap();
        if uri == LOCAL {
            // What the guest printed before anyone connected.
            console::read_until(&mut ws, "GUEST-READY", 10).await.unwrap();
        }
        ws.send(Message::binary(b"\necho HANGAR-$((6*7))\n".to_vec()))
            .await
            .unwrap();
        let out = console::read_until(&mut ws, "HANGAR-42", 30).await.unwrap();
        assert!(out.contains("HANGAR-42"), "{uri}: {out}");

        // The VM goes away mid-session: the session ends with a reason.
        virsh(uri, &["destroy", &g.name]).unwrap();
        let (code, reason) = console::closed(&mut ws).await;
        assert_eq!((code, reason.as_str()), (1000, "vm_closed"), "{uri}");
    }
    let opened = audit_details(&srv, "console.open").await;
    assert_eq!(opened.len(), 4, "{opened:?}");
    // The close record follows the close frame.
    let closed = eventually(10, "four close records", || async {
        let c = audit_details(&srv, "console.close").await;
        (c.len() == 4).then_some(c)
    })
    .await;
    assert!(
        closed
            .iter()
            .all(|d| d["duration_ms"].is_i64() && d["bytes_from_vm"].as_u64().unwrap() > 0),
        "{closed:?}"
    );
    assert!(closed.iter().any(|d| d["reason"] == "vm_closed"));
}

#[tokio::test]
async fn tickets_are_single_use_and_bound_and_refusals_are_audited() {
    let (srv, admin) = fixture(
        |c| {
            c.consoles.ticket_seconds = 2;
            c.consoles.max_sessions_per_user = 2;
        },
        false,
    )
    .await;
    let g = running_guest(&srv, &admin, LOCAL, VNC_LOCAL).await;
    let other = Guest::define_with(LOCAL, "hangar-con-off", false, VNC_LOCAL);
    srv.wait_vm(&admin, &other.uuid, Some("shutoff")).await;
    srv.create_user(&admin, "bob", PW_USER, "user").await;
    let mut bob = srv.client();
    bob.login_ok("bob", PW_USER).await;
    let base = srv.base.as_str();

    // Used once, then never again.
    let t = console::ticket(&admin, &g.uuid, "vnc").await;
    let mut ws = console::open(base, &t.url, Some(base), None).await.unwrap();
    console::rfb_handshake(&mut ws, &mut Reader::new()).await;
    ws.close(None).await.unwrap();
    assert_eq!(console::open(base, &t.url, Some(base), None).await.err(), Some(403));
    // Expired.
    let t = console::ticket(&admin, &g.uuid, "vnc").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(console::open(base, &t.url, Some(base), None).await.err(), Some(403));
    // Presented by someone signed in as another account.
    let t = console::ticket(&admin, &g.uuid, "vnc").await;
    let bob_cookie = cookie_of(base, "bob", PW_USER).await;
    assert_eq!(
        console::open(base, &t.url, Some(base), Some(&bob_cookie)).await.err(),
        Some(403)
    );
    // At another VM's address.
    let t = console::ticket(&admin, &g.uuid, "vnc").await;
    let elsewhere = t.url.replace(&g.uuid, &other.uuid);
    assert_eq!(console::open(base, &elsewhere, Some(base), None).await.err(), Some(403));
    // From another site's page.
    let t = console::ticket(&admin, &g.uuid, "vnc").await;
    assert_eq!(
        console::open(base, &t.url, Some("http://evil.example"), None)
            .await
            .err(),
        Some(403)
    );
    let reasons: Vec<String> = audit_details(&srv, "console.refused")
        .await
        .iter()
        .map(|d| d["reason"].as_str().unwrap().to_string())
        .collect();
    for r in [
        "unknown_ticket",
        "expired_ticket",
        "other_user",
        "other_vm",
        "foreign_origin",
    ] {
        assert!(reasons.iter().any(|x| x == r), "{r} not audited: {reasons:?}");
    }

    // Someone else's VM does not exist for bob; strangers must sign in; an off VM says so.
    let (s, _) = bob
        .call(
            Method::POST,
            &format!("/api/v1/vms/{}/console", g.uuid),
            Some(json!({"kind": "vnc"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = srv
        .client()
        .call(
            Method::POST,
            &format!("/api/v1/vms/{}/console", g.uuid),
            Some(json!({"kind": "vnc"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{}/console", other.uuid),
            Some(json!({"kind": "vnc"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str(), v["details"]["reason"].as_str()),
        (StatusCode::CONFLICT, Some("console_unavailable"), Some("vm_off"))
    );
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{}/console", g.uuid),
            Some(json!({"kind": "spice"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Two sessions each at most; the admin ends one, and it closes with that reason.
    let mut open = Vec::new();
    for _ in 0..2 {
        let t = console::ticket(&admin, &g.uuid, "vnc").await;
        let mut ws = console::open(base, &t.url, Some(base), None).await.unwrap();
        console::rfb_handshake(&mut ws, &mut Reader::new()).await;
        open.push(ws);
    }
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{}/console", g.uuid),
            Some(json!({"kind": "vnc"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_consoles"))
    );
    let id = sessions(&admin, &g.uuid).await[0].id;
    let (s, _) = bob
        .call(Method::DELETE, &format!("/api/v1/console-sessions/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "bob cannot see it");
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/console-sessions/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (code, reason) = console::closed(&mut open[0]).await;
    // The admin ended a session of their own: said as such (another's would be `ended_by_admin`).
    assert_eq!((code, reason.as_str()), (4001, "ended_by_user"));
    let ends: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'console.end' AND result = 'ok'")
        .fetch_one(&srv.state().db)
        .await
        .unwrap();
    assert_eq!(ends, 1);

    // Disabling an account ends its sessions.
    let uid: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'bob'")
        .fetch_one(&srv.state().db)
        .await
        .unwrap();
    let (s, v) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", g.uuid),
            Some(json!({ "owner_id": uid })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t = console::ticket(&bob, &g.uuid, "serial").await;
    let mut ws = console::open(base, &t.url, Some(base), None).await.unwrap();
    let (s, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{uid}"),
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (code, reason) = console::closed(&mut ws).await;
    assert_eq!((code, reason.as_str()), (4002, "signed_out"));
}

#[tokio::test]
async fn share_links_view_only_revoked_and_expired() {
    let (srv, admin) = fixture(|_| {}, false).await;
    let g = running_guest(&srv, &admin, LOCAL, VNC_LOCAL).await;
    let uid = srv.create_user(&admin, "olive", PW_USER, "user").await;
    srv.create_user(&admin, "pete", PW_USER, "user").await;
    let (s, v) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", g.uuid),
            Some(json!({ "owner_id": uid })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut olive = srv.client();
    olive.login_ok("olive", PW_USER).await;
    let mut pete = srv.client();
    pete.login_ok("pete", PW_USER).await;
    let links = format!("/api/v1/vms/{}/console-links", g.uuid);
    let base = srv.base.as_str();

    for (mins, code) in [(0, 400), (24 * 60 + 1, 400)] {
        let (s, v) = olive
            .call(
                Method::POST,
                &links,
                Some(json!({"kind": "serial", "expires_minutes": mins})),
            )
            .await;
        assert_eq!(s.as_u16(), code, "{v}");
    }
    let (s, _) = pete
        .call(
            Method::POST,
            &links,
            Some(json!({"kind": "serial", "expires_minutes": 60})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not pete's VM");
    let make = |view_only: bool| {
        let olive = &olive;
        let links = links.clone();
        async move {
            let (s, v) = olive
                .send_as::<_, app::api::ConsoleLinkCreated>(
                    Method::POST,
                    &links,
                    &json!({"kind": "serial", "view_only": view_only, "expires_minutes": 60}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v:?}");
            let v = v.unwrap();
            assert!(v.url.starts_with("/console-share#"));
            (v.link.id, v.url.split('#').nth(1).unwrap().to_string())
        }
    };
    let (watch_id, watch_token) = make(true).await;
    let (use_id, use_token) = make(false).await;
    let stranger = srv.client();
    let open = |token: String| {
        let stranger = &stranger;
        async move {
            stranger
                .call(
                    Method::POST,
                    "/api/v1/console-links/open",
                    Some(json!({ "token": token })),
                )
                .await
        }
    };

    // View-only: sees the output, cannot type.
    let (s, t) = open(watch_token.clone()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["view_only"], true);
    let mut ws = console::open(base, t["url"].as_str().unwrap(), Some(base), None)
        .await
        .unwrap();
    console::read_until(&mut ws, "GUEST-READY", 10).await.unwrap();
    ws.send(Message::binary(b"\necho LEAK-$((3+4))\n".to_vec()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = std::fs::read_to_string(&g.log).unwrap();
    assert!(!log.contains("LEAK"), "a view-only link typed into the guest");
    ws.close(None).await.unwrap();

    // Interactive: types.
    let (s, t) = open(use_token.clone()).await;
    assert_eq!(s, StatusCode::OK);
    let mut ws = console::open(base, t["url"].as_str().unwrap(), Some(base), None)
        .await
        .unwrap();
    ws.send(Message::binary(b"\necho SHARED-$((2+3))\n".to_vec()))
        .await
        .unwrap();
    console::read_until(&mut ws, "SHARED-5", 30).await.unwrap();

    let listed: Vec<app::api::ConsoleLink> = olive.get_as(&links).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|l| l.uses == 1), "{listed:?}");
    let (s, _) = pete
        .call(Method::DELETE, &format!("/api/v1/console-links/{use_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Revoked: the open session ends, and the link opens nothing more.
    let (s, _) = olive
        .call(Method::DELETE, &format!("/api/v1/console-links/{use_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (code, reason) = console::closed(&mut ws).await;
    assert_eq!((code, reason.as_str()), (4004, "link_revoked"));
    let (s, v) = open(use_token).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("link_expired")));
    // Expired (its time moved to the past).
    sqlx::query("UPDATE console_links SET expires_at = 1 WHERE id = ?")
        .bind(watch_id)
        .execute(&srv.state().db)
        .await
        .unwrap();
    let (s, _) = open(watch_token).await;
    assert_eq!(s, StatusCode::GONE);
    let (s, _) = open("no-such-link".into()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Guessing is throttled like signing in: after five wrong links from one address, 429 with a wait.
    for _ in 0..4 {
        assert_eq!(open("guess".into()).await.0, StatusCode::NOT_FOUND);
    }
    let (s, v) = open("guess".into()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")),
        "{v}"
    );

    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT result, source FROM audit_log WHERE action = 'console_link.open' ORDER BY id")
            .fetch_all(&srv.state().db)
            .await
            .unwrap();
    assert_eq!(rows.iter().filter(|r| r.0 == "ok").count(), 2, "{rows:?}");
    // Two refused links and five wrong secrets, then one compact record for the throttled guess.
    assert_eq!(rows.iter().filter(|r| r.0 == "denied").count(), 8, "{rows:?}");
    assert!(rows.iter().all(|r| r.1.as_deref() == Some("127.0.0.1")), "{rows:?}");
    // Sessions opened through links are recorded as the link's.
    let opened = audit_details(&srv, "console.open").await;
    assert!(
        opened.iter().any(|d| d["link"] == watch_id && d["view_only"] == true),
        "{opened:?}"
    );
    // Nothing is left reading this VM's console once its sessions ended.
    eventually(20, "serial reader threads gone", || async {
        (serial_threads(&g.uuid) == 0).then_some(())
    })
    .await;
}

/// Threads reading the serial console of the VM (named `sc-` and the UUID's first 8 digits).
fn serial_threads(uuid: &str) -> usize {
    let name = format!("sc-{}", &uuid[..8]);
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim() == name)
        .count()
}

#[tokio::test]
async fn a_closed_serial_session_leaves_no_reader_behind() {
    let (srv, admin) = fixture(|_| {}, false).await;
    // With a disk, the guest prints nothing once booted: the reader waits on a quiet console.
    let g = Guest::define_with(LOCAL, "hangar-con-quiet", true, "");
    virsh(LOCAL, &["start", &g.name]).unwrap();
    g.wait_ready(1).await;
    srv.wait_vm(&admin, &g.uuid, Some("running")).await;
    for _ in 0..3 {
        let t = console::ticket(&admin, &g.uuid, "serial").await;
        let mut ws = console::open(&srv.base, &t.url, Some(&srv.base), None).await.unwrap();
        ws.send(Message::binary(b"\necho QUIET-$((40+2))\n".to_vec()))
            .await
            .unwrap();
        console::read_until(&mut ws, "QUIET-42", 30).await.unwrap();
        assert_eq!(serial_threads(&g.uuid), 1);
        ws.close(None).await.unwrap();
        eventually(10, "the serial reader gone", || async {
            (serial_threads(&g.uuid) == 0).then_some(())
        })
        .await;
    }
    eventually(10, "no session left", || async {
        (srv.state().consoles.count() == 0).then_some(())
    })
    .await;
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn two_hundred_idle_sessions_stay_small() {
    let (srv, admin) = fixture(
        |c| {
            c.consoles.max_sessions = 256;
            c.consoles.max_sessions_per_user = 256;
        },
        false,
    )
    .await;
    // QEMU's VNC server takes about 32 clients: seven guests take 200 sessions.
    let guests: Vec<Guest> = (0..7)
        .map(|_| Guest::define_with(LOCAL, "hangar-con-many", false, VNC_LOCAL))
        .collect();
    for g in &guests {
        virsh(LOCAL, &["start", &g.name]).unwrap();
    }
    for g in &guests {
        srv.wait_vm(&admin, &g.uuid, Some("running")).await;
    }
    let before = rss_kib();
    let mut open = Vec::new();
    for i in 0..200 {
        let g = &guests[i % guests.len()];
        let t = console::ticket(&admin, &g.uuid, "vnc").await;
        let mut ws = console::open(&srv.base, &t.url, Some(&srv.base), None).await.unwrap();
        console::rfb_handshake(&mut ws, &mut Reader::new()).await;
        open.push(ws);
    }
    assert_eq!(srv.state().consoles.count(), 200);
    let grown = rss_kib().saturating_sub(before);
    // Server and clients share this process: both together stay under 100 MiB for 200 sessions.
    assert!(grown < 100 * 1024, "RSS grew by {grown} KiB for 200 sessions");
    drop(open);
    eventually(30, "all sessions closed", || async {
        (srv.state().consoles.count() == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn limits_hold_at_once_and_links_end_with_their_creators_rights() {
    let (srv, admin) = fixture(|c| c.consoles.max_sessions_per_user = 2, false).await;
    let g = running_guest(&srv, &admin, LOCAL, VNC_LOCAL).await;
    // Five tickets, five upgrades at the same moment: two sessions, three refusals.
    let mut tickets = Vec::new();
    for _ in 0..5 {
        tickets.push(console::ticket(&admin, &g.uuid, "vnc").await);
    }
    let base = srv.base.clone();
    let opened =
        futures::future::join_all(tickets.iter().map(|t| console::open(&base, &t.url, Some(&base), None))).await;
    let (ok, refused): (Vec<_>, Vec<_>) = opened.into_iter().partition(|r| r.is_ok());
    assert_eq!(ok.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|r| r.as_ref().err() == Some(&429)), "{refused:?}");
    drop(ok);
    eventually(10, "sessions closed", || async {
        (srv.state().consoles.count() == 0).then_some(())
    })
    .await;

    // A link made by the VM's owner stops working once the VM is someone else's.
    let u1 = srv.create_user(&admin, "una", PW_USER, "user").await;
    let u2 = srv.create_user(&admin, "ugo", PW_USER, "user").await;
    let vm = format!("/api/v1/vms/{}", g.uuid);
    assert_eq!(
        admin.call(Method::PATCH, &vm, Some(json!({ "owner_id": u1 }))).await.0,
        StatusCode::OK
    );
    let mut una = srv.client();
    una.login_ok("una", PW_USER).await;
    let (s, l) = una
        .call(
            Method::POST,
            &format!("{vm}/console-links"),
            Some(json!({"kind": "vnc", "expires_minutes": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    assert_eq!(
        l["link"]["view_only"], true,
        "links are view-only unless asked otherwise"
    );
    let token = l["url"].as_str().unwrap().split('#').nth(1).unwrap().to_string();
    let stranger = srv.client();
    let (s, t) = stranger
        .call(
            Method::POST,
            "/api/v1/console-links/open",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let mut ws = console::open(&srv.base, t["url"].as_str().unwrap(), Some(&srv.base), None)
        .await
        .unwrap();
    console::rfb_handshake(&mut ws, &mut Reader::new()).await;
    assert_eq!(
        admin.call(Method::PATCH, &vm, Some(json!({ "owner_id": u2 }))).await.0,
        StatusCode::OK
    );
    // The open session ends at the next check, and the link opens nothing more.
    let (code, reason) = console::closed(&mut ws).await;
    assert_eq!((code, reason.as_str()), (4004, "link_revoked"));
    let (s, _) = stranger
        .call(
            Method::POST,
            "/api/v1/console-links/open",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(s, StatusCode::GONE);
}
