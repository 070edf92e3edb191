//! The console's session: signing in with the admin credential gives the browser a signed
//! cookie, which every other page of the console asks for.
//!
//! The cookie holds no server state: `v1.{expires_ms}.{nonce}.{mac}`, where the MAC is
//! HMAC-SHA256 under a key derived from the admin credential (`TokenHash::derive_key`). So
//! any instance of a deployment that shares the credential accepts it, a restart keeps people
//! signed in, and changing the credential signs everyone out. Signing out removes the cookie
//! from the browser; a copy of it kept elsewhere stays valid until it expires, which is why it
//! lives for hours, not weeks. A cookie also lets whoever holds it test guesses of the
//! credential offline, so the credential must be a long random secret, as the admin API needs
//! it to be anyway. The cookie is `HttpOnly`, `SameSite=Strict`, and sent to `/console` only;
//! forms are CSRF-protected by `web::pages` besides.

use askama::Template;
use axum::Form;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::CookieBuilder;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::Sha256;

use crate::auth::TokenHash;
use crate::secret;
use crate::state::SharedState;
use crate::web::{CsrfToken, ErrorPage, cookies, html, see_other};

/// The name of the session cookie.
pub const COOKIE_NAME: &str = "idc_console";

/// How long a session lasts: a working day.
pub const LIFETIME_MS: i64 = 12 * 60 * 60 * 1000;

/// Where the console starts, and where signing in leads unless a page was asked for.
pub const HOME: &str = "/console/instances";

/// The key sessions are signed with.
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// The key of an admin credential.
    pub fn of(admin: &TokenHash) -> Self {
        Self(admin.derive_key("idc-scim console session v1"))
    }

    /// The key of the configured admin credential; none without one (then the console does
    /// not exist).
    fn of_state(state: &SharedState) -> Option<Self> {
        state.admin_token.as_ref().map(Self::of)
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any size");
        mac.update(payload.as_bytes());
        mac
    }

    /// A new session's cookie value, valid until `expires_ms`.
    pub fn issue(&self, expires_ms: i64) -> String {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let payload = format!("v1.{expires_ms}.{}", URL_SAFE_NO_PAD.encode(nonce));
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether a cookie value is a session this key signed that has not expired at `now_ms`.
    /// The MAC is compared with `secret::eq`, in constant time.
    pub fn verify(&self, value: &str, now_ms: i64) -> bool {
        let Some((payload, tag)) = value.rsplit_once('.') else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        if !secret::eq(&tag, &self.mac(payload).finalize().into_bytes()) {
            return false;
        }
        let mut parts = payload.split('.');
        let expires = match (parts.next(), parts.next()) {
            (Some("v1"), Some(expires)) => expires.parse::<i64>().ok(),
            _ => None,
        };
        expires.is_some_and(|expires| now_ms < expires)
    }
}

fn session_cookie(value: &str, max_age: cookie::time::Duration) -> CookieBuilder<'_> {
    cookie::Cookie::build((COOKIE_NAME, value))
        .path("/console")
        .same_site(cookie::SameSite::Strict)
        .max_age(max_age)
}

/// The middleware of every page but the sign-in page: without a valid session, a page is
/// answered with the sign-in page's address (and the page to return to), anything else
/// with 401.
pub async fn require(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let now = state.clock.now_ms();
    let key = SessionKey::of_state(&state);
    let value = cookies::get(req.headers(), COOKIE_NAME);
    if let (Some(key), Some(value)) = (key, value)
        && key.verify(&value, now)
    {
        return next.run(req).await;
    }
    if req.method() == Method::GET || req.method() == Method::HEAD {
        let wanted = req.uri().path_and_query().map_or(HOME, |pq| pq.as_str());
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", wanted)
            .finish();
        return see_other(&format!("/console/sign-in?{query}"));
    }
    ErrorPage::new(
        StatusCode::UNAUTHORIZED,
        "Signed out",
        "Your session has ended: sign in again, then repeat what you did.",
    )
    .into_response()
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    csrf: CsrfToken,
    next: String,
    error: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

/// A page of the console to return to, or the console's start.
fn return_to(next: Option<String>) -> String {
    next.filter(|n| (n == "/console" || n.starts_with("/console/")) && !n.contains('\\'))
        .unwrap_or_else(|| HOME.to_owned())
}

/// `GET /console/sign-in`.
pub async fn sign_in_page(
    csrf: CsrfToken,
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
) -> Response {
    let page = SignInPage {
        csrf,
        next: return_to(query.next),
        error: None,
    };
    html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    credential: String,
    next: Option<String>,
}

/// `POST /console/sign-in`: the admin credential, compared as a hash in constant time.
pub async fn sign_in(
    State(state): State<SharedState>,
    csrf: CsrfToken,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = return_to(form.next);
    let presented = TokenHash::of(form.credential.trim());
    let key = state
        .admin_token
        .as_ref()
        .filter(|expected| expected.matches(&presented))
        .map(SessionKey::of);
    let Some(key) = key else {
        let page = SignInPage {
            csrf,
            next,
            error: Some("That is not the admin credential."),
        };
        return html(StatusCode::UNAUTHORIZED, &page);
    };
    let value = key.issue(state.clock.now_ms() + LIFETIME_MS);
    let max_age = cookie::time::Duration::milliseconds(LIFETIME_MS);
    cookies::see_other_setting(&next, session_cookie(&value, max_age))
}

/// `POST /console/sign-out`: the browser forgets its session.
pub async fn sign_out() -> Response {
    let forgotten = session_cookie("", cookie::time::Duration::ZERO);
    cookies::see_other_setting("/console/sign-in", forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_valid_under_its_key_until_it_expires() {
        let key = SessionKey::of(&TokenHash::of("admin"));
        let value = key.issue(1_000);
        assert!(key.verify(&value, 999));
        assert!(!key.verify(&value, 1_000), "expired");
        let other = SessionKey::of(&TokenHash::of("another admin"));
        assert!(!other.verify(&value, 0), "another credential's key");
        let (payload, tag) = value.rsplit_once('.').unwrap();
        let later = payload.replacen("1000", "9999", 1);
        assert!(
            !key.verify(&format!("{later}.{tag}"), 0),
            "a changed expiry"
        );
        for bad in ["", "v1", "v1.1000.x.", "....", "v1.1000.abc.%%%"] {
            assert!(!key.verify(bad, 0), "{bad:?}");
        }
        assert_ne!(key.issue(1_000), value, "each session is its own");
    }

    #[test]
    fn only_pages_of_the_console_are_returned_to() {
        let to = |n: &str| return_to(Some(n.to_owned()));
        assert_eq!(to("/console/instances/acme"), "/console/instances/acme");
        for away in [
            "https://evil.example",
            "//evil.example",
            "/consoles",
            "/admin",
            "/console\\x",
        ] {
            assert_eq!(to(away), HOME, "{away}");
        }
        assert_eq!(return_to(None), HOME);
    }
}
