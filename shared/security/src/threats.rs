//! The malicious-input detector: SQL injection, XSS, path traversal and NUL/control characters.
//!
//! Applied to the path, the query (every parameter, known or not) and every non-secret string field of a JSON body
//! (passwords are never scanned: a password may legitimately contain `' OR 1=1`). Input is percent-decoded up to
//! twice first, so `%2e%2e%2f` and `%252e%252e%252f` are seen as `../`. The patterns look for the structure of an
//! attack (a quote or terminator followed by SQL, a tag or a script URL, a `..` segment), so names and phrases such
//! as `O'Brien`, `Zoë Ä. Smith`, `Select your plan`, `50% off` and `C:\Users` pass.

use std::borrow::Cow;
use std::sync::LazyLock;

use percent_encoding::percent_decode_str;
use regex::{Regex, RegexSet};

/// What an input looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threat {
    SqlInjection,
    Xss,
    PathTraversal,
    ControlCharacters,
}

impl Threat {
    /// The security event this threat is logged as.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::SqlInjection => "malicious_sqli",
            Self::Xss => "malicious_xss",
            Self::PathTraversal => "malicious_path_traversal",
            Self::ControlCharacters => "malicious_input",
        }
    }
}

/// A detection: which threat, in which part of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub threat: Threat,
    /// `path`, `query.<name>` or `body.<field>`; never the value.
    pub location: String,
}

static SQLI: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        // A quote, or a closing paren, followed by a boolean or a statement: ' OR '1'='1, ') or 1=1, ' AND 1=1
        r#"(?i)['"`)]\s*(or|and|xor|\|\||&&)\s+['"`(]?\s*[\w'"]+\s*(=|<|>|like\b|is\b)"#,
        r#"(?i)['"`)]\s*(or|and)\s+['"`]?\s*\d+\s*['"`]?\s*(=|<|>)"#,
        r#"(?i)['"`]\s*(or|and)\s+(true|false)\b"#,
        r#"(?i)['"`]\s*or\s+['"`]\s*['"`]?\s*="#,
        // A quote or terminator closing the literal, then a comment or another statement
        r#"(?i)['"`]\s*(--|#|/\*|;)"#,
        r#"(?i);\s*(select|insert|update|delete|drop|alter|create|truncate|exec|execute|declare|shutdown|grant)\b"#,
        // Statements that do not occur in names or prose
        r"(?i)\bunion\b(\s+|/\*.*?\*/)+(all\s+|distinct\s+)?select\b",
        r"(?i)\bselect\b.+\bfrom\b\s+[\w.\x60\x22\[\]]+",
        r"(?i)\binsert\s+into\s+[\w.\x60\x22\[\]]+",
        r"(?i)\bdelete\s+from\s+[\w.\x60\x22\[\]]+",
        r"(?i)\bdrop\s+(table|database|schema|user|view)\b",
        r"(?i)\bupdate\s+[\w.\x60\x22\[\]]+\s+set\s+\w+\s*=",
        r"(?i)\b(sleep|benchmark|pg_sleep|waitfor\s+delay|load_file|xp_cmdshell|information_schema|sqlite_master)\b\s*[('\x22]",
        r"(?i)\binformation_schema\.",
        r"(?i)\bor\s+\d+\s*=\s*\d+\s*(--|#|/\*|$)",
        r"/\*!?\d*.*?\*/",
    ])
    .unwrap_or_else(|e| unreachable!("SQL injection patterns compile: {e}"))
});

static XSS: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        // Any tag as a browser parses one: <script, </a, <img src=..., <svg/onload=..., <!--, <?
        r"<(/?[a-zA-Z]|!--|!\[|\?)",
        r"(?i)\b(java|vb|live)script\s*:",
        r"(?i)\bdata\s*:\s*text/html",
        r"(?i)\bon[a-z]{3,}\s*=",
        r"(?i)\bexpression\s*\(",
        r"(?i)&#(x0*3c|0*60);?",
        r"(?i)\\(u003c|x3c)",
        r"(?i)\bsrcdoc\s*=",
    ])
    .unwrap_or_else(|e| unreachable!("XSS patterns compile: {e}"))
});

static TRAVERSAL: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        // A `..` path segment, with either separator or their encodings (after decoding, also overlong forms)
        r"(^|[/\\])\.\.([/\\]|$)",
        r"\.\.[/\\]",
        r"(?i)\.\.(%c0%af|%c1%9c|%e0%80%af|\xc0\xaf)",
        // Well-known targets
        r"(?i)(^|[/\\])(etc[/\\](passwd|shadow|hosts)|proc[/\\]self[/\\])",
        r"(?i)\b(boot|win)\.ini\b",
        r"(?i)[a-z]:[/\\]+windows[/\\]+system32",
        r"(?i)^file://",
    ])
    .unwrap_or_else(|e| unreachable!("path traversal patterns compile: {e}"))
});

static ENCODED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"%[0-9A-Fa-f]{2}").unwrap_or_else(|e| unreachable!("compiles: {e}")));

/// Characters no legitimate input carries: NUL and the other C0 controls but tab and line breaks, DEL, C1 controls.
fn is_forbidden_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// The value as scanned: the original and its percent-decoding, up to twice.
fn decodings(value: &str) -> Vec<Cow<'_, str>> {
    let mut out = vec![Cow::Borrowed(value)];
    let mut current = value.to_string();
    for _ in 0..2 {
        if !ENCODED.is_match(&current) {
            break;
        }
        let decoded = percent_decode_str(&current).decode_utf8_lossy().into_owned();
        if decoded == current {
            break;
        }
        out.push(Cow::Owned(decoded.clone()));
        current = decoded;
    }
    out
}

/// The threat a single value carries, if any.
pub fn classify(value: &str) -> Option<Threat> {
    for v in decodings(value) {
        if v.chars().any(is_forbidden_control) {
            return Some(Threat::ControlCharacters);
        }
        if TRAVERSAL.is_match(&v) {
            return Some(Threat::PathTraversal);
        }
        if XSS.is_match(&v) {
            return Some(Threat::Xss);
        }
        if SQLI.is_match(&v) {
            return Some(Threat::SqlInjection);
        }
    }
    None
}

/// Scans a value at `location`.
pub fn scan(location: &str, value: &str) -> Option<Finding> {
    classify(value).map(|threat| Finding { threat, location: location.to_string() })
}

/// Scans every string in a JSON value, skipping the fields named in `secret_fields` (at any depth).
pub fn scan_json(value: &serde_json::Value, secret_fields: &[&str]) -> Option<Finding> {
    fn walk(v: &serde_json::Value, path: &str, secret: &[&str]) -> Option<Finding> {
        match v {
            serde_json::Value::String(s) => scan(path, s),
            serde_json::Value::Array(items) => items.iter().find_map(|i| walk(i, path, secret)),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = format!("{path}.{k}");
                if secret.contains(&k.as_str()) { None } else { scan(&here, k).or_else(|| walk(v, &here, secret)) }
            }),
            _ => None,
        }
    }
    walk(value, "body", secret_fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_injection_payloads_are_detected() {
        for p in [
            "admin' OR '1'='1",
            "' or 1=1 --",
            "x' or 'a'='a",
            "1' AND 1=1#",
            "admin'--",
            "'; DROP TABLE users; --",
            "1; SELECT * FROM users",
            "' UNION SELECT username, password_hash FROM users --",
            "1 union/**/select null",
            "') or ('1'='1",
            "' or ''='",
            "1' or sleep(5)#",
            "id=1 or 1=1",
            "SELECT name FROM information_schema.tables",
            "\" or \"\"=\"",
            "x' or true--",
        ] {
            assert_eq!(classify(p), Some(Threat::SqlInjection), "{p}");
        }
    }

    #[test]
    fn xss_payloads_are_detected() {
        for p in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "javascript:alert(document.cookie)",
            "\" onmouseover=\"alert(1)",
            "%3Cscript%3Ealert(1)%3C/script%3E",
            "%253Cscript%253E",
            "<iframe src=//evil>",
            "&#x3C;script&#x3E;",
            "data:text/html;base64,PHNjcmlwdD4=",
            "</textarea><b>",
        ] {
            assert_eq!(classify(p), Some(Threat::Xss), "{p}");
        }
    }

    #[test]
    fn path_traversal_payloads_are_detected() {
        for p in [
            "../../etc/passwd",
            "..\\..\\windows\\win.ini",
            "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "%252e%252e%252f",
            "..%2F..%2Fsecret",
            "/etc/passwd",
            "....//....//etc",
            "..",
            "file:///etc/hosts",
            "C:\\Windows\\System32\\drivers",
        ] {
            assert_eq!(classify(p), Some(Threat::PathTraversal), "{p}");
        }
    }

    #[test]
    fn nul_and_control_characters_are_detected() {
        for p in ["alice\0", "ali\u{1b}[31mce", "%00", "a\u{7f}b", "x\u{85}y"] {
            assert_eq!(classify(p), Some(Threat::ControlCharacters), "{p:?}");
        }
    }

    #[test]
    fn ordinary_names_and_phrases_pass() {
        for p in [
            "O'Brien",
            "Zoë Ä. Smith",
            "Select your plan",
            "50% off",
            "100% cotton",
            "C:\\Users",
            "alice@example.com",
            "o'neil.and-co@example.org",
            "Rock 'n' Roll",
            "Tom & Jerry",
            "I <3 Rust",
            "a < b and c > d",
            "Dr. Jekyll / Mr. Hyde",
            "version 1.2.3",
            "Don't drop the table, please",
            "line one\nline two",
            "José María Aznar-López",
            "北京",
            "Update your settings",
            "What's new? Union members select a delegate",
            "...and so on",
            "e.g.. typo",
        ] {
            assert_eq!(classify(p), None, "{p}");
        }
    }

    #[test]
    fn json_scan_skips_secret_fields_and_names_the_location() {
        let body = serde_json::json!({
            "username": "alice",
            "password": "' OR 1=1 --",
            "profile": {"display_name": "<b>bold</b>"}
        });
        let f = scan_json(&body, &["password"]).unwrap();
        assert_eq!(f, Finding { threat: Threat::Xss, location: "body.profile.display_name".into() });
        let clean = serde_json::json!({"username": "alice", "password": "<script>' OR 1=1 --"});
        assert_eq!(scan_json(&clean, &["password"]), None);
    }
}
