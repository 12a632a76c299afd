//! The UI: Leptos pages rendered on the server, and the site files (WASM, JS, CSS, vendored libraries) that the
//! `hangar` binary embeds at build time.
use app::api::client::SsrApi;
use app::api::ApiError;
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// Finds a site file by its path. The binary embeds the files and hands this over at start-up
/// ([`serve_files`]); the library embeds none, so new site files recompile only the binary's own small crate
/// and the library builds while the UI does.
pub type SiteFiles = fn(&str) -> Option<rust_embed::EmbeddedFile>;

static FILES: std::sync::OnceLock<SiteFiles> = std::sync::OnceLock::new();

/// Serves the site's files from `files` (once per process; without it, only pages and the API answer).
pub fn serve_files(files: SiteFiles) {
    let _ = FILES.set(files);
}

/// The build's own list of site files (it makes added or removed files rebuild the binary): not for browsers.
const BUILD_LIST: &str = "site-files.txt";

fn site_file(path: &str) -> Option<rust_embed::EmbeddedFile> {
    if path == BUILD_LIST {
        return None;
    }
    FILES.get().and_then(|files| files(path))
}

pub fn router(api: Router) -> Router {
    let options = LeptosOptions::builder()
        .output_name("hangar")
        .site_pkg_dir("pkg")
        .build();
    let routes = generate_route_list(app::App);
    let ssr_api = api.clone();
    let shell_options = options.clone();
    // Unknown addresses get the app's own "not found" page (its router's fallback sets the 404).
    let not_found = {
        let (api, options) = (api.clone(), options.clone());
        leptos_axum::render_app_async_with_context(
            move || provide_context(SsrApi(api.clone())),
            move || app::shell(options.clone()),
        )
    };
    let fallback = move |req: axum::extract::Request| {
        let not_found = not_found.clone();
        async move { static_or_not_found(req, not_found).await }
    };
    Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(SsrApi(ssr_api.clone())),
            move || app::shell(shell_options.clone()),
        )
        .route("/api/docs", get(swagger_page))
        .fallback(fallback)
        .with_state(options)
        .merge(api)
}

async fn swagger_page() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hangar API</title>",
        "<link rel=\"icon\" href=\"/favicon.svg\">",
        "<link rel=\"stylesheet\" href=\"/vendor/swagger-ui/swagger-ui.css\"></head>",
        "<body><div id=\"swagger-ui\"></div>",
        "<script src=\"/vendor/swagger-ui/swagger-ui-bundle.js\"></script>",
        "<script src=\"/swagger-init.js\"></script></body></html>"
    ))
}

async fn static_or_not_found<F>(req: axum::extract::Request, page: F) -> Response
where
    F: Fn(axum::extract::Request) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>,
{
    let path = req.uri().path().trim_start_matches('/').to_string();
    if path.starts_with("api/") {
        let err = ApiError::new("not_found", "no such API route");
        return (StatusCode::NOT_FOUND, Json(err)).into_response();
    }
    let Some(file) = site_file(&path) else {
        if req.method() == axum::http::Method::GET {
            return page(req).await;
        }
        return crate::error::Error::NotFound("page").into_response();
    };
    let headers = req.headers().clone();
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    Response::builder()
        .header(header::CONTENT_TYPE, file.metadata.mimetype())
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(file.data.into_owned()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
