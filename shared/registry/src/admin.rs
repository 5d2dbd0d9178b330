//! The first admin: created at start of the local server (`CLOUDMIND_ADMIN_USERNAME`, default `admin`, with
//! `CLOUDMIND_ADMIN_PASSWORD` or a generated password printed once), or by `cloudmind create-admin` against the
//! configured store.
//!
//! An account that exists already is never promoted silently: whoever registered that name first (an attacker who
//! read the runbook) would become an admin with a password of their choosing. It is promoted only when the operator
//! names its id (`create-admin --promote-existing <id>`), having been shown the id and when it was created.

use cloudmind_security::StoreError;
use cloudmind_security::clock::{now_ms, rfc3339};
use cloudmind_security::hashing::{HashError, PasswordHasher};
use cloudmind_security::users::{ROLE_ADMIN, User, UserStore};
use cloudmind_security::validation::{DisplayName, Email, Username};
use cloudmind_serving::config::Settings;
use cloudmind_serving::function::{Ports, WiringError};
use cloudmind_wiring::Wiring;
use secrecy::SecretString;

/// What [`ensure_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    /// The user existed with the admin role already.
    Existing(String),
    /// The user existed; the operator named its id, and it has the admin role now.
    Promoted(String),
    /// Created with the configured password.
    Created(String),
    /// Created with a generated password, to be shown to the operator once.
    Generated { username: String, password: String },
}

/// Why the admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("CLOUDMIND_ADMIN_USERNAME is not a valid username: {0}")]
    Username(String),
    #[error("the admin password breaks the password policy: {0}")]
    WeakPassword(String),
    #[error(
        "an account named '{username}' exists already (id {id}, created {created_at}) and is not an admin; it was not \
         promoted. If it is yours, run again with --promote-existing {id}; otherwise choose another admin name"
    )]
    ExistingAccount { username: String, id: String, created_at: String },
    #[error("--promote-existing names {given}, but the account '{username}' has the id {id}: nothing was changed")]
    WrongAccount { username: String, id: String, given: String },
    #[error("there is no account named '{0}' to promote")]
    NoSuchAccount(String),
    #[error("the user store is not available")]
    Wiring(#[from] WiringError),
    #[error("the user store failed")]
    Store(#[from] StoreError),
    #[error("the password could not be hashed")]
    Hash(#[from] HashError),
}

/// Makes sure `username` exists with the admin role. `password` is used when it must be created; `None`
/// generates one. An existing account that is not an admin is refused (with its id and creation time), unless
/// `promote` names that id.
pub async fn ensure_admin(
    wiring: &Wiring,
    username: &str,
    password: Option<&str>,
    promote: Option<&str>,
) -> Result<AdminOutcome, AdminError> {
    let settings = wiring.settings();
    let users = wiring.users().await?;
    let parsed = Username::parse(username).map_err(|e| AdminError::Username(e.message))?;
    let username = parsed.as_str().to_string();
    if let Some(existing) = users.get(&username).await? {
        return promote_existing(users.as_ref(), existing, promote).await;
    }
    if promote.is_some() {
        return Err(AdminError::NoSuchAccount(username));
    }
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (generate_password(settings, &username), true),
    };
    let violations = settings.password_policy.check(&password, &username);
    if !violations.is_empty() {
        let names: Vec<&str> = violations.iter().map(|v| v.as_str()).collect();
        return Err(AdminError::WeakPassword(names.join(", ")));
    }
    let hash = PasswordHasher::owasp().hash_async(SecretString::from(password.clone())).await?;
    let email = Email::parse(&format!("{username}@localhost")).map_err(|e| AdminError::Username(e.message))?;
    let display_name = DisplayName::parse("Administrator").map_err(|e| AdminError::Username(e.message))?;
    let user = User::new(parsed, email, display_name, hash, now_ms()).with_admin_role();
    match users.create(&user).await {
        Ok(()) => {}
        // Created in between (two servers starting together, or someone registering the name right now): the same
        // rule as for an account that existed.
        Err(StoreError::Conflict) => {
            let existing = users.get(&username).await?.ok_or(StoreError::NotFound)?;
            return promote_existing(users.as_ref(), existing, promote).await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(if generated { AdminOutcome::Generated { username, password } } else { AdminOutcome::Created(username) })
}

/// An account that exists: fine if it is an admin; promoted only if the operator named its id.
async fn promote_existing(
    users: &dyn UserStore,
    existing: User,
    promote: Option<&str>,
) -> Result<AdminOutcome, AdminError> {
    if existing.has_role(ROLE_ADMIN) {
        return Ok(AdminOutcome::Existing(existing.username));
    }
    match promote {
        None => Err(AdminError::ExistingAccount {
            created_at: rfc3339(existing.created_at),
            username: existing.username,
            id: existing.id,
        }),
        Some(given) if given != existing.id => {
            Err(AdminError::WrongAccount { username: existing.username, id: existing.id, given: given.to_string() })
        }
        Some(_) => {
            users.add_role(&existing.username, ROLE_ADMIN).await?;
            tracing::warn!(event = "admin_promoted", username = %existing.username, id = %existing.id);
            Ok(AdminOutcome::Promoted(existing.username))
        }
    }
}

/// A random 24-character password that passes the policy in force.
fn generate_password(settings: &Settings, username: &str) -> String {
    const SETS: [&[u8]; 4] = [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnopqrstuvwxyz", b"23456789", b"!#%+-=?@^_"];
    loop {
        let mut random = [0u8; 24];
        let _ = getrandom::fill(&mut random);
        let password: String = random
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let set = SETS[if i < 4 { i } else { usize::from(*r) % 4 }];
                char::from(set[usize::from(*r) % set.len()])
            })
            .collect();
        if settings.password_policy.check(&password, username).is_empty() {
            return password;
        }
    }
}
