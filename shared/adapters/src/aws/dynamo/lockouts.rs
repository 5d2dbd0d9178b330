//! `LOCKOUT#<hash of the name>` counters: one conditional `UpdateItem` per slot or failure.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::lockout::{Acquire, LockoutPolicy, LockoutRecord, LockoutStore};

use super::DynamoStore;
use super::items::{Item, condition_failed, get_n, lockout_key, n, ttl_seconds, unavailable};

impl DynamoStore {
    async fn lockout_record(&self, username: &str, now: Millis) -> Result<LockoutRecord, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.security)
            .set_key(Some(lockout_key(&self.security, username)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("dynamodb GetItem", e))?;
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
            .set_key(Some(lockout_key(&self.security, username)))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }
}

#[async_trait]
impl LockoutStore for DynamoStore {
    async fn locked_until(&self, username: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        let record = self.lockout_record(username, now).await?;
        Ok((record.locked_until > now).then_some(record.locked_until))
    }

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

    async fn release(&self, username: &str, now: Millis) -> Result<(), StoreError> {
        // Only a slot still held by an attempt in flight (slots above the counted failures) of a live record.
        let values = Item::from([(":one".into(), n(1)), (":now".into(), n(now))]);
        let condition = "attribute_exists(pk) AND slots > failures AND expires_ms > :now";
        self.lockout_update(username, "SET slots = slots - :one", Some(condition), values).await.map(|_| ())
    }

    async fn clear(&self, username: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.security)
            .set_key(Some(lockout_key(&self.security, username)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("dynamodb DeleteItem", e))
    }
}
