//! The TLS trust of CloudMind's AWS connections: the roots AWS endpoints chain to (Amazon Root CA 1–4 and Starfield
//! Services Root G2, the set AWS documents for its services), compiled in.
//!
//! The SDK's default client and the Redis client would otherwise read and parse the system's whole CA bundle
//! (≈ 140 certificates) once per client, which was three quarters of a function's init (see BENCHMARKS.md).
//! DynamoDB, Secrets Manager (also through their VPC endpoints) and ElastiCache all present certificates under
//! these roots. An endpoint override outside AWS (`https://` to an emulator with its own certificate) is trusted
//! through the system's bundle instead: [`trusts_aws_roots_only`].

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

/// The roots, PEM: `roots/*.pem` (copied from Mozilla's bundle as Debian ships it).
pub const AWS_ROOTS: [&str; 5] = [
    include_str!("roots/Amazon_Root_CA_1.pem"),
    include_str!("roots/Amazon_Root_CA_2.pem"),
    include_str!("roots/Amazon_Root_CA_3.pem"),
    include_str!("roots/Amazon_Root_CA_4.pem"),
    include_str!("roots/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
];

/// The roots as one PEM bundle (the Redis client's form).
pub fn aws_roots_pem() -> Vec<u8> {
    AWS_ROOTS.concat().into_bytes()
}

/// Whether connections to `endpoint` (`None`: the SDK's own AWS endpoint) trust the AWS roots alone.
pub fn trusts_aws_roots_only(endpoint: Option<&str>) -> bool {
    endpoint.is_none_or(|url| !url.starts_with("https://") || is_aws_host(url))
}

/// Whether a URL's host is an AWS one (`*.amazonaws.com`, `*.amazonaws.com.cn`).
pub fn is_aws_host(url: &str) -> bool {
    let authority = url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("").split(':').next().unwrap_or("");
    host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")
}

/// An HTTPS client (rustls on aws-lc) trusting the AWS roots only: no system bundle is read.
pub fn aws_http_client() -> SharedHttpClient {
    let store =
        AWS_ROOTS.iter().fold(TrustStore::empty().with_native_roots(false), |s, pem| s.with_pem_certificate(*pem));
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(e) => {
            // Unreachable with the certificates above (a unit test builds it); the system bundle still works.
            tracing::error!(event = "aws_trust_store_failed", error = %e);
            builder.build_https()
        }
    }
}

/// An HTTPS client trusting the system's bundle, for an endpoint override outside AWS.
pub fn system_http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roots_are_five_certificates_and_an_sdk_client_takes_them() {
        let pem = String::from_utf8(aws_roots_pem()).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        let sdk = aws_config::SdkConfig::builder()
            .http_client(aws_http_client())
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        // Building a client loads the trust store; a malformed PEM would panic here.
        let _ = aws_sdk_dynamodb::Client::new(&sdk);
    }

    #[test]
    fn only_endpoints_outside_aws_over_https_use_the_system_bundle() {
        assert!(trusts_aws_roots_only(None));
        assert!(trusts_aws_roots_only(Some("http://127.0.0.1:4566")));
        assert!(trusts_aws_roots_only(Some("https://dynamodb.eu-west-1.amazonaws.com")));
        assert!(trusts_aws_roots_only(Some("https://vpce-0a1b-x.secretsmanager.eu-west-1.vpce.amazonaws.com:443")));
        assert!(!trusts_aws_roots_only(Some("https://localstack.internal:4566")));
        assert!(!trusts_aws_roots_only(Some("https://amazonaws.com.evil.test")));
        assert!(is_aws_host("rediss://user:secret@cm-abc.serverless.euw1.cache.amazonaws.com:6379"));
        assert!(!is_aws_host("rediss://user:x.amazonaws.com@redis.internal:6379"));
    }
}
