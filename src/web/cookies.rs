//! The cookies of the HTML rooms (the CSRF token, the console's session, the sign-in session
//! of a tenant's pages), read from a request and written `HttpOnly` (RFC 6265 §4.1): no script
//! of a page ever needs one, so none can read one.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use cookie::{Cookie, CookieBuilder};

use super::see_other;

/// The value of the cookie `name` that a request carries, if any.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The `Set-Cookie` value of a cookie, made `HttpOnly`; the caller sets its path, its
/// `SameSite` and how long it lasts. Our cookies hold URL-safe text only, so a value that is
/// no header value is a bug.
pub fn set(cookie: CookieBuilder<'_>) -> HeaderValue {
    let cookie = cookie.http_only(true).build();
    HeaderValue::from_str(&cookie.to_string())
        .expect("a cookie of URL-safe parts is a header value")
}

/// A 303 to `location` that sets a cookie: what signing in and out answer.
pub fn see_other_setting(location: &str, cookie: CookieBuilder<'_>) -> Response {
    let mut response = see_other(location);
    response.headers_mut().append(SET_COOKIE, set(cookie));
    response
}
