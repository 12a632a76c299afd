//! Benchmark: `GET /api/v1/vms` over 1,000 domains (libvirt's test driver) against the naive way — list the
//! domains, then fetch and parse each one's XML — at 50 concurrent clients, in the same run.
//! Run: `bench/run.sh` (or `cargo bench -p server --bench vms_list`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use hangar::config::{Config, Secret};
use std::time::{Duration, Instant};

const DOMAINS: usize = 1000;
const CLIENTS: usize = 50;
const PER_CLIENT: usize = 10;

fn node_xml() -> String {
    let mut s = String::from("<node><cpu><mhz>2000</mhz><model>bench</model><active>4</active></cpu>");
    for i in 0..DOMAINS {
        s.push_str(&format!(
            "<domain type='test'><name>bench-{i:04}</name><uuid>6c3d1a9e-0000-4000-8000-{i:012}</uuid>\
             <memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
        ));
    }
    s.push_str("</node>");
    s
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    let (p50, p99) = (percentile(&d, 0.50), percentile(&d, 0.99));
    println!("{name:<28} n={:<5} p50={:>9.2?} p99={:>9.2?}", d.len(), p50, p99);
    (p50, p99)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = dir.path().join("node.xml");
    std::fs::write(&node, node_xml()).expect("write node xml");
    let uri = format!("test://{}", node.display());
    let cfg = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().join("data"),
        admin_password: Some(Secret("bench-admin-password".into())),
        log: "warn".into(),
        bootstrap_host: uri.clone(),
        ..Default::default()
    };
    let running = hangar::start(cfg).await.expect("start hangar");
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let me: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": "admin", "password": "bench-admin-password" }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    assert!(me["user"]["id"].is_number(), "{me}");
    let list_url = format!("{base}/api/v1/vms?per_page=1000");
    let started = Instant::now();
    loop {
        let page: serde_json::Value = http
            .get(&list_url)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        if page["total"].as_u64() == Some(DOMAINS as u64) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "index never reached {DOMAINS} domains: {}",
            page["total"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "{DOMAINS} domains indexed in {:.2?}; {CLIENTS} clients x {PER_CLIENT} requests each\n",
        started.elapsed()
    );

    let measure = |url: String, min_len: usize| {
        let http = http.clone();
        async move {
            let per_client = futures::future::join_all((0..CLIENTS).map(|_| {
                let (http, url) = (http.clone(), url.clone());
                async move {
                    let mut out = Vec::new();
                    for _ in 0..PER_CLIENT {
                        let t = Instant::now();
                        let body = http.get(&url).send().await.expect("get").bytes().await.expect("body");
                        assert!(body.len() > min_len, "short answer: {}", String::from_utf8_lossy(&body));
                        out.push(t.elapsed());
                    }
                    out
                }
            }))
            .await;
            per_client.into_iter().flatten().collect::<Vec<Duration>>()
        }
    };
    let hangar_all = measure(list_url.clone(), DOMAINS * 50).await;
    // What the UI asks for: the first page of 50, sorted by name, with the total.
    let hangar_page = measure(format!("{base}/api/v1/vms?sort=name"), 50 * 50).await;

    hangar::virt::events::init_event_loop();
    let conn = virt::connect::Connect::open(Some(&uri)).expect("open test driver");
    let naive: Vec<Duration> = futures::future::join_all((0..CLIENTS).map(|_| {
        let conn = conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for _ in 0..PER_CLIENT {
                let t = Instant::now();
                let mut names = Vec::with_capacity(DOMAINS);
                for d in conn.list_all_domains(0).expect("list") {
                    let xml = d.xml_desc(0).expect("xml");
                    let doc = roxmltree::Document::parse(&xml).expect("parse");
                    names.push(
                        doc.root_element()
                            .children()
                            .find(|n| n.has_tag_name("name"))
                            .and_then(|n| n.text())
                            .map(String::from),
                    );
                }
                assert_eq!(names.len(), DOMAINS);
                out.push(t.elapsed());
            }
            out
        })
    }))
    .await
    .into_iter()
    .flat_map(|r| r.expect("join"))
    .collect();

    let (a50, a99) = report("hangar, all 1000 per request", hangar_all);
    let (p50, p99) = report("hangar, page of 50 (the UI)", hangar_page);
    let (n50, n99) = report("naive list + XML per domain", naive);
    let ratio = |n: Duration, h: Duration| n.as_secs_f64() / h.as_secs_f64();
    println!("\nnaive / hangar (above 1 means Hangar is faster):");
    println!("  all 1000:   p50 {:.1}x, p99 {:.1}x", ratio(n50, a50), ratio(n99, a99));
    println!("  page of 50: p50 {:.1}x, p99 {:.1}x", ratio(n50, p50), ratio(n99, p99));
    running.stop().await;
}
