//! `UsersTable`: the user store. A user's address is also indexed in the security table (`items::email_key`),
//! written in the same transaction as the user, so a password-reset request finds the accounts of an address with
//! one query.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, ReturnValue, TransactWriteItem, Update};
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::users::{ProfileChange, User, UserStore};

use super::DynamoStore;
use super::items::{
    Item, condition_failed, email_key, get_s, n, name_partition, parse_user, s, unavailable, user_item,
};

/// The index of users in username order, partitioned by their first character ([`name_partition`]).
pub const BY_NAME: &str = "by_name";

/// The first characters a username can have, in the order DynamoDB sorts them (bytes): `-`, `.`, digits, `_`,
/// letters. Each is one partition of the `by_name` index.
const NAME_STARTS: &str = "-.0123456789_abcdefghijklmnopqrstuvwxyz";

/// A transaction's failure: cancelled by a condition (the caller's expected outcome) or the store.
fn transaction_failed<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    e.as_service_error().is_some_and(|se| se.is_transaction_canceled_exception())
}

impl DynamoStore {
    /// A conditional update of an existing user. Attribute names are written `#name` in `expression` (several,
    /// such as `roles`, are DynamoDB reserved words).
    async fn update_user(&self, username: &str, expression: &str, values: Item) -> Result<User, StoreError> {
        let names: HashMap<String, String> = [
            "display_name",
            "email",
            "password_hash",
            "tokens_valid_after",
            "token_generation",
            "roles",
            "disabled",
            "email_verified",
        ]
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
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create(&self, user: &User) -> Result<(), StoreError> {
        let failed = |e| StoreError::unavailable("dynamodb TransactWriteItems", e);
        let put = Put::builder()
            .table_name(&self.users)
            .set_item(Some(user_item(user)))
            .condition_expression("attribute_not_exists(username)")
            .build()
            .map_err(failed)?;
        let index = Put::builder()
            .table_name(&self.security)
            .set_item(Some(email_key(&user.email, &user.username)))
            .build()
            .map_err(failed)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().put(index).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The one condition is the username's: taken.
            Err(e) if transaction_failed(&e) => Err(StoreError::Conflict),
            Err(e) => Err(unavailable("dynamodb TransactWriteItems", e)),
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
            .map_err(|e| unavailable("dynamodb GetItem", e))?;
        out.item().map(parse_user).transpose()
    }

    async fn update_profile(&self, username: &str, change: &ProfileChange) -> Result<User, StoreError> {
        let mut sets = Vec::new();
        let mut values = Item::new();
        if let Some(d) = &change.display_name {
            sets.push("#display_name = :d");
            values.insert(":d".into(), s(d));
        }
        // The display name alone: one conditional update, no read.
        if change.email.is_none() && !sets.is_empty() {
            return self.update_user(username, &format!("SET {}", sets.join(", ")), values).await;
        }
        let current = self.get(username).await?.ok_or(StoreError::NotFound)?;
        let new_email = change.email.as_ref().filter(|e| **e != current.email);
        if new_email.is_none() {
            if sets.is_empty() {
                return Ok(current);
            }
            return self.update_user(username, &format!("SET {}", sets.join(", ")), values).await;
        }
        // A new address: the user (unverified again) and its index entries change together, on the condition that
        // the address is still the one read.
        let new_email = new_email.map(String::as_str).unwrap_or_default();
        sets.push("#email = :e");
        sets.push("#email_verified = :f");
        values.insert(":e".into(), s(new_email));
        values.insert(":f".into(), AttributeValue::Bool(false));
        values.insert(":old".into(), s(&current.email));
        let names: HashMap<String, String> = ["display_name", "email", "email_verified"]
            .iter()
            .map(|n| (format!("#{n}"), n.to_string()))
            .filter(|(k, _)| sets.iter().any(|s| s.contains(k.as_str())))
            .collect();
        let failed = |e| StoreError::unavailable("dynamodb TransactWriteItems", e);
        let update = Update::builder()
            .table_name(&self.users)
            .key("username", s(username))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(names))
            .condition_expression("attribute_exists(username) AND #email = :old")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(failed)?;
        let old_index = Delete::builder()
            .table_name(&self.security)
            .set_key(Some(email_key(&current.email, username)))
            .build()
            .map_err(failed)?;
        let new_index = Put::builder()
            .table_name(&self.security)
            .set_item(Some(email_key(new_email, username)))
            .build()
            .map_err(failed)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().delete(old_index).build())
            .transact_items(TransactWriteItem::builder().put(new_index).build())
            .send()
            .await;
        match result {
            Ok(_) => self.get(username).await?.ok_or(StoreError::NotFound),
            // Gone, or its address changed meanwhile: the caller answers from what is stored now.
            Err(e) if transaction_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(unavailable("dynamodb TransactWriteItems", e)),
        }
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

    async fn rehash(&self, username: &str, old: &str, new: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.users)
            .key("username", s(username))
            .update_expression("SET password_hash = :new")
            .condition_expression("password_hash = :old")
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":old", s(old))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }

    async fn add_role(&self, username: &str, role: &str) -> Result<User, StoreError> {
        let values = Item::from([(":r".into(), AttributeValue::Ss(vec![role.to_string()]))]);
        self.update_user(username, "ADD #roles :r", values).await
    }

    async fn set_email_verified(&self, username: &str, email: &str) -> Result<Option<User>, StoreError> {
        let values = Item::from([(":t".into(), AttributeValue::Bool(true)), (":e".into(), s(email))]);
        let result = self
            .client
            .update_item()
            .table_name(&self.users)
            .key("username", s(username))
            .update_expression("SET email_verified = :t")
            .condition_expression("attribute_exists(username) AND email = :e")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes().map(parse_user).transpose(),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
        }
    }

    async fn set_disabled(&self, username: &str, disabled: bool, now: Millis) -> Result<User, StoreError> {
        let mut values = Item::from([(":d".into(), AttributeValue::Bool(disabled))]);
        let expression = if disabled {
            values.insert(":one".into(), n(1));
            values.insert(":now".into(), n(now));
            "SET #disabled = :d, #tokens_valid_after = :now ADD #token_generation :one"
        } else {
            "SET #disabled = :d"
        };
        self.update_user(username, expression, values).await
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<User>, Option<String>), StoreError> {
        // One partition of the by_name index per first character: a page queries the partition it starts in and
        // the next ones, in order, until it is full.
        let start = after.or(Some(prefix).filter(|p| !p.is_empty())).and_then(|s| s.chars().next());
        let partitions: Vec<char> = match prefix.chars().next() {
            Some(first) => vec![first],
            None => NAME_STARTS.chars().filter(|c| start.is_none_or(|s| *c >= s)).collect(),
        };
        let mut users = Vec::new();
        for first in partitions {
            let mut exclusive = after
                .filter(|a| a.starts_with(first))
                .map(|a| Item::from([("lpk".into(), s(name_partition(a))), ("username".into(), s(a))]));
            loop {
                let want = limit + 1 - users.len();
                let mut query = self
                    .client
                    .query()
                    .table_name(&self.users)
                    .index_name(BY_NAME)
                    .expression_attribute_values(":p", s(format!("NAME#{first}")))
                    .set_exclusive_start_key(exclusive.take())
                    .limit(i32::try_from(want).unwrap_or(i32::MAX));
                query = if prefix.is_empty() {
                    query.key_condition_expression("lpk = :p")
                } else {
                    query
                        .key_condition_expression("lpk = :p AND begins_with(username, :x)")
                        .expression_attribute_values(":x", s(prefix))
                };
                let out = query.send().await.map_err(|e| unavailable("dynamodb Query", e))?;
                for item in out.items() {
                    users.push(parse_user(item)?);
                }
                if users.len() > limit {
                    users.truncate(limit);
                    let next = users.last().map(|u| u.username.clone());
                    return Ok((users, next));
                }
                match out.last_evaluated_key() {
                    Some(key) if !key.is_empty() => exclusive = Some(key.clone()),
                    _ => break,
                }
            }
        }
        Ok((users, None))
    }

    async fn by_email(&self, email: &str) -> Result<Vec<User>, StoreError> {
        let pk = email_key(email, "").remove("pk").unwrap_or_else(|| s(""));
        let out = self
            .client
            .query()
            .table_name(&self.security)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", pk)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("dynamodb Query", e))?;
        let names: Vec<String> = out
            .items()
            .iter()
            .filter_map(|i| get_s(i, "sk").and_then(|sk| sk.strip_prefix("USER#").map(str::to_string)))
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys = KeysAndAttributes::builder().consistent_read(true);
        for name in &names {
            keys = keys.keys(Item::from([("username".into(), s(name))]));
        }
        let keys = keys.build().map_err(|e| StoreError::unavailable("dynamodb BatchGetItem", e))?;
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.users, keys)
            .send()
            .await
            .map_err(|e| unavailable("dynamodb BatchGetItem", e))?;
        let mut users = Vec::new();
        for item in out.responses().and_then(|r| r.get(&self.users)).into_iter().flatten() {
            let user = parse_user(item)?;
            // An index entry is a pointer: the user's address as stored decides.
            if user.email == email {
                users.push(user);
            }
        }
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.users)
            .key("username", s(username))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("dynamodb DeleteItem", e))?;
        Ok(out.attributes().is_some())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.users)
            .key("username", s("__ping__"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("dynamodb GetItem", e))
    }
}

impl DynamoStore {
    /// Writes what this version finds users by onto the users created before it: the `lpk` attribute of the
    /// `by_name` index (the admin's user list) and the `EMAIL#` entry of the address (the forgotten-password
    /// lookup). A user without `lpk` is one of those; the others have both already. Idempotent; answers (users
    /// read, users upgraded). `cloudmind backfill` runs it once after the upgrade (infra/README.md).
    pub async fn backfill_user_indexes(&self) -> Result<(u64, u64), StoreError> {
        let (mut read, mut upgraded) = (0, 0);
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.users)
                .projection_expression("username, email, lpk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("dynamodb Scan", e))?;
            for item in page.items() {
                read += 1;
                let Some(username) = item.get("username").and_then(|v| v.as_s().ok()) else { continue };
                if item.contains_key("lpk") {
                    continue;
                }
                if let Some(email) = item.get("email").and_then(|v| v.as_s().ok()).filter(|e| !e.is_empty()) {
                    self.put_security(email_key(email, username)).await?;
                }
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.users)
                    .key("username", AttributeValue::S(username.clone()))
                    .update_expression("SET lpk = :p")
                    .condition_expression("attribute_exists(username)")
                    .expression_attribute_values(":p", AttributeValue::S(name_partition(username)))
                    .send()
                    .await;
                match result {
                    Ok(_) => upgraded += 1,
                    // Erased meanwhile: nothing to index.
                    Err(e) if condition_failed(&e) => {}
                    Err(e) => return Err(unavailable("dynamodb UpdateItem", e)),
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok((read, upgraded)),
            }
        }
    }
}
