//! DynamoDB: `UsersTable` (key `username`) and `SecurityTable` (key `pk`, `sk`; TTL attribute `expires_at`, epoch
//! seconds) holding `TOKEN#<jti>` denylist items, `LOCKOUT#<username>` counters and `EVENT#<day>` audit events.
//!
//! Reads that a security decision depends on are strongly consistent, and an item whose expiry has passed is
//! treated as absent (DynamoDB deletes expired items lazily, within days). Lockout slots and failures are single
//! conditional `UpdateItem`s; a protected request's session lookup is one `BatchGetItem` over both tables.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::events::{EventKind, EventPage, EventSink, SecurityEvent};
use cloudmind_security::lockout::{Acquire, LockoutPolicy, LockoutRecord, LockoutStore};
use cloudmind_security::tokens::TokenDenylist;
use cloudmind_security::users::{ProfileChange, ROLE_ADMIN, ROLE_USER, Session, SessionLookup, User, UserStore};

type Item = HashMap<String, AttributeValue>;

/// How long audit events are kept.
const EVENT_RETENTION_DAYS: u64 = 90;
const DAY_MS: u64 = 86_400_000;

/// Every DynamoDB-backed port, over one client.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    users: String,
    security: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &Item, key: &str) -> Option<u64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(op: &str, e: SdkError<E, R>) -> StoreError {
    StoreError::Unavailable(format!("dynamodb {op}: {}", DisplayErrorContext(&e)))
}

/// Whether a write lost its condition (the expected outcome of a conditional write, not a failure).
fn condition_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

/// Epoch seconds for the TTL attribute, rounded up so an item never disappears early.
fn ttl_seconds(ms: Millis) -> u64 {
    ms.div_ceil(1000)
}

fn user_item(u: &User) -> Item {
    let mut item = Item::from([
        ("username".into(), s(&u.username)),
        ("id".into(), s(&u.id)),
        ("email".into(), s(&u.email)),
        ("display_name".into(), s(&u.display_name)),
        ("password_hash".into(), s(&u.password_hash)),
        ("roles".into(), AttributeValue::Ss(u.roles.clone())),
        ("created_at".into(), n(u.created_at)),
        ("token_generation".into(), n(u.token_generation)),
        ("disabled".into(), AttributeValue::Bool(u.disabled)),
    ]);
    if let Some(t) = u.tokens_valid_after {
        item.insert("tokens_valid_after".into(), n(t));
    }
    item
}

fn parse_user(item: &Item) -> Result<User, StoreError> {
    let missing = |f: &str| StoreError::Unavailable(format!("dynamodb: user item without {f}"));
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
    })
}

fn lockout_key(username: &str) -> Item {
    Item::from([("pk".into(), s(format!("LOCKOUT#{username}"))), ("sk".into(), s("LOCKOUT"))])
}

fn token_key(jti: &str) -> Item {
    Item::from([("pk".into(), s(format!("TOKEN#{jti}"))), ("sk".into(), s("TOKEN"))])
}

/// The UTC day (`YYYY-MM-DD`) of a time.
fn day_of(at: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at as i64).unwrap_or_default().format("%Y-%m-%d").to_string()
}

impl DynamoStore {
    pub fn new(client: Client, users_table: impl Into<String>, security_table: impl Into<String>) -> Self {
        Self { client, users: users_table.into(), security: security_table.into() }
    }

    /// A conditional update of an existing user. Attribute names are written `#name` in `expression` (several,
    /// such as `roles`, are DynamoDB reserved words).
    async fn update_user(&self, username: &str, expression: &str, values: Item) -> Result<User, StoreError> {
        let names: HashMap<String, String> =
            ["display_name", "email", "password_hash", "tokens_valid_after", "token_generation", "roles"]
                .iter()
                .filter(|n| expression.contains(&format!("#{n}")))
                .map(|n| (format!("#{n}"), n.to_string()))
                .collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.users)
            .key("username", s(username))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .condition_expression("attribute_exists(username)")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => parse_user(out.attributes().ok_or(StoreError::NotFound)?),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    async fn lockout_record(&self, username: &str, now: Millis) -> Result<LockoutRecord, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.security)
            .set_key(Some(lockout_key(username)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        let record = out.item().map(|item| LockoutRecord {
            slots: get_n(item, "slots").unwrap_or_default() as u32,
            failures: get_n(item, "failures").unwrap_or_default() as u32,
            locked_until: get_n(item, "locked_until").unwrap_or_default(),
            expires_at: get_n(item, "expires_ms").unwrap_or_default(),
        });
        Ok(record.unwrap_or_default().at(now))
    }

    /// One conditional update of a lockout item; `Ok(None)` when the condition failed. Only the placeholders the
    /// expressions use are sent (DynamoDB refuses unused ones).
    async fn lockout_update(
        &self,
        username: &str,
        update: &str,
        condition: Option<&str>,
        mut values: Item,
    ) -> Result<Option<Item>, StoreError> {
        values.retain(|name, _| update.contains(name.as_str()) || condition.is_some_and(|c| c.contains(name.as_str())));
        let result = self
            .client
            .update_item()
            .table_name(&self.security)
            .set_key(Some(lockout_key(username)))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create(&self, user: &User) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.users)
            .set_item(Some(user_item(user)))
            .condition_expression("attribute_not_exists(username)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict),
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    async fn get(&self, username: &str) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.users)
            .key("username", s(username))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item().map(parse_user).transpose()
    }

    async fn update_profile(&self, username: &str, change: &ProfileChange) -> Result<User, StoreError> {
        let mut sets = Vec::new();
        let mut values = Item::new();
        if let Some(d) = &change.display_name {
            sets.push("#display_name = :d");
            values.insert(":d".into(), s(d));
        }
        if let Some(e) = &change.email {
            sets.push("#email = :e");
            values.insert(":e".into(), s(e));
        }
        if sets.is_empty() {
            return self.get(username).await?.ok_or(StoreError::NotFound);
        }
        self.update_user(username, &format!("SET {}", sets.join(", ")), values).await
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
        revoke_all: bool,
        now: Millis,
    ) -> Result<User, StoreError> {
        let mut values = Item::from([(":h".into(), s(password_hash))]);
        let expression = if revoke_all {
            values.insert(":one".into(), n(1));
            values.insert(":now".into(), n(now));
            "SET #password_hash = :h, #tokens_valid_after = :now ADD #token_generation :one"
        } else {
            "SET #password_hash = :h"
        };
        self.update_user(username, expression, values).await
    }

    async fn add_role(&self, username: &str, role: &str) -> Result<User, StoreError> {
        let values = Item::from([(":r".into(), AttributeValue::Ss(vec![role.to_string()]))]);
        self.update_user(username, "ADD #roles :r", values).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.users)
            .key("username", s("__ping__"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("GetItem", e))
    }
}

#[async_trait]
impl TokenDenylist for DynamoStore {
    async fn deny(&self, jti: &str, expires_at: Millis) -> Result<(), StoreError> {
        let mut item = token_key(jti);
        item.insert("expires_ms".into(), n(expires_at));
        item.insert("expires_at".into(), n(ttl_seconds(expires_at)));
        self.client
            .put_item()
            .table_name(&self.security)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("PutItem", e))
    }
}

#[async_trait]
impl SessionLookup for DynamoStore {
    async fn lookup(&self, jti: &str, username: &str, now: Millis) -> Result<Session, StoreError> {
        let mut request = HashMap::from([
            (
                self.security.clone(),
                KeysAndAttributes::builder()
                    .keys(token_key(jti))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            ),
            (
                self.users.clone(),
                KeysAndAttributes::builder()
                    .keys(Item::from([("username".into(), s(username))]))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            ),
        ]);
        let mut session = Session { denied: false, user: None };
        for _ in 0..3 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", e))?;
            for (table, items) in out.responses.unwrap_or_default() {
                for item in items {
                    if table == self.security {
                        session.denied |= get_n(&item, "expires_ms").is_some_and(|exp| exp > now);
                    } else {
                        session.user = Some(parse_user(&item)?);
                    }
                }
            }
            match out.unprocessed_keys.filter(|u| !u.is_empty()) {
                None => return Ok(session),
                Some(unprocessed) => request = unprocessed,
            }
        }
        Err(StoreError::Unavailable("dynamodb BatchGetItem: keys left unprocessed".into()))
    }
}

#[async_trait]
impl LockoutStore for DynamoStore {
    async fn acquire(&self, username: &str, policy: &LockoutPolicy, now: Millis) -> Result<Acquire, StoreError> {
        let expires = now + policy.duration_ms;
        let values = || {
            Item::from([
                (":now".into(), n(now)),
                (":one".into(), n(1)),
                (":zero".into(), n(0)),
                (":max".into(), n(policy.max_attempts)),
                (":exp".into(), n(expires)),
                (":exps".into(), n(ttl_seconds(expires))),
            ])
        };
        for _ in 0..4 {
            // No record, or an expired one (the usual case for a legitimate login): start afresh with this slot.
            let fresh = self
                .lockout_update(
                    username,
                    "SET slots = :one, failures = :zero, locked_until = :zero, expires_ms = :exp, expires_at = :exps",
                    Some("attribute_not_exists(pk) OR expires_ms <= :now"),
                    values(),
                )
                .await?;
            if fresh.is_some() {
                return Ok(Acquire::Granted);
            }
            // A live record with a free slot and no lock: take a slot.
            let live = self
                .lockout_update(
                    username,
                    "SET slots = slots + :one, expires_ms = :exp, expires_at = :exps",
                    Some("expires_ms > :now AND slots < :max AND locked_until <= :now"),
                    values(),
                )
                .await?;
            if live.is_some() {
                return Ok(Acquire::Granted);
            }
            let record = self.lockout_record(username, now).await?;
            if record.locked_until > now {
                return Ok(Acquire::Locked { until: record.locked_until });
            }
            if record.slots >= policy.max_attempts {
                return Ok(Acquire::Locked { until: expires });
            }
            // The record changed between the writes and the read: try again.
        }
        Ok(Acquire::Locked { until: expires })
    }

    async fn record_failure(
        &self,
        username: &str,
        policy: &LockoutPolicy,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let expires = now + policy.duration_ms;
        let values = Item::from([
            (":now".into(), n(now)),
            (":one".into(), n(1)),
            (":zero".into(), n(0)),
            (":exp".into(), n(expires)),
            (":exps".into(), n(ttl_seconds(expires))),
        ]);
        let counted = self
            .lockout_update(
                username,
                "SET failures = failures + :one, expires_ms = :exp, expires_at = :exps",
                Some("expires_ms > :now"),
                values.clone(),
            )
            .await?;
        let item = match counted {
            Some(item) => item,
            // The record expired while the password was checked: this failure starts a new one.
            None => self
                .lockout_update(
                    username,
                    "SET slots = :one, failures = :one, locked_until = :zero, expires_ms = :exp, expires_at = :exps",
                    None,
                    values,
                )
                .await?
                .unwrap_or_default(),
        };
        if get_n(&item, "failures").unwrap_or_default() < u64::from(policy.max_attempts) {
            return Ok(None);
        }
        let until = now + policy.duration_ms;
        let lock = Item::from([
            (":now".into(), n(now)),
            (":until".into(), n(until)),
            (":untils".into(), n(ttl_seconds(until))),
            (":max".into(), n(policy.max_attempts)),
        ]);
        let locked = self
            .lockout_update(
                username,
                "SET locked_until = :until, slots = :max, expires_ms = :until, expires_at = :untils",
                Some("locked_until <= :now"),
                lock,
            )
            .await?;
        Ok(locked.map(|_| until))
    }

    async fn clear(&self, username: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.security)
            .set_key(Some(lockout_key(username)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("DeleteItem", e))
    }
}

fn parse_event(item: &Item) -> Option<SecurityEvent> {
    Some(SecurityEvent {
        id: get_s(item, "sk")?,
        kind: EventKind::parse(&get_s(item, "type")?)?,
        at: get_n(item, "at")?,
        ip: get_s(item, "ip"),
        username: get_s(item, "username"),
        detail: get_s(item, "detail").unwrap_or_default(),
        request_id: get_s(item, "request_id"),
    })
}

#[async_trait]
impl EventSink for DynamoStore {
    async fn record(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("pk".into(), s(format!("EVENT#{}", day_of(event.at)))),
            ("sk".into(), s(&event.id)),
            ("type".into(), s(event.kind.as_str())),
            ("at".into(), n(event.at)),
            ("detail".into(), s(&event.detail)),
            ("expires_at".into(), n(ttl_seconds(event.at + EVENT_RETENTION_DAYS * DAY_MS))),
        ]);
        for (name, value) in [("ip", &event.ip), ("username", &event.username), ("request_id", &event.request_id)] {
            if let Some(v) = value {
                item.insert(name.into(), s(v));
            }
        }
        self.client
            .put_item()
            .table_name(&self.security)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("PutItem", e))
    }

    async fn list(&self, kind: Option<EventKind>, limit: usize, cursor: Option<&str>) -> Result<EventPage, StoreError> {
        let now = cloudmind_security::clock::now_ms();
        let start = cursor.and_then(|c| c.split('-').next()?.parse::<u64>().ok()).unwrap_or(now);
        let mut events = Vec::with_capacity(limit + 1);
        'days: for days_back in 0..=EVENT_RETENTION_DAYS {
            let Some(day_ms) = start.checked_sub(days_back * DAY_MS) else { break };
            let day = day_of(day_ms);
            let mut exclusive_start = None;
            loop {
                let mut query = self
                    .client
                    .query()
                    .table_name(&self.security)
                    .expression_attribute_values(":pk", s(format!("EVENT#{day}")))
                    .scan_index_forward(false)
                    .limit(100)
                    .set_exclusive_start_key(exclusive_start.take());
                query = match cursor.filter(|_| days_back == 0) {
                    Some(c) => {
                        query.key_condition_expression("pk = :pk AND sk < :c").expression_attribute_values(":c", s(c))
                    }
                    None => query.key_condition_expression("pk = :pk"),
                };
                if let Some(k) = kind {
                    query = query
                        .filter_expression("#t = :t")
                        .expression_attribute_names("#t", "type")
                        .expression_attribute_values(":t", s(k.as_str()));
                }
                let out = query.send().await.map_err(|e| unavailable("Query", e))?;
                for item in out.items() {
                    if let Some(e) = parse_event(item) {
                        events.push(e);
                        if events.len() > limit {
                            break 'days;
                        }
                    }
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => exclusive_start = Some(k),
                    _ => break,
                }
            }
        }
        let next_cursor = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(EventPage { events, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_round_trip_through_items() {
        let mut u = User::example("alice");
        u.roles = vec!["admin".into(), "user".into()];
        u.tokens_valid_after = Some(42);
        let back = parse_user(&user_item(&u)).unwrap();
        assert_eq!(back.roles, vec!["user", "admin"]);
        assert_eq!(back.tokens_valid_after, Some(42));
        assert_eq!(User { roles: back.roles.clone(), ..u }, back);
    }

    #[test]
    fn ttl_rounds_up_and_days_are_utc() {
        assert_eq!(ttl_seconds(1_001), 2);
        assert_eq!(ttl_seconds(1_000), 1);
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(DAY_MS - 1), "1970-01-01");
    }
}
