//! `cloudmind backup create|list|restore`: on-demand backups of the users and security tables and restores into
//! new tables (from a backup, or from point-in-time recovery). The switch-over to a restored table is the
//! operator's, by the stack's table-override parameters (infra/README.md, "Backup and restore").

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use cloudmind_adapters::aws::backups::{self, RestoreFrom};
use cloudmind_serving::config::Settings;

/// Which table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Table {
    Users,
    Security,
}

/// `cloudmind backup …`.
#[derive(Debug, Args)]
pub struct Backup {
    #[command(subcommand)]
    command: BackupCommand,
}

#[derive(Debug, Subcommand)]
enum BackupCommand {
    /// An on-demand backup of both tables (or one), named `<table>-<name>`.
    Create {
        /// A name for this backup (default: the time, `20261206T2130Z`).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum)]
        table: Option<Table>,
    },
    /// The on-demand backups of both tables, oldest first.
    List,
    /// Restores a table into a new one: from a backup (`--backup ARN`) or to a point in time (`--at`, RFC 3339,
    /// within the table's recovery window).
    Restore {
        #[arg(long, value_enum)]
        table: Table,
        /// The new table's name (it must not exist).
        #[arg(long)]
        to: String,
        #[arg(long, conflicts_with = "at", required_unless_present = "at")]
        backup: Option<String>,
        #[arg(long)]
        at: Option<String>,
        /// How long to wait for the new table to become active.
        #[arg(long, default_value_t = 1800)]
        wait_seconds: u64,
    },
}

fn table_name(settings: &Settings, table: Table) -> String {
    let infra = &settings.infrastructure;
    match table {
        Table::Users => infra.users_table().to_string(),
        Table::Security => infra.security_table().to_string(),
    }
}

pub async fn run(settings: &Settings, backup: Backup) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let infra = &settings.infrastructure;
    if !infra.uses_dynamodb() {
        return Err("no DynamoDB is configured: set DYNAMODB_ENDPOINT or USERS_TABLE/SECURITY_TABLE".into());
    }
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    match backup.command {
        BackupCommand::Create { name, table } => {
            let name = name.unwrap_or_else(chrono_stamp);
            let tables = match table {
                Some(t) => vec![t],
                None => vec![Table::Users, Table::Security],
            };
            for t in tables {
                let source = table_name(settings, t);
                let arn = backups::create(&client, &source, &format!("{source}-{name}")).await?;
                println!("{source}\t{arn}");
            }
        }
        BackupCommand::List => {
            for t in [Table::Users, Table::Security] {
                for b in backups::list(&client, &table_name(settings, t)).await? {
                    println!("{}\t{}\t{}\t{}\t{}", b.created_at, b.table, b.name, b.status, b.arn);
                }
            }
        }
        BackupCommand::Restore { table, to, backup, at, wait_seconds } => {
            let source = table_name(settings, table);
            let from = match (backup, at) {
                (Some(arn), _) => RestoreFrom::Backup(arn),
                (None, Some(at)) => {
                    let at = chrono::DateTime::parse_from_rfc3339(&at).map_err(|e| format!("--at {at}: {e}"))?;
                    RestoreFrom::PointInTime { table: source.clone(), at_ms: at.timestamp_millis().max(0) as u64 }
                }
                (None, None) => return Err("give --backup ARN or --at TIME".into()),
            };
            let security = table == Table::Security;
            let extras = backups::Extras { ttl: security.then_some("expires_at"), stream: security };
            let stream = backups::restore(&client, &from, &to, extras, Duration::from_secs(wait_seconds)).await?;
            println!(
                "restored {source} into {to}: switch the stack to it as infra/README.md, \"Backup and restore\", says"
            );
            if let Some(arn) = stream {
                println!("its stream (SecurityTableStreamOverride): {arn}");
            }
        }
    }
    Ok(())
}

fn chrono_stamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%MZ").to_string()
}
