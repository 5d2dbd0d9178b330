//! The lookup of a protected request and a refresh: the token's session and its user in one `BatchGetItem` over
//! both tables. A logout revokes the session item, which stands for every token it issued (no per-token denylist).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::users::{Session, SessionLookup};

use super::DynamoStore;
use super::items::{Item, parse_user, s, unavailable};
use super::sessions::{parse_session, session_key};

#[async_trait]
impl SessionLookup for DynamoStore {
    async fn lookup(&self, username: &str, sid: &str, now: Millis) -> Result<Session, StoreError> {
        let keys = |key: Item| {
            KeysAndAttributes::builder()
                .keys(key)
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::unavailable("dynamodb BatchGetItem", e))
        };
        let mut request = HashMap::from([
            (self.security.clone(), keys(session_key(username, sid))?),
            (self.users.clone(), keys(Item::from([("username".into(), s(username))]))?),
        ]);
        let mut session = Session { user: None, session: None };
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
                    if table == self.security {
                        session.session = parse_session(&item, now);
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
        Err(StoreError::unavailable("dynamodb BatchGetItem", "keys left unprocessed after three tries"))
    }
}
