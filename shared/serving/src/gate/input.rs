//! What the gate reads of a request before the handler: framing (size, media type), the query, and the
//! malicious-input scan of the path, the query and every non-secret body field.

use cloudmind_security::ApiError;
use cloudmind_security::threats::{Finding, scan_json, scan_url_part};
use cloudmind_security::validation::SECRET_FIELDS;
use http::HeaderMap;
use serde_json::Value;

use crate::config::MAX_BODY_BYTES;
use crate::routes::{Params, Route};

pub(super) fn check_framing(route: &Route, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if route.json_body {
        let media = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        if media.as_deref() != Some("application/json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    Ok(())
}

/// Query parameters, percent-decoded (`+` as space).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The first attack-looking input in the path, the query or the JSON body (`body`: the body as parsed, exactly one
/// JSON value; a body that did not parse is refused at body validation and never reaches a handler).
pub(super) fn find_threat(params: &Params, query: &[(String, String)], body: Option<&Value>) -> Option<Finding> {
    params
        .iter()
        .find_map(|(name, value)| scan_url_part(&format!("path.{name}"), value))
        .or_else(|| {
            query
                .iter()
                .find_map(|(k, v)| scan_url_part("query", k).or_else(|| scan_url_part(&format!("query.{k}"), v)))
        })
        .or_else(|| body.and_then(|v| scan_json(v, SECRET_FIELDS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode() {
        assert_eq!(
            query_pairs("type=authn_login_fail&limit=10&x=%3Cb%3E&flag&a+b=c+d"),
            vec![
                ("type".into(), "authn_login_fail".into()),
                ("limit".into(), "10".into()),
                ("x".into(), "<b>".into()),
                ("flag".into(), "".into()),
                ("a b".into(), "c d".into()),
            ]
        );
    }
}
