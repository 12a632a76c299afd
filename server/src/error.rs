//! The one error type of the server and its mapping to HTTP: stable codes out, internal text only in logs.
use app::api::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthenticated,
    #[error("session expired")]
    SessionExpired,
    #[error("invalid API token")]
    InvalidToken,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("account disabled")]
    AccountDisabled,
    #[error("too many failed sign-in attempts")]
    TooManyAttempts { retry_after: u64 },
    #[error("permission denied")]
    Forbidden,
    #[error("missing or wrong CSRF token")]
    CsrfFailed,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
        details: Value,
    },
    #[error("password shorter than {min} characters")]
    PasswordTooShort { min: usize },
    #[error("username already taken")]
    UsernameTaken,
    #[error("the last active administrator cannot be removed, disabled or demoted")]
    LastAdmin,
    #[error("you cannot delete your own account")]
    CannotDeleteSelf,
    #[error("quota exceeded")]
    QuotaExceeded {
        resource: &'static str,
        limit: i64,
        used: i64,
        requested: i64,
    },
    #[error("the file is not a PNG, JPEG or WebP image")]
    InvalidImage,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    #[error("the address (URL) is too long")]
    UriTooLong,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("host {host} is {status:?}")]
    HostOffline {
        host: String,
        status: app::api::HostStatus,
        last_error: Option<String>,
    },
    #[error("the host cannot be reached ({cause})")]
    HostUnreachable { cause: &'static str, raw: String },
    #[error("the host refused the credentials: {0}")]
    HostAuthFailed(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("cannot {action} a VM that is {state}")]
    InvalidAction { action: String, state: String },
    #[error("not supported by this host: {0}")]
    Unsupported(String),
    #[error("the hypervisor reported an error")]
    Hypervisor(String),
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
    #[error("only part of the change was made ({}): {cause}", applied.join(", "))]
    PartiallyApplied { applied: Vec<String>, cause: Box<Error> },
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Upload(UploadError),
    #[error("in use by {by}")]
    InUse { by: String },
    #[error("not enough space in the storage pool")]
    NoSpace,
    /// No host can take a new VM: `reason` is the one host's reason when one was asked for, else `no_host`;
    /// `skipped` lists each host with its reason.
    #[error("no host can take this VM ({reason})")]
    Placement { reason: String, skipped: Value },
    #[error("the server is busy; try again in {retry_after} s")]
    Busy { retry_after: u64 },
    #[error("too many console sessions ({scope}: {limit})")]
    ConsoleLimit { scope: &'static str, limit: usize },
    #[error("too many notifications being sent at once")]
    NotifyBusy { retry_after: u64 },
    #[error("console unavailable: {reason} {detail}")]
    ConsoleUnavailable { reason: &'static str, detail: String },
    #[error("console refused: {0}")]
    ConsoleRefused(&'static str),
    #[error("the link expired or was revoked")]
    LinkExpired,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(e.into())
    }
}

/// What tus (and the checks of an uploaded file) refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is at offset {current}, not where this chunk starts")]
    OffsetMismatch { current: i64 },
    #[error("the chunk's checksum does not match; it was discarded")]
    ChecksumMismatch,
    #[error("the file's {algorithm} checksum is not the one given")]
    FileChecksumMismatch { algorithm: &'static str },
    #[error("unsupported checksum algorithm")]
    ChecksumAlgorithm,
    #[error("larger than allowed ({max} bytes)")]
    TooLarge { max: i64 },
    #[error("the chunk goes past the upload's declared length")]
    PastLength,
    #[error("unsupported tus version (this server speaks 1.0.0)")]
    TusVersion,
    #[error("Upload-Length is required")]
    LengthRequired,
    /// `expected`: `iso`, `disk_image`, `raw_512`, `ova` or `vmdk` (the UI words each).
    #[error("the file is not {}", expected_words(expected))]
    WrongFormat { expected: &'static str },
    #[error("the upload is not complete")]
    Incomplete,
}

fn expected_words(key: &str) -> &'static str {
    match key {
        "iso" => "an ISO 9660 image",
        "raw_512" => "a raw disk image (its size must be a multiple of 512 bytes)",
        "ova" => "an OVA (a tar archive with an OVF descriptor and a VMDK disk)",
        "vmdk" => "a readable, self-contained VMDK disk",
        "qcow2_alone" => "a self-contained qcow2 image (no backing or external data file)",
        _ => "a qcow2, raw, VMDK or OVA disk image",
    }
}

impl UploadError {
    pub fn status(&self) -> StatusCode {
        use UploadError::*;
        match self {
            OffsetMismatch { .. } | Incomplete => StatusCode::CONFLICT,
            ChecksumMismatch => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            TooLarge { .. } | PastLength => StatusCode::PAYLOAD_TOO_LARGE,
            TusVersion => StatusCode::PRECONDITION_FAILED,
            ChecksumAlgorithm | LengthRequired | WrongFormat { .. } | FileChecksumMismatch { .. } => {
                StatusCode::BAD_REQUEST
            }
        }
    }
    pub fn code(&self) -> &'static str {
        use UploadError::*;
        match self {
            OffsetMismatch { .. } => "offset_mismatch",
            ChecksumMismatch => "checksum_mismatch",
            FileChecksumMismatch { .. } => "file_checksum_mismatch",
            ChecksumAlgorithm => "checksum_algorithm",
            TooLarge { .. } => "too_large",
            PastLength => "past_length",
            TusVersion => "tus_version",
            LengthRequired => "length_required",
            WrongFormat { .. } => "wrong_format",
            Incomplete => "incomplete",
        }
    }
    fn details(&self) -> Value {
        use UploadError::*;
        match self {
            OffsetMismatch { current } => json!({ "offset": current }),
            TooLarge { max } => json!({ "max": max }),
            WrongFormat { expected } => json!({ "expected": expected }),
            FileChecksumMismatch { algorithm } => json!({ "algorithm": algorithm }),
            _ => Value::Null,
        }
    }
}

impl From<UploadError> for Error {
    fn from(e: UploadError) -> Self {
        Error::Upload(e)
    }
}

/// The stable code of an error response, left in the response for the audit layer.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

impl Error {
    pub fn invalid(field: &'static str, reason: &'static str) -> Self {
        Error::Invalid {
            field,
            reason,
            details: Value::Null,
        }
    }

    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            Unauthenticated | SessionExpired | InvalidToken | InvalidCredentials | AccountDisabled => {
                StatusCode::UNAUTHORIZED
            }
            TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Forbidden | CsrfFailed => StatusCode::FORBIDDEN,
            NotFound(_) => StatusCode::NOT_FOUND,
            Invalid { .. } | PasswordTooShort { .. } | MalformedJson(_) | InvalidImage => StatusCode::BAD_REQUEST,
            UsernameTaken
            | LastAdmin
            | CannotDeleteSelf
            | QuotaExceeded { .. }
            | InvalidState(_)
            | InvalidAction { .. }
            | Duplicate { .. }
            | Cancelled => StatusCode::CONFLICT,
            Upload(u) => u.status(),
            InUse { .. } => StatusCode::CONFLICT,
            NoSpace => StatusCode::INSUFFICIENT_STORAGE,
            Placement { .. } => StatusCode::CONFLICT,
            HostOffline { .. } => StatusCode::SERVICE_UNAVAILABLE,
            HostUnreachable { .. } | HostAuthFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            Hypervisor(_) => StatusCode::BAD_GATEWAY,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            UriTooLong => StatusCode::URI_TOO_LONG,
            PartiallyApplied { cause, .. } => cause.status(),
            Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleLimit { .. } | NotifyBusy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ConsoleUnavailable { .. } => StatusCode::CONFLICT,
            ConsoleRefused(_) => StatusCode::FORBIDDEN,
            LinkExpired => StatusCode::GONE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            Unauthenticated => "unauthenticated",
            SessionExpired => "session_expired",
            InvalidToken => "invalid_token",
            InvalidCredentials => "invalid_credentials",
            AccountDisabled => "account_disabled",
            TooManyAttempts { .. } => "too_many_attempts",
            Forbidden => "forbidden",
            CsrfFailed => "csrf_failed",
            NotFound(_) => "not_found",
            Invalid { .. } => "invalid_input",
            PasswordTooShort { .. } => "password_too_short",
            UsernameTaken => "username_taken",
            LastAdmin => "last_admin",
            CannotDeleteSelf => "cannot_delete_self",
            QuotaExceeded { .. } => "quota_exceeded",
            InvalidImage => "invalid_image",
            PayloadTooLarge => "payload_too_large",
            MethodNotAllowed => "method_not_allowed",
            UriTooLong => "uri_too_long",
            MalformedJson(_) => "malformed_json",
            UnsupportedMediaType => "unsupported_media_type",
            HostOffline { .. } => "host_offline",
            HostUnreachable { .. } => "host_unreachable",
            HostAuthFailed(_) => "host_auth_failed",
            InvalidState(_) | InvalidAction { .. } => "invalid_state",
            Unsupported(_) => "unsupported",
            Hypervisor(_) => "hypervisor_error",
            Duplicate { .. } => "duplicate",
            PartiallyApplied { .. } => "partially_applied",
            Busy { .. } => "busy",
            Cancelled => "cancelled",
            Upload(u) => u.code(),
            InUse { .. } => "in_use",
            NoSpace => "no_space",
            Placement { .. } => "no_host",
            ConsoleLimit { .. } => "too_many_consoles",
            NotifyBusy { .. } => "too_many_notifications",
            ConsoleUnavailable { .. } => "console_unavailable",
            ConsoleRefused(_) => "console_refused",
            LinkExpired => "link_expired",
            Internal(_) => "internal",
        }
    }

    fn details(&self) -> Value {
        use Error::*;
        match self {
            TooManyAttempts { retry_after } => json!({ "retry_after": retry_after }),
            NotFound(what) => json!({ "resource": what }),
            Invalid { field, reason, details } => {
                let mut d = json!({ "field": field, "reason": reason });
                if let (Some(d), Some(extra)) = (d.as_object_mut(), details.as_object()) {
                    d.extend(extra.clone());
                }
                d
            }
            PasswordTooShort { min } => json!({ "min": min }),
            QuotaExceeded {
                resource,
                limit,
                used,
                requested,
            } => {
                json!({ "resource": resource, "limit": limit, "used": used, "requested": requested })
            }
            MalformedJson(msg) => json!({ "reason": msg }),
            HostOffline {
                host,
                status,
                last_error,
            } => json!({ "host": host, "status": status, "last_error": last_error }),
            HostUnreachable { cause, .. } => json!({ "cause": cause }),
            HostAuthFailed(m) | InvalidState(m) | Unsupported(m) => json!({ "reason": m }),
            Duplicate { what } => json!({ "field": what }),
            InvalidAction { action, state } => json!({ "action": action, "state": state }),
            PartiallyApplied { applied, cause } => json!({ "applied": applied, "cause": cause.code() }),
            Busy { retry_after } => json!({ "retry_after": retry_after }),
            InUse { by } => json!({ "by": by }),
            Placement { reason, skipped } => json!({ "reason": reason, "skipped": skipped }),
            ConsoleLimit { scope, limit } => json!({ "resource": scope, "limit": limit }),
            NotifyBusy { retry_after } => json!({ "retry_after": retry_after }),
            ConsoleUnavailable { reason, .. } | ConsoleRefused(reason) => json!({ "reason": reason }),
            Upload(u) => u.details(),
            _ => Value::Null,
        }
    }
}

impl Error {
    /// The wire form, for places that report several errors in one answer (batches).
    pub fn to_api(&self) -> ApiError {
        ApiError {
            code: self.code().into(),
            message: self.public_message(),
            details: self.details(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            Error::Internal(_) | Error::Hypervisor(_) => "the operation failed on the server".into(),
            other => other.to_string(),
        }
    }
}

impl Error {
    /// The answer for a client, with internal and hypervisor text logged under a reference id (named in the
    /// message and in `details.reference`).
    pub fn to_api_logged(&self) -> ApiError {
        let (message, reference) = self.logged_message();
        let mut details = self.details();
        if let Some(r) = reference {
            match details.as_object_mut() {
                Some(d) => {
                    d.insert("reference".into(), json!(r));
                }
                None => details = json!({ "reference": r }),
            }
        }
        ApiError {
            code: self.code().into(),
            message,
            details,
        }
    }

    /// The message sent to the client. Internal and hypervisor text is logged under a reference id instead
    /// (libvirt's text can name paths on the host), and the id is sent so an admin can find the log line.
    fn logged_message(&self) -> (String, Option<String>) {
        match self {
            Error::Internal(e) => {
                let reference = crate::auth::tokens::random_hex(6);
                tracing::error!(reference = %reference, error = ?e, "internal error");
                (format!("internal error (reference {reference})"), Some(reference))
            }
            Error::Hypervisor(m) => {
                let reference = crate::auth::tokens::random_hex(6);
                tracing::warn!(reference = %reference, error = %m, "hypervisor error");
                (
                    format!("the hypervisor reported an error (reference {reference})"),
                    Some(reference),
                )
            }
            Error::HostUnreachable { cause, raw } => {
                let reference = crate::auth::tokens::random_hex(6);
                tracing::warn!(reference = %reference, cause, error = %raw, "host unreachable");
                (
                    format!("the host cannot be reached ({cause}; reference {reference})"),
                    Some(reference),
                )
            }
            Error::PartiallyApplied { applied, cause } => {
                let (m, reference) = cause.logged_message();
                (
                    format!("only part of the change was made ({}): {m}", applied.join(", ")),
                    reference,
                )
            }
            other => (other.to_string(), None),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = self.to_api_logged();
        let mut resp = (status, axum::Json(body)).into_response();
        if let Error::TooManyAttempts { retry_after }
        | Error::Busy { retry_after }
        | Error::NotifyBusy { retry_after } = self
        {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp.extensions_mut().insert(ErrorCode(self.code()));
        resp
    }
}
