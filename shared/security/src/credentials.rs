//! The one credential check of login and password change: reserve a place on the hashing threads (a busy process
//! refuses before anything is counted), take a lockout slot, verify the password (against a dummy hash when there
//! is no account, so both cost the same), then record the verdict: a success clears the record, a failure counts
//! toward the lockout.

use std::future::Future;
use std::sync::Arc;

use secrecy::SecretString;

use crate::clock::Millis;
use crate::hashing::{HashError, PasswordHasher, Verification};
use crate::lockout::{Acquire, LockoutPolicy, LockoutStore};
use crate::store::StoreError;

/// What a credential check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<T> {
    /// The password matches the account `T`; `needs_rehash` when its hash used older parameters.
    Valid { account: T, needs_rehash: bool },
    /// No slot was left: the account is locked until then, and the password was not checked.
    Locked { until: Millis },
    /// Wrong password or no such account; counted. `locked_until` when this failure locked the account;
    /// `account_exists` says which of the two it was (for the log only: the caller's answer is the same).
    Invalid { locked_until: Option<Millis>, account_exists: bool },
}

/// Why a credential check could not decide.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<CheckError> for crate::ApiError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Store(e) => e.into(),
            CheckError::Hash(e) => e.into(),
        }
    }
}

/// A lockout slot held by an attempt: given back if the attempt ends without a verdict (its future dropped by a
/// client that went away, or a store that failed between the slot and the verdict), so five aborted requests do not
/// lock an account.
struct HeldSlot {
    lockouts: Arc<dyn LockoutStore>,
    key: String,
    now: Millis,
    decided: bool,
}

impl Drop for HeldSlot {
    fn drop(&mut self) {
        if self.decided {
            return;
        }
        tracing::warn!(event = "authn_attempt_aborted", detail = "the attempt ended before its verdict; slot released");
        let (lockouts, key, now) = (self.lockouts.clone(), std::mem::take(&mut self.key), self.now);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = lockouts.release(&key, now).await {
                        tracing::error!(event = "lockout_slot_not_released", error = %crate::store::error_chain(&e));
                    }
                });
            }
            Err(_) => tracing::error!(event = "lockout_slot_not_released", detail = "no runtime"),
        }
    }
}

/// Checks credentials under the lockout.
#[derive(Clone, Copy)]
pub struct CredentialCheck<'a> {
    pub lockouts: &'a Arc<dyn LockoutStore>,
    pub policy: &'a LockoutPolicy,
    pub hasher: &'a PasswordHasher,
}

impl CredentialCheck<'_> {
    /// Checks `password` for the lockout key `key`. `account` is looked up only once a slot is held, and gives the
    /// account with its stored hash (`None`: no such account, or one that may not log in).
    pub async fn check<T>(
        &self,
        key: &str,
        account: impl Future<Output = Result<Option<(T, String)>, StoreError>>,
        password: SecretString,
        now: Millis,
    ) -> Result<Verdict<T>, CheckError> {
        self.check_then(key, account, password, now, |_| true).await
    }

    /// As [`CredentialCheck::check`], but a right password clears the failure count only when `completes` says the
    /// login is complete with it; otherwise (MFA to come) the count stays and only the slot is given back.
    pub async fn check_then<T>(
        &self,
        key: &str,
        account: impl Future<Output = Result<Option<(T, String)>, StoreError>>,
        password: SecretString,
        now: Millis,
        completes: impl FnOnce(&T) -> bool,
    ) -> Result<Verdict<T>, CheckError> {
        let permit = self.hasher.reserve()?;
        if let Acquire::Locked { until } = self.lockouts.acquire(key, self.policy, now).await? {
            return Ok(Verdict::Locked { until });
        }
        let mut slot = HeldSlot { lockouts: self.lockouts.clone(), key: key.to_string(), now, decided: false };
        let (account, hash) = match account.await? {
            Some((account, hash)) => (Some(account), Some(hash)),
            None => (None, None),
        };
        let account_exists = account.is_some();
        match (permit.verify(password, hash).await, account) {
            (Verification::Valid { needs_rehash }, Some(account)) => {
                if completes(&account) {
                    self.lockouts.clear(key).await?;
                } else {
                    self.lockouts.release(key, now).await?;
                }
                slot.decided = true;
                Ok(Verdict::Valid { account, needs_rehash })
            }
            _ => {
                let locked_until = self.lockouts.record_failure(key, self.policy, now).await?;
                slot.decided = true;
                Ok(Verdict::Invalid { locked_until, account_exists })
            }
        }
    }
}

/// What a second-factor check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorVerdict {
    Valid,
    Locked { until: Millis },
    Invalid { locked_until: Option<Millis> },
}

impl CredentialCheck<'_> {
    /// Checks a second factor (an MFA code) under the same lockout as the password: a slot first (423 when none is
    /// left), then `verify`; a success clears the failure count, a failure counts.
    pub async fn check_factor(
        &self,
        key: &str,
        verify: impl Future<Output = Result<bool, StoreError>>,
        now: Millis,
    ) -> Result<FactorVerdict, CheckError> {
        if let Acquire::Locked { until } = self.lockouts.acquire(key, self.policy, now).await? {
            return Ok(FactorVerdict::Locked { until });
        }
        let mut slot = HeldSlot { lockouts: self.lockouts.clone(), key: key.to_string(), now, decided: false };
        if verify.await? {
            self.lockouts.clear(key).await?;
            slot.decided = true;
            Ok(FactorVerdict::Valid)
        } else {
            let locked_until = self.lockouts.record_failure(key, self.policy, now).await?;
            slot.decided = true;
            Ok(FactorVerdict::Invalid { locked_until })
        }
    }
}
