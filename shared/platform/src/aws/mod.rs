//! The production adapters: DynamoDB (users, denylist, lockouts, audit trail), Redis (rate limits, blocks,
//! statistics) with an in-memory fallback, and Secrets Manager (signing keys). Clients are built once per execution
//! environment with deliberate timeouts and bounded retries, and their connections are warmed during init.

pub mod dynamo;
pub mod fallback;
pub mod redis;
pub mod secrets;
pub mod tables;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The shared SDK configuration: region from the environment (default `us-east-1`), connect timeout 1 s,
/// 1 s per attempt, 3 s per operation, at most 3 attempts with exponential backoff from 20 ms.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(1))
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(20)));
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        loader = loader.region(Region::new("us-east-1"));
    }
    loader.load().await
}

/// Whether an endpoint is a local emulator (loopback), where placeholder credentials are acceptable.
pub fn is_local_endpoint(endpoint: &str) -> bool {
    ["://127.", "://localhost", "://[::1]"].iter().any(|m| endpoint.contains(m))
}

/// Credentials for a local emulator when none are configured (moto accepts any).
pub fn emulator_credentials() -> aws_sdk_dynamodb::config::Credentials {
    aws_sdk_dynamodb::config::Credentials::new("cloudmind-local", "cloudmind-local", None, None, "cloudmind-local")
}
