//! Trusted devices in the security table, under their user: `USER#<username>` / `DEVICE#<sha256 of the token>` items
//! (TTL at their expiry) and a `USER#<username>` / `DEVICES` mark whose `valid_after` revokes every device issued up
//! to it. A login reads both in one `BatchGetItem`; an erasure finds them with the rest of the user's partition.
//! (Devices trusted before this layout, under `DEVICE#<hash>`, are not read: their next login is an ordinary one.)

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::devices::{DeviceRecord, DeviceStore};

use super::DynamoStore;
use super::items::{Item, condition_failed, get_n, get_s, n, s, ttl_seconds, unavailable};

fn device_key(username: &str, id: &str) -> Item {
    Item::from([("pk".into(), s(format!("USER#{username}"))), ("sk".into(), s(format!("DEVICE#{id}")))])
}

fn mark_key(username: &str) -> Item {
    Item::from([("pk".into(), s(format!("USER#{username}"))), ("sk".into(), s("DEVICES"))])
}

#[async_trait]
impl DeviceStore for DynamoStore {
    async fn put(&self, id: &str, record: &DeviceRecord) -> Result<(), StoreError> {
        let mut item = device_key(&record.username, id);
        item.insert("username".into(), s(&record.username));
        item.insert("issued_ms".into(), n(record.issued_at));
        item.insert("expires_ms".into(), n(record.expires_at));
        item.insert("expires_at".into(), n(ttl_seconds(record.expires_at)));
        self.put_security(item).await
    }

    async fn get(&self, id: &str, username: &str, now: Millis) -> Result<Option<DeviceRecord>, StoreError> {
        let keys = KeysAndAttributes::builder()
            .keys(device_key(username, id))
            .keys(mark_key(username))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::unavailable("dynamodb BatchGetItem", e))?;
        let mut request = HashMap::from([(self.security.clone(), keys)]);
        let (mut device, mut mark) = (None, None);
        for _ in 0..3 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(|e| unavailable("dynamodb BatchGetItem", e))?;
            for item in out.responses.unwrap_or_default().into_values().flatten() {
                if get_s(&item, "sk").is_some_and(|sk| sk.starts_with("DEVICE#")) {
                    device = Some(DeviceRecord {
                        username: get_s(&item, "username").unwrap_or_default(),
                        issued_at: get_n(&item, "issued_ms").unwrap_or_default(),
                        expires_at: get_n(&item, "expires_ms").unwrap_or_default(),
                    });
                } else if get_n(&item, "keep_ms").is_some_and(|keep| keep > now) {
                    mark = get_n(&item, "valid_after");
                }
            }
            match out.unprocessed_keys.filter(|k| !k.is_empty()) {
                Some(rest) => request = rest,
                None => break,
            }
        }
        Ok(device
            .filter(|d| d.username == username && d.expires_at > now && mark.is_none_or(|after| d.issued_at > after)))
    }

    async fn revoke(&self, username: &str, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.security)
            .set_key(Some(device_key(username, id)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("dynamodb DeleteItem", e))
    }

    async fn revoke_all(&self, username: &str, now: Millis, keep_ms: Millis) -> Result<(), StoreError> {
        let keep = now.saturating_add(keep_ms);
        let mut item = mark_key(username);
        item.insert("valid_after".into(), n(now));
        item.insert("keep_ms".into(), n(keep));
        item.insert("expires_at".into(), n(ttl_seconds(keep)));
        // A later mark never gives way to an earlier one (two revocations racing).
        let result = self
            .client
            .put_item()
            .table_name(&self.security)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(valid_after) OR valid_after < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable("dynamodb PutItem", e)),
        }
    }
}
