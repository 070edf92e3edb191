//! The standard middleware: request ids, error bodies from every layer (a panic, the body
//! limit, a timeout, axum's own rejections), the admin API's errors.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use idc_scim::config::LogFormat;
use idc_scim::controls::Controls;
use idc_scim::controls::faults::FaultSpec;
use idc_scim::middleware;
use idc_scim::state::AppState;
use idc_scim::telemetry;
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::helpers::{ADMIN_TOKEN, TestApp, TestResponse, assert_error, user_body};

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The logs (info and above) of the whole test binary, captured by a global subscriber set once: a
/// subscriber set for one thread races with the interest that other threads' tests cache for
/// the same call sites.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let filter = tracing_subscriber::EnvFilter::new("info");
        telemetry::subscriber(LogFormat::Pretty, filter, move || writer.clone(), false).init();
        logs
    })
}

#[tokio::test]
async fn a_panicking_handler_is_answered_500_with_the_request_id_and_logged_with_its_cause() {
    let app = TestApp::new().await;
    async fn breaks() -> &'static str {
        panic!("the handler broke on purpose");
    }
    let boom = Router::new().route("/boom", get(breaks));
    let router = middleware::wrapped(boom, app.state.clone());
    let logs = logs();

    let response = router
        .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let r = TestResponse {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap(),
    };
    assert_error(&r, 500, "Service failed to process the request.");
    let request_id = r.header("x-amzn-requestid").unwrap();
    let logs = logs.text();
    let line = logs
        .lines()
        .find(|l| l.contains("handler panicked") && l.contains(request_id))
        .unwrap_or_else(|| panic!("no log of the panic:\n{logs}"));
    assert!(line.contains("the handler broke on purpose"), "{line}");
    assert!(line.contains(request_id), "{line}");
}

#[tokio::test]
async fn the_request_id_is_the_servers_own() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Request::get(format!("{}/Users", app.base()))
                .header("authorization", format!("Bearer {}", app.token))
                .header("x-amzn-requestid", "chosen-by-the-client")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let id = r.header("x-amzn-requestid").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

/// A POST whose `Content-Length` announces more than the limit.
fn oversized(uri: &str, token: Option<&str>, content_type: &str) -> Request<Body> {
    let body = vec![b' '; 1024 * 1024 + 1];
    let mut req = Request::post(uri)
        .header("content-type", content_type)
        .header("content-length", body.len());
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn a_body_over_the_limit_gets_the_error_body_of_its_api() {
    let app = TestApp::new().await;
    let uri = format!("{}/Users", app.base());
    let r = app
        .send(oversized(&uri, Some(&app.token), "application/scim+json"))
        .await;
    assert_error(&r, 413, "Request body is larger than the limit.");
    let r = app
        .send(oversized(&uri, None, "application/scim+json"))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    let r = app
        .send(oversized("/", None, "application/x-amz-json-1.1"))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert_eq!(r.body["__type"], "ValidationException");
    assert_eq!(r.header("x-amzn-errortype"), Some("ValidationException"));

    let r = app
        .send(oversized(
            "/admin/tenants",
            Some(ADMIN_TOKEN),
            "application/json",
        ))
        .await;
    assert_error(&r, 413, "Request body is larger than the limit.");
}

#[tokio::test]
async fn a_request_that_outlasts_the_timeout_is_answered_503_with_aws_body() {
    let controls = Controls::default();
    let slow: FaultSpec = "GET /Users latency=5000".parse().unwrap();
    controls.faults.add(slow).unwrap();
    let app = TestApp::with(|state| AppState {
        controls,
        request_timeout: Duration::from_millis(200),
        ..state
    })
    .await;
    let r = app.get("/Users").await;
    assert_error(&r, 503, "Service Unavailable");
}

#[tokio::test]
async fn head_requests_get_headers_only() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Request::head(format!("{}/Users", app.base()))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body, Value::Null);
}

#[tokio::test]
async fn the_admin_api_answers_bad_paths_and_queries_with_its_error_body() {
    let app = TestApp::new().await;
    let r = app
        .admin(Method::DELETE, "/faults/not-a-number", None)
        .await;
    assert_error(&r, 400, "Invalid path");
    let journal = format!("/tenants/{}/journal?status=teapot", app.tenant.tenant_id);
    let r = app.admin(Method::GET, &journal, None).await;
    assert_error(&r, 400, "Invalid query");
    let r = app.admin(Method::PUT, "/tenants", Some(json!({}))).await;
    assert_error(&r, 400, "The operation is not supported.");
}

#[tokio::test]
async fn a_database_failure_in_the_admin_api_is_a_logged_500_not_a_404() {
    let app = TestApp::new().await;
    app.create_user("kept@example.com").await;
    app.state.store.close().await;
    for path in [
        format!("/tenants/{}", app.tenant.tenant_id),
        format!("/tenants/{}/journal", app.tenant.tenant_id),
        format!("/tenants/{}/export", app.tenant.tenant_id),
    ] {
        let r = app.admin(Method::GET, &path, None).await;
        assert_error(&r, 500, "Service failed to process the request.");
    }
    let r = app.post("/Users", user_body("lost@example.com")).await;
    assert_error(&r, 500, "Service failed to process the request.");
}
