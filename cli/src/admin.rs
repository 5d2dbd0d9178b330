//! The first admin: created at start of the local server (`CLOUDMIND_ADMIN_USERNAME`, default `admin`, with
//! `CLOUDMIND_ADMIN_PASSWORD` or a generated password printed once), or by `cloudmind create-admin` against the
//! configured store.

use cloudmind_platform::backends::Backends;
use cloudmind_platform::config::Settings;
use cloudmind_security::clock::now_ms;
use cloudmind_security::hashing::PasswordHasher;
use cloudmind_security::users::{ROLE_ADMIN, ROLE_USER, User};
use cloudmind_security::validation::Username;
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
    #[error("the user store failed: {0}")]
    Store(String),
}

/// Makes sure `username` exists with the admin role. `password` is used when it must be created; `None`
/// generates one.
pub async fn ensure_admin(
    settings: &Settings,
    backends: &Backends,
    username: &str,
    password: Option<&str>,
) -> Result<AdminOutcome, AdminError> {
    let username = Username::parse(username).map_err(|e| AdminError::Username(e.message))?.into_inner();
    let store = |e: cloudmind_security::StoreError| AdminError::Store(e.to_string());
    if backends.users.get(&username).await.map_err(store)?.is_some() {
        backends.users.add_role(&username, ROLE_ADMIN).await.map_err(store)?;
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
    let hash = PasswordHasher::owasp()
        .hash_async(SecretString::from(password.clone()))
        .await
        .map_err(|e| AdminError::Store(e.to_string()))?;
    let user = User {
        id: cloudmind_security::ids::uuid_v4(),
        username: username.clone(),
        email: format!("{username}@localhost"),
        display_name: "Administrator".into(),
        password_hash: hash,
        roles: vec![ROLE_USER.into(), ROLE_ADMIN.into()],
        created_at: now_ms(),
        tokens_valid_after: None,
        token_generation: 0,
        disabled: false,
    };
    match backends.users.create(&user).await {
        Ok(()) => {}
        // Another instance created it first (two servers starting together): make sure it is an admin.
        Err(cloudmind_security::StoreError::Conflict) => {
            backends.users.add_role(&username, ROLE_ADMIN).await.map_err(store)?;
            return Ok(AdminOutcome::Existing(username));
        }
        Err(e) => return Err(store(e)),
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
