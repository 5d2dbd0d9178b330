//! `TOKEN#<jti>` denylist items, and the lookup of a protected request: its denylist entry, its session and its
//! user in one `BatchGetItem` over both tables.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::tokens::TokenDenylist;
use cloudmind_security::users::{Session, SessionLookup};

use super::DynamoStore;
use super::items::{Item, get_n, get_s, n, parse_user, s, token_key, ttl_seconds, unavailable};
use super::sessions::{parse_session, session_key};

#[async_trait]
impl TokenDenylist for DynamoStore {
    async fn deny(&self, jti: &str, expires_at: Millis) -> Result<(), StoreError> {
        let mut item = token_key(jti);
        item.insert("expires_ms".into(), n(expires_at));
        item.insert("expires_at".into(), n(ttl_seconds(expires_at)));
        self.put_security(item).await
    }
}

#[async_trait]
impl SessionLookup for DynamoStore {
    async fn lookup(&self, jti: &str, username: &str, sid: &str, now: Millis) -> Result<Session, StoreError> {
        let mut request = HashMap::from([
            (
                self.security.clone(),
                KeysAndAttributes::builder()
                    .keys(token_key(jti))
                    .keys(session_key(username, sid))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::unavailable("dynamodb BatchGetItem", e))?,
            ),
            (
                self.users.clone(),
                KeysAndAttributes::builder()
                    .keys(Item::from([("username".into(), s(username))]))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::unavailable("dynamodb BatchGetItem", e))?,
            ),
        ]);
        let mut session = Session { denied: false, user: None, session: None };
        for _ in 0..3 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(|e| unavailable("dynamodb BatchGetItem", e))?;
            for (table, items) in out.responses.unwrap_or_default() {
                for item in items {
                    if table != self.security {
                        session.user = Some(parse_user(&item)?);
                    } else if get_s(&item, "sk").as_deref() == Some("TOKEN") {
                        session.denied |= get_n(&item, "expires_ms").is_some_and(|exp| exp > now);
                    } else {
                        session.session = parse_session(&item, now);
                    }
                }
            }
            match out.unprocessed_keys.filter(|u| !u.is_empty()) {
                None => return Ok(session),
                Some(unprocessed) => request = unprocessed,
            }
        }
        Err(StoreError::unavailable("dynamodb BatchGetItem", "keys left unprocessed after three tries"))
    }
}
