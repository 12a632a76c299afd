// Swagger UI for /api/v1: requests from this page carry the session's CSRF token like the app's own.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  requestInterceptor: (req) => {
    const m = document.cookie.match(/(?:^|;\s*)hangar_csrf=([^;]+)/);
    if (m) req.headers["X-CSRF-Token"] = m[1];
    return req;
  },
});
