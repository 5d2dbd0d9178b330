//! Sessions: `USER#<username>` / `SESSION#<sid>` items in the security table, so a user's sessions are one `Query`
//! and a token's session is one key in the protected request's `BatchGetItem`. The item is kept a day past the
//! session's absolute end (its TTL), so a late refresh is still told why; a read treats an item past it as absent.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use cloudmind_security::StoreError;
use cloudmind_security::clock::{Millis, now_ms};
use cloudmind_security::sessions::{SessionRecord, SessionStore};

use super::DynamoStore;
use super::items::{Item, condition_failed, get_n, get_s, n, s, ttl_seconds, unavailable};

pub(super) fn session_key(username: &str, sid: &str) -> Item {
    Item::from([("pk".into(), s(format!("USER#{username}"))), ("sk".into(), s(format!("SESSION#{sid}")))])
}

fn session_item(r: &SessionRecord, ttl: Millis) -> Item {
    let mut item = session_key(&r.username, &r.sid);
    item.extend([
        ("username".into(), s(&r.username)),
        ("sid".into(), s(&r.sid)),
        ("created_ms".into(), n(r.created_at)),
        ("last_used_ms".into(), n(r.last_used_at)),
        ("absolute_ms".into(), n(r.absolute_expiry)),
        ("ip".into(), s(&r.ip)),
        ("generation".into(), n(r.generation)),
        ("refresh_hash".into(), s(&r.refresh_hash)),
        ("rotated_ms".into(), n(r.rotated_at)),
        ("revoked".into(), AttributeValue::Bool(r.revoked)),
        ("ttl_ms".into(), n(ttl)),
        ("expires_at".into(), n(ttl_seconds(ttl))),
    ]);
    if !r.spent.is_empty() {
        item.insert("spent".into(), spent_list(&r.spent));
    }
    if let Some(device) = &r.device {
        item.insert("device".into(), s(device));
    }
    item
}

/// The spent hashes as a list, the last spent last (a string set has no order).
fn spent_list(spent: &[String]) -> AttributeValue {
    AttributeValue::L(spent.iter().map(s).collect())
}

/// The spent hashes of an item: a list; items written before the list was bounded hold a string set.
fn parse_spent(item: &Item) -> Vec<String> {
    match item.get("spent") {
        Some(AttributeValue::L(list)) => list.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        Some(AttributeValue::Ss(set)) => set.clone(),
        _ => Vec::new(),
    }
}

/// The session an item holds, unless the item is past its time (`now`).
pub(super) fn parse_session(item: &Item, now: Millis) -> Option<SessionRecord> {
    if get_n(item, "ttl_ms").is_some_and(|ttl| ttl <= now) {
        return None;
    }
    Some(SessionRecord {
        sid: get_s(item, "sid")?,
        username: get_s(item, "username")?,
        created_at: get_n(item, "created_ms").unwrap_or_default(),
        last_used_at: get_n(item, "last_used_ms").unwrap_or_default(),
        absolute_expiry: get_n(item, "absolute_ms").unwrap_or_default(),
        ip: get_s(item, "ip").unwrap_or_default(),
        generation: get_n(item, "generation").unwrap_or_default(),
        refresh_hash: get_s(item, "refresh_hash").unwrap_or_default(),
        spent: parse_spent(item),
        rotated_at: get_n(item, "rotated_ms").unwrap_or_default(),
        revoked: item.get("revoked").and_then(|v| v.as_bool().ok()).copied().unwrap_or(true),
        device: get_s(item, "device"),
    })
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create(&self, session: &SessionRecord, ttl: Millis) -> Result<(), StoreError> {
        self.put_security(session_item(session, ttl)).await
    }

    async fn get(&self, username: &str, sid: &str) -> Result<Option<SessionRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.security)
            .set_key(Some(session_key(username, sid)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("dynamodb GetItem", e))?;
        Ok(out.item().and_then(|item| parse_session(item, now_ms())))
    }

    async fn rotate(
        &self,
        username: &str,
        sid: &str,
        presented: &str,
        next: &str,
        spent: &[String],
        now: Millis,
        ttl: Millis,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.security)
            .set_key(Some(session_key(username, sid)))
            .update_expression(
                "SET refresh_hash = :next, last_used_ms = :now, rotated_ms = :now, ttl_ms = :ttl, expires_at = :ttl_s, \
                 spent = :spent",
            )
            .condition_expression("refresh_hash = :presented AND revoked = :false AND absolute_ms > :now")
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":ttl", n(ttl))
            .expression_attribute_values(":ttl_s", n(ttl_seconds(ttl)))
            .expression_attribute_values(":spent", spent_list(spent))
            .expression_attribute_values(":presented", s(presented))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }

    async fn revoke(&self, username: &str, sid: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.security)
            .set_key(Some(session_key(username, sid)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk) AND revoked = :false")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }

    async fn list(&self, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let now = now_ms();
        let mut sessions = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.security)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(format!("USER#{username}")))
                .expression_attribute_values(":prefix", s("SESSION#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("dynamodb Query", e))?;
            sessions.extend(out.items().iter().filter_map(|item| parse_session(item, now)));
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(sessions),
            }
        }
    }
}
