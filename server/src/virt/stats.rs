//! One collection's raw figures from a host: every domain's counters in one bulk call
//! (`virConnectGetAllDomainStats`, whose records are freed here: the crate's wrapper leaks them), the node's CPU
//! and memory counters and its pools' fill. Blocking: call through `Virt::call`.
use std::ffi::CStr;
use std::os::raw::c_int;
use virt::connect::Connect;
use virt::sys;

type VResult<T> = std::result::Result<T, virt::error::Error>;

/// A disk's cumulative counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockCounters {
    pub name: String,
    pub rd_bytes: u64,
    pub wr_bytes: u64,
    pub rd_reqs: u64,
    pub wr_reqs: u64,
}

/// A NIC's cumulative counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetCounters {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_pkts: u64,
    pub tx_pkts: u64,
}

/// A domain's counters at one moment (cumulative ones turn into rates between two collections).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainCounters {
    pub uuid: String,
    /// `VIR_DOMAIN_*` state and its reason.
    pub state: i64,
    pub reason: i64,
    /// CPU time used since the domain started, nanoseconds.
    pub cpu_ns: u64,
    pub vcpus: u64,
    /// KiB: the balloon's size (what the guest has) and, with a balloon driver, what the guest leaves unused.
    pub balloon_current_kib: u64,
    pub balloon_maximum_kib: u64,
    pub balloon_usable_kib: Option<u64>,
    pub balloon_available_kib: Option<u64>,
    pub blocks: Vec<BlockCounters>,
    pub nets: Vec<NetCounters>,
}

impl DomainCounters {
    pub fn running(&self) -> bool {
        self.state == sys::VIR_DOMAIN_RUNNING as i64 || self.state == sys::VIR_DOMAIN_PAUSED as i64
    }

    /// Crashed, or shut off because it crashed or failed to run (not because someone asked).
    pub fn crashed(&self) -> bool {
        self.state == sys::VIR_DOMAIN_CRASHED as i64
            || (self.state == sys::VIR_DOMAIN_SHUTOFF as i64
                && (self.reason == sys::VIR_DOMAIN_SHUTOFF_CRASHED as i64
                    || self.reason == sys::VIR_DOMAIN_SHUTOFF_FAILED as i64))
    }
}

/// A typed parameter's value as an integer (doubles truncated), or none for strings and booleans.
fn param_value(p: &sys::virTypedParameter) -> Option<(String, Option<u64>, Option<String>)> {
    // SAFETY: `field` is a NUL-terminated array of VIR_TYPED_PARAM_FIELD_LENGTH chars filled by libvirt.
    let name = unsafe { CStr::from_ptr(p.field.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: the union member read is the one `type_` names.
    let (num, text) = unsafe {
        match p.type_ as u32 {
            sys::VIR_TYPED_PARAM_INT => (Some(p.value.i.max(0) as u64), None),
            sys::VIR_TYPED_PARAM_UINT => (Some(p.value.ui as u64), None),
            sys::VIR_TYPED_PARAM_LLONG => (Some(p.value.l.max(0) as u64), None),
            sys::VIR_TYPED_PARAM_ULLONG => (Some(p.value.ul), None),
            sys::VIR_TYPED_PARAM_DOUBLE => (Some(p.value.d.max(0.0) as u64), None),
            sys::VIR_TYPED_PARAM_STRING if !p.value.s.is_null() => {
                (None, Some(CStr::from_ptr(p.value.s).to_string_lossy().into_owned()))
            }
            _ => (None, None),
        }
    };
    Some((name, num, text))
}

/// Applies one `name = value` of a record to the counters.
fn apply(d: &mut DomainCounters, name: &str, num: Option<u64>, text: Option<String>) {
    let n = num.unwrap_or(0);
    match name {
        "state.state" => d.state = n as i64,
        "state.reason" => d.reason = n as i64,
        "cpu.time" => d.cpu_ns = n,
        "vcpu.current" => d.vcpus = n,
        "balloon.current" => d.balloon_current_kib = n,
        "balloon.maximum" => d.balloon_maximum_kib = n,
        "balloon.usable" => d.balloon_usable_kib = num,
        "balloon.available" => d.balloon_available_kib = num,
        _ => {
            // `block.<i>.<field>` and `net.<i>.<field>`.
            let mut parts = name.splitn(3, '.');
            let (Some(kind), Some(idx), Some(field)) = (parts.next(), parts.next(), parts.next()) else {
                return;
            };
            let Ok(i) = idx.parse::<usize>() else { return };
            if i > 256 {
                return;
            }
            match kind {
                "block" => {
                    if d.blocks.len() <= i {
                        d.blocks.resize(i + 1, BlockCounters::default());
                    }
                    let b = &mut d.blocks[i];
                    match field {
                        "name" => b.name = text.unwrap_or_default(),
                        "rd.bytes" => b.rd_bytes = n,
                        "wr.bytes" => b.wr_bytes = n,
                        "rd.reqs" => b.rd_reqs = n,
                        "wr.reqs" => b.wr_reqs = n,
                        _ => {}
                    }
                }
                "net" => {
                    if d.nets.len() <= i {
                        d.nets.resize(i + 1, NetCounters::default());
                    }
                    let v = &mut d.nets[i];
                    match field {
                        "name" => v.name = text.unwrap_or_default(),
                        "rx.bytes" => v.rx_bytes = n,
                        "tx.bytes" => v.tx_bytes = n,
                        "rx.pkts" => v.rx_pkts = n,
                        "tx.pkts" => v.tx_pkts = n,
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
}

/// Every domain's counters, in one call to the daemon.
pub fn all_domains(c: &Connect) -> VResult<Vec<DomainCounters>> {
    let stats = sys::VIR_DOMAIN_STATS_STATE
        | sys::VIR_DOMAIN_STATS_CPU_TOTAL
        | sys::VIR_DOMAIN_STATS_BALLOON
        | sys::VIR_DOMAIN_STATS_VCPU
        | sys::VIR_DOMAIN_STATS_INTERFACE
        | sys::VIR_DOMAIN_STATS_BLOCK;
    let mut records: *mut sys::virDomainStatsRecordPtr = std::ptr::null_mut();
    // SAFETY: `c` is a live connection; libvirt allocates the NULL-terminated record list into `records`.
    // NOWAIT: a domain busy with a long job answers what it can at once instead of holding up every other.
    let flags = sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
    let n = unsafe { sys::virConnectGetAllDomainStats(c.as_ptr(), stats, &mut records, flags) };
    if n < 0 {
        return Err(virt::error::Error::last_error());
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: the list holds `n` valid record pointers.
        let rec = unsafe { &**records.add(i) };
        let mut d = DomainCounters::default();
        let mut buf = [0 as std::os::raw::c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
        // SAFETY: `rec.dom` is valid while the list is; `buf` has the documented size.
        if unsafe { sys::virDomainGetUUIDString(rec.dom, buf.as_mut_ptr()) } != 0 {
            continue;
        }
        // SAFETY: libvirt wrote a NUL-terminated string.
        d.uuid = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
        for j in 0..rec.nparams.max(0) as usize {
            // SAFETY: `params` holds `nparams` entries.
            let p = unsafe { &*rec.params.add(j) };
            if let Some((name, num, text)) = param_value(p) {
                apply(&mut d, &name, num, text);
            }
        }
        out.push(d);
    }
    // SAFETY: frees the list, its records and their domain references, exactly once.
    unsafe { sys::virDomainStatsRecordListFree(records) };
    Ok(out)
}

/// The node's cumulative CPU times (nanoseconds, all CPUs) and its memory (KiB).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeCounters {
    /// kernel + user + iowait + idle… (all times); `busy` leaves out idle and iowait.
    pub cpu_total_ns: u64,
    pub cpu_busy_ns: u64,
    pub memory_total_kib: u64,
    /// Free + buffers + cached: what the host could still give.
    pub memory_free_kib: u64,
}

fn field_name(f: &[std::os::raw::c_char; 80]) -> String {
    // SAFETY: libvirt fills the field with a NUL-terminated name.
    unsafe { CStr::from_ptr(f.as_ptr()) }.to_string_lossy().into_owned()
}

pub fn node(c: &Connect) -> VResult<NodeCounters> {
    let mut out = NodeCounters::default();
    let mut n: c_int = 0;
    // SAFETY: a NULL params with nparams 0 asks for the number of fields.
    if unsafe {
        sys::virNodeGetCPUStats(
            c.as_ptr(),
            sys::VIR_NODE_CPU_STATS_ALL_CPUS,
            std::ptr::null_mut(),
            &mut n,
            0,
        )
    } < 0
    {
        return Err(virt::error::Error::last_error());
    }
    let mut cpu = vec![
        sys::virNodeCPUStats {
            field: [0; 80],
            value: 0
        };
        n.max(0) as usize
    ];
    // SAFETY: `cpu` has room for `n` entries.
    if n > 0
        && unsafe {
            sys::virNodeGetCPUStats(
                c.as_ptr(),
                sys::VIR_NODE_CPU_STATS_ALL_CPUS,
                cpu.as_mut_ptr(),
                &mut n,
                0,
            )
        } < 0
    {
        return Err(virt::error::Error::last_error());
    }
    for s in cpu.iter().take(n.max(0) as usize) {
        let name = field_name(&s.field);
        out.cpu_total_ns = out.cpu_total_ns.saturating_add(s.value);
        if !matches!(name.as_str(), "idle" | "iowait") {
            out.cpu_busy_ns = out.cpu_busy_ns.saturating_add(s.value);
        }
    }
    let mut m: c_int = 0;
    // SAFETY: as above, for the memory fields.
    if unsafe {
        sys::virNodeGetMemoryStats(
            c.as_ptr(),
            sys::VIR_NODE_MEMORY_STATS_ALL_CELLS,
            std::ptr::null_mut(),
            &mut m,
            0,
        )
    } < 0
    {
        // Drivers without memory statistics (the test driver) still say how much there is and how much is free.
        out.memory_total_kib = c.node_info()?.memory;
        out.memory_free_kib = c.free_memory()? / 1024;
        return Ok(out);
    }
    let mut mem = vec![
        sys::virNodeMemoryStats {
            field: [0; 80],
            value: 0
        };
        m.max(0) as usize
    ];
    // SAFETY: `mem` has room for `m` entries.
    if m > 0
        && unsafe {
            sys::virNodeGetMemoryStats(
                c.as_ptr(),
                sys::VIR_NODE_MEMORY_STATS_ALL_CELLS,
                mem.as_mut_ptr(),
                &mut m,
                0,
            )
        } < 0
    {
        return Err(virt::error::Error::last_error());
    }
    for s in mem.iter().take(m.max(0) as usize) {
        match field_name(&s.field).as_str() {
            "total" => out.memory_total_kib = s.value,
            "free" | "buffers" | "cached" => out.memory_free_kib += s.value,
            _ => {}
        }
    }
    Ok(out)
}

/// A running pool's fill.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolFill {
    pub uuid: String,
    pub name: String,
    pub capacity: u64,
    pub allocation: u64,
}

impl PoolFill {
    /// How full it is, in percent (0 for a pool of no size).
    pub fn percent(&self) -> f64 {
        if self.capacity > 0 {
            self.allocation as f64 / self.capacity as f64 * 100.0
        } else {
            0.0
        }
    }
}

/// The fill of every active pool (no XML read: cheap enough for every collection). libvirt answers with what it
/// saw at the pool's last refresh: with `refresh`, each pool is refreshed first (a pool that cannot be, say one
/// busy with a volume job, keeps its last figures).
pub fn pools(c: &Connect, refresh: bool) -> VResult<Vec<PoolFill>> {
    let mut out = Vec::new();
    for p in c.list_all_storage_pools(sys::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)? {
        if refresh {
            let _ = p.refresh(0);
        }
        let info = p.info()?;
        out.push(PoolFill {
            uuid: p.uuid_string()?,
            name: p.name()?,
            capacity: info.capacity,
            allocation: info.allocation,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_fill_disks_and_nics_by_index() {
        let mut d = DomainCounters::default();
        apply(&mut d, "block.1.name", None, Some("vdb".into()));
        apply(&mut d, "block.1.rd.bytes", Some(10), None);
        apply(&mut d, "block.0.wr.reqs", Some(3), None);
        apply(&mut d, "net.0.tx.pkts", Some(7), None);
        apply(&mut d, "block.99999.rd.bytes", Some(1), None);
        apply(&mut d, "cpu.time", Some(5), None);
        assert_eq!(d.blocks.len(), 2);
        assert_eq!(d.blocks[1].name, "vdb");
        assert_eq!(d.blocks[1].rd_bytes, 10);
        assert_eq!(d.blocks[0].wr_reqs, 3);
        assert_eq!(d.nets[0].tx_pkts, 7);
        assert_eq!(d.cpu_ns, 5);
    }

    #[test]
    fn the_test_driver_reports_its_domain_and_node() {
        let c = Connect::open(Some("test:///default")).unwrap();
        let doms = all_domains(&c).unwrap();
        assert!(doms.iter().any(|d| d.running()), "{doms:?}");
        let n = node(&c).unwrap();
        assert!(n.memory_total_kib > 0, "{n:?}");
        let _ = pools(&c, true).unwrap();
        crate::virt::conn::close(c);
    }
}
