//! The breached-password check (API.md, v1.1) as a port: register and the password change ask it whether a
//! password is in a breach corpus. The bundled list ([`BundledList`]) is the answer without a range service and
//! whenever that service fails; the range-protocol adapter lives with the other adapters.

use async_trait::async_trait;

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachVerdict {
    pub breached: bool,
    /// Why the range service was not used (the bundled list answered instead); never contains the password, its
    /// hash or the prefix sent.
    pub degraded: Option<String>,
}

/// Whether a password is known from a breach.
#[async_trait]
pub trait BreachedPasswords: Send + Sync {
    async fn check(&self, password: &str) -> BreachVerdict;
}

/// The bundled list alone (the 20,000 most frequent leaked passwords).
#[derive(Debug, Clone, Copy, Default)]
pub struct BundledList;

#[async_trait]
impl BreachedPasswords for BundledList {
    async fn check(&self, password: &str) -> BreachVerdict {
        BreachVerdict { breached: crate::password::in_bundled_breach_list(password), degraded: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_bundled_list_answers_alone() {
        assert_eq!(BundledList.check("password").await, BreachVerdict { breached: true, degraded: None });
        assert!(!BundledList.check("Vq7#trellis-Mb2!north").await.breached);
    }
}
