//! CSRF protection for the forms of the HTML rooms: OWASP's double-submit cookie, backed by
//! fetch metadata. Each browser gets a random token in a cookie that scripts cannot read and
//! other sites do not send (`HttpOnly`, `SameSite=Strict`); every form repeats it in a hidden
//! field (`csrf_token`: `{% call ui::csrf_field(token) %}{% endcall %}` with the macros of
//! `macros.html`), a script's request in the `x-csrf-token` header. A request with an unsafe
//! method is refused unless the two are equal (compared in constant time) and, when the
//! browser says where the request comes from (`Sec-Fetch-Site`, `Origin`), it comes from this
//! site.
//!
//! The token holds no server state, so any instance of a deployment checks it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::{ErrorPage, cookies};
use crate::extract::{BodyError, read_body};

/// The cookie that holds a browser's token.
pub const COOKIE_NAME: &str = "idc_csrf";
/// The form field that repeats it.
pub const FIELD: &str = "csrf_token";
/// The header that repeats it in a script's request.
pub const HEADER: &str = "x-csrf-token";

/// The token of the browser that sent the request, for the forms of the page: an extractor of
/// the routes behind `web::pages`.
#[derive(Debug, Clone)]
pub struct CsrfToken(Arc<str>);

impl CsrfToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes).into())
    }

    /// The token a request's cookie holds, if it has the form of one.
    fn of_cookie(headers: &HeaderMap) -> Option<Self> {
        cookies::get(headers, COOKIE_NAME)
            .filter(|v| v.len() == 43 && URL_SAFE_NO_PAD.decode(v).is_ok())
            .map(|v| Self(v.into()))
    }

    fn matches(&self, presented: &str) -> bool {
        crate::secret::eq(presented.as_bytes(), self.0.as_bytes())
    }

    fn set_cookie(&self) -> HeaderValue {
        cookies::set(
            cookie::Cookie::build((COOKIE_NAME, self.as_str()))
                .path("/")
                .same_site(cookie::SameSite::Strict),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = ErrorPage;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ErrorPage> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            tracing::error!("a page asked for a CSRF token outside web::pages");
            ErrorPage::internal()
        })
    }
}

/// The middleware: checks unsafe requests, hands the token to the handler, and gives a
/// browser without one its cookie.
pub(super) async fn protect(mut req: Request, next: Next) -> Response {
    let known = CsrfToken::of_cookie(req.headers());
    let token = known.clone().unwrap_or_else(CsrfToken::generate);
    if !req.method().is_safe() {
        if from_another_site(req.headers()) {
            return refused("The request came from another site.");
        }
        let Some(known) = &known else {
            return refused("Your browser sent no form token: enable cookies and reload the page.");
        };
        let (presented, rebuilt) = match presented_token(req).await {
            Ok(found) => found,
            Err(response) => return response,
        };
        if !presented.is_some_and(|p| known.matches(&p)) {
            return refused("The form has expired: reload the page and try again.");
        }
        req = rebuilt;
    }
    req.extensions_mut().insert(token.clone());
    let mut response = next.run(req).await;
    if known.is_none() {
        response
            .headers_mut()
            .append(SET_COOKIE, token.set_cookie());
    }
    response
}

fn refused(message: &str) -> Response {
    ErrorPage::forbidden(message).into_response()
}

/// Whether the browser says that another site sent the request.
fn from_another_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin" && site != "none") {
        return true;
    }
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) if origin != "null" => {
            let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !authority.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

/// The token a request repeats (its header, or the field of its form body), and the request
/// with its body restored.
async fn presented_token(req: Request) -> Result<(Option<String>, Request), Response> {
    if let Some(value) = req.headers().get(HEADER) {
        let presented = value.to_str().ok().map(str::to_owned);
        return Ok((presented, req));
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = read_body(body)
        .await
        .map_err(|e| {
            ErrorPage::for_status(match e {
                BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                BodyError::TimedOut => StatusCode::REQUEST_TIMEOUT,
                BodyError::Failed => StatusCode::BAD_REQUEST,
            })
        })
        .map_err(IntoResponse::into_response)?;
    let presented = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned());
    Ok((presented, Request::from_parts(parts, Body::from(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_cookie_token_is_read_only_in_its_form() {
        let token = CsrfToken::generate();
        let cookie = format!("other=1; {COOKIE_NAME}={}", token.as_str());
        let read = CsrfToken::of_cookie(&headers(&[("cookie", &cookie)])).unwrap();
        assert!(read.matches(token.as_str()));
        assert!(!read.matches(&CsrfToken::generate().0));
        let short = format!("{COOKIE_NAME}=abc");
        assert!(CsrfToken::of_cookie(&headers(&[("cookie", &short)])).is_none());
    }

    #[test]
    fn requests_of_other_sites_are_told_apart() {
        let same = [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        assert!(!from_another_site(&headers(&same)));
        let other = [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ];
        assert!(from_another_site(&headers(&other)));
        assert!(from_another_site(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(!from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!from_another_site(&headers(&[])));
    }
}
