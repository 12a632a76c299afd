//! libvirt's event loop (one thread for the process) and the lifecycle callback that feeds `VirtEvent`s.
use super::VirtEvent;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Once;
use tokio::sync::mpsc;
use virt::connect::Connect;
use virt::sys;

static INIT: Once = Once::new();

/// Must run before the first connection is opened: keepalive and events need the loop.
pub fn init_event_loop() {
    INIT.call_once(|| {
        // libvirt prints every error to stderr by default; ours are handled (and logged) where they occur.
        virt::error::clear_error_callback();
        if let Err(e) = virt::event::event_register_default_impl() {
            tracing::error!(error = %e, "libvirt event loop unavailable");
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| loop {
                if let Err(e) = virt::event::event_run_default_impl() {
                    tracing::error!(error = %e, "libvirt event loop");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the libvirt event thread");
        }
    });
}

struct Ctx {
    host_id: i64,
    tx: mpsc::UnboundedSender<VirtEvent>,
}

unsafe extern "C" fn on_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    // SAFETY: libvirt passes back the pointer given at registration; it lives until `free_ctx`.
    let ctx = unsafe { &*(opaque as *const Ctx) };
    let mut buf = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    // SAFETY: `dom` is valid for the duration of the callback and `buf` has the documented size.
    if unsafe { sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) } == 0 {
        // SAFETY: libvirt wrote a NUL-terminated string into `buf`.
        let uuid = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
        let _ = ctx.tx.send(VirtEvent::Lifecycle {
            host_id: ctx.host_id,
            uuid,
            event,
            detail,
        });
    }
    0
}

unsafe extern "C" fn free_ctx(opaque: *mut c_void) {
    // SAFETY: the pointer came from `Box::into_raw` in `register_lifecycle` and libvirt frees it once.
    drop(unsafe { Box::from_raw(opaque as *mut Ctx) });
}

type LifecycleFn = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, c_int, *mut c_void) -> c_int;
type GenericFn = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void);

pub fn register_lifecycle(
    conn: &Connect,
    host_id: i64,
    tx: mpsc::UnboundedSender<VirtEvent>,
) -> Result<(), virt::error::Error> {
    let ctx = Box::into_raw(Box::new(Ctx { host_id, tx })) as *mut c_void;
    // SAFETY: libvirt calls a lifecycle callback with the lifecycle signature; the generic type is how the
    // C API declares every callback, so the cast is the documented way to register one.
    let cb = unsafe { std::mem::transmute::<LifecycleFn, GenericFn>(on_lifecycle) };
    // SAFETY: `conn` is a live connection; `ctx` is freed by `free_ctx` when libvirt drops the callback.
    let id = unsafe {
        sys::virConnectDomainEventRegisterAny(
            conn.as_ptr(),
            std::ptr::null_mut(),
            sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
            Some(cb),
            ctx,
            Some(free_ctx),
        )
    };
    if id < 0 {
        // SAFETY: registration failed, so libvirt did not take ownership of `ctx`.
        unsafe { free_ctx(ctx) };
        return Err(virt::error::Error::last_error());
    }
    Ok(())
}

/// `VIR_DOMAIN_EVENT_*` as a word.
pub fn event_name(event: i32) -> &'static str {
    match event {
        0 => "defined",
        1 => "undefined",
        2 => "started",
        3 => "suspended",
        4 => "resumed",
        5 => "stopped",
        6 => "shutdown",
        7 => "pmsuspended",
        8 => "crashed",
        _ => "changed",
    }
}

pub const EVENT_UNDEFINED: i32 = 1;
