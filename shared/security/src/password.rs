//! The password policy of the seed guide (and a NIST SP 800-63B mode), reporting every broken rule by name.
//!
//! Seed mode: 12–128 characters, an upper-case letter, a lower-case letter, a digit and a special character, not a
//! common password (case, leading and trailing digits and symbols ignored, so `Password123!` is common), no keyboard
//! or alphabet sequence of four, no character three times in a row, not containing the username.
//! NIST mode: 15–128 characters, the blocklist, the username rule and a strength estimate (zxcvbn score ≥ 3), no
//! composition rules.

use std::collections::HashSet;
use std::sync::LazyLock;

/// A broken rule, named as in the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Violation {
    TooShort,
    TooLong,
    MissingUppercase,
    MissingLowercase,
    MissingDigit,
    MissingSpecial,
    CommonPassword,
    /// Found in a breach corpus (the range API, or the bundled list): checked by the functions, not the policy.
    BreachedPassword,
    SequencePattern,
    ContainsUsername,
    RepeatedCharacters,
    Weak,
}

impl Violation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::MissingUppercase => "missing_uppercase",
            Self::MissingLowercase => "missing_lowercase",
            Self::MissingDigit => "missing_digit",
            Self::MissingSpecial => "missing_special",
            Self::CommonPassword => "common_password",
            Self::BreachedPassword => "breached_password",
            Self::SequencePattern => "sequence_pattern",
            Self::ContainsUsername => "contains_username",
            Self::RepeatedCharacters => "repeated_characters",
            Self::Weak => "weak",
        }
    }
}

/// Which rule set applies (`PASSWORD_POLICY=seed|nist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyMode {
    Seed,
    Nist,
}

/// The password policy in force.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub mode: PolicyMode,
    pub min_length: usize,
    pub max_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_digits: bool,
    pub require_special: bool,
}

impl PasswordPolicy {
    /// The seed guide's `SECURITY_SETTINGS`.
    pub fn seed() -> Self {
        Self {
            mode: PolicyMode::Seed,
            min_length: 12,
            max_length: 128,
            require_uppercase: true,
            require_lowercase: true,
            require_digits: true,
            require_special: true,
        }
    }

    /// NIST SP 800-63B: length, blocklist and a strength estimate; no composition rules.
    pub fn nist() -> Self {
        Self {
            mode: PolicyMode::Nist,
            min_length: 15,
            max_length: 128,
            require_uppercase: false,
            require_lowercase: false,
            require_digits: false,
            require_special: false,
        }
    }

    /// Every rule `password` breaks for `username`, in a stable order; empty when it is acceptable.
    pub fn check(&self, password: &str, username: &str) -> Vec<Violation> {
        let mut violations = Vec::new();
        let length = password.chars().count();
        if length < self.min_length {
            violations.push(Violation::TooShort);
        }
        if length > self.max_length {
            violations.push(Violation::TooLong);
        }
        if self.require_uppercase && !password.chars().any(char::is_uppercase) {
            violations.push(Violation::MissingUppercase);
        }
        if self.require_lowercase && !password.chars().any(char::is_lowercase) {
            violations.push(Violation::MissingLowercase);
        }
        if self.require_digits && !password.chars().any(|c| c.is_ascii_digit()) {
            violations.push(Violation::MissingDigit);
        }
        if self.require_special && !password.chars().any(is_special) {
            violations.push(Violation::MissingSpecial);
        }
        if is_common(password) {
            violations.push(Violation::CommonPassword);
        }
        if self.mode == PolicyMode::Seed && has_sequence(password) {
            violations.push(Violation::SequencePattern);
        }
        if contains_username(password, username) {
            violations.push(Violation::ContainsUsername);
        }
        if self.mode == PolicyMode::Seed && has_repeats(password) {
            violations.push(Violation::RepeatedCharacters);
        }
        if self.mode == PolicyMode::Nist && length <= self.max_length && is_weak(password, username) {
            violations.push(Violation::Weak);
        }
        violations
    }
}

fn is_special(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
}

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt").lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect()
});

/// Whether the password itself (ignoring case) is in the bundled breach corpus: the 20,000 most frequent passwords
/// of leaked corpora in `data/common-passwords.txt`. Stricter than nothing and looser than [`is_common`], which also
/// strips digits and symbols around the core: this is the breached-password check's fallback.
pub fn in_bundled_breach_list(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// Whether the password, ignoring case and any leading or trailing digits and symbols, is a common one.
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return true;
    }
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    core.chars().count() >= 4 && COMMON.contains(core)
}

/// Keyboard rows (and the number row) in order; a run of four along one of them, either way, is a sequence.
const KEYBOARD_ROWS: [&str; 6] = [
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "qwertzuiop", // German layout
    "azertyuiop", // French layout
];

/// Well-known keyboard walks that do not follow a single row.
const KEYBOARD_WALKS: [&str; 10] =
    ["qazwsx", "wsxedc", "1qaz", "2wsx", "3edc", "zaq1", "1q2w3e", "q1w2e3", "!qaz", "!q2w"];

const SEQUENCE_RUN: usize = 4;

/// Whether the password contains four consecutive alphabet letters or digits (either way), four keys along a
/// keyboard row, or a known keyboard walk.
pub fn has_sequence(password: &str) -> bool {
    let lower: Vec<char> = password.to_lowercase().chars().collect();
    let ascending_or_descending = lower.windows(SEQUENCE_RUN).any(|w| {
        let same_class = w.iter().all(|c| c.is_ascii_lowercase()) || w.iter().all(|c| c.is_ascii_digit());
        let steps: Vec<i32> = w.windows(2).map(|p| p[1] as i32 - p[0] as i32).collect();
        same_class && (steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1))
    });
    if ascending_or_descending {
        return true;
    }
    let text: String = lower.iter().collect();
    let on_a_row = KEYBOARD_ROWS.iter().any(|row| {
        let forward: Vec<char> = row.chars().collect();
        let backward: Vec<char> = row.chars().rev().collect();
        [forward, backward]
            .iter()
            .any(|keys| keys.windows(SEQUENCE_RUN).any(|run| text.contains(&run.iter().collect::<String>())))
    });
    on_a_row || KEYBOARD_WALKS.iter().any(|walk| text.contains(walk))
}

/// Whether any character appears three or more times in a row.
pub fn has_repeats(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

fn contains_username(password: &str, username: &str) -> bool {
    username.chars().count() >= 3 && password.to_lowercase().contains(&username.to_lowercase())
}

fn is_weak(password: &str, username: &str) -> bool {
    (zxcvbn::zxcvbn(password, &[username]).score() as u8) < 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use Violation::*;

    fn seed(password: &str) -> Vec<Violation> {
        PasswordPolicy::seed().check(password, "alice")
    }

    #[test]
    fn a_strong_password_passes_the_seed_policy() {
        assert_eq!(seed("Correct-Horse-42-Battery"), vec![]);
        assert_eq!(seed("Zebra!Quilt#Mango7"), vec![]);
    }

    #[test]
    fn every_broken_rule_is_reported() {
        assert_eq!(seed("abc"), vec![TooShort, MissingUppercase, MissingDigit, MissingSpecial]);
        assert_eq!(seed("ALLUPPERCASE-99"), vec![MissingLowercase]);
        assert_eq!(seed(&format!("Aa1!{}", "x".repeat(125))), vec![TooLong, RepeatedCharacters]);
    }

    #[test]
    fn common_passwords_are_found_through_case_digits_and_symbols() {
        assert!(seed("Password123!").contains(&CommonPassword));
        assert!(seed("!!Letmein2024").contains(&CommonPassword));
        assert!(seed("QWERTYUIOP").contains(&CommonPassword));
        assert!(!seed("Correct-Horse-42-Battery").contains(&CommonPassword));
    }

    #[test]
    fn the_blocklist_holds_at_least_ten_thousand_passwords() {
        assert!(COMMON.len() >= 10_000, "{}", COMMON.len());
    }

    #[test]
    fn sequences_and_keyboard_walks_are_patterns() {
        for p in ["Xx!9abcd-Quilt", "Xx!1234-Quilt", "Xx!9-4321Quilt", "Xx!9asdf-Quilt", "Xx!9qazwsx-Tt", "Xx!7zyxw-Qq"]
        {
            assert!(seed(p).contains(&SequencePattern), "{p}");
        }
        assert!(!seed("Zebra!Quilt#Mango7").contains(&SequencePattern));
    }

    #[test]
    fn repeated_characters_and_username() {
        assert!(seed("Zebra!Quiiilt#Mango7").contains(&RepeatedCharacters));
        assert!(seed("Zebra!ALICE#Mango7").contains(&ContainsUsername));
    }

    #[test]
    fn nist_mode_has_no_composition_rules_but_estimates_strength() {
        let nist = PasswordPolicy::nist();
        assert_eq!(nist.check("correct horse battery staple tango", "alice"), vec![]);
        assert_eq!(nist.check("short", "alice"), vec![TooShort, Weak]);
        assert!(nist.check("aaaaaaaaaaaaaaaaaaaa", "alice").contains(&Weak));
        assert!(nist.check("password1password1", "alice").contains(&Weak));
    }
}
