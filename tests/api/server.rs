//! Against a real server on port 0: the wire headers and graceful shutdown.

use std::time::Duration;

use idc_scim::app::serve;
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::{TestApp, user_body};

#[tokio::test]
async fn a_real_server_answers_with_aws_headers_and_shuts_down_gracefully() {
    let app = TestApp::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let base = format!("http://{addr}{}", app.base());
    let r = client
        .post(format!("{base}/Users"))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(user_body("wire@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let headers = r.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.contains_key("date"));
    let location = headers["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{base}/Users/")),
        "{location}"
    );
    let request_id = headers["x-amzn-requestid"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["meta"]["location"], json!(location));

    // The Location header is a working URL.
    let r = client
        .get(&location)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = client.get(format!("{base}/Users")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "401");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops after the shutdown signal")
        .unwrap()
        .unwrap();
    assert!(
        client
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .is_err()
    );
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_the_request_but_never_the_token() {
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new().await;
    let created = app.post("/Users", user_body("logged@example.com")).await;
    assert_eq!(created.status, 201);
    let wrong = axum::http::Request::get(format!("{}/Users", app.base()))
        .header("authorization", "Bearer not-the-token-0123456789")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(wrong).await.status, 401);

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let request_id = created.header("x-amzn-requestid").unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains(request_id) && l.contains("status=201"))
        .unwrap_or_else(|| panic!("no log line for the request:\n{logs}"));
    assert!(line.contains("method=POST"), "{line}");
    assert!(line.contains("route=\"/{tenant}/scim/v2/Users\""), "{line}");
    assert!(line.contains("latency_ms="), "{line}");
    assert!(logs.contains("status=401"));
    assert!(!logs.contains(&app.token), "the token was logged");
    assert!(
        !logs.contains("not-the-token-0123456789"),
        "a presented token was logged"
    );
}
