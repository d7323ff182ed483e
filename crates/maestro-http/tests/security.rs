//! Security hardening through a real TCP server: no channel without a verified principal, no
//! trust in loopback when a proxy is in front, Host checks, auth-failure rate limits,
//! connection limits and slow-reader eviction (docs/SECURITY.md).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use maestro_http::{AuthMode, ConnLimits, SecurityConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "4f9c2e7a1b8d3f6e0a5c2b9d4e7f1a3c";

/// Every documented route with sample path parameters.
fn every_route() -> Vec<(reqwest::Method, String)> {
    maestro_http::routes::api()
        .operations
        .iter()
        .map(|op| {
            let path = op
                .path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            (
                reqwest::Method::from_bytes(op.method.as_str().as_bytes()).unwrap(),
                path,
            )
        })
        .collect()
}

/// Routes that answer without a principal (public by design).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/health" | "/health/live" | "/health/ready" | "/api/auth/config"
    )
}

/// Paths a raw WebSocket upgrade is tried on: every route, the odd look-alikes of the
/// Socket.IO endpoint that once bypassed authentication, and percent-encoded variants.
fn upgrade_paths() -> Vec<String> {
    let mut paths: Vec<String> = every_route().into_iter().map(|(_, p)| p).collect();
    for odd in [
        "/",
        "/ws",
        "/anything",
        "/socket.iox",
        "/socket.io-x",
        "/socket.io.evil/x",
        "/socket.io%2f",
        "/socket.io%2F",
        "/socket.io%2fx",
        "/%73ocket.io/",
        "/socket.io/../x",
        "/SOCKET.IO/x",
        "/socket.io/x",
        "/projects/p1",
        "/health/x",
    ] {
        paths.push(odd.to_string());
    }
    paths.sort();
    paths.dedup();
    paths
}

#[tokio::test]
async fn every_route_and_upgrade_path_refuses_requests_without_a_valid_token() {
    let s = Builder::new(Adapters::Memory).token(TOKEN).start().await;
    let bare = reqwest::Client::new();
    for (method, path) in every_route() {
        if is_public(&path) {
            continue;
        }
        let r = bare
            .request(method.clone(), s.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{method} {path} without a token");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_error_shape(&body);
        for bad in ["Bearer wrong-token", "Bearer ", "Basic dXNlcjpwYXNz"] {
            let r = bare
                .request(method.clone(), s.url(&path))
                .header("authorization", bad)
                .send()
                .await
                .unwrap();
            // The same wrong token on every route is one failure for the limiter, so it
            // never turns into 429 here.
            assert_eq!(r.status().as_u16(), 401, "{method} {path} with '{bad}'");
        }
    }
    for path in upgrade_paths() {
        assert_eq!(
            s.ws_with(&path, &[]).await.err(),
            Some(401),
            "upgrade on {path} without a token"
        );
        let with_bad = format!(
            "{path}{}token=nope",
            if path.contains('?') { '&' } else { '?' }
        );
        assert_eq!(
            s.ws_with(&with_bad, &[]).await.err(),
            Some(401),
            "upgrade on {with_bad}"
        );
    }
    // The real Engine.IO endpoint still answers its handshake (the namespaces authenticate).
    let r = bare
        .get(s.url("/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // And the token works everywhere.
    s.get("/api/projects").await.ok(200);
    let mut ws = s
        .ws_with(&format!("/socket.iox?token={TOKEN}"), &[])
        .await
        .unwrap();
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let s = Builder::new(Adapters::Memory).token(TOKEN).start().await;
    let bare = reqwest::Client::new();
    for scheme in ["Bearer", "bearer", "BEARER", "BeArEr"] {
        let r = bare
            .get(s.url("/api/projects"))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_but_a_valid_token_never_is() {
    let s = Builder::new(Adapters::Memory).token(TOKEN).start().await;
    let bare = reqwest::Client::new();
    let mut limited = None;
    for i in 0..60 {
        let r = bare
            .get(s.url("/api/projects"))
            .bearer_auth(format!("wrong-{i}"))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            401 => {}
            429 => {
                limited = Some(r);
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let r = limited.expect("60 wrong tokens in a row must be rate-limited");
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .expect("429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    // The legitimate user is not locked out, over REST or WebSocket.
    for _ in 0..5 {
        s.get("/api/projects").await.ok(200);
    }
    let mut ws = s.ws_with(&format!("/?token={TOKEN}"), &[]).await.unwrap();
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
}

#[tokio::test]
async fn without_auth_proxied_requests_are_refused_even_from_loopback() {
    let s = TestServer::memory().await;
    s.get("/api/projects").await.ok(200);
    let bare = reqwest::Client::new();
    for header in maestro_http::security::PROXY_HEADERS {
        for path in ["/api/projects", "/health", "/"] {
            let r = bare
                .get(s.url(path))
                .header(header, "203.0.113.9")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 403, "{header} on {path}");
            let body: serde_json::Value = r.json().await.unwrap();
            let msg = body["message"].as_str().unwrap();
            assert!(
                msg.contains("MAESTRO_API_TOKEN") && msg.contains("EXTERNAL_URL"),
                "{msg}"
            );
        }
        assert_eq!(
            s.ws_with("/", &[(header, "203.0.113.9")]).await.err(),
            Some(403),
            "{header} on a WebSocket upgrade"
        );
    }
    // Any token is no better than none: the server has no credential to check it against.
    let r = bare
        .get(s.url("/api/projects"))
        .bearer_auth("made-up")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

#[tokio::test]
async fn with_a_token_proxied_requests_are_served() {
    let s = Builder::new(Adapters::Memory).token(TOKEN).start().await;
    let r = s
        .client()
        .get(s.url("/api/projects"))
        .header("cf-connecting-ip", "203.0.113.9")
        .header("cf-ray", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

/// The app opened at a host the server accepts (not on `CORS_ORIGINS`) works: its own
/// requests carry its own origin, which is not cross-origin; another origin is still refused,
/// and a host the server does not accept is still misdirected.
#[tokio::test]
async fn the_app_works_from_any_host_the_server_accepts() {
    let security = SecurityConfig {
        allowed_hosts: vec!["maestro.lan".into()],
        ..SecurityConfig::default()
    };
    let s = Builder::new(Adapters::Memory)
        .security(security)
        .start()
        .await;
    let req = |host: &str, origin: &str| {
        format!(
            "POST /api/projects HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
             Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n\
             {{\"name\":\"x\"}}"
        )
    };
    for (host, origin) in [
        ("maestro.lan:3000", "http://maestro.lan:3000"),
        ("maestro.lan", "https://maestro.lan"),
        ("MAESTRO.lan:3000", "http://maestro.LAN:3000"),
    ] {
        let r = s.raw(req(host, origin).as_bytes()).await;
        assert_eq!(r.status, 201, "Host {host}, Origin {origin}");
    }
    for (host, origin, status) in [
        ("maestro.lan:3000", "http://evil.example", 403),
        ("maestro.lan:3000", "http://maestro.lan:3001", 403),
        ("maestro.lan:3000", "ftp://maestro.lan:3000", 403),
        ("evil.example", "http://evil.example", 421),
    ] {
        let r = s.raw(req(host, origin).as_bytes()).await;
        assert_eq!(r.status, status, "Host {host}, Origin {origin}");
    }
}

#[tokio::test]
async fn foreign_host_headers_are_misdirected() {
    let security = SecurityConfig {
        allowed_hosts: vec!["maestro.example.com".into()],
        ..SecurityConfig::default()
    };
    let s = Builder::new(Adapters::Memory)
        .security(security)
        .start()
        .await;
    let port = s.addr.port();
    let get = |host: String| {
        format!("GET /api/projects HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "127.0.0.1".into(),
        format!("[::1]:{port}"),
        "LOCALHOST".into(),
        "maestro.example.com".into(),
    ] {
        let r = s.raw(get(host.clone()).as_bytes()).await;
        assert_eq!(r.status, 200, "Host {host}");
    }
    for host in [
        "evil.example",
        "rebind.attacker.test:3000",
        "10.0.0.5",
        "localhost.evil.example",
    ] {
        let r = s.raw(get(host.to_string()).as_bytes()).await;
        assert_eq!(r.status, 421, "Host {host}");
        assert_eq!(r.json()["code"], "MISDIRECTED_REQUEST");
    }
}

#[tokio::test]
async fn any_origin_never_comes_with_credentials() {
    let s = Builder::new(Adapters::Memory)
        .token(TOKEN)
        .any_origin()
        .start()
        .await;
    let r = s
        .client()
        .get(s.url("/api/projects"))
        .header("origin", "https://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    // A listed origin keeps its credentials.
    let r = s
        .client()
        .get(s.url("/api/projects"))
        .header("origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
}

fn limits(f: impl FnOnce(&mut ConnLimits)) -> SecurityConfig {
    let mut sec = SecurityConfig::with_mode(AuthMode::None);
    f(&mut sec.limits);
    sec
}

/// Reads until the peer closes; `true` if it closed within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn slow_header_senders_are_cut_off() {
    let s = Builder::new(Adapters::Memory)
        .security(limits(|l| l.header_read_timeout = Duration::from_secs(1)))
        .start()
        .await;
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(
        closed_within(&mut slow, Duration::from_secs(5)).await,
        "a header that never ends is cut off"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    s.get("/health").await.ok(200);
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let s = Builder::new(Adapters::Memory)
        .security(limits(|l| {
            l.idle_timeout = Duration::from_secs(1);
            l.header_read_timeout = Duration::from_secs(30);
        }))
        .start()
        .await;
    // A connection that never sends anything…
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    // …and a keep-alive connection after its request.
    let mut kept = TcpStream::connect(s.addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut kept, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_long_poll_is_not_idleness() {
    let s = Builder::new(Adapters::Memory)
        .security(limits(|l| l.idle_timeout = Duration::from_secs(1)))
        .start()
        .await;
    let (p, _, session) = s.basics().await;
    let started = std::time::Instant::now();
    let r = s
        .get(&format!(
            "/api/mail/wait/{session}?projectId={p}&timeout=2500"
        ))
        .await;
    assert_eq!(r.ok(200), json!([]));
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn the_connection_cap_refuses_more_and_recovers() {
    let s = Builder::new(Adapters::Memory)
        .security(limits(|l| l.max_connections = 4))
        .start()
        .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    let mut extra = TcpStream::connect(s.addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buf))
        .await
        .expect("the extra connection is closed, not left hanging")
        .unwrap_or(0);
    assert_eq!(n, 0, "no answer beyond the cap");
    drop(held);
    // The server frees the slots once it has seen the connections close: until then a new
    // connection is closed unanswered, afterwards it is served.
    maestro_testkit::poll::until_async(
        "served again after the held connections closed",
        || async {
            let Ok(mut c) = TcpStream::connect(s.addr).await else {
                return false;
            };
            let _ = c
                .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await;
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut answer)).await;
            answer.starts_with(b"HTTP/1.1 200")
        },
    )
    .await;
}

/// A WebSocket upgrade of `path` from a client with a 4 KB receive window, which the test
/// then never reads from (the upgrade answer is left to the caller).
async fn upgrade_with_tiny_window(s: &TestServer, path: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(s.addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// 200 `task:created` events of ~60 KB each (~12 MB): far more than socket buffers hold.
async fn flood_with_events(s: &TestServer, project_id: &str) {
    let description = "x".repeat(60 * 1024);
    for i in 0..200 {
        s.post(
            "/api/tasks",
            json!({"projectId": project_id, "title": format!("t{i}"), "description": description}),
        )
        .await
        .ok(201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_stops_reading_is_evicted_without_delaying_others() {
    let s = Builder::new(Adapters::Memory)
        .security(limits(|l| l.write_timeout = Duration::from_secs(1)))
        .start()
        .await;
    let p = id(&s.project("P").await);
    // A client with a tiny receive window that never reads after the handshake.
    let mut stalled = upgrade_with_tiny_window(&s, "/").await;
    let mut head = [0u8; 256];
    let n = stalled.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 101"));
    let mut reader = s.ws("/").await;
    assert_eq!(s.state.ws_clients(), 2);
    // The other client reads all the time.
    let reading = tokio::spawn(async move {
        for _ in 0..200 {
            let (_, e) = reader.until_event("task:created").await;
            assert!(e["data"]["title"].is_string());
        }
        reader
    });
    flood_with_events(&s, &p).await;
    // The reading client gets every event. Were fan-out waiting for the stalled client, it
    // would wait for ever (that client never reads): the timeout only guards against a hang.
    let _reader = tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .expect("fan-out to a reading client must not wait for the stalled one")
        .unwrap();
    // The stalled one is disconnected and counted.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.state.ws_clients() > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.state.ws_clients(), 1, "the stalled client was evicted");
    assert!(s.state.evicted_slow_clients() >= 1);
    let status = s.get("/ws-status").await.ok(200);
    assert!(
        status["evictedSlowClients"].as_u64().unwrap() >= 1,
        "{status}"
    );
    drop(stalled);
}

#[tokio::test]
async fn mail_waits_need_a_real_session_and_are_capped_globally() {
    let security = SecurityConfig {
        max_mail_waits: 2,
        ..SecurityConfig::default()
    };
    let s = Builder::new(Adapters::Memory)
        .security(security)
        .start()
        .await;
    let (p, t, a) = s.basics().await;
    let e = s
        .get(&format!(
            "/api/mail/wait/sess_made_up?projectId={p}&timeout=1000"
        ))
        .await
        .err(404, "NOT_FOUND");
    assert_eq!(e["message"], "Session with id 'sess_made_up' not found");
    let b = id(&s.session(&p, &[&t]).await);
    let c = id(&s.session(&p, &[&t]).await);
    let url = |sess: &str| {
        s.url(&format!(
            "/api/mail/wait/{sess}?projectId={p}&timeout=120000"
        ))
    };
    let w1 = tokio::spawn(s.client().get(url(&a)).send());
    let w2 = tokio::spawn(s.client().get(url(&b)).send());
    let services = s.state.services();
    maestro_testkit::poll::until("2 waits pending", || services.pending_mail_waits() == 2).await;
    let r = s.client().get(url(&c)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    w1.abort();
    w2.abort();
}

/// The person's address `mobile-user` (DECISIONS D30) is a recipient every existing project
/// has: an agent's mail to it is stored and emitted (no longer `404`), and it is read from its
/// inbox with the project's broadcasts; a missing project still refuses it.
#[tokio::test]
async fn mail_to_the_person_is_kept_in_its_inbox() {
    let s = TestServer::memory().await;
    let (p, _, a) = s.basics().await;
    let direct = s
        .post(
            "/api/mail",
            json!({"projectId": p, "fromSessionId": a, "toSessionId": "mobile-user", "type": "query", "subject": "Merge now?", "body": {"question": "CI is green."}}),
        )
        .await
        .ok(201);
    assert_eq!(direct["toSessionId"], "mobile-user");
    let broadcast = s
        .post(
            "/api/mail",
            json!({"projectId": p, "fromSessionId": a, "type": "notification", "subject": "Deployed", "body": {}}),
        )
        .await
        .ok(201);
    let inbox = s
        .get(&format!("/api/mail/inbox/mobile-user?projectId={p}"))
        .await
        .ok(200);
    let ids: Vec<&str> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            direct["id"].as_str().unwrap(),
            broadcast["id"].as_str().unwrap()
        ]
    );
    let r = s
        .post(
            "/api/mail",
            json!({"projectId": "proj_missing", "fromSessionId": a, "toSessionId": "mobile-user", "type": "query", "subject": "s", "body": {}}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn records_for_missing_projects_or_sessions_are_refused() {
    let s = TestServer::memory().await;
    let (p, _, a) = s.basics().await;
    s.post(
        "/api/team-members",
        json!({"projectId": "proj_missing", "name": "n", "role": "r", "avatar": "a"}),
    )
    .await
    .err(404, "NOT_FOUND");
    let r = s
        .put(
            "/api/ordering/task/proj_missing",
            json!({"orderedIds": ["a"]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    for body in [
        json!({"projectId": "proj_missing", "fromSessionId": a, "toSessionId": a, "type": "query", "subject": "s", "body": {}}),
        json!({"projectId": p, "fromSessionId": a, "toSessionId": "sess_missing", "type": "query", "subject": "s", "body": {}}),
    ] {
        let r = s.post("/api/mail", body.clone()).await;
        assert_eq!(r.status, 404, "{body}: {}", r.body);
    }
    assert_eq!(
        s.get(&format!("/api/mail/inbox/{a}?projectId={p}"))
            .await
            .ok(200),
        json!([])
    );
    // Windows device names never become file names.
    for bad in ["CON", "nul", "COM1", "lpt9", "AUX"] {
        let r = s
            .post(
                "/api/sessions",
                json!({"id": bad, "projectId": p, "name": "w"}),
            )
            .await;
        assert_eq!(r.status, 400, "session id {bad}: {}", r.body);
    }
}

/// A masked client text frame (RFC 6455 §5.2).
fn client_text_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut f = vec![0x81];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_io_client_that_stops_reading_is_evicted() {
    let s = Builder::new(Adapters::Memory)
        .security(limits(|l| l.write_timeout = Duration::from_secs(1)))
        .start()
        .await;
    let p = id(&s.project("P").await);
    let mut stalled = upgrade_with_tiny_window(&s, "/socket.io/?EIO=4&transport=websocket").await;
    // Read the upgrade and the Engine.IO open packet, join /ui, read its connect answer.
    let mut buf = vec![0u8; 4096];
    let n = stalled.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));
    stalled
        .write_all(&client_text_frame(b"40/ui,"))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while s.state.socket_io_clients("/ui") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "/ui connect did not happen"
        );
        let _ = tokio::time::timeout(Duration::from_millis(100), stalled.read(&mut buf)).await;
    }
    // From now on the client reads nothing; ~12 MB of events go to every /ui socket.
    flood_with_events(&s, &p).await;
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_secs(30);
    while (s.state.socket_io_clients("/ui") > 0 || s.state.evicted_slow_clients() == 0)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        s.state.evicted_slow_clients(),
        1,
        "the stalled socket (and only it) was evicted, once"
    );
    assert_eq!(s.state.socket_io_clients("/ui"), 0, "and unregistered");
    drop(stalled);
}

/// The stalled-client drill on Socket.IO: a `/mobile` socket of project P stops reading while
/// a phone (the official JS client) follows P. The phone gets every event of the flood, each
/// once and in order, while the stalled socket is evicted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_socket_io_client_does_not_delay_the_others() {
    let s = Builder::new(Adapters::Memory)
        .security(limits(|l| l.write_timeout = Duration::from_secs(1)))
        .start()
        .await;
    let p = id(&s.project("P").await);
    let Some(mut phone) = common::mobile::MobileClient::connect(&s, "", &p).await else {
        return;
    };
    phone.next(&["connected"]).await;
    let mut stalled = upgrade_with_tiny_window(&s, "/socket.io/?EIO=4&transport=websocket").await;
    let mut buf = vec![0u8; 4096];
    let n = stalled.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));
    let connect = format!("40/mobile,{}", json!({"projectId": p}));
    stalled
        .write_all(&client_text_frame(connect.as_bytes()))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while s.state.socket_io_clients("/mobile") < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "/mobile connect did not happen"
        );
        let _ = tokio::time::timeout(Duration::from_millis(100), stalled.read(&mut buf)).await;
    }
    // From now on the stalled socket reads nothing.
    let reading = tokio::spawn(async move {
        let mut titles = Vec::new();
        while titles.len() < 200 {
            let e = phone.event("task:created").await;
            titles.push(e["data"]["data"]["title"].as_str().unwrap().to_string());
        }
        (titles, phone)
    });
    flood_with_events(&s, &p).await;
    let (titles, _phone) = reading.await.unwrap();
    let want: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
    assert_eq!(
        titles, want,
        "every event once, in order, despite the stalled socket"
    );
    // The eviction is counted before the evicted socket has left the namespace: wait for both.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while (s.state.evicted_slow_clients() == 0 || s.state.socket_io_clients("/mobile") > 1)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        s.state.evicted_slow_clients(),
        1,
        "the stalled socket was evicted"
    );
    assert_eq!(
        s.state.socket_io_clients("/mobile"),
        1,
        "the phone is still connected"
    );
    drop(stalled);
}

/// Agent HTML is untrusted: `/modal-frame`, where the app shows it, is public (it holds no
/// data: the app hands it the HTML) and is its own sandbox whatever embeds it — an opaque
/// origin (no storage, cookies or DOM of the app), no network (the CLI bridge's direct call
/// to the API is refused, the app's authenticated call is the only path), inline scripts
/// only, framed only by the app.
#[tokio::test]
async fn the_modal_frame_is_a_sandbox_of_its_own() {
    let s = Builder::new(Adapters::Memory)
        .token("modal-frame-test-token-0123456789abcdef")
        .start()
        .await;
    let page = reqwest::get(s.url("/modal-frame")).await.unwrap();
    assert_eq!(page.status(), 200, "public: it carries no data");
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    assert!(
        directives.contains(&"sandbox allow-scripts allow-forms"),
        "{csp}"
    );
    assert!(directives.contains(&"default-src 'none'"), "{csp}");
    assert!(directives.contains(&"frame-ancestors 'self'"), "{csp}");
    assert!(
        !csp.contains("connect-src") && !csp.contains("allow-same-origin"),
        "{csp}"
    );
    assert!(
        header("x-frame-options").is_empty(),
        "the app must be able to frame it"
    );
    let body = page.text().await.unwrap();
    assert!(body.contains("maestro:frame_ready") && body.contains("maestro:modal_html"));
}
