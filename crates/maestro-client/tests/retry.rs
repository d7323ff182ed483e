//! Retries against a scripted HTTP server: idempotent requests are retried on 5xx and network
//! errors, others never; errors keep the server's code and message.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use maestro_client::requests::NewTask;
use maestro_client::{Client, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `answers` in turn (then the last one forever), one per connection; counts requests.
async fn scripted(answers: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = answers[n.min(answers.len() - 1)];
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
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
    (base, hits)
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

#[tokio::test]
async fn non_idempotent_requests_are_never_retried() {
    let (base, hits) = scripted(vec![(503, UNAVAILABLE), (201, TASK)]).await;
    let c = Client::builder(base).retry(fast()).build().unwrap();
    let e = c.create_task(&NewTask::new("p1", "T")).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a POST is sent once");
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
