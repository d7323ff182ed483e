//! Retries against a scripted HTTP server: requests are retried on 5xx and network errors, a
//! write that is not idempotent by itself with one `Idempotency-Key` for all its attempts;
//! errors keep the server's code and message.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use maestro_client::requests::NewTask;
use maestro_client::{Client, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `answers` in turn (then the last one forever), one per connection; counts requests.
async fn scripted(answers: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let (base, hits, _) = scripted_keys(answers).await;
    (base, hits)
}

/// [`scripted`], also keeping each request's `Idempotency-Key` header.
async fn scripted_keys(
    answers: Vec<(u16, &'static str)>,
) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = keys.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = answers[n.min(answers.len() - 1)];
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                let head = String::from_utf8_lossy(&got).to_ascii_lowercase();
                let key = head
                    .lines()
                    .find_map(|l| l.strip_prefix("idempotency-key:"))
                    .map(|v| v.trim().to_string());
                seen.lock().unwrap().push(key);
                if status == 0 {
                    return; // drop the connection: a network error
                }
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (base, hits, keys)
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

const TASK: &str = r#"{"id":"t1","projectId":"p1","title":"T","description":"","status":"todo","priority":"medium","createdAt":1,"updatedAt":1}"#;
const UNAVAILABLE: &str =
    r#"{"error":true,"statusCode":503,"code":"UNAVAILABLE","message":"backend down"}"#;

#[tokio::test]
async fn idempotent_requests_are_retried_on_5xx_and_dropped_connections() {
    let (base, hits) = scripted(vec![(503, UNAVAILABLE), (0, ""), (200, TASK)]).await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    let t = c.get_task("t1").await.unwrap();
    assert_eq!(t.id, "t1");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_after_max_attempts_with_the_last_error() {
    let (base, hits) = scripted(vec![(503, UNAVAILABLE)]).await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    let e = c.get_task("t1").await.unwrap_err();
    assert_eq!(e.code(), Some("UNAVAILABLE"));
    assert_eq!(e.status(), Some(503));
    assert!(e.to_string().contains("backend down"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

const KEY_IN_USE: &str = r#"{"error":true,"statusCode":409,"code":"CONFLICT","message":"A request with this Idempotency-Key is still running; retry it later"}"#;

#[tokio::test]
async fn a_write_is_retried_with_one_idempotency_key() {
    // The answer lost, the first attempt still running, then the (replayed) answer.
    let (base, hits, keys) = scripted_keys(vec![(0, ""), (409, KEY_IN_USE), (201, TASK)]).await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    let t = c.create_task(&NewTask::new("p1", "T")).await.unwrap();
    assert_eq!(t.id, "t1");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    let keys = keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 3);
    let first = keys[0].clone().expect("a key on the first attempt");
    assert_eq!(first.len(), 32, "128 random bits in hex");
    assert!(
        keys.iter().all(|k| k.as_deref() == Some(first.as_str())),
        "{keys:?}"
    );
    // The next write gets its own key; reads carry none.
    let (base, _, keys) = scripted_keys(vec![(201, TASK)]).await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    c.create_task(&NewTask::new("p1", "T")).await.unwrap();
    c.create_task(&NewTask::new("p1", "T")).await.unwrap();
    c.get_task("t1").await.unwrap();
    let keys = keys.lock().unwrap().clone();
    assert_ne!(keys[0], keys[1]);
    assert_eq!(keys[2], None);
}

#[tokio::test]
async fn a_write_that_failed_with_500_is_not_sent_again() {
    let (base, hits) = scripted(vec![(
        500,
        r#"{"error":true,"statusCode":500,"code":"manifest_generation_failed","message":"the CLI failed"}"#,
    )])
    .await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    let e = c.create_task(&NewTask::new("p1", "T")).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // A 503 (a backend down) is retried.
    let (base, hits) = scripted(vec![(503, UNAVAILABLE), (201, TASK)]).await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    c.create_task(&NewTask::new("p1", "T")).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_409_that_is_not_about_the_key_is_not_retried() {
    let (base, hits) = scripted(vec![(
        409,
        r#"{"error":true,"statusCode":409,"code":"CONFLICT","message":"Task t1 is claimed by another session"}"#,
    )])
    .await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    let e = c.create_task(&NewTask::new("p1", "T")).await.unwrap_err();
    assert_eq!(e.status(), Some(409));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (base, hits) = scripted(vec![(
        404,
        r#"{"error":true,"statusCode":404,"code":"NOT_FOUND","message":"Task not found: t1"}"#,
    )])
    .await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    let e = c.get_task("t1").await.unwrap_err();
    assert_eq!(e.code(), Some("NOT_FOUND"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_that_is_not_the_routes_type_is_a_decode_error() {
    let (base, _) = scripted(vec![(200, r#"{"unexpected":true}"#)]).await;
    let c = Client::builder(base).build().unwrap();
    let e = c.get_task("t1").await.unwrap_err();
    assert!(
        matches!(e, maestro_client::ClientError::Decode { .. }),
        "{e}"
    );
}
