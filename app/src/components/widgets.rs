//! Small building blocks: error messages, quota bars, times.
use crate::api::{ApiError, Quota};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

/// A translated API error, or nothing.
#[component]
pub fn ErrorBox(error: RwSignal<Option<ApiError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|e| {
            let text = i18n.error(&e);
            view! { <div class="alert error" role="alert" data-testid="error" data-code=e.code.clone()>{text}</div> }
        })
    }
}

/// An error shown in place of a page's content.
#[component]
pub fn PageError(error: ApiError) -> impl IntoView {
    let i18n = use_i18n();
    let code = error.code.clone();
    view! {
        <div class="alert error" role="alert" data-testid="error" data-code=code>
            {move || i18n.error(&error)}
        </div>
    }
}

/// "Page n of m" with links to the neighbours; `link(n)` is the address of page n.
#[component]
pub fn Pager(page: i64, per_page: i64, total: i64, link: impl Fn(i64) -> String) -> impl IntoView {
    let i18n = use_i18n();
    let pages = ((total + per_page.max(1) - 1) / per_page.max(1)).max(1);
    let (prev, next) = (link(page - 1), link(page + 1));
    view! {
        <div class="pager" data-testid="pager">
            {(page > 1).then(|| view! { <a class="btn" href=prev data-testid="page-prev">{t!(i18n, "page-prev")}</a> })}
            <span>{t!(i18n, "page-of", page = page, pages = pages, total = total)}</span>
            {(page < pages).then(|| view! { <a class="btn" href=next data-testid="page-next">{t!(i18n, "page-next")}</a> })}
        </div>
    }
}

/// Usage beside each limit, as bars.
#[component]
pub fn QuotaUsage(quota: Quota) -> impl IntoView {
    let i18n = use_i18n();
    let rows = [
        (
            "vms",
            t!(i18n, "quota-vms").into_any(),
            quota.used_vms,
            quota.max_vms,
            "",
        ),
        (
            "vcpus",
            t!(i18n, "quota-vcpus").into_any(),
            quota.used_vcpus,
            quota.max_vcpus,
            "",
        ),
        (
            "memory",
            t!(i18n, "quota-memory").into_any(),
            quota.used_memory_mib,
            quota.max_memory_mib,
            " MiB",
        ),
        (
            "disk",
            t!(i18n, "quota-disk").into_any(),
            quota.used_disk_gib,
            quota.max_disk_gib,
            " GiB",
        ),
    ];
    view! {
        <div class="quota" data-testid="quota">
            {rows
                .into_iter()
                .map(|(key, label, used, max, unit)| {
                    let pct = if max > 0 { (used * 100 / max).min(100) } else if used > 0 { 100 } else { 0 };
                    let class = if pct >= 90 { "bar-fill high" } else { "bar-fill" };
                    view! {
                        <div class="quota-row" data-testid=format!("quota-{key}")>
                            <span class="quota-label">{label}</span>
                            <span class="bar"><span class=class style=format!("width:{pct}%")></span></span>
                            <span class="quota-num" data-testid=format!("quota-{key}-value")>
                                {format!("{used} / {max}{unit}")}
                            </span>
                        </div>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// `1.5 GiB`, `640 KiB`, `12 B`: binary units, one decimal above KiB.
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A usage bar: `used` of `total`, red above 90 %.
#[component]
pub fn UsageBar(used: u64, total: u64) -> impl IntoView {
    let pct = if total == 0 {
        0.0
    } else {
        used as f64 * 100.0 / total as f64
    };
    view! {
        <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")
            title=format!("{} / {} ({pct:.0} %)", fmt_bytes(used), fmt_bytes(total))>
            <span class={if pct > 90.0 { "bar-fill high" } else { "bar-fill" }} style=format!("width: {pct:.1}%")></span>
        </div>
    }
}

/// `2026-11-22 01:30:05` (UTC) from Unix milliseconds; the same on server and browser.
pub fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The message of a role.
pub fn role_label(
    i18n: crate::i18n::I18n,
    role: crate::api::Role,
) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    move || {
        let key = format!("role-{}", role.as_str());
        crate::i18n::lookup(i18n.0.get(), &key, role.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_time;

    #[test]
    fn formats_bytes() {
        assert_eq!(super::fmt_bytes(12), "12 B");
        assert_eq!(super::fmt_bytes(1536), "1.5 KiB");
        assert_eq!(super::fmt_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn formats_utc() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00:00");
        assert_eq!(fmt_time(1_795_311_547_774), "2026-11-22 01:39:07");
        assert_eq!(fmt_time(951_782_400_000), "2000-02-29 00:00:00");
    }
}

/// Waits `ms` milliseconds in the browser (a timer, not a busy loop).
#[cfg(feature = "hydrate")]
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
