//! `cloudmind`: the operator's commands (the local server, the first admin, tables, the settings as a function
//! reads them), and the attack and load tools of `cloudmind-attack` under the same name.
//!
//! ```text
//! cloudmind serve [--host 127.0.0.1] [--port 8000]   all functions behind one local server
//! cloudmind create-admin --username NAME             create an admin in the configured store
//! cloudmind create-tables                            the DynamoDB tables, for an emulator or a first deploy
//! cloudmind check-config                             load the settings as a function would, print a summary
//! cloudmind backup create|list|restore               on-demand backups and restores of the tables
//! cloudmind loadtest --url URL --endpoint /health --concurrent 200 --output results.json
//! cloudmind probe --url URL [--signing-key-env VAR] --output probe.json
//! ```

mod backup;

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use cloudmind_attack::{loadtest, probe};
use cloudmind_registry::App;
use cloudmind_registry::admin::{AdminOutcome, ensure_admin};
use cloudmind_security::store::StoreKind;
use cloudmind_serving::config::{KeySource, Settings};
use cloudmind_serving::function::Ports as _;
use cloudmind_serving::telemetry;
use cloudmind_wiring::Wiring;
use secrecy::{ExposeSecret, SecretString};

#[derive(Parser)]
#[command(name = "cloudmind", version, about = "CloudMind: a hardened authentication backend for AWS Lambda")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every function on one local HTTP listener, on in-memory stores unless configured otherwise.
    Serve {
        #[arg(long, env = "CLOUDMIND_HOST", default_value = "127.0.0.1")]
        host: String,
        #[arg(long, env = "CLOUDMIND_PORT", default_value_t = 8000)]
        port: u16,
        /// The admin user made at start (an existing account of that name that is not an admin stops the start:
        /// promote it with `create-admin --promote-existing`, or choose another name).
        #[arg(long, env = "CLOUDMIND_ADMIN_USERNAME", default_value = "admin")]
        admin: String,
    },
    /// Create a user with the admin role in the configured store. The password comes from CLOUDMIND_ADMIN_PASSWORD,
    /// else from the first line of standard input. An account of that name that exists already is refused (its id
    /// and creation time are shown): create the first admin before registration opens.
    CreateAdmin {
        #[arg(long)]
        username: String,
        /// Grant the admin role to the existing account with this id (shown when the name is refused), keeping its
        /// password: only for an account you know is yours.
        #[arg(long, value_name = "ID")]
        promote_existing: Option<String>,
    },
    /// Load the settings exactly as a function does and print a summary without secrets.
    CheckConfig,
    /// Create the DynamoDB tables (with TTL) named by USERS_TABLE and SECURITY_TABLE, for local use.
    CreateTables,
    /// After an upgrade to v1.2: index the users created before it by name (the admin's user list) and by address
    /// (the forgotten-password lookup), in the tables USERS_TABLE and SECURITY_TABLE name. Safe to run again.
    Backfill,
    /// Print a new signing key pair as a PKCS#8 PEM (for JWT_PRIVATE_KEY), and its key id on standard error.
    GenerateKey {
        #[arg(long, value_parser = ["ES256", "EdDSA"], default_value = "ES256")]
        algorithm: String,
    },
    /// On-demand backups of the tables, and restores into new tables (from a backup or a point in time).
    Backup(backup::Backup),
    /// Load test an endpoint (or a weighted scenario): latency percentiles, throughput, errors, a JSON report and
    /// an SVG picture.
    Loadtest(loadtest::Args),
    /// Attack an API the way the threat model says attackers do and report one pass/fail line per check:
    /// headers, CORS, bodies, forged and replayed tokens, lockout, limits, spoofed forwarding headers,
    /// enumeration (answer and timing), injection on every declared input, automatic blocking.
    Probe(probe::Args),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let cli = Cli::parse();
    if let Command::Loadtest(args) = cli.command {
        // A client of any deployment: no settings, no logging setup of the server's.
        return loadtest::run(args).await.map(|_| ());
    }
    if let Command::GenerateKey { algorithm } = &cli.command {
        // No settings: a tool, like the ones below.
        let algorithm = cloudmind_security::keys::parse_algorithm(algorithm).ok_or("unsupported algorithm")?;
        let (key, pem) = cloudmind_security::keys::SigningKey::generate(algorithm)?;
        print!("{pem}");
        eprintln!("kid {}", key.kid);
        return Ok(());
    }
    if let Command::Probe(args) = cli.command {
        let allow_inconclusive = args.allow_inconclusive;
        let report = probe::run(args).await?;
        std::process::exit(i32::from(probe::failed(&report, allow_inconclusive)));
    }
    telemetry::init_local();
    let settings = Settings::from_env()?;
    match cli.command {
        Command::Serve { host, port, admin } => serve(settings, &host, port, &admin).await,
        Command::CreateAdmin { username, promote_existing } => {
            create_admin(settings, &username, promote_existing.as_deref()).await
        }
        Command::CreateTables => create_tables(&settings).await,
        Command::Backfill => backfill(&settings).await,
        Command::Backup(b) => backup::run(&settings, b).await,
        Command::Loadtest(_) | Command::Probe(_) | Command::GenerateKey { .. } => unreachable!("handled above"),
        Command::CheckConfig => {
            let (_, key_source) = settings.signing_keys()?;
            println!("{settings:#?}");
            println!("signing keys: {key_source:?}");
            Ok(())
        }
    }
}

/// `CLOUDMIND_ADMIN_PASSWORD`: the password of the admin made at start or by `create-admin` (CLI only).
fn admin_password() -> Option<SecretString> {
    std::env::var("CLOUDMIND_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty()).map(SecretString::from)
}

async fn serve(
    settings: Settings,
    host: &str,
    port: u16,
    admin: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let wiring = Wiring::new(settings);
    let app = Arc::new(App::build(&wiring).await?);
    if wiring.keys().await?.1 == KeySource::Ephemeral {
        eprintln!(
            "note: JWT_SECRET_KEY (or JWT_PRIVATE_KEY) is not set; tokens are signed with an ephemeral key for this \
             run only"
        );
    }
    let password = admin_password();
    match ensure_admin(&wiring, admin, password.as_ref().map(|p| p.expose_secret()), None).await? {
        AdminOutcome::Generated { username, password } => {
            eprintln!("admin user '{username}' created; its generated password (shown only now): {password}");
            eprintln!("set CLOUDMIND_ADMIN_PASSWORD to choose it yourself");
        }
        AdminOutcome::Created(username) => eprintln!("admin user '{username}' created from CLOUDMIND_ADMIN_PASSWORD"),
        AdminOutcome::Existing(username) | AdminOutcome::Promoted(username) => {
            eprintln!("admin user '{username}' exists")
        }
    }
    let addr: SocketAddr = format!("{host}:{port}").parse().or_else(|_| {
        std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("cannot resolve {host}")))
    })?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let limiter = wiring.limiter().await?.backend();
    let store = wiring.store_kind();
    eprintln!("CloudMind listening on http://{local} (store: {store}, limiter: {limiter}); Ctrl-C stops");
    let mail = &wiring.settings().mail;
    match mail.transport {
        cloudmind_serving::config::MailTransport::File => {
            let dir = std::path::Path::new(&mail.outbox_dir);
            let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            eprintln!("mail (verification, password reset) is written to {}: one .eml file a message", shown.display());
        }
        cloudmind_serving::config::MailTransport::Ses => eprintln!("mail leaves through Amazon SES as {}", mail.from),
        cloudmind_serving::config::MailTransport::None => eprintln!("mail: none leaves (MAIL_TRANSPORT=none)"),
    }
    tracing::info!(event = "server_started", address = %local, environment = %wiring.settings().environment);
    // The connection caps can be raised for a load test from one machine (`cloudmind loadtest --concurrent 200`).
    let mut limits = cloudmind_registry::server::Limits::default();
    for (name, cap) in [
        ("CLOUDMIND_MAX_CONNECTIONS", &mut limits.max_connections),
        ("CLOUDMIND_MAX_CONNECTIONS_PER_IP", &mut limits.max_connections_per_ip),
    ] {
        if let Ok(v) = std::env::var(name) {
            *cap = v.parse().map_err(|_| format!("{name} must be a number of connections"))?;
        }
    }
    cloudmind_registry::server::serve_with(listener, app, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    eprintln!("CloudMind stopped");
    Ok(())
}

async fn create_tables(settings: &Settings) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let infra = &settings.infrastructure;
    if !infra.uses_dynamodb() {
        return Err("set DYNAMODB_ENDPOINT (an emulator) or USERS_TABLE/SECURITY_TABLE (AWS) first".into());
    }
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    let created =
        cloudmind_adapters::aws::tables::create_tables(&client, infra.users_table(), infra.security_table()).await?;
    if created.is_empty() {
        println!("tables {} and {} exist", infra.users_table(), infra.security_table());
    } else {
        println!("created {}", created.join(", "));
    }
    Ok(())
}

async fn backfill(settings: &Settings) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let infra = &settings.infrastructure;
    if !infra.uses_dynamodb() {
        return Err("set USERS_TABLE and SECURITY_TABLE (AWS) or DYNAMODB_ENDPOINT (an emulator) first".into());
    }
    let sdk = cloudmind_adapters::aws::sdk_config().await;
    let client = cloudmind_adapters::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    let store = cloudmind_adapters::aws::dynamo::DynamoStore::new(client, infra.users_table(), infra.security_table());
    let (read, upgraded) = store.backfill_user_indexes().await?;
    println!("{read} users read, {upgraded} indexed by name and address (the others were already)");
    Ok(())
}

async fn create_admin(
    settings: Settings,
    username: &str,
    promote: Option<&str>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let wiring = Wiring::new(settings);
    if wiring.store_kind() == StoreKind::Memory {
        return Err("no persistent store is configured (DYNAMODB_ENDPOINT or AWS settings); for the local server \
                    on memory, set CLOUDMIND_ADMIN_USERNAME and CLOUDMIND_ADMIN_PASSWORD before `cloudmind serve`"
            .into());
    }
    // Promoting keeps the account's own password: none is asked for.
    let password = match (admin_password(), promote) {
        (_, Some(_)) => None,
        (Some(p), None) => Some(p),
        (None, None) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            Some(SecretString::from(line.trim_end_matches(['\r', '\n']).to_string()))
        }
    };
    match ensure_admin(&wiring, username, password.as_ref().map(|p| p.expose_secret()), promote).await? {
        AdminOutcome::Existing(u) => println!("'{u}' is an admin already"),
        AdminOutcome::Promoted(u) => println!("'{u}' (the account you named) now has the admin role"),
        AdminOutcome::Created(u) | AdminOutcome::Generated { username: u, .. } => println!("admin '{u}' created"),
    }
    Ok(())
}
