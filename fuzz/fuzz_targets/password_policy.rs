//! Any password and username through both password policies: no panic, the same verdict twice, and the length
//! rules agree with the length in characters.
#![no_main]

use cloudmind_security::password::{PasswordPolicy, Violation};
use libfuzzer_sys::fuzz_target;

static POLICIES: std::sync::LazyLock<[PasswordPolicy; 2]> =
    std::sync::LazyLock::new(|| [PasswordPolicy::seed(), PasswordPolicy::nist()]);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (password, username) = text.split_once('\n').unwrap_or((&text, "alice"));
    for policy in POLICIES.iter() {
        let violations = policy.check(password, username);
        assert_eq!(violations, policy.check(password, username), "the verdict is deterministic");
        let length = password.chars().count();
        assert_eq!(violations.contains(&Violation::TooShort), length < policy.min_length, "too_short at {length}");
    }
});
