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
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(e.into())
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
            UsernameTaken | LastAdmin | CannotDeleteSelf | QuotaExceeded { .. } => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
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
            MalformedJson(_) => "malformed_json",
            UnsupportedMediaType => "unsupported_media_type",
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
            _ => Value::Null,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Error::Internal(e) => {
                let reference = crate::auth::tokens::random_hex(6);
                tracing::error!(reference = %reference, error = ?e, "internal error");
                format!("internal error (reference {reference})")
            }
            other => other.to_string(),
        };
        let body = ApiError {
            code: self.code().into(),
            message,
            details: self.details(),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Error::TooManyAttempts { retry_after } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp.extensions_mut().insert(ErrorCode(self.code()));
        resp
    }
}
