//! `GET /metrics`: Prometheus text for the server's credential only; after a scripted
//! workload the counters moved by exactly what the workload did.
#![allow(clippy::unwrap_used)]

mod common;

use common::mobile::MobileClient;
use common::{Adapters, Builder};

const TOKEN: &str = "metrics-test-token-0123456789abcdef0123456789";

/// The value of the sample `name{labels}` (labels in the exporter's order), 0 when absent.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_by_what_the_workload_did() {
    let s = Builder::new(Adapters::Memory).token(TOKEN).start().await;
    let scrape = || async {
        let r = s
            .client()
            .get(s.url("/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        r.text().await.unwrap()
    };
    // Without the credential: refused like any other route.
    let bare = reqwest::Client::new();
    assert_eq!(
        bare.get(s.url("/metrics")).send().await.unwrap().status(),
        401
    );

    let p = s.project("metrics").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = r#"maestro_http_requests_total{route="/api/projects",method="GET",status="2xx"}"#;
    let missing =
        r#"maestro_http_requests_total{route="/api/tasks/{id}",method="GET",status="4xx"}"#;
    let created = r#"maestro_events_routed_total{event="task:created"}"#;
    let failures = "maestro_auth_failures_total";
    let before = scrape().await;
    for _ in 0..3 {
        s.get("/api/projects").await.ok(200);
    }
    s.get("/api/tasks/task_nope").await;
    s.task(&p, "counted").await;
    s.task(&p, "counted too").await;
    let r = bare
        .get(s.url("/api/projects"))
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let Some(mut phone) = MobileClient::connect(&s, TOKEN, &p).await else {
        return;
    };
    phone.next(&["connected"]).await;
    // The bridge counts an event once it has routed it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let after = loop {
        let t = scrape().await;
        if sample(&t, created) - sample(&before, created) >= 2.0
            || std::time::Instant::now() > deadline
        {
            break t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        sample(&after, listed) - sample(&before, listed),
        3.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, missing) - sample(&before, missing),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, created) - sample(&before, created),
        2.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, failures) - sample(&before, failures),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            r#"maestro_socketio_connections{namespace="/mobile"}"#
        ),
        1.0,
        "{after}"
    );
    assert!(
        after.contains(
            "maestro_http_request_duration_seconds_bucket{route=\"/api/projects\",method=\"GET\""
        ),
        "latency histogram: {after}"
    );
}
