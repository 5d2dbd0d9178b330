//! The security headers every response carries, errors, 404 and 405 included.

use std::sync::LazyLock;

use http::HeaderValue;
use http::header::{HeaderMap, HeaderName};

/// The headers of the API contract, in the order they are written.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()",
    ),
    ("x-xss-protection", "0"),
];

/// Headers that would disclose the stack; removed from every response.
pub const DISCLOSING_HEADERS: &[&str] = &["server", "x-powered-by"];

/// [`SECURITY_HEADERS`] parsed once: every response copies them (a copy of a static header is a pointer).
static PARSED: LazyLock<Vec<(HeaderName, HeaderValue)>> = LazyLock::new(|| {
    SECURITY_HEADERS.iter().map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v))).collect()
});

/// Adds the security headers (replacing any earlier value) and strips disclosing ones.
pub fn apply(headers: &mut HeaderMap) {
    for (name, value) in PARSED.iter() {
        headers.insert(name.clone(), value.clone());
    }
    for name in DISCLOSING.iter() {
        headers.remove(name);
    }
}

/// [`DISCLOSING_HEADERS`] parsed once.
static DISCLOSING: LazyLock<Vec<HeaderName>> =
    LazyLock::new(|| DISCLOSING_HEADERS.iter().map(|n| HeaderName::from_static(n)).collect());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_sets_every_header_and_removes_server() {
        let mut h = HeaderMap::new();
        h.insert("server", HeaderValue::from_static("hyper"));
        h.insert("cache-control", HeaderValue::from_static("public"));
        apply(&mut h);
        assert!(h.get("server").is_none());
        assert_eq!(h["cache-control"], "no-store");
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(h[*name], *value);
        }
    }
}
