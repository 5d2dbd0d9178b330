//! Re-authentication inside a session: what changes how the account is protected (the password, MFA) asks for the
//! password again (and, turning MFA off, a code), under the same lockout as a login. A session started under a
//! trusted device (or that trusted one) counts these attempts against that device while it is still trusted, so a
//! stranger who locked the username does not stop its owner, on a device the owner logged in with, from changing
//! the password or MFA; the device's failures revoke it like a login's.

use cloudmind_security::ApiError;
use cloudmind_security::clock::seconds_until;
use cloudmind_security::credentials::{FactorVerdict, Verdict};
use cloudmind_security::devices;
use cloudmind_security::events::EventKind;
use cloudmind_security::mfa;
use cloudmind_security::validation::Password;
use cloudmind_serving::gate::{Call, Principal};

use crate::Protected;

/// The lockout key the caller's re-authentication counts against, and the device it belongs to (if any).
async fn lockout_key(state: &Protected, call: &Call<Principal>) -> Result<(String, Option<String>), ApiError> {
    let user = &call.caller.user;
    if let Some(device) = &call.caller.session.device
        && state.devices.get(device, &user.username, call.now).await?.is_some()
    {
        return Ok((devices::lockout_key(device), Some(device.clone())));
    }
    Ok((user.username.clone(), None))
}

/// What a refused re-authentication records: its event kind and a detail.
pub(crate) struct Refusal {
    pub kind: EventKind,
    pub detail: &'static str,
}

impl Protected {
    /// Checks the caller's password; `clears` says whether a right one clears the failure count (it does not when
    /// a code is still to come). 423 while locked, 401 (counted) when wrong.
    pub(crate) async fn reauthenticate(
        &self,
        call: &Call<Principal>,
        password: String,
        clears: bool,
        wrong: Refusal,
    ) -> Result<(), ApiError> {
        let user = &call.caller.user;
        let (key, device) = lockout_key(self, call).await?;
        let check = self.credentials();
        let account = async { Ok(Some(((), user.password_hash.clone()))) };
        let password = Password::new(password).into_secret();
        let verdict = check.check_then(&key, account, password, call.now, |_| clears).await?;
        let audit = self.gate.observer();
        let event = |kind: EventKind, detail: &'static str| call.event(kind).username(&user.username).detail(detail);
        match verdict {
            Verdict::Valid { .. } => Ok(()),
            Verdict::Locked { until } => {
                audit.record(event(wrong.kind, "account locked")).await;
                Err(ApiError::AccountLocked { retry_after: seconds_until(call.now, until).max(1) })
            }
            Verdict::Invalid { locked_until, .. } => {
                audit.record(event(wrong.kind, wrong.detail)).await;
                if locked_until.is_some() {
                    self.locked(call, device.as_deref()).await?;
                }
                Err(ApiError::InvalidCredentials)
            }
        }
    }

    /// Checks an MFA code (TOTP or recovery) of the caller under the same lockout as [`Self::reauthenticate`].
    pub(crate) async fn reauthenticate_code(&self, call: &Call<Principal>, code: &str) -> Result<(), ApiError> {
        let user = &call.caller.user;
        let (key, device) = lockout_key(self, call).await?;
        let verify = mfa::accept_code(self.mfa.as_ref(), &self.mfa_keys, user, code, call.now);
        let audit = self.gate.observer();
        let event = |detail: &'static str| call.event(EventKind::MfaFail).username(&user.username).detail(detail);
        match self.credentials().check_factor(&key, verify, call.now).await? {
            FactorVerdict::Valid => Ok(()),
            FactorVerdict::Locked { until } => {
                audit.record(event("account locked")).await;
                Err(ApiError::AccountLocked { retry_after: seconds_until(call.now, until).max(1) })
            }
            FactorVerdict::Invalid { locked_until } => {
                audit.record(event("wrong MFA code turning MFA off")).await;
                if locked_until.is_some() {
                    self.locked(call, device.as_deref()).await?;
                }
                Err(ApiError::InvalidCredentials)
            }
        }
    }

    /// The failure that locked: a device's revokes it; a username's is an account lock.
    async fn locked(&self, call: &Call<Principal>, device: Option<&str>) -> Result<(), ApiError> {
        let user = &call.caller.user;
        match device {
            Some(device) => self.devices.revoke(&user.username, device).await?,
            None => {
                let event = call.event(EventKind::LoginLock).username(&user.username).detail("re-authentication");
                self.gate.observer().record(event).await;
            }
        }
        Ok(())
    }

    fn credentials(&self) -> cloudmind_security::credentials::CredentialCheck<'_> {
        cloudmind_security::credentials::CredentialCheck {
            lockouts: &self.lockouts,
            policy: &self.lockout,
            hasher: &self.hasher,
        }
    }
}
