//! Facts about domains, read through libvirt (these functions block: call them inside `Virt::call`).
use super::xml::{self, MetaOwner};
use virt::connect::Connect;
use virt::domain::{Domain, DomainState};
use virt::sys;

pub fn state_name(s: virt::domain::DomainStateEnum) -> &'static str {
    match s {
        virt::enumutil::Enum::Known(k) => match k {
            DomainState::NoState => "nostate",
            DomainState::Running => "running",
            DomainState::Blocked => "blocked",
            DomainState::Paused => "paused",
            DomainState::Shutdown => "shutdown",
            DomainState::Shutoff => "shutoff",
            DomainState::Crashed => "crashed",
            DomainState::PMSuspended => "pmsuspended",
        },
        virt::enumutil::Enum::Unknown(_) => "nostate",
    }
}

/// What libvirt says about a domain, as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub uuid: String,
    pub name: String,
    pub state: String,
    pub vcpus: i64,
    pub memory_mib: i64,
    /// The owner Hangar's metadata element names: a claim to show admins, never a grant.
    pub claimed_owner: Option<MetaOwner>,
    pub tags: Vec<String>,
    pub ips: Vec<String>,
}

pub fn facts(dom: &Domain) -> Result<Facts, virt::error::Error> {
    let info = dom.info()?;
    let (claimed_owner, tags) = match dom.metadata(sys::VIR_DOMAIN_METADATA_ELEMENT as i32, Some(xml::NS), 0) {
        Ok(m) => xml::parse_metadata(&m),
        Err(_) => (None, Vec::new()),
    };
    let state = state_name(info.state);
    // Addresses are known only for running guests on libvirt networks (their DHCP leases).
    let ips = if state == "running" {
        dom.interface_addresses(sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0)
            .map(|ifs| ifs.into_iter().flat_map(|i| i.addrs).map(|a| a.addr).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Facts {
        uuid: dom.uuid_string()?,
        name: dom.name()?,
        state: state.to_string(),
        vcpus: i64::from(info.nr_virt_cpu),
        // The current allocation (the balloon's target); the maximum is in the XML.
        memory_mib: (info.memory / 1024) as i64,
        claimed_owner,
        tags,
        ips,
    })
}

/// Every domain of the host. A domain that vanishes mid-listing is skipped.
pub fn all(conn: &Connect) -> Result<Vec<Facts>, virt::error::Error> {
    Ok(conn.list_all_domains(0)?.iter().filter_map(|d| facts(d).ok()).collect())
}

pub fn lookup(conn: &Connect, uuid: &str) -> Result<Domain, virt::error::Error> {
    conn.lookup_domain_by_uuid_string(uuid)
}

/// `LIVE|CONFIG` for a running persistent domain, only the one that exists otherwise.
pub fn affect_flags(dom: &Domain) -> Result<u32, virt::error::Error> {
    let mut flags = 0;
    if dom.is_active()? {
        flags |= sys::VIR_DOMAIN_AFFECT_LIVE;
    }
    if dom.is_persistent()? {
        flags |= sys::VIR_DOMAIN_AFFECT_CONFIG;
    }
    Ok(flags)
}

/// Records the owner (for people reading the domain elsewhere; Hangar itself trusts only its database) and tags.
pub fn write_metadata(
    dom: &Domain,
    installation: &str,
    owner: Option<(i64, &str)>,
    tags: &[String],
) -> Result<(), virt::error::Error> {
    let body = xml::metadata_xml(installation, owner, tags).map_err(|_| virt::error::Error::last_error())?;
    dom.set_metadata(
        sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
        Some(&body),
        Some(xml::PREFIX),
        Some(xml::NS),
        affect_flags(dom)?,
    )
}

/// A disk's storage volume: by pool and volume name when the disk names them (`<source pool= volume=>`),
/// else by path.
pub fn volume_of(conn: &Connect, path: &str, pool: Option<&str>) -> Option<virt::storage_vol::StorageVol> {
    match pool {
        Some(pool) => conn
            .lookup_storage_pool_by_name(pool)
            .and_then(|p| p.lookup_storage_vol_by_name(path))
            .ok(),
        None => conn.lookup_storage_vol_by_path(path).ok(),
    }
}

/// Capacity and allocation of a disk's volume, and its pool, when it is a storage volume.
pub fn volume_facts(conn: &Connect, path: &str, pool: Option<&str>) -> (Option<u64>, Option<u64>, Option<String>) {
    let Some(vol) = volume_of(conn, path, pool) else {
        return (None, None, None);
    };
    let info = vol.info().ok();
    let pool = vol.lookup_storage_pool().ok().and_then(|p| p.name().ok());
    (
        info.as_ref().map(|i| i.capacity),
        info.as_ref().map(|i| i.allocation),
        pool,
    )
}

/// Whether a bridge is known not to exist on the host. Hosts whose libvirt has no interface driver cannot say:
/// then the answer is "not known missing", and starting the VM is what finds out.
pub fn bridge_missing(c: &Connect, name: &str) -> bool {
    match c.lookup_interface_by_name(name) {
        Ok(_) => false,
        Err(e) => !matches!(
            e.code(),
            virt::enumutil::Enum::Known(
                virt::error::ErrorNumber::NoSupport | virt::error::ErrorNumber::OperationUnsupported
            )
        ),
    }
}

/// Whether the host offers UEFI firmware (OVMF) to domains of either type.
pub fn has_uefi(c: &Connect) -> bool {
    ["kvm", "qemu"].iter().any(|t| {
        c.domain_capabilities(None, Some("x86_64"), Some("q35"), Some(t), 0)
            .is_ok_and(|x| x.contains("<value>efi</value>"))
    })
}

/// A libvirt network's IPv4 subnet (from `<ip address netmask|prefix>`) and the addresses of its static DHCP
/// host entries.
pub fn network_ipv4(xml: &str) -> (Option<(std::net::Ipv4Addr, u8)>, Vec<String>) {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return (None, Vec::new());
    };
    let ip = doc
        .descendants()
        .filter(|n| n.has_tag_name("ip"))
        .find(|n| n.attribute("family").is_none_or(|f| f == "ipv4"));
    let subnet = ip.and_then(|n| {
        let addr: std::net::Ipv4Addr = n.attribute("address")?.parse().ok()?;
        let prefix = match (n.attribute("prefix"), n.attribute("netmask")) {
            (Some(p), _) => p.parse().ok()?,
            (None, Some(m)) => u32::from(m.parse::<std::net::Ipv4Addr>().ok()?).count_ones() as u8,
            _ => 24,
        };
        Some((addr, prefix))
    });
    // The network's own address is taken too.
    let mut reserved: Vec<String> = subnet.iter().map(|(a, _)| a.to_string()).collect();
    reserved.extend(
        doc.descendants()
            .filter(|n| n.has_tag_name("host"))
            .filter_map(|n| n.attribute("ip").map(String::from)),
    );
    (subnet, reserved)
}
