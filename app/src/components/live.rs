//! Live updates: subscribes to `GET /api/v1/events` (Server-Sent Events) while a component is mounted.
use crate::api::StreamEvent;
#[cfg(feature = "hydrate")]
use leptos::prelude::*;

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
        let keep = send_wrapper::SendWrapper::new((source, handler));
        on_cleanup(move || keep.0.close());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = on_event;
}
