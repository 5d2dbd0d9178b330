//! Signing keys from Secrets Manager (`JWT_SECRET_ARN`): fetched at init and cached for
//! `JWT_KEY_REFRESH_SECONDS`. Tokens are signed with `AWSCURRENT` and verified with `AWSCURRENT` or `AWSPREVIOUS`
//! by `kid`, so a rotation logs nobody out. A token under an unknown `kid` (rotated on another instance) triggers
//! one early refresh, at most every few seconds.
//!
//! A version of the secret is one key, in one of two shapes: an HMAC secret (the string itself, or a JSON object
//! with it under `"key"`, the shape the SAM template generates; at least 32 bytes), or a key pair
//! `{"alg": "ES256" | "EdDSA", "private_key": "<PKCS#8 PEM>"}` (what the rotation function writes when
//! `JWT_ALGORITHM` asks for one). The two may follow each other across a rotation: a deployment moving from HMAC to
//! a key pair verifies both while the HMAC tokens live.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use cloudmind_security::keys::{Algorithm, KeyError, parse_algorithm};
use cloudmind_security::tokens::{KeyProvider, SigningKey, StaticKeys};

/// How soon after one forced refresh another may happen.
const FORCED_REFRESH_GAP: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secrets manager GetSecretValue({stage})")]
    Fetch {
        stage: &'static str,
        #[source]
        source: cloudmind_security::store::BoxError,
    },
    #[error("the signing key in the secret ({stage}) is shorter than 32 bytes")]
    ShortKey { stage: &'static str },
    #[error("the key pair in the secret ({stage}): {source}")]
    KeyPair {
        stage: &'static str,
        #[source]
        source: KeyError,
    },
}

/// The key a version of the signing secret holds (see the module's documentation); an HMAC secret is a key for
/// `hmac`.
pub fn parse_key(secret: &str, hmac: Algorithm, stage: &'static str) -> Result<SigningKey, SecretError> {
    let document = serde_json::from_str::<serde_json::Value>(secret).ok();
    if let Some(pem) = document.as_ref().and_then(|d| d.get("private_key")).and_then(|k| k.as_str()) {
        let key = SigningKey::from_pem(pem).map_err(|source| SecretError::KeyPair { stage, source })?;
        // A stated algorithm must be the key's own (a P-256 key under "EdDSA" is a broken secret, not a guess).
        let stated = document.as_ref().and_then(|d| d.get("alg")).and_then(|a| a.as_str());
        if let Some(name) = stated
            && parse_algorithm(name) != Some(key.algorithm)
        {
            return Err(SecretError::KeyPair { stage, source: KeyError::Algorithm(name.to_string()) });
        }
        return Ok(key);
    }
    let bytes = key_bytes(secret);
    if bytes.len() < 32 {
        return Err(SecretError::ShortKey { stage });
    }
    Ok(SigningKey::hmac(&bytes, hmac))
}

/// The current value of a secret that is not a signing key (the MFA encryption key): its `key` member or the
/// whole string, at least 32 bytes.
pub async fn fetch_string(client: &Client, arn: &str) -> Result<secrecy::SecretString, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .map_err(|e| SecretError::Fetch { stage: "AWSCURRENT", source: e.into() })?;
    let bytes = key_bytes(out.secret_string().unwrap_or_default());
    if bytes.len() < 32 {
        return Err(SecretError::ShortKey { stage: "AWSCURRENT" });
    }
    let text = String::from_utf8(bytes).map_err(|_| SecretError::ShortKey { stage: "AWSCURRENT" })?;
    Ok(secrecy::SecretString::from(text))
}

struct Cache {
    keys: StaticKeys,
    fetched: Instant,
    forced: Option<Instant>,
}

/// A rotation-aware key provider over Secrets Manager.
pub struct SecretsKeys {
    client: Client,
    arn: String,
    /// The algorithm of HMAC-shaped versions.
    hmac: Algorithm,
    refresh_every: Duration,
    cache: RwLock<Cache>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SecretsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsKeys").field("arn", &self.arn).field("refresh_every", &self.refresh_every).finish()
    }
}

/// The key bytes of a secret string: the `"key"` field of a JSON object, or the whole string.
pub(crate) fn key_bytes(secret: &str) -> Vec<u8> {
    serde_json::from_str::<serde_json::Value>(secret)
        .ok()
        .and_then(|v| v.get("key").and_then(|k| k.as_str()).map(|k| k.as_bytes().to_vec()))
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

impl SecretsKeys {
    /// Fetches the keys now; a secret that cannot be read fails the init.
    pub async fn load(
        client: Client,
        arn: String,
        hmac: Algorithm,
        refresh_every: Duration,
    ) -> Result<Self, SecretError> {
        let keys = fetch(&client, &arn, hmac).await?;
        Ok(Self {
            client,
            arn,
            hmac,
            refresh_every,
            cache: RwLock::new(Cache { keys, fetched: Instant::now(), forced: None }),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    fn cached(&self) -> StaticKeys {
        self.cache.read().map(|c| c.keys.clone()).unwrap_or_else(|p| p.into_inner().keys.clone())
    }

    fn is_due(&self, force: bool) -> bool {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        if force {
            cache.forced.is_none_or(|at| at.elapsed() >= FORCED_REFRESH_GAP)
        } else {
            cache.fetched.elapsed() >= self.refresh_every
        }
    }
}

async fn fetch_stage(
    client: &Client,
    arn: &str,
    stage: &'static str,
    hmac: Algorithm,
) -> Result<Option<SigningKey>, SecretError> {
    let result = client.get_secret_value().secret_id(arn).version_stage(stage).send().await;
    let out = match result {
        Ok(out) => out,
        // A secret that was never rotated has no AWSPREVIOUS version.
        Err(e)
            if stage == "AWSPREVIOUS" && e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(SecretError::Fetch { stage, source: e.into() }),
    };
    parse_key(out.secret_string().unwrap_or_default(), hmac, stage).map(Some)
}

async fn fetch(client: &Client, arn: &str, hmac: Algorithm) -> Result<StaticKeys, SecretError> {
    let (current, previous) =
        tokio::join!(fetch_stage(client, arn, "AWSCURRENT", hmac), fetch_stage(client, arn, "AWSPREVIOUS", hmac));
    let current =
        current?.ok_or(SecretError::Fetch { stage: "AWSCURRENT", source: "the secret has no value".into() })?;
    // A previous version that cannot be read only costs older tokens; the current one is what matters.
    let previous = previous.unwrap_or_else(|e| {
        tracing::warn!(event = "previous_key_unavailable", error = %cloudmind_security::store::error_chain(&e));
        None
    });
    Ok(StaticKeys { current, previous: previous.into_iter().collect() })
}

#[async_trait]
impl KeyProvider for SecretsKeys {
    fn current(&self) -> SigningKey {
        self.cached().current
    }

    fn by_kid(&self, kid: &str) -> Option<SigningKey> {
        self.cached().by_kid(kid)
    }

    fn keys(&self) -> Vec<SigningKey> {
        self.cached().keys()
    }

    async fn refresh(&self, force: bool) {
        if !self.is_due(force) {
            return;
        }
        let _one_at_a_time = self.refreshing.lock().await;
        if !self.is_due(force) {
            return;
        }
        if force && let Ok(mut cache) = self.cache.write() {
            cache.forced = Some(Instant::now());
        }
        match fetch(&self.client, &self.arn, self.hmac).await {
            Ok(keys) => {
                if let Ok(mut cache) = self.cache.write() {
                    let rotated = cache.keys.current.kid != keys.current.kid;
                    cache.keys = keys;
                    cache.fetched = Instant::now();
                    if rotated {
                        tracing::info!(event = "signing_key_rotated", kid = %cache.keys.current.kid);
                    }
                }
            }
            // Keep the cached keys: tokens keep verifying while Secrets Manager is unreachable.
            Err(e) => {
                tracing::error!(event = "key_refresh_failed", error = %cloudmind_security::store::error_chain(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_an_hmac_secret_or_a_key_pair_document() {
        let hmac = parse_key(r#"{"key":"0123456789abcdef0123456789abcdef"}"#, Algorithm::HS256, "AWSCURRENT").unwrap();
        assert_eq!(hmac.algorithm, Algorithm::HS256);
        assert!(matches!(
            parse_key(r#"{"key":"short"}"#, Algorithm::HS256, "AWSCURRENT"),
            Err(SecretError::ShortKey { .. })
        ));
        let (pair, pem) = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let document = serde_json::json!({"alg": "EdDSA", "private_key": pem}).to_string();
        let parsed = parse_key(&document, Algorithm::HS256, "AWSCURRENT").unwrap();
        assert_eq!((parsed.kid.as_str(), parsed.algorithm), (pair.kid.as_str(), Algorithm::EdDSA));
        let mislabelled = serde_json::json!({"alg": "ES256", "private_key": pem}).to_string();
        let err = parse_key(&mislabelled, Algorithm::HS256, "AWSCURRENT").unwrap_err();
        assert!(matches!(err, SecretError::KeyPair { .. }));
        assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
    }

    #[test]
    fn the_key_is_the_json_key_field_or_the_whole_secret() {
        assert_eq!(key_bytes(r#"{"key":"abc"}"#), b"abc");
        assert_eq!(key_bytes("raw-secret"), b"raw-secret");
        assert_eq!(key_bytes(r#"{"other":"x"}"#), br#"{"other":"x"}"#);
    }
}
