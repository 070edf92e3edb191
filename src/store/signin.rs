//! The persistence of sign-in (migrations `0004_sign_in.sql`): users' password hashes, the
//! clients of SSO OIDC, device and browser authorizations, the tokens they are redeemed for,
//! and the browser sessions of the sign-in pages. One trait, `SignInStore`, which `Store`
//! includes; the SQL is in `sql/signin.rs`.
//!
//! Secrets reach the store hashed: it keeps and looks up hashes, never a secret. Rows die
//! with their tenant, and with their user (foreign keys with cascade), so deleting a user
//! ends their sessions and tokens on every path. Expired rows are purged by the writes that
//! add rows of the same kind.

use async_trait::async_trait;

use super::{Result, Tenant};

/// A client registered with RegisterClient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub client_id: String,
    /// The tenant of the client's issuer URL; `None` for a client registered without one.
    pub tenant_id: Option<String>,
    pub client_name: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// How an authorization is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// RFC 8628: a device code polled for, a user code entered in a browser.
    Device,
    /// RFC 6749 §4.1 with RFC 7636 (PKCE): the browser is sent back with a code.
    Code,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Code => "code",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Device, Self::Code]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// Where an authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationStatus {
    Pending,
    Approved,
    Denied,
}

impl AuthorizationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// Decodes the text columns `flow` and `status`.
pub(super) fn flow_and_status(flow: &str, status: &str) -> Option<(Flow, AuthorizationStatus)> {
    Some((Flow::parse(flow)?, AuthorizationStatus::parse(status)?))
}

/// A device or browser authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRecord {
    /// Random; names the authorization in the URLs of the sign-in pages.
    pub authorization_id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub flow: Flow,
    /// Device flow: the hashes of the device code and of the user code.
    pub device_code_hash: Option<String>,
    pub user_code_hash: Option<String>,
    /// Browser flow, once approved: the hash of the authorization code.
    pub code_hash: Option<String>,
    /// Browser flow: where the browser is sent back, the PKCE challenge, the client's `state`.
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub client_state: Option<String>,
    pub scopes: Vec<String>,
    pub status: AuthorizationStatus,
    /// The user who approved or denied it.
    pub user_id: Option<String>,
    /// Device flow: how often the device may poll, and when it may next.
    pub interval_s: i64,
    pub next_poll_ms: i64,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// How an authorization is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationKey<'a> {
    Id(&'a str),
    DeviceCode { hash: &'a str },
    UserCode { tenant_id: &'a str, hash: &'a str },
    Code { hash: &'a str },
}

/// A user's answer to a pending authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Approved; a browser authorization gets the hash of its code.
    Approve {
        user_id: &'a str,
        code_hash: Option<&'a str>,
    },
    Deny {
        user_id: &'a str,
    },
}

/// An access token with its refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub client_id: String,
    pub access_token_hash: String,
    pub refresh_token_hash: Option<String>,
    pub scopes: Vec<String>,
    pub created_ms: i64,
    pub access_expires_ms: i64,
    /// When the refresh token expires; the row is purged after it.
    pub refresh_expires_ms: i64,
}

/// How a token is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKey<'a> {
    Access(&'a str),
    Refresh(&'a str),
}

/// A browser signed in to a tenant's sign-in pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub tenant_id: String,
    pub user_id: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

#[async_trait]
pub trait SignInStore: Send + Sync {
    /// Sets a user's password hash, or removes it (`None`); `NotFound` for an unknown user.
    async fn set_password(
        &self,
        tenant: &Tenant,
        user_id: &str,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<()>;
    async fn password_hash(&self, tenant: &Tenant, user_id: &str) -> Result<Option<String>>;

    /// Stores a client with the hash of its secret; purges clients expired at `now_ms`.
    async fn create_client(
        &self,
        client: &ClientRecord,
        secret_hash: &str,
        now_ms: i64,
    ) -> Result<()>;
    /// A client and the hash of its secret, expired or not.
    async fn get_client(&self, client_id: &str) -> Result<(ClientRecord, String)>;

    /// Stores an authorization; purges those expired at `purge_before_ms`. A user code taken
    /// in the tenant already, as any other key taken, is `Conflict(Constraint::SignInKey)`.
    async fn create_authorization(
        &self,
        authorization: &AuthorizationRecord,
        purge_before_ms: i64,
    ) -> Result<()>;
    async fn find_authorization(&self, key: AuthorizationKey<'_>) -> Result<AuthorizationRecord>;
    /// Records a decision on an authorization that is pending and unexpired at `now_ms`;
    /// `NotFound` otherwise.
    async fn decide_authorization(
        &self,
        authorization_id: &str,
        decision: Decision<'_>,
        now_ms: i64,
    ) -> Result<()>;
    /// Records a poll of a device: the next poll allowed and the interval, if no other poll
    /// was recorded since the one that allowed `seen_next_poll_ms`. Answers whether it was.
    async fn record_poll(
        &self,
        authorization_id: &str,
        seen_next_poll_ms: i64,
        next_poll_ms: i64,
        interval_s: i64,
    ) -> Result<bool>;
    /// Redeems an approved authorization for a token, once: the authorization is deleted and
    /// the token stored in one transaction; `NotFound` if it was redeemed already.
    async fn redeem_authorization(&self, authorization_id: &str, token: &TokenRecord)
    -> Result<()>;

    /// A token by the hash of its access or refresh token, expired or not.
    async fn find_token(&self, key: TokenKey<'_>) -> Result<TokenRecord>;
    /// Replaces a token (a refresh): `NotFound` if it is gone (used or logged out).
    async fn replace_token(&self, token_id: &str, new: &TokenRecord) -> Result<()>;
    /// Deletes a token: its access and refresh tokens stop working at once.
    async fn revoke_token(&self, token_id: &str) -> Result<()>;

    /// Stores a browser session under the hash of its cookie; purges expired sessions.
    async fn create_session(&self, session_hash: &str, session: &SessionRecord) -> Result<()>;
    /// A session of the tenant by the hash of its cookie, expired or not.
    async fn get_session(&self, tenant_id: &str, session_hash: &str) -> Result<SessionRecord>;
    async fn delete_session(&self, session_hash: &str) -> Result<()>;
}
