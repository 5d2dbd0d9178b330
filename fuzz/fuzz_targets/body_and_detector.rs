//! Request bodies and the malicious-input detector.
//!
//! Any bytes as a JSON body: parsing never panics and takes exactly one JSON value (bytes after it are refused);
//! every request type parses from the gate's value or refuses it with `validation_failed`; the scan never panics.
//! Any string: if the detector flags it, it flags its percent-encoding too (what is decoded is what is scanned).
#![no_main]

use cloudmind_security::ApiError;
use cloudmind_security::threats::{classify, scan_json};
use cloudmind_security::validation::{SECRET_FIELDS, parse_json_value};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

fuzz_target!(|data: &[u8]| {
    match parse_json_value(data) {
        Ok(value) => {
            let _ = scan_json(&value, SECRET_FIELDS);
            // Exactly one value: the same bytes with a trailing value appended must be refused.
            let mut doubled = data.to_vec();
            doubled.extend_from_slice(b" 1");
            assert!(parse_json_value(&doubled).is_err(), "two JSON values accepted as one body");
            cloudmind_fuzz_bodies::parse_every_request(&value);
        }
        Err(ApiError::ValidationFailed(errors)) => assert!(!errors.is_empty()),
        Err(other) => panic!("a body that does not parse is validation_failed, not {other:?}"),
    }
    if let Ok(text) = std::str::from_utf8(data)
        && !text.contains('%')
        && let Some(threat) = classify(text)
    {
        let encoded = utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
        assert_eq!(classify(&encoded), Some(threat), "the encoded form of a detected value passed");
    }
});

/// Every request body type of the API, parsed from the gate's value as handlers do.
mod cloudmind_fuzz_bodies {
    use cloudmind_security::ApiError;
    use cloudmind_security::validation::{BodyRequest, parse_value};
    use serde_json::Value;

    fn parse<T: BodyRequest>(value: &Value) {
        match parse_value::<T>(Some(value)) {
            Ok(_) | Err(ApiError::ValidationFailed(_)) => {}
            Err(other) => panic!("a body is validated or validation_failed, not {other:?}"),
        }
    }

    pub fn parse_every_request(value: &Value) {
        parse::<cloudmind_security::validation::RegisterRequest>(value);
        parse::<cloudmind_security::validation::LoginRequest>(value);
        parse::<cloudmind_security::validation::UpdateProfileRequest>(value);
        parse::<cloudmind_security::validation::ChangePasswordRequest>(value);
    }
}
