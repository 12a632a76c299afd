//! The check before any request goes out to a webhook or robot: whoever configures a channel must not be able to
//! make Hangar reach into its own network (cloud metadata, loopback services, Hangar itself). The host is resolved
//! once here and the caller connects to exactly these addresses, so DNS cannot answer differently in between.
use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// A resolver that does not answer in this time counts as no answer.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The address in a URL's host when it is an IP literal (`[…]` for IPv6), else `None` for a name.
pub(crate) fn literal_ip(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// Resolves the URL's host and refuses (unless `allow_private`) addresses inside private networks and Hangar's
/// own listen addresses. Returns the addresses to connect to.
pub async fn check_url(url: &str, allow_private: bool, own: &[SocketAddr]) -> Result<Vec<SocketAddr>> {
    let bad = || Error::invalid("config.url", "bad_url");
    let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad());
    }
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    let port = parsed.port_or_known_default().ok_or_else(bad)?;
    let unresolvable = || Error::invalid("config.url", "unresolvable");
    let addrs: Vec<SocketAddr> = match literal_ip(host) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(_)) | Err(_) => return Err(unresolvable()),
        },
    };
    if addrs.is_empty() {
        return Err(unresolvable());
    }
    if !allow_private {
        // Every address must pass: the connector may try any of them.
        for addr in &addrs {
            if is_internal(addr.ip()) {
                return Err(Error::invalid("config.url", "private_address"));
            }
            if is_own(*addr, own) {
                return Err(Error::invalid("config.url", "own_address"));
            }
        }
    }
    Ok(addrs)
}

/// Hangar itself: one of its listen addresses, or a loopback or unspecified address on one of its ports.
fn is_own(addr: SocketAddr, own: &[SocketAddr]) -> bool {
    let ip = addr.ip().to_canonical();
    own.iter()
        .any(|o| o.port() == addr.port() && (o.ip().to_canonical() == ip || ip.is_loopback() || ip.is_unspecified()))
}

/// Whether an address is anything but a public unicast one.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network", incl. 0.0.0.0
        || a == 10
        || a == 127
        || (a == 100 && (b & 0xc0) == 64) // CGNAT 100.64/10
        || (a == 169 && b == 254) // link-local, incl. cloud metadata 169.254.169.254
        || (a == 172 && (b & 0xf0) == 16)
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18/15
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224 // multicast, reserved and broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix: a gateway would connect to the embedded IPv4 address.
        return is_internal_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        // IPv4-translated ::ffff:0:a.b.c.d (SIIT): a translator would connect to the embedded IPv4 address.
        return is_internal_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4: the relay connects to the embedded IPv4 address.
        return is_internal_v4(embedded(s[1], s[2]));
    }
    s[..6] == [0; 6] // unspecified, loopback and the deprecated IPv4-compatible addresses
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // deprecated site-local fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x3fff && (s[1] & 0xf000) == 0) // documentation 3fff::/20
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(r: Result<Vec<SocketAddr>>) -> &'static str {
        match r {
            Err(Error::Invalid { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn refuses_internal_addresses_unless_allowed() {
        for url in [
            "http://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fd00::5]/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://[64:ff9b::a00:1]/",
            "http://0x7f.1/",
            "http://2130706433/",
        ] {
            assert_eq!(refused(check_url(url, false, &[]).await), "private_address", "{url}");
            assert!(check_url(url, true, &[]).await.is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn refuses_hangar_itself_unless_allowed() {
        let own: Vec<SocketAddr> = vec!["93.184.216.34:8080".parse().unwrap(), "0.0.0.0:9090".parse().unwrap()];
        assert_eq!(
            refused(check_url("http://93.184.216.34:8080/api", false, &own).await),
            "own_address"
        );
        // At a loopback address Hangar is refused as any private address is.
        assert_eq!(
            refused(check_url("http://127.0.0.1:9090/", false, &own).await),
            "private_address"
        );
        assert!(is_own("127.0.0.1:9090".parse().unwrap(), &own));
        assert!(!is_own("127.0.0.1:9091".parse().unwrap(), &own));
        assert_eq!(
            refused(check_url("http://[::ffff:93.184.216.34]:8080/", false, &own).await),
            "own_address"
        );
        assert!(check_url("http://93.184.216.34:8080/api", true, &own).await.is_ok());
        assert!(check_url("http://93.184.216.34:8081/api", false, &own).await.is_ok());
    }

    #[tokio::test]
    async fn public_addresses_pass_and_come_back_with_the_port() {
        let addrs = check_url("https://93.184.216.34/hook", false, &[]).await.unwrap();
        assert_eq!(addrs, vec!["93.184.216.34:443".parse::<SocketAddr>().unwrap()]);
        let addrs = check_url("http://[2606:2800:220:1::1]:8000/", false, &[])
            .await
            .unwrap();
        assert_eq!(addrs[0].port(), 8000);
    }

    #[tokio::test]
    async fn bad_and_unresolvable_urls() {
        assert_eq!(refused(check_url("not a url", false, &[]).await), "bad_url");
        assert_eq!(refused(check_url("ftp://93.184.216.34/", false, &[]).await), "bad_url");
        assert_eq!(
            refused(check_url("https://nonexistent.invalid/", false, &[]).await),
            "unresolvable"
        );
    }

    #[test]
    fn classifies_addresses() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.19.0.1",
            "2001:db8::1",
            "::",
            "2002:7f00:1::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        assert_eq!(literal_ip("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal_ip("10.0.0.1"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(literal_ip("example.com"), None);
    }
}
