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
    assert_eq!(body["id"], json!(location.rsplit('/').next().unwrap()));

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

const ADMIN: &str = "binary-admin-credential";

/// The `idc-scim` binary, started with a known token on a fresh SQLite file.
pub struct Binary {
    child: std::process::Child,
    pub stdout: String,
    dir: std::path::PathBuf,
}

impl Binary {
    pub fn start(token: &str) -> Self {
        Self::start_with(token, |_| Vec::new())
    }

    /// Starts the binary with more arguments, which may name files in its directory.
    pub fn start_with(token: &str, extra: impl FnOnce(&std::path::Path) -> Vec<String>) -> Self {
        let dir = std::env::temp_dir().join(format!("idc-scim-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::start_in(dir, token, extra)
    }

    /// Starts the binary on the database in `dir`.
    fn start_in(
        dir: std::path::PathBuf,
        token: &str,
        extra: impl FnOnce(&std::path::Path) -> Vec<String>,
    ) -> Self {
        use std::io::{BufRead, BufReader};
        let mut extra = extra(&dir);
        if !extra.iter().any(|a| a == "--listen") {
            extra.extend(["--listen".into(), "127.0.0.1:0".into()]);
        }
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_idc-scim"));
        // The secrets in the environment, unless the test gives them in files.
        for (flag, var, value) in [
            ("--token-file", "IDC_SCIM_TOKEN", token),
            ("--admin-token-file", "IDC_SCIM_ADMIN_TOKEN", ADMIN),
        ] {
            if !extra.iter().any(|a| a == flag) {
                command.env(var, value);
            }
        }
        let mut child = command
            .arg("serve")
            .args(extra)
            .env("IDC_SCIM_LOG_FORMAT", "json")
            .arg("--database-url")
            .arg(format!("sqlite://{}", dir.join("t.db").display()))
            .env("RUST_LOG", "trace")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = String::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while !stdout.contains("Access token") {
            let line = lines
                .next()
                .expect("the server prints its endpoint")
                .unwrap();
            stdout.push_str(&line);
            stdout.push('\n');
        }
        Self { child, stdout, dir }
    }

    /// The value the banner printed after `label`, to the end of its line.
    pub fn printed(&self, label: &str) -> String {
        let line = self
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in the banner:\n{}", self.stdout));
        line.trim_start()[label.len()..].trim().to_owned()
    }

    /// The short-alias endpoint the server printed.
    pub fn alias(&self) -> String {
        self.printed("(short alias):")
            .trim_end_matches('/')
            .to_owned()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> String {
        self.alias()
            .trim_start_matches("http://")
            .trim_end_matches("/scim/v2")
            .to_owned()
    }

    /// Kills the server (SIGKILL), leaving its directory.
    fn kill(mut self) -> std::path::PathBuf {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::take(&mut self.dir)
    }

    /// What the server has logged so far.
    fn logs_so_far(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap()
    }

    /// Stops the server with SIGTERM and returns its logs.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let logs = std::fs::read_to_string(self.dir.join("stderr")).unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
        (status, logs)
    }
}

/// A server a failed test leaves behind is stopped.
impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_its_endpoint_logs_requests_and_never_the_token() {
    let token = format!("known-token-{}", uuid::Uuid::new_v4());
    let server = Binary::start(&token);
    assert!(
        server.stdout.contains("SCIM endpoint:"),
        "{}",
        server.stdout
    );
    let store_line = server
        .stdout
        .lines()
        .find(|l| l.contains("Identity store id"))
        .unwrap();
    let store_id = store_line.split_whitespace().last().unwrap();
    assert!(
        store_id.starts_with("d-") && store_id.len() == 12,
        "{store_id}"
    );
    assert!(
        !server.stdout.contains(&token),
        "the token given is not echoed"
    );

    let client = reqwest::Client::new();
    let base = server.alias();
    let r = client
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(user_body("bin@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let request_id = r.headers()["x-amzn-requestid"].to_str().unwrap().to_owned();
    let wrong = client
        .get(format!("{base}/Users"))
        .bearer_auth("not-the-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // A token made through the admin API works, and its secret is not logged either.
    let admin = base.replace("/scim/v2", "/admin/tenants");
    let tenants: serde_json::Value = client
        .get(&admin)
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = tenants[0]["tenantId"].as_str().unwrap();
    let created: serde_json::Value = client
        .post(format!("{admin}/{tenant}/tokens"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    let r = client
        .get(format!("{base}/Users"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (status, logs) = server.stop();
    assert!(status.success(), "graceful shutdown exits 0: {status}");
    let line = logs
        .lines()
        .find(|l| l.contains(&request_id) && l.contains("\"status\":201"))
        .unwrap_or_else(|| panic!("no log line for the request:\n{logs}"));
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["span"]["method"], "POST", "{line}");
    assert_eq!(entry["span"]["route"], "/scim/v2/Users", "{line}");
    assert!(entry["latency_ms"].is_number(), "{line}");
    assert!(logs.contains("\"status\":401"));
    assert!(logs.contains("shutting down"));
    assert!(!logs.contains(&token), "the token was logged");
    assert!(!logs.contains(&secret), "a generated token was logged");
    assert!(!logs.contains(ADMIN), "the admin credential was logged");
    assert!(
        !logs.contains("not-the-token-0123456789"),
        "a presented token was logged"
    );
}

#[tokio::test]
async fn the_binary_seeds_throttles_and_injects_faults_from_its_flags() {
    let token = format!("known-token-{}", uuid::Uuid::new_v4());
    let server = Binary::start_with(&token, |dir| {
        let seed = dir.join("seed.json");
        let fixture = json!({
            "users": [user_body("seeded@example.com")],
            "groups": [{"displayName": "Seeded", "members": ["seeded@example.com"]}],
        });
        std::fs::write(&seed, fixture.to_string()).unwrap();
        vec![
            "--seed".into(),
            seed.display().to_string(),
            "--fault".into(),
            "GET /Groups status=503 times=1".into(),
            "--throttle-rate".into(),
            "0.01".into(),
            "--throttle-burst".into(),
            "2".into(),
        ]
    });
    let client = reqwest::Client::new();
    let base = server.alias();
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
    };
    let users: serde_json::Value = get("/Users").await.unwrap().json().await.unwrap();
    assert_eq!(users["totalResults"], 1);
    assert_eq!(users["Resources"][0]["userName"], "seeded@example.com");
    assert_eq!(
        get("/Groups").await.unwrap().status(),
        503,
        "the injected fault"
    );
    let groups: serde_json::Value = get("/Groups").await.unwrap().json().await.unwrap();
    assert_eq!(groups["Resources"][0]["displayName"], "Seeded");
    // Two requests reached the throttle (the faulted one was answered before it): the burst of
    // two is spent, and the next token is 100 s away.
    let throttled = get("/Users").await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    let (status, _) = server.stop();
    assert!(status.success());
}

/// `idc-scim serve` with `args` exits with an error, and says so on stderr.
fn assert_serve_refuses(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idc-scim"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "sqlite::memory:",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} was accepted");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error"), "{args:?}: {stderr}");
}

#[tokio::test]
async fn the_binary_refuses_bad_control_flags() {
    for args in [
        vec!["--fault", "GET /Users status=200"],
        vec!["--throttle-rate", "0"],
        vec!["--seed", "/no/such/seed.json"],
    ] {
        assert_serve_refuses(&args);
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_a_killed_process() {
    let token = format!("known-token-{}", uuid::Uuid::new_v4());
    let server = Binary::start(&token);
    let base = server.alias();
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: String, body: serde_json::Value| {
        let request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(body.to_string());
        tokio::spawn(async move { request.send().await.unwrap() })
    };
    let creates: Vec<_> = (0..20)
        .map(|i| {
            let body = user_body(&format!("k{i}@example.com"));
            send(reqwest::Method::POST, "/Users".to_owned(), body)
        })
        .collect();
    let mut ids = Vec::new();
    for created in creates {
        let r = created.await.unwrap();
        assert_eq!(r.status(), 201);
        let user: serde_json::Value = r.json().await.unwrap();
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let patches: Vec<_> = ids
        .iter()
        .map(|id| {
            let ops = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": format!("t-{id}")}],
            });
            send(reqwest::Method::PATCH, format!("/Users/{id}"), ops)
        })
        .collect();
    for patched in patches {
        assert_eq!(patched.await.unwrap().status(), 200);
    }

    let dir = server.kill();
    let again = Binary::start_in(dir, &token, |_| Vec::new());
    let base = again.alias();
    for id in &ids {
        let r = client
            .get(format!("{base}/Users/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let user: serde_json::Value = r.json().await.unwrap();
        assert_eq!(user["title"], json!(format!("t-{id}")));
    }
    let (status, _) = again.stop();
    assert!(status.success());
}

#[test]
fn neither_help_nor_logs_show_the_database_password() {
    let url = "postgres://nobody:database-password-42@127.0.0.1:5432/idc_scim_missing";
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_idc-scim"))
        .arg("--help")
        .env("IDC_SCIM_DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--database-url"), "{help}");
    assert!(!help.contains("database-password-42"), "{help}");

    // A database that refuses the connection: the error names the URL without its password.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_idc-scim"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("nobody:****@127.0.0.1:5432"), "{stderr}");
    assert!(!stderr.contains("database-password-42"), "{stderr}");
}

/// Lists the users of `server` with `token`; the request id its log line carries.
async fn list_users_logged(server: &Binary, token: &str) -> String {
    let r = reqwest::Client::new()
        .get(format!("{}/Users", server.alias()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.headers()["x-amzn-requestid"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn pretty_logs_carry_the_request_line_without_colours_off_a_terminal() {
    let server = Binary::start_with("pretty-token", |_| {
        vec!["--log-format".into(), "pretty".into()]
    });
    let request_id = list_users_logged(&server, "pretty-token").await;
    let (_, logs) = server.stop();
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in a log file:\n{logs}"
    );
    let line = logs
        .lines()
        .find(|l| l.contains(&request_id) && l.contains(" request "))
        .unwrap_or_else(|| panic!("no log line for the request:\n{logs}"));
    for field in [
        "method=GET",
        "route=\"/scim/v2/Users\"",
        "status=200",
        "latency_ms=",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

/// Log lines are written in batches, but a request's line reaches stderr while the server
/// runs, within a moment.
#[tokio::test]
async fn request_lines_reach_the_log_while_the_server_runs() {
    let server = Binary::start("running-token");
    let request_id = list_users_logged(&server, "running-token").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !server.logs_so_far().contains(&request_id) {
        assert!(
            std::time::Instant::now() < deadline,
            "no line for the request after 2 s:\n{}",
            server.logs_so_far()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.stop();
}

/// Calls the Identity Store's ListUsers on a server, signed with the key `(id, secret)` now;
/// returns the status and the body.
async fn list_users(server: &Binary, (id, secret): (&str, &str)) -> (u16, serde_json::Value) {
    use idc_scim::aws::sigv4::{Scope, SignedRequest, sign};
    let addr = server.addr();
    let body = json!({"IdentityStoreId": server.printed("Identity store id:")}).to_string();
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("host", addr.parse().unwrap());
    headers.insert("x-amz-date", date.parse().unwrap());
    headers.insert(
        "x-amz-target",
        "AWSIdentityStore.ListUsers".parse().unwrap(),
    );
    headers.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    let scope = Scope {
        region: "us-east-1",
        service: "identitystore",
    };
    let signed = SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let authorization = sign(signed, &date, scope, id, secret);
    headers.insert("authorization", authorization.parse().unwrap());
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn health(server: &Binary) -> serde_json::Value {
    reqwest::get(format!("http://{}/health", server.addr()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn aws_signatures_are_verified_by_default_off_loopback_and_accepted_only_when_asked() {
    // Listening on every address: verified, with the key pair the banner prints.
    let server = Binary::start_with("t", |_| vec!["--listen".into(), "0.0.0.0:0".into()]);
    assert!(
        server.printed("AWS signatures:").starts_with("verified"),
        "{}",
        server.stdout
    );
    let id = server.printed("AWS access key id:");
    let secret = server.printed("AWS secret key:");
    assert!(
        id.starts_with("AKIA") && secret.len() == 40,
        "{}",
        server.stdout
    );
    let (status, body) = list_users(&server, (&id, &secret)).await;
    assert_eq!((status, &body["Users"]), (200, &json!([])), "{body}");
    let (status, body) = list_users(&server, (&id, "not-the-secret")).await;
    assert_eq!(status, 403);
    assert_eq!(body["__type"], "InvalidSignatureException");
    let (status, body) = list_users(&server, ("AKIDEXAMPLE", "secret")).await;
    assert_eq!(status, 403);
    assert_eq!(body["__type"], "UnrecognizedClientException");
    assert_eq!(health(&server).await, json!({"status": "ok"}));
    let (status, logs) = server.stop();
    assert!(status.success());
    assert!(!logs.contains(&secret), "the secret key was logged");

    // Asked for: any well-formed signature, and a warning at start and in /health.
    let server = Binary::start_with("t", |_| {
        vec![
            "--listen".into(),
            "0.0.0.0:0".into(),
            "--aws-auth".into(),
            "any".into(),
        ]
    });
    assert!(
        server
            .printed("AWS signatures:")
            .starts_with("NOT verified")
    );
    let (status, _) = list_users(&server, ("AKIDEXAMPLE", "secret")).await;
    assert_eq!(status, 200);
    let warnings = health(&server).await["warnings"].clone();
    assert!(
        warnings[0].as_str().unwrap().contains("--aws-auth any"),
        "{warnings}"
    );
    let (_, logs) = server.stop();
    assert!(
        logs.lines()
            .any(|l| l.contains("WARN") && l.contains("not verified")),
        "{logs}"
    );

    // On a loopback address the emulator's convenience is the default, and verify is a flag.
    let server = Binary::start("t");
    assert!(
        server
            .printed("AWS signatures:")
            .starts_with("NOT verified")
    );
    assert_eq!(list_users(&server, ("AKIDEXAMPLE", "secret")).await.0, 200);
    assert!(health(&server).await.get("warnings").is_none());
    server.stop();
    let server = Binary::start_with("t", |_| vec!["--aws-auth".into(), "verify".into()]);
    assert_eq!(list_users(&server, ("AKIDEXAMPLE", "secret")).await.0, 403);
    server.stop();
}

#[tokio::test]
async fn secrets_and_the_database_url_are_read_from_files() {
    let token = format!("file-token-{}", uuid::Uuid::new_v4());
    let admin = format!("file-admin-{}", uuid::Uuid::new_v4());
    let server = Binary::start_with("unused", |dir| {
        let write = |name: &str, content: &str| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            path.display().to_string()
        };
        // As secrets are mounted: with a final line break, which is not part of the value.
        vec![
            "--token-file".into(),
            write("token", &format!("{token}\n")),
            "--admin-token-file".into(),
            write("admin", &format!("{admin}\r\n")),
            "--aws-credentials-file".into(),
            write(
                "aws",
                "AKIDFROMFILE:file-secret\nAKIDSECOND:second-secret\n",
            ),
            "--database-url-file".into(),
            write(
                "db",
                &format!("sqlite://{}\n", dir.join("from-file.db").display()),
            ),
            "--aws-auth".into(),
            "verify".into(),
        ]
    });
    assert!(
        server.dir.join("from-file.db").exists(),
        "the URL of the file is used"
    );
    assert!(!server.dir.join("t.db").exists());
    let client = reqwest::Client::new();
    let users = format!("{}/Users", server.alias());
    let r = client.get(&users).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let admin_url = format!("http://{}/admin/tenants", server.addr());
    let r = client
        .get(&admin_url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for key in [
        ("AKIDFROMFILE", "file-secret"),
        ("AKIDSECOND", "second-secret"),
    ] {
        assert_eq!(list_users(&server, key).await.0, 200, "{key:?}");
    }
    assert_eq!(list_users(&server, ("AKIDFROMFILE", "wrong")).await.0, 403);
    let (status, logs) = server.stop();
    assert!(status.success());
    for secret in [token.as_str(), admin.as_str(), "file-secret"] {
        assert!(!logs.contains(secret), "{secret} was logged");
    }
}

#[test]
fn a_secret_in_a_flag_and_in_a_file_is_refused_and_so_is_a_missing_file() {
    for args in [
        vec!["--token", "a", "--token-file", "/dev/null"],
        vec!["--admin-token-file", "/no/such/file"],
    ] {
        assert_serve_refuses(&args);
    }
}
