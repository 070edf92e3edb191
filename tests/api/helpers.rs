//! The test harness: a fresh tenant on a real database per test, and in-process requests.
//!
//! The backend is SQLite in memory unless `IDC_SCIM_TEST_DATABASE_URL` names another
//! database (CI sets it to a PostgreSQL database created for the run). Each test works in a
//! tenant of its own, so tests can share one PostgreSQL database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use idc_scim::app::build_router;
use idc_scim::auth::{TokenHash, issue_token};
use idc_scim::aws::sigv4::{self, Scope, SignedRequest};
use idc_scim::clock::{Clock, ManualClock};
use idc_scim::state::{AppState, SharedState};
use idc_scim::store::{self, Store, Tenant};
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-01-01T00:00:00Z: tests run on a clock they move themselves.
pub const START_MS: i64 = 1_767_225_600_000;

/// The admin API credential of test apps.
pub const ADMIN_TOKEN: &str = "test-admin-credential";

pub async fn test_store() -> Arc<dyn Store> {
    match std::env::var("IDC_SCIM_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => store::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("IDC_SCIM_TEST_DATABASE_URL is set but unusable: {e:#}")),
        _ => store::connect("sqlite::memory:")
            .await
            .expect("sqlite memory"),
    }
}

/// Two stores on one database, as two servers (or a server and the command line) have: the
/// test database when one is set, else a SQLite file (in the directory answered with them).
pub async fn two_stores() -> (Arc<dyn Store>, Arc<dyn Store>, Option<TempDir>) {
    let (url, dir) = match std::env::var("IDC_SCIM_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let dir = TempDir::new();
            (dir.sqlite_url("shared.db"), Some(dir))
        }
    };
    let first = store::connect(&url).await.unwrap();
    let second = store::connect(&url).await.unwrap();
    (first, second, dir)
}

/// Waits until `holds` does, for at most `limit`; panics if it never does.
pub async fn eventually(limit: Duration, what: &str, mut holds: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !holds().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long another process's change may take to reach a store (a quarter of a second), with
/// room for a busy machine.
pub const ELSEWHERE: Duration = Duration::from_secs(3);

/// A directory of its own for a test, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("idc-scim-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// The URL of a SQLite database file in the directory.
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct TestApp {
    pub router: Router,
    pub state: SharedState,
    pub clock: Arc<ManualClock>,
    pub tenant: Tenant,
    pub token: String,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response whose body is text: a page, an asset.
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A new tenant with one stored token.
pub async fn add_tenant(store: &Arc<dyn Store>) -> (Tenant, String) {
    let tenant = Tenant::generate();
    store.create_tenant(&tenant, START_MS).await.unwrap();
    let (_, token) = issue_token(store.as_ref(), &tenant.tenant_id, START_MS)
        .await
        .unwrap();
    (tenant, token)
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_store(test_store().await).await
    }

    pub async fn with_store(store: Arc<dyn Store>) -> Self {
        Self::configured(store, |state| state).await
    }

    /// A test app whose state the test sets up: `configure` gets the default test state (the
    /// admin credential `ADMIN_TOKEN`, the rest at `AppState::new`'s defaults).
    pub async fn with(configure: impl FnOnce(AppState) -> AppState) -> Self {
        Self::configured(test_store().await, configure).await
    }

    /// A test app on `store` whose state the test sets up, as `with`.
    pub async fn configured(
        store: Arc<dyn Store>,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> Self {
        let (tenant, token) = add_tenant(&store).await;
        let clock = Arc::new(ManualClock::new(START_MS));
        let state = Arc::new(configure(AppState {
            admin_token: Some(TokenHash::of(ADMIN_TOKEN)),
            ..AppState::new(store, tenant.clone(), clock.clone() as Arc<dyn Clock>)
        }));
        Self {
            router: build_router(state.clone()),
            state,
            clock,
            tenant,
            token,
        }
    }

    /// The SCIM base path of this test's tenant.
    pub fn base(&self) -> String {
        format!("/{}/scim/v2", self.tenant.tenant_id)
    }

    /// Sends a request to `path` below the tenant's base, with the token and a JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base()))
            .header("authorization", format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/scim+json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        respond(self.router.clone(), req).await
    }

    /// Sends one PATCH of `path` per list of operations, all at once (each on a task of its
    /// own); the answers come in the order of `operations`.
    pub async fn race_patches(&self, path: &str, operations: Vec<Value>) -> Vec<TestResponse> {
        let requests = operations
            .into_iter()
            .map(|ops| {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": ops,
                });
                Request::patch(format!("{}{path}", self.base()))
                    .header("authorization", format!("Bearer {}", self.token))
                    .header("content-type", "application/scim+json")
                    .body(Body::from(body.to_string()))
                    .unwrap()
            })
            .collect();
        self.race(requests).await
    }

    /// Sends `requests` all at once (each on a task of its own); the answers come in their
    /// order.
    pub async fn race(&self, requests: Vec<Request<Body>>) -> Vec<TestResponse> {
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|req| tokio::spawn(respond(self.router.clone(), req)))
            .collect();
        let mut responses = Vec::with_capacity(tasks.len());
        for task in tasks {
            responses.push(task.await.unwrap());
        }
        responses
    }

    /// Sends a request and keeps the body as text (pages, assets).
    pub async fn send_raw(&self, req: Request<Body>) -> RawResponse {
        respond_raw(self.router.clone(), req).await
    }

    /// Sends a request to the admin API (`/admin{path}`) with the admin credential and a JSON
    /// body.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/admin{path}"))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, ops: Value) -> TestResponse {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops,
        });
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// Creates a user and returns its body.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let r = self.post("/Users", user_body(user_name)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// Creates a user and returns its id.
    pub async fn user_id(&self, user_name: &str) -> String {
        self.create_user(user_name).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `totalResults` of `GET /Users` (with an optional filter).
    pub async fn user_count(&self) -> i64 {
        let r = self.get("/Users").await;
        assert_eq!(r.status, StatusCode::OK);
        r.body["totalResults"].as_i64().unwrap()
    }
}

async fn respond(router: Router, req: Request<Body>) -> TestResponse {
    let RawResponse {
        status,
        headers,
        text,
    } = respond_raw(router, req).await;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    TestResponse {
        status,
        headers,
        body,
    }
}

async fn respond_raw(router: Router, req: Request<Body>) -> RawResponse {
    let response = router.oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    RawResponse {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).expect("a UTF-8 body"),
    }
}

const ENTERPRISE_PATH: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:";

/// Attributes of a user that take any string, as PATCH paths.
pub const USER_STRING_PATHS: [&str; 20] = [
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "externalId",
    "name.formatted",
    "name.familyName",
    "name.givenName",
    "name.middleName",
    "name.honorificPrefix",
    "name.honorificSuffix",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
];

/// The value a PATCH path of `USER_STRING_PATHS` names in a user body.
pub fn value_at<'v>(user: &'v Value, path: &str) -> &'v Value {
    match path.strip_prefix(ENTERPRISE_PATH) {
        Some(attr) => &user[&ENTERPRISE_PATH[..ENTERPRISE_PATH.len() - 1]][attr],
        None => path.split('.').fold(user, |v, key| &v[key]),
    }
}

/// `count` PATCHes that replace one attribute each, cycling through `paths`, each with a value
/// of its own: the path and the value of each, and the operations of each.
pub fn replacements(
    paths: &[&'static str],
    count: usize,
) -> (Vec<(&'static str, Value)>, Vec<Value>) {
    let changes: Vec<(&str, Value)> = (0..count)
        .map(|i| (paths[i % paths.len()], json!(format!("v{i}"))))
        .collect();
    let operations = changes
        .iter()
        .map(|(path, value)| json!([{"op": "replace", "path": path, "value": value}]))
        .collect();
    (changes, operations)
}

/// A filter or other query value, URL-encoded.
pub fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A user body as identity providers send it.
pub fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "displayName": "Jane Doe",
        "emails": [{"value": format!("{user_name}.mail@example.com"), "type": "work", "primary": true}],
        "active": true,
    })
}

/// Asserts AWS's error body with this status and a detail containing `detail`, which must
/// name something: AWS's details are part of what is emulated.
#[track_caller]
pub fn assert_error(r: &TestResponse, status: u16, detail: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let b = &r.body;
    let urn = json!(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    assert_eq!(b["schema"], urn);
    assert_eq!(b["schemas"], urn);
    let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "detail",
            "exceptionRequestId",
            "schema",
            "schemas",
            "status",
            "timeStamp"
        ],
        "AWS's members and no others"
    );
    assert_eq!(b["status"], json!(status.to_string()));
    assert!(!detail.is_empty(), "name the expected detail");
    let d = b["detail"].as_str().unwrap_or_default();
    assert!(
        d.contains(detail),
        "detail {d:?} does not contain {detail:?}"
    );
    let request_id = r.header("x-amzn-requestid").expect("request id header");
    assert_eq!(b["exceptionRequestId"], json!(request_id));
    // `2026-05-27 00:37:52.16`: the milliseconds without trailing zeros, one digit at least.
    let ts = b["timeStamp"].as_str().unwrap();
    let (_, fraction) = ts.rsplit_once('.').expect("a fraction of a second");
    assert!(
        chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f").is_ok()
            && (1..=3).contains(&fraction.len())
            && (fraction == "0" || !fraction.ends_with('0')),
        "timeStamp {ts}"
    );
}

/// A browser in process: keeps the cookies the pages set, sends them back, and posts forms
/// with the CSRF token of its cookie as the pages' forms do.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: std::collections::BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: Default::default(),
        }
    }

    /// A cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    async fn send(&mut self, req: axum::http::request::Builder, body: Body) -> RawResponse {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut req = req.header("host", "localhost");
        if !cookie.is_empty() {
            req = req.header("cookie", cookie.join("; "));
        }
        let response = self.app.send_raw(req.body(body).unwrap()).await;
        for set in response.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    pub async fn get(&mut self, path: &str) -> RawResponse {
        self.send(Request::builder().uri(path), Body::empty()).await
    }

    /// Posts a form with the CSRF token (taken from a page first if the browser has none).
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> RawResponse {
        if self.cookie("idc_csrf").is_none() {
            self.get(path).await;
        }
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf_token", self.cookie("idc_csrf").unwrap_or_default());
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded");
        self.send(req, Body::from(form.finish())).await
    }
}

/// The access key of test requests to the AWS JSON APIs.
pub const AKID: &str = "AKIDEXAMPLE";
/// Its secret.
pub const SECRET: &str = "secret";

/// An AWS JSON 1.1 request with `X-Amz-Target: {target}`, signed for `service` with `secret` at
/// `date_ms`, as the AWS SDKs sign it.
pub fn signed_aws(
    target: &str,
    service: &str,
    body: &Value,
    secret: &str,
    date_ms: i64,
) -> Request<Body> {
    let scope = Scope {
        region: "us-east-1",
        service,
    };
    signed_aws_as(target, body, (AKID, secret), date_ms, scope)
}

/// An AWS JSON 1.1 request with `X-Amz-Target: {target}`, signed with the access key
/// `(id, secret)` at `date_ms` for `scope`.
pub fn signed_aws_as(
    target: &str,
    body: &Value,
    (access_key_id, secret): (&str, &str),
    date_ms: i64,
    scope: Scope<'_>,
) -> Request<Body> {
    let body = body.to_string();
    let date = chrono::DateTime::from_timestamp_millis(date_ms)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut headers = HeaderMap::new();
    headers.insert("host", "localhost".parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    headers.insert("x-amz-target", target.parse().unwrap());
    headers.insert("x-amz-date", date.parse().unwrap());
    let auth = sigv4::sign(
        SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        },
        &date,
        scope,
        access_key_id,
        secret,
    );
    let mut req = Request::builder().method("POST").uri("/");
    for (name, value) in &headers {
        req = req.header(name, value);
    }
    req.header("authorization", auth)
        .body(Body::from(body))
        .unwrap()
}

/// Asserts a 200 with the AWS JSON 1.1 content type and returns the body.
#[track_caller]
pub fn ok(r: TestResponse) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    r.body
}

/// Asserts an AWS JSON error: status, `__type`, `x-amzn-ErrorType`, content type.
#[track_caller]
pub fn assert_aws_error(r: &TestResponse, status: u16, kind: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["__type"], json!(kind), "{}", r.body);
    assert_eq!(r.header("x-amzn-errortype"), Some(kind));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert!(
        r.body.get("schema").is_none(),
        "not a SCIM error body: {}",
        r.body
    );
    // Every error says something: the AWS CLI prints the Message.
    let message = r.body["Message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "no Message: {}", r.body);
}
