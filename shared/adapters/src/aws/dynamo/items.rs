//! Attribute values, keys and the item shapes of users; the shared error mapping of every call.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::mfa::MfaState;
use cloudmind_security::users::{ROLE_ADMIN, ROLE_USER, User};

pub(super) type Item = HashMap<String, AttributeValue>;

/// How long audit events are kept.
pub(super) const EVENT_RETENTION_DAYS: u64 = 90;
pub(super) const DAY_MS: u64 = 86_400_000;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn get_n(item: &Item, key: &str) -> Option<u64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

pub(super) fn unavailable<E, R>(op: &'static str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::unavailable(op, e)
}

/// Whether a write lost its condition (the expected outcome of a conditional write, not a failure).
pub(super) fn condition_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

/// Epoch seconds for the TTL attribute, rounded up so an item never disappears early.
pub(super) fn ttl_seconds(ms: Millis) -> u64 {
    ms.div_ceil(1000)
}

/// The `by_name` index partition of a username: its first character. A page of users in username order is one
/// query of one partition (two where it crosses into the next letter), and registrations spread over 38 partitions.
pub(super) fn name_partition(username: &str) -> String {
    format!("NAME#{}", username.chars().next().unwrap_or('_'))
}

pub(super) fn user_item(u: &User) -> Item {
    let mut item = Item::from([
        ("username".into(), s(&u.username)),
        ("lpk".into(), s(name_partition(&u.username))),
        ("id".into(), s(&u.id)),
        ("email".into(), s(&u.email)),
        ("display_name".into(), s(&u.display_name)),
        ("password_hash".into(), s(&u.password_hash)),
        ("roles".into(), AttributeValue::Ss(u.roles.clone())),
        ("created_at".into(), n(u.created_at)),
        ("token_generation".into(), n(u.token_generation)),
        ("disabled".into(), AttributeValue::Bool(u.disabled)),
        ("email_verified".into(), AttributeValue::Bool(u.email_verified)),
    ]);
    if let Some(t) = u.tokens_valid_after {
        item.insert("tokens_valid_after".into(), n(t));
    }
    if u.mfa != MfaState::default() {
        item.insert("mfa_enabled".into(), AttributeValue::Bool(u.mfa.enabled));
        item.insert("mfa_last_step".into(), n(u.mfa.last_step));
        for (name, value) in [("mfa_secret", &u.mfa.secret), ("mfa_pending", &u.mfa.pending)] {
            if let Some(v) = value {
                item.insert(name.into(), s(v));
            }
        }
        if !u.mfa.recovery.is_empty() {
            item.insert("mfa_recovery".into(), AttributeValue::Ss(u.mfa.recovery.clone()));
        }
    }
    item
}

pub(super) fn parse_user(item: &Item) -> Result<User, StoreError> {
    let missing = |f: &str| StoreError::unavailable("dynamodb user item", format!("no {f}"));
    let mut roles: Vec<String> = item.get("roles").and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default();
    let rank = |r: &str| match r {
        ROLE_USER => 0,
        ROLE_ADMIN => 1,
        _ => 2,
    };
    roles.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    Ok(User {
        id: get_s(item, "id").ok_or_else(|| missing("id"))?,
        username: get_s(item, "username").ok_or_else(|| missing("username"))?,
        email: get_s(item, "email").unwrap_or_default(),
        display_name: get_s(item, "display_name").unwrap_or_default(),
        password_hash: get_s(item, "password_hash").ok_or_else(|| missing("password_hash"))?,
        roles,
        created_at: get_n(item, "created_at").unwrap_or_default(),
        tokens_valid_after: get_n(item, "tokens_valid_after"),
        token_generation: get_n(item, "token_generation").unwrap_or_default(),
        disabled: item.get("disabled").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        mfa: MfaState {
            enabled: item.get("mfa_enabled").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
            secret: get_s(item, "mfa_secret"),
            pending: get_s(item, "mfa_pending"),
            last_step: get_n(item, "mfa_last_step").unwrap_or_default(),
            recovery: item.get("mfa_recovery").and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default(),
        },
        email_verified: item.get("email_verified").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
    })
}

/// The security-table entry that finds a user by address: `EMAIL#<SHA-256 of the address>` / `USER#<username>` (the
/// address itself is not stored there). One per account; accounts sharing an address share the partition.
pub(super) fn email_key(email: &str, username: &str) -> Item {
    use sha2::Digest as _;
    let hash = hex::encode(sha2::Sha256::digest(email.as_bytes()));
    Item::from([("pk".into(), s(format!("EMAIL#{hash}"))), ("sk".into(), s(format!("USER#{username}")))])
}

/// The key of a login name's lockout item: `LOCKOUT#` and a hash of the name (salted with the table's name), never
/// the name itself: what is typed into the username field is sometimes a password.
pub(super) fn lockout_key(table: &str, username: &str) -> Item {
    let id = cloudmind_security::lockout::stored_id(table, username);
    Item::from([("pk".into(), s(format!("LOCKOUT#{id}"))), ("sk".into(), s("LOCKOUT"))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_round_trip_through_items() {
        let mut u = User::example("alice");
        u.roles = vec!["admin".into(), "user".into()];
        u.tokens_valid_after = Some(42);
        u.mfa = MfaState {
            enabled: true,
            secret: Some("c2VhbGVk".into()),
            pending: None,
            last_step: 7,
            recovery: vec!["a".into(), "b".into()],
        };
        let back = parse_user(&user_item(&u)).unwrap();
        assert_eq!(back.roles, vec!["user", "admin"]);
        assert_eq!(back.tokens_valid_after, Some(42));
        assert_eq!(User { roles: back.roles.clone(), ..u }, back);
    }

    #[test]
    fn lockout_keys_never_hold_the_name() {
        let key = lockout_key("t", "hunter2-secret!");
        let pk = key["pk"].as_s().unwrap();
        assert!(pk.starts_with("LOCKOUT#") && !pk.contains("hunter2"), "{pk}");
        assert_eq!(key, lockout_key("t", "hunter2-secret!"), "the same name, the same item");
        assert_ne!(key, lockout_key("t", "hunter2-secret?"));
        assert_ne!(key, lockout_key("other-table", "hunter2-secret!"), "salted with the table");
    }

    #[test]
    fn ttl_rounds_up() {
        assert_eq!(ttl_seconds(1_001), 2);
        assert_eq!(ttl_seconds(1_000), 1);
    }
}
