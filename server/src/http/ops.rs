//! Names each API operation from the OpenAPI document, and the layer that audits every changing request.
use crate::auth::Caller;
use crate::error::ErrorCode;
use crate::services::audit::{self, AuditSlot, Outcome};
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// (method, path template split on '/', operation id) for every documented route.
pub struct OpTable(Vec<(Method, Vec<String>, String)>);

impl OpTable {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> OpTable {
        let mut ops = Vec::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (m, op) in methods {
                if let Some(id) = op.as_ref().and_then(|o| o.operation_id.clone()) {
                    ops.push((m, path.split('/').map(String::from).collect(), id));
                }
            }
        }
        OpTable(ops)
    }

    /// The operation's id as documented (`vm.{action}`): a bounded set, for counting requests.
    pub fn template(&self, method: &Method, path: &str) -> Option<&str> {
        let segs: Vec<&str> = path.split('/').collect();
        self.0.iter().find_map(|(m, tpl, id)| {
            let matches = m == method
                && tpl.len() == segs.len()
                && tpl
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()));
            matches.then_some(id.as_str())
        })
    }

    /// The operation's id; an id naming a path parameter (`vm.{action}`) takes its value when that is a plain
    /// lowercase word, so refusals are named like successes (`vm.start`).
    pub fn lookup(&self, method: &Method, path: &str) -> Option<String> {
        let segs: Vec<&str> = path.split('/').collect();
        let (tpl, id) = self.0.iter().find_map(|(m, tpl, id)| {
            let matches = m == method
                && tpl.len() == segs.len()
                && tpl
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()));
            matches.then_some((tpl, id))
        })?;
        let mut name = id.clone();
        for (t, s) in tpl.iter().zip(&segs) {
            if t.starts_with('{') && name.contains(t.as_str()) {
                let plain = (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                name = name.replace(t.as_str(), if plain { s } else { "other" });
            }
        }
        Some(name)
    }
}

/// Leaves exactly one audit record for each request that could change something: services write the
/// record of a success in the change's own transaction; this layer writes it for everything else.
pub async fn audit_layer(
    State((state, ops)): State<(AppState, Arc<OpTable>)>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_else(|| "local".into());
    let slot = Arc::new(AuditSlot::default());
    req.extensions_mut().insert(slot.clone());
    let resp = next.run(req).await;
    if slot.is_written() {
        return resp;
    }
    // No operation (an unknown route or method): nothing could have changed, and there is nothing to name.
    let Some(action) = ops.lookup(&method, &path) else {
        return resp;
    };
    let status = resp.status().as_u16();
    let code = resp.extensions().get::<ErrorCode>().map(|c| c.0);
    let mut caller = Caller::system(&source);
    caller.slot = slot;
    let details = json!({ "method": method.as_str(), "status": status, "code": code });
    let outcome = Outcome::of_status(status);
    if let Err(e) = audit::record_alone(&state, &caller, &action, Some(&path), outcome, &details).await {
        tracing::error!(error = %e, %action, "writing audit record");
    }
    resp
}

/// Counts every API request by operation (`other` for unknown routes) and status, for `/metrics`.
pub async fn count_layer(State((state, ops)): State<(AppState, Arc<OpTable>)>, req: Request, next: Next) -> Response {
    let op = ops
        .template(req.method(), req.uri().path())
        .unwrap_or("other")
        .to_string();
    let resp = next.run(req).await;
    state.monitor.count_request(op, resp.status().as_u16());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates() {
        let t = OpTable(vec![
            (
                Method::GET,
                "/api/v1/users".split('/').map(String::from).collect(),
                "user.list".into(),
            ),
            (
                Method::PATCH,
                "/api/v1/users/{id}".split('/').map(String::from).collect(),
                "user.update".into(),
            ),
        ]);
        assert_eq!(
            t.lookup(&Method::PATCH, "/api/v1/users/42").as_deref(),
            Some("user.update")
        );
        assert_eq!(t.lookup(&Method::PATCH, "/api/v1/users/"), None);
        assert_eq!(t.lookup(&Method::DELETE, "/api/v1/users/42"), None);
        assert_eq!(t.lookup(&Method::GET, "/api/v1/users").as_deref(), Some("user.list"));
    }

    #[test]
    fn names_take_plain_path_values() {
        let t = OpTable(vec![(
            Method::POST,
            "/api/v1/vms/{id}/actions/{action}"
                .split('/')
                .map(String::from)
                .collect(),
            "vm.{action}".into(),
        )]);
        assert_eq!(
            t.lookup(&Method::POST, "/api/v1/vms/x/actions/start").as_deref(),
            Some("vm.start")
        );
        assert_eq!(
            t.lookup(&Method::POST, "/api/v1/vms/x/actions/%3Cb%3E").as_deref(),
            Some("vm.other")
        );
    }
}
