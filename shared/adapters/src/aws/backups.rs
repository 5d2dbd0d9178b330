//! On-demand backups and restores of the two tables (`cloudmind backup create|list|restore`), over DynamoDB's own
//! backups and point-in-time recovery (the SAM stack turns the latter on for both tables). A restore always makes a
//! new table; switching the stack to it is the runbook's step (infra/README.md, "Backup and restore"), never
//! done behind the operator's back.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{BackupTypeFilter, BillingMode, TableStatus};

/// A backup as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub table: String,
    pub name: String,
    pub arn: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub status: String,
}

fn failed(e: impl std::error::Error) -> String {
    DisplayErrorContext(e).to_string()
}

fn rfc3339(t: Option<&DateTime>) -> String {
    t.and_then(|t| t.to_millis().ok()).map(|ms| cloudmind_security::clock::rfc3339(ms as u64)).unwrap_or_default()
}

/// Makes an on-demand backup of `table` named `name`; its ARN.
pub async fn create(client: &Client, table: &str, name: &str) -> Result<String, String> {
    let out = client.create_backup().table_name(table).backup_name(name).send().await.map_err(failed)?;
    out.backup_details().map(|d| d.backup_arn().to_string()).ok_or_else(|| "no backup ARN in the answer".into())
}

/// The on-demand backups of `table`, oldest first.
pub async fn list(client: &Client, table: &str) -> Result<Vec<BackupSummary>, String> {
    let mut out = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = client
            .list_backups()
            .table_name(table)
            .backup_type(BackupTypeFilter::User)
            .set_exclusive_start_backup_arn(start.take())
            .send()
            .await
            .map_err(failed)?;
        for b in page.backup_summaries() {
            out.push(BackupSummary {
                table: b.table_name().unwrap_or(table).to_string(),
                name: b.backup_name().unwrap_or_default().to_string(),
                arn: b.backup_arn().unwrap_or_default().to_string(),
                created_at: rfc3339(b.backup_creation_date_time()),
                status: b.backup_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            });
        }
        match page.last_evaluated_backup_arn() {
            Some(arn) if !arn.is_empty() => start = Some(arn.to_string()),
            _ => break,
        }
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    Ok(out)
}

/// Where a restore comes from.
#[derive(Debug, Clone)]
pub enum RestoreFrom {
    /// An on-demand backup, by ARN.
    Backup(String),
    /// The table's point-in-time recovery, at a time (epoch milliseconds) within its recovery window.
    PointInTime { table: String, at_ms: u64 },
}

/// What the stack's table has that a restore does not copy, besides point-in-time recovery and deletion protection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// The TTL attribute (the security table's `expires_at`).
    pub ttl: Option<&'a str>,
    /// A stream of new images (the security table's: it feeds the mail worker).
    pub stream: bool,
}

/// Restores into the new table `target` (which must not exist) and waits until it is active (real restores take
/// minutes: up to `wait`). The restored table has the source's keys and indexes; point-in-time recovery, deletion
/// protection and the `extras` are turned on again here (DynamoDB copies none of them). Answers the new stream's ARN
/// when `extras` asked for one (the stack's `SecurityTableStreamOverride`).
pub async fn restore(
    client: &Client,
    from: &RestoreFrom,
    target: &str,
    extras: Extras<'_>,
    wait: Duration,
) -> Result<Option<String>, String> {
    match from {
        RestoreFrom::Backup(arn) => {
            client
                .restore_table_from_backup()
                .backup_arn(arn)
                .target_table_name(target)
                .billing_mode_override(BillingMode::PayPerRequest)
                .send()
                .await
                .map_err(failed)?;
        }
        RestoreFrom::PointInTime { table, at_ms } => {
            client
                .restore_table_to_point_in_time()
                .source_table_name(table)
                .target_table_name(target)
                .restore_date_time(DateTime::from_millis(*at_ms as i64))
                .billing_mode_override(BillingMode::PayPerRequest)
                .send()
                .await
                .map_err(failed)?;
        }
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let table = client.describe_table().table_name(target).send().await.map_err(failed)?;
        if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{target} is not active after {} s: check it in the console", wait.as_secs()));
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    // What a restore does not carry over (DynamoDB restores only keys, indexes and items): point-in-time recovery
    // and deletion protection, as the stack's tables have them, and the TTL below.
    let pitr = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .map_err(failed)?;
    client
        .update_continuous_backups()
        .table_name(target)
        .point_in_time_recovery_specification(pitr)
        .send()
        .await
        .map_err(failed)?;
    client.update_table().table_name(target).deletion_protection_enabled(true).send().await.map_err(failed)?;
    if let Some(attribute) = extras.ttl {
        let spec =
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder().attribute_name(attribute).enabled(true).build();
        let spec = spec.map_err(failed)?;
        client
            .update_time_to_live()
            .table_name(target)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(failed)?;
    }
    if !extras.stream {
        return Ok(None);
    }
    let spec = aws_sdk_dynamodb::types::StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewImage)
        .build()
        .map_err(failed)?;
    let updated = client.update_table().table_name(target).stream_specification(spec).send().await.map_err(failed)?;
    Ok(updated.table_description().and_then(|t| t.latest_stream_arn()).map(str::to_string))
}
