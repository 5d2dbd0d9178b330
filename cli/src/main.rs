//! `cloudmind`: the local server and admin tasks.
//!
//! ```text
//! cloudmind serve [--host 127.0.0.1] [--port 8000]   all functions behind one local server
//! cloudmind create-admin --username NAME             create (or promote) an admin in the configured store
//! cloudmind check-config                             load the settings as a function would, print a summary
//! ```

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use cloudmind::App;
use cloudmind::admin::{AdminOutcome, ensure_admin};
use cloudmind_platform::backends::Backends;
use cloudmind_platform::config::{KeySource, Settings};
use cloudmind_platform::telemetry;

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
    },
    /// Create a user with the admin role (or grant the role to an existing user) in the configured store.
    /// The password comes from CLOUDMIND_ADMIN_PASSWORD, else from the first line of standard input.
    CreateAdmin {
        #[arg(long)]
        username: String,
    },
    /// Load the settings exactly as a function does and print a summary without secrets.
    CheckConfig,
    /// Create the DynamoDB tables (with TTL) named by USERS_TABLE and SECURITY_TABLE, for local use.
    CreateTables,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let cli = Cli::parse();
    telemetry::init_local();
    let settings = Settings::from_env()?;
    match cli.command {
        Command::Serve { host, port } => serve(settings, &host, port).await,
        Command::CreateAdmin { username } => create_admin(settings, &username).await,
        Command::CreateTables => create_tables(&settings).await,
        Command::CheckConfig => {
            println!("{settings:#?}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings, host: &str, port: u16) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let backends = Backends::from_settings(&settings).await?;
    if settings.key_source == KeySource::Ephemeral {
        eprintln!("note: JWT_SECRET_KEY is not set; tokens are signed with an ephemeral key for this run only");
    }
    let admin = settings.admin_username.clone();
    match ensure_admin(&settings, &backends, &admin, settings.admin_password()).await? {
        AdminOutcome::Generated { username, password } => {
            eprintln!("admin user '{username}' created; its generated password (shown only now): {password}");
            eprintln!("set CLOUDMIND_ADMIN_PASSWORD to choose it yourself");
        }
        AdminOutcome::Created(username) => eprintln!("admin user '{username}' created from CLOUDMIND_ADMIN_PASSWORD"),
        AdminOutcome::Existing(username) => eprintln!("admin user '{username}' exists"),
    }
    let app = Arc::new(App::new(&settings, &backends));
    let addr: SocketAddr = format!("{host}:{port}").parse().or_else(|_| {
        std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("cannot resolve {host}")))
    })?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let limiter = backends.limiter.backend();
    eprintln!("CloudMind listening on http://{local} (store: {}, limiter: {limiter}); Ctrl-C stops", backends.store);
    tracing::info!(event = "server_started", address = %local, environment = %settings.environment);
    cloudmind::serve(listener, app, async {
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
    let sdk = cloudmind_platform::aws::sdk_config().await;
    let client = cloudmind_platform::aws::dynamodb_client(&sdk, infra.dynamodb_endpoint.as_deref());
    let created =
        cloudmind_platform::aws::tables::create_tables(&client, infra.users_table(), infra.security_table()).await?;
    if created.is_empty() {
        println!("tables {} and {} exist", infra.users_table(), infra.security_table());
    } else {
        println!("created {}", created.join(", "));
    }
    Ok(())
}

async fn create_admin(settings: Settings, username: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let backends = Backends::from_settings(&settings).await?;
    if backends.store == "memory" {
        return Err("no persistent store is configured (DYNAMODB_ENDPOINT or AWS settings); for the local server \
                    on memory, set CLOUDMIND_ADMIN_USERNAME and CLOUDMIND_ADMIN_PASSWORD before `cloudmind serve`"
            .into());
    }
    let password = match settings.admin_password() {
        Some(p) => p.to_string(),
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    match ensure_admin(&settings, &backends, username, Some(&password)).await? {
        AdminOutcome::Existing(u) => println!("'{u}' exists and now has the admin role"),
        AdminOutcome::Created(u) | AdminOutcome::Generated { username: u, .. } => println!("admin '{u}' created"),
    }
    Ok(())
}
