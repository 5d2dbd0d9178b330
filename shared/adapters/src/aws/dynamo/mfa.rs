//! MFA state on the user item (`mfa_*` attributes, changed only by conditional updates) and login challenges as
//! `MFA#<sha256 of the mfa_token>` items of the security table (TTL; taken with one conditional delete).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::mfa::{Challenge, MfaStore};

use super::DynamoStore;
use super::items::{Item, condition_failed, get_n, get_s, n, s, ttl_seconds, unavailable};

fn challenge_key(id: &str) -> Item {
    Item::from([("pk".into(), s(format!("MFA#{id}"))), ("sk".into(), s("MFA"))])
}

impl DynamoStore {
    /// A conditional update of the user's MFA attributes: `Ok(false)` when the condition does not hold.
    async fn update_mfa(
        &self,
        username: &str,
        update: &str,
        condition: &str,
        values: Item,
    ) -> Result<bool, StoreError> {
        let names: HashMap<String, String> =
            ["mfa_enabled", "mfa_secret", "mfa_pending", "mfa_last_step", "mfa_recovery"]
                .iter()
                .filter(|a| update.contains(&format!("#{a}")) || condition.contains(&format!("#{a}")))
                .map(|a| (format!("#{a}"), a.to_string()))
                .collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.users)
            .key("username", s(username))
            .update_expression(update)
            .condition_expression(format!("attribute_exists(username) AND ({condition})"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }
}

#[async_trait]
impl MfaStore for DynamoStore {
    async fn set_pending(&self, username: &str, sealed: &str) -> Result<bool, StoreError> {
        let values = Item::from([(":p".into(), s(sealed)), (":true".into(), AttributeValue::Bool(true))]);
        self.update_mfa(
            username,
            "SET #mfa_pending = :p",
            "attribute_not_exists(#mfa_enabled) OR #mfa_enabled <> :true",
            values,
        )
        .await
    }

    async fn enable(&self, username: &str, sealed: &str, recovery: &[String], step: u64) -> Result<bool, StoreError> {
        let values = Item::from([
            (":p".into(), s(sealed)),
            (":true".into(), AttributeValue::Bool(true)),
            (":r".into(), AttributeValue::Ss(recovery.to_vec())),
            (":step".into(), n(step)),
        ]);
        self.update_mfa(
            username,
            "SET #mfa_enabled = :true, #mfa_secret = :p, #mfa_recovery = :r, #mfa_last_step = :step REMOVE #mfa_pending",
            "#mfa_pending = :p AND (attribute_not_exists(#mfa_enabled) OR #mfa_enabled <> :true)",
            values,
        )
        .await
    }

    async fn claim_step(&self, username: &str, step: u64) -> Result<bool, StoreError> {
        let values = Item::from([(":step".into(), n(step)), (":true".into(), AttributeValue::Bool(true))]);
        self.update_mfa(
            username,
            "SET #mfa_last_step = :step",
            "#mfa_enabled = :true AND #mfa_last_step < :step",
            values,
        )
        .await
    }

    async fn spend_recovery(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        let values = Item::from([
            (":set".into(), AttributeValue::Ss(vec![hash.to_string()])),
            (":h".into(), s(hash)),
            (":true".into(), AttributeValue::Bool(true)),
        ]);
        self.update_mfa(
            username,
            "DELETE #mfa_recovery :set",
            "#mfa_enabled = :true AND contains(#mfa_recovery, :h)",
            values,
        )
        .await
    }

    async fn disable(&self, username: &str) -> Result<(), StoreError> {
        let done = self
            .update_mfa(
                username,
                "REMOVE #mfa_enabled, #mfa_secret, #mfa_pending, #mfa_last_step, #mfa_recovery",
                "attribute_exists(username)",
                Item::new(),
            )
            .await?;
        if done { Ok(()) } else { Err(StoreError::NotFound) }
    }

    async fn put_challenge(&self, id: &str, challenge: &Challenge) -> Result<(), StoreError> {
        let mut item = challenge_key(id);
        item.insert("username".into(), s(&challenge.username));
        item.insert("expires_ms".into(), n(challenge.expires_at));
        item.insert("remember_device".into(), AttributeValue::Bool(challenge.remember_device));
        item.insert("generation".into(), n(challenge.generation));
        if let Some(device) = &challenge.device {
            item.insert("device".into(), s(device));
        }
        item.insert("expires_at".into(), n(ttl_seconds(challenge.expires_at)));
        self.put_security(item).await
    }

    async fn take_challenge(&self, id: &str, now: Millis) -> Result<Option<Challenge>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.security)
            .set_key(Some(challenge_key(id)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let item = match result {
            Ok(out) => out.attributes,
            Err(e) if condition_failed(&e) => return Ok(None),
            Err(e) => return Err(unavailable("dynamodb DeleteItem", e)),
        };
        // TTL deletion lags: an expired item may still be there, and is refused here.
        Ok(item.and_then(|item| {
            let expires_at = get_n(&item, "expires_ms")?;
            let remember_device = item.get("remember_device").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false);
            (expires_at > now).then(|| Challenge {
                username: get_s(&item, "username").unwrap_or_default(),
                expires_at,
                remember_device,
                device: get_s(&item, "device"),
                generation: get_n(&item, "generation").unwrap_or(u64::MAX),
            })
        }))
    }
}
