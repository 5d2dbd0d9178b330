//! Breached passwords (API.md, v1.1) over the k-anonymity range protocol at `BREACHED_PASSWORD_API`; whenever that
//! service fails, the bundled list.
//!
//! Only the first five hex digits of the password's SHA-1 leave the process (`GET <base>/range/ABCDE` with
//! `Add-Padding: true`); the answer's lines are `<35-hex suffix>:<count>`, and a count of 0 is padding. The call
//! times out after one second. Any failure (timeout, refused connection, a status other than 200, an unreadable
//! answer) falls back to the bundled list and is reported as a degradation for the caller to record: never "no
//! check", never a failed request.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cloudmind_security::breach::{BreachVerdict, BreachedPasswords};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// How long the range service gets, answer included.
pub const RANGE_TIMEOUT: Duration = Duration::from_secs(1);
/// The most of a range answer read (a padded answer is about 40 KB).
const MAX_ANSWER: usize = 1 << 20;

/// The range-protocol check of the register and password-change operations.
#[derive(Clone)]
pub struct RangeCheck {
    base: String,
    client: Result<HttpsClient, String>,
}

impl std::fmt::Debug for RangeCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeCheck").field("range_api", &self.base).finish()
    }
}

impl RangeCheck {
    /// The range protocol against `base` (a base URL).
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string(), client: client() }
    }
}

#[async_trait]
impl BreachedPasswords for RangeCheck {
    async fn check(&self, password: &str) -> BreachVerdict {
        let digest = sha1_smol::Sha1::from(password.as_bytes()).digest().to_string().to_ascii_uppercase();
        let (prefix, suffix) = digest.split_at(5);
        match self.lookup(prefix, suffix).await {
            Ok(breached) => BreachVerdict { breached, degraded: None },
            Err(cause) => BreachVerdict {
                breached: cloudmind_security::password::in_bundled_breach_list(password),
                degraded: Some(format!("breached-password range API unavailable, the bundled list answered: {cause}")),
            },
        }
    }
}

impl RangeCheck {
    async fn lookup(&self, prefix: &str, suffix: &str) -> Result<bool, String> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let request = hyper::Request::get(format!("{}/range/{prefix}", self.base))
            .header("add-padding", "true")
            .header("user-agent", concat!("cloudmind/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|_| "the configured BREACHED_PASSWORD_API is not a valid URL".to_string())?;
        let answer = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("no answer ({})", cloudmind_security::store::error_chain(&e)))?;
            if response.status() != hyper::StatusCode::OK {
                return Err(format!("it answered {}", response.status().as_u16()));
            }
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|_| "its answer could not be read (or is over 1 MiB)".to_string())?;
            Ok(body.to_bytes())
        };
        let body = tokio::time::timeout(RANGE_TIMEOUT, answer)
            .await
            .map_err(|_| format!("no answer within {} ms", RANGE_TIMEOUT.as_millis()))??;
        let text = std::str::from_utf8(&body).map_err(|_| "its answer is not text".to_string())?;
        range_lists(text, suffix)
    }
}

/// Whether a range answer lists `suffix` with a count above zero (padding lines have a count of 0).
fn range_lists(text: &str, suffix: &str) -> Result<bool, String> {
    let mut found = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((hash, count)) = line.split_once(':') else {
            return Err("its answer is not lines of suffix:count".into());
        };
        let count: u64 = count.trim().parse().map_err(|_| "its answer has a count that is not a number".to_string())?;
        found |= count > 0 && hash.eq_ignore_ascii_case(suffix);
    }
    Ok(found)
}

fn client() -> Result<HttpsClient, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("no TLS root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sha1_is_split_as_the_protocol_says() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        let digest = sha1_smol::Sha1::from(b"password".as_slice()).digest().to_string().to_ascii_uppercase();
        assert_eq!(digest.split_at(5), ("5BAA6", "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
    }

    #[test]
    fn padding_lines_do_not_count() {
        let suffix = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";
        assert_eq!(
            range_lists(&format!("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{suffix}:3861493\r\n"), suffix),
            Ok(true)
        );
        assert_eq!(range_lists(&format!("{}:0\n", suffix.to_ascii_lowercase()), suffix), Ok(false));
        assert_eq!(range_lists("0018A45C4D1DEF81644B54AB7F969B88D65:2\n", suffix), Ok(false));
        assert!(range_lists("<html>rate limited</html>", suffix).is_err());
    }

    #[tokio::test]
    async fn a_range_api_that_is_down_degrades_to_the_bundled_list() {
        let check = RangeCheck::new("http://127.0.0.1:9");
        let verdict = check.check("password").await;
        assert!(verdict.breached);
        let cause = verdict.degraded.unwrap();
        assert!(cause.contains("bundled list") && !cause.contains("5BAA6"), "{cause}");
    }
}
