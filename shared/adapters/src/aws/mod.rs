//! The production adapters: DynamoDB (users, sessions, lockouts, audit trail), Redis (rate limits, blocks,
//! statistics) with an in-memory fallback, and Secrets Manager (signing keys). Clients are built once per execution
//! environment with deliberate timeouts and bounded retries, and their connections are warmed during init.

pub mod backups;
pub mod dynamo;
pub mod fallback;
pub mod redis;
pub mod rotation;
pub mod secrets;
pub mod ses;
pub mod tables;
pub mod trust;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The SDK configuration of a local process (the CLI, the local server, tests): the SDK's default credential chain
/// (environment, profile, SSO, web identity, container, instance metadata), region from the environment (default
/// `us-east-1`), and the timeouts, retries and TLS trust of [`lambda_sdk_config`].
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(trust::aws_http_client())
        .timeout_config(timeouts())
        .retry_config(retries())
        .region(Region::new(region()));
    if has_credentials() && std::env::var("AWS_PROFILE").is_err() {
        loader = loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// The SDK configuration of a Lambda function: credentials and region straight from the environment the runtime
/// sets, no default chains (they would build profile, web-identity (an STS client), container and
/// instance-metadata providers, and read profile files, at every cold start), TLS trusting the AWS roots only
/// ([`trust`]), connect timeout 1 s, 1 s per attempt, 3 s per operation, at most 3 attempts with exponential
/// backoff from 20 ms.
pub fn lambda_sdk_config() -> SdkConfig {
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region()))
        .http_client(trust::aws_http_client())
        .timeout_config(timeouts())
        .retry_config(retries());
    if has_credentials() {
        let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
        config = config.credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials));
    } else {
        tracing::warn!(event = "no_aws_credentials", detail = "AWS_ACCESS_KEY_ID is not set; AWS calls will fail");
    }
    config.build()
}

fn region() -> String {
    std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).unwrap_or_else(|_| "us-east-1".into())
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(3))
        .build()
}

fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(20))
}

/// Whether an endpoint is a local emulator (loopback), where placeholder credentials are acceptable.
pub fn is_local_endpoint(endpoint: &str) -> bool {
    ["://127.", "://localhost", "://[::1]"].iter().any(|m| endpoint.contains(m))
}

/// Whether the process has AWS credentials of its own (otherwise a local emulator gets placeholder ones).
fn has_credentials() -> bool {
    std::env::var("AWS_ACCESS_KEY_ID").is_ok() || std::env::var("AWS_PROFILE").is_ok()
}

/// `fn $name(sdk, endpoint) -> $sdk::Client`: a client of one AWS SDK crate for `endpoint` (an emulator or a VPC
/// endpoint), or the SDK's default endpoint. The SDK crates share no builder trait, so one macro writes all three.
macro_rules! client_for {
    ($(#[$doc:meta])* $name:ident, $sdk:ident) => {
        $(#[$doc])*
        pub fn $name(sdk: &SdkConfig, endpoint: Option<&str>) -> $sdk::Client {
            let mut config = $sdk::config::Builder::from(sdk);
            if !trust::trusts_aws_roots_only(endpoint) {
                config = config.http_client(trust::system_http_client());
            }
            if let Some(endpoint) = endpoint {
                config = config.endpoint_url(endpoint);
                if !has_credentials() && is_local_endpoint(endpoint) {
                    config = config.credentials_provider(emulator_credentials());
                }
            }
            $sdk::Client::from_conf(config.build())
        }
    };
}

client_for!(
    /// A DynamoDB client for `endpoint` (an emulator or a VPC endpoint), or the SDK's default endpoint.
    dynamodb_client,
    aws_sdk_dynamodb
);
client_for!(
    /// A Secrets Manager client for `endpoint`, or the SDK's default endpoint.
    secrets_client,
    aws_sdk_secretsmanager
);
client_for!(
    /// An SES v2 client for `endpoint`, or the SDK's default endpoint.
    ses_client,
    aws_sdk_sesv2
);

/// Credentials for a local emulator when none are configured (moto accepts any).
pub fn emulator_credentials() -> aws_sdk_dynamodb::config::Credentials {
    aws_sdk_dynamodb::config::Credentials::new("cloudmind-local", "cloudmind-local", None, None, "cloudmind-local")
}
