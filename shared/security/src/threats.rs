//! The malicious-input detector: SQL injection, XSS, path traversal and NUL/control characters.
//!
//! Applied to the path, the query (every parameter, known or not) and every non-secret string field of a JSON body
//! (passwords are never scanned: a password may legitimately contain `' OR 1=1`). Input is percent-decoded until it
//! stops changing (at most four times), so `%2e%2e%2f`, `%252e…` and `%25252e…` are all seen as `../`; SQL inline
//! comments (`/**/`) count as whitespace, so `1'/**/OR/**/1=1` reads as `1' OR 1=1`.
//!
//! The patterns look for the structure of an attack (a quote that closes a literal followed by SQL, a tag or a
//! script URL, a `..` segment), so names and phrases such as `O'Brien`, `Jean 'JJ' -- Smith`, `Select from the
//! menu`, `50% off` and `C:\Users` pass. Every match has a [`Confidence`]: `High` for shapes that do not occur in
//! human text (`' OR '1'='1`, `UNION SELECT null`, `<script`, `../`), `Low` for shapes that can (`select one from
//! the list`, `JavaScript: the good parts`). The gate refuses both, and a low-confidence match on a free-text field
//! ([`FREE_TEXT_FIELDS`]) does not count toward the automatic block ([`Finding::counts_toward_block`]). The measured
//! rates on the corpora in `shared/security/corpus/` are in `SECURITY.md`.

use std::borrow::Cow;
use std::sync::LazyLock;

use percent_encoding::percent_decode_str;
use regex::Regex;
use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;

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

/// How sure the detector is that a match is an attack and not a person's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// A shape people also write (`Select one from the list`).
    Low,
    /// A shape that does not occur in human text.
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::High => "high",
        }
    }
}

/// What one value carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    pub threat: Threat,
    pub confidence: Confidence,
}

/// Body fields that hold a person's free text rather than an identifier.
pub const FREE_TEXT_FIELDS: &[&str] = &["display_name"];

/// A detection: which threat, how sure, in which part of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub threat: Threat,
    pub confidence: Confidence,
    /// `path`, `query.<name>` or `body.<field>`; never the value.
    pub location: String,
    /// Whether the value is a free-text field (a display name), where people write what merely looks like SQL.
    pub free_text: bool,
}

impl Finding {
    /// Whether the request is refused for it: every match but a low-confidence one in free text (a display name
    /// with `=` or parentheses is a name; it is only ever stored and output-encoded).
    pub fn refused(&self) -> bool {
        self.confidence == Confidence::High || !self.free_text
    }

    /// Whether this finding is a violation toward the automatic block: all but a low-confidence match on free text.
    pub fn counts_toward_block(&self) -> bool {
        self.confidence == Confidence::High || !self.free_text
    }
}

/// Every white-space code point (Unicode's `White_Space`, what `\s` means), spelled out: a database may take
/// U+00A0 or U+2028 for a blank, so the detector must too.
const SPACE: &str = r"\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";
/// Word characters: ASCII, and their fullwidth forms (a database's best-fit mapping turns `１` into `1`).
const WORD: &str = r"0-9A-Za-z_\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF3F}\x{FF41}-\x{FF5A}";
/// Digits: ASCII and fullwidth.
const DIGIT: &str = r"0-9\x{FF10}-\x{FF19}";

/// `pattern` with its Perl classes narrowed to what SQL, HTML and paths mean by them: `\w` and `\d` ASCII and
/// fullwidth ([`WORD`], [`DIGIT`]: no database reads `é` as part of a keyword or `٣` as a digit), `\b` the
/// boundary of ASCII words, `\s` every white space ([`SPACE`]). With the full Unicode classes, compiling the
/// detector took 119 M instructions, paid by the first request with a body of every process (a login's init and
/// first invoke cost two argon2 verifications instead of one); narrowed, a third of that. The corpus test checks
/// that detection did not move.
fn compact(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 64);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(class @ ('w' | 'd' | 's')) => {
                    let members = match class {
                        'w' => WORD,
                        'd' => DIGIT,
                        _ => SPACE,
                    };
                    if in_class {
                        out.push_str(members);
                    } else {
                        out.push('[');
                        out.push_str(members);
                        out.push(']');
                    }
                }
                Some('b') if !in_class => out.push_str("(?-u:\\b)"),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` or `^]` right after the opening bracket is a literal, not the end.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A set of patterns of one threat, split by confidence.
struct Patterns {
    high: meta::Regex,
    low: meta::Regex,
}

impl Patterns {
    fn new(high: &[&str], low: &[&str]) -> Self {
        let set = |p: &[&str]| {
            let patterns: Vec<String> = p.iter().map(|p| compact(p)).collect();
            meta::Regex::builder()
                .configure(meta::Config::new().auto_prefilter(false).which_captures(WhichCaptures::None))
                .build_many(&patterns)
                .unwrap_or_else(|e| unreachable!("detector patterns compile: {e}"))
        };
        Self { high: set(high), low: set(low) }
    }

    fn confidence(&self, value: &str) -> Option<Confidence> {
        if self.high.is_match(value) {
            Some(Confidence::High)
        } else if self.low.is_match(value) {
            Some(Confidence::Low)
        } else {
            None
        }
    }
}

static SQLI: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(
        &[
            // A quote or closing paren, then a boolean operator, then a comparison whose sides look like values:
            // `' OR '1'='1`, `admin'OR'1'='1`, `x'OR(1)=(1)`, `') or ('a'='a`, `'||'1'='1`, `' or username='admin`.
            // The word operators need a separator after them (`'oregon` is not `' or`); the symbolic ones do not.
            // A bare word compared with a bare word (`'A' or better = honor roll`) is prose.
            r#"(?i)['"`)]\s*(?:(?:or|and|xor)[\s('"`]+|(?:\|\||&&)[\s('"`]*)(?:\d+|['"`]\w*['"`]?|\w+\s*(?:=|<|>|!=|<>)\s*['"`(\d])[\s)'"`]*(?:=|<|>|!=|<>|like\s*['"%\d]|(?:r?like|regexp|sounds\s+like)\s|is\s+(?:not\s+)?null\b|between\b|in\s*\()"#,
            r#"(?i)['"`]\s*(?:or|and)\s+(?:true|false|not\s+false)\s*(?:--|#|;|$)"#,
            // A numeric tautology with no comparison, ended by a comment (`1 OR 1--`); the quoted ones are
            // `closes_literal_then_tautology`.
            r#"(?i)^\s*\d+\s+or\s+\d+\s*(?:--|#|;|/\*)"#,
            r#"(?i)['"`)]\s*(?:or|and)\s+\w+\s+(?:r?like\s*['"%]|is\s+(?:not\s+)?null\b)"#,
            r#"(?i)['"`]\s*or\s*['"`]\s*['"`]?\s*="#,
            r#"(?i)^['"`]\s*=|['"`]\s*=\s*['"`]\s*$"#,
            r#"(?i)['"`]\s*\|\|\s*['"`(]"#,
            // A numeric tautology in a numeric context (`id=1 or 1=1`), or any tautology ended by a comment.
            r#"(?i)(?:^|[\d'"`)=])\s*(?:or|and)\s*\(?\s*\d+\s*\)?\s*=\s*\(?\s*\d+\b"#,
            r#"(?i)\b(?:or|and)\s*['"](\w*)['"]\s*=\s*['"]"#,
            r#"(?i)\b(?:or|and)\s+\(?\s*\w+\s*\)?\s*=\s*\(?\s*\w+\s*\)?\s*(?:--|#|/\*)"#,
            // A quote or paren closing a literal, then a clause: `' HAVING 1=1`, `' ORDER BY 3--`, `' GROUP BY x`.
            r#"(?i)['"`)]\s*(?:having\s+\d|group\s+by\s+[\w.]+|order\s+by\s+\d|limit\s+\d+\s*,|procedure\s+analyse|into\s+(?:out|dump)file)"#,
            r"(?i)\border\s+by\s+\d+\s*(?:--|#|/\*)",
            // Stacked statements.
            r"(?i);\s*(?:drop|truncate|alter)\s+(?:table|database|schema|view|user)\b",
            r"(?i);\s*(?:insert\s+into|delete\s+from|update\s+[\w.\x60\x22\[\]]+\s+set|exec(?:ute)?\s+(?:xp_|sp_|master\.|immediate\b|@)|shutdown\b|declare\s+@|waitfor\s+delay|copy\s+[\w.]+\s+(?:to|from)\b)",
            // UNION SELECT of columns; SELECT of `*`, a function, a system variable, or a column list FROM a table.
            r"(?i)\bunion(?:\s+all|\s+distinct)?\s+select\s*(?:null|\d|\*|@@|\(|[\w.()]+\s*,|[\w.()\x60\x22]+\s+from\b|concat|char\b|cast\b|version)",
            r"(?i)\bunion(?:\s+all|\s+distinct)?\s*\(\s*select\b",
            r"(?i)\bselect\s+(?:\*|count\s*\(|@@\w+|null\b|[\w.\x60\x22]+(?:\s*,\s*[\w.\x60\x22]+)+\s+from\b|(?:distinct\s+)?[\w.\x60\x22]+\s+from\s+[\w.\x60\x22\[\]]+\s+(?:where|limit|order\s+by|group\s+by)\b)",
            // A subquery as an operand: `and (select 1)=1`, `'||(SELECT version())||'`, `RLIKE (SELECT (CASE …`.
            r"(?i)(?:\b(?:and|or|rlike|regexp|like)|\|\||=|,|\()\s*\(\s*select\b",
            r"(?i)\binsert\s+into\s+[\w.\x60\x22\[\]]+\s*(?:\(|values\b|select\b|set\b)",
            r"(?i)\bdelete\s+from\s+[\w.\x60\x22\[\]]+\s*(?:where\b|;|--|#|$)",
            r"(?i)\bdrop\s+(?:table|database|schema|view)\s+(?:if\s+exists\s+)?[\w.\x60\x22\[\]]+\s*(?:;|--|#|$)",
            r"(?i)\bupdate\s+[\w.\x60\x22\[\]]+\s+set\s+[\w.\x60\x22]+\s*=",
            // Functions and catalogs attackers use, with their call shape.
            r#"(?i)\b(?:pg_sleep|sleep)\s*\(\s*\d+(?:\.\d+)?\s*\)|\bbenchmark\s*\(\s*\d+\s*,|\bwaitfor\s+delay\s*['"]"#,
            r"(?i)\b(?:load_file|xp_cmdshell|extractvalue|updatexml|dbms_pipe\.|utl_inaddr\.|utl_http\.|sys_eval|sp_executesql)\s*\(?",
            r"(?i)\b(?:information_schema|sqlite_master|pg_catalog|sysobjects|mysql\.user)\b|@@(?:version|datadir|hostname)\b",
            r"(?i)\b(?:database|version|current_user|system_user|session_user|schema)\s*\(\s*\)",
            r#"(?i)\b(?:char|chr|concat)\s*\(\s*\d+\s*(?:,\s*\d+\s*)+\)"#,
        ],
        &[
            // Statement words in a shape prose also has: `select one from the list`, `delete from my cart later`.
            r"(?i)\bselect\s+\S+\s+from\s+\S+",
            r"(?i)\bunion\s+(?:all\s+)?select\b",
            r"(?i)\binsert\s+into\s+\S+",
            r"(?i)\bdelete\s+from\s+\S+",
            r"(?i)\bdrop\s+(?:table|database|schema|view|user)\b",
            r"(?i)\b(?:or|and)\s*\(?\s*\d+\s*\)?\s*=\s*\(?\s*\d+\b",
            r"/\*!?\d*.*?\*/",
        ],
    )
});

static XSS: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(
        &[
            // Any tag as a browser parses one: <script, </a, <img src=..., <svg/onload=..., <!--, <?
            r"<(?:/?[a-zA-Z]|!--|!\[|\?)",
            r"(?i)\b(?:java|vb|live)script\s*:(?:\S|\s*[\w.$]+\s*[(\x60=])",
            r"(?i)\bdata\s*:\s*(?:text/html|image/svg|application/(?:x-)?javascript)",
            r"(?i)(?:^|[\s\x22'/;`])on(?:error|load|click|mouse\w+|focus\w*|blur|key\w+|change|submit|input|toggle|begin|end|animation\w+|transition\w+|pointer\w+|drag\w*|drop|wheel|scroll|resize|unload|beforeunload|message|hashchange|popstate|show|start|finish|invalid|select|copy|cut|paste|auxclick|dblclick|contextmenu|touch\w+)\s*=",
            r"(?i)&#(?:x0*3c|0*60);?",
            r"(?i)\\(?:u003c|x3c)",
            r"(?i)\bsrcdoc\s*=",
            r"(?i)\bexpression\s*\(\s*(?:alert|eval|prompt|confirm|document|window)\b",
            r"(?i)\b(?:alert|prompt|confirm|eval)\s*\(\s*(?:document\.|window\.|1\s*\)|`)|\bdocument\.(?:cookie|domain|write)\b",
        ],
        &[r"(?i)(?:^|[\s\x22'/;`])on[a-z]{3,}\s*=", r"(?i)\b(?:java|vb)script\s*:"],
    )
});

static TRAVERSAL: LazyLock<Patterns> = LazyLock::new(|| {
    Patterns::new(
        &[
            // A `..` path segment, with either separator, their Unicode look-alikes (fullwidth, division slash) that
            // some servers fold to `/`, and a Tomcat-style `..;` segment; `So.../what` is an ellipsis, not a segment.
            r"(?:^|[/\\／∕⧸＼∖])[.．]{2}(?:[/\\／∕⧸＼∖;]|$)",
            r"(?:^|[^.．])[.．]{2}[/\\／∕⧸＼∖]",
            r"\.{4}[/\\]{1,2}",
            // Encodings that only attacks use: overlong UTF-8 dots and slashes, IIS `%u` escapes of them.
            r"(?i)%(?:c0%ae|c0%2e|e0%80%ae|c0%af|c1%9c|c1%1c|e0%80%af)|(?i)%u(?:002e|ff0e|2215|2216|ff0f|002f|005c|ff3c)",
            r"(?i)^file://",
        ],
        &[
            // Well-known targets, which people also mention: `I edited /etc/hosts and now login fails`.
            r"(?i)(?:^|[/\\])(?:etc[/\\](?:passwd|shadow|hosts|group)|proc[/\\]self[/\\])",
            r"(?i)\b(?:boot|win)\.ini\b",
            r"(?i)[a-z]:[/\\]+windows[/\\]+system32",
        ],
    )
});

static ENCODED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"%[0-9A-Fa-f]{2}").unwrap_or_else(|e| unreachable!("compiles: {e}")));

static INLINE_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/\*.*?\*/").unwrap_or_else(|e| unreachable!("compiles: {e}")));

/// How many percent-decodings are tried: one more than the deepest encoding seen in the wild (triple).
const MAX_DECODINGS: usize = 4;

/// Characters no legitimate input carries: NUL and the other C0 controls but tab and line breaks, DEL, C1 controls.
fn is_forbidden_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// The value as scanned: the original and its percent-decodings until they stop changing.
fn decodings(value: &str) -> Vec<Cow<'_, str>> {
    let mut out = vec![Cow::Borrowed(value)];
    let mut current = value.to_string();
    for _ in 0..MAX_DECODINGS {
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

/// A quote that closes a literal, followed by a comment or a statement terminator: `admin'--`, `x'#`, `admin';`.
///
/// The quote must be the odd one of its kind (counting from the start), since in `'…' + input + '…'` an odd quote
/// ends the server's literal; in `Jean 'JJ' -- Smith` the quote before `--` is the second, so the comment sits
/// inside a string and the value is a name, not an injection. A comment that truncates the statement ends the value
/// (`admin'-- -`): that is `High`; a dash comment followed by more words (`Jones' -- the best`) is `Low`.
fn closes_literal_then_comments(value: &str) -> Option<Confidence> {
    let only_comment_marks = |rest: &str| rest.chars().all(|c| c.is_whitespace() || matches!(c, '-' | '+' | '#' | ';'));
    let mut found = None;
    for quote in ['\'', '"', '`'] {
        for (n, (i, _)) in value.match_indices(quote).enumerate() {
            if n % 2 == 1 {
                continue;
            }
            let rest = value[i + 1..].trim_start_matches(|c: char| c == ')' || c.is_whitespace());
            let confidence = if rest.starts_with("/*") {
                Some(Confidence::High)
            } else if let Some(after) = rest.strip_prefix("--") {
                Some(if only_comment_marks(after) { Confidence::High } else { Confidence::Low })
            } else if let Some(after) = rest.strip_prefix('#').or_else(|| rest.strip_prefix(';')) {
                only_comment_marks(after).then_some(Confidence::High)
            } else {
                None
            };
            found = found.max(confidence);
        }
    }
    found
}

/// A quote that closes a literal, then a tautology with no comparison at all, the `OR 1` family: `' OR 1--`,
/// `') or 1 #`, `x' || 1 -- -`, `' or true`. As in [`closes_literal_then_comments`], the quote must be the odd one of
/// its kind, so `Team 'A' or 2` (the quote before `or` closes the writer's own pair) is a name.
fn closes_literal_then_tautology(value: &str) -> Option<Confidence> {
    static TAUTOLOGY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\)?\s*(?:or|\|\|)[\s(]*(?:\d+|true|not\s+false)[\s)]*(?:--|#|;|/\*|$)")
            .unwrap_or_else(|e| unreachable!("compiles: {e}"))
    });
    ['\'', '"', '`']
        .into_iter()
        .any(|quote| {
            value.match_indices(quote).enumerate().any(|(n, (i, _))| n % 2 == 0 && TAUTOLOGY.is_match(&value[i + 1..]))
        })
        .then_some(Confidence::High)
}

/// The SQL reading of a value: inline comments as whitespace.
fn sql_form(value: &str) -> Cow<'_, str> {
    if value.contains("/*") { INLINE_COMMENT.replace_all(value, " ") } else { Cow::Borrowed(value) }
}

fn detect(value: &str) -> Option<Detection> {
    if value.chars().any(is_forbidden_control) {
        return Some(Detection { threat: Threat::ControlCharacters, confidence: Confidence::High });
    }
    let sql = sql_form(value);
    let sqli = closes_literal_then_comments(value)
        .max(closes_literal_then_tautology(&sql))
        .max(SQLI.confidence(&sql))
        .max(if sql != value { SQLI.confidence(value) } else { None });
    [
        (Threat::PathTraversal, TRAVERSAL.confidence(value)),
        (Threat::Xss, XSS.confidence(value)),
        (Threat::SqlInjection, sqli),
    ]
    .into_iter()
    .filter_map(|(threat, c)| c.map(|confidence| Detection { threat, confidence }))
    .max_by_key(|d| d.confidence)
}

/// What a single value carries, if anything: the most confident detection over all its decodings.
pub fn detect_all(value: &str) -> Option<Detection> {
    let mut best: Option<Detection> = None;
    for v in decodings(value) {
        if let Some(d) = detect(&v) {
            if d.confidence == Confidence::High {
                return Some(d);
            }
            best = best.or(Some(d));
        }
    }
    best
}

/// The threat a single value carries, if any.
pub fn classify(value: &str) -> Option<Threat> {
    detect_all(value).map(|d| d.threat)
}

/// Scans a value at `location`.
pub fn scan(location: &str, value: &str) -> Option<Finding> {
    detect_all(value).map(|d| Finding {
        threat: d.threat,
        confidence: d.confidence,
        location: location.to_string(),
        free_text: false,
    })
}

/// Scans a path segment or a query name or value at `location`: as [`scan`], and a line break is refused too. A
/// body's free text may carry one (validation decides per field), but in a URL it is only ever header splitting or
/// log forging (`%0d%0aSet-Cookie:`), however deeply encoded.
pub fn scan_url_part(location: &str, value: &str) -> Option<Finding> {
    if decodings(value).iter().any(|v| v.contains(['\r', '\n'])) {
        return Some(control_characters(location));
    }
    scan(location, value)
}

fn control_characters(location: &str) -> Finding {
    Finding {
        threat: Threat::ControlCharacters,
        confidence: Confidence::High,
        location: location.to_string(),
        free_text: false,
    }
}

/// Scans every string in a JSON value, skipping the fields named in `secret_fields` (at any depth). Strings under a
/// field of [`FREE_TEXT_FIELDS`] are marked as free text. The finding returned is the first that counts toward the
/// block, else the first: a harmless-looking free-text match cannot hide an attack in another field.
pub fn scan_json(value: &serde_json::Value, secret_fields: &[&str]) -> Option<Finding> {
    /// Keeps `finding` if it is the first, or the first that counts; true when the search can stop.
    fn note(finding: Option<Finding>, first: &mut Option<Finding>) -> bool {
        match finding {
            Some(f) if f.counts_toward_block() => {
                *first = Some(f);
                true
            }
            Some(f) => {
                first.get_or_insert(f);
                false
            }
            None => false,
        }
    }
    fn walk(v: &serde_json::Value, path: &str, free_text: bool, secret: &[&str], first: &mut Option<Finding>) -> bool {
        match v {
            // A line break is refused outside free text (no name, address or key has one); in free text the
            // field's validation decides.
            serde_json::Value::String(s) if !free_text && s.contains(['\r', '\n']) => {
                note(Some(control_characters(path)), first)
            }
            serde_json::Value::String(s) => note(scan(path, s).map(|f| Finding { free_text, ..f }), first),
            serde_json::Value::Array(items) => items.iter().any(|i| walk(i, path, free_text, secret, first)),
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| {
                let here = format!("{path}.{k}");
                !secret.contains(&k.as_str())
                    && (note(scan_url_part(&here, k), first)
                        || walk(v, &here, FREE_TEXT_FIELDS.contains(&k.as_str()), secret, first))
            }),
            _ => false,
        }
    }
    let mut first = None;
    walk(value, "body", false, secret_fields, &mut first);
    first
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
            "admin'OR'1'='1",
            "x'OR(1)=(1)",
            "'||'1'='1",
            "1'/**/OR/**/1=1",
            "admin'#",
            "admin';",
            "%2527%2520OR%25201%253D1%2520--",
            "%252527%252520OR%2525201%25253D1--",
            // The `OR 1` family: a tautology without a comparison operator.
            "' OR 1--",
            "' or 1#",
            "admin' or 1 -- -",
            "') OR 1 --",
            "x' || 1 -- -",
            "\" or 1 #",
            "' OR 1",
            "' or true",
            "1 OR 1--",
            "'or(1)--",
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
            "%25252e%25252e%25252f",
            "%2525252e%2525252e%2525252fetc",
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
    fn line_breaks_in_a_url_part_are_header_splitting() {
        for value in ["probe\r\nSet-Cookie: a=1", "probe%0d%0aX-Injected: 1", "a%250Ab", "a\nb", "a%0Db"] {
            let f = scan_url_part("query.type", value).unwrap_or_else(|| panic!("{value:?} passed"));
            assert_eq!((f.threat, f.confidence), (Threat::ControlCharacters, Confidence::High), "{value:?}");
        }
        // In a body's free text the detector leaves line breaks to the field's validation; elsewhere they are refused.
        assert!(scan_json(&serde_json::json!({"display_name": "two\nlines"}), &[]).is_none());
        let f = scan_json(&serde_json::json!({"display_name": "Al", "username": "al\r\nX-Injected: 1"}), &[]).unwrap();
        assert_eq!((f.threat, f.location.as_str()), (Threat::ControlCharacters, "body.username"));
        assert!(scan_json(&serde_json::json!({"password": "a\nb"}), &["password"]).is_none());
        assert!(scan_url_part("query.type", "authn_login_fail").is_none());
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
            "Select from the menu",
            "Jean 'JJ' -- Smith",
            "Robert \"Bob\" Jones",
            "Rock 'n' Roll; Jazz",
            "Players' #1 choice",
            "Sleep (8 hours) matters",
            "Done; update later",
            "it's 'this' or 'that'",
            "Where 1 = 1 is true in math",
            "Team 'A' or 2",
            "Pick \"red\" or 1",
            "Vote 1 or 2",
        ] {
            assert_eq!(classify(p), None, "{p}");
        }
    }

    #[test]
    fn prose_shaped_statements_are_low_confidence_and_attacks_high() {
        for p in [
            "Select one from the list",
            "Delete from my cart later",
            "JavaScript: The Good Parts",
            "Jones' -- the best",
            "onboarding=done",
        ] {
            assert_eq!(detect_all(p).map(|d| d.confidence), Some(Confidence::Low), "{p}");
        }
        for p in ["admin'OR'1'='1", "' UNION SELECT null,null--", "select * from users", "<svg onload=alert(1)>"] {
            assert_eq!(detect_all(p).map(|d| d.confidence), Some(Confidence::High), "{p}");
        }
    }

    #[test]
    fn only_low_confidence_free_text_escapes_the_block() {
        let low_free = scan_json(&serde_json::json!({"display_name": "Select one from the list"}), &[]).unwrap();
        assert!(low_free.free_text && !low_free.counts_toward_block());
        let high_free = scan_json(&serde_json::json!({"display_name": "x' or 1=1 --"}), &[]).unwrap();
        assert!(high_free.counts_toward_block());
        let low_query = scan("query.q", "Select one from the list").unwrap();
        assert_eq!(scan_url_part("query.q", "Select one from the list").map(|f| f.confidence), Some(Confidence::Low));
        assert!(!low_query.free_text && low_query.counts_toward_block());
        // A low-confidence display name does not hide an attack in another field.
        let both = serde_json::json!({"display_name": "Select one from the list", "username": "admin'--"});
        let f = scan_json(&both, &[]).unwrap();
        assert_eq!((f.location.as_str(), f.counts_toward_block()), ("body.username", true));
    }

    #[test]
    fn json_scan_skips_secret_fields_and_names_the_location() {
        let body = serde_json::json!({
            "username": "alice",
            "password": "' OR 1=1 --",
            "profile": {"display_name": "<b>bold</b>"}
        });
        let f = scan_json(&body, &["password"]).unwrap();
        assert_eq!(
            f,
            Finding {
                threat: Threat::Xss,
                confidence: Confidence::High,
                location: "body.profile.display_name".into(),
                free_text: true
            }
        );
        let clean = serde_json::json!({"username": "alice", "password": "<script>' OR 1=1 --"});
        assert_eq!(scan_json(&clean, &["password"]), None);
    }

    #[test]
    fn perl_classes_are_narrowed_everywhere_but_escapes_stay_escapes() {
        assert_eq!(compact(r"\w+"), format!("[{WORD}]+"));
        assert_eq!(compact(r"[\w.\x60]"), format!("[{WORD}.\\x60]"));
        assert_eq!(compact(r"\bor\s\d"), format!("(?-u:\\b)or[{SPACE}][{DIGIT}]"));
        assert_eq!(compact(r"\\w [\]\w] [^]\s]"), format!("\\\\w [\\]{WORD}] [^]{SPACE}]"));
        // What it makes compiles, and still reads a fullwidth tautology and a non-breaking space.
        let re = regex::Regex::new(&compact(r"(?i)\bor\s+\w+=\w+")).unwrap();
        assert!(re.is_match("x' OR \u{ff11}=\u{ff11}") && re.is_match("x' or\u{a0}a=a") && !re.is_match("x' or é=é"));
    }
}
