//! The RFB (VNC) protocol where the console bridge needs it: the handshake with the VM's VNC server (answering a
//! VNC password, so it never reaches the browser), the handshake the browser sees (no authentication: the
//! ticket was its authentication), and the filter that drops input for view-only sessions.
use des::cipher::{BlockEncrypt, KeyInit};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a handshake failed, in words for the log and a stable reason for the browser.
#[derive(Debug, PartialEq, Eq)]
pub struct HandshakeError {
    pub reason: &'static str,
    pub detail: String,
}

fn fail(reason: &'static str, detail: impl Into<String>) -> HandshakeError {
    HandshakeError {
        reason,
        detail: detail.into(),
    }
}

fn io(e: std::io::Error) -> HandshakeError {
    fail("vnc_closed", e.to_string())
}

/// Parses `RFB 003.008\n`; returns the minor version (3, 7 or 8; later ones are treated as 8).
pub fn parse_version(v: &[u8; 12]) -> Option<u32> {
    if &v[..4] != b"RFB " || v[7] != b'.' || v[11] != b'\n' {
        return None;
    }
    let num = |b: &[u8]| std::str::from_utf8(b).ok()?.parse::<u32>().ok();
    let (major, minor) = (num(&v[4..7])?, num(&v[8..11])?);
    match (major, minor) {
        (3, 3) => Some(3),
        (3, 7) => Some(7),
        (3, m) if m >= 8 => Some(8),
        (m, _) if m > 3 => Some(8),
        // Some clients (and UltraVNC's 3.4/3.6) mean 3.3.
        (3, _) => Some(3),
        _ => None,
    }
}

/// The VNC authentication response: the 16-byte challenge encrypted with DES, keyed by the password's first
/// eight bytes (zero-padded) with each byte's bits reversed, as RFB's reference implementation does.
pub fn vnc_auth_response(password: &str, challenge: &[u8; 16]) -> [u8; 16] {
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(password.as_bytes()) {
        *k = b.reverse_bits();
    }
    let cipher = des::Des::new(&key.into());
    let mut out = *challenge;
    for block in out.chunks_exact_mut(8) {
        cipher.encrypt_block(block.into());
    }
    out
}

async fn read_reason<S: AsyncRead + Unpin>(s: &mut S) -> String {
    let Ok(len) = s.read_u32().await else {
        return String::new();
    };
    let mut buf = vec![0u8; len.min(1024) as usize];
    let _ = s.read_exact(&mut buf).await;
    String::from_utf8_lossy(&buf).into_owned()
}

/// Speaks the client side of the handshake with the VM's VNC server, up to (not including) ClientInit.
pub async fn connect_server<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    password: Option<&str>,
) -> Result<(), HandshakeError> {
    let mut v = [0u8; 12];
    s.read_exact(&mut v).await.map_err(io)?;
    let minor = parse_version(&v).ok_or_else(|| fail("not_vnc", String::from_utf8_lossy(&v).into_owned()))?;
    let reply: &[u8; 12] = match minor {
        3 => b"RFB 003.003\n",
        7 => b"RFB 003.007\n",
        _ => b"RFB 003.008\n",
    };
    s.write_all(reply).await.map_err(io)?;
    let chosen = if minor == 3 {
        match s.read_u32().await.map_err(io)? {
            0 => return Err(fail("vnc_refused", read_reason(s).await)),
            t => t as u8,
        }
    } else {
        let n = s.read_u8().await.map_err(io)?;
        if n == 0 {
            return Err(fail("vnc_refused", read_reason(s).await));
        }
        let mut types = vec![0u8; n as usize];
        s.read_exact(&mut types).await.map_err(io)?;
        let t = if types.contains(&1) && password.is_none() {
            1
        } else if types.contains(&2) {
            2
        } else if types.contains(&1) {
            1
        } else {
            return Err(fail("vnc_auth_unsupported", format!("security types {types:?}")));
        };
        s.write_u8(t).await.map_err(io)?;
        t
    };
    match chosen {
        1 => {}
        2 => {
            let Some(pw) = password else {
                return Err(fail(
                    "vnc_password_unknown",
                    "the VNC server asks for a password the domain does not say",
                ));
            };
            let mut challenge = [0u8; 16];
            s.read_exact(&mut challenge).await.map_err(io)?;
            s.write_all(&vnc_auth_response(pw, &challenge)).await.map_err(io)?;
        }
        t => return Err(fail("vnc_auth_unsupported", format!("security type {t}"))),
    }
    // 3.8 always sends a result; 3.3 and 3.7 only after authentication.
    if (minor == 8 || chosen == 2) && s.read_u32().await.map_err(io)? != 0 {
        let why = if minor == 8 {
            read_reason(s).await
        } else {
            String::new()
        };
        return Err(fail("vnc_password_refused", why));
    }
    Ok(())
}

/// Whole messages to and from the browser (WebSocket binary messages).
pub trait Messages {
    /// The next message's bytes; `None` once the browser is gone.
    fn recv(&mut self) -> impl std::future::Future<Output = Option<Vec<u8>>> + Send;
    /// False once the browser is gone.
    fn send(&mut self, data: Vec<u8>) -> impl std::future::Future<Output = bool> + Send;
}

/// The server side of the handshake as the browser sees it: version, then "no authentication" (the ticket was
/// the authentication). Returns bytes the browser sent after its part of the handshake (normally ClientInit).
pub async fn accept_client<M: Messages>(m: &mut M) -> Result<Vec<u8>, HandshakeError> {
    let closed = || fail("browser_closed", "the browser left during the handshake");
    let mut buf: Vec<u8> = Vec::new();
    async fn need<M: Messages>(m: &mut M, buf: &mut Vec<u8>, n: usize) -> Result<(), HandshakeError> {
        while buf.len() < n {
            match m.recv().await {
                Some(b) => buf.extend_from_slice(&b),
                None => return Err(fail("browser_closed", "the browser left during the handshake")),
            }
            if buf.len() > 64 {
                return Err(fail("bad_handshake", "too many bytes during the handshake"));
            }
        }
        Ok(())
    }
    if !m.send(b"RFB 003.008\n".to_vec()).await {
        return Err(closed());
    }
    need(m, &mut buf, 12).await?;
    let v: [u8; 12] = buf[..12].try_into().map_err(|_| closed())?;
    buf.drain(..12);
    let minor = parse_version(&v).ok_or_else(|| fail("bad_handshake", "not an RFB client"))?;
    if minor == 3 {
        if !m.send(1u32.to_be_bytes().to_vec()).await {
            return Err(closed());
        }
        return Ok(buf);
    }
    if !m.send(vec![1, 1]).await {
        return Err(closed());
    }
    need(m, &mut buf, 1).await?;
    if buf.remove(0) != 1 {
        return Err(fail(
            "bad_handshake",
            "the client chose a security type that was not offered",
        ));
    }
    if minor == 8 && !m.send(0u32.to_be_bytes().to_vec()).await {
        return Err(closed());
    }
    Ok(buf)
}

/// Client-to-server messages of a view-only session: screen requests pass, input is dropped.
#[derive(Default)]
pub struct ViewOnly {
    pending: Vec<u8>,
    init_seen: bool,
}

/// How long the client message at the start of `b` is, once enough of it is there to tell; `Err` for a type
/// the filter does not know (the session ends rather than pass something unknown).
fn message_len(b: &[u8]) -> Result<Option<usize>, u8> {
    let need = |n: usize| if b.len() >= n { Some(n) } else { None };
    let u16_at = |i: usize| b.get(i..i + 2).map(|x| u16::from_be_bytes([x[0], x[1]]) as usize);
    let u32_at = |i: usize| b.get(i..i + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
    Ok(match b[0] {
        0 => Some(20),
        2 => u16_at(2).map(|n| 4 + 4 * n),
        3 => Some(10),
        4 => Some(8),
        5 => Some(6),
        // ClientCutText; a negative length is the extended clipboard's (its size is the absolute value).
        6 => u32_at(4).map(|n| 8 + (n as i32).unsigned_abs() as usize),
        150 => Some(10),
        248 => b.get(8).map(|n| 9 + *n as usize),
        251 => b.get(6).map(|n| 8 + 16 * *n as usize),
        255 => match b.get(1) {
            None => None,
            Some(0) => Some(12),
            Some(1) => match u16_at(2) {
                None => None,
                Some(2) => Some(10),
                Some(_) => Some(4),
            },
            Some(_) => return Err(255),
        },
        t => return Err(t),
    }
    .and_then(need))
}

impl ViewOnly {
    /// Takes bytes from the browser, returns what may go to the VM. Keys, pointer, clipboard, desktop resizes
    /// and QEMU's extended keys are dropped.
    pub fn filter(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        self.pending.extend_from_slice(data);
        let mut out = Vec::new();
        if !self.init_seen {
            if self.pending.is_empty() {
                return Ok(out);
            }
            // ClientInit: ask for a shared session, so watching never disconnects anyone.
            self.pending.remove(0);
            out.push(1);
            self.init_seen = true;
        }
        let mut at = 0;
        while at < self.pending.len() {
            let len = match message_len(&self.pending[at..]) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(t) => return Err(format!("unknown RFB client message {t}")),
            };
            if at + len > self.pending.len() {
                break;
            }
            let msg = &self.pending[at..at + len];
            if matches!(msg[0], 0 | 2 | 3 | 150 | 248) {
                out.extend_from_slice(msg);
            }
            at += len;
        }
        self.pending.drain(..at);
        if self.pending.len() > 1 << 20 {
            return Err("an RFB client message over 1 MiB".into());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version(b"RFB 003.008\n"), Some(8));
        assert_eq!(parse_version(b"RFB 003.007\n"), Some(7));
        assert_eq!(parse_version(b"RFB 003.003\n"), Some(3));
        assert_eq!(parse_version(b"RFB 003.889\n"), Some(8));
        assert_eq!(parse_version(b"HTTP/1.1 200"), None);
    }

    #[test]
    fn vnc_auth_matches_the_reference() {
        // QEMU's VNC server checks it for real in the console tests (VMs on the second host have passwords).
        let r = vnc_auth_response("password", &[0u8; 16]);
        assert_eq!(&r[..8], &r[8..], "each block is encrypted alone (ECB)");
        assert_ne!(r, [0u8; 16]);
        // Only the first eight characters count, as in every VNC server.
        assert_eq!(
            vnc_auth_response("password-and-more", &[7u8; 16]),
            vnc_auth_response("password", &[7u8; 16])
        );
        assert_ne!(
            vnc_auth_response("passwore", &[7u8; 16]),
            vnc_auth_response("password", &[7u8; 16])
        );
    }

    #[test]
    fn view_only_drops_input_and_keeps_requests() {
        let mut f = ViewOnly::default();
        let mut input = vec![0u8]; // ClientInit, exclusive
        input.extend([3, 0, 0, 0, 0, 0, 4, 0, 3, 0]); // update request
        input.extend([4, 1, 0, 0, 0, 0, 0, 0x61]); // key 'a'
        input.extend([5, 1, 0, 10, 0, 10]); // pointer click
        input.extend([6, 0, 0, 0, 0, 0, 0, 3, b'a', b'b', b'c']); // clipboard
        input.extend([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30]); // QEMU extended key
        input.extend([2, 0, 0, 1, 0, 0, 0, 7]); // set encodings (1)
        let out = f.filter(&input).unwrap();
        let mut want = vec![1u8];
        want.extend([3, 0, 0, 0, 0, 0, 4, 0, 3, 0]);
        want.extend([2, 0, 0, 1, 0, 0, 0, 7]);
        assert_eq!(out, want);
    }

    #[test]
    fn view_only_waits_for_whole_messages_and_refuses_unknown_ones() {
        let mut f = ViewOnly::default();
        assert_eq!(f.filter(&[1, 3, 0, 0]).unwrap(), vec![1]);
        assert_eq!(f.filter(&[0, 0, 0, 4, 0, 3]).unwrap(), Vec::<u8>::new());
        assert_eq!(f.filter(&[0]).unwrap(), vec![3, 0, 0, 0, 0, 0, 4, 0, 3, 0]);
        assert!(f.filter(&[77, 1, 2, 3]).is_err());
    }

    struct Script {
        incoming: Vec<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl Messages for Script {
        async fn recv(&mut self) -> Option<Vec<u8>> {
            (!self.incoming.is_empty()).then(|| self.incoming.remove(0))
        }
        async fn send(&mut self, data: Vec<u8>) -> bool {
            self.sent.push(data);
            true
        }
    }

    #[tokio::test]
    async fn browser_handshake_offers_no_authentication() {
        let mut m = Script {
            incoming: vec![b"RFB 003.008\n".to_vec(), vec![1, 1]],
            sent: vec![],
        };
        let rest = accept_client(&mut m).await.unwrap();
        assert_eq!(rest, vec![1], "ClientInit is passed on");
        assert_eq!(m.sent, vec![b"RFB 003.008\n".to_vec(), vec![1, 1], vec![0, 0, 0, 0]]);
        let mut m = Script {
            incoming: vec![b"RFB 003.008\n".to_vec(), vec![2]],
            sent: vec![],
        };
        assert_eq!(accept_client(&mut m).await.unwrap_err().reason, "bad_handshake");
        let mut m = Script {
            incoming: vec![b"GET / HTTP/1.1\r\n".to_vec()],
            sent: vec![],
        };
        assert_eq!(accept_client(&mut m).await.unwrap_err().reason, "bad_handshake");
    }

    #[tokio::test]
    async fn server_handshake_answers_the_password() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let server = tokio::spawn(async move {
            b.write_all(b"RFB 003.008\n").await.unwrap();
            let mut v = [0u8; 12];
            b.read_exact(&mut v).await.unwrap();
            assert_eq!(&v, b"RFB 003.008\n");
            b.write_all(&[1, 2]).await.unwrap();
            assert_eq!(b.read_u8().await.unwrap(), 2);
            let challenge = [9u8; 16];
            b.write_all(&challenge).await.unwrap();
            let mut resp = [0u8; 16];
            b.read_exact(&mut resp).await.unwrap();
            let ok = resp == vnc_auth_response("s3cret", &challenge);
            b.write_u32(if ok { 0 } else { 1 }).await.unwrap();
            if !ok {
                b.write_u32(5).await.unwrap();
                b.write_all(b"nope!").await.unwrap();
            }
        });
        connect_server(&mut a, Some("s3cret")).await.unwrap();
        server.await.unwrap();

        let (mut a, mut b) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            b.write_all(b"RFB 003.008\n").await.unwrap();
            let mut v = [0u8; 12];
            b.read_exact(&mut v).await.unwrap();
            b.write_all(&[1, 2]).await.unwrap();
            let _ = b.read_u8().await;
            b.write_all(&[0u8; 16]).await.unwrap();
            let mut resp = [0u8; 16];
            b.read_exact(&mut resp).await.unwrap();
            b.write_u32(1).await.unwrap();
            b.write_u32(5).await.unwrap();
            b.write_all(b"nope!").await.unwrap();
        });
        let e = connect_server(&mut a, Some("wrong")).await.unwrap_err();
        assert_eq!(e.reason, "vnc_password_refused");
        assert_eq!(e.detail, "nope!");
    }
}
