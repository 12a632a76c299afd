//! Monitoring and alerts against real guests and real receivers: figures collected from a running tiny guest
//! (series, per-disk/NIC, host figures, `/metrics` checked by prometheus-client's parser), a busy guest firing a
//! "CPU > 50 % for 20 s" rule that resolves when it stops (a signed webhook for each), host2's daemon killed and
//! restarted (host offline fires and resolves), DingTalk and Feishu robots checked with their published signing,
//! mail through a real SMTP server that demands STARTTLS, bad input refused with nothing saved, secrets never
//! shown again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};
use base64::Engine;
use common::guest::{eventually, virsh, Guest, HOST2, LOCAL};
use common::{Client, TestServer, PW_USER};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

/// What a receiver got: (path with query, headers, body).
type Got = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

/// A local HTTP receiver answering like the robots do (`{"errcode":0,"code":0}`).
async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let g = g.clone();
        async move {
            g.lock().unwrap().push((uri.to_string(), headers, body));
            axum::Json(json!({ "errcode": 0, "code": 0, "errmsg": "ok" }))
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{addr}"), got)
}

/// `%XX` and `+` of a query value.
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// The JSON bodies of webhook posts, each checked against its `X-Hangar-Signature`.
fn signed_bodies(got: &Got, secret: &str) -> Vec<Value> {
    got.lock()
        .unwrap()
        .iter()
        .map(|(_, h, body)| {
            let sig = h.get("x-hangar-signature").expect("signature header").to_str().unwrap();
            assert_eq!(sig, format!("sha256={}", hex::encode(hmac256(secret.as_bytes(), body))));
            serde_json::from_slice(body).unwrap()
        })
        .collect()
}

async fn fixture(tweak: impl FnOnce(&mut hangar::config::Config)) -> (TestServer, Client) {
    let srv = TestServer::start_with(|c| {
        c.monitoring.interval_seconds = 1;
        c.notifications.allow_private_webhooks = true;
        c.notifications.retry_seconds = vec![1, 1];
        tweak(c);
    })
    .await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    (srv, admin)
}

async fn webhook(c: &Client, url: &str, secret: &str) -> i64 {
    let (s, ch) = c
        .call(
            Method::POST,
            "/api/v1/notification-channels",
            Some(json!({ "name": "hook", "kind": "webhook", "config": { "url": url, "secret": secret } })),
        )
        .await;
    assert_eq!(s, 201, "{ch}");
    ch["id"].as_i64().unwrap()
}

async fn rule(c: &Client, body: Value) -> i64 {
    let (s, r) = c.call(Method::POST, "/api/v1/alert-rules", Some(body)).await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_i64().unwrap()
}

/// Silences the VM at `vm` (its API path) for `seconds` as `c` (0 lifts it); the answer must be a success.
async fn silence(c: &Client, vm: &str, seconds: i64) -> app::api::VmSilenced {
    let (s, silenced) = c
        .send_as::<_, app::api::VmSilenced>(
            Method::PUT,
            &format!("{vm}/alert-silence"),
            &app::api::VmSilence { seconds },
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{silenced:?}");
    silenced.unwrap()
}

async fn alerts(c: &Client, q: &str) -> Vec<app::api::Alert> {
    let page: app::api::AlertPage = c.get_as(&format!("/api/v1/alerts?{q}")).await;
    page.items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_guest_has_figures_series_and_prometheus_metrics() {
    let (srv, admin) = fixture(|c| c.monitoring.metrics_token = Some(hangar::config::Secret("scrape-me".into()))).await;
    let g = Guest::define(LOCAL, "hangar-mon", true);
    virsh(LOCAL, &["start", &g.name]).unwrap();
    srv.wait_vm(&admin, &g.uuid, Some("running")).await;
    let m: app::api::VmMetrics = eventually(60, "three samples of the guest", || async {
        let m: app::api::VmMetrics = admin
            .get_as(&format!("/api/v1/vms/{}/metrics?range=hour", g.uuid))
            .await;
        (m.history.points.len() >= 3).then_some(m)
    })
    .await;
    assert_eq!(m.history.series, app::api::VM_SERIES.to_vec());
    let last = m.history.points.last().unwrap();
    // A booting TCG guest keeps its vCPU busy; it has the 128 MiB it was given.
    assert!(last.avg[0] > 0.0 && last.avg[0] <= 100.0, "{last:?}");
    assert_eq!(last.avg[2], 128.0 * 1024.0 * 1024.0, "{last:?}");
    assert_eq!(m.disks.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["vda"]);
    let (s, e) = admin.get(&format!("/api/v1/vms/{}/metrics?range=decade", g.uuid)).await;
    assert_eq!(s, 400, "{e}");
    // The day range has the step being filled even before a minute is written.
    let day: app::api::VmMetrics = admin.get_as(&format!("/api/v1/vms/{}/metrics?range=day", g.uuid)).await;
    assert_eq!(day.history.step_seconds, 60);
    assert!(!day.history.points.is_empty());

    let hosts: Vec<app::api::Host> = admin.get_as("/api/v1/hosts").await;
    let h: app::api::HostMetrics = admin.get_as(&format!("/api/v1/hosts/{}/metrics", hosts[0].id)).await;
    assert!(h.online);
    let hp = h.history.points.last().unwrap();
    assert!(hp.avg[2] > 0.0 && hp.avg[1] > 0.0 && hp.avg[1] <= hp.avg[2], "{hp:?}");
    assert!(h.pools.iter().any(|p| p.capacity_bytes > 0), "{:?}", h.pools);
    let o: app::api::MetricsOverview = admin.get_as("/api/v1/metrics/overview").await;
    assert!(o.busiest.iter().any(|v| v.id == g.uuid), "{o:?}");

    // A user who does not own the VM sees nothing of it.
    srv.create_user(&admin, "mona", PW_USER, "user").await;
    let mut mona = srv.client();
    mona.login_ok("mona", PW_USER).await;
    assert_eq!(mona.get(&format!("/api/v1/vms/{}/metrics", g.uuid)).await.0, 404);
    let o: app::api::MetricsOverview = mona.get_as("/api/v1/metrics/overview").await;
    assert!(o.busiest.is_empty() && o.hosts.is_empty(), "{o:?}");

    // /metrics: a stranger and a user are refused; the scrape token and an admin get the text format.
    let raw = reqwest::Client::new();
    let url = format!("{}/metrics", srv.base);
    assert_eq!(raw.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(raw.get(&url).bearer_auth("wrong").send().await.unwrap().status(), 401);
    assert_eq!(
        mona.request(Method::GET, "/metrics").send().await.unwrap().status(),
        403
    );
    let r = raw.get(&url).bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    assert!(text.contains(&format!("vm_id=\"{}\"", g.uuid)), "{text}");
    assert!(text.contains("hangar_http_requests_total{operation=\"vm.metrics\",status=\"200\"}"));
    assert_eq!(
        admin.request(Method::GET, "/metrics").send().await.unwrap().status(),
        200
    );
    // prometheus-client's own parser reads every family.
    let file = srv.dir.path().join("metrics.txt");
    std::fs::write(&file, &text).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; from prometheus_client.parser import text_string_to_metric_families as p; \
             fams = list(p(open(sys.argv[1]).read())); \
             names = {f.name for f in fams}; \
             assert 'hangar_vm_cpu_seconds' in names and 'hangar_host_up' in names, names; print(len(fams))",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    virsh(LOCAL, &["destroy", &g.name]).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart_and_goes_with_its_vm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut srv, admin) =
        fixture(|c| c.monitoring.metrics_listen = Some(format!("127.0.0.1:{port}").parse().unwrap())).await;
    // The separate address serves /metrics without authentication, and nothing else.
    let open = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(open.status(), 200);
    assert!(open.text().await.unwrap().contains("# TYPE hangar_host_up gauge"));
    assert_eq!(
        reqwest::get(format!("http://127.0.0.1:{port}/api/v1/vms"))
            .await
            .unwrap()
            .status(),
        404
    );
    let g = Guest::define(LOCAL, "hangar-hist", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    // Minute steps of the last hour, as the collector writes them.
    let now = hangar::db::now_ms();
    let steps: Vec<(String, hangar::services::rollup::Step)> = (1..=30)
        .map(|i| {
            let t = now - now % 60_000 - i * 60_000;
            let v = vec![i as f64; app::api::VM_SERIES.len()];
            (
                format!("vm:{}", g.uuid),
                hangar::services::rollup::Step {
                    tier: 0,
                    start_ms: t,
                    avg: v.clone(),
                    max: v,
                },
            )
        })
        .collect();
    hangar::db::metrics::write(&srv.state().db, &steps).await.unwrap();
    srv.restart().await;
    let admin = srv.admin().await;
    let day: app::api::VmMetrics = admin.get_as(&format!("/api/v1/vms/{}/metrics?range=day", g.uuid)).await;
    assert!(day.history.points.len() >= 30, "{}", day.history.points.len());
    assert_eq!(day.history.points[0].avg[0], 30.0);
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/vms/{}", g.uuid), None)
        .await;
    assert_eq!(s, 200);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metric_points WHERE target = ?")
        .bind(format!("vm:{}", g.uuid))
        .fetch_one(&srv.state().db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_guest_fires_a_cpu_rule_which_resolves_when_it_stops() {
    let (srv, admin) = fixture(|_| {}).await;
    let (url, got) = receiver().await;
    // The VM belongs to a user, who makes the rule and the channel.
    let uid = srv.create_user(&admin, "bea", PW_USER, "user").await;
    let mut bea = srv.client();
    bea.login_ok("bea", PW_USER).await;
    let g = Guest::define_full(LOCAL, "hangar-busy", false, "", "hangar_burn");
    srv.wait_vm(&admin, &g.uuid, None).await;
    let vm = format!("/api/v1/vms/{}", g.uuid);
    assert_eq!(
        admin.call(Method::PATCH, &vm, Some(json!({ "owner_id": uid }))).await.0,
        200
    );
    let ch = webhook(&bea, &format!("{url}/hook"), "hook-secret-1").await;
    let r = rule(
        &bea,
        json!({ "name": "busy", "metric": "vm_cpu_percent", "comparison": "gt", "threshold": 50,
                "for_seconds": 20, "scope": { "kind": "vm", "id": g.uuid }, "severity": "critical",
                "channels": [ch] }),
    )
    .await;
    virsh(LOCAL, &["start", &g.name]).unwrap();
    g.wait_ready(1).await;
    let fired = eventually(120, "the CPU rule fires", || async {
        alerts(&bea, "state=firing").await.into_iter().find(|a| a.rule_id == r)
    })
    .await;
    assert_eq!(fired.target_id, g.uuid);
    assert!(fired.peak > 50.0, "{fired:?}");
    assert!(fired.fired_at.unwrap() - fired.started_at >= 20_000, "{fired:?}");
    let firing = eventually(30, "the firing webhook", || async {
        signed_bodies(&got, "hook-secret-1")
            .into_iter()
            .find(|b| b["status"] == "firing")
    })
    .await;
    assert_eq!(firing["rule"], "busy");
    assert_eq!(firing["target"]["id"], g.uuid.as_str());
    assert!(firing["value"].as_f64().unwrap() > 50.0);
    assert!(firing["started_at"].is_string());
    // The VM's timeline says so too.
    let d: app::api::VmDetail = bea.get_as(&vm).await;
    assert!(
        d.events
            .iter()
            .any(|e| e.kind == "alert.firing" && e.detail.contains("busy")),
        "{:?}",
        d.events
    );
    // Silenced, the VM's resolution is recorded but sends nothing.
    let sl = silence(&bea, &vm, 3600).await;
    assert!(sl.silenced_until.is_some(), "{sl:?}");
    virsh(LOCAL, &["destroy", &g.name]).unwrap();
    eventually(60, "the alert resolves", || async {
        let a = alerts(&bea, "state=resolved").await;
        a.into_iter().find(|a| a.id == fired.id)
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(signed_bodies(&got, "hook-secret-1")
        .iter()
        .all(|b| b["status"] != "resolved"));
    // Lifted, the next firing and resolution notify again.
    silence(&bea, &vm, 0).await;
    virsh(LOCAL, &["start", &g.name]).unwrap();
    let again = eventually(120, "the CPU rule fires again", || async {
        alerts(&bea, "state=firing")
            .await
            .into_iter()
            .find(|a| a.rule_id == r && a.id != fired.id)
    })
    .await;
    virsh(LOCAL, &["destroy", &g.name]).unwrap();
    let resolved = eventually(60, "the resolved webhook", || async {
        signed_bodies(&got, "hook-secret-1")
            .into_iter()
            .find(|b| b["status"] == "resolved")
    })
    .await;
    assert_eq!(resolved["rule"], "busy");
    // The history shows both notifications as sent, with the receiver's answer (recorded once the sender has read
    // it, a moment after the receiver got the body); the silenced one sent none.
    let a = eventually(30, "both deliveries recorded as sent", || async {
        let a = alerts(&bea, &format!("vm={}", g.uuid)).await;
        let d = &a.iter().find(|x| x.id == again.id)?.deliveries;
        let sent = |event: &str| {
            d.iter()
                .any(|d| d.event == event && d.status == "sent" && d.response.contains("200"))
        };
        (sent("firing") && sent("resolved")).then_some(a)
    })
    .await;
    assert!(a
        .iter()
        .find(|x| x.id == fired.id)
        .unwrap()
        .deliveries
        .iter()
        .all(|d| d.event == "firing"));
    // Another user sees neither the rule nor its alerts.
    srv.create_user(&admin, "carl", PW_USER, "user").await;
    let mut carl = srv.client();
    carl.login_ok("carl", PW_USER).await;
    assert_eq!(carl.get(&format!("/api/v1/alert-rules/{r}")).await.0, 404);
    assert!(alerts(&carl, "").await.is_empty());
    assert_eq!(
        carl.call(Method::POST, &format!("/api/v1/alerts/{}/acknowledge", fired.id), None)
            .await
            .0,
        404
    );
    assert_eq!(
        bea.call(Method::POST, &format!("/api/v1/alerts/{}/acknowledge", fired.id), None)
            .await
            .0,
        200
    );
}

fn env(cmd: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/libvirt-env.sh");
    assert!(
        std::process::Command::new(script).arg(cmd).status().unwrap().success(),
        "{cmd}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host2_going_down_fires_host_offline_and_coming_back_resolves_it() {
    struct Restart;
    impl Drop for Restart {
        fn drop(&mut self) {
            env("host2-start");
        }
    }
    let (srv, admin) = fixture(|_| {}).await;
    let h2 = srv.add_host(&admin, "host2", HOST2).await;
    let (url, got) = receiver().await;
    let ch = webhook(&admin, &format!("{url}/h"), "s-host").await;
    rule(
        &admin,
        json!({ "name": "host down", "metric": "host_offline", "for_seconds": 5,
                "scope": { "kind": "host", "id": h2 }, "severity": "critical", "channels": [ch] }),
    )
    .await;
    eventually(30, "host2 online in monitoring", || async {
        let m: app::api::HostMetrics = admin.get_as(&format!("/api/v1/hosts/{h2}/metrics")).await;
        m.online.then_some(())
    })
    .await;
    let _restart = Restart;
    let t0 = std::time::Instant::now();
    env("host2-stop");
    let a = eventually(60, "host offline fires", || async {
        alerts(&admin, "state=firing")
            .await
            .into_iter()
            .find(|a| a.metric == "host_offline")
    })
    .await;
    assert!(t0.elapsed().as_secs() <= 30, "fired after {:?}", t0.elapsed());
    assert_eq!(a.target_id, h2.to_string());
    env("host2-start");
    eventually(90, "host offline resolves", || async {
        alerts(&admin, "state=resolved")
            .await
            .into_iter()
            .find(|x| x.id == a.id)
    })
    .await;
    let bodies = eventually(30, "both webhooks", || async {
        let b = signed_bodies(&got, "s-host");
        (b.len() >= 2).then_some(b)
    })
    .await;
    assert_eq!(bodies[0]["status"], "firing");
    assert_eq!(bodies[1]["status"], "resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_are_signed_as_their_vendors_publish() {
    let (_srv, admin) = fixture(|_| {}).await;
    let (url, got) = receiver().await;
    let secret = "SECabcdef0123456789";
    let mut ids = Vec::new();
    for (kind, path, config) in [
        ("dingtalk", "/robot/send?access_token=tok", json!({ "secret": secret })),
        (
            "feishu",
            "/open-apis/bot/v2/hook/abc",
            json!({ "secret": "feishu-secret" }),
        ),
        ("wecom", "/cgi-bin/webhook/send?key=wecom-key", json!({})),
    ] {
        let mut config = config;
        config["url"] = json!(format!("{url}{path}"));
        let (s, c) = admin
            .call(
                Method::POST,
                "/api/v1/notification-channels",
                Some(json!({ "name": kind, "kind": kind, "config": config, "language": "zh-CN" })),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        // Secrets and the URL's key never come back.
        let shown = c.to_string();
        assert!(
            !shown.contains(secret) && !shown.contains("feishu-secret") && !shown.contains("wecom-key"),
            "{shown}"
        );
        ids.push(c["id"].as_i64().unwrap());
    }
    for id in &ids {
        let (s, t) = admin
            .call(Method::POST, &format!("/api/v1/notification-channels/{id}/test"), None)
            .await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["delivery"]["status"], "sent", "{t}");
    }
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    // DingTalk: sign = urlencode(base64(HMAC-SHA256(secret, timestamp + "\n" + secret))) in the query.
    let (uri, _, body) = &got[0];
    let q: std::collections::HashMap<String, String> = uri
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), percent_decode(v))
        })
        .collect();
    let ts = &q["timestamp"];
    let want = base64::engine::general_purpose::STANDARD
        .encode(hmac256(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes()));
    assert_eq!(q["sign"], want);
    assert_eq!(q["access_token"], "tok");
    let now_ms = hangar::db::now_ms();
    assert!((now_ms - ts.parse::<i64>().unwrap()).abs() < 60_000);
    let b: Value = serde_json::from_slice(body).unwrap();
    assert!(b["markdown"]["text"].as_str().unwrap().contains("测试"), "{b}");
    // Feishu: sign = base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")) in the body.
    let b: Value = serde_json::from_slice(&got[1].2).unwrap();
    let ts = b["timestamp"].as_str().unwrap();
    let want =
        base64::engine::general_purpose::STANDARD.encode(hmac256(format!("{ts}\nfeishu-secret").as_bytes(), b""));
    assert_eq!(b["sign"], want.as_str());
    assert_eq!(b["msg_type"], "text");
    // WeCom: the key stays in the URL; markdown content.
    assert!(got[2].0.contains("key=wecom-key"));
    let b: Value = serde_json::from_slice(&got[2].2).unwrap();
    assert_eq!(b["msgtype"], "markdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_through_an_smtp_server_that_demands_starttls() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smtp_server.py");
    let mut child = tokio::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line.trim(), "READY");
    let ca = dir.path().join("ca.pem");
    let (_srv, admin) = fixture(|c| {
        c.notifications.smtp.host = Some("localhost".into());
        c.notifications.smtp.port = port;
        c.notifications.smtp.ca_file = Some(ca.clone());
        c.notifications.smtp.from = "Hangar <hangar@example.com>".into();
    })
    .await;
    let (s, c) = admin
        .call(
            Method::POST,
            "/api/v1/notification-channels",
            Some(json!({ "name": "ops mail", "kind": "email", "config": { "to": ["ops@example.com"] } })),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    let (s, t) = admin
        .call(Method::POST, &format!("/api/v1/notification-channels/{id}/test"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(t["delivery"]["status"], "sent", "{t}");
    let mail = std::fs::read_to_string(dir.path().join("1.eml")).unwrap();
    assert!(mail.contains("X-TLS: True"), "{mail}");
    assert!(mail.contains("X-Envelope-To: ops@example.com"), "{mail}");
    assert!(mail.contains("Hangar"), "{mail}");
    // An unreachable server: a test message says so at once (the person testing is waiting for it).
    child.kill().await.ok();
    let (s, t) = admin
        .call(Method::POST, &format!("/api/v1/notification-channels/{id}/test"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(t["delivery"]["status"], "failed", "{t}");
    assert_eq!(t["delivery"]["attempts"], 1, "{t}");
    assert!(t["delivery"]["response"].as_str().unwrap().contains("localhost"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_to_a_dead_receiver_is_retried_then_recorded_as_failed() {
    let (srv, admin) = fixture(|_| {}).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ch = webhook(&admin, &format!("http://{dead}/gone"), "s").await;
    let g = Guest::define(LOCAL, "hangar-mon-dead", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    // Always true of a running VM: fires at the first rounds.
    virsh(LOCAL, &["start", &g.name]).unwrap();
    rule(
        &admin,
        json!({ "name": "always", "metric": "vm_cpu_percent", "comparison": "ge", "threshold": 0,
                "for_seconds": 1, "scope": { "kind": "vm", "id": g.uuid }, "channels": [ch] }),
    )
    .await;
    // Collection goes on meanwhile: the VM's figures keep arriving.
    let before: app::api::VmMetrics = admin.get_as(&format!("/api/v1/vms/{}/metrics", g.uuid)).await;
    let d = eventually(60, "the delivery given up", || async {
        let log: Vec<app::api::Delivery> = admin
            .get_as(&format!("/api/v1/notification-channels/{ch}/deliveries"))
            .await;
        log.into_iter().find(|d| d.status == "failed")
    })
    .await;
    assert_eq!(d.event, "firing");
    assert_eq!(d.attempts, 3, "{d:?}");
    assert!(!d.response.is_empty());
    let after: app::api::VmMetrics = admin.get_as(&format!("/api/v1/vms/{}/metrics", g.uuid)).await;
    assert!(after.history.points.len() > before.history.points.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_and_channels_are_refused_and_nothing_is_saved() {
    let srv = TestServer::start_with(|c| c.monitoring.interval_seconds = 1).await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let uid = srv.create_user(&admin, "dan", PW_USER, "user").await;
    let mut dan = srv.client();
    dan.login_ok("dan", PW_USER).await;
    let g = Guest::define(LOCAL, "hangar-mon-bad", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    let base = json!({ "name": "r", "metric": "vm_cpu_percent", "threshold": 50, "for_seconds": 60,
                       "scope": { "kind": "all" } });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field, reason) in [
        (with("threshold", json!(150)), "threshold", "out_of_range"),
        (with("for_seconds", json!(0)), "for_seconds", "out_of_range"),
        (with("metric", json!("vm_magic")), "metric", "unknown"),
        (with("comparison", json!("eq")), "comparison", "unknown"),
        (with("name", json!("  ")), "name", "empty"),
        // Another user's VM is as unknown as one that does not exist.
        (with("scope", json!({ "kind": "vm", "id": g.uuid })), "scope", "unknown"),
        (with("name", json!("a\u{202e}b")), "name", "control_characters"),
        (
            with("scope", json!({ "kind": "owner", "id": uid + 1 })),
            "scope",
            "not_yours",
        ),
        (with("metric", json!("host_cpu_percent")), "metric", "not_yours"),
        (with("channels", json!([424242])), "channels", "unknown"),
    ] {
        let (s, e) = dan.call(Method::POST, "/api/v1/alert-rules", Some(body.clone())).await;
        assert_eq!(s, 400, "{body} → {e}");
        assert_eq!(
            (e["details"]["field"].as_str(), e["details"]["reason"].as_str()),
            (Some(field), Some(reason)),
            "{e}"
        );
    }
    let (s, _) = dan
        .call(Method::POST, "/api/v1/alert-rules", Some(with("surprise", json!(1))))
        .await;
    assert_eq!(s, 400);
    for (kind, config, field, reason) in [
        (
            "webhook",
            json!({ "url": "http://169.254.169.254/latest/meta-data" }),
            "config.url",
            "private_address",
        ),
        (
            "webhook",
            json!({ "url": "http://127.0.0.1:9/x" }),
            "config.url",
            "private_address",
        ),
        (
            "webhook",
            json!({ "url": format!("{}/api/v1/vms", srv.base) }),
            "config.url",
            "private_address",
        ),
        (
            "webhook",
            json!({ "url": "ftp://example.com/" }),
            "config.url",
            "bad_url",
        ),
        (
            "dingtalk",
            json!({ "url": "https://oapi.dingtalk.com/robot/send?access_token=x", "secret": "nope" }),
            "config.secret",
            "bad_secret",
        ),
        ("email", json!({ "to": ["not an address"] }), "config.to", "bad_address"),
        ("pigeon", json!({}), "kind", "unknown_kind"),
    ] {
        let (s, e) = dan
            .call(
                Method::POST,
                "/api/v1/notification-channels",
                Some(json!({ "name": "c", "kind": kind, "config": config })),
            )
            .await;
        assert_eq!(s, 400, "{kind} {config} → {e}");
        assert_eq!(
            (e["details"]["field"].as_str(), e["details"]["reason"].as_str()),
            (Some(field), Some(reason)),
            "{e}"
        );
    }
    let rules: Vec<app::api::AlertRule> = admin.get_as("/api/v1/alert-rules").await;
    let channels: Vec<app::api::Channel> = admin.get_as("/api/v1/notification-channels").await;
    assert!(rules.is_empty() && channels.is_empty(), "{rules:?} {channels:?}");

    // A webhook secret is sealed at rest and never in a response or the audit log.
    let (s, c) = dan
        .call(
            Method::POST,
            "/api/v1/notification-channels",
            Some(json!({ "name": "hook", "kind": "webhook",
                         "config": { "url": "https://93.184.216.34/x?token=url-secret", "secret": "hmac-secret-9" } })),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    // Renaming keeps the secret that was not sent again.
    let (s, c2) = dan
        .call(
            Method::PATCH,
            &format!("/api/v1/notification-channels/{id}"),
            Some(json!({ "name": "hook 2", "config": { "url": "https://93.184.216.34/y" } })),
        )
        .await;
    assert_eq!(s, 200, "{c2}");
    assert_eq!(c2["has_secret"], true);
    let mut seen = String::new();
    for path in [
        "/api/v1/notification-channels",
        &format!("/api/v1/notification-channels/{id}"),
    ] {
        seen += &dan.get(path).await.1.to_string();
    }
    seen += &admin.get("/api/v1/audit?per_page=200").await.1.to_string();
    let stored: Vec<(String,)> = sqlx::query_as("SELECT config_sealed FROM notification_channels")
        .fetch_all(&srv.state().db)
        .await
        .unwrap();
    seen += &format!("{stored:?}");
    assert!(
        !seen.contains("hmac-secret-9") && !seen.contains("url-secret"),
        "{seen}"
    );
    assert_eq!(
        StatusCode::OK,
        dan.get(&format!("/api/v1/notification-channels/{id}")).await.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_owners_silence_mutes_only_their_own_rules() {
    let (srv, admin) = fixture(|_| {}).await;
    let (url, got) = receiver().await;
    let uid = srv.create_user(&admin, "ola", PW_USER, "user").await;
    let mut ola = srv.client();
    ola.login_ok("ola", PW_USER).await;
    let g = Guest::define(LOCAL, "hangar-mon-quiet", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    let vm = format!("/api/v1/vms/{}", g.uuid);
    assert_eq!(
        admin.call(Method::PATCH, &vm, Some(json!({ "owner_id": uid }))).await.0,
        200
    );
    silence(&ola, &vm, 3600).await;
    // Always true of a running VM: both rules fire at the first rounds.
    virsh(LOCAL, &["start", &g.name]).unwrap();
    let always = |ch: i64| {
        json!({ "name": "always", "metric": "vm_cpu_percent", "comparison": "ge", "threshold": 0,
                "for_seconds": 1, "scope": { "kind": "vm", "id": g.uuid }, "channels": [ch] })
    };
    let admin_ch = webhook(&admin, &format!("{url}/admin"), "s").await;
    let ola_ch = webhook(&ola, &format!("{url}/ola"), "s").await;
    let admin_rule = rule(&admin, always(admin_ch)).await;
    let ola_rule = rule(&ola, always(ola_ch)).await;
    let to = |path: &str| got.lock().unwrap().iter().filter(|(p, _, _)| p == path).count();
    eventually(30, "the admin's rule notifies despite the owner's silence", || async {
        (to("/admin") > 0).then_some(())
    })
    .await;
    let firing = alerts(&ola, "state=firing").await;
    let theirs = firing.iter().find(|a| a.rule_id == admin_rule).unwrap();
    let mine = firing.iter().find(|a| a.rule_id == ola_rule).unwrap();
    // The owner sees the admin's alert about their VM, not where it was sent, and cannot stop its repeats.
    assert!(theirs.deliveries.is_empty(), "{theirs:?}");
    let ack = |id: i64| format!("/api/v1/alerts/{id}/acknowledge");
    assert_eq!(ola.call(Method::POST, &ack(theirs.id), None).await.0, 403);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(to("/ola"), 0, "the owner's own rule is silenced");
    // Lifted: the alert that fired in silence is told at the next round.
    silence(&ola, &vm, 0).await;
    eventually(30, "the owner's rule notifies once the silence is lifted", || async {
        (to("/ola") > 0).then_some(())
    })
    .await;
    assert_eq!(ola.call(Method::POST, &ack(mine.id), None).await.0, 200);
}
