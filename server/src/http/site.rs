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
    let headers = req.headers();
    // The build writes a gzip copy (`name.gz`) of each text file and of the WASM (5.3 MB, 1.0 MB gzipped).
    let gzipped = site_file(&format!("{path}.gz"));
    let has_gzip = gzipped.is_some();
    // A gzip copy is served as what it holds.
    let mime = file.metadata.mimetype().to_string();
    let (body, encoding) = match gzipped.filter(|_| accepts_gzip(headers)) {
        Some(gz) => (gz, Some("gzip")),
        None => (file, None),
    };
    let etag = format!(
        "\"{}{}\"",
        hex::encode(&body.metadata.sha256_hash()[..12]),
        if encoding.is_some() { "-gz" } else { "" }
    );
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, "no-cache");
    if has_gzip {
        response = response.header(header::VARY, "accept-encoding");
    }
    if let Some(encoding) = encoding {
        response = response.header(header::CONTENT_ENCODING, encoding);
    }
    response
        .body(Body::from(body.data.into_owned()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Whether the client takes gzip: `Accept-Encoding` names `gzip`, or else `*`, without `q=0`.
fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if coding.eq_ignore_ascii_case("gzip") {
            gzip = Some(!refused);
        } else if coding == "*" {
            any = Some(!refused);
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, accept.parse().unwrap());
        h
    }

    #[test]
    fn gzip_goes_to_clients_that_take_it() {
        for yes in [
            "gzip",
            "gzip, deflate, br, zstd",
            "br;q=1.0, GZIP;q=0.5",
            "*",
            "deflate, *;q=0.1",
        ] {
            assert!(accepts_gzip(&with(yes)), "{yes}");
        }
        for no in [
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.000",
            "gzipx",
            "*;q=0",
            "gzip;q=0, *",
        ] {
            assert!(!accepts_gzip(&with(no)), "{no}");
        }
        assert!(!accepts_gzip(&axum::http::HeaderMap::new()));
    }
}
