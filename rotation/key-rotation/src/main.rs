//! `key-rotation`: rotates the signing secret when Secrets Manager asks (the stack schedules it every
//! `KeyRotationDays`), making a key of `JWT_ALGORITHM` (`HS256` when unset; the stack passes `ES256`). The steps
//! are in `cloudmind_adapters::aws::rotation`; this binary only wires them to the Lambda runtime with a Secrets
//! Manager client (`SECRETS_MANAGER_ENDPOINT` for a local emulator).

use cloudmind_adapters::aws::{self, rotation};
use cloudmind_security::keys::{Algorithm, parse_algorithm};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    cloudmind_serving::telemetry::init();
    let algorithm = match std::env::var("JWT_ALGORITHM").ok().filter(|a| !a.is_empty()) {
        None => Algorithm::HS256,
        Some(name) => {
            parse_algorithm(&name).ok_or_else(|| Error::from(format!("JWT_ALGORITHM {name} is not supported")))?
        }
    };
    let endpoint = std::env::var("SECRETS_MANAGER_ENDPOINT").ok().filter(|e| !e.is_empty());
    let client = aws::secrets_client(&aws::lambda_sdk_config(), endpoint.as_deref());
    let client = &client;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<rotation::RotationEvent>| async move {
        rotation::rotate(client, &event.payload, algorithm).await.map_err(|e| {
            tracing::error!(event = "key_rotation_failed", step = %event.payload.step, error = %e);
            Error::from(e.to_string())
        })
    }))
    .await
}
