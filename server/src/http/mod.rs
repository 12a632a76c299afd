//! The HTTP surface: the REST API under `/api/v1` (documented by OpenAPI), the UI and its assets.
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod caller;
pub mod consoles;
pub mod download;
pub mod events;
pub mod extract;
pub mod hosts;
pub mod images;
pub mod monitoring;
pub mod openapi;
pub mod ops;
pub mod pools;
pub mod profile;
pub mod serve;
pub mod site;
pub mod tasks;
pub mod tokens;
pub mod uploads;
pub mod users;
pub mod vm_create;
pub mod vm_devices;
pub mod vms;

use crate::config::Config;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Json, Router};
use openapi::ApiDoc;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Every resource's routes (declared next to their handlers), with the common body limit.
fn api_routes(cfg: &Config) -> OpenApiRouter<AppState> {
    let limited = OpenApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(tokens::routes())
        .merge(hosts::routes())
        .merge(vms::routes())
        .merge(vm_create::routes())
        .merge(vm_devices::routes())
        .merge(events::routes())
        .merge(tasks::routes())
        .merge(pools::routes())
        .merge(images::routes())
        .merge(consoles::routes())
        .merge(monitoring::routes())
        .merge(alerts::routes())
        .layer(DefaultBodyLimit::max(256 * 1024));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(limited)
        .merge(profile::routes(cfg))
        .merge(uploads::routes())
}

/// The OpenAPI document of every route the server serves under `/api/v1`.
pub fn openapi(cfg: &Config) -> utoipa::openapi::OpenApi {
    let mut doc = api_routes(cfg).split_for_parts().1;
    openapi::document_errors(&mut doc);
    doc
}

/// The API router with its audit and session layers, ready to serve or to be called in-process by SSR.
pub fn api_router(
    state: AppState,
    sessions: tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::SqliteStore>,
) -> Router {
    let (router, mut doc) = api_routes(&state.config).split_for_parts();
    openapi::document_errors(&mut doc);
    let ops = std::sync::Arc::new(ops::OpTable::from_openapi(&doc));
    let doc = std::sync::Arc::new(doc);
    router
        .route(
            "/api/v1/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()).into_response() }),
        )
        .route("/metrics", get(monitoring::scrape))
        .layer(middleware::from_fn_with_state(
            (state.clone(), ops.clone()),
            ops::audit_layer,
        ))
        .layer(middleware::from_fn_with_state((state.clone(), ops), ops::count_layer))
        .layer(sessions)
        .with_state(state)
}

/// Longest request target accepted; longer ones get a JSON 414 (hyper itself refuses beyond 64 KiB).
const MAX_URI: usize = 8 * 1024;

async fn limit_uri(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    if req.uri().to_string().len() > MAX_URI {
        return crate::error::Error::UriTooLong.into_response();
    }
    next.run(req).await
}

/// A page that redirects during server rendering answers with a real redirect, so that browsers without
/// WASM, curl and crawlers follow it (Leptos sets `Location` but leaves the status at 200).
async fn real_redirects(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let mut resp = next.run(req).await;
    if resp.status() == axum::http::StatusCode::OK && resp.headers().contains_key(header::LOCATION) {
        *resp.status_mut() = axum::http::StatusCode::FOUND;
    }
    resp
}

async fn method_not_allowed() -> crate::error::Error {
    crate::error::Error::MethodNotAllowed
}

/// The whole application: API, UI pages, assets, and headers every response carries.
pub fn app(api: Router) -> Router {
    site::router(api)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(real_redirects))
        .layer(middleware::from_fn(limit_uri))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
