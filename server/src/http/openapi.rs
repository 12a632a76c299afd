//! The OpenAPI document: its header, security schemes, and the error answers every operation can give, so
//! the document lists every status the server really sends (`tests/openapi_agrees.rs` checks it).
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Hangar API", version = "1",
        description = "REST API of Hangar. Errors are `{\"code\", \"message\", \"details\"}` with stable codes. \
            Authenticate with the session cookie (changing requests then need `X-CSRF-Token`) or `Authorization: Bearer <token>`."),
    modifiers(&Security),
    security(("session" = []), ("bearer" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::session::SESSION_COOKIE))),
        );
    }
}

/// The error answers an operation can give because of what it is (has a body, path parameters, needs a
/// principal), whatever its handler documents itself.
fn common_errors(op: &Operation) -> Vec<(u16, &'static str)> {
    let id = op.operation_id.as_deref().unwrap_or("");
    let params = op.parameters.as_deref().unwrap_or(&[]);
    let mut out = vec![
        (414, "the request target is longer than 8 KiB"),
        (500, "internal error; the message carries a reference to the server log"),
        (503, "busy (with Retry-After) or the VM's host is offline"),
    ];
    // Whatever reaches libvirt can meet its refusal; the text is in the log under the reference.
    if id.starts_with("vm.") || id.starts_with("host.") {
        out.push((
            502,
            "the hypervisor refused or failed; `details.reference` finds its words in the log",
        ));
        out.push((501, "this hypervisor cannot do that"));
        out.push((409, "does not fit the current state"));
    }
    if ["pool.", "volume.", "image.", "upload."]
        .iter()
        .any(|p| id.starts_with(p))
    {
        out.push((
            502,
            "the hypervisor refused or failed; `details.reference` finds its words in the log",
        ));
        out.push((501, "this hypervisor cannot do that"));
        out.push((409, "in use, a duplicate name, or does not fit the current state"));
        out.push((507, "not enough space in the storage pool"));
    }
    if id.starts_with("upload.") && id != "upload.options" {
        out.push((412, "tus requests need `Tus-Resumable: 1.0.0`"));
        out.push((413, "larger than allowed, or past the upload's declared length"));
        out.push((400, "invalid tus headers or metadata"));
    }
    if id == "upload.patch" || id == "upload.create" {
        out.push((415, "chunks need `Content-Type: application/offset+octet-stream`"));
    }
    if id.starts_with("task.") {
        out.push((409, "already finished, or cannot be stopped"));
    }
    if id == "host.update" || id == "host.create" {
        out.push((
            422,
            "the URI does not answer or refuses the credentials: `details.cause`",
        ));
    }
    if id == "auth.login" {
        out.push((429, "too many failed sign-ins (with Retry-After)"));
    } else {
        out.push((401, "not signed in, session expired, token invalid or account disabled"));
        out.push((403, "the role does not allow it, or the CSRF token is missing"));
    }
    if params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Path)) {
        out.push((404, "no such resource, or not one the caller may see"));
    }
    if op.request_body.is_some() || params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query)) {
        out.push((
            400,
            "invalid input: `details.field` names the field and `details.reason` the rule",
        ));
    }
    if op.request_body.is_some() {
        out.push((413, "request body too large"));
        out.push((415, "wrong Content-Type"));
    }
    out
}

/// Adds the common error answers (as `ApiError`) to every operation that does not document them already.
pub fn document_errors(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
            &mut item.head,
            &mut item.options,
        ];
        for op in ops.into_iter().flatten() {
            for (status, why) in common_errors(op) {
                op.responses.responses.entry(status.to_string()).or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new()
                            .description(why)
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ApiError")))
                                    .build(),
                            )
                            .build(),
                    )
                });
            }
        }
    }
}
