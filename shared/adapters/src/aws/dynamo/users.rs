//! `UsersTable`: the user store.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use cloudmind_security::StoreError;
use cloudmind_security::clock::Millis;
use cloudmind_security::users::{ProfileChange, User, UserStore};

use super::DynamoStore;
use super::items::{Item, condition_failed, n, parse_user, s, unavailable, user_item};

/// The index of users in username order, partitioned by their first character ([`name_partition`]).
pub const BY_NAME: &str = "by_name";

impl DynamoStore {
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
            Err(e) => Err(unavailable("dynamodb UpdateItem", e)),
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
            Err(e) => Err(unavailable("dynamodb PutItem", e)),
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
