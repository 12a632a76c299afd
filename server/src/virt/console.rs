//! libvirt's side of consoles: where a VM's VNC server is (and its password), a socket libvirt hands over for
//! the local daemon, the serial console stream, and screenshots. Blocking calls: run them through `Virt::call`
//! or on a thread of their own.
use std::os::fd::FromRawFd;
use virt::connect::Connect;
use virt::domain::Domain;
use virt::stream::Stream;
use virt::sys;

/// A running VM's VNC server as its live XML describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VncFacts {
    /// `None` when the domain has no VNC graphics.
    pub port: Option<u16>,
    /// The address it listens on (`127.0.0.1`, `0.0.0.0`, a host address), when it listens on TCP.
    pub listen: Option<String>,
    pub password: Option<String>,
}

/// Whether the domain has a serial console, and the file its output is also logged to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SerialFacts {
    pub present: bool,
    pub log: Option<String>,
}

/// `running`, `paused`, `off` and so on, with the devices the consoles need.
pub struct ConsoleFacts {
    pub state: &'static str,
    pub vnc: Option<VncFacts>,
    pub serial: SerialFacts,
}

/// Reads the live XML with secrets (the VNC password stays on the server).
pub fn facts(c: &Connect, uuid: &str) -> Result<ConsoleFacts, virt::error::Error> {
    let dom = super::domain::lookup(c, uuid)?;
    let state = super::domain::state_name(dom.info()?.state);
    let xml = dom.xml_desc(sys::VIR_DOMAIN_XML_SECURE)?;
    let (vnc, serial) = parse(&xml);
    Ok(ConsoleFacts { state, vnc, serial })
}

/// The VNC and serial devices of a domain XML.
pub fn parse(xml: &str) -> (Option<VncFacts>, SerialFacts) {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return (None, SerialFacts::default());
    };
    let devices = doc.descendants().find(|n| n.has_tag_name("devices"));
    let mut vnc = None;
    let mut serial = SerialFacts::default();
    for n in devices.iter().flat_map(|d| d.children()).filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "graphics" if n.attribute("type") == Some("vnc") && vnc.is_none() => {
                let listen = n
                    .children()
                    .find(|l| l.has_tag_name("listen") && l.attribute("type") == Some("address"))
                    .and_then(|l| l.attribute("address"))
                    .or_else(|| n.attribute("listen"))
                    .map(String::from);
                vnc = Some(VncFacts {
                    port: n
                        .attribute("port")
                        .and_then(|p| p.parse::<i32>().ok())
                        .and_then(|p| u16::try_from(p).ok()),
                    listen,
                    password: n.attribute("passwd").filter(|p| !p.is_empty()).map(String::from),
                });
            }
            "serial" | "console" if !serial.present => {
                serial.present = true;
                serial.log = n
                    .children()
                    .find(|l| l.has_tag_name("log"))
                    .and_then(|l| l.attribute("file"))
                    .map(String::from);
            }
            _ => {}
        }
    }
    (vnc, serial)
}

/// A socket connected to the VM's VNC server, handed over by the local daemon (no TCP port involved). Works only
/// over libvirt's UNIX socket, so only for local hosts.
pub fn open_vnc_socket(c: &Connect, uuid: &str) -> Result<std::os::unix::net::UnixStream, virt::error::Error> {
    let dom = super::domain::lookup(c, uuid)?;
    // SKIPAUTH: the caller was authorized by Hangar; the password in the domain is for network clients.
    let fd = dom.open_graphics_fd(0, sys::VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH)?;
    // SAFETY: libvirt returned a new descriptor that nothing else owns; the stream takes it over.
    let s = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd as i32) };
    Ok(s)
}

/// The serial console as a blocking stream. libvirt allows one per port: with `force` a newer session takes the
/// console over from an older one, as `virsh console --force` does; without, it fails while one is open.
pub fn open_serial(c: &Connect, uuid: &str, force: bool) -> Result<Stream, virt::error::Error> {
    let dom: Domain = super::domain::lookup(c, uuid)?;
    let stream = Stream::new(c, 0)?;
    let flags = if force { sys::VIR_DOMAIN_CONSOLE_FORCE } else { 0 };
    dom.open_console(None, &stream, flags)?;
    Ok(stream)
}

/// The screen as an image: its MIME type and bytes (QEMU and libvirt here answer PNG); `None` past `max` bytes.
pub fn screenshot(c: &Connect, uuid: &str, max: usize) -> Result<Option<(String, Vec<u8>)>, virt::error::Error> {
    let dom = super::domain::lookup(c, uuid)?;
    let stream = Stream::new(c, 0)?;
    let mime = dom.screenshot(&stream, 0, 0)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = stream.recv(&mut buf)?;
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
        if out.len() > max {
            let _ = stream.abort();
            return Ok(None);
        }
    }
    let _ = stream.finish();
    Ok(Some((mime, out)))
}

/// Whether a libvirt URI names the daemon on this machine (reached through its UNIX socket).
pub fn is_local(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    let transport = scheme.split_once('+').map(|(_, t)| t);
    let authority = rest.split('/').next().unwrap_or("");
    authority.is_empty() && matches!(transport, None | Some("unix"))
}

/// For `qemu+ssh://[user@]host[:port]/…`: the SSH destination and port; `None` for other transports.
pub fn ssh_target(uri: &str) -> Option<(String, Option<u16>)> {
    let (scheme, rest) = uri.split_once("://")?;
    if !scheme.ends_with("+ssh") && !scheme.ends_with("+libssh") && !scheme.ends_with("+libssh2") {
        return None;
    }
    let authority = rest.split('/').next()?;
    let (dest, port) = match authority.rsplit_once(':') {
        Some((d, p)) if !d.ends_with(']') || authority.starts_with('[') => (d, p.parse().ok()),
        _ => (authority, None),
    };
    (!dest.is_empty()).then(|| (dest.to_string(), port))
}

/// The host part of a remote URI (without user and port).
pub fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vnc_and_serial() {
        let xml = "<domain><devices>
            <serial type='pty'><log file='/var/log/x.log' append='on'/><target port='0'/></serial>
            <graphics type='vnc' port='5901' autoport='yes' listen='0.0.0.0' passwd='abc'>
              <listen type='address' address='0.0.0.0'/></graphics></devices></domain>";
        let (vnc, serial) = parse(xml);
        assert_eq!(
            vnc,
            Some(VncFacts {
                port: Some(5901),
                listen: Some("0.0.0.0".into()),
                password: Some("abc".into())
            })
        );
        assert_eq!(
            serial,
            SerialFacts {
                present: true,
                log: Some("/var/log/x.log".into())
            }
        );
        let (vnc, serial) = parse("<domain><devices><graphics type='spice' port='5900'/></devices></domain>");
        assert_eq!(vnc, None);
        assert!(!serial.present);
        // Not started: port -1.
        let (vnc, _) = parse("<domain><devices><graphics type='vnc' port='-1'/></devices></domain>");
        assert_eq!(vnc.and_then(|v| v.port), None);
    }

    #[test]
    fn uris() {
        assert!(is_local("qemu:///system"));
        assert!(is_local("qemu+unix:///system"));
        assert!(!is_local("qemu+tcp://10.250.0.2/system"));
        assert!(!is_local("qemu+tcp:///system"));
        assert!(!is_local("qemu+ssh://root@kvm1/system"));
        assert_eq!(
            ssh_target("qemu+ssh://root@kvm1:2222/system"),
            Some(("root@kvm1".into(), Some(2222)))
        );
        assert_eq!(ssh_target("qemu+ssh://kvm1/system"), Some(("kvm1".into(), None)));
        assert_eq!(ssh_target("qemu+tcp://kvm1/system"), None);
        assert_eq!(uri_host("qemu+tcp://10.250.0.2/system").as_deref(), Some("10.250.0.2"));
        assert_eq!(uri_host("qemu+ssh://root@kvm1:22/system").as_deref(), Some("kvm1"));
        assert_eq!(
            uri_host("qemu+tls://[fd00::1]:16514/system").as_deref(),
            Some("fd00::1")
        );
        assert_eq!(uri_host("qemu:///system"), None);
    }
}
