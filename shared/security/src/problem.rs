//! Problem responses (RFC 9457) with the stable machine codes of the API contract.
//!
//! Every refusal in CloudMind is an [`ApiError`]; one place ([`ApiError::problem`]) turns it into a status, the
//! extra headers it needs (`Retry-After`, `WWW-Authenticate`, `Allow`) and an `application/problem+json` body. 4xx
//! bodies speak to the caller; the 500 body is generic and its cause goes to the log only.

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
        allow: Vec<&'static str>,
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

/// A rendered problem: status, extra headers and the JSON body (without `request_id`, added by the gate).
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl ApiError {
    /// The refusal for a token that failed verification or revocation.
    pub fn from_token(e: crate::tokens::TokenError) -> Self {
        use crate::tokens::TokenError;
        match e {
            TokenError::Invalid(_) | TokenError::UnknownKey => Self::Unauthorized { token_presented: true },
            TokenError::Expired => Self::TokenExpired,
            TokenError::Revoked => Self::TokenRevoked,
        }
    }

    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::ValidationFailed(_) | Self::MaliciousInput => 400,
            Self::Unauthorized { .. } | Self::TokenExpired | Self::TokenRevoked | Self::InvalidCredentials => 401,
            Self::Forbidden | Self::IpBlocked { .. } | Self::RegistrationDisabled | Self::MfaRequired { .. } => 403,
            Self::MfaAlreadyEnabled => 409,
            Self::NotFound => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::UsernameTaken => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::WeakPassword(_) => 422,
            Self::AccountLocked { .. } => 423,
            Self::RateLimited { .. } => 429,
            Self::ServiceUnavailable | Self::Busy { .. } => 503,
            Self::Internal => 500,
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
            Self::MethodNotAllowed { allow } => format!("Allowed methods: {}.", allow.join(", ")),
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
            Self::Busy { retry_after } => format!("The server is busy; retry in {retry_after} s."),
            Self::Internal => "An internal error occurred.".into(),
        }
    }

    /// Renders the refusal: status, headers and body (the gate adds `request_id`).
    pub fn problem(&self) -> Problem {
        let code = self.code();
        let mut body = json!({
            "type": format!("https://cloudmind.dev/problems/{code}"),
            "title": self.title(),
            "status": self.status(),
            "detail": self.detail(),
            "code": code,
        });
        let mut headers = Vec::new();
        match self {
            Self::ValidationFailed(errors) => body["errors"] = json!(errors),
            Self::WeakPassword(violations) => {
                body["violations"] = json!(violations.iter().map(|v| v.as_str()).collect::<Vec<_>>())
            }
            Self::Unauthorized { token_presented: true } | Self::TokenExpired | Self::TokenRevoked => {
                headers.push(("www-authenticate", r#"Bearer error="invalid_token""#.to_string()))
            }
            Self::Unauthorized { token_presented: false } | Self::InvalidCredentials => {
                headers.push(("www-authenticate", "Bearer".to_string()))
            }
            Self::IpBlocked { retry_after }
            | Self::AccountLocked { retry_after }
            | Self::RateLimited { retry_after }
            | Self::Busy { retry_after } => headers.push(("retry-after", retry_after.to_string())),
            Self::MethodNotAllowed { allow } => headers.push(("allow", allow.join(", "))),
            Self::MfaRequired { mfa_token, expires_in } => {
                use secrecy::ExposeSecret as _;
                body["mfa_token"] = json!(mfa_token.0.expose_secret());
                body["expires_in"] = json!(expires_in);
            }
            _ => {}
        }
        Problem { status: self.status(), headers, body }
    }
}

impl From<crate::hashing::HashError> for ApiError {
    /// Busy hashing threads: 503 with `Retry-After: 1` (a hash takes tens of milliseconds); a failed hash: 500,
    /// its cause in the log.
    fn from(e: crate::hashing::HashError) -> Self {
        match e {
            crate::hashing::HashError::Busy => {
                tracing::warn!(event = "hashing_busy");
                Self::Busy { retry_after: 1 }
            }
            e @ crate::hashing::HashError::Failed(_) => {
                tracing::error!(event = "hash_failed", error = %crate::store::error_chain(&e));
                Self::Internal
            }
        }
    }
}

impl From<crate::credentials::CheckError> for ApiError {
    fn from(e: crate::credentials::CheckError) -> Self {
        match e {
            crate::credentials::CheckError::Store(e) => e.into(),
            crate::credentials::CheckError::Hash(e) => e.into(),
        }
    }
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
