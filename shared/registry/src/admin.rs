//! The first admin: created at start of the local server (`CLOUDMIND_ADMIN_USERNAME`, default `admin`, with
//! `CLOUDMIND_ADMIN_PASSWORD` or a generated password printed once), or by `cloudmind create-admin` against the
//! configured store.

use cloudmind_security::StoreError;
use cloudmind_security::clock::now_ms;
use cloudmind_security::hashing::{HashError, PasswordHasher};
use cloudmind_security::users::{ROLE_ADMIN, User};
use cloudmind_security::validation::{DisplayName, Email, Username};
use cloudmind_serving::config::Settings;
use cloudmind_serving::function::{Ports, WiringError};
use cloudmind_wiring::Wiring;
use secrecy::SecretString;

/// What [`ensure_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    /// The user existed; it has the admin role now.
    Existing(String),
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
    #[error("the user store is not available")]
    Wiring(#[from] WiringError),
    #[error("the user store failed")]
    Store(#[from] StoreError),
    #[error("the password could not be hashed")]
    Hash(#[from] HashError),
}

/// Makes sure `username` exists with the admin role. `password` is used when it must be created; `None`
/// generates one.
pub async fn ensure_admin(wiring: &Wiring, username: &str, password: Option<&str>) -> Result<AdminOutcome, AdminError> {
    let settings = wiring.settings();
    let users = wiring.users().await?;
    let parsed = Username::parse(username).map_err(|e| AdminError::Username(e.message))?;
    let username = parsed.as_str().to_string();
    if users.get(&username).await?.is_some() {
        users.add_role(&username, ROLE_ADMIN).await?;
        return Ok(AdminOutcome::Existing(username));
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
        // Another instance created it first (two servers starting together): make sure it is an admin.
        Err(StoreError::Conflict) => {
            users.add_role(&username, ROLE_ADMIN).await?;
            return Ok(AdminOutcome::Existing(username));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(if generated { AdminOutcome::Generated { username, password } } else { AdminOutcome::Created(username) })
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
