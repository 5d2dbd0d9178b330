//! Password hashing: argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), PHC strings, re-hash when
//! the parameters change, and a dummy verification so an unknown username costs as much as a known one.
//!
//! Hashing is CPU-bound (≈ 20 ms optimized): the async entry points run it on the blocking pool, never on the
//! thread that drives requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches; `needs_rehash` when the stored hash used other parameters than the current ones.
    Valid {
        needs_rehash: bool,
    },
    Invalid,
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError(#[source] crate::store::BoxError);

/// argon2id with fixed parameters, shared by every function that hashes or verifies.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    dummy: Arc<OnceLock<String>>,
    verifications: Arc<AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

impl PasswordHasher {
    /// OWASP's argon2id recommendation.
    pub fn owasp() -> Self {
        Self::with_params(19_456, 2, 1).unwrap_or_else(|_| unreachable!("the OWASP parameters are valid"))
    }

    pub fn with_params(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, HashError> {
        let params = Params::new(m_cost_kib, t_cost, p_cost, None).map_err(|e| HashError(e.into()))?;
        Ok(Self { params, dummy: Arc::new(OnceLock::new()), verifications: Arc::new(AtomicU64::new(0)) })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// How many argon2 verifications this hasher (and its clones) ran, real and dummy: shows that an unknown
    /// username costs the same work as a known one, without timing anything.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Hashes a password into a PHC string with a fresh random salt.
    pub fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes).map_err(|e| HashError(e.to_string().into()))?;
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| HashError(e.into()))?;
        self.argon2()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.into()))
    }

    /// Verifies a password against a PHC string. A hash that cannot be parsed never verifies.
    pub fn verify(&self, password: &SecretString, phc: &str) -> Verification {
        let Ok(parsed) = PasswordHash::new(phc) else {
            // Still spend the time, so a corrupt record is not distinguishable by latency.
            self.verify_dummy(password);
            return Verification::Invalid;
        };
        self.verifications.fetch_add(1, Ordering::Relaxed);
        match self.argon2().verify_password(password.expose_secret().as_bytes(), &parsed) {
            Ok(()) => Verification::Valid { needs_rehash: !self.is_current(&parsed) },
            Err(_) => Verification::Invalid,
        }
    }

    /// Spends one verification against a fixed hash: what a login for an unknown username costs.
    pub fn verify_dummy(&self, password: &SecretString) {
        let phc =
            self.dummy.get_or_init(|| self.hash(&SecretString::from("cloudmind-dummy-password")).unwrap_or_default());
        self.verifications.fetch_add(1, Ordering::Relaxed);
        if let Ok(parsed) = PasswordHash::new(phc) {
            let _ = self.argon2().verify_password(password.expose_secret().as_bytes(), &parsed);
        }
    }

    fn is_current(&self, parsed: &PasswordHash<'_>) -> bool {
        parsed.algorithm.as_str() == "argon2id"
            && parsed.version == Some(0x13)
            && Params::try_from(parsed).is_ok_and(|p| {
                p.m_cost() == self.params.m_cost()
                    && p.t_cost() == self.params.t_cost()
                    && p.p_cost() == self.params.p_cost()
            })
    }

    /// [`Self::hash`] on the blocking pool.
    pub async fn hash_async(&self, password: SecretString) -> Result<String, HashError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.hash(&password)).await.map_err(|e| HashError(e.into()))?
    }

    /// [`Self::verify`] on the blocking pool; `None` as the hash runs the dummy verification.
    pub async fn verify_async(&self, password: SecretString, phc: Option<String>) -> Verification {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => hasher.verify(&password, &phc),
            None => {
                hasher.verify_dummy(&password);
                Verification::Invalid
            }
        })
        .await
        .unwrap_or(Verification::Invalid)
    }

    /// Computes the dummy hash now, so the first login for an unknown user is not cheaper than later ones.
    pub fn warm_up(&self) {
        self.verify_dummy(&SecretString::from("warm-up"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn hashes_are_argon2id_phc_with_owasp_parameters_and_random_salts() {
        let hasher = PasswordHasher::owasp();
        let a = hasher.hash(&secret("Correct-Horse-42")).unwrap();
        let b = hasher.hash(&secret("Correct-Horse-42")).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(!a.contains("Correct-Horse-42"));
    }

    #[test]
    fn verify_accepts_the_right_password_only() {
        let hasher = PasswordHasher::owasp();
        let phc = hasher.hash(&secret("Correct-Horse-42")).unwrap();
        assert_eq!(hasher.verify(&secret("Correct-Horse-42"), &phc), Verification::Valid { needs_rehash: false });
        assert_eq!(hasher.verify(&secret("correct-horse-42"), &phc), Verification::Invalid);
        assert_eq!(hasher.verify(&secret("Correct-Horse-42"), "not a hash"), Verification::Invalid);
    }

    #[test]
    fn a_hash_with_old_parameters_verifies_and_asks_for_a_rehash() {
        let old = PasswordHasher::with_params(8_192, 1, 1).unwrap();
        let phc = old.hash(&secret("Correct-Horse-42")).unwrap();
        let current = PasswordHasher::owasp();
        assert_eq!(current.verify(&secret("Correct-Horse-42"), &phc), Verification::Valid { needs_rehash: true });
    }

    #[tokio::test]
    async fn unknown_users_cost_a_verification_and_never_pass() {
        let hasher = PasswordHasher::owasp();
        assert_eq!(hasher.verify_async(secret("anything"), None).await, Verification::Invalid);
        assert!(hasher.dummy.get().is_some());
    }
}
