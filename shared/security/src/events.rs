//! Security events, named after the OWASP logging vocabulary, and the port of the audit trail.
//!
//! Every event is one JSON log line (written by the serving crate's observer) and an entry in the audit trail that the
//! admin API reads. An event carries the client IP, the username when known and a short detail; never a password,
//! hash or token.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};
use crate::store::StoreError;

macro_rules! event_kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// The kinds of security event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventKind {
            $(#[serde(rename = $name)] $variant),+
        }

        impl EventKind {
            /// Every kind, in the order of the API contract.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name),+ }
            }

            /// Whether the event records something refused or suspicious (logged at `WARN`), not a success.
            pub fn is_failure(self) -> bool {
                !matches!(
                    self,
                    EventKind::UserCreated
                        | EventKind::LoginSuccess
                        | EventKind::TokenRevoked
                        | EventKind::SessionRevoked
                        | EventKind::MfaEnabled
                        | EventKind::MfaDisabled
                        | EventKind::MfaRequired
                        | EventKind::DeviceTrusted
                        | EventKind::DevicesRevoked
                        | EventKind::PasswordChange
                        | EventKind::ClientUnblocked
                        | EventKind::UserUnlocked
                        | EventKind::EmailVerified
                        | EventKind::PasswordResetRequest
                        | EventKind::PasswordReset
                        | EventKind::UserDisabled
                        | EventKind::UserEnabled
                        | EventKind::UserDeleted
                        | EventKind::PasskeyAdded
                        | EventKind::PasskeyRemoved
                )
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(EventKind::$variant),)+ _ => None }
            }
        }
    };
}

event_kinds! {
    UserCreated => "user_created",
    LoginSuccess => "authn_login_success",
    LoginFail => "authn_login_fail",
    LoginLock => "authn_login_lock",
    TokenRevoked => "authn_token_revoked",
    TokenInvalid => "authn_token_invalid",
    PasswordChange => "authn_password_change",
    PasswordChangeFail => "authn_password_change_fail",
    AuthzFail => "authz_fail",
    RateLimitExceeded => "excess_rate_limit_exceeded",
    MaliciousSqli => "malicious_sqli",
    MaliciousXss => "malicious_xss",
    MaliciousPathTraversal => "malicious_path_traversal",
    MaliciousInput => "malicious_input",
    ClientBlocked => "client_blocked",
    ClientUnblocked => "client_unblocked",
    UserUnlocked => "user_unlocked",
    DependencyDegraded => "sys_dependency_degraded",
    TokenReuse => "authn_token_reuse",
    SessionRevoked => "authn_session_revoked",
    MfaEnabled => "authn_mfa_enabled",
    MfaDisabled => "authn_mfa_disabled",
    MfaRequired => "authn_mfa_required",
    MfaFail => "authn_mfa_fail",
    DeviceTrusted => "authn_device_trusted",
    DevicesRevoked => "authn_devices_revoked",
    EmailVerified => "user_email_verified",
    PasswordResetRequest => "authn_password_reset_request",
    PasswordReset => "authn_password_reset",
    UserDisabled => "user_disabled",
    UserEnabled => "user_enabled",
    UserDeleted => "user_deleted",
    PasskeyAdded => "authn_passkey_added",
    PasskeyRemoved => "authn_passkey_removed",
    PasskeyFail => "authn_passkey_fail",
}

/// The most characters of an event's detail (and of anything a client chose in it).
pub const DETAIL_MAX: usize = 512;

/// `text` cut to [`DETAIL_MAX`] characters (an ellipsis marks the cut): for anything a client chose (a field path, a
/// parameter name) that reaches a log line or the audit trail.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(DETAIL_MAX - 1) {
        Some((i, _)) if text.len() > i + 1 => std::borrow::Cow::Owned(format!("{}…", &text[..i])),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// Sortable id: the time in milliseconds (zero-padded) and a random suffix.
    pub id: String,
    pub kind: EventKind,
    pub at: Millis,
    pub ip: Option<String>,
    pub username: Option<String>,
    pub detail: String,
    pub request_id: Option<String>,
}

impl SecurityEvent {
    pub fn new(kind: EventKind, at: Millis) -> Self {
        Self {
            id: format!("{at:013}-{}", crate::ids::random_hex(4)),
            kind,
            at,
            ip: None,
            username: None,
            detail: String::new(),
            request_id: None,
        }
    }

    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The detail, at most [`DETAIL_MAX`] characters (anything a client chose is clipped, never copied whole).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = clip(&detail.into()).into_owned();
        self
    }

    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// The event as the admin API shows it.
    pub fn public(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "at": rfc3339(self.at),
            "ip": self.ip,
            "username": self.username,
            "detail": self.detail,
        })
    }
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<SecurityEvent>,
    /// Opaque; pass it back to read the next page.
    pub next_cursor: Option<String>,
}

/// The audit trail (DynamoDB items kept 90 days, written over several partitions and indexed by type and by user;
/// or a bounded ring in memory).
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn record(&self, event: &SecurityEvent) -> Result<(), StoreError>;
    /// Events newest first, optionally of one kind, at most `limit`, after `cursor`.
    async fn list(&self, kind: Option<EventKind>, limit: usize, cursor: Option<&str>) -> Result<EventPage, StoreError>;
    /// The events naming `username`, newest first, at most `limit` (what the user's data export shows).
    async fn of_user(&self, username: &str, limit: usize) -> Result<Vec<SecurityEvent>, StoreError>;
    /// Puts `pseudonym` in place of `username` in every event naming it (an erasure keeps the trail, not the
    /// name); how many events it changed.
    async fn pseudonymize(&self, username: &str, pseudonym: &str) -> Result<u64, StoreError>;
}

/// Where an event is reported: the log line, its metric and the audit trail together (the serving crate's observer).
/// Adapters that notice an event themselves (the limiter falling back to memory) report through this port.
#[async_trait]
pub trait EventRecorder: Send + Sync {
    async fn record(&self, event: SecurityEvent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::ALL.len(), 35);
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn details_hold_at_most_512_characters() {
        let long = "é".repeat(5_000);
        let event = SecurityEvent::new(EventKind::MaliciousInput, 1).detail(format!("location=body.{long}"));
        assert_eq!(event.detail.chars().count(), DETAIL_MAX);
        assert!(event.detail.ends_with('…'));
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"x".repeat(DETAIL_MAX)).len(), DETAIL_MAX, "exactly the maximum is kept whole");
    }

    #[test]
    fn ids_sort_by_time() {
        let a = SecurityEvent::new(EventKind::LoginFail, 999);
        let b = SecurityEvent::new(EventKind::LoginFail, 1_000);
        assert!(a.id < b.id);
    }
}
