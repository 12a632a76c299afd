//! Live updates: subscribes to `GET /api/v1/events` (Server-Sent Events) while a component is mounted.
use crate::api::StreamEvent;
#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// Once per page: a page restored from the back/forward cache (its streams closed on `pagehide`) reloads.
#[cfg(feature = "hydrate")]
fn reload_when_restored() {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    thread_local!(static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    let Some(w) = web_sys::window() else { return };
    let on_show = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
        let persisted = js_sys::Reflect::get(&ev, &"persisted".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if persisted {
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        }
    });
    let _ = w.add_event_listener_with_callback("pageshow", on_show.as_ref().unchecked_ref());
    on_show.forget();
}

/// Calls `on_event` for every event the server pushes; does nothing during server rendering.
pub fn use_live_events(on_event: impl Fn(StreamEvent) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Ok(source) = web_sys::EventSource::new("/api/v1/events") else {
            return;
        };
        let handler = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if let Some(text) = ev.data().as_string() {
                if let Ok(parsed) = serde_json::from_str::<StreamEvent>(&text) {
                    on_event(parsed);
                }
            }
        });
        for kind in ["vm", "vmremoved", "host", "task"] {
            let _ = source.add_event_listener_with_callback(kind, handler.as_ref().unchecked_ref());
        }
        // A page kept in the back/forward cache would keep its stream open, and Chrome allows six connections per
        // host: after a few pages every new load stalls. Close the stream when the page is hidden; a page shown
        // again from the cache reloads (its figures are stale anyway).
        let closer = {
            let source = source.clone();
            Closure::<dyn Fn()>::new(move || source.close())
        };
        let window = web_sys::window();
        if let Some(w) = &window {
            let _ = w.add_event_listener_with_callback("pagehide", closer.as_ref().unchecked_ref());
        }
        reload_when_restored();
        let keep = send_wrapper::SendWrapper::new((source, handler, closer, window));
        on_cleanup(move || {
            let (source, _, closer, window) = &*keep;
            source.close();
            if let Some(w) = window {
                let _ = w.remove_event_listener_with_callback("pagehide", closer.as_ref().unchecked_ref());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = on_event;
}
