//! English and Simplified Chinese from the Fluent files in `locales/`, and the language choice.
use i18n_embed::fluent::{fluent_language_loader, FluentLanguageLoader};
use i18n_embed::LanguageLoader;
use leptos::prelude::*;
use rust_embed::RustEmbed;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

#[derive(RustEmbed)]
#[folder = "../locales/"]
struct Localizations;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhCn => "简体中文",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s == "en" || s.starts_with("en-") {
            Some(Lang::En)
        } else if s == "zh" || s.starts_with("zh-cn") || s.starts_with("zh-hans") || s == "zh-sg" {
            Some(Lang::ZhCn)
        } else {
            None
        }
    }

    /// The first supported language of an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .filter_map(|part| Lang::parse(part.split(';').next()?))
            .next()
    }
}

fn make_loader(id: unic_langid::LanguageIdentifier) -> FluentLanguageLoader {
    let loader: FluentLanguageLoader = fluent_language_loader!();
    if let Err(e) = loader.load_languages(&Localizations, &[id]) {
        leptos::logging::error!("loading translations: {e}");
    }
    loader.set_use_isolating(false);
    loader
}

static EN: LazyLock<FluentLanguageLoader> = LazyLock::new(|| make_loader(unic_langid::langid!("en")));
static ZH: LazyLock<FluentLanguageLoader> = LazyLock::new(|| make_loader(unic_langid::langid!("zh-CN")));

pub fn loader(lang: Lang) -> &'static FluentLanguageLoader {
    match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH,
    }
}

/// A message by a key known only at run time (error codes); falls back to `fallback`.
pub fn lookup(lang: Lang, key: &str, fallback: &str) -> String {
    let l = loader(lang);
    if l.has(key) {
        l.get(key)
    } else {
        fallback.to_string()
    }
}

/// A message with arguments, by a key known only at run time.
pub fn lookup_args(lang: Lang, key: &str, args: &[(&'static str, String)]) -> String {
    let map: std::collections::HashMap<&str, String> = args.iter().cloned().collect();
    loader(lang).get_args(key, map)
}

/// The current language, shared by every component.
#[derive(Clone, Copy)]
pub struct I18n(pub RwSignal<Lang>);

pub fn use_i18n() -> I18n {
    use_context::<I18n>().unwrap_or_else(|| I18n(RwSignal::new(Lang::En)))
}

impl I18n {
    pub fn lang(&self) -> Lang {
        self.0.get()
    }
    /// The translated text of an API error code.
    pub fn error(&self, e: &crate::api::ApiError) -> String {
        error_text(self.0.get(), e)
    }
}

/// "“Field”: what is allowed", for a field error: the rule is specific to the field where one is written
/// (`rule-<field>`), else to the reason (`reason-<reason>`, with the limits the server sent).
fn invalid_input_text(lang: Lang, e: &crate::api::ApiError) -> String {
    let get = |k: &str| match e.details.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) if !v.is_null() => v.to_string(),
        _ => String::new(),
    };
    let (field, reason) = (get("field"), get("reason"));
    // Nested fields (`cloud_init.ssh_keys`) have keys with `-` for `.` (Fluent names allow no dots).
    let field = field.replace('.', "-");
    let label = lookup(lang, &format!("label-{field}"), &field);
    let limits = [("min", get("min")), ("max", get("max"))];
    let specific = format!("rule-{field}-{reason}");
    let rule = if loader(lang).has(&specific) {
        lookup_args(lang, &specific, &limits)
    } else if loader(lang).has(&format!("rule-{field}"))
        && !matches!(reason.as_str(), "too_long" | "empty" | "above_maximum")
    {
        lookup_args(lang, &format!("rule-{field}"), &limits)
    } else if loader(lang).has(&format!("reason-{reason}")) {
        lookup_args(lang, &format!("reason-{reason}"), &limits)
    } else {
        reason
    };
    lookup_args(lang, "error-invalid-input", &[("label", label), ("rule", rule)])
}

/// The translated text of an API error, with its details as arguments.
pub fn error_text(lang: Lang, e: &crate::api::ApiError) -> String {
    if e.code == "invalid_input" {
        return invalid_input_text(lang, e);
    }
    let key = format!("error-{}", e.code.replace('_', "-"));
    if !loader(lang).has(&key) {
        return e.message.clone();
    }
    let detail = |k: &str| match e.details.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    let mut args: Vec<(&'static str, String)> = [
        "field",
        "reason",
        "min",
        "max",
        "retry_after",
        "limit",
        "used",
        "requested",
        "resource",
        "host",
        "state",
        "applied",
        "by",
        "algorithm",
        "expected",
    ]
    .into_iter()
    .map(|k| (k, detail(k)))
    .collect();
    // A quota resource by the name the quota bars use.
    if let Some((_, r)) = args.iter_mut().find(|(k, v)| *k == "resource" && !v.is_empty()) {
        let key = match r.as_str() {
            "memory_mib" => "quota-memory",
            "disk_gib" => "quota-disk",
            "vcpus" => "quota-vcpus",
            "vms" => "quota-vms",
            _ => "",
        };
        if !key.is_empty() {
            *r = lookup(lang, key, r);
        }
    }
    // Why no host could take a VM, in words, host by host.
    if e.code == "no_host" {
        if let Some((_, r)) = args.iter_mut().find(|(k, v)| *k == "reason" && !v.is_empty()) {
            *r = lookup(lang, &format!("placement-{r}"), r);
        }
        let hosts: Vec<String> = e
            .details
            .get("skipped")
            .and_then(|s| s.as_array())
            .map(|list| {
                list.iter()
                    .map(|h| {
                        let reason = h.get("reason").and_then(|r| r.as_str()).unwrap_or("");
                        let why = lookup(lang, &format!("placement-{reason}"), reason);
                        match h.get("host_name").and_then(|n| n.as_str()).filter(|n| !n.is_empty()) {
                            Some(name) => format!("{name}: {why}"),
                            None => why,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        args.push(("skipped", hosts.join("; ")));
    }
    // A host's failure is a cause with a remedy.
    let cause = detail("cause");
    if !cause.is_empty() {
        args.push(("cause", lookup(lang, &format!("host-cause-{cause}"), &cause)));
    }
    // What a file should have been, in words.
    if let Some((_, x)) = args.iter_mut().find(|(k, v)| *k == "expected" && !v.is_empty()) {
        *x = lookup(lang, &format!("expected-{x}"), x);
    }
    // A VM state is shown in words, as everywhere else.
    if let Some((_, s)) = args.iter_mut().find(|(k, v)| *k == "state" && !v.is_empty()) {
        *s = lookup(lang, &format!("vm-state-{s}"), s);
    }
    // The reference of a server-side failure, so an admin can find its log line.
    let message = match e.details.get("reference").and_then(|r| r.as_str()) {
        Some(r) => lookup_args(lang, "error-reference", &[("reference", r.to_string())]),
        None => String::new(),
    };
    args.push(("message", message));
    lookup_args(lang, &key, &args)
}

/// `t!(i18n, "key")` is a reactive closure with the message in the current language; keys are checked at compile time.
#[macro_export]
macro_rules! t {
    ($i18n:expr, $key:literal) => {{
        let i18n = $i18n;
        move || i18n_embed_fl::fl!($crate::i18n::loader(i18n.0.get()), $key)
    }};
    ($i18n:expr, $key:literal, $($arg:ident = $val:expr),+) => {{
        let i18n = $i18n;
        move || i18n_embed_fl::fl!($crate::i18n::loader(i18n.0.get()), $key, $($arg = $val),+)
    }};
}

/// `tr!(i18n, "key")` is the message now, as a `String`.
#[macro_export]
macro_rules! tr {
    ($i18n:expr, $key:literal) => {
        i18n_embed_fl::fl!($crate::i18n::loader($i18n.0.get_untracked()), $key)
    };
    ($i18n:expr, $key:literal, $($arg:ident = $val:expr),+) => {
        i18n_embed_fl::fl!($crate::i18n::loader($i18n.0.get_untracked()), $key, $($arg = $val),+)
    };
}

#[cfg(feature = "hydrate")]
pub fn read_cookie(name: &str) -> Option<String> {
    use wasm_bindgen::JsCast;
    let doc = web_sys::window()?
        .document()?
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?;
    let cookies = doc.cookie().ok()?;
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Remembers the choice for pages rendered before sign-in.
#[cfg(feature = "hydrate")]
pub fn write_lang_cookie(lang: Lang) {
    use wasm_bindgen::JsCast;
    if let Some(doc) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
    {
        let _ = doc.set_cookie(&format!(
            "hangar_lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        ));
    }
}

/// The language of the page being rendered: the `hangar_lang` cookie, else `Accept-Language`.
pub fn initial_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        if let Some(parts) = use_context::<http::request::Parts>() {
            let cookie = parts
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .find_map(|c| c.trim().strip_prefix("hangar_lang=").and_then(Lang::parse));
            if let Some(l) = cookie {
                return l;
            }
            if let Some(l) = parts
                .headers
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
            {
                return l;
            }
        }
        Lang::En
    }
    #[cfg(feature = "hydrate")]
    {
        // The server wrote the language it rendered in onto <html lang>, which keeps hydration consistent.
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|l| Lang::parse(&l))
            .unwrap_or(Lang::En)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Lang::En
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> std::collections::BTreeSet<String> {
        text.lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
            .collect()
    }

    #[test]
    fn both_languages_have_the_same_messages() {
        let en = keys(include_str!("../../locales/en/app.ftl"));
        let zh = keys(include_str!("../../locales/zh-CN/app.ftl"));
        assert!(en.len() > 50);
        assert_eq!(en, zh);
    }

    #[test]
    fn no_message_is_defined_twice() {
        for text in [
            include_str!("../../locales/en/app.ftl"),
            include_str!("../../locales/zh-CN/app.ftl"),
        ] {
            let mut seen = std::collections::BTreeSet::new();
            for l in text.lines().filter(|l| !l.starts_with(' ') && !l.starts_with('#')) {
                if let Some((k, _)) = l.split_once(" = ") {
                    assert!(seen.insert(k.trim()), "{k} is defined twice");
                }
            }
        }
    }

    #[test]
    fn field_errors_say_what_is_allowed() {
        let e = |field: &str, reason: &str, extra: serde_json::Value| {
            let mut details = serde_json::json!({ "field": field, "reason": reason });
            if let (Some(d), Some(x)) = (details.as_object_mut(), extra.as_object()) {
                d.extend(x.clone());
            }
            crate::api::ApiError {
                code: "invalid_input".into(),
                message: "x".into(),
                details,
            }
        };
        let name = e("name", "bad_format", serde_json::Value::Null);
        assert_eq!(
            error_text(Lang::En, &name),
            "“Name”: use 1–64 letters, digits, and . _ - +"
        );
        assert_eq!(
            error_text(Lang::ZhCn, &name),
            "“名称”：使用 1–64 个字母、数字或 . _ - +"
        );
        let long = e("display_name", "too_long", serde_json::json!({ "max": 100 }));
        assert_eq!(
            error_text(Lang::En, &long),
            "“Display name”: too long (at most 100 characters)"
        );
        let odd = e("frobs", "bad_format", serde_json::Value::Null);
        assert_eq!(error_text(Lang::En, &odd), "“frobs”: not in the expected form");
        let busy = crate::api::ApiError {
            code: "invalid_state".into(),
            message: "x".into(),
            details: serde_json::json!({ "action": "start", "state": "shutoff" }),
        };
        assert!(
            error_text(Lang::ZhCn, &busy).contains("已关机"),
            "{}",
            error_text(Lang::ZhCn, &busy)
        );
    }

    #[test]
    fn translates_error_codes_with_details() {
        let e = crate::api::ApiError {
            code: "password_too_short".into(),
            message: "x".into(),
            details: serde_json::json!({ "min": 10 }),
        };
        assert_eq!(
            error_text(Lang::En, &e),
            "The password must have at least 10 characters."
        );
        assert_eq!(error_text(Lang::ZhCn, &e), "密码至少需要 10 个字符。");
        assert_eq!(
            Lang::from_accept_language("fr-FR,zh-CN;q=0.8,en;q=0.5"),
            Some(Lang::ZhCn)
        );
    }
}

/// For the page's plain scripts (the uploader): an API error's JSON in words, in the language `lang`.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn error_text_json(lang: &str, json: &str) -> String {
    let lang = Lang::parse(lang).unwrap_or(Lang::En);
    match serde_json::from_str::<crate::api::ApiError>(json) {
        Ok(e) => error_text(lang, &e),
        Err(_) => json.chars().take(200).collect(),
    }
}
