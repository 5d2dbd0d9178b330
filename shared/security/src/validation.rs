//! Parse, don't validate: the request bodies as typed structs (checked with `validator`) and the domain newtypes
//! (`Username`, `Email`, `DisplayName`, `Password`) that cannot hold an invalid value.
//!
//! Malformed JSON, wrong types, unknown and missing fields all become `400 validation_failed` with a list of
//! `{field, message}`; messages never echo the submitted value (it may be a password).

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors};

use crate::problem::{ApiError, FieldError};

/// A normalized username: 3–32 of `a-z 0-9 _ . -` after lower-casing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let lower = raw.to_ascii_lowercase();
        let len = lower.chars().count();
        if !(3..=32).contains(&len) {
            return Err(FieldError::new("username", "must be 3 to 32 characters"));
        }
        if !lower.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')) {
            return Err(FieldError::new("username", "may contain only letters, digits, '_', '.' and '-'"));
        }
        Ok(Self(lower))
    }

    /// Whether the name may not be registered: it reads as the service's own (an operator, a role, a mailbox
    /// people write to) and a user shown it would believe it. The operator's first admin (`create-admin`) may
    /// still take one.
    pub fn is_reserved(&self) -> bool {
        const PREFIXES: &[&str] = &["admin", "root", "sysadmin", "superuser", "cloudmind"];
        const NAMES: &[&str] = &[
            "security",
            "support",
            "system",
            "operator",
            "postmaster",
            "hostmaster",
            "webmaster",
            "abuse",
            "noreply",
            "no-reply",
            "help",
            "billing",
            "api",
            "www",
            "mail",
        ];
        PREFIXES.iter().any(|p| self.0.starts_with(p)) || NAMES.contains(&self.0.as_str())
    }

    /// The login key for any submitted name: lower-cased, so lockouts count `Alice` and `alice` together even
    /// when the name is not a valid username.
    pub fn lockout_key(raw: &str) -> String {
        raw.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An e-mail address: syntactically valid, at most 254 characters, the domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        use validator::ValidateEmail as _;
        if raw.len() > 254 || !raw.validate_email() {
            return Err(FieldError::new("email", "must be a valid e-mail address"));
        }
        let (local, domain) = raw.rsplit_once('@').unwrap_or((raw, ""));
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A display name: 1–64 characters after trimming, no markup, no control or bidirectional-override characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if !(1..=64).contains(&len) {
            return Err(FieldError::new("display_name", "must be 1 to 64 characters"));
        }
        if trimmed.chars().any(|c| c.is_control()) {
            return Err(FieldError::new("display_name", "must not contain control characters"));
        }
        if trimmed
            .chars()
            .any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'))
        {
            return Err(FieldError::new("display_name", "must not contain bidirectional overrides"));
        }
        if trimmed.contains(['<', '>']) {
            return Err(FieldError::new("display_name", "must not contain markup"));
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password as submitted: held as a secret, never printed.
#[derive(Clone)]
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub fn new(raw: String) -> Self {
        Self(SecretString::from(raw))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

/// The longest password any endpoint accepts before hashing (the policy's own maximum is lower).
pub const MAX_SUBMITTED_PASSWORD: u64 = 1024;

/// An optional field that, when present, must be a string: `null` is a wrong type (400), not "absent".
fn present<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    String::deserialize(de).map(Some)
}

/// `POST /api/v1/auth/register`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[validate(length(min = 3, max = 32, message = "must be 3 to 32 characters"))]
    pub username: String,
    #[validate(
        email(message = "must be a valid e-mail address"),
        length(max = 254, message = "must be a valid e-mail address")
    )]
    pub email: String,
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub password: String,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[serde(default, deserialize_with = "present")]
    pub display_name: Option<String>,
}

/// `POST /api/v1/auth/login`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 256, message = "must be 1 to 256 characters"))]
    pub username: String,
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub password: String,
    /// Ask for a `device_token` with the tokens.
    #[serde(default)]
    pub remember_device: bool,
    /// A device token from an earlier login of this username.
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    #[serde(default, deserialize_with = "present")]
    pub device_token: Option<String>,
}

/// `POST /api/v1/auth/mfa`: the second step of a login.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    pub mfa_token: String,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub code: String,
}

/// `POST /api/v1/me/mfa/totp/confirm`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct MfaCodeRequest {
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub code: String,
}

/// `DELETE /api/v1/me/mfa/totp`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct MfaDisableRequest {
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub password: String,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub code: String,
}

/// A re-authentication with the password alone: `POST /api/v1/me/mfa/totp` (a stolen access token cannot turn MFA
/// on and lock its owner out).
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub password: String,
}

/// `PATCH /api/v1/me`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[serde(default, deserialize_with = "present")]
    pub display_name: Option<String>,
    #[validate(
        email(message = "must be a valid e-mail address"),
        length(max = 254, message = "must be a valid e-mail address")
    )]
    #[serde(default, deserialize_with = "present")]
    pub email: Option<String>,
}

/// `POST /api/v1/auth/refresh`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    pub refresh_token: String,
}

/// `PUT /api/v1/me/password`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub current_password: String,
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub new_password: String,
}

/// `POST /api/v1/auth/email/verify`: the token of a verification link.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct LinkTokenRequest {
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    pub token: String,
}

/// `POST /api/v1/auth/password/forgot`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    #[validate(
        email(message = "must be a valid e-mail address"),
        length(max = 254, message = "must be a valid e-mail address")
    )]
    pub email: String,
}

/// `POST /api/v1/auth/password/reset`.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    pub token: String,
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub new_password: String,
}

/// `DELETE /api/v1/me`: the password again, and a code when MFA is on.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    pub password: String,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[serde(default, deserialize_with = "present")]
    pub code: Option<String>,
}

/// The JSON fields that hold secrets: never scanned, never echoed, never logged.
pub const SECRET_FIELDS: &[&str] =
    &["password", "current_password", "new_password", "refresh_token", "mfa_token", "code", "device_token", "token"];

/// Parses and validates a JSON body into `T`; every problem becomes `validation_failed` without the value.
pub fn parse_body<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    let value = parse_json_value(body)?;
    parse_value(Some(&value))
}

/// A body as exactly one JSON value (trailing bytes refused, a key twice in one object refused), with the same
/// field errors as [`parse_body`]: what the request gate scans for attacks, and then hands to the handler
/// ([`parse_value`]). A repeated key is refused rather than resolved, because readers disagree on which copy wins
/// (a WAF may inspect the first while the handler would take the last).
pub fn parse_json_value(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let Strict(value) = typed(&mut *de)?;
    de.end().map_err(|e| ApiError::ValidationFailed(vec![describe_json_error("", &e)]))?;
    Ok(value)
}

/// A JSON value that refuses an object with a key twice, at any depth.
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let Strict(v) = map.next_value()?;
            object.insert(key, v);
        }
        Ok(serde_json::Value::Object(object))
    }
}

/// A request body type: deserialized from JSON, then validated.
pub trait BodyRequest: DeserializeOwned + Validate {}

impl<T: DeserializeOwned + Validate> BodyRequest for T {}

/// A typed, validated request from the body the gate parsed and scanned (`None`: there was no body), with the
/// same field errors as [`parse_body`].
pub fn parse_value<T: BodyRequest>(value: Option<&serde_json::Value>) -> Result<T, ApiError> {
    match value {
        // Request bodies are objects: serde would otherwise read `["alice", "secret"]` as the fields in order.
        Some(value) if !value.is_object() => {
            Err(ApiError::ValidationFailed(vec![FieldError::new("body", "must be a JSON object")]))
        }
        Some(value) => checked(typed(value)?),
        None => parse_body(b""),
    }
}

fn typed<'de, T: DeserializeOwned>(
    de: impl serde::Deserializer<'de, Error = serde_json::Error>,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        ApiError::ValidationFailed(vec![describe_json_error(&field, &inner)])
    })
}

fn checked<T: Validate>(value: T) -> Result<T, ApiError> {
    value.validate().map_err(|e| ApiError::ValidationFailed(field_errors(&e)))?;
    Ok(value)
}

fn describe_json_error(path: &str, e: &serde_json::Error) -> FieldError {
    use serde_json::error::Category;
    let msg = e.to_string();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            FieldError::new("body", format!("is not valid JSON (line {}, column {})", e.line(), e.column()))
        }
        Category::Data => {
            if let Some(name) = between_backticks(&msg, "unknown field") {
                FieldError::new(name, "is not a known field")
            } else if let Some(name) = between_backticks(&msg, "duplicate field") {
                FieldError::new(name, "appears more than once")
            } else if let Some(name) = between_backticks(&msg, "missing field") {
                FieldError::new(name, "is required")
            } else if msg.starts_with("invalid type") {
                let expected = msg.split("expected ").nth(1).and_then(|s| s.split(" at line").next());
                let field = if path == "." || path.is_empty() { "body" } else { path };
                FieldError::new(field, format!("must be {}", expected.unwrap_or("of another type")))
            } else {
                let field = if path == "." || path.is_empty() { "body" } else { path };
                FieldError::new(field, "has an invalid value")
            }
        }
    }
}

fn between_backticks(msg: &str, prefix: &str) -> Option<String> {
    let rest = msg.strip_prefix(prefix)?;
    let start = rest.find('`')? + 1;
    let end = start + rest[start..].find('`')?;
    Some(rest[start..end].to_string())
}

/// The `validator` errors as `{field, message}`, sorted by field for stable bodies.
pub fn field_errors(e: &ValidationErrors) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = e
        .field_errors()
        .into_iter()
        .flat_map(|(field, errs)| {
            errs.iter().map(move |err| {
                FieldError::new(field.to_string(), err.message.as_deref().unwrap_or("is invalid").to_string())
            })
        })
        .collect();
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors<T: DeserializeOwned + Validate>(body: &str) -> Vec<FieldError> {
        match parse_body::<T>(body.as_bytes()) {
            Err(ApiError::ValidationFailed(e)) => e,
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => panic!("accepted {body}"),
        }
    }

    #[test]
    fn usernames_are_lowercased_and_restricted() {
        assert_eq!(Username::parse("Alice_01").unwrap().as_str(), "alice_01");
        for bad in ["al", "a".repeat(33).as_str(), "alice smith", "zoë", "al/ce", ""] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_service_s_own_names_are_reserved() {
        for reserved in
            ["admin", "Administrator", "admin.team", "admin-1", "root", "rootkit", "security", "support", "system"]
        {
            assert!(Username::parse(reserved).unwrap().is_reserved(), "{reserved}");
        }
        for free in ["alice", "badmin", "systems", "supporter", "my.root"] {
            assert!(!Username::parse(free).unwrap().is_reserved(), "{free}");
        }
    }

    #[test]
    fn display_names_allow_real_names_but_not_markup_or_controls() {
        for good in ["O'Brien", "Zoë Ä. Smith", "C:\\Users", "李小龍", "  padded  "] {
            assert!(DisplayName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "   ", "<b>x</b>", "a\u{202e}b", "tab\there", &"x".repeat(65)] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_checked_and_domains_lowercased() {
        assert_eq!(Email::parse("Alice@Example.COM").unwrap().into_inner(), "Alice@example.com");
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn malformed_json_wrong_types_and_unknown_fields_are_validation_errors() {
        assert_eq!(errors::<LoginRequest>("{\"username\": ")[0].field, "body");
        assert_eq!(errors::<LoginRequest>("[]")[0].field, "body");
        let e = errors::<LoginRequest>(r#"{"username": "alice", "password": 12345}"#);
        assert_eq!(e, vec![FieldError::new("password", "must be a string")]);
        let e = errors::<LoginRequest>(r#"{"username": "alice", "password": "x", "admin": true}"#);
        assert_eq!(e, vec![FieldError::new("admin", "is not a known field")]);
        let e = errors::<LoginRequest>(r#"{"username": "alice"}"#);
        assert_eq!(e, vec![FieldError::new("password", "is required")]);
    }

    #[test]
    fn a_body_is_exactly_one_json_value() {
        for body in [r#"{"username": "a", "password": "b"}}"#, r#"{"username": "a", "password": "b"} []"#] {
            assert_eq!(errors::<LoginRequest>(body)[0].field, "body", "{body}");
            assert!(parse_json_value(body.as_bytes()).is_err(), "{body}");
        }
        assert!(parse_body::<LoginRequest>(b"  {\"username\": \"a\", \"password\": \"b\"}\n ").is_ok());
    }

    #[test]
    fn an_array_is_not_an_object_and_a_key_twice_is_refused() {
        // serde reads a struct from a sequence in field order: `["alice", "secret"]` must not log alice in.
        assert_eq!(
            errors::<LoginRequest>(r#"["alice", "secret"]"#),
            vec![FieldError::new("body", "must be a JSON object")]
        );
        let e = errors::<LoginRequest>(r#"{"username": "alice", "username": "bob", "password": "x"}"#);
        assert_eq!(e, vec![FieldError::new("username", "appears more than once")]);
        // At any depth, and through the gate's reading of the body too.
        assert!(parse_json_value(br#"{"a": [{"b": 1, "b": 2}]}"#).is_err());
        assert!(parse_json_value(br#"{"a": [{"b": 1}, {"b": 2}]}"#).is_ok());
    }

    #[test]
    fn validation_messages_never_echo_values() {
        let e = errors::<ChangePasswordRequest>(r#"{"current_password": 987654321, "new_password": "x"}"#);
        assert!(!format!("{e:?}").contains("987654321"));
        let e = errors::<RegisterRequest>(r#"{"username": "al", "email": "nope", "password": ""}"#);
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["email", "password", "username"]);
    }
}
