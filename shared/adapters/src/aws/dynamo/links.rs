//! Mailed links in the security table: `USER#<username>` / `LINK#<kind>`, one live link per user and kind (its
//! hash, address and expiry) with the times of the messages sent in the last day. Taking a link is one conditional
//! `UpdateItem` (the hash must still be there and match), so of concurrent uses exactly one wins.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::links::{LinkKind, LinkRecord, LinkStore};

use super::DynamoStore;
use super::items::{Item, condition_failed, get_n, get_s, n, s, ttl_seconds, unavailable};

const DAY_MS: Millis = 86_400_000;

fn link_key(username: &str, kind: LinkKind) -> Item {
    Item::from([("pk".into(), s(format!("USER#{username}"))), ("sk".into(), s(format!("LINK#{}", kind.as_str())))])
}

fn sends_value(sends: &[Millis]) -> AttributeValue {
    AttributeValue::L(sends.iter().map(|t| n(*t)).collect())
}

fn parse(item: &Item, username: &str) -> LinkRecord {
    LinkRecord {
        username: username.to_string(),
        hash: get_s(item, "hash").unwrap_or_default(),
        email: get_s(item, "email").unwrap_or_default(),
        expires_at: get_n(item, "expires_ms").unwrap_or_default(),
        sends: item
            .get("sends")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_n().ok()?.parse().ok()).collect())
            .unwrap_or_default(),
    }
}

#[async_trait]
impl LinkStore for DynamoStore {
    async fn get(&self, username: &str, kind: LinkKind) -> Result<Option<LinkRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.security)
            .set_key(Some(link_key(username, kind)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("dynamodb GetItem", e))?;
        Ok(out.item().map(|i| parse(i, username)))
    }

    async fn reserve_send(
        &self,
        username: &str,
        kind: LinkKind,
        seen: &[Millis],
        now: Millis,
    ) -> Result<bool, StoreError> {
        let record = LinkRecord { sends: seen.to_vec(), ..LinkRecord::default() };
        let sends = record.sends_with(now);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.security)
            .set_key(Some(link_key(username, kind)))
            .update_expression("SET sends = :new, expires_at = if_not_exists(expires_at, :ttl)")
            .expression_attribute_values(":new", sends_value(&sends))
            .expression_attribute_values(":ttl", n(ttl_seconds(now + DAY_MS)));
        // The sends must be what the caller read: of two requests racing, one reserves.
        request = if seen.is_empty() {
            request
                .condition_expression("attribute_not_exists(sends) OR size(sends) = :zero")
                .expression_attribute_values(":zero", n(0))
        } else {
            request.condition_expression("sends = :seen").expression_attribute_values(":seen", sends_value(seen))
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }

    async fn put(&self, kind: LinkKind, record: &LinkRecord) -> Result<(), StoreError> {
        // Kept a day past its last use at most: the sends of the day, and the link until it expires.
        let keep = record.expires_at.max(record.sends.last().copied().unwrap_or_default() + DAY_MS);
        self.client
            .update_item()
            .table_name(&self.security)
            .set_key(Some(link_key(&record.username, kind)))
            .update_expression("SET #hash = :h, email = :e, expires_ms = :x, expires_at = :ttl")
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_values(":h", s(&record.hash))
            .expression_attribute_values(":e", s(&record.email))
            .expression_attribute_values(":x", n(record.expires_at))
            .expression_attribute_values(":ttl", n(ttl_seconds(keep)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("dynamodb UpdateItem", e))
    }

    async fn take(
        &self,
        username: &str,
        kind: LinkKind,
        hash: &str,
        now: Millis,
    ) -> Result<Option<LinkRecord>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.security)
            .set_key(Some(link_key(username, kind)))
            .update_expression("REMOVE #hash")
            .condition_expression("#hash = :h AND expires_ms > :now")
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_values(":h", s(hash))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes().map(|i| parse(i, username))),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }
}
