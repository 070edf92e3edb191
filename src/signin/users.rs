//! The people who sign in: users of the tenant's identity store, found by `userName`, who may
//! sign in while `active` is not false. A password is optional: a user without one signs in
//! by name (a test stand-in's comfort), a user with one must give it. Passwords are kept as
//! argon2id hashes, set by the admin API and the CLI. Browser sessions of the sign-in pages
//! are kept as hashes of their cookie.

use std::sync::LazyLock;

use super::{Internal, SESSION_LIFETIME_MS, internal, secrets};
use crate::directory;
use crate::store::{SessionRecord, Store, StoreError, Tenant, UserRecord};
use crate::text::Class;

/// IAM Identity Center's bounds on a password's length.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 8..=64;

fn is_active(user: &UserRecord) -> bool {
    user.attrs.active != Some(false)
}

/// A user by `userName` (case-insensitively, as `userName` is unique). A name of characters
/// no `userName` holds (`text::Class::Identity`) names nobody, and is not looked up.
pub async fn find_user(
    store: &dyn Store,
    tenant: &Tenant,
    user_name: &str,
) -> Result<Option<UserRecord>, Internal> {
    if !Class::Identity.admits_all(user_name) {
        return Ok(None);
    }
    directory::find_user(store, tenant, user_name)
        .await
        .map_err(internal::<Internal>)
}

/// A user who exists and may sign in.
pub async fn active_user(
    store: &dyn Store,
    tenant: &Tenant,
    user_id: &str,
) -> Result<Option<UserRecord>, Internal> {
    match store.get_user(tenant, user_id).await {
        Ok(user) => Ok(is_active(&user).then_some(user)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(internal(e)),
    }
}

/// An argon2 hash that no password matches, checked when the user is unknown so that a
/// refusal takes as long whether or not the name exists.
static NO_USER_HASH: LazyLock<String> =
    LazyLock::new(|| secrets::hash_password(&secrets::random("", 32)));

async fn verify_off_thread(password: String, phc: String) -> Result<bool, Internal> {
    tokio::task::spawn_blocking(move || secrets::verify_password(&password, &phc))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password verification failed to run");
            Internal
        })
}

/// The user whom a name and a password sign in, or `None` (an unknown name, a wrong or
/// missing password, a user who may not sign in: one answer for all).
pub async fn sign_in(
    store: &dyn Store,
    tenant: &Tenant,
    user_name: &str,
    password: &str,
) -> Result<Option<UserRecord>, Internal> {
    let Some(user) = find_user(store, tenant, user_name).await? else {
        verify_off_thread(password.to_owned(), NO_USER_HASH.clone()).await?;
        return Ok(None);
    };
    let stored = store
        .password_hash(tenant, &user.id)
        .await
        .map_err(internal::<Internal>)?;
    let password_ok = match stored {
        Some(phc) => verify_off_thread(password.to_owned(), phc).await?,
        None => true,
    };
    Ok((password_ok && is_active(&user)).then_some(user))
}

/// Why a password was not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    UnknownUser,
    Invalid(String),
    Internal,
}

impl From<Internal> for PasswordError {
    fn from(_: Internal) -> Self {
        Self::Internal
    }
}

/// Sets a user's password, or removes it (`None`): the user then signs in by name alone.
pub async fn set_password(
    store: &dyn Store,
    tenant: &Tenant,
    user_name: &str,
    password: Option<&str>,
    now_ms: i64,
) -> Result<(), PasswordError> {
    let user = find_user(store, tenant, user_name)
        .await?
        .ok_or(PasswordError::UnknownUser)?;
    let hash = match password {
        Some(password) => {
            let length = password.chars().count();
            if !PASSWORD_LENGTH.contains(&length) || password.chars().any(char::is_control) {
                return Err(PasswordError::Invalid(format!(
                    "A password has {} to {} characters, none of them control characters.",
                    PASSWORD_LENGTH.start(),
                    PASSWORD_LENGTH.end()
                )));
            }
            let password = password.to_owned();
            let hashed = tokio::task::spawn_blocking(move || secrets::hash_password(&password))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "password hashing failed to run");
                    PasswordError::Internal
                })?;
            Some(hashed)
        }
        None => None,
    };
    match store
        .set_password(tenant, &user.id, hash.as_deref(), now_ms)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(PasswordError::UnknownUser),
        Err(e) => Err(internal(e)),
    }
}

/// Opens a browser session for a user; answers the secret of its cookie.
pub async fn open_session(
    store: &dyn Store,
    tenant: &Tenant,
    user_id: &str,
    now_ms: i64,
) -> Result<String, Internal> {
    let secret = secrets::random("", 32);
    let session = SessionRecord {
        tenant_id: tenant.tenant_id.clone(),
        user_id: user_id.to_owned(),
        created_ms: now_ms,
        expires_ms: now_ms + SESSION_LIFETIME_MS,
    };
    store
        .create_session(&secrets::hash(&secret), &session)
        .await
        .map_err(internal::<Internal>)?;
    Ok(secret)
}

/// The user a session cookie of the tenant signs in, while it lasts and the user may sign in.
pub async fn session_user(
    store: &dyn Store,
    tenant: &Tenant,
    secret: &str,
    now_ms: i64,
) -> Result<Option<UserRecord>, Internal> {
    let session = match store
        .get_session(&tenant.tenant_id, &secrets::hash(secret))
        .await
    {
        Ok(session) if session.expires_ms > now_ms => session,
        Ok(_) | Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(internal(e)),
    };
    active_user(store, tenant, &session.user_id).await
}

/// Ends a browser session.
pub async fn close_session(store: &dyn Store, secret: &str) -> Result<(), Internal> {
    store
        .delete_session(&secrets::hash(secret))
        .await
        .map_err(internal::<Internal>)
}
