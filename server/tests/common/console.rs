//! A console client for tests: tickets, the WebSocket bridge, the RFB handshake as noVNC does it, and reading
//! serial output.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::Client;
use app::api::ConsoleTicket;
use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A VNC server on 127.0.0.1 with an automatic port, and (on other hosts) listening everywhere with a password.
pub const VNC_LOCAL: &str =
    "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/><video><model type='vga'/></video>";
pub const VNC_REMOTE: &str =
    "<graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0' passwd='h2-s3cr'/><video><model type='vga'/></video>";

pub async fn ticket(c: &Client, vm: &str, kind: &str) -> ConsoleTicket {
    let (s, t) = c
        .send_as::<_, ConsoleTicket>(
            Method::POST,
            &format!("/api/v1/vms/{vm}/console"),
            &json!({ "kind": kind }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t:?}");
    t.unwrap()
}

/// Opens the WebSocket; `Err(status)` when the upgrade is refused.
pub async fn open(base: &str, url: &str, origin: Option<&str>, cookie: Option<&str>) -> Result<Ws, u16> {
    let ws_url = format!("{}{url}", base.replacen("http", "ws", 1));
    let mut req = ws_url.into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse().unwrap());
    }
    let connected = tokio::time::timeout(Duration::from_secs(30), tokio_tungstenite::connect_async(req)).await;
    match connected.expect("the WebSocket upgrade answers") {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("websocket: {e}"),
    }
}

/// Bytes from the bridge until at least `n` are there (binary frames), or the close reason.
pub struct Reader {
    pub buf: Vec<u8>,
}

impl Reader {
    pub fn new() -> Reader {
        Reader { buf: Vec::new() }
    }

    pub async fn need(&mut self, ws: &mut Ws, n: usize) -> Result<(), String> {
        while self.buf.len() < n {
            match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                Ok(Some(Ok(Message::Binary(b)))) => self.buf.extend_from_slice(&b),
                Ok(Some(Ok(Message::Close(f)))) => return Err(f.map(|f| f.reason.to_string()).unwrap_or_default()),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(e.to_string()),
                Ok(None) => return Err("ended".into()),
                Err(_) => return Err("timed out".into()),
            }
        }
        Ok(())
    }

    pub fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n).collect()
    }
}

/// The client's side of RFB 3.8 as noVNC speaks it, up to ServerInit: returns the screen's width and height.
pub async fn rfb_handshake(ws: &mut Ws, r: &mut Reader) -> (u16, u16) {
    r.need(ws, 12).await.unwrap();
    assert_eq!(r.take(12), b"RFB 003.008\n");
    ws.send(Message::binary(b"RFB 003.008\n".to_vec())).await.unwrap();
    r.need(ws, 2).await.unwrap();
    assert_eq!(r.take(2), vec![1, 1], "one security type: none");
    ws.send(Message::binary(vec![1u8])).await.unwrap();
    r.need(ws, 4).await.unwrap();
    assert_eq!(r.take(4), vec![0, 0, 0, 0], "security result OK");
    ws.send(Message::binary(vec![1u8])).await.unwrap(); // ClientInit, shared
    r.need(ws, 24).await.unwrap();
    let head = r.take(24);
    let (w, h) = (
        u16::from_be_bytes([head[0], head[1]]),
        u16::from_be_bytes([head[2], head[3]]),
    );
    let name_len = u32::from_be_bytes([head[20], head[21], head[22], head[23]]) as usize;
    r.need(ws, name_len).await.unwrap();
    r.take(name_len);
    (w, h)
}

/// Asks for the whole screen in raw encoding and waits for the FramebufferUpdate's header.
pub async fn framebuffer_update(ws: &mut Ws, r: &mut Reader, w: u16, h: u16) -> u16 {
    // SetEncodings: raw only.
    ws.send(Message::binary(vec![2, 0, 0, 1, 0, 0, 0, 0])).await.unwrap();
    let mut req = vec![3, 0, 0, 0, 0, 0];
    req.extend(w.to_be_bytes());
    req.extend(h.to_be_bytes());
    ws.send(Message::binary(req)).await.unwrap();
    r.need(ws, 4).await.unwrap();
    let head = r.take(4);
    assert_eq!(head[0], 0, "a FramebufferUpdate");
    u16::from_be_bytes([head[2], head[3]])
}

/// Serial output until it contains `marker` (returns everything read), or the close reason.
pub async fn read_until(ws: &mut Ws, marker: &str, secs: u64) -> Result<String, String> {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !text.contains(marker) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => text.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(Message::Close(f)))) => return Err(f.map(|f| f.reason.to_string()).unwrap_or_default()),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) => return Err(format!("ended; read {text:?}")),
            Err(_) => return Err(format!("timed out; read {text:?}")),
        }
    }
    Ok(text)
}

/// Waits for the close frame and returns its code and reason.
pub async fn closed(ws: &mut Ws) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the bridge closes")
        {
            Some(Ok(Message::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return (1006, e.to_string()),
        }
    }
}
