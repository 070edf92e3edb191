//! SCIM access tokens (AWS-SCIM.md, "Endpoint, auth, headers"): generated, hashed, issued
//! with AWS's limit and lifetime.
//!
//! Tokens are kept only as SHA-256 hashes. A token given on the command line is compared, as a
//! hash, in constant time (`secret::eq`); stored tokens are found by their hash. Neither the token nor its
//! hash is ever logged.

use std::fmt;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::store::{Result as StoreResult, Store, TokenInfo};

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
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether two hashes are equal, compared in constant time (`secret::eq`).
    pub fn matches(&self, other: &Self) -> bool {
        crate::secret::eq(&self.0, &other.0)
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
        token_id: uuid::Uuid::new_v4().to_string(),
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
