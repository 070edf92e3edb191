//! Sign-in like the AWS access portal: the domain of SSO OIDC (AWS's `sso-oidc` service,
//! API version 2019-06-10: client registration, the device authorization grant of RFC 8628,
//! the authorization code grant with PKCE of RFC 6749 §4.1 and RFC 7636, refresh tokens),
//! the users who sign in (`users`: passwords, browser sessions) and what a signed-in user
//! reaches (`portal`: AWS's `sso` service, 2019-06-10). Called by the rooms `oidc` (the API and
//! the sign-in pages), `portal` and `admin`.
//!
//! Every secret is made here, handed out once, and kept as a hash (`secrets`).

pub mod oidc;
pub mod portal;
pub mod secrets;
pub mod users;

use crate::store::StoreError;

/// How long a client registration lasts: 90 days, as AWS's.
pub const CLIENT_LIFETIME_MS: i64 = 90 * 24 * 3600 * 1000;
/// How long an authorization waits for its user: 10 minutes, as AWS's.
pub const AUTHORIZATION_LIFETIME_MS: i64 = 600 * 1000;
/// How often a device may poll (AWS answers 1 second), and by how much `slow_down` makes it
/// wait longer (RFC 8628 §3.5).
pub const POLL_INTERVAL_S: i64 = 1;
pub const SLOW_DOWN_STEP_S: i64 = 5;
/// How long an access token works when a refresh token comes with it.
pub const ACCESS_TOKEN_LIFETIME_MS: i64 = 3600 * 1000;
/// How long a sign-in lasts (IAM Identity Center's default session duration, 8 hours): a
/// refresh token, an access token without one, a browser session.
pub const SESSION_LIFETIME_MS: i64 = 8 * 3600 * 1000;

/// The path of a tenant's start URL (`https://d-xxxxxxxxxx.awsapps.com/start` at AWS).
pub fn start_path(tenant_id: &str) -> String {
    format!("/{tenant_id}/start")
}

/// The tenant a start URL names: `{scheme}://{host}/{tenant}/start`, with or without a
/// trailing `/` or `#...` as the AWS console shows start URLs. The host is not checked: a
/// server is reached under many names.
pub fn tenant_of_start_url(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let path = &rest[rest.find('/')?..];
    let path = path.split(['#', '?']).next()?.trim_end_matches('/');
    let tenant = path.strip_prefix('/')?.strip_suffix("/start")?;
    (!tenant.is_empty() && !tenant.contains('/')).then_some(tenant)
}

/// A store failure that no request can cause: logged, answered as an internal error.
fn internal<E: From<Internal>>(e: StoreError) -> E {
    tracing::error!(error = ?e, "store failure");
    E::from(Internal)
}

/// An internal failure, already logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Internal;

#[cfg(test)]
mod tests {
    use super::tenant_of_start_url;

    #[test]
    fn start_urls_name_their_tenant() {
        for url in [
            "http://127.0.0.1:8080/acme/start",
            "http://localhost/acme/start/",
            "https://sso.example/acme/start/#",
            "http://h/acme/start#/",
        ] {
            assert_eq!(tenant_of_start_url(url), Some("acme"), "{url}");
        }
        for url in [
            "http://h/start",
            "http://h/a/b/start",
            "http://h/acme/begin",
            "acme/start",
            "http://h",
        ] {
            assert_eq!(tenant_of_start_url(url), None, "{url}");
        }
    }
}
