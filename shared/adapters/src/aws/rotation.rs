//! Automatic rotation of the signing secret: the four steps Secrets Manager calls a rotation function with
//! (`createSecret`, `setSecret`, `testSecret`, `finishSecret`). The new version is a key of the configured
//! algorithm (`JWT_ALGORITHM`): `{"key": "<64 random characters>"}` for HMAC, or a new key pair
//! `{"alg": "ES256" | "EdDSA", "private_key": "<PKCS#8 PEM>"}`, generated here with aws-lc-rs. Each step is
//! idempotent (Secrets Manager retries them). Rotation logs nobody out: the functions verify tokens under
//! `AWSCURRENT` and `AWSPREVIOUS` by `kid`, and sign with the new key once they refresh it (`JWT_KEY_REFRESH_SECONDS`),
//! or at once when they meet a token under a `kid` they do not know. A deployment moving from HMAC to a key pair
//! rotates once after setting `JWT_ALGORITHM`: the HMAC key becomes `AWSPREVIOUS` and keeps verifying its tokens.

use aws_sdk_secretsmanager::Client;
use cloudmind_security::keys::{Algorithm, is_asymmetric};
use cloudmind_security::tokens::SigningKey;
use serde::Deserialize;

/// What Secrets Manager sends the rotation function.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    pub secret_id: String,
    pub client_request_token: String,
    pub step: String,
}

/// Why a step failed (Secrets Manager retries, then marks the rotation failed). Never carries a key.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("rotation is not enabled on the secret")]
    NotEnabled,
    #[error("version {0} of the secret is not staged for rotation")]
    NotStaged(String),
    #[error("the pending key is shorter than 32 bytes or not a key document")]
    BadPendingKey,
    #[error("a new key pair could not be made: {0}")]
    KeyPair(#[from] cloudmind_security::keys::KeyError),
    #[error("unknown rotation step {0:?}")]
    UnknownStep(String),
    #[error("secrets manager {op}: {source}")]
    Api {
        op: &'static str,
        #[source]
        source: cloudmind_security::store::BoxError,
    },
}

fn api<E: std::error::Error + Send + Sync + 'static>(op: &'static str) -> impl FnOnce(E) -> RotationError {
    move |e| RotationError::Api { op, source: Box::new(e) }
}

/// A new key document for `algorithm`: a key pair's PKCS#8 PEM, or an HMAC secret.
fn new_document(algorithm: Algorithm) -> Result<String, RotationError> {
    if !is_asymmetric(algorithm) {
        return Ok(new_key_document());
    }
    let (key, pem) = SigningKey::generate(algorithm)?;
    let name = if key.algorithm == Algorithm::ES256 { "ES256" } else { "EdDSA" };
    Ok(serde_json::json!({ "alg": name, "private_key": pem }).to_string())
}

/// A new HMAC key document: 64 characters of `[A-Za-z0-9]` from the OS generator (381 bits).
fn new_key_document() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 64];
    let _ = getrandom::fill(&mut raw);
    // 62 symbols: reject the top of the byte range so every symbol is equally likely.
    let mut key = String::with_capacity(64);
    let mut pool = raw.to_vec();
    while key.len() < 64 {
        if pool.is_empty() {
            let mut more = [0u8; 64];
            let _ = getrandom::fill(&mut more);
            pool.extend_from_slice(&more);
        }
        let b = pool.remove(0);
        if b < 248 {
            key.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    serde_json::json!({ "key": key }).to_string()
}

/// Runs one step of a rotation; a new key is made for `algorithm`.
pub async fn rotate(client: &Client, event: &RotationEvent, algorithm: Algorithm) -> Result<(), RotationError> {
    let (arn, token) = (event.secret_id.as_str(), event.client_request_token.as_str());
    let described = client.describe_secret().secret_id(arn).send().await.map_err(api("DescribeSecret"))?;
    if described.rotation_enabled() != Some(true) {
        return Err(RotationError::NotEnabled);
    }
    let stages = described.version_ids_to_stages().and_then(|v| v.get(token)).cloned().unwrap_or_default();
    if stages.is_empty() {
        return Err(RotationError::NotStaged(token.to_string()));
    }
    if stages.iter().any(|s| s == "AWSCURRENT") {
        tracing::info!(event = "key_rotation_step", step = %event.step, detail = "version already current");
        return Ok(());
    }
    if !stages.iter().any(|s| s == "AWSPENDING") {
        return Err(RotationError::NotStaged(token.to_string()));
    }
    match event.step.as_str() {
        "createSecret" => create_pending(client, arn, token, algorithm).await?,
        // The key lives only in the secret: nothing outside it to update.
        "setSecret" => {}
        "testSecret" => test_pending(client, arn, token).await?,
        "finishSecret" => finish(client, arn, token).await?,
        other => return Err(RotationError::UnknownStep(other.to_string())),
    }
    tracing::info!(event = "key_rotation_step", step = %event.step);
    Ok(())
}

/// `createSecret`: a new key for `algorithm` as version `token`, staged `AWSPENDING` (nothing when that version
/// exists).
pub async fn create_pending(
    client: &Client,
    arn: &str,
    token: &str,
    algorithm: Algorithm,
) -> Result<(), RotationError> {
    // The current version must exist (and be readable) before a successor is made.
    client.get_secret_value().secret_id(arn).version_stage("AWSCURRENT").send().await.map_err(api("GetSecretValue"))?;
    let pending = client.get_secret_value().secret_id(arn).version_id(token).version_stage("AWSPENDING").send().await;
    match pending {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(api("GetSecretValue")(e)),
    }
    client
        .put_secret_value()
        .secret_id(arn)
        .client_request_token(token)
        .secret_string(new_document(algorithm)?)
        .version_stages("AWSPENDING")
        .send()
        .await
        .map_err(api("PutSecretValue"))?;
    Ok(())
}

/// `testSecret`: the pending version holds a usable key.
pub async fn test_pending(client: &Client, arn: &str, token: &str) -> Result<(), RotationError> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .version_id(token)
        .version_stage("AWSPENDING")
        .send()
        .await
        .map_err(api("GetSecretValue"))?;
    // The functions read it exactly so: a version that parses is a key they can sign and verify with.
    crate::aws::secrets::parse_key(out.secret_string().unwrap_or_default(), Algorithm::HS256, "AWSPENDING")
        .map(|_| ())
        .map_err(|_| RotationError::BadPendingKey)
}

/// `finishSecret`: version `token` becomes `AWSCURRENT` (the one it replaces, `AWSPREVIOUS`).
pub async fn finish(client: &Client, arn: &str, token: &str) -> Result<(), RotationError> {
    let described = client.describe_secret().secret_id(arn).send().await.map_err(api("DescribeSecret"))?;
    let current = described
        .version_ids_to_stages()
        .into_iter()
        .flatten()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(id, _)| id.clone());
    if current.as_deref() == Some(token) {
        return Ok(());
    }
    // Secrets Manager labels the version that loses AWSCURRENT as AWSPREVIOUS.
    client
        .update_secret_version_stage()
        .secret_id(arn)
        .version_stage("AWSCURRENT")
        .move_to_version_id(token)
        .set_remove_from_version_id(current)
        .send()
        .await
        .map_err(api("UpdateSecretVersionStage"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keys_are_64_alphanumerics_in_a_key_document() {
        let a: serde_json::Value = serde_json::from_str(&new_key_document()).unwrap();
        let b: serde_json::Value = serde_json::from_str(&new_key_document()).unwrap();
        let key = a["key"].as_str().unwrap();
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn key_pair_documents_hold_a_fresh_pair_of_the_configured_algorithm() {
        for (algorithm, name) in [(Algorithm::ES256, "ES256"), (Algorithm::EdDSA, "EdDSA")] {
            let a = new_document(algorithm).unwrap();
            let b = new_document(algorithm).unwrap();
            let parsed = crate::aws::secrets::parse_key(&a, Algorithm::HS256, "AWSPENDING").unwrap();
            assert_eq!(parsed.algorithm, algorithm);
            assert_eq!(serde_json::from_str::<serde_json::Value>(&a).unwrap()["alg"], name);
            assert_ne!(a, b);
        }
        let hmac = new_document(Algorithm::HS256).unwrap();
        assert_eq!(
            crate::aws::secrets::parse_key(&hmac, Algorithm::HS256, "AWSPENDING").unwrap().algorithm,
            Algorithm::HS256
        );
    }

    #[test]
    fn the_event_is_read_as_secrets_manager_sends_it() {
        let e: RotationEvent = serde_json::from_str(
            r#"{"SecretId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s", "ClientRequestToken": "t-1", "Step": "createSecret"}"#,
        )
        .unwrap();
        assert_eq!((e.step.as_str(), e.client_request_token.as_str()), ("createSecret", "t-1"));
    }
}
