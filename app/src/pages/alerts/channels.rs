//! `/alerts/channels`: where alerts are sent (e-mail, DingTalk, WeCom, Feishu, webhooks). Create, edit (a secret
//! stays as saved unless typed again: it is never shown after saving), send a test message, read the delivery
//! log, delete.
use super::{AlertTabs, DeliveryStatus, DeliveryTable};
use crate::api::{ApiError, Channel, ChannelPatch, Delivery, NewChannel, CHANNEL_KINDS};
use crate::components::widgets::{ErrorBox, PageError};
use crate::i18n::{lookup, use_i18n, Lang};
use crate::t;
use leptos::prelude::*;

/// A channel kind in words.
pub fn channel_kind_label(lang: Lang, kind: &str) -> String {
    lookup(lang, &format!("channel-kind-{kind}"), kind)
}

/// What a webhook address of each kind looks like.
fn url_placeholder(kind: &str) -> &'static str {
    match kind {
        "dingtalk" => "https://oapi.dingtalk.com/robot/send?access_token=…",
        "wecom" => "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
        "feishu" => "https://open.feishu.cn/open-apis/bot/v2/hook/…",
        _ => "https://example.com/hooks/hangar",
    }
}

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| crate::api::alerts::channels());
    let reload = Callback::new(move |_| version.update(|v| *v += 1));
    view! {
        <h1>{t!(i18n, "channels-title")}</h1>
        <AlertTabs current="channels"/>
        <p class="muted">{t!(i18n, "channels-hint")}</p>
        <section class="card" data-testid="channels-section">
            <h2>{t!(i18n, "channels-list")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) => view! { <ChannelTable channels=list reload/> }.into_any(),
                        Err(e) => view! { <PageError error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card" data-testid="new-channel-section">
            <h2>{t!(i18n, "channels-new")}</h2>
            <ChannelForm channel=None on_saved=reload/>
        </section>
    }
    .into_any()
}

#[component]
fn ChannelTable(channels: Vec<Channel>, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    if channels.is_empty() {
        return view! { <p class="muted" data-testid="channels-empty">{t!(i18n, "channels-empty")}</p> }.into_any();
    }
    view! {
        <table class="table" id="channels" data-testid="channels">
            <thead><tr>
                <th>{t!(i18n, "label-name")}</th><th>{t!(i18n, "label-kind")}</th><th>{t!(i18n, "channels-target")}</th>
                <th>{t!(i18n, "label-language")}</th><th>{t!(i18n, "label-config-secret")}</th><th></th>
            </tr></thead>
            <tbody>{channels.into_iter().map(|c| view! { <ChannelRow channel=c reload/> }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ChannelRow(channel: Channel, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let id = channel.id;
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let confirm = RwSignal::new(false);
    let editing = RwSignal::new(false);
    let tested = RwSignal::new(None::<Delivery>);
    let log = RwSignal::new(None::<Vec<Delivery>>);
    let test = move |_: leptos::ev::MouseEvent| {
        busy.set(true);
        tested.set(None);
        leptos::task::spawn_local(async move {
            let r = crate::api::alerts::test_channel(id).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(t) => {
                    error.set(None);
                    tested.set(Some(t.delivery));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let toggle_log = move |_: leptos::ev::MouseEvent| {
        if log.get_untracked().is_some() {
            log.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::api::alerts::channel_deliveries(id).await {
                Ok(list) => {
                    log.try_set(Some(list));
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    let remove = move |_: leptos::ev::MouseEvent| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::alerts::delete_channel(id).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(()) => reload.run(()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let c = channel.clone();
    let kind = c.kind.clone();
    let language = Lang::parse(&c.language)
        .map(|l| l.native_name().to_string())
        .unwrap_or_else(|| c.language.clone());
    view! {
        <tr data-channel-id=id.to_string() data-channel-name=c.name.clone() data-kind=c.kind.clone()>
            <td class="name">{c.name.clone()}<div class="muted small">{c.owner.clone()}</div></td>
            <td>{move || channel_kind_label(i18n.0.get(), &kind)}</td>
            <td class="wrap"><code data-testid="channel-target">{c.target.clone()}</code></td>
            <td>{language}</td>
            <td>{c.has_secret.then(|| view! { <span class="tag" data-testid="channel-has-secret">{t!(i18n, "channels-secret-saved")}</span> })}</td>
            <td class="nowrap">
                <span class="action-bar">
                    <button class="btn small" data-testid="channel-test" disabled=move || busy.get() on:click=test>{t!(i18n, "channels-test")}</button>
                    <button class="btn small" data-testid="channel-log" aria-expanded=move || log.with(Option::is_some).to_string() on:click=toggle_log>
                        {t!(i18n, "channels-log")}
                    </button>
                    <button class="btn small" data-testid="channel-edit" aria-expanded=move || editing.get().to_string()
                        on:click=move |_| editing.update(|e| *e = !*e)>{t!(i18n, "action-edit")}</button>
                    <Show when=move || confirm.get() fallback=move || view! {
                        <button class="btn small danger" data-testid="channel-delete" on:click=move |_| confirm.set(true)>{t!(i18n, "action-delete")}</button>
                    }>
                        <span class="confirm">
                            {t!(i18n, "channels-delete-confirm")}
                            <button class="btn small danger" data-testid="channel-delete-confirm" disabled=move || busy.get() on:click=remove>{t!(i18n, "action-delete")}</button>
                            <button class="btn small" data-testid="channel-delete-cancel" on:click=move |_| confirm.set(false)>{t!(i18n, "action-cancel")}</button>
                        </span>
                    </Show>
                </span>
                <ErrorBox error/>
                {move || tested.get().map(|d| view! {
                    <div class="test-result" data-testid="channel-test-result" data-status=d.status.clone()>
                        {t!(i18n, "channels-test-result")} " " <DeliveryStatus status=d.status.clone()/>
                        <div><code class="wrap small" data-testid="channel-test-response">{d.response.clone()}</code></div>
                    </div>
                })}
            </td>
        </tr>
        {move || log.get().map(|list| view! {
            <tr class="sub-row" data-testid="channel-log-row">
                <td colspan="6"><DeliveryTable deliveries=list/></td>
            </tr>
        })}
        <Show when=move || editing.get()>
            <tr class="sub-row" data-testid="channel-edit-row">
                <td colspan="6">
                    <ChannelForm channel=Some(channel.clone()) on_saved=reload on_cancel=Callback::new(move |_| editing.set(false))/>
                </td>
            </tr>
        </Show>
    }
    .into_any()
}

/// The form of a channel: a new one (`id="new-channel"`) or the changes to one (`id="edit-channel-<id>"`; its
/// kind stays; secret fields left empty keep the saved secrets). Inputs are named like the config's fields.
#[component]
pub fn ChannelForm(
    channel: Option<Channel>,
    on_saved: Callback<()>,
    #[prop(optional)] on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let editing = channel.as_ref().map(|c| c.id);
    let c = channel.as_ref();
    let name = RwSignal::new(c.map(|c| c.name.clone()).unwrap_or_default());
    let kind = RwSignal::new(c.map(|c| c.kind.clone()).unwrap_or_else(|| "email".into()));
    // E-mail addresses are no secret: the saved ones are shown, and sent again only when changed.
    let to_initial = c
        .filter(|c| c.kind == "email" && c.target.contains('@'))
        .map(|c| c.target.clone())
        .unwrap_or_default();
    let to = RwSignal::new(to_initial.clone());
    let url = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let language = RwSignal::new(
        c.map(|c| c.language.clone())
            .unwrap_or_else(|| i18n.0.get_untracked().code().to_string()),
    );
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        done.set(false);
        let k = kind.get_untracked();
        let mut config = serde_json::Map::new();
        if k == "email" {
            let typed = to.get_untracked();
            if editing.is_none() || typed.trim() != to_initial.trim() {
                let list: Vec<serde_json::Value> = typed
                    .split(|ch: char| ch == ',' || ch == ';' || ch.is_whitespace())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| serde_json::Value::String(s.to_string()))
                    .collect();
                config.insert("to".into(), serde_json::Value::Array(list));
            }
        } else {
            let u = url.get_untracked().trim().to_string();
            if !u.is_empty() {
                config.insert("url".into(), serde_json::Value::String(u));
            }
            let s = secret.get_untracked().trim().to_string();
            if k != "wecom" && !s.is_empty() {
                config.insert("secret".into(), serde_json::Value::String(s));
            }
        }
        let name_v = name.get_untracked().trim().to_string();
        let lang_v = language.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = match editing {
                Some(id) => {
                    let p = ChannelPatch {
                        name: Some(name_v),
                        config: (!config.is_empty()).then_some(serde_json::Value::Object(config)),
                        language: Some(lang_v),
                    };
                    crate::api::alerts::update_channel(id, p).await.map(|_| ())
                }
                None => {
                    let n = NewChannel {
                        name: name_v,
                        kind: k,
                        config: serde_json::Value::Object(config),
                        language: Some(lang_v),
                    };
                    crate::api::alerts::create_channel(n).await.map(|_| ())
                }
            };
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(()) => {
                    // The secret is saved and never shown again.
                    secret.set(String::new());
                    url.set(String::new());
                    if editing.is_none() {
                        name.set(String::new());
                        to.set(String::new());
                    }
                    done.set(true);
                    on_saved.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let form_id = match editing {
        Some(id) => format!("edit-channel-{id}"),
        None => "new-channel".to_string(),
    };
    let is_edit = editing.is_some();
    let unchanged = move || lookup(i18n.0.get(), "channels-unchanged", "");
    view! {
        <form class="form channel-form" id=form_id.clone() data-testid=form_id on:submit=submit>
            <div class="grid3">
                <label>{t!(i18n, "label-name")}
                    <input name="name" required maxlength="100" bind:value=name/>
                </label>
                <label>{t!(i18n, "label-kind")}
                    <select name="kind" bind:value=kind disabled=is_edit>
                        {CHANNEL_KINDS.into_iter().map(|k| view! {
                            <option value=k selected=move || kind.get() == k>{move || channel_kind_label(i18n.0.get(), k)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, "label-language")}
                    <select name="language" bind:value=language>
                        {Lang::ALL.into_iter().map(|l| view! {
                            <option value=l.code() selected=move || language.get() == l.code()>{l.native_name()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <Show when=move || kind.get() == "email">
                <label>{t!(i18n, "label-config-to")}
                    <textarea name="to" rows="3" required=!is_edit placeholder="ops@example.com, oncall@example.com"
                        prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev))></textarea>
                    <span class="hint">{t!(i18n, "channels-to-hint")}</span>
                </label>
            </Show>
            <Show when=move || kind.get() != "email">
                <div class="grid3">
                    <label>{t!(i18n, "label-config-url")}
                        <input name="url" type="url" required=!is_edit autocomplete="off" bind:value=url
                            placeholder=move || if is_edit { unchanged() } else { url_placeholder(&kind.get()).to_string() }/>
                    </label>
                    <Show when=move || kind.get() != "wecom">
                        <label>{t!(i18n, "label-config-secret")}
                            <input name="secret" type="password" autocomplete="new-password" bind:value=secret
                                placeholder=move || if is_edit { unchanged() } else if kind.get() == "dingtalk" { "SEC…".to_string() } else { String::new() }/>
                        </label>
                    </Show>
                </div>
                <p class="hint">{move || lookup(i18n.0.get(), &format!("channels-hint-{}", kind.get()), "")}</p>
            </Show>
            <ErrorBox error/>
            <Show when=move || done.get()>
                <div class="alert ok" data-testid="channel-saved">{t!(i18n, "channels-saved")}</div>
            </Show>
            <div class="actions">
                <button class="btn primary" type="submit" data-testid="channel-submit" disabled=move || busy.get()>
                    {move || lookup(i18n.0.get(), if is_edit { "action-save" } else { "channels-create" }, "")}
                </button>
                {on_cancel.map(|cancel| view! {
                    <button class="btn" type="button" data-testid="channel-cancel" on:click=move |_| cancel.run(())>{t!(i18n, "action-cancel")}</button>
                })}
            </div>
        </form>
    }
    .into_any()
}
