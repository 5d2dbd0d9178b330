//! What every Lambda's `main` does before serving: telemetry, settings, backends.

use crate::backends::Backends;
use crate::config::{KeySource, Settings};

/// Initializes JSON logging, loads the settings and builds the backends, once per execution environment.
pub async fn lambda_init() -> Result<(Settings, Backends), lambda_http::Error> {
    crate::telemetry::init();
    let settings = Settings::from_env()?;
    if settings.key_source == KeySource::Ephemeral {
        tracing::warn!(
            event = "ephemeral_signing_key",
            detail = "JWT_SECRET_KEY is not set: tokens are signed with a random key that dies with this process"
        );
    }
    let backends = Backends::from_settings(&settings).await?;
    Ok((settings, backends))
}
