//! Where a new VM goes: each host's facts in, the chosen host and why each other one was skipped out (pure).
use app::api::SkippedHost;

/// What placement needs to know about one host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostFacts {
    pub host_id: i64,
    pub host_name: String,
    pub online: bool,
    pub maintenance: bool,
    pub free_memory_mib: i64,
    pub name_taken: bool,
    pub network_missing: bool,
    /// UEFI was asked for and the host has no UEFI firmware (OVMF).
    pub uefi_missing: bool,
    /// The source's bytes are on this host already.
    pub has_source: bool,
    /// The source can be brought here (copied from another online host).
    pub can_copy_source: bool,
}

/// The first reason a host cannot take the VM, if any.
pub fn reason(h: &HostFacts, memory_mib: i64) -> Option<&'static str> {
    if !h.online {
        Some("offline")
    } else if h.maintenance {
        Some("maintenance")
    } else if !h.has_source && !h.can_copy_source {
        Some("no_source")
    } else if h.name_taken {
        Some("name_taken")
    } else if h.network_missing {
        Some("network_missing")
    } else if h.uefi_missing {
        Some("no_uefi")
    } else if h.free_memory_mib < memory_mib {
        Some("not_enough_memory")
    } else {
        None
    }
}

/// The host for the VM (one that holds the source before one that needs a copy, then the most free memory),
/// and every skipped host with its reason.
pub fn choose(hosts: &[HostFacts], memory_mib: i64) -> (Option<&HostFacts>, Vec<SkippedHost>) {
    let mut skipped = Vec::new();
    let mut best: Option<&HostFacts> = None;
    for h in hosts {
        match reason(h, memory_mib) {
            Some(r) => skipped.push(SkippedHost {
                host_id: h.host_id,
                host_name: h.host_name.clone(),
                reason: r.into(),
            }),
            None => {
                let better = best.is_none_or(|b| {
                    (h.has_source, h.free_memory_mib, -h.host_id) > (b.has_source, b.free_memory_mib, -b.host_id)
                });
                if better {
                    best = Some(h);
                }
            }
        }
    }
    (best, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(id: i64, free: i64, has: bool) -> HostFacts {
        HostFacts {
            host_id: id,
            host_name: format!("h{id}"),
            online: true,
            free_memory_mib: free,
            has_source: has,
            can_copy_source: true,
            ..Default::default()
        }
    }

    #[test]
    fn prefers_the_source_then_memory_and_says_why_others_were_skipped() {
        let mut off = host(4, 99999, true);
        off.online = false;
        let mut taken = host(5, 99999, true);
        taken.name_taken = true;
        let hosts = [
            host(1, 4000, false),
            host(2, 1000, true),
            host(3, 100, true),
            off,
            taken,
        ];
        let (chosen, skipped) = choose(&hosts, 512);
        assert_eq!(chosen.map(|h| h.host_id), Some(2));
        let reasons: Vec<_> = skipped.iter().map(|s| (s.host_id, s.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![(3, "not_enough_memory"), (4, "offline"), (5, "name_taken")]
        );
    }

    #[test]
    fn no_host_when_none_fits() {
        let mut h = host(1, 100, false);
        h.can_copy_source = false;
        let hosts = [h];
        let (chosen, skipped) = choose(&hosts, 50);
        assert!(chosen.is_none());
        assert_eq!(skipped[0].reason, "no_source");
    }
}
