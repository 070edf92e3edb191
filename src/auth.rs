//! The credentials of the APIs: SCIM access tokens (AWS-SCIM.md, "Endpoint, auth, headers")
//! and the tenants' AWS access keys (for the AWS JSON APIs' Signature V4), generated and issued
//! with AWS's limits, and how the AWS APIs authenticate (`AwsAuth`).
//!
//! Tokens are kept only as SHA-256 hashes. A token given on the command line is compared, as a
//! hash, in constant time (`secret::eq`); stored tokens are found by their hash. An access
//! key's secret is kept as issued, because Signature V4 needs it to verify (SECURITY.md).
//! Neither a token, its hash nor a secret key is ever logged.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::store::{
    AccessKeyInfo, AccessKeyOwner, Result as StoreResult, Store, Tenant, TokenInfo,
};

/// The lifetime of an access token: one year, as in AWS.
pub const TOKEN_LIFETIME_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// The SHA-256 of a token. Its `Debug` prints nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The hex form the database keeps.
    pub fn to_hex(&self) -> String {
        crate::text::hex(&self.0)
    }

    /// Whether two hashes are equal, compared in constant time (`secret::eq`).
    pub fn matches(&self, other: &Self) -> bool {
        crate::secret::eq(&self.0, &other.0)
    }

    /// A key for one purpose, derived from the credential this hashes (HMAC-SHA256 of the
    /// purpose under the hash): it changes when the credential does, and tells nothing of it.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any size");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A fresh random access token, shown once.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The most access tokens a tenant holds at a time, as in AWS.
pub const MAX_TOKENS: usize = 2;

/// Generates a token for a tenant and stores its hash with AWS's one-year lifetime, unless the
/// tenant already has `MAX_TOKENS`. Returns what is listed of it and the secret, which is kept
/// nowhere.
pub async fn issue_token(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> StoreResult<(TokenInfo, String)> {
    let token = generate_token();
    let info = TokenInfo {
        token_id: crate::text::random_uuid().to_string(),
        created_ms: now_ms,
        expires_ms: now_ms + TOKEN_LIFETIME_MS,
        last_used_ms: None,
    };
    store
        .add_token(
            tenant_id,
            &info,
            &TokenHash::of(&token).to_hex(),
            MAX_TOKENS,
        )
        .await?;
    Ok((info, token))
}

/// The most access keys a tenant holds at a time, as an IAM user does.
pub const MAX_ACCESS_KEYS: usize = 2;

/// The characters of an access key id after its `AKIA` prefix (as AWS's, base 32).
const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The characters of a secret access key (as AWS's, base 64).
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Generates an access key for a tenant and stores it, unless the tenant already has
/// `MAX_ACCESS_KEYS`. Returns what is listed of it and its secret, shown once: an id of the form
/// of AWS's (`AKIA` and 16 characters) and a secret of 40 characters (240 random bits).
pub async fn issue_access_key(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> StoreResult<(AccessKeyInfo, String)> {
    let info = AccessKeyInfo {
        access_key_id: format!("AKIA{}", crate::secret::random_string(16, KEY_ID_ALPHABET)),
        created_ms: now_ms,
        last_used_ms: None,
    };
    let secret = crate::secret::random_string(40, SECRET_ALPHABET);
    store
        .add_access_key(tenant_id, &info, &secret, MAX_ACCESS_KEYS)
        .await?;
    Ok((info, secret))
}

/// The tenant and the secret of an access key: a key given on the command line
/// (`--aws-credentials`, id → secret) is the default tenant's; any other is looked up among the
/// stored keys.
pub async fn access_key_owner(
    store: &dyn Store,
    configured: &HashMap<String, String>,
    default_tenant: &Tenant,
    access_key_id: &str,
    now_ms: i64,
) -> StoreResult<Option<AccessKeyOwner>> {
    if let Some(secret) = configured.get(access_key_id) {
        return Ok(Some(AccessKeyOwner {
            tenant: default_tenant.clone(),
            secret: secret.clone(),
        }));
    }
    store.access_key_owner(access_key_id, now_ms).await
}

/// How the AWS JSON APIs authenticate a request (`--aws-auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsAuth {
    /// Signature V4 verified with the secret of the access key it names; the key's tenant is
    /// the only one the request reaches.
    Verify,
    /// Any well-formed signature is accepted and reaches every tenant, as LocalStack and moto
    /// accept it.
    Any,
}

impl AwsAuth {
    pub const ALL: [Self; 2] = [Self::Verify, Self::Any];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Any => "any",
        }
    }

    /// What the mode does, for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Verify => "verify signatures with the tenants' access keys",
            Self::Any => {
                "accept any well-formed signature, for every tenant, as local emulators do"
            }
        }
    }
}

impl fmt::Display for AwsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AwsAuth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("expected verify or any, not {s:?}"))
    }
}
