//! Typed settings, loaded once from the environment (the seed guide's names where they apply).
//!
//! A missing or unsafe setting is an error returned from `main`, never a panic in a handler. With
//! `ENVIRONMENT=production` a missing, short (< 32 bytes) or placeholder `JWT_SECRET_KEY` (or, with an asymmetric
//! `JWT_ALGORITHM`, a missing or unparsable `JWT_PRIVATE_KEY`) refuses to start; elsewhere a missing key is replaced
//! by an ephemeral random one, and the log says so.

use cloudmind_security::keys::{Algorithm, KeyError, is_asymmetric};
use cloudmind_security::lockout::LockoutPolicy;
use cloudmind_security::password::{PasswordPolicy, PolicyMode};
use cloudmind_security::ratelimit::{BlockPolicy, Policies};
use cloudmind_security::tokens::{SigningKey, StaticKeys, TokenSettings, parse_algorithm};
use secrecy::{ExposeSecret, SecretString};

/// The largest request body accepted (16 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Why the settings could not be loaded. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("JWT_SECRET_KEY is required when ENVIRONMENT=production")]
    MissingKey,
    #[error("JWT_SECRET_KEY must be at least 32 bytes (it has {0})")]
    ShortKey(usize),
    #[error("JWT_SECRET_KEY looks like a placeholder; generate one with `openssl rand -base64 48`")]
    PlaceholderKey,
    #[error("JWT_PRIVATE_KEY is required when ENVIRONMENT=production and JWT_ALGORITHM is {0}")]
    MissingPrivateKey(&'static str),
    #[error("{name}: {source}")]
    PrivateKey {
        name: &'static str,
        #[source]
        source: KeyError,
    },
}

/// Where the signing key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    /// Generated at start (not production): tokens do not survive a restart and are not shared between processes.
    Ephemeral,
    /// Fetched from Secrets Manager (`JWT_SECRET_ARN`), rotation-aware.
    SecretsManager,
}

/// Where the persistent stores are. Every field is optional: unset means the in-memory default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Infrastructure {
    /// `DYNAMODB_ENDPOINT`: an emulator (moto) or a VPC endpoint URL; unset uses the SDK's default endpoint.
    pub dynamodb_endpoint: Option<String>,
    /// `USERS_TABLE` / `SECURITY_TABLE`: setting either (or the endpoint) selects DynamoDB.
    pub users_table: Option<String>,
    pub security_table: Option<String>,
    /// `REDIS_URL` (`redis://` or, for ElastiCache Serverless, `rediss://user:password@host:6379`).
    pub redis_url: Option<String>,
    /// `REDIS_TIMEOUT_MS`: a Redis call slower than this falls back to the in-memory limiter.
    pub redis_timeout_ms: u64,
    /// `REDIS_PROBE_SECONDS`: how long the limiter stays on memory before trying Redis again.
    pub redis_probe_seconds: u64,
    /// `REDIS_KEY_PREFIX`: the start of every limiter key's hash tag (`{<prefix>:<key owner>}`).
    pub redis_key_prefix: String,
    /// `AUDIT_SHARDS`: how many partitions the audit trail is written over (DynamoDB takes about 1,000 writes a
    /// second per partition).
    pub audit_shards: usize,
    /// `REDIS_CLUSTER`: the cluster client (ElastiCache Serverless and cluster-mode caches; a local Redis Cluster).
    pub redis_cluster: bool,
    /// `JWT_SECRET_ARN`: signing keys from Secrets Manager instead of `JWT_SECRET_KEY`.
    pub jwt_secret_arn: Option<String>,
    /// `SECRETS_MANAGER_ENDPOINT`: an emulator for Secrets Manager.
    pub secrets_endpoint: Option<String>,
    /// `JWT_KEY_REFRESH_SECONDS`: how long fetched keys are trusted before they are fetched again.
    pub key_refresh_seconds: u64,
    /// `SES_ENDPOINT`: an emulator for SES v2.
    pub ses_endpoint: Option<String>,
}

impl Infrastructure {
    /// Whether the users, sessions, lockouts and audit trail live in DynamoDB.
    pub fn uses_dynamodb(&self) -> bool {
        self.dynamodb_endpoint.is_some() || self.users_table.is_some() || self.security_table.is_some()
    }

    pub fn users_table(&self) -> &str {
        self.users_table.as_deref().unwrap_or("cloudmind-users")
    }

    pub fn security_table(&self) -> &str {
        self.security_table.as_deref().unwrap_or("cloudmind-security")
    }
}

/// The signing-key variables as read, unchecked (a secret never prints).
#[derive(Clone)]
pub struct KeyConfig {
    /// `JWT_SECRET_ARN` is set: the keys come from Secrets Manager.
    pub secret_arn: bool,
    /// `JWT_SECRET_KEY` and `JWT_PREVIOUS_SECRET_KEY` (HMAC).
    pub current: Option<SecretString>,
    pub previous: Option<SecretString>,
    /// `JWT_PRIVATE_KEY` and `JWT_PREVIOUS_PRIVATE_KEY` (PKCS#8 PEM, ES256 or EdDSA).
    pub private_key: Option<SecretString>,
    pub previous_private_key: Option<SecretString>,
    pub production: bool,
}

/// Where the MFA encryption key comes from (`MFA_ENCRYPTION_KEY`, or the Secrets Manager secret
/// `MFA_ENCRYPTION_KEY_ARN`); a secret never prints.
#[derive(Clone)]
pub struct MfaKeyConfig {
    pub key: Option<SecretString>,
    pub secret_arn: Option<String>,
    pub production: bool,
}

/// Every setting a function reads (the CLI's own ones are read by the CLI).
#[derive(Clone)]
pub struct Settings {
    pub infrastructure: Infrastructure,
    pub environment: String,
    pub version: String,
    pub token: TokenSettings,
    /// The signing-key settings, checked only by the functions that sign or verify ([`Settings::signing_keys`]).
    pub key_config: KeyConfig,
    pub mfa_key: MfaKeyConfig,
    pub password_policy: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub rate_limits: Policies,
    pub blocks: BlockPolicy,
    pub allowed_origins: Vec<String>,
    pub registration_enabled: bool,
    /// `APP_BASE_URL`: where a person or a client reaches this service (links in mail, the well-known documents when
    /// the issuer is not a URL); default `http://127.0.0.1:8000`.
    pub app_base_url: String,
    /// Whether `APP_BASE_URL` was set (unset, the well-known documents name the URL API Gateway was reached at).
    pub app_base_url_set: bool,
    /// `BREACHED_PASSWORD_API`: the base URL of a k-anonymity range service (`<base>/range/ABCDE`); unset or empty,
    /// the bundled list alone.
    pub breached_password_api: Option<String>,
    /// `DEVICE_TOKEN_DAYS` (30): how long a trusted device's token lives, in milliseconds.
    pub device_token_ms: u64,
    pub slow_request_ms: u64,
    pub sessions: SessionPolicy,
    pub mail: MailSettings,
    /// `REQUIRE_VERIFIED_EMAIL` (false): the right password of an unverified address is refused (403).
    pub require_verified_email: bool,
}

/// Where mail leaves through, and the lifetimes of the links it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// `MAIL_FROM`: the sender (`CloudMind <no-reply@localhost>`); with SES, a verified identity.
    pub from: String,
    /// `MAIL_OUTBOX_DIR` (`.tmp/outbox`): the folder of the file transport.
    pub outbox_dir: String,
    /// `EMAIL_TOKEN_MINUTES` (1440) and `RESET_TOKEN_MINUTES` (30), in milliseconds.
    pub verify_link_ms: u64,
    pub reset_link_ms: u64,
}

/// `MAIL_TRANSPORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// One RFC 5322 file a message (the embedded default).
    File,
    /// Amazon SES v2 `SendEmail`.
    Ses,
    /// No transport (`none`: a stack deployed without a sender). Every message fails, logged and audited as
    /// `sys_dependency_degraded`; what the requests answered does not change.
    None,
}

/// How long sessions live and how a spent refresh token is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused (not refreshed) this long ends: `SESSION_TIMEOUT`.
    pub idle_ms: u64,
    /// No session outlives its login by more: `REFRESH_TOKEN_EXPIRE_MINUTES`.
    pub absolute_ms: u64,
    /// A spent refresh token presented this soon after its rotation is refused without revoking the session (a
    /// client's concurrent retry): `REFRESH_REUSE_GRACE_SECONDS`.
    pub reuse_grace_ms: u64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("token", &self.token)
            .field("lockout", &self.lockout)
            .field("rate_limits", &self.rate_limits)
            .field("blocks", &self.blocks)
            .field("allowed_origins", &self.allowed_origins)
            .field("registration_enabled", &self.registration_enabled)
            .field("breached_password_api", &self.breached_password_api)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

const PLACEHOLDER_MARKERS: &[&str] =
    &["your-", "change-me", "changeme", "secret-key-here", "placeholder", "example", "replace-me", "xxxxxxxx"];

impl Settings {
    /// Loads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Loads the settings from any name → value lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let environment = var("ENVIRONMENT").unwrap_or_else(|| "development".into());
        let production = environment.eq_ignore_ascii_case("production") || environment.eq_ignore_ascii_case("prod");

        let infrastructure = Infrastructure {
            dynamodb_endpoint: var("DYNAMODB_ENDPOINT"),
            users_table: var("USERS_TABLE"),
            security_table: var("SECURITY_TABLE"),
            redis_url: var("REDIS_URL"),
            redis_timeout_ms: number(&var, "REDIS_TIMEOUT_MS", 250)?,
            redis_probe_seconds: number(&var, "REDIS_PROBE_SECONDS", 5)?,
            redis_key_prefix: var("REDIS_KEY_PREFIX").unwrap_or_else(|| "cloudmind".into()),
            redis_cluster: flag(&var, "REDIS_CLUSTER", false)?,
            audit_shards: number(&var, "AUDIT_SHARDS", 16)?,
            jwt_secret_arn: var("JWT_SECRET_ARN"),
            secrets_endpoint: var("SECRETS_MANAGER_ENDPOINT"),
            key_refresh_seconds: number(&var, "JWT_KEY_REFRESH_SECONDS", 300)?,
            ses_endpoint: var("SES_ENDPOINT"),
        };
        if !(1..=1_000).contains(&infrastructure.audit_shards) {
            return Err(ConfigError::Invalid { name: "AUDIT_SHARDS", reason: "must be 1 to 1000".into() });
        }
        if infrastructure.redis_key_prefix.contains(['{', '}']) {
            return Err(ConfigError::Invalid { name: "REDIS_KEY_PREFIX", reason: "must not contain braces".into() });
        }
        let key_config = KeyConfig {
            secret_arn: infrastructure.jwt_secret_arn.is_some(),
            current: get("JWT_SECRET_KEY").filter(|k| !k.is_empty()).map(SecretString::from),
            previous: get("JWT_PREVIOUS_SECRET_KEY").filter(|k| !k.is_empty()).map(SecretString::from),
            private_key: get("JWT_PRIVATE_KEY").filter(|k| !k.is_empty()).map(SecretString::from),
            previous_private_key: get("JWT_PREVIOUS_PRIVATE_KEY").filter(|k| !k.is_empty()).map(SecretString::from),
            production,
        };

        let mfa_key = MfaKeyConfig {
            key: get("MFA_ENCRYPTION_KEY").filter(|k| !k.is_empty()).map(SecretString::from),
            secret_arn: var("MFA_ENCRYPTION_KEY_ARN"),
            production,
        };
        if let Some(key) = &mfa_key.key {
            check_key(key.expose_secret())
                .map_err(|e| ConfigError::Invalid { name: "MFA_ENCRYPTION_KEY", reason: e.to_string() })?;
        }

        // `JWT_ALGORITHM` (the v1.2 name) or the seed's `ALGORITHM`; HMAC unless a key pair is asked for.
        let (algorithm_var, algorithm_name) = match var("JWT_ALGORITHM") {
            Some(name) => ("JWT_ALGORITHM", name),
            None => ("ALGORITHM", var("ALGORITHM").unwrap_or_else(|| "HS256".into())),
        };
        let algorithm = parse_algorithm(&algorithm_name).ok_or_else(|| ConfigError::Invalid {
            name: algorithm_var,
            reason: format!("{algorithm_name} is not one of HS256, HS384, HS512, ES256, EdDSA"),
        })?;
        let access_ms = whole_minutes_ms(&var, "ACCESS_TOKEN_EXPIRE_MINUTES", 30)?;
        let session_timeout_ms = seconds_ms(&var, "SESSION_TIMEOUT", 1_800)?;
        for (name, value) in [("ACCESS_TOKEN_EXPIRE_MINUTES", access_ms), ("SESSION_TIMEOUT", session_timeout_ms)] {
            if value == 0 {
                return Err(ConfigError::Invalid { name, reason: "a lifetime must be positive".into() });
            }
        }

        let mut password_policy = match var("PASSWORD_POLICY").as_deref() {
            None | Some("seed") => PasswordPolicy::seed(),
            Some("nist") => PasswordPolicy::nist(),
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "PASSWORD_POLICY",
                    reason: format!("{other} is not seed or nist"),
                });
            }
        };
        if password_policy.mode == PolicyMode::Seed {
            password_policy.min_length = number(&var, "PASSWORD_MIN_LENGTH", password_policy.min_length)?;
            password_policy.require_special = flag(&var, "PASSWORD_REQUIRE_SPECIAL", true)?;
            password_policy.require_uppercase = flag(&var, "PASSWORD_REQUIRE_UPPERCASE", true)?;
            password_policy.require_lowercase = flag(&var, "PASSWORD_REQUIRE_LOWERCASE", true)?;
            password_policy.require_digits = flag(&var, "PASSWORD_REQUIRE_DIGITS", true)?;
        }

        let lockout = LockoutPolicy {
            max_attempts: number(&var, "MAX_LOGIN_ATTEMPTS", 5)?,
            duration_ms: seconds_ms(&var, "LOCKOUT_DURATION", 300)?,
        };
        if lockout.max_attempts == 0 {
            return Err(ConfigError::Invalid { name: "MAX_LOGIN_ATTEMPTS", reason: "must be at least 1".into() });
        }
        let rate_limits = Policies::new(
            [
                number(&var, "AUTH_RATE_LIMIT_PER_MINUTE", 5)?,
                number(&var, "AUTH_RATE_LIMIT_PER_HOUR", 20)?,
                number(&var, "AUTH_RATE_LIMIT_PER_DAY", 100)?,
            ],
            number(&var, "RATE_LIMIT_PER_MINUTE", 100)?,
            number(&var, "RATE_LIMIT_PER_HOUR", 1_000)?,
            number(&var, "HEALTH_RATE_LIMIT_PER_MINUTE", 600)?,
        );
        let blocks = BlockPolicy {
            rate_limit_violations: number(&var, "BLOCK_RATE_LIMIT_VIOLATIONS", 20)?,
            malicious_requests: number(&var, "BLOCK_MALICIOUS_REQUESTS", 5)?,
            window_ms: seconds_ms(&var, "BLOCK_WINDOW", 600)?,
            block_ms: seconds_ms(&var, "BLOCK_DURATION", 900)?,
        };

        Ok(Self {
            infrastructure,
            environment,
            version: env!("CARGO_PKG_VERSION").to_string(),
            token: TokenSettings {
                issuer: var("JWT_ISSUER").unwrap_or_else(|| "cloudmind".into()),
                audience: var("JWT_AUDIENCE").unwrap_or_else(|| "cloudmind-api".into()),
                algorithm,
                ttl_seconds: access_ms.min(session_timeout_ms) / 1_000,
            },
            key_config,
            mfa_key,
            password_policy,
            lockout,
            rate_limits,
            blocks,
            allowed_origins: parse_origins(var("ALLOWED_ORIGINS").as_deref().unwrap_or(""))?,
            registration_enabled: flag(&var, "REGISTRATION_ENABLED", true)?,
            mail: MailSettings {
                transport: match var("MAIL_TRANSPORT").as_deref() {
                    None | Some("file") => MailTransport::File,
                    Some("ses") => MailTransport::Ses,
                    Some("none") => MailTransport::None,
                    Some(other) => {
                        return Err(ConfigError::Invalid {
                            name: "MAIL_TRANSPORT",
                            reason: format!("{other} is not ses, file or none"),
                        });
                    }
                },
                from: var("MAIL_FROM").unwrap_or_else(|| "CloudMind <no-reply@localhost>".into()),
                outbox_dir: var("MAIL_OUTBOX_DIR").unwrap_or_else(|| ".tmp/outbox".into()),
                verify_link_ms: whole_minutes_ms(&var, "EMAIL_TOKEN_MINUTES", 1_440)?,
                reset_link_ms: whole_minutes_ms(&var, "RESET_TOKEN_MINUTES", 30)?,
            },
            require_verified_email: flag(&var, "REQUIRE_VERIFIED_EMAIL", false)?,
            app_base_url: var("APP_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8000".into()),
            app_base_url_set: var("APP_BASE_URL").is_some(),
            breached_password_api: breach_api(var("BREACHED_PASSWORD_API"))?,
            device_token_ms: ten_years(
                number::<u64>(&var, "DEVICE_TOKEN_DAYS", 30)?.saturating_mul(86_400_000),
                "DEVICE_TOKEN_DAYS",
            )?,
            slow_request_ms: number(&var, "SLOW_REQUEST_MS", 1_000)?,
            sessions: SessionPolicy {
                idle_ms: session_timeout_ms,
                absolute_ms: minutes_ms(&var, "REFRESH_TOKEN_EXPIRE_MINUTES", 1_440)?,
                reuse_grace_ms: seconds_ms(&var, "REFRESH_REUSE_GRACE_SECONDS", 10)?,
            },
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment.eq_ignore_ascii_case("production") || self.environment.eq_ignore_ascii_case("prod")
    }

    /// The base URL of the well-known documents when the settings name one: the issuer (`JWT_ISSUER`) when it is an
    /// `https://` or `http://` URL (what an API Gateway JWT authorizer needs: it fetches
    /// `<issuer>/.well-known/openid-configuration`), else `APP_BASE_URL` when set. `None`: the URL the request
    /// reached (API Gateway's domain and stage), else the `APP_BASE_URL` default.
    pub fn public_base_url(&self) -> Option<String> {
        let issuer = &self.token.issuer;
        if issuer.starts_with("https://") || issuer.starts_with("http://") {
            Some(issuer.clone())
        } else {
            self.app_base_url_set.then(|| self.app_base_url.clone())
        }
    }

    /// The static signing keys and where they came from: with an HMAC algorithm `JWT_SECRET_KEY` (checked), with
    /// `ES256`/`EdDSA` `JWT_PRIVATE_KEY` (a PKCS#8 PEM of that algorithm); an ephemeral key outside production; or a
    /// placeholder replaced by the keys fetched from Secrets Manager (`JWT_SECRET_ARN`). The previous keys
    /// (`JWT_PREVIOUS_SECRET_KEY`, `JWT_PREVIOUS_PRIVATE_KEY`) still verify, so a rotation, or a move from HMAC to
    /// a key pair, logs nobody out. Only the functions that sign or verify tokens ask, so the others start without
    /// a key.
    pub fn signing_keys(&self) -> Result<(StaticKeys, KeySource), ConfigError> {
        let config = &self.key_config;
        let algorithm = self.token.algorithm;
        let hmac = self.token.hmac_algorithm();
        let mut previous = Vec::new();
        if let Some(key) = &config.previous {
            check_key(key.expose_secret())?;
            previous.push(SigningKey::hmac(key.expose_secret().as_bytes(), hmac));
        }
        if let Some(pem) = &config.previous_private_key {
            previous.push(private_key("JWT_PREVIOUS_PRIVATE_KEY", pem, None)?);
        }
        let (current, source) = match (&config.current, &config.private_key) {
            _ if config.secret_arn => (SigningKey::hmac(&[0u8; 32], hmac), KeySource::SecretsManager),
            (_, Some(pem)) if is_asymmetric(algorithm) => {
                (private_key("JWT_PRIVATE_KEY", pem, Some(algorithm))?, KeySource::Configured)
            }
            (Some(key), _) if !is_asymmetric(algorithm) => {
                check_key(key.expose_secret())?;
                (SigningKey::hmac(key.expose_secret().as_bytes(), hmac), KeySource::Configured)
            }
            _ if config.production && is_asymmetric(algorithm) => {
                return Err(ConfigError::MissingPrivateKey(algorithm_name(algorithm)));
            }
            _ if config.production => return Err(ConfigError::MissingKey),
            _ if is_asymmetric(algorithm) => {
                let (key, _) = SigningKey::generate(algorithm)
                    .map_err(|source| ConfigError::PrivateKey { name: "JWT_PRIVATE_KEY", source })?;
                (key, KeySource::Ephemeral)
            }
            _ => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes)
                    .map_err(|e| ConfigError::Invalid { name: "JWT_SECRET_KEY", reason: e.to_string() })?;
                (SigningKey::hmac(&bytes, hmac), KeySource::Ephemeral)
            }
        };
        Ok((StaticKeys { current, previous }, source))
    }
}

/// A configured private key: a PKCS#8 PEM, of `expected` when given.
fn private_key(name: &'static str, pem: &SecretString, expected: Option<Algorithm>) -> Result<SigningKey, ConfigError> {
    let key = SigningKey::from_pem(pem.expose_secret()).map_err(|source| ConfigError::PrivateKey { name, source })?;
    match expected {
        Some(algorithm) if key.algorithm != algorithm => Err(ConfigError::Invalid {
            name,
            reason: format!(
                "the key is for {}, JWT_ALGORITHM is {}",
                algorithm_name(key.algorithm),
                algorithm_name(algorithm)
            ),
        }),
        _ => Ok(key),
    }
}

/// The JOSE name of an algorithm CloudMind signs with.
pub fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        _ => "HS256",
    }
}

fn check_key(key: &str) -> Result<(), ConfigError> {
    if key.len() < 32 {
        return Err(ConfigError::ShortKey(key.len()));
    }
    let lower = key.to_lowercase();
    let one_char = key.chars().all(|c| key.starts_with(c));
    if one_char || PLACEHOLDER_MARKERS.iter().any(|m| lower.contains(m)) {
        return Err(ConfigError::PlaceholderKey);
    }
    Ok(())
}

fn number<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError::Invalid { name, reason: format!("{v:?} is not a number") }),
    }
}

/// A duration in seconds, as milliseconds; a value too large to count in milliseconds (or past ten years) is a
/// configuration error, not an overflow.
fn seconds_ms(var: &impl Fn(&str) -> Option<String>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    const TEN_YEARS: u64 = 10 * 365 * 86_400;
    let seconds: u64 = number(var, name, default)?;
    if seconds > TEN_YEARS {
        return Err(ConfigError::Invalid { name, reason: format!("{seconds} s is more than ten years") });
    }
    Ok(seconds * 1000)
}

/// A whole number of minutes, as milliseconds, at most ten years.
fn whole_minutes_ms(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    let minutes: u64 = number(var, name, default)?;
    ten_years(minutes.saturating_mul(60_000), name)
}

/// A duration in milliseconds that must not pass ten years (a larger one is a mistake, or an overflow waiting).
fn ten_years(ms: u64, name: &'static str) -> Result<u64, ConfigError> {
    const TEN_YEARS_MS: u64 = 10 * 365 * 86_400_000;
    if ms > TEN_YEARS_MS {
        return Err(ConfigError::Invalid { name, reason: "more than ten years".into() });
    }
    Ok(ms)
}

/// A number of minutes, decimals allowed (`0.05` is 3 s, for tests), more than zero and at most ten years.
fn minutes_ms(var: &impl Fn(&str) -> Option<String>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    const TEN_YEARS: f64 = 10.0 * 365.0 * 1_440.0;
    let Some(raw) = var(name) else { return Ok(default * 60_000) };
    let minutes: f64 =
        raw.trim().parse().map_err(|_| ConfigError::Invalid { name, reason: "must be a number of minutes".into() })?;
    if !(minutes > 0.0 && minutes <= TEN_YEARS) {
        return Err(ConfigError::Invalid { name, reason: format!("{minutes} min is not between 0 and ten years") });
    }
    Ok((minutes * 60_000.0).round() as u64)
}

fn flag(var: &impl Fn(&str) -> Option<String>, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError::Invalid { name, reason: format!("{v:?} is not true or false") }),
    }
}

/// `BREACHED_PASSWORD_API`: an `http://` or `https://` base URL, or nothing (unset or empty).
fn breach_api(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = raw.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) else { return Ok(None) };
    if (raw.starts_with("https://") || raw.starts_with("http://")) && raw.parse::<http::Uri>().is_ok() {
        Ok(Some(raw))
    } else {
        Err(ConfigError::Invalid { name: "BREACHED_PASSWORD_API", reason: "must be an http(s) base URL".into() })
    }
}

/// `ALLOWED_ORIGINS` in the seed's JSON-array form (`["http://localhost:3000"]`) or as a comma-separated list.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    let raw = raw.trim();
    let list: Vec<String> = if raw.starts_with('[') {
        serde_json::from_str(raw)
            .map_err(|e| ConfigError::Invalid { name: "ALLOWED_ORIGINS", reason: e.to_string() })?
    } else {
        raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    };
    Ok(list.into_iter().map(|o| o.trim_end_matches('/').to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    const GOOD_KEY: &str = "k3T9vQ2mX8pL5rW1nB7cZ4hJ6dF0sA2gY9uE3iO8tR5w";

    #[test]
    fn defaults_follow_the_seed_guide() {
        let s = load(&[]).unwrap();
        assert_eq!(s.signing_keys().unwrap().1, KeySource::Ephemeral);
        assert_eq!(s.token.ttl_seconds, 1_800);
        assert_eq!(s.lockout, LockoutPolicy { max_attempts: 5, duration_ms: 300_000 });
        assert_eq!(s.rate_limits.login.limits.iter().map(|l| l.limit).collect::<Vec<_>>(), vec![5, 20, 100]);
        assert_eq!(s.rate_limits.api.limits.iter().map(|l| l.limit).collect::<Vec<_>>(), vec![100, 1_000]);
        assert_eq!(s.password_policy.min_length, 12);
        assert!(s.registration_enabled);
    }

    #[test]
    fn production_refuses_missing_short_or_placeholder_keys() {
        let keys = |pairs: &[(&str, &str)]| load(pairs).unwrap().signing_keys().map(|(_, source)| source);
        assert!(matches!(keys(&[("ENVIRONMENT", "production")]), Err(ConfigError::MissingKey)));
        assert!(matches!(
            keys(&[("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", "short")]),
            Err(ConfigError::ShortKey(5))
        ));
        assert!(matches!(
            keys(&[("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", "your-jwt-secret-key-here-0123456789abcdef")]),
            Err(ConfigError::PlaceholderKey)
        ));
        assert_eq!(
            keys(&[("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", GOOD_KEY)]).unwrap(),
            KeySource::Configured
        );
    }

    #[test]
    fn functions_that_never_sign_load_their_settings_without_a_key() {
        let s = load(&[("ENVIRONMENT", "production")]).unwrap();
        assert!(s.is_production());
    }

    #[test]
    fn errors_never_contain_the_key() {
        let err = load(&[("JWT_SECRET_KEY", "tiny-secret")]).unwrap().signing_keys().err().unwrap().to_string();
        assert!(!err.contains("tiny-secret"), "{err}");
    }

    #[test]
    fn session_timeout_caps_the_token_lifetime() {
        let s = load(&[("ACCESS_TOKEN_EXPIRE_MINUTES", "60"), ("SESSION_TIMEOUT", "900")]).unwrap();
        assert_eq!(s.token.ttl_seconds, 900);
    }

    #[test]
    fn origins_accept_the_json_array_and_the_comma_list() {
        let json = parse_origins(r#"["http://localhost:3000", "https://cloudmind.local/"]"#).unwrap();
        assert_eq!(json, vec!["http://localhost:3000", "https://cloudmind.local"]);
        assert_eq!(parse_origins("http://a.test, http://b.test").unwrap(), vec!["http://a.test", "http://b.test"]);
        assert!(parse_origins("").unwrap().is_empty());
    }

    #[test]
    fn huge_durations_are_configuration_errors_not_overflows() {
        // Every duration, including the ones that used to saturate (SESSION_TIMEOUT near u64::MAX gave sessions
        // that never end; ACCESS_TOKEN_EXPIRE_MINUTES was capped silently): a named configuration error.
        for value in [u64::MAX.to_string(), (u64::MAX / 1_000).to_string(), (11 * 365 * 86_400).to_string()] {
            for name in [
                "LOCKOUT_DURATION",
                "BLOCK_WINDOW",
                "BLOCK_DURATION",
                "SESSION_TIMEOUT",
                "ACCESS_TOKEN_EXPIRE_MINUTES",
                "DEVICE_TOKEN_DAYS",
                "REFRESH_REUSE_GRACE_SECONDS",
            ] {
                let err = load(&[(name, value.as_str())]).err().unwrap_or_else(|| panic!("{name}={value} accepted"));
                assert!(err.to_string().contains(name), "{err}");
            }
        }
        assert!(load(&[("SESSION_TIMEOUT", "0")]).is_err());
        assert!(load(&[("ACCESS_TOKEN_EXPIRE_MINUTES", "0")]).is_err());
    }

    #[test]
    fn the_refresh_reuse_grace_is_ten_seconds_by_default() {
        assert_eq!(load(&[]).unwrap().sessions.reuse_grace_ms, 10_000);
        assert_eq!(load(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).unwrap().sessions.reuse_grace_ms, 0);
    }

    #[test]
    fn bad_values_are_named() {
        let err = load(&[("RATE_LIMIT_PER_MINUTE", "lots")]).err().unwrap().to_string();
        assert!(err.contains("RATE_LIMIT_PER_MINUTE"), "{err}");
        assert!(load(&[("ALGORITHM", "none")]).is_err());
        assert!(load(&[("ALGORITHM", "RS256")]).is_err());
        assert!(load(&[("PASSWORD_POLICY", "lax")]).is_err());
    }
}
