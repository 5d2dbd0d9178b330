//! Creates the DynamoDB tables for local use (`cloudmind create-tables`), with TTL on `expires_at`. In AWS the SAM
//! template creates them (with point-in-time recovery, deletion protection and encryption as well).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

/// An index over `hash` and `range` with every attribute projected.
fn index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, String> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| e.to_string())
}

fn attribute(name: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| e.to_string())
}

/// Creates `users` (key `username`; index `by_name` over `lpk`, `username`) and `security` (keys `pk`, `sk`; TTL
/// `expires_at`; index `by_type` over `tpk`, `sk`); existing tables are kept.
pub async fn create_tables(client: &Client, users: &str, security: &str) -> Result<Vec<String>, String> {
    let mut created = Vec::new();
    if !exists(client, users).await? {
        client
            .create_table()
            .table_name(users)
            .attribute_definitions(attribute("username")?)
            .attribute_definitions(attribute("lpk")?)
            .key_schema(key("username", KeyType::Hash)?)
            .global_secondary_indexes(index(super::dynamo::BY_NAME, "lpk", "username")?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        created.push(users.to_string());
    }
    if !exists(client, security).await? {
        client
            .create_table()
            .table_name(security)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .attribute_definitions(attribute("tpk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(index(super::dynamo::BY_TYPE, "tpk", "sk")?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        client
            .update_time_to_live()
            .table_name(security)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expires_at")
                    .enabled(true)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        created.push(security.to_string());
    }
    Ok(created)
}

/// Whether a table exists (one `DescribeTable`: a listing would need paging past 100 tables).
async fn exists(client: &Client, table: &str) -> Result<bool, String> {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(false),
        Err(e) => Err(DisplayErrorContext(&e).to_string()),
    }
}
