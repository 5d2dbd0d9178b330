//! What an erasure deletes and an export reads in the security table: the user's partition (`USER#<username>`:
//! sessions, trusted devices and their mark, links) and the address index entry.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use cloudmind_security::StoreError;
use cloudmind_security::account::AccountData;
use cloudmind_security::devices::DeviceRecord;

use super::DynamoStore;
use super::items::{Item, email_key, get_n, get_s, s, unavailable};

impl DynamoStore {
    /// Every item of the user's partition, keys and all attributes.
    async fn user_partition(&self, username: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.security)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s(format!("USER#{username}")))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("dynamodb Query", e))?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// Deletes these keys of the security table, 25 a `BatchWriteItem` (what it leaves unprocessed is retried).
    async fn delete_security_keys(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map_err(|e| StoreError::unavailable("dynamodb BatchWriteItem", e))?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut attempts = 0;
            loop {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.security, requests)
                    .send()
                    .await
                    .map_err(|e| unavailable("dynamodb BatchWriteItem", e))?;
                match out.unprocessed_items.and_then(|mut u| u.remove(&self.security)).filter(|r| !r.is_empty()) {
                    Some(rest) if attempts < 3 => {
                        attempts += 1;
                        requests = rest;
                    }
                    Some(_) => {
                        return Err(StoreError::unavailable("dynamodb BatchWriteItem", "items left unprocessed"));
                    }
                    None => break,
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AccountData for DynamoStore {
    async fn purge(&self, username: &str, email: &str) -> Result<u64, StoreError> {
        let mut keys: Vec<Item> = self
            .user_partition(username)
            .await?
            .into_iter()
            .filter_map(|i| {
                Some(Item::from([("pk".into(), i.get("pk")?.clone()), ("sk".into(), i.get("sk")?.clone())]))
            })
            .collect();
        keys.push(email_key(email, username));
        let count = keys.len() as u64;
        self.delete_security_keys(keys).await?;
        Ok(count)
    }

    async fn devices(&self, username: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        Ok(self
            .user_partition(username)
            .await?
            .iter()
            .filter(|i| get_s(i, "sk").is_some_and(|sk| sk.starts_with("DEVICE#")))
            .map(|i| DeviceRecord {
                username: username.to_string(),
                issued_at: get_n(i, "issued_ms").unwrap_or_default(),
                expires_at: get_n(i, "expires_ms").unwrap_or_default(),
            })
            .collect())
    }
}
