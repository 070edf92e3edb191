//! What a hostile or broken client can cost, on the real binary with short limits set by its
//! flags: connections that send nothing, trickle their headers or idle are closed after their
//! timeout; an unauthenticated request is answered before its body is read; past the
//! connection cap requests in progress go on and `/health` answers; SIGTERM with a half-sent
//! request exits within the shutdown deadline.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::user_body;
use crate::server::Binary;

/// Waits until the server closes `stream` (a read answers end of file or an error), at most
/// `within`; returns how long that took, reading (and dropping) whatever it sent first.
async fn closed_after(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.read(&mut buf)).await {
            Err(_) => panic!("still open after {within:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// The first line of what the server answers on `stream`, waiting at most `within`.
async fn status_line(stream: &mut TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(within, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("readable");
        assert!(n > 0, "closed without an answer");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    text.lines().next().unwrap().to_owned()
}

fn flags(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(flag, value)| [flag.to_string(), value.to_string()])
        .collect()
}

#[tokio::test]
async fn silent_trickling_and_idle_connections_are_closed_after_their_timeouts() {
    let server = Binary::start_with("t", |_| {
        flags(&[("--header-read-timeout", "1"), ("--idle-timeout", "3")])
    });
    let addr = server.addr();

    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut trickling = TcpStream::connect(&addr).await.unwrap();
    let trickle = tokio::spawn(async move {
        let head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        for byte in head.iter().chain(b"abcdefghijklmnopqrstuvwxyz".iter()) {
            if trickling.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        closed_after(&mut trickling, Duration::from_secs(5)).await
    });
    let waited = closed_after(&mut silent, Duration::from_secs(5)).await;
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    let trickled = trickle.await.unwrap();
    assert!(trickled < Duration::from_secs(5), "{trickled:?}");

    // A kept-alive connection is closed once idle for the idle timeout, not the header one.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        status_line(&mut idle, Duration::from_secs(5)).await,
        "HTTP/1.1 200 OK"
    );
    let idled = closed_after(&mut idle, Duration::from_secs(8)).await;
    assert!(
        idled >= Duration::from_millis(2500) && idled < Duration::from_secs(6),
        "{idled:?}"
    );
    // Meanwhile the server kept answering.
    let health = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn a_kept_alive_connection_that_stalls_in_its_next_request_is_closed_after_the_header_timeout()
 {
    let server = Binary::start_with("t", |_| {
        flags(&[("--header-read-timeout", "1"), ("--idle-timeout", "4")])
    });
    let mut stream = TcpStream::connect(&server.addr()).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        status_line(&mut stream, Duration::from_secs(5)).await,
        "HTTP/1.1 200 OK"
    );
    // Idle for a while, then half the headers of the next request, and nothing more: the
    // header timeout counts from its first byte (the idle one would close it 2.5 s later).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    let waited = closed_after(&mut stream, Duration::from_secs(5)).await;
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2000),
        "{waited:?}"
    );
    server.stop();
}

#[tokio::test]
async fn an_unauthenticated_upload_is_answered_before_its_body_is_read() {
    let server = Binary::start_with("t", |_| flags(&[("--aws-auth", "verify")]));
    let addr = server.addr();
    let mib = 1024 * 1024;
    let heads = [
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-the-token\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {mib}\r\n\r\n"
        ),
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {mib}\r\n\r\n"
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSIdentityStore.ListUsers\r\n\
             X-Amz-Date: 20260101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=AKIAUNKNOWN/20260101/us-east-1/identitystore/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=00\r\nContent-Length: {mib}\r\n\r\n"
        ),
        format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {mib}\r\n\r\n"),
    ];
    let expected = ["401", "401", "403", "403"];
    for (head, status) in heads.iter().zip(expected) {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        // Not a byte of the announced MiB is sent: the answer comes anyway.
        let line = status_line(&mut stream, Duration::from_secs(3)).await;
        assert!(line.starts_with(&format!("HTTP/1.1 {status}")), "{line}");
    }
    server.stop();
}

#[tokio::test]
async fn past_the_connection_cap_requests_in_progress_go_on_and_health_answers() {
    let token = "cap-token";
    let server = Binary::start_with(token, |_| {
        flags(&[("--max-connections", "3"), ("--header-read-timeout", "60")])
    });
    let addr = server.addr();
    // A request in progress: its headers sent, half its body.
    let body = user_body("in-progress@example.com").to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut busy = TcpStream::connect(&addr).await.unwrap();
    busy.write_all(
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Two connections that send nothing fill the cap.
    let mut oldest = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _newer = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let health = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::get(format!("http://{addr}/health")),
    )
    .await
    .expect("/health answers past the cap")
    .unwrap();
    assert_eq!(health.status(), 200);
    // The connection that waited longest made room; the request in progress went on.
    closed_after(&mut oldest, Duration::from_secs(2)).await;
    busy.write_all(rest.as_bytes()).await.unwrap();
    assert_eq!(
        status_line(&mut busy, Duration::from_secs(5)).await,
        "HTTP/1.1 201 Created"
    );
    let users: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{addr}/scim/v2/Users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        users["Resources"][0]["userName"],
        json!("in-progress@example.com")
    );
    let (status, logs) = server.stop();
    assert!(status.success());
    assert!(logs.contains("connection limit reached"), "{logs}");
}

#[tokio::test]
async fn sigterm_with_a_half_sent_request_exits_within_the_shutdown_deadline() {
    let token = "shutdown-token";
    let server = Binary::start_with(token, |_| {
        flags(&[
            ("--shutdown-timeout", "2"),
            ("--header-read-timeout", "60"),
            ("--body-read-timeout", "60"),
        ])
    });
    let addr = server.addr();
    // One request with half its body, one with half its headers.
    let mut half_body = TcpStream::connect(&addr).await.unwrap();
    half_body
        .write_all(
            format!(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"user"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut half_head = TcpStream::connect(&addr).await.unwrap();
    half_head
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let (status, logs) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(5), "exited after {took:?}");
    assert!(
        took >= Duration::from_millis(1500),
        "{took:?}: the request was not waited for"
    );
    assert!(logs.contains("shutdown deadline"), "{logs}");
    assert!(logs.contains("stopped"), "{logs}");
    closed_after(&mut half_body, Duration::from_secs(1)).await;
    closed_after(&mut half_head, Duration::from_secs(1)).await;
}

/// The head of an authenticated SCIM POST of `len` bytes.
fn post_head(token: &str, len: usize) -> String {
    format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// A user body padded with spaces to `len` bytes.
fn padded_user(user_name: &str, len: usize) -> String {
    let body = user_body(user_name).to_string();
    format!("{body}{}", " ".repeat(len - body.len()))
}

#[tokio::test]
async fn bodies_arrive_within_their_timeout_and_share_a_bounded_memory() {
    let token = "body-token";
    let server = Binary::start_with(token, |_| {
        flags(&[("--body-read-timeout", "2"), ("--max-body-memory", "1")])
    });
    let addr = server.addr();
    // A body that stops half way is answered 408 once its time is up.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(format!("{}{{\"userName\"", post_head(token, 100)).as_bytes())
        .await
        .unwrap();
    let line = status_line(&mut slow, Duration::from_secs(5)).await;
    assert!(line.starts_with("HTTP/1.1 408"), "{line}");

    // Two bodies of 700 KB do not fit in 1 MiB together: the second waits for the first.
    let len = 700 * 1024;
    let first = padded_user("first@example.com", len);
    let second = padded_user("second@example.com", len);
    let mut a = TcpStream::connect(&addr).await.unwrap();
    a.write_all(post_head(token, len).as_bytes()).await.unwrap();
    a.write_all(&first.as_bytes()[..1000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut b = TcpStream::connect(&addr).await.unwrap();
    b.write_all(format!("{}{second}", post_head(token, len)).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(800), b.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the second body was read while the first held the memory"
    );
    a.write_all(&first.as_bytes()[1000..]).await.unwrap();
    let line = status_line(&mut a, Duration::from_secs(5)).await;
    assert_eq!(line, "HTTP/1.1 201 Created");
    let line = status_line(&mut b, Duration::from_secs(5)).await;
    assert_eq!(line, "HTTP/1.1 201 Created");
    server.stop();
}

#[tokio::test]
async fn at_the_cap_a_new_connection_waits_until_one_ends_its_request() {
    let token = "waiting-token";
    let server = Binary::start_with(token, |_| {
        flags(&[("--max-connections", "1"), ("--idle-timeout", "60")])
    });
    let addr = server.addr();
    let body = user_body("first@example.com").to_string();
    let (first, rest) = body.split_at(10);
    let mut busy = TcpStream::connect(&addr).await.unwrap();
    busy.write_all(format!("{}{first}", post_head(token, body.len())).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = tokio::spawn(reqwest::get(format!("http://{addr}/health")));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !health.is_finished(),
        "answered past the cap with every slot busy"
    );
    busy.write_all(rest.as_bytes()).await.unwrap();
    assert_eq!(
        status_line(&mut busy, Duration::from_secs(5)).await,
        "HTTP/1.1 201 Created"
    );
    // The first connection now idles, kept alive: it makes room at once, not after a minute.
    let answered = tokio::time::timeout(Duration::from_secs(3), health)
        .await
        .expect("answered once the other connection waited for a request")
        .unwrap()
        .unwrap();
    assert_eq!(answered.status(), 200);
    closed_after(&mut busy, Duration::from_secs(2)).await;
    server.stop();
}
