//! Problem responses (RFC 9457) with the stable machine codes of the API contract.
//!
//! Every refusal in CloudMind is an [`ApiError`]; one place ([`ApiError::problem`]) turns it into a status, the
//! extra headers it needs (`Retry-After`, `WWW-Authenticate`, `Allow`) and an `application/problem+json` body. 4xx
//! bodies speak to the caller; the 500 body is generic and its cause goes to the log only.

use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::password::Violation;

/// One broken field rule, listed in a `validation_failed` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Every refusal the API can give, one variant per code of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    ValidationFailed(Vec<FieldError>),
    MaliciousInput,
    /// No usable bearer token. `token_presented` adds `error="invalid_token"` to `WWW-Authenticate`.
    Unauthorized {
        token_presented: bool,
    },
    TokenExpired,
    TokenRevoked,
    InvalidCredentials,
    Forbidden,
    IpBlocked {
        retry_after: u64,
    },
    RegistrationDisabled,
    NotFound,
    MethodNotAllowed {
        allow: Vec<http::Method>,
    },
    UsernameTaken,
    /// The password was right and the account has MFA on: the second step's token (never printed).
    MfaRequired {
        mfa_token: MfaToken,
        expires_in: u64,
    },
    MfaAlreadyEnabled,
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType,
    WeakPassword(Vec<Violation>),
    AccountLocked {
        retry_after: u64,
    },
    RateLimited {
        retry_after: u64,
    },
    ServiceUnavailable,
    /// A verification or reset token that is unknown, used or expired (one code for all three).
    LinkInvalid,
    /// The right password for an account whose address is not verified (`REQUIRE_VERIFIED_EMAIL`).
    EmailNotVerified,
    /// The right password for a disabled account.
    AccountDisabled,
    EmailAlreadyVerified,
    /// The request conflicts with the state of the resource (an admin disabling themself).
    Conflict,
    /// Every password-hashing place is taken: 503 with `Retry-After`, nothing counted.
    Busy {
        retry_after: u64,
    },
    Internal,
}

/// An `mfa_token` on its way to the client: its `Debug` never shows it.
#[derive(Clone)]
pub struct MfaToken(pub secrecy::SecretString);

impl PartialEq for MfaToken {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret as _;
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl Eq for MfaToken {}

impl std::fmt::Debug for MfaToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaToken([redacted])")
    }
}

/// A problem response (RFC 9457): status, the headers it needs beyond the ones every response gets, and its JSON
/// body. [`Problem::new`] is the one constructor of every problem body CloudMind sends: the gate's refusals, and
/// what the local server answers itself (timeouts, requests it cannot parse).
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    /// `type`, `title`, `status`, `detail`, `code` and any member a code adds; `request_id` is added by
    /// [`Problem::body_for`] when the response is sent.
    pub body: Value,
}

impl Problem {
    /// A problem with the stable machine `code` (its `type` is `https://cloudmind.dev/problems/<code>`).
    pub fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        let body = json!({
            "type": format!("https://cloudmind.dev/problems/{code}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail.into(),
            "code": code,
        });
        Self { status, headers: Vec::new(), body }
    }

    /// The same problem with one more member in its body.
    pub fn member(mut self, name: &str, value: Value) -> Self {
        self.body[name] = value;
        self
    }

    /// The same problem with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The body as sent for the request `request_id` (the `X-Request-Id` of the same response).
    pub fn body_for(&self, request_id: &str) -> Value {
        let mut body = self.body.clone();
        body["request_id"] = Value::String(request_id.to_string());
        body
    }
}

impl ApiError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ValidationFailed(_) | Self::MaliciousInput | Self::LinkInvalid => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } | Self::TokenExpired | Self::TokenRevoked | Self::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden
            | Self::IpBlocked { .. }
            | Self::RegistrationDisabled
            | Self::MfaRequired { .. }
            | Self::EmailNotVerified
            | Self::AccountDisabled => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UsernameTaken | Self::MfaAlreadyEnabled | Self::EmailAlreadyVerified | Self::Conflict => {
                StatusCode::CONFLICT
            }
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::WeakPassword(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::AccountLocked { .. } => StatusCode::LOCKED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ValidationFailed(_) => "validation_failed",
            Self::MaliciousInput => "malicious_input",
            Self::Unauthorized { .. } => "unauthorized",
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked => "token_revoked",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::IpBlocked { .. } => "ip_blocked",
            Self::RegistrationDisabled => "registration_disabled",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::UsernameTaken => "username_taken",
            Self::MfaRequired { .. } => "mfa_required",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::WeakPassword(_) => "weak_password",
            Self::AccountLocked { .. } => "account_locked",
            Self::RateLimited { .. } => "rate_limited",
            Self::ServiceUnavailable | Self::Busy { .. } => "service_unavailable",
            Self::LinkInvalid => "link_invalid",
            Self::EmailNotVerified => "email_not_verified",
            Self::AccountDisabled => "account_disabled",
            Self::EmailAlreadyVerified => "email_already_verified",
            Self::Conflict => "conflict",
            Self::Internal => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::ValidationFailed(_) => "The request is not valid",
            Self::MaliciousInput => "The request was refused",
            Self::Unauthorized { .. } => "Authentication required",
            Self::TokenExpired => "The token has expired",
            Self::TokenRevoked => "The token has been revoked",
            Self::InvalidCredentials => "Invalid credentials",
            Self::Forbidden => "Forbidden",
            Self::IpBlocked { .. } => "Client blocked",
            Self::RegistrationDisabled => "Registration is disabled",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed { .. } => "Method not allowed",
            Self::UsernameTaken => "Username taken",
            Self::MfaRequired { .. } => "MFA required",
            Self::MfaAlreadyEnabled => "MFA already enabled",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::WeakPassword(_) => "The password is too weak",
            Self::AccountLocked { .. } => "Account locked",
            Self::RateLimited { .. } => "Too many requests",
            Self::ServiceUnavailable | Self::Busy { .. } => "Service unavailable",
            Self::LinkInvalid => "The link is not valid",
            Self::EmailNotVerified => "E-mail address not verified",
            Self::AccountDisabled => "Account disabled",
            Self::EmailAlreadyVerified => "E-mail address already verified",
            Self::Conflict => "Conflict",
            Self::Internal => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::ValidationFailed(_) => "One or more fields are missing, malformed or break a rule.".into(),
            Self::MaliciousInput => "The request contains input that looks like an attack.".into(),
            Self::Unauthorized { .. } => "A valid bearer token is required.".into(),
            Self::TokenExpired => "The access token has expired; log in again.".into(),
            Self::TokenRevoked => "The access token is no longer valid; log in again.".into(),
            Self::InvalidCredentials => "The username or password is incorrect.".into(),
            Self::Forbidden => "You do not have the role this operation needs.".into(),
            Self::IpBlocked { retry_after } => {
                format!("This client is blocked after suspicious activity; retry in {retry_after} s.")
            }
            Self::RegistrationDisabled => "Sign-up is switched off.".into(),
            Self::NotFound => "No such resource.".into(),
            Self::MethodNotAllowed { allow } => format!("Allowed methods: {}.", allowed(allow)),
            Self::UsernameTaken => "That username is already registered.".into(),
            Self::MfaRequired { .. } => {
                "The password is right; send a code from the authenticator app (or a recovery code) with mfa_token to POST /api/v1/auth/mfa.".into()
            }
            Self::MfaAlreadyEnabled => "MFA is already on for this account.".into(),
            Self::PayloadTooLarge { limit } => format!("The body is larger than {limit} bytes."),
            Self::UnsupportedMediaType => "Send the body as application/json.".into(),
            Self::WeakPassword(_) => "The password breaks the password policy.".into(),
            Self::AccountLocked { retry_after } => {
                format!("Too many failed attempts; the account is locked for {retry_after} s.")
            }
            Self::RateLimited { retry_after } => format!("Rate limit exceeded; retry in {retry_after} s."),
            Self::ServiceUnavailable => "A dependency is unavailable; try again shortly.".into(),
            Self::LinkInvalid => "The link is unknown, used or expired; ask for a new one.".into(),
            Self::EmailNotVerified => "Verify your e-mail address first: follow the link in the message we sent.".into(),
            Self::AccountDisabled => "This account is disabled.".into(),
            Self::EmailAlreadyVerified => "The e-mail address is already verified.".into(),
            Self::Conflict => "The request conflicts with the current state of the resource.".into(),
            Self::Busy { retry_after } => format!("The server is busy; retry in {retry_after} s."),
            Self::Internal => "An internal error occurred.".into(),
        }
    }

    /// Renders the refusal: status, headers and body (the gate adds `request_id`).
    pub fn problem(&self) -> Problem {
        let problem = Problem::new(self.status(), self.code(), self.title(), self.detail());
        match self {
            Self::ValidationFailed(errors) => problem.member("errors", json!(errors)),
            Self::WeakPassword(violations) => {
                problem.member("violations", json!(violations.iter().map(|v| v.as_str()).collect::<Vec<_>>()))
            }
            Self::Unauthorized { token_presented: true } | Self::TokenExpired | Self::TokenRevoked => {
                problem.header("www-authenticate", r#"Bearer error="invalid_token""#)
            }
            Self::Unauthorized { token_presented: false } | Self::InvalidCredentials => {
                problem.header("www-authenticate", "Bearer")
            }
            Self::IpBlocked { retry_after }
            | Self::AccountLocked { retry_after }
            | Self::RateLimited { retry_after }
            | Self::Busy { retry_after } => problem.header("retry-after", retry_after.to_string()),
            // A dependency that is down comes back in seconds, or the caller should back off and try again.
            Self::ServiceUnavailable => problem.header("retry-after", "1"),
            Self::MethodNotAllowed { allow } => problem.header("allow", allowed(allow)),
            Self::MfaRequired { mfa_token, expires_in } => {
                use secrecy::ExposeSecret as _;
                problem.member("mfa_token", json!(mfa_token.0.expose_secret())).member("expires_in", json!(expires_in))
            }
            _ => problem,
        }
    }
}

/// The methods of an `Allow` field.
fn allowed(methods: &[http::Method]) -> String {
    methods.iter().map(http::Method::as_str).collect::<Vec<_>>().join(", ")
}

impl From<crate::store::StoreError> for ApiError {
    /// A store failure the handler did not expect: 503 when the store is down (the cause is logged, never sent),
    /// 404 when the item is gone, otherwise a generic 500.
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            e @ StoreError::Unavailable { .. } => {
                tracing::error!(event = "dependency_unavailable", error = %crate::store::error_chain(&e));
                Self::ServiceUnavailable
            }
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict => {
                tracing::error!(event = "unexpected_conflict");
                Self::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_401_carries_www_authenticate() {
        for e in [
            ApiError::Unauthorized { token_presented: false },
            ApiError::Unauthorized { token_presented: true },
            ApiError::TokenExpired,
            ApiError::TokenRevoked,
            ApiError::InvalidCredentials,
        ] {
            let p = e.problem();
            assert_eq!(p.status, 401);
            assert!(p.headers.iter().any(|(k, v)| *k == "www-authenticate" && v.starts_with("Bearer")), "{e:?}");
        }
    }

    #[test]
    fn throttling_refusals_carry_retry_after() {
        for e in [
            ApiError::RateLimited { retry_after: 7 },
            ApiError::AccountLocked { retry_after: 7 },
            ApiError::IpBlocked { retry_after: 7 },
        ] {
            assert!(e.problem().headers.contains(&("retry-after", "7".to_string())), "{e:?}");
        }
    }

    #[test]
    fn internal_error_body_is_generic() {
        let p = ApiError::Internal.problem();
        assert_eq!(p.status, 500);
        assert_eq!(p.body["detail"], "An internal error occurred.");
        assert_eq!(p.body["code"], "internal_error");
    }

    #[test]
    fn weak_password_lists_rule_names() {
        let p = ApiError::WeakPassword(vec![Violation::TooShort, Violation::CommonPassword]).problem();
        assert_eq!(p.body["violations"], json!(["too_short", "common_password"]));
    }
}
