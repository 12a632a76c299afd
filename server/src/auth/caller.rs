//! Who is asking: the principal (if any), where the request came from, and its audit slot. Services take a
//! `Caller`; it carries no HTTP types (the HTTP side builds it in `http::caller`).
use crate::error::{Error, Result};
use crate::services::audit::AuditSlot;
use app::api::Role;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Principal {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub via_token: bool,
}

/// Why a request has no principal.
#[derive(Clone, Copy, Debug)]
pub enum NoPrincipal {
    Anonymous,
    SessionExpired,
    AccountDisabled,
    InvalidToken,
}

/// The principal (if any) of a request, where it came from, and its audit slot.
#[derive(Clone)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub source: String,
    pub why_none: NoPrincipal,
    /// Whether the request may change something: safe methods, tokens, or a matching CSRF token.
    pub csrf_ok: bool,
    pub slot: Arc<AuditSlot>,
}

impl Caller {
    /// The principal, or the reason the request may not act: not signed in, expired, or missing CSRF token.
    pub fn require(&self) -> Result<&Principal> {
        match &self.principal {
            Some(p) if self.csrf_ok => Ok(p),
            Some(_) => Err(Error::CsrfFailed),
            None => Err(match self.why_none {
                NoPrincipal::Anonymous => Error::Unauthenticated,
                NoPrincipal::SessionExpired => Error::SessionExpired,
                NoPrincipal::AccountDisabled => Error::AccountDisabled,
                NoPrincipal::InvalidToken => Error::InvalidToken,
            }),
        }
    }

    /// A caller for work that does not come from HTTP (start-up, the CLI).
    pub fn system(source: &str) -> Caller {
        Caller {
            principal: None,
            source: source.into(),
            why_none: NoPrincipal::Anonymous,
            csrf_ok: true,
            slot: Arc::new(AuditSlot::default()),
        }
    }
}
