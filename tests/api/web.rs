//! The web layer of the HTML rooms: embedded assets, HTML error pages, the headers of pages
//! and CSRF protection, through a small router of test pages behind `web::pages`.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use idc_scim::scim::ScimError;
use idc_scim::web::{self, CsrfToken, Html};
use tower::ServiceExt;

use crate::helpers::{RawResponse, TestApp};

#[derive(Template)]
#[template(
    source = r#"{% import "macros.html" as ui %}<form method="post">{% call ui::csrf_field(csrf.as_str()) %}{% endcall %}</form>"#,
    ext = "html"
)]
struct FormPage {
    csrf: CsrfToken,
}

/// Test pages behind the web layer, in the standard stack: a form, what it posts to, and a
/// handler that fails with an API error.
async fn pages() -> Router {
    let app = TestApp::new().await;
    let routes = Router::new()
        .route(
            "/form",
            get(|csrf: CsrfToken| async { Html(FormPage { csrf }) }).post(|| async { "accepted" }),
        )
        .route(
            "/fail",
            get(|| async { ScimError::NotFound("no such thing".into()) }),
        );
    idc_scim::middleware::wrapped(web::pages(routes), app.state.clone())
}

async fn send(router: &Router, req: Request<Body>) -> RawResponse {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    RawResponse {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn post(cookie: Option<&str>, body: &str, origin: Option<&str>) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/form")
        .header("host", "localhost")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn assets_are_served_from_the_binary_with_an_etag() {
    let app = TestApp::new().await;
    let get = |path: &str, etag: Option<&str>| {
        let mut req = Request::builder().uri(path);
        if let Some(etag) = etag {
            req = req.header("if-none-match", etag);
        }
        req.body(Body::empty()).unwrap()
    };
    let css = app.send_raw(get("/assets/style.css", None)).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text.contains(".topbar"), "{}", css.text);
    let etag = css.header("etag").unwrap().to_owned();
    let again = app.send_raw(get("/assets/style.css", Some(&etag))).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let js = app.send_raw(get("/assets/app.js", None)).await;
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.text.contains("data-copy"));
    assert_ne!(js.header("etag").unwrap(), etag);
    let missing = app.send_raw(get("/assets/nothing.css", None)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[tokio::test]
async fn a_form_posts_only_with_its_browsers_token() {
    let router = pages().await;
    let page = send(&router, Request::get("/form").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let set_cookie = page.header("set-cookie").unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let token = cookie.split_once('=').unwrap().1.to_owned();
    assert!(
        page.text
            .contains(&format!(r#"name="csrf_token" value="{token}""#)),
        "{}",
        page.text
    );

    // The cookie is known: no new one is set.
    let mut req = Request::get("/form").body(Body::empty()).unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    assert!(send(&router, req).await.header("set-cookie").is_none());

    let ok = send(
        &router,
        post(Some(&cookie), &format!("csrf_token={token}&a=1"), None),
    )
    .await;
    assert_eq!((ok.status, ok.text.as_str()), (StatusCode::OK, "accepted"));
    let same_origin = post(
        Some(&cookie),
        &format!("csrf_token={token}"),
        Some("http://localhost"),
    );
    assert_eq!(send(&router, same_origin).await.status, StatusCode::OK);

    for (cookie, body, origin) in [
        (None, format!("csrf_token={token}"), None),
        (Some(cookie.as_str()), "a=1".to_owned(), None),
        (Some(cookie.as_str()), "csrf_token=forged".to_owned(), None),
        (
            Some(cookie.as_str()),
            format!("csrf_token={token}"),
            Some("http://evil.example"),
        ),
    ] {
        let refused = send(&router, post(cookie, &body, origin)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{body} {origin:?}");
        assert_eq!(
            refused.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(refused.text.contains("Access denied"), "{}", refused.text);
    }
}

#[tokio::test]
async fn errors_of_pages_are_html_pages_with_the_request_id() {
    let router = pages().await;
    let failed = send(&router, Request::get("/fail").body(Body::empty()).unwrap()).await;
    assert_eq!(failed.status, StatusCode::NOT_FOUND);
    assert_eq!(
        failed.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let request_id = failed.header("x-amzn-requestid").unwrap();
    assert!(failed.text.contains(request_id), "{}", failed.text);
    assert!(failed.text.contains("Page not found"));
    let wrong_method = send(
        &router,
        Request::delete("/form").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(wrong_method.status.is_client_error());
    assert_eq!(
        wrong_method.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}
